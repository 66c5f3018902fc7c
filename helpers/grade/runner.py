"""Execute one submitted notebook and report what its checks said (runs inside the sandbox).

    python -m helpers.grade.runner --chapter ch01 --timeout 300 --events-fd 3 < notebook.ipynb

The grader starts this inside bubblewrap with the notebook on standard input. It copies the
notebook into the scratch folder (``$HOME``), starts a fresh kernel with nbclient, installs the
kernel side of the grader (:mod:`helpers.grade.sentinel`) before the first cell, then runs
every code cell in order, errors allowed, and after each one asks the kernel for an audit. It
writes one JSON line per event to the file descriptor ``--events-fd`` (inherited from the
grader; the kernel never gets it):

* ``{"event": "kernel", "seconds": ...}``: the kernel is ready (and the hook installed);
* ``{"event": "cell", "index": i, "seconds": ..., "error": "NameError: ..." | null,
  "checks": [[exercise, status, message], ...], "problems": [[exercise, reason], ...]}``;
* ``{"event": "start", "index": i}`` before each cell, so that a killed run says where it was;
* ``{"event": "timeout" | "died", "index": i}`` and ``{"event": "done", "seconds": ...}``;
* ``{"event": "failed", "error": ...}`` when the notebook could not be run at all.

Displayed outputs are dropped as they arrive (only the error of a cell is kept), so a notebook
that prints hundreds of megabytes costs time, not memory.
"""

from __future__ import annotations

import argparse
import ast
import asyncio
import ctypes
import hashlib
import hmac
import json
import math
import os
import re
import secrets
import sys
import tempfile
import time
from pathlib import Path

PR_SET_DUMPABLE = 4
_LINE_LIMIT = 1 << 20  # a channel line longer than this is not one the sentinel wrote


def _not_dumpable() -> None:
    """Keep the kernel (same user) out of this process: no ptrace, no /proc/PID/fd access."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def link_data(cache: Path, into: Path) -> None:
    """Give the notebook a writable data cache: links to every file of the read-only one."""
    into.mkdir(parents=True, exist_ok=True)
    if not cache.is_dir():
        return
    for path in sorted(cache.rglob("*")):
        relative = path.relative_to(cache)
        if relative.parts[0].startswith(".") or path.name.endswith((".part", ".lock")):
            continue
        target = into / relative
        if path.is_dir():
            target.mkdir(parents=True, exist_ok=True)
        elif path.is_file() and not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            target.symlink_to(path)


class Channel:
    """The records the sentinel writes: each line ``MAC BODY``, BODY a Python literal."""

    def __init__(self, path: Path, key: bytes):
        self.fd = os.open(path, os.O_RDONLY)
        self.key = key
        self.offset = 0
        self.pending = b""
        self.sequence = 0

    def read(self) -> tuple[list[tuple[str, tuple]], list[tuple[str, str]]]:
        """New genuine records as (kind, fields), and problems (forged or missing records)."""
        records: list[tuple[str, tuple]] = []
        problems: list[tuple[str, str]] = []
        size = os.fstat(self.fd).st_size
        if size < self.offset:
            problems.append(("", "the grader's record of results was truncated from inside the notebook"))
            self.offset, self.pending = size, b""
        while self.offset < size:
            chunk = os.pread(self.fd, min(size - self.offset, 1 << 20), self.offset)
            if not chunk:
                break
            self.offset += len(chunk)
            self.pending += chunk
        *lines, self.pending = self.pending.split(b"\n")
        if len(self.pending) > _LINE_LIMIT:
            lines.append(self.pending)
            self.pending = b""
        for line in lines:
            mac, _, body = line.partition(b" ")
            expected = hmac.new(self.key, body, hashlib.sha256).hexdigest().encode()
            if not hmac.compare_digest(mac, expected):
                named = re.search(rb"'(ex\d+)'", body[:2000])
                problems.append((named.group(1).decode() if named else "",
                                 "a result the course's check did not produce was written to the "
                                 "grader's channel (forged)"))
                continue
            sequence, kind, fields = ast.literal_eval(body.decode("utf-8"))
            if sequence != self.sequence + 1:
                problems.append(("", "results were removed from the grader's channel"))
            self.sequence = sequence
            records.append((kind, fields))
        return records, problems


def _error_line(reply: dict | None) -> str | None:
    content = (reply or {}).get("content", {})
    if content.get("status") != "error":
        return None
    name, value = content.get("ename", "Error"), " ".join(str(content.get("evalue", "")).split())
    text = f"{name}: {value}" if value else name
    return text if len(text) <= 300 else text[:299] + "…"


def _client_class():
    from nbclient import NotebookClient

    class QuietClient(NotebookClient):
        """A NotebookClient that keeps no outputs: the grader reads results from the channel."""

        def output(self, outs, msg, display_id, cell_index):
            return None

    return QuietClient


async def _hidden(client, code: str) -> dict:
    """Run ``code`` in the kernel without a history entry or outputs; return the reply."""
    msg_id = client.kc.execute(code, silent=True, store_history=False, allow_stdin=False)
    return await client.async_wait_for_reply(msg_id)


async def _run(nb, args, home: Path, emit) -> None:
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    private = Path(tempfile.mkdtemp(prefix="grader-"))
    key = secrets.token_bytes(32)
    key_file, records_file = private / "key", private / "records"
    for path, data in ((key_file, key), (records_file, b"")):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.write(fd, data)
        os.close(fd)
    channel = Channel(records_file, key)
    registry = f"_course_grader_{secrets.token_hex(8)}"
    source = (Path(__file__).with_name("sentinel.py")).read_text(encoding="utf-8")
    setup = (
        "def _course_grader_setup():\n"
        "    namespace = {'__name__': '_course_grader'}\n"
        f"    exec(compile({source!r}, '<course grader>', 'exec'), namespace)\n"
        f"    namespace['install']({str(key_file)!r}, {str(records_file)!r}, {args.chapter!r}, {registry!r})\n"
        "_course_grader_setup()\n"
        "del _course_grader_setup\n"
    )
    replies: dict[int, dict] = {}

    def keep_reply(cell, cell_index, execute_reply):
        replies[cell_index] = execute_reply

    client = _client_class()(
        nb, kernel_name="python3", timeout=max(1, math.ceil(args.timeout)), allow_errors=True, startup_timeout=60,
        shutdown_kernel="immediate", resources={"metadata": {"path": str(home)}},
        extra_arguments=["--IPKernelApp.log_level=ERROR"],  # not its warning about plain TCP on the loopback
        on_cell_executed=keep_reply)
    started = time.monotonic()
    async with client.async_setup_kernel():
        reply = await _hidden(client, setup)
        records_file.unlink(missing_ok=True)
        if reply.get("content", {}).get("status") != "ok":
            emit(event="failed", error=f"the grader could not start in this kernel ({_error_line(reply)})")
            return
        emit(event="kernel", seconds=round(time.monotonic() - started, 2))
        deadline = time.monotonic() + args.timeout
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code" or not cell.source.strip():
                continue
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                emit(event="timeout", index=index)
                break
            client.timeout = max(1, math.ceil(remaining))
            emit(event="start", index=index)
            began = time.monotonic()
            try:
                await client.async_execute_cell(cell, index)
            except CellTimeoutError:
                emit(event="timeout", index=index)
                break
            except DeadKernelError:
                emit(event="died", index=index)
                break
            seconds = time.monotonic() - began
            nonce = secrets.token_hex(8)
            client.timeout = 30
            try:
                await _hidden(client, f"__import__('sys').modules[{registry!r}].audit(({index}, {nonce!r}))")
            except Exception:  # noqa: BLE001 - a kernel that cannot answer is reported below
                pass
            records, problems = channel.read()
            checks = [list(fields[:3]) for kind, fields in records if kind == "check"]
            problems += [p for kind, fields in records if kind == "check" for p in fields[3]]
            audits = [fields for kind, fields in records if kind == "audit"]
            if not any(a[0] == (index, nonce) for a in audits):
                problems.append(("", "the grader's check of the kernel did not answer (it was replaced or removed)"))
            for audit in audits:
                problems += list(audit[1])
            emit(event="cell", index=index, seconds=round(seconds, 3), error=_error_line(replies.get(index)),
                 checks=checks, problems=[list(p) for p in dict.fromkeys(problems)])
        emit(event="done", seconds=round(time.monotonic() - started, 2))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m helpers.grade.runner")
    parser.add_argument("--chapter", required=True)
    parser.add_argument("--timeout", type=float, required=True)
    parser.add_argument("--events-fd", type=int, required=True)
    parser.add_argument("--name", default="notebook.ipynb")
    parser.add_argument("--data-cache", type=Path)
    args = parser.parse_args(argv)
    _not_dumpable()
    events = os.fdopen(args.events_fd, "w", buffering=1, encoding="utf-8")
    os.set_inheritable(args.events_fd, False)

    def emit(**event):
        events.write(json.dumps(event) + "\n")

    home = Path(os.environ.get("HOME", ".")).resolve()
    try:
        import nbformat

        raw = sys.stdin.buffer.read()
        nb = nbformat.reads(raw.decode("utf-8"), as_version=4)
        (home / Path(args.name).name).write_bytes(raw)  # the scratch copy, for code that reads it
        if args.data_cache is not None and os.environ.get("COURSE_DATA_DIR"):
            link_data(args.data_cache, Path(os.environ["COURSE_DATA_DIR"]))
        os.chdir(home)
        asyncio.run(_run(nb, args, home, emit))
    except Exception as exc:  # noqa: BLE001 - reported to the grader, which writes it in the rows
        emit(event="failed", error=f"{type(exc).__name__}: {exc}"[:300])
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
