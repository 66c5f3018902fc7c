"""The course's datasets: a registry of checksummed files, a safe fetcher, and loaders.

Files are looked for in this order:

1. the cache (``COURSE_DATA_DIR``, by default the repository's ``datasets/`` folder);
2. the mirror named by ``COURSE_DATA_MIRROR`` (a folder, a ``file://`` URL or an http(s)
   base URL laid out like the registry), for classrooms without internet;
3. the canonical URL(s).

A file is used only when its SHA-256 matches the registry, and an archive's extracted files
only when they match the manifest written at extraction (see :mod:`helpers.archives`).
Whatever goes into the cache is written under a per-file lock (``filelock``; the lock files
live in the cache's ``.locks/`` folder) to a temporary ``.NAME.RANDOM.part`` file that is
renamed into place once its checksum matches; the next fetch of the same file removes the
leftovers of a process that was killed. Downloads go through pooch's HTTP downloader (with
a progress bar of the bytes received, so that a body without ``Content-Length``, close-delimited
or chunked, downloads like any other, and one cut short is caught by its size or checksum), give
up after :data:`TIMEOUT` seconds without data, and retry transient failures :data:`RETRIES`
times. Every failure is a :class:`DataError` whose message is one paragraph: the file, what was
tried, and what to do (the command line then lists every URL tried, in full).

Command line::

    python -m helpers.data list                 # each file's state: ok, missing, corrupt, ...
    python -m helpers.data download --all       # prefetch (and extract) everything
    python -m helpers.data download housing.tgz mnist
"""

from __future__ import annotations

import argparse
import errno
import gzip
import hashlib
import os
import secrets
import shutil
import sys
import tarfile
import time
import urllib.parse
import urllib.request
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import filelock
import numpy as np
import pooch

from helpers import archives, env

__all__ = [
    "REGISTRY",
    "PACKAGED",
    "DataError",
    "fetch",
    "extract",
    "data_dir",
    "load_lifesat",
    "load_lifesat_raw",
    "load_housing",
    "load_titanic",
    "load_mnist",
    "load_penguins",
    "load_image",
]

#: Extra attempts after a transient failure (HTTP 5xx, dropped connection, truncated body,
#: checksum mismatch). A timeout or a failure to connect moves on to the next source at once.
RETRIES = 2
#: Seconds without data (while connecting, or between two chunks) before a download is abandoned.
TIMEOUT = 30
#: Seconds to wait for another process that is fetching or extracting the same file.
LOCK_TIMEOUT = 600
#: Seconds during which a host that could not be reached is not tried again (so that fetching
#: ten files from a firewalled network waits for one timeout per host, not one per file).
HOST_MEMORY = 60

_PART = ".part"
_unreachable_hosts: dict[str, tuple[float, str]] = {}  # host -> (when, why)


@dataclass(frozen=True)
class RemoteFile:
    """One file of the registry: where it lives and what it must hash to."""

    path: str
    sha256: str
    size: int
    urls: tuple[str, ...]
    source: str


_AGERON = "https://github.com/ageron/data/raw/main/"
_MNIST = "https://storage.googleapis.com/cvdf-datasets/mnist/"

REGISTRY: dict[str, RemoteFile] = {
    f.path: f
    for f in [
        RemoteFile(
            "housing.tgz",
            "354f441b3af4eb54e07818501dafc9b0865162d85a24769d754238acedc82ae1",
            449115,
            (_AGERON + "housing.tgz",),
            "California housing, 1990 census (StatLib; Pace & Barry 1997), modified: "
            "207 total_bedrooms removed, ocean_proximity added",
        ),
        RemoteFile(
            "titanic.tgz",
            "2cf3e0d11fb9f7f1b7601277f7922fcc9765ba9213c8c63e71bc578a04012350",
            31988,
            (_AGERON + "titanic.tgz",),
            "Titanic passengers, train.csv/test.csv (Kaggle competition split)",
        ),
        RemoteFile(
            "lifesat/lifesat.csv",
            "e247f7f6c19b0d8c55fb2af293f4fb3b710e31476534ad8e9b7e06ea546a2099",
            840,
            (_AGERON + "lifesat/lifesat.csv",),
            "OECD Better Life Index life satisfaction + World Bank GDP per capita (PPP, 2020), "
            "27 countries with GDP between $23,500 and $62,500",
        ),
        RemoteFile(
            "lifesat/oecd_bli.csv",
            "01bd5eef552a04968cf8cd042194959ea44839fe3e201d9979f743894d38cc1b",
            277204,
            (_AGERON + "lifesat/oecd_bli.csv",),
            "OECD Better Life Index (raw export)",
        ),
        RemoteFile(
            "lifesat/gdp_per_capita.csv",
            "a5d5d68203aec4853ef7499605bf5074f7a22848c4805558c4097e1afb4f9469",
            269463,
            (_AGERON + "lifesat/gdp_per_capita.csv",),
            "GDP per capita, World Bank (raw export)",
        ),
        RemoteFile(
            "mnist/train-images-idx3-ubyte.gz",
            "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
            9912422,
            (_MNIST + "train-images-idx3-ubyte.gz",),
            "MNIST (LeCun, Cortes, Burges), CC BY-SA 3.0: 60,000 training images",
        ),
        RemoteFile(
            "mnist/train-labels-idx1-ubyte.gz",
            "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
            28881,
            (_MNIST + "train-labels-idx1-ubyte.gz",),
            "MNIST (LeCun, Cortes, Burges), CC BY-SA 3.0: training labels",
        ),
        RemoteFile(
            "mnist/t10k-images-idx3-ubyte.gz",
            "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
            1648877,
            (_MNIST + "t10k-images-idx3-ubyte.gz",),
            "MNIST (LeCun, Cortes, Burges), CC BY-SA 3.0: 10,000 test images",
        ),
        RemoteFile(
            "mnist/t10k-labels-idx1-ubyte.gz",
            "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
            4542,
            (_MNIST + "t10k-labels-idx1-ubyte.gz",),
            "MNIST (LeCun, Cortes, Burges), CC BY-SA 3.0: test labels",
        ),
        RemoteFile(
            "images/ladybug.png",
            "786f9c4c369c00e1f24e08f90adf0c3febd6778b322baeea7712f3f0d7df1f59",
            574025,
            ("https://github.com/ageron/handson-ml3/raw/main/images/unsupervised_learning/ladybug.png",),
            "Sample photo used for colour segmentation with k-means",
        ),
    ]
}

#: Datasets that ship inside installed packages: nothing to download.
PACKAGED: dict[str, str] = {
    "iris": "sklearn.datasets.load_iris()",
    "wine": "sklearn.datasets.load_wine()",
    "digits": "sklearn.datasets.load_digits()",
    "moons": "sklearn.datasets.make_moons(...)",
    "swiss roll": "sklearn.datasets.make_swiss_roll(...)",
    "penguins": "palmerpenguins.load_penguins()  (helpers.data.load_penguins)",
}

# Quick mode reads only the official 10k MNIST test files and splits them in two.
MNIST_QUICK_TRAIN = 8_000


class DataError(RuntimeError):
    """A dataset could not be provided. The message (one paragraph) says why and what to do.

    ``files`` names the registry files concerned and ``kind`` the sort of failure
    (``"unreachable"``, ``"unwritable"``, ``"unreadable"``, ``"refused"``, ``"busy"``, ...).
    The command line uses them, with ``attempts`` (``(source, group, reason)`` triples) and
    ``template`` (the message with ``{files}`` in place of the names), to merge the failures
    of several files into one paragraph.
    """

    def __init__(self, message: str, *, files=(), kind: str = "other", attempts=(), template: str = ""):
        super().__init__(message)
        self.files = tuple(files)
        self.kind = kind
        self.attempts = tuple(attempts)
        self.template = template

    def _render_traceback_(self):  # IPython shows this instead of a traceback
        return [f"{type(self).__name__}: {self}"]


def _names(files) -> str:
    return ", ".join(files)


def _error(template: str, files, kind: str) -> DataError:
    """A DataError from ``template``: ``{files}`` becomes "a, b", ``{args}`` becomes "a b"."""
    message = template.replace("{files}", _names(files)).replace("{args}", " ".join(files))
    return DataError(message, files=files, kind=kind, template=template)


class _CannotWrite(Exception):
    """Writing into the cache failed (permission, read-only file system, full disk)."""

    def __init__(self, error: OSError):
        super().__init__(str(error))
        self.error = error


def _reason(error: OSError) -> str:
    return (error.strerror or str(error)).lower()


def _unwritable(folder: Path, error: OSError, files, doing: str = "stored") -> DataError:
    if error.errno == errno.ENOSPC:
        advice = "Free some disk space, or set COURSE_DATA_DIR to a folder on a disk with room"
    else:
        advice = (f"Set COURSE_DATA_DIR to a folder you can write to (for example ~/course-data), or ask "
                  f"whoever owns {folder} to run `python -m helpers.data download {{args}}` there")
    return _error(
        f"Cannot write to the course's data cache {folder} ({_reason(error)}), so {{files}} cannot be "
        f"{doing} there. {advice}, then try again. No partial file was kept.",
        files,
        "unwritable",
    )


# --------------------------------------------------------------------------- locations


def data_dir() -> Path:
    """Where downloaded files are cached (``COURSE_DATA_DIR``, else ``datasets/``)."""
    configured = os.environ.get("COURSE_DATA_DIR")
    if configured:
        return Path(configured).expanduser().resolve()
    root = env.project_root()
    if root is not None:
        return root / "datasets"
    return Path(pooch.os_cache(env.PROJECT_NAME))


def _mirror() -> str | Path | None:
    """The mirror from ``COURSE_DATA_MIRROR``: an http(s) base URL, a local folder, or None.

    ``file://`` URLs are decoded (``%20``, ``%C3%BC``); ``file://localhost/path`` is ``/path``.
    """
    value = os.environ.get("COURSE_DATA_MIRROR", "").strip()
    if not value:
        return None
    if value.lower().startswith(("http://", "https://")):
        return value.rstrip("/") + "/"
    if value.lower().startswith("file:"):
        parts = urllib.parse.urlsplit(value)
        if parts.netloc not in ("", "localhost"):
            raise DataError(
                f"COURSE_DATA_MIRROR is set to '{value}', a file:// URL on another machine "
                f"({parts.netloc}). Use a folder path, file:///absolute/path or an http(s) URL.",
                kind="mirror",
            )
        value = urllib.request.url2pathname(parts.path)
    path = Path(value).expanduser()
    if not path.is_absolute() and not path.is_dir():
        # A relative mirror is usually given from the repository root; notebooks run
        # from notebooks/, so resolve it against the project root as well.
        root = env.project_root()
        if root is not None and (root / path).is_dir():
            path = root / path
    return path.resolve()


@dataclass(frozen=True)
class _Source:
    """One place to get a file from: ``where`` is shown to the reader, ``group`` names the
    place independently of the file (a mirror or a host), for merged messages."""

    where: str
    group: str
    mirror_folder: Path | None = None
    local: Path | None = None


def _sources(entry: RemoteFile) -> list[_Source]:
    mirror = _mirror()
    sources = []
    if isinstance(mirror, Path):
        local = mirror / entry.path
        sources.append(_Source(str(local), f"the mirror folder {mirror}", mirror, local))
    elif mirror:
        sources.append(_Source(mirror + entry.path, f"the mirror {mirror}"))
    sources.extend(_Source(url, urllib.parse.urlsplit(url).netloc) for url in entry.urls)
    return sources


def _entry(name: str) -> RemoteFile:
    entry = REGISTRY.get(name)
    if entry is None:
        known = ", ".join(sorted(REGISTRY))
        raise DataError(
            f"'{name}' is not in the course's dataset registry. Known files: {known}.",
            files=(name,),
            kind="unknown",
        )
    return entry


# --------------------------------------------------------------------------- cache state and locks


def _file_state(target: Path, entry: RemoteFile) -> str:
    """``ok``, ``missing``, ``corrupt (...)`` or ``unreadable (...)``: what the cache holds."""
    try:
        if target.stat().st_size == 0:
            return "corrupt (empty file)"
        matches = archives.sha256_of(target) == entry.sha256
    except FileNotFoundError:
        return "missing"
    except IsADirectoryError:
        return "corrupt (a folder, not a file)"
    except OSError as error:
        return f"unreadable ({_reason(error)})"
    return "ok" if matches else "corrupt (checksum mismatch)"


def _cannot_read(entry: RemoteFile, state: str) -> DataError:
    return _error(
        f"The cached copy of {{files}} in {data_dir()} is {state}, so it cannot be checked or used. "
        f"Make it readable for your user (for example `chmod u+r` on it) or delete it so that it is "
        f"fetched again, or set COURSE_DATA_DIR to a folder of your own.",
        (entry.path,),
        "unreadable",
    )


def _is_write_failure(error: OSError) -> bool:
    return isinstance(error, PermissionError) or error.errno in (errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOSPC)


@contextmanager
def _exclusive(key: str, files, doing: str):
    """Hold the cross-process lock ``.locks/KEY.lock`` of the cache while the block runs."""
    cache = data_dir()
    lock_path = cache / ".locks" / f"{key}.lock"
    lock = filelock.FileLock(str(lock_path))
    try:
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        try:
            lock.acquire(timeout=0)
        except filelock.Timeout:
            print(f"Waiting for another process that is working on {_names(files)} ...")
            lock.acquire(timeout=LOCK_TIMEOUT)
    except filelock.Timeout:
        raise _error(
            f"Gave up on {{files}}: another process has held its lock ({lock_path}) for "
            f"{LOCK_TIMEOUT} s. Let that process finish or stop it, then try again.",
            files,
            "busy",
        ) from None
    except OSError as error:
        if _is_write_failure(error):
            raise _unwritable(cache, error, files, doing) from None
        raise
    try:
        yield
    finally:
        lock.release()


def _remove_stale_parts(target: Path) -> None:
    """Delete temporary files of earlier fetches of ``target`` (only ever called under its lock)."""
    for path in target.parent.iterdir():
        if path.name.startswith(f".{target.name}.") and path.name.endswith(_PART):
            path.unlink(missing_ok=True)


# --------------------------------------------------------------------------- downloading


class _Progress:
    """The object pooch's downloader reports to. It announces the download and shows a tqdm
    bar only once the server has answered, so offline attempts print nothing.

    The bar counts the bytes actually written to ``out``: pooch reports whole chunk sizes and,
    at the end, resets the bar to the announced length, which is 0 when the server sends no
    ``Content-Length`` (a close-delimited or chunked body). Without a length, or when more
    arrives than was announced (a compressed transfer), the bar counts bytes with no total.
    """

    def __init__(self, label: str, out, bar: bool):
        self.label, self.out, self.want_bar, self.bar = label, out, bar, None

    @property
    def total(self):
        return None if self.bar is None else self.bar.total

    @total.setter
    def total(self, value):
        print(f"Downloading {self.label}")
        if self.want_bar:
            from tqdm import tqdm

            self.bar = tqdm(total=value or None, ncols=79, unit="B", unit_scale=True, leave=True)

    def update(self, n):
        if self.bar is None:
            return
        written = self.out.tell()
        if self.bar.total is not None and written > self.bar.total:
            self.bar.total = None
        self.bar.update(written - self.bar.n)

    def reset(self):
        """Ignored: the bar already shows the bytes written."""

    def close(self):
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _explain(error: BaseException, received: int) -> tuple[str, bool]:
    """A short reason for a failed HTTP download, and whether trying again may help."""
    import requests
    import urllib3

    if isinstance(error, requests.exceptions.HTTPError) and error.response is not None:
        status = error.response.status_code
        return f"HTTP {status} {error.response.reason}", status >= 500 or status in (408, 429)
    if isinstance(error, requests.exceptions.ConnectTimeout):
        return f"timed out: no connection within {TIMEOUT:g} s", False
    if isinstance(error, requests.exceptions.ReadTimeout):
        return f"timed out: no answer within {TIMEOUT:g} s", False
    if isinstance(error, requests.exceptions.ChunkedEncodingError | requests.exceptions.ContentDecodingError):
        return "the download was cut short (truncated body)", True
    if isinstance(error, requests.exceptions.ConnectionError):
        inner = error.args[0] if error.args else None
        if isinstance(inner, urllib3.exceptions.ReadTimeoutError):
            return (
                f"timed out: the server stopped sending after {received / 1024:.0f} KiB "
                f"(no data for {TIMEOUT:g} s)",
                False,
            )
        if isinstance(inner, urllib3.exceptions.MaxRetryError):
            return "could not connect (no network, or the host is unreachable)", False
        return "the connection was dropped", True
    if isinstance(error, requests.exceptions.RequestException):
        return f"{type(error).__name__}: {error}", False
    if isinstance(error, OSError):  # writing the temporary file failed
        raise _CannotWrite(error) from None
    return f"{type(error).__name__}: {error}", False


def _megabytes(size: int) -> str:
    return f"{size / 1e6:.1f} MB" if size >= 100_000 else f"{size / 1e3:.0f} kB"


def _stream_sha256(stream) -> str:
    stream.flush()
    stream.seek(0)
    digest = hashlib.sha256()
    while block := stream.read(1 << 20):
        digest.update(block)
    return digest.hexdigest()


_MISMATCH = "the file's SHA-256 checksum did not match the registry (corrupted or wrong file)"


def _download_into(url: str, out, entry: RemoteFile, progress: bool) -> str | None:
    """Download ``url`` into the open file ``out``; None on success, else why it failed."""
    size = f" ({_megabytes(entry.size)})" if entry.size else ""
    host = urllib.parse.urlsplit(url).netloc
    when, reason = _unreachable_hosts.get(host, (-HOST_MEMORY, None))
    if time.monotonic() - when < HOST_MEMORY:
        return reason
    for attempt in range(1 + max(RETRIES, 0)):
        if attempt:
            print(f"  {reason}; trying again ({attempt} of {RETRIES})")
            time.sleep(min(2 ** (attempt - 1), 4))
        out.seek(0)
        out.truncate()
        bar = _Progress(f"{entry.path}{size} from {url}", out, progress)
        download = pooch.HTTPDownloader(progressbar=bar, timeout=TIMEOUT, chunk_size=1 << 16)
        try:
            download(url, out, None)
        except Exception as error:  # noqa: BLE001 - classified below
            bar.close()
            reason, transient = _explain(error, out.tell())
        else:
            _unreachable_hosts.pop(host, None)
            if _stream_sha256(out) == entry.sha256:
                return None
            reason, transient = _MISMATCH, True
            received = out.tell()
            if 0 < entry.size and received < entry.size:  # e.g. a body without Content-Length, cut off
                reason = (f"the download was cut short: {received:,} of {entry.size:,} bytes arrived "
                          f"(the SHA-256 checksum did not match)")
        if reason.startswith(("could not connect", "timed out: no connection")):
            _unreachable_hosts[host] = (time.monotonic(), reason)
        if not transient:
            break
    return reason


def _copy_into(source: _Source, out, entry: RemoteFile) -> str | None:
    """Copy the file from a mirror folder into ``out``; None on success, else why it failed."""
    if not source.mirror_folder.is_dir():
        return f"the mirror folder {source.mirror_folder} does not exist"
    try:
        stream = open(source.local, "rb")
    except FileNotFoundError:
        return f"not in the mirror folder {source.mirror_folder}"
    except OSError as error:
        return f"cannot read it ({_reason(error)})"
    with stream:
        try:
            shutil.copyfileobj(stream, out, 1 << 20)
        except OSError as error:
            raise _CannotWrite(error) from None
    return None if _stream_sha256(out) == entry.sha256 else _MISMATCH


def _new_part(target: Path) -> tuple[int, Path]:
    """Create ``.NAME.RANDOM.part`` beside ``target`` (permissions as the umask says, unlike mkstemp)."""
    while True:
        part = target.with_name(f".{target.name}.{secrets.token_hex(4)}{_PART}")
        try:
            return os.open(part, os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666), part
        except FileExistsError:
            continue


def _try_source(source: _Source, entry: RemoteFile, target: Path, progress: bool) -> str | None:
    """Fetch ``entry`` from one source into ``target``; None on success, else why it failed."""
    try:
        handle, part = _new_part(target)
    except OSError as error:
        raise _CannotWrite(error) from None
    try:
        with os.fdopen(handle, "w+b") as out:
            if source.local is not None:
                reason = _copy_into(source, out, entry)
            else:
                reason = _download_into(source.where, out, entry, progress)
        if reason is None:
            try:
                os.replace(part, target)
            except OSError as error:
                raise _CannotWrite(error) from None
        return reason
    finally:
        with suppress(OSError):
            part.unlink(missing_ok=True)


def _unreachable(files, attempts, *, cli: bool = False) -> DataError:
    """No source could provide ``files``: what was tried and what to do.

    In a notebook (one file) that is one paragraph. The command line adds, after its paragraph,
    every URL or mirror path tried, in full and grouped by why it failed, one per line, so that
    an instructor can ask for exactly those addresses to be let through a firewall.
    """
    mirror = os.environ.get("COURSE_DATA_MIRROR", "").strip()
    layout = ("a folder or http(s) URL laid out like the course registry (for example a copy of an "
              "instructor's datasets/ folder)")
    if mirror:
        advice = f"COURSE_DATA_MIRROR is set to '{mirror}'; check that it is {layout}"
    else:
        advice = f"COURSE_DATA_MIRROR is not set. To work offline, set it to {layout}"
    if not cli and len(files) == 1:
        tried = "; ".join(f"{where}: {reason}" for where, _, reason in attempts)
        return DataError(
            f"Could not get the dataset file '{files[0]}'. Tried {tried}. {advice}, or prefetch while "
            f"online with `python -m helpers.data download --all`. No partial file was kept.",
            files=files,
            kind="unreachable",
            attempts=attempts,
        )
    subject = f"Could not get {_names(files)}." if len(files) == 1 else (
        f"Could not get these {len(files)} files: {_names(files)}."
    )
    by_reason: dict[str, list[tuple[str, str]]] = {}
    for where, group, reason in attempts:
        places = by_reason.setdefault(reason, [])
        if (where, group) not in places:
            places.append((where, group))
    lines = ["Tried:"]
    for reason, places in by_reason.items():
        if any(group in reason for _, group in places):  # "the mirror folder X does not exist"
            lines.append(f"  {reason}")
        else:
            lines.append(f"  {reason}:")
            lines.extend(f"    {where}" for where, _ in places)
    return DataError(
        f"{subject} {advice}, then run this command again. No partial file was kept.\n" + "\n".join(lines),
        files=files,
        kind="unreachable",
        attempts=attempts,
    )


def fetch(name: str, *, progress: bool = True) -> Path:
    """Return the local path of registry file ``name``, downloading it if needed.

    A cached file whose checksum does not match is fetched again. Raises
    :class:`DataError` with a readable explanation when no source can provide the file.
    """
    entry = _entry(name)
    target = data_dir() / entry.path
    state = _file_state(target, entry)
    if state == "ok":
        return target
    if state.startswith("unreadable"):
        raise _cannot_read(entry, state)
    with _exclusive(entry.path, (entry.path,), "stored"):
        state = _file_state(target, entry)  # another process may have fetched it meanwhile
        if state == "ok":
            return target
        if state.startswith("unreadable"):
            raise _cannot_read(entry, state)
        if state != "missing":
            print(f"The cached copy of {entry.path} is {state}; fetching it again.")
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            _remove_stale_parts(target)
        except OSError as error:
            raise _unwritable(data_dir(), error, (entry.path,)) from None
        attempts = []
        for source in _sources(entry):
            try:
                reason = _try_source(source, entry, target, progress)
            except _CannotWrite as failure:
                raise _unwritable(data_dir(), failure.error, (entry.path,)) from None
            if reason is None:
                return target
            attempts.append((source.where, source.group, reason))
        raise _unreachable((entry.path,), attempts)


def _extraction_folder(archive: Path) -> Path:
    return archive.parent / archive.name.split(".")[0]


def extract(name: str) -> Path:
    """Fetch archive ``name`` (a ``.tgz``), extract it once, and return the extracted folder.

    The folder is used only while its files match the manifest written at extraction;
    otherwise (a file edited or deleted) it is extracted again. Extraction is atomic and
    serialized across processes; archives with anything but regular files and folders, or
    with members that would leave the folder, are refused (see :mod:`helpers.archives`).
    """
    entry = _entry(name)
    archive = fetch(name)
    dest = _extraction_folder(archive)
    if archives.extraction_problem(dest, entry.sha256) is None:
        return dest
    with _exclusive(f"{entry.path}.extract", (entry.path,), "extracted"):
        problem = archives.extraction_problem(dest, entry.sha256)
        if problem is None:
            return dest
        if problem not in ("not extracted", archives.NO_MANIFEST):  # the latter: an older course version
            print(f"The extracted copy of {name} is out of date ({problem}); extracting it again.")
        try:
            archives.remove_leftovers(dest)
            archives.extract_atomically(archive, dest, name, entry.sha256)
        except archives.UnsafeArchive as refusal:
            raise DataError(str(refusal), files=(name,), kind="refused") from None
        except tarfile.TarError as error:
            raise DataError(f"Could not read the archive {name} ({error}).", files=(name,)) from None
        except OSError as error:
            if _is_write_failure(error):
                raise _unwritable(dest.parent, error, (name,), "extracted") from None
            raise
    return dest


# --------------------------------------------------------------------------- loaders


def load_lifesat():
    """Life satisfaction and GDP per capita (2020, USD at purchasing power parity) of 27
    countries of the OECD's Better Life Index, as a DataFrame."""
    import pandas as pd

    return pd.read_csv(fetch("lifesat/lifesat.csv"))


def load_lifesat_raw():
    """The raw exports behind :func:`load_lifesat`: ``(oecd_bli, gdp_per_capita)`` DataFrames."""
    import pandas as pd

    oecd_bli = pd.read_csv(fetch("lifesat/oecd_bli.csv"))
    gdp_per_capita = pd.read_csv(fetch("lifesat/gdp_per_capita.csv"))
    return oecd_bli, gdp_per_capita


def load_housing():
    """California housing districts (20,640 rows, 10 columns), as a DataFrame."""
    import pandas as pd

    return pd.read_csv(extract("housing.tgz") / "housing.csv")


def load_titanic():
    """Titanic passengers: ``(train, test)`` DataFrames (the test set has no labels)."""
    import pandas as pd

    folder = extract("titanic.tgz")
    return pd.read_csv(folder / "train.csv"), pd.read_csv(folder / "test.csv")


def _read_idx(path: Path) -> np.ndarray:
    """Read an IDX file (the MNIST format): a big-endian header, then unsigned bytes."""
    with gzip.open(path, "rb") as stream:
        data = stream.read()
    ndim = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def load_mnist(flatten: bool = True):
    """MNIST digits as ``(X_train, y_train), (X_test, y_test)`` of uint8 arrays.

    Full mode: the official 60,000 training and 10,000 test images. Quick mode reads only
    the 10,000 official test images and splits them into 8,000 for training and 2,000 for
    testing. With ``flatten`` (the default) each image is a row of 784 pixels, otherwise
    a 28x28 array. Labels are integers 0-9.
    """
    X_test = _read_idx(fetch("mnist/t10k-images-idx3-ubyte.gz"))
    y_test = _read_idx(fetch("mnist/t10k-labels-idx1-ubyte.gz"))
    if env.is_quick():
        X_train, y_train = X_test[:MNIST_QUICK_TRAIN], y_test[:MNIST_QUICK_TRAIN]
        X_test, y_test = X_test[MNIST_QUICK_TRAIN:], y_test[MNIST_QUICK_TRAIN:]
    else:
        X_train = _read_idx(fetch("mnist/train-images-idx3-ubyte.gz"))
        y_train = _read_idx(fetch("mnist/train-labels-idx1-ubyte.gz"))
    if flatten:
        X_train = X_train.reshape(len(X_train), -1)
        X_test = X_test.reshape(len(X_test), -1)
    return (X_train, y_train.astype(np.int64)), (X_test, y_test.astype(np.int64))


def load_penguins():
    """Palmer penguins (344 rows), shipped inside the ``palmerpenguins`` package."""
    from palmerpenguins import load_penguins as _load

    return _load()


def load_image(name: str = "ladybug") -> np.ndarray:
    """An image of the registry (``images/NAME.png``) as a float array of shape (H, W, 3)."""
    import matplotlib.image

    path = name if name in REGISTRY else f"images/{name}.png"
    image = matplotlib.image.imread(fetch(path))
    return image[..., :3]


# --------------------------------------------------------------------------- command line


def _select(names: list[str]) -> list[str]:
    """Expand names: a registry path, or a folder/stem such as ``mnist`` or ``housing``."""
    chosen = []
    for name in names:
        matches = [p for p in REGISTRY if p == name or p.split("/")[0] == name or p.split(".")[0] == name]
        if not matches:
            raise DataError(f"'{name}' is not in the registry; run `python -m helpers.data list`.")
        chosen.extend(m for m in matches if m not in chosen)
    return chosen


def _state(path: str) -> str:
    """The state shown by ``list``: the cached file's, and for archives the extraction's."""
    entry = REGISTRY[path]
    target = data_dir() / path
    state = _file_state(target, entry)
    if state == "ok" and path.endswith(".tgz"):
        problem = archives.extraction_problem(_extraction_folder(target), entry.sha256)
        state = "ok, extracted" if problem is None else f"ok, {problem}"
    return state


def _cmd_list() -> int:
    print(f"Cache:  {data_dir()}")
    print(f"Mirror: {os.environ.get('COURSE_DATA_MIRROR') or '(none: set COURSE_DATA_MIRROR)'}\n")
    rows = [(path, f"{entry.size / 1e6:6.2f} MB", _state(path), entry.source) for path, entry in REGISTRY.items()]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)) + "  " + row[3])
    print("\nShipped with installed packages (nothing to download):")
    for name, call in PACKAGED.items():
        print(f"  {name:<11} {call}")
    return 0


def _merge(failures: list[DataError]) -> list[str]:
    """One paragraph per kind of failure, each naming all the files it concerns."""
    paragraphs, unreachable, groups = [], [], {}
    for failure in failures:
        if failure.kind == "unreachable":
            unreachable.append(failure)
        else:
            groups.setdefault(failure.template or str(failure), []).append(failure)
    if unreachable:
        files = [f for failure in unreachable for f in failure.files]
        attempts = [a for failure in unreachable for a in failure.attempts]
        paragraphs.append(str(_unreachable(files, attempts, cli=True)))
    for template, members in groups.items():
        if len(members) == 1 or "{files}" not in template:
            paragraphs.append(str(members[0]))
        else:
            paragraphs.append(str(_error(template, [f for m in members for f in m.files], members[0].kind)))
    return paragraphs


def _cmd_download(names: list[str], everything: bool) -> int:
    targets = list(REGISTRY) if everything else _select(names)
    failures = []
    for path in targets:
        try:
            fetch(path)
            if path.endswith(".tgz"):
                extract(path)
        except DataError as failure:
            failures.append(failure)
    ready = len(targets) - len(failures)
    print(f"{ready} of {len(targets)} files ready in {data_dir()} (checksums verified).", flush=True)
    if failures:
        print("\n\n".join(_merge(failures)), file=sys.stderr)
    return 1 if failures else 0


def main(argv: list[str] | None = None) -> int:
    """``python -m helpers.data``: every failure is one paragraph on stderr, never a traceback."""
    parser = argparse.ArgumentParser(prog="python -m helpers.data", description="The course's datasets.")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="list the registry and the state of each cached file")
    download = commands.add_parser("download", help="fetch (and extract) files, verifying their checksums")
    download.add_argument("names", nargs="*", help="registry paths or groups (e.g. mnist, housing)")
    download.add_argument("--all", action="store_true", help="fetch every file of the registry")
    args = parser.parse_args(argv)
    if args.command == "download" and not args.names and not args.all:
        parser.error("name one or more files, or use --all")
    try:
        if args.command == "list":
            return _cmd_list()
        return _cmd_download(args.names, args.all)
    except DataError as failure:
        print(failure, file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("Interrupted. No partial file was kept.", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the output went to a pager or `head` that has stopped reading
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as error:  # noqa: BLE001 - the command line reports, it does not crash
        print(f"Unexpected error ({type(error).__name__}: {error}). No partial file was kept; "
              f"please report this with the command you ran.", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
