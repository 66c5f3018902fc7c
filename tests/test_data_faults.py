"""Fault injection on the data layer: concurrency, killed downloads, stalled servers, unsafe
archives, edited extractions, odd mirror URLs, permissions, and what the command line says.

Uses the loopback HTTP server and fixtures of test_data.py.
"""

from __future__ import annotations

import builtins
import importlib.util
import io
import os
import signal
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest

from helpers import data


def _shared():
    """test_data.py, loaded by path so that this works under --import-mode=importlib too."""
    spec = importlib.util.spec_from_file_location("_data_test_server", Path(__file__).with_name("test_data.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


shared = _shared()
# Its loopback server and cache/sample fixtures (pytest finds fixtures by these names), and helpers.
server, cache, sample = shared.server, shared.cache, shared.sample
PAYLOAD, ROOT, SAMPLE, sha256 = shared.PAYLOAD, shared.ROOT, shared.SAMPLE, shared.sha256
base, leftovers, make_tgz = shared.base, shared.leftovers, shared.make_tgz
closed_port_url = shared.closed_port_url
offline_env, register_archive = shared.offline_env, shared.register_archive

ROOT_USER = hasattr(os, "geteuid") and os.geteuid() == 0


def child_env(cache_folder: Path, mirror: str) -> dict:
    return dict(os.environ, COURSE_DATA_DIR=str(cache_folder), COURSE_DATA_MIRROR=mirror)


def work_files(folder: Path) -> list[Path]:
    """Temporary files and folders of downloads and extractions (none may survive)."""
    return [p for p in folder.rglob(".*") if p.name.endswith((".part", ".extracting", ".old"))]


# --------------------------------------------------------------------------- concurrency

HOUSING_CSV = b"longitude,median_house_value\n" + b"".join(b"%d,%d\n" % (i, 1000 * i) for i in range(100_000))

LOAD_IN_CHILD = """
import sys, time, pathlib
import pandas
from helpers import data
data.REGISTRY["housing.tgz"] = data.RemoteFile("housing.tgz", sys.argv[1], 0, (), "test")
go = pathlib.Path(sys.argv[2])
print("ready", flush=True)
while not go.exists():
    time.sleep(0.005)
frame = data.load_housing()
print(len(frame), int(frame["median_house_value"].sum()))
"""


def test_eight_processes_load_housing_at_once_on_an_empty_cache(server, cache, tmp_path):
    """First use in 8 processes at once: one downloads and extracts, the others wait, all succeed."""
    archive = make_tgz({"housing/housing.csv": HOUSING_CSV, "housing/notes.txt": b"synthetic"})
    server.files["housing.tgz"] = archive
    go = tmp_path / "go"
    env = child_env(cache, base(server, "ok"))
    children = [subprocess.Popen([sys.executable, "-c", LOAD_IN_CHILD, sha256(archive), str(go)],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
                for _ in range(8)]
    try:
        for child in children:  # every child has imported everything: start them together
            assert child.stdout.readline().strip() == "ready"
        go.touch()
        outputs = [child.communicate(timeout=180) for child in children]
    finally:
        for child in children:
            child.kill()
    assert [child.returncode for child in children] == [0] * 8, [err for _, err in outputs]
    expected = f"100000 {1000 * sum(range(100_000))}"
    assert [out.strip().splitlines()[-1] for out, _ in outputs] == [expected] * 8
    assert sum("Downloading housing.tgz" in out for out, _ in outputs) == 1  # downloaded once
    assert work_files(cache) == []
    assert (cache / "housing" / "housing.csv").read_bytes() == HOUSING_CSV


def test_threads_of_one_process_fetch_the_same_file_once(server, cache, sample, monkeypatch, capsys):
    import threading

    monkeypatch.setenv("COURSE_DATA_MIRROR", base(server, "slow"))
    results = []
    threads = [threading.Thread(target=lambda: results.append(data.fetch(SAMPLE, progress=False)))
               for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert results == [cache / SAMPLE] * 4 and (cache / SAMPLE).read_bytes() == PAYLOAD
    assert capsys.readouterr().out.count("Downloading") == 1


# --------------------------------------------------------------------------- killed download

FETCH_IN_CHILD = """
import sys
from helpers import data
data.REGISTRY[sys.argv[1]] = data.RemoteFile(sys.argv[1], sys.argv[2], 0, (), "test")
data.fetch(sys.argv[1], progress=False)
"""


def test_download_killed_with_sigkill_is_cleaned_up_by_the_next_fetch(server, cache, sample, monkeypatch):
    """A real SIGKILL mid-download leaves its .part file; the next fetch of that file removes it."""
    child = subprocess.Popen([sys.executable, "-c", FETCH_IN_CHILD, SAMPLE, sha256(PAYLOAD)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             env=child_env(cache, base(server, "stall")))
    folder, deadline = cache / "sample", time.monotonic() + 90
    try:
        while time.monotonic() < deadline:  # wait until the first 64 KiB are on disk
            parts = list(folder.glob(".payload.bin.*.part")) if folder.is_dir() else []
            if parts and parts[0].stat().st_size >= 65536:
                break
            time.sleep(0.05)
        else:
            pytest.fail("the child never started writing its temporary file")
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL
    assert work_files(cache) == parts  # the killed process could not clean up
    monkeypatch.setenv("COURSE_DATA_MIRROR", base(server, "ok"))
    assert data.fetch(SAMPLE, progress=False).read_bytes() == PAYLOAD  # its lock died with it
    assert work_files(cache) == [] and leftovers(cache) == [cache / SAMPLE]


def test_leftover_extraction_folders_are_removed_by_the_next_extraction(cache, tmp_path, monkeypatch):
    register_archive(monkeypatch, tmp_path, "good.tgz", make_tgz({"good/a.csv": b"a\n"}))
    data.fetch("good.tgz")
    (cache / ".good.k1ll3d.extracting" / "good").mkdir(parents=True)
    (cache / ".good.k1ll3d.old").mkdir()
    assert (data.extract("good.tgz") / "a.csv").read_bytes() == b"a\n"
    assert work_files(cache) == []


# --------------------------------------------------------------------------- stalled server


def test_stalled_server_times_out_with_the_right_reason(server, cache, sample, monkeypatch):
    """A server that sends 64 KiB and then nothing: given up after TIMEOUT, reported as a timeout."""
    monkeypatch.setattr(data, "TIMEOUT", 1)
    mirror = base(server, "stall")
    monkeypatch.setenv("COURSE_DATA_MIRROR", mirror)
    start = time.monotonic()
    with pytest.raises(data.DataError) as info:
        data.fetch(SAMPLE, progress=False)
    elapsed = time.monotonic() - start
    message = str(info.value)
    assert f"{mirror}/{SAMPLE}: timed out: the server stopped sending after 64 KiB (no data for 1 s)" in message
    assert elapsed < 10, f"took {elapsed:.1f} s"  # one attempt of ~1 s: a timeout is not retried
    assert leftovers(cache) == []


def test_an_unreachable_host_is_tried_once_for_many_files(cache, monkeypatch):
    """Ten files on a host that cannot be reached cost one connection attempt, not ten."""
    import requests
    import urllib3

    calls = []
    url = closed_port_url()

    def counting(*args, **kwargs):
        calls.append(args[0])
        raise requests.exceptions.ConnectionError(urllib3.exceptions.MaxRetryError(None, args[0], "refused"))

    monkeypatch.setattr(requests, "get", counting)
    names = [f"far/{i}.bin" for i in range(10)]
    for name in names:
        monkeypatch.setitem(data.REGISTRY, name, data.RemoteFile(name, sha256(b"x"), 1, (url + name,), "test"))
    assert data.main(["download", "far"]) == 1
    assert len(calls) == 1
    monkeypatch.setattr(data, "HOST_MEMORY", 0)  # after a while, the host is tried again
    with pytest.raises(data.DataError, match="could not connect"):
        data.fetch(names[0])
    assert len(calls) == 2


# --------------------------------------------------------------------------- archives


def tgz_with(member: tarfile.TarInfo, raw: bytes = b"") -> bytes:
    """An archive with a harmless file first, then ``member`` (so a late refusal is tested)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        first = tarfile.TarInfo("evil/first.csv")
        first.size = 2
        archive.addfile(first, io.BytesIO(b"a\n"))
        member.size = len(raw) if member.isreg() else 0
        archive.addfile(member, io.BytesIO(raw) if member.isreg() else None)
    return buffer.getvalue()


def member(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, link
    return info


UNSAFE = {
    "symlink": member("evil/link", tarfile.SYMTYPE, "/etc/passwd"),
    "symlink chain (CVE-2025-4517 pattern)": member("evil/" + "d" * 200 + "/l", tarfile.SYMTYPE, "../" * 40),
    "hard link": member("evil/hard", tarfile.LNKTYPE, "evil/first.csv"),
    "character device": member("evil/tty", tarfile.CHRTYPE),
    "block device": member("evil/disk", tarfile.BLKTYPE),
    "fifo": member("evil/pipe", tarfile.FIFOTYPE),
    "absolute path": member("/tmp/escaped.txt"),
    "dot-dot": member("evil/../../escaped.txt"),
    "drive letter": member("C:/escaped.txt"),
    "backslashes": member("evil\\..\\..\\escaped.txt"),
    "file inside a file": member("evil/first.csv/escaped.txt"),
}


@pytest.mark.parametrize("case", list(UNSAFE))
@pytest.mark.parametrize("filters", ["with tar filters", "without tar filters"])
def test_unsafe_archive_is_refused_before_anything_is_written(cache, tmp_path, monkeypatch, case, filters):
    """The course's own check: no reliance on tarfile.FilterError/data_filter (absent on 3.11.2)."""
    if filters == "without tar filters":
        for name in ("FilterError", "data_filter", "tar_filter", "fully_trusted_filter"):
            monkeypatch.delattr(tarfile, name, raising=False)
    bad = UNSAFE[case]
    register_archive(monkeypatch, tmp_path, "evil.tgz", tgz_with(bad, b"pwned"))
    with pytest.raises(data.DataError) as info:
        data.extract("evil.tgz")
    message = str(info.value)
    assert message.startswith("Refused to extract evil.tgz: member ") and f"'{bad.name}'" in message
    assert info.value.kind == "refused"
    assert not (cache / "evil").exists() and work_files(cache) == []
    assert not list(tmp_path.rglob("escaped.txt")) and not Path("/tmp/escaped.txt").exists()
    assert leftovers(cache) == [cache / "evil.tgz"]


def test_extraction_works_without_tar_filters(cache, tmp_path, monkeypatch):
    for name in ("FilterError", "data_filter", "tar_filter", "fully_trusted_filter"):
        monkeypatch.delattr(tarfile, name, raising=False)
    register_archive(monkeypatch, tmp_path, "good.tgz", make_tgz({"good/a.csv": b"a\n", "good/sub/b.csv": b"b\n"}))
    folder = data.extract("good.tgz")
    assert (folder / "sub" / "b.csv").read_bytes() == b"b\n"


def register_housing(monkeypatch, tmp_path, raw: bytes = HOUSING_CSV) -> None:
    register_archive(monkeypatch, tmp_path, "housing.tgz", make_tgz({"housing/housing.csv": raw}))


def test_edited_extracted_file_is_detected_and_extracted_again(cache, tmp_path, monkeypatch, capsys):
    register_housing(monkeypatch, tmp_path)
    assert data.load_housing()["median_house_value"].iloc[5] == 5000
    csv = cache / "housing" / "housing.csv"
    csv.write_bytes(csv.read_bytes().replace(b"\n5,5000\n", b"\n5,1\n"))  # a student's edit
    capsys.readouterr()
    assert data.load_housing()["median_house_value"].iloc[5] == 5000
    assert "(housing.csv was changed after extraction); extracting it again" in capsys.readouterr().out
    csv.unlink()
    assert data.main(["download", "housing.tgz"]) == 0
    assert csv.read_bytes() == HOUSING_CSV and work_files(cache) == []


# --------------------------------------------------------------------------- mirrors


@pytest.mark.parametrize("form", ["as_uri", "localhost", "plain"])
def test_file_mirror_urls_are_decoded(cache, sample, tmp_path, monkeypatch, form):
    mirror = tmp_path / "mirror folder ü"
    (mirror / "sample").mkdir(parents=True)
    (mirror / SAMPLE).write_bytes(PAYLOAD)
    value = {"as_uri": mirror.as_uri(), "localhost": f"file://localhost{mirror}", "plain": str(mirror)}[form]
    if form == "as_uri":
        assert "%20" in value and "%C3%BC" in value
    monkeypatch.setenv("COURSE_DATA_MIRROR", value)
    assert data.fetch(SAMPLE).read_bytes() == PAYLOAD


def test_missing_mirror_folder_is_named(cache, sample, tmp_path, monkeypatch):
    nowhere = tmp_path / "no such folder"
    monkeypatch.setenv("COURSE_DATA_MIRROR", nowhere.as_uri())
    with pytest.raises(data.DataError) as info:
        data.fetch(SAMPLE)
    assert f"the mirror folder {nowhere} does not exist" in str(info.value)
    assert leftovers(cache) == []


def test_file_url_of_another_machine_is_explained(cache, sample, monkeypatch):
    monkeypatch.setenv("COURSE_DATA_MIRROR", "file://fileserver/share/datasets")
    with pytest.raises(data.DataError, match="another machine"):
        data.fetch(SAMPLE)


# --------------------------------------------------------------------------- command line


def test_cli_download_all_offline_is_one_paragraph_and_the_urls_tried(tmp_path):
    result = subprocess.run([sys.executable, "-m", "helpers.data", "download", "--all"],
                            capture_output=True, text=True, env=offline_env(tmp_path), timeout=180, cwd=ROOT)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    paragraph, tried, reason, *urls = result.stderr.strip().splitlines()
    assert paragraph.startswith(f"Could not get these {len(data.REGISTRY)} files: ")
    assert all(path in paragraph for path in data.REGISTRY)
    assert paragraph.count("COURSE_DATA_MIRROR") == 1
    assert "download --all" not in paragraph and "run this command again" in paragraph
    assert tried == "Tried:" and reason.strip().startswith("could not connect")  # one reason for all
    assert [url.strip() for url in urls] == [entry.urls[0] for entry in data.REGISTRY.values()]
    assert result.stdout.strip() == f"0 of {len(data.REGISTRY)} files ready in {tmp_path / 'empty-cache'} (checksums verified)."


def test_cli_list_shows_the_real_state_of_each_file(cache, tmp_path, monkeypatch, capsys):
    good, archive = b"good", make_tgz({"pack/a.csv": b"a\n"})
    registry = {name: data.RemoteFile(name, sha256(raw), len(raw), (), "test")
                for name, raw in [("ok.bin", good), ("empty.bin", good), ("bad.bin", good),
                                  ("missing.bin", good), ("pack.tgz", archive)]}
    monkeypatch.setattr(data, "REGISTRY", registry)
    cache.mkdir()
    (cache / "ok.bin").write_bytes(good)
    (cache / "empty.bin").write_bytes(b"")
    (cache / "bad.bin").write_bytes(b"evil")
    (tmp_path / "mirror").mkdir()
    (tmp_path / "mirror" / "pack.tgz").write_bytes(archive)
    monkeypatch.setenv("COURSE_DATA_MIRROR", str(tmp_path / "mirror"))
    (data.extract("pack.tgz") / "a.csv").write_bytes(b"edited")
    capsys.readouterr()
    assert data.main(["list"]) == 0
    states = {line.split()[0]: line for line in capsys.readouterr().out.splitlines() if line.strip()}
    assert "  ok  " in states["ok.bin"]
    assert "corrupt (empty file)" in states["empty.bin"]
    assert "corrupt (checksum mismatch)" in states["bad.bin"]
    assert "missing" in states["missing.bin"]
    assert "ok, a.csv was changed after extraction" in states["pack.tgz"]


# --------------------------------------------------------------------------- permissions


class Denied:
    """Unreadable files and read-only folders, for tests.

    As an ordinary user this uses chmod. Root ignores file permissions (the tests run as root
    in containers), so there the same refusals are simulated: open, os.open, os.mkdir,
    os.replace, os.rename and os.unlink raise PermissionError(EACCES) for those paths, as the
    kernel does for an ordinary user.
    """

    def __init__(self, monkeypatch):
        self.monkeypatch, self.unreadable, self.read_only, self.modes = monkeypatch, [], [], {}

    def file(self, path: Path) -> None:
        if not ROOT_USER:
            self._chmod(path, 0o000)
        else:
            self._patch(unreadable=path.resolve())

    def folder(self, path: Path) -> None:
        if not ROOT_USER:
            for folder in [path, *(p for p in path.rglob("*") if p.is_dir())]:
                self._chmod(folder, 0o555)
        else:
            self._patch(read_only=path.resolve())

    def restore(self) -> None:
        for path, mode in self.modes.items():
            path.chmod(mode)

    def _chmod(self, path: Path, mode: int) -> None:
        self.modes.setdefault(path, path.stat().st_mode & 0o777)
        path.chmod(mode)

    def _denied(self, path, writing: bool) -> bool:
        try:
            where = Path(os.fsdecode(path)).resolve()
        except (TypeError, ValueError):
            return False
        if where in self.unreadable:
            return True
        return writing and any(where.is_relative_to(folder) for folder in self.read_only)

    def _refuse(self, path):
        raise PermissionError(13, "Permission denied", os.fsdecode(path))

    def _patch(self, unreadable=None, read_only=None) -> None:
        if unreadable:
            self.unreadable.append(unreadable)
        if read_only:
            self.read_only.append(read_only)
        if len(self.unreadable) + len(self.read_only) > 1:
            return
        real_open, real_os_open = builtins.open, os.open
        writes = os.O_WRONLY | os.O_RDWR | os.O_CREAT

        def fake_open(file, mode="r", *args, **kwargs):
            if not isinstance(file, int) and self._denied(file, any(c in mode for c in "wax+")):
                self._refuse(file)
            return real_open(file, mode, *args, **kwargs)

        def fake_os_open(path, flags, *args, **kwargs):
            if self._denied(path, bool(flags & writes)):
                self._refuse(path)
            return real_os_open(path, flags, *args, **kwargs)

        def guard(real, *which):
            def wrapper(*args, **kwargs):
                for index in which:
                    if self._denied(args[index], True):
                        self._refuse(args[index])
                return real(*args, **kwargs)
            return wrapper

        self.monkeypatch.setattr(builtins, "open", fake_open)
        self.monkeypatch.setattr(io, "open", fake_open)
        self.monkeypatch.setattr(os, "open", fake_os_open)
        self.monkeypatch.setattr(os, "mkdir", guard(os.mkdir, 0))
        self.monkeypatch.setattr(os, "replace", guard(os.replace, 0, 1))
        self.monkeypatch.setattr(os, "rename", guard(os.rename, 0, 1))
        self.monkeypatch.setattr(os, "unlink", guard(os.unlink, 0))


@pytest.fixture
def deny(monkeypatch):
    denied = Denied(monkeypatch)
    yield denied
    denied.restore()


def test_unreadable_cached_file_is_one_clear_error(cache, sample, deny, monkeypatch, capsys):
    """Loader, fetch, `download` and `list` on a cached file the user may not read (simulated as root)."""
    (cache / "sample").mkdir(parents=True)
    (cache / SAMPLE).write_bytes(PAYLOAD)
    monkeypatch.setitem(data.REGISTRY, "lifesat/lifesat.csv",
                        data.RemoteFile("lifesat/lifesat.csv", sha256(b"a,b\n1,2\n"), 8, (), "test"))
    (cache / "lifesat").mkdir()
    (cache / "lifesat" / "lifesat.csv").write_bytes(b"a,b\n1,2\n")
    deny.file(cache / SAMPLE)
    deny.file(cache / "lifesat" / "lifesat.csv")
    with pytest.raises(data.DataError) as info:
        data.fetch(SAMPLE)
    assert "cannot be checked or used" in str(info.value) and "permission denied" in str(info.value)
    with pytest.raises(data.DataError, match="lifesat/lifesat.csv .* is unreadable"):
        data.load_lifesat()
    capsys.readouterr()
    assert data.main(["download", SAMPLE, "lifesat/lifesat.csv"]) == 1
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err and "PermissionError" not in err
    assert f"{SAMPLE}, lifesat/lifesat.csv" in err
    assert data.main(["list"]) == 0
    assert "unreadable (permission denied)" in capsys.readouterr().out


def test_read_only_cache_with_archive_not_extracted(cache, tmp_path, deny, monkeypatch, capsys):
    """The archive is cached and valid, the cache is read-only (simulated as root): one DataError."""
    register_housing(monkeypatch, tmp_path)
    data.fetch("housing.tgz")
    monkeypatch.delenv("COURSE_DATA_MIRROR")
    deny.folder(cache)
    with pytest.raises(data.DataError) as info:
        data.load_housing()
    message = str(info.value)
    assert message.startswith(f"Cannot write to the course's data cache {cache} (permission denied), "
                              f"so housing.tgz cannot be extracted there.")
    assert "COURSE_DATA_DIR" in message and "COURSE_DATA_MIRROR" not in message
    assert data.main(["download", "housing"]) == 1
    assert "Traceback" not in capsys.readouterr().err
    assert leftovers(cache) == [cache / "housing.tgz"] and work_files(cache) == []


def test_read_only_cache_with_a_mirror_does_not_blame_the_mirror(server, cache, sample, deny, monkeypatch):
    monkeypatch.setenv("COURSE_DATA_MIRROR", base(server, "ok"))
    cache.mkdir()
    deny.folder(cache)
    with pytest.raises(data.DataError) as info:
        data.fetch(SAMPLE)
    message = str(info.value)
    assert "Cannot write to the course's data cache" in message and "COURSE_DATA_DIR" in message
    assert "COURSE_DATA_MIRROR" not in message
    assert leftovers(cache) == []


def test_read_only_cache_that_is_complete_still_works(cache, tmp_path, deny, monkeypatch):
    register_housing(monkeypatch, tmp_path)
    data.load_housing()
    deny.folder(cache)
    assert len(data.load_housing()) == 100_000


def test_part_file_write_failure_is_one_clear_error(server, cache, sample, monkeypatch):
    """A cache folder that accepts the lock but not the download (e.g. a full disk)."""
    monkeypatch.setenv("COURSE_DATA_MIRROR", base(server, "ok"))
    real_open = os.open

    def full_disk(path, *args, **kwargs):
        if str(path).endswith(".part"):
            raise OSError(28, "No space left on device")
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", full_disk)
    with pytest.raises(data.DataError, match=r"\(no space left on device\), so sample/payload.bin cannot be stored"):
        data.fetch(SAMPLE)


def test_unexpected_errors_in_the_cli_are_one_paragraph(cache, monkeypatch, capsys):
    def broken(*args, **kwargs):
        raise RuntimeError("something odd")

    monkeypatch.setattr(data, "fetch", broken)
    assert data.main(["download", "lifesat/lifesat.csv"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("Unexpected error (RuntimeError: something odd).") and err.count("\n") == 1



def test_cached_and_extracted_files_follow_the_umask(cache, tmp_path, monkeypatch):
    """A classroom cache must be readable by other users: no 0600 files or 0700 folders."""
    register_archive(monkeypatch, tmp_path, "flat.tgz", make_tgz({"a.csv": b"a\n"}))  # no top folder
    previous = os.umask(0o022)
    try:
        folder = data.extract("flat.tgz")
    finally:
        os.umask(previous)
    for path in (cache / "flat.tgz", folder, folder / "a.csv"):
        assert path.stat().st_mode & 0o777 in (0o644, 0o755), path
