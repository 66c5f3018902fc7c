"""Run one notebook in a sandbox, with limits: bubblewrap for isolation, cgroups for resources.

:func:`probe` finds what this machine offers, once per grading run:

* **bubblewrap** (``bwrap``): the runner and its kernel see a read-only system, Python and
  course, a data cache of links, and two small private in-memory folders (the scratch home
  and ``/tmp``); no network, no other process (a PID namespace), no capabilities, and nothing of
  the submissions or of the output folder. Without it, the runner runs as a plain process in a
  temporary folder (resource limits only), and the report's first line says so.
* **cgroups** (v1 or v2, where this user may create them): a cap on resident memory (swap
  included) and on the number of processes and threads, and an exact "killed for memory"
  signal. Elsewhere a watchdog polls the process tree (resident memory and process count)
  and kills it past the limits.

The time limit is the runner's own (per notebook, from its first cell); the grader kills the
sandbox outright if it is still running :data:`GRACE` seconds later.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

GRACE = 60  # seconds, beyond the notebook's timeout, for the sandbox's start and end
HOME = "/home/student"  # the scratch folder, as the notebook sees it inside the sandbox
SCRATCH_MB = 512  # size of each in-memory folder of the sandbox (its home and /tmp)
_STDERR_TAIL = 4000


@dataclass(frozen=True)
class Limits:
    timeout: float  # seconds for the notebook's cells
    memory_mb: int  # resident memory of everything in the sandbox
    processes: int  # processes and threads
    threads: int  # BLAS / OpenMP threads per notebook


@dataclass
class Outcome:
    """What happened to one run: the runner's events and how the sandbox ended."""

    events: list[dict] = field(default_factory=list)
    seconds: float = 0.0
    exit_code: int | None = None
    killed: str | None = None  # "timeout", "memory" or "processes" when the grader stopped it
    oom: bool = False  # the kernel (or something in the sandbox) was killed for memory
    process_limit_hit: bool = False
    peak_memory: int | None = None  # bytes
    stderr: str = ""


# --------------------------------------------------------------------------- cgroups


def _mounts() -> list[tuple[str, str, set[str]]]:
    """(mount point, file system type, super options) of every mount, from /proc/self/mountinfo."""
    found = []
    with contextlib.suppress(OSError), open("/proc/self/mountinfo", encoding="utf-8") as stream:
        for line in stream:
            before, _, after = line.partition(" - ")
            parts, tail = before.split(), after.split()
            if len(parts) >= 5 and len(tail) >= 3:
                found.append((parts[4].replace("\\040", " "), tail[0], set(tail[2].split(","))))
    return found


def _own_cgroups() -> dict[str, str]:
    """Controller (or '' for v2) -> this process's cgroup path, from /proc/self/cgroup."""
    found = {}
    with contextlib.suppress(OSError), open("/proc/self/cgroup", encoding="utf-8") as stream:
        for line in stream:
            _, controllers, path = line.rstrip("\n").split(":", 2)
            for controller in controllers.split(",") if controllers else [""]:
                found[controller] = path
    return found


class CgroupTree:
    """Where this process can make cgroups: one folder per controller (v1) or one (v2)."""

    def __init__(self, version: int, bases: dict[str, Path]):
        self.version = version
        self.bases = bases  # "memory"/"pids" -> folder (v1); "" -> folder (v2)

    @classmethod
    def find(cls) -> tuple[CgroupTree | None, str]:
        mounts, own = _mounts(), _own_cgroups()
        v1 = {}
        for controller in ("memory", "pids"):
            point = next((m for m, kind, options in mounts if kind == "cgroup" and controller in options), None)
            if point is not None and controller in own:
                v1[controller] = Path(point) / own[controller].lstrip("/")
        tree = None
        if len(v1) == 2:
            tree = cls(1, v1)
        else:
            point = next((m for m, kind, _ in mounts if kind == "cgroup2"), None)
            if point is not None and "" in own:
                tree = cls(2, {"": Path(point) / own[""].lstrip("/")})
        if tree is None:
            return None, "no cgroup memory and pids controllers are mounted"
        try:
            group = tree.create(f"course-grade-probe-{os.getpid()}")
            group.remove()
        except OSError as error:
            return None, f"cgroups cannot be created here ({error.strerror or error})"
        return tree, f"cgroup v{tree.version}"

    def create(self, name: str) -> Group:
        return Group(self, name)


class Group:
    """One cgroup (a folder per v1 controller) holding one sandbox."""

    def __init__(self, tree: CgroupTree, name: str):
        self.tree = tree
        self.dirs = {controller: base / name for controller, base in tree.bases.items()}
        made = []
        try:
            for folder in self.dirs.values():
                folder.mkdir()
                made.append(folder)
            if tree.version == 2:
                parent = tree.bases[""]
                wanted = {"memory", "pids"}
                if not wanted <= set(self._read(self.dirs[""] / "cgroup.controllers").split()):
                    (parent / "cgroup.subtree_control").write_text("+memory +pids")
                if not wanted <= set(self._read(self.dirs[""] / "cgroup.controllers").split()):
                    raise OSError("the memory and pids controllers are not delegated here")
        except OSError:
            for folder in made:
                with contextlib.suppress(OSError):
                    folder.rmdir()
            raise

    @staticmethod
    def _read(path: Path) -> str:
        try:
            return path.read_text()
        except OSError:
            return ""

    def _file(self, controller: str, name: str) -> Path:
        return self.dirs[controller if self.tree.version == 1 else ""] / name

    def procs_files(self) -> list[Path]:
        return [folder / "cgroup.procs" for folder in self.dirs.values()]

    def set_limits(self, memory_bytes: int, processes: int) -> None:
        if self.tree.version == 1:
            self._file("memory", "memory.limit_in_bytes").write_text(str(memory_bytes))
            swap = self._file("memory", "memory.memsw.limit_in_bytes")  # memory + swap
            if swap.exists():
                swap.write_text(str(memory_bytes))
        else:
            self._file("memory", "memory.max").write_text(str(memory_bytes))
            swap = self._file("memory", "memory.swap.max")
            if swap.exists():
                swap.write_text("0")
        self._file("pids", "pids.max").write_text(str(processes))

    def _counter(self, controller: str, name: str, key: str) -> int:
        for line in self._read(self._file(controller, name)).splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[0] == key:
                return int(parts[1])
        return 0

    def oom_kills(self) -> int:
        name = "memory.oom_control" if self.tree.version == 1 else "memory.events"
        return self._counter("memory", name, "oom_kill")

    def process_limit_hit(self) -> bool:
        return self._counter("pids", "pids.events", "max") > 0

    def peak(self) -> int | None:
        name = "memory.max_usage_in_bytes" if self.tree.version == 1 else "memory.peak"
        text = self._read(self._file("memory", name)).strip()
        return int(text) if text.isdigit() else None

    def pids(self) -> set[int]:
        found = set()
        for path in self.procs_files():
            found |= {int(p) for p in self._read(path).split()}
        return found

    def kill(self) -> None:
        """Kill everything in the group, until it is empty (forks in flight included)."""
        kill_file = self._file("pids", "cgroup.kill")
        if self.tree.version == 2 and kill_file.exists():
            with contextlib.suppress(OSError):
                kill_file.write_text("1")
        deadline = time.monotonic() + 10
        while (pids := self.pids()) and time.monotonic() < deadline:
            for pid in pids:
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.02)

    def remove(self) -> None:
        for folder in self.dirs.values():
            for _ in range(100):  # the kernel frees a group a moment after its last process
                try:
                    folder.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.05)


# --------------------------------------------------------------------------- the watchdog


class Watchdog:
    """Where cgroups are not available: poll the process tree, kill it past the limits."""

    def __init__(self, pid: int, limits: Limits):
        import psutil

        self.psutil = psutil
        self.root = psutil.Process(pid)
        self.limits = limits
        self.seen: dict[int, object] = {}
        self.peak = 0

    def poll(self) -> str | None:
        """'memory' or 'processes' when a limit is passed, else None."""
        try:
            tree = [self.root, *self.root.children(recursive=True)]
        except self.psutil.Error:
            return None
        rss = 0
        for process in tree:
            self.seen.setdefault(process.pid, process)
            with contextlib.suppress(self.psutil.Error):
                rss += process.memory_info().rss
        self.peak = max(self.peak, rss)
        if rss > self.limits.memory_mb * 2**20:
            return "memory"
        if len(tree) > self.limits.processes:
            return "processes"
        return None

    def kill(self) -> None:
        with contextlib.suppress(self.psutil.Error):
            self.seen.update((p.pid, p) for p in self.root.children(recursive=True))
        for process in self.seen.values():
            with contextlib.suppress(self.psutil.Error):
                process.kill()


# --------------------------------------------------------------------------- isolation


@dataclass
class Isolation:
    """What this machine offers, found once per grading run."""

    bwrap: str | None  # path to bubblewrap, None when grading without a sandbox
    bwrap_note: str  # its version, or why it is not used
    cgroups: CgroupTree | None
    cgroups_note: str

    def describe(self, limits: Limits) -> str:
        """One sentence for the report's first line."""
        resources = (f"memory {limits.memory_mb} MB, {limits.processes} processes and threads, "
                     f"{limits.timeout:g} s per notebook")
        how = (f"enforced by {self.cgroups_note}" if self.cgroups else
               f"enforced by a watchdog polling every 0.2 s ({self.cgroups_note})")
        if self.bwrap:
            return (f"Sandbox: {self.bwrap_note}, each notebook with no network, a read-only view of "
                    f"the system and the course, only its own scratch folder writable, no view of "
                    f"other submissions; limits: {resources}, {how}.")
        return (f"NO SANDBOX ({self.bwrap_note}): the notebooks ran with resource limits only: "
                f"{resources}, {how}. They could read and write your files and reach the network.")


def _bwrap_base(home_mb: int) -> list[str]:
    return ["--unshare-all", "--unshare-user", "--uid", "65534", "--gid", "65534",
            "--disable-userns", "--die-with-parent", "--new-session", "--cap-drop", "ALL",
            "--proc", "/proc", "--dev", "/dev",
            "--size", str(home_mb * 2**20), "--tmpfs", "/tmp",
            "--size", str(home_mb * 2**20), "--tmpfs", HOME]


def probe(sandbox: bool = True, limits_by: str = "auto") -> Isolation:
    """Find bubblewrap and cgroups (``limits_by``: auto, cgroup or watchdog)."""
    tree, tree_note = (None, "--limits watchdog was given") if limits_by == "watchdog" else CgroupTree.find()
    if limits_by == "cgroup" and tree is None:
        raise RuntimeError(f"--limits cgroup: {tree_note}")
    if not sandbox:
        return Isolation(None, "--no-sandbox was given", tree, tree_note)
    path = shutil.which("bwrap")
    if path is None:
        return Isolation(None, "bubblewrap is not installed: on Debian or Ubuntu, "
                               "apt-get install bubblewrap", tree, tree_note)
    test = [path, *_bwrap_base(1), *_system_binds(), "true"]
    try:
        run = subprocess.run(test, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as error:
        return Isolation(None, f"bubblewrap could not be started ({error})", tree, tree_note)
    if run.returncode != 0:
        reason = " ".join(run.stderr.split())[:200] or f"exit status {run.returncode}"
        return Isolation(None, f"bubblewrap cannot make a sandbox on this machine ({reason})",
                         tree, tree_note)
    version = subprocess.run([path, "--version"], capture_output=True, text=True).stdout.strip()
    return Isolation(path, version or "bubblewrap", tree, tree_note)


_SECRETS = ("/etc/shadow", "/etc/gshadow", "/etc/ssh", "/etc/ssl/private", "/etc/sudoers")


def _system_binds() -> list[str]:
    """The system, read-only: /usr and /etc, and the top-level links or folders of the root."""
    args = ["--ro-bind", "/usr", "/usr", "--ro-bind", "/etc", "/etc"]
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        path = Path("/") / name
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            args += ["--ro-bind", str(path), str(path)]
    for secret in _SECRETS:
        if os.path.isdir(secret):
            args += ["--tmpfs", secret]
        elif os.path.exists(secret):
            args += ["--ro-bind", "/dev/null", secret]
    return args


def _course_root() -> Path:
    """The folder that holds the ``helpers`` package (the course checkout, or site-packages)."""
    return Path(__file__).resolve().parent.parent.parent


def _readable_folders(data_cache: Path, mirror: Path | None) -> list[Path]:
    """What the sandbox sees read-only besides the system: Python, the venv, course and data."""
    folders = [Path(sys.base_prefix), Path(sys.prefix), _course_root(), data_cache]
    if mirror is not None:
        folders.append(mirror)
    kept: list[Path] = []
    for folder in sorted({f.resolve() for f in folders if f.is_dir()}, key=lambda p: len(p.parts)):
        if not any(folder.is_relative_to(k) for k in kept) and not folder.is_relative_to("/usr"):
            kept.append(folder)
    return kept


def sandbox_command(isolation: Isolation, inner: list[str], env: dict[str, str], data_cache: Path,
                    mirror: Path | None, hidden: list[Path], limits: Limits) -> list[str]:
    """The bubblewrap command line that runs ``inner`` with ``env`` and nothing else."""
    home_mb = min(SCRATCH_MB, limits.memory_mb)
    args = [isolation.bwrap, *_bwrap_base(home_mb), *_system_binds()]
    readable = _readable_folders(data_cache, mirror)
    for folder in readable:
        args += ["--ro-bind", str(folder), str(folder)]
    for path in hidden:  # submissions and the output folder, where they lie inside a bound folder
        path = path.resolve()
        if path.exists() and any(path.is_relative_to(f) for f in readable):
            args += ["--tmpfs", str(path)] if path.is_dir() else ["--ro-bind", "/dev/null", str(path)]
    args += ["--remount-ro", "/", "--chdir", HOME, "--clearenv"]  # the folders bwrap made on the way too
    for key, value in env.items():
        args += ["--setenv", key, value]
    return args + ["--", *inner]


def _environment(home: str, limits: Limits, quick: bool, run_id: str, mirror: Path | None) -> dict[str, str]:
    threads = str(limits.threads)
    env = {
        "HOME": home, "USER": "student", "LANG": "C.UTF-8", "TERM": "dumb",
        "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
        "PYTHONPATH": str(_course_root()), "PYTHONDONTWRITEBYTECODE": "1",
        "COURSE_QUICK": "1" if quick else "0",
        "COURSE_DATA_DIR": f"{home}/datasets", "COURSE_IMAGES_DIR": f"{home}/images",
        "COURSE_PROGRESS_FILE": f"{home}/.ml-course/progress.jsonl",
        "COURSE_GRADE_RUN": run_id,  # marks every process of a grading run (tests look for strays)
        "MPLCONFIGDIR": f"{home}/.config/matplotlib", "IPYTHONDIR": f"{home}/.ipython",
        "JUPYTER_RUNTIME_DIR": f"{home}/.local/share/jupyter/runtime", "JUPYTER_PLATFORM_DIRS": "1",
        "PYDEVD_DISABLE_FILE_VALIDATION": "1", "TF_CPP_MIN_LOG_LEVEL": "2",
        "OMP_NUM_THREADS": threads, "OPENBLAS_NUM_THREADS": threads, "MKL_NUM_THREADS": threads,
        "TF_NUM_INTRAOP_THREADS": threads, "TF_NUM_INTEROP_THREADS": threads,
    }
    if mirror is not None:
        env["COURSE_DATA_MIRROR"] = str(mirror)
    return env


def local_mirror() -> Path | None:
    """COURSE_DATA_MIRROR when it is a local folder (an http mirror is out of the sandbox's reach)."""
    value = os.environ.get("COURSE_DATA_MIRROR", "").strip()
    if not value or value.lower().startswith(("http://", "https://")):
        return None
    if value.lower().startswith("file:"):
        from urllib.parse import urlsplit
        from urllib.request import url2pathname

        value = url2pathname(urlsplit(value).path)
    path = Path(value).expanduser()
    if not path.is_absolute():
        path = (_course_root() / path) if (_course_root() / path).is_dir() else path.resolve()
    return path.resolve() if path.is_dir() else None


def run(notebook: bytes, name: str, chapter: str, *, isolation: Isolation, limits: Limits,
        quick: bool, data_cache: Path, hidden: list[Path], run_id: str,
        stop=lambda: False) -> Outcome:
    """Run the runner on ``notebook`` (a chapter's notebook as bytes) and collect its events."""
    outcome = Outcome()
    mirror = local_mirror()
    read_end, write_end = os.pipe()
    scratch = None if isolation.bwrap else Path(tempfile.mkdtemp(prefix="course-grade-"))
    home = HOME if isolation.bwrap else str(scratch)
    env = _environment(home, limits, quick, run_id, mirror)
    inner = [sys.executable, "-m", "helpers.grade.runner", "--chapter", chapter,
             "--timeout", str(limits.timeout), "--events-fd", str(write_end), "--name", name,
             "--data-cache", str(data_cache)]
    if isolation.bwrap:
        command = sandbox_command(isolation, inner, env, data_cache, mirror, hidden, limits)
        child_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    else:
        command, child_env = inner, env
    group = None
    if isolation.cgroups is not None:
        group = isolation.cgroups.create(f"course-grade-{run_id}-{os.getpid()}-{write_end}-{time.monotonic_ns()}")
        group.set_limits(limits.memory_mb * 2**20, limits.processes)
        # a shell puts itself into the group, then becomes the sandbox: nothing runs outside it
        enter = 'n=$1; shift; while [ "$n" -gt 0 ]; do echo $$ > "$1" || exit 125; shift; n=$((n-1)); done; exec "$@"'
        files = [str(p) for p in group.procs_files()]
        command = ["/bin/sh", "-c", enter, "sh", str(len(files)), *files, *command]
    start = time.monotonic()
    try:
        process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, pass_fds=(write_end,), env=child_env,
                                   cwd=scratch or "/", start_new_session=True)
    except OSError:
        os.close(read_end)
        os.close(write_end)
        if group is not None:
            group.remove()
        raise
    os.close(write_end)
    watchdog = None
    try:
        if group is None:
            watchdog = Watchdog(process.pid, limits)
        _limit_processes(process.pid, limits)
        with contextlib.suppress(OSError):
            process.stdin.write(notebook)
        with contextlib.suppress(OSError):
            process.stdin.close()
        _collect(process, read_end, outcome, watchdog, limits, start, stop)
    finally:
        if group is not None:
            group.kill()
            outcome.oom = outcome.oom or group.oom_kills() > 0
            outcome.process_limit_hit = group.process_limit_hit()
            outcome.peak_memory = group.peak()
            group.remove()
        elif watchdog is not None:
            watchdog.kill()
            outcome.peak_memory = watchdog.peak or None
        with contextlib.suppress(OSError):
            os.killpg(process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=10)
        outcome.exit_code = process.returncode
        outcome.seconds = time.monotonic() - start
        os.close(read_end)
        if process.stdout is not None:
            process.stdout.close()
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
    return outcome


def _limit_processes(pid: int, limits: Limits) -> None:
    """Outside a pids cgroup, as a user other than root, RLIMIT_NPROC also caps forks."""
    if os.geteuid() == 0:
        return
    import resource

    try:
        import psutil

        mine = sum(1 for p in psutil.process_iter(["uids"]) if p.info["uids"] and p.info["uids"].real == os.getuid())
    except Exception:  # noqa: BLE001 - without a count, leave the limit alone
        return
    with contextlib.suppress(OSError, ValueError):
        resource.prlimit(pid, resource.RLIMIT_NPROC, (mine + limits.processes, mine + limits.processes))


def _collect(process, events_fd: int, outcome: Outcome, watchdog, limits: Limits, start: float, stop) -> None:
    """Read the runner's events until it exits; enforce the deadline and the watchdog's limits."""
    deadline = start + limits.timeout + GRACE
    pending = b""
    tail = b""
    streams = {events_fd: "events", process.stdout.fileno(): "stderr"}
    while streams:
        ready, _, _ = select.select(list(streams), [], [], 0.2)
        for fd in ready:
            data = os.read(fd, 1 << 16)
            if not data:
                del streams[fd]
            elif streams[fd] == "events":
                pending += data
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    with contextlib.suppress(ValueError):
                        outcome.events.append(json.loads(line))
            else:
                tail = (tail + data)[-_STDERR_TAIL:]
        reason = watchdog.poll() if watchdog is not None else None
        if reason is None and time.monotonic() > deadline:
            reason = "timeout"
        if reason is None and stop():
            reason = "interrupted"
        if reason is not None:
            outcome.killed = reason
            outcome.oom = reason == "memory"
            outcome.process_limit_hit = reason == "processes"
            break
        if process.poll() is not None and not ready:
            break
    outcome.stderr = tail.decode("utf-8", errors="replace")
