"""Safe, atomic extraction of the course's ``.tgz`` archives, with a manifest to verify them.

The course's archives hold only regular files and folders. :func:`check_members` enforces
that with the course's own rules, independent of the Python patch release (whose ``tarfile``
filters differ from one release to the next): any other member type (symbolic or hard link,
device, FIFO) and any name that would leave the target folder (absolute, ``..``, a drive
letter) is refused before anything is written.

:func:`extract_atomically` unpacks into a temporary folder beside the target and renames it
into place, so a reader never sees a half-extracted folder. It records the SHA-256 of every
extracted file in a small manifest (:data:`MANIFEST`) inside the folder;
:func:`extraction_problem` compares the files with it, so an edited or deleted file is noticed.
Callers serialize extraction across processes (``helpers.data`` holds a file lock).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import shutil
import tarfile
from pathlib import Path, PurePosixPath

#: The manifest written inside every extracted folder.
MANIFEST = ".extracted.json"
#: What :func:`extraction_problem` says of a folder without a manifest (e.g. extracted by hand).
NO_MANIFEST = "its manifest is missing"
#: Suffixes of the temporary folders; leftovers of a killed process are removed by :func:`remove_leftovers`.
WORK_SUFFIXES = (".extracting", ".old")

_DRIVE = re.compile(r"^[A-Za-z]:")


class UnsafeArchive(ValueError):
    """An archive member that the course refuses to extract; the message starts with "Refused"."""


def sha256_of(path: Path) -> str:
    """The SHA-256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while block := stream.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _kind(member: tarfile.TarInfo) -> str:
    if member.issym():
        return "a symbolic link"
    if member.islnk():
        return "a hard link"
    if member.ischr() or member.isblk():
        return "a device file"
    if member.isfifo():
        return "a FIFO"
    return "a special member"


def _relative_parts(name: str) -> tuple[str, ...] | None:
    """The member's path as clean parts, or None when it would leave the target folder."""
    unified = name.replace("\\", "/")
    if unified.startswith("/") or _DRIVE.match(unified) or "\x00" in unified:
        return None
    parts = tuple(p for p in unified.split("/") if p not in ("", "."))
    if ".." in parts:
        return None
    return parts


def check_members(archive: tarfile.TarFile, label: str) -> list[tuple[tarfile.TarInfo, tuple[str, ...]]]:
    """Every member with its clean path parts; raise :class:`UnsafeArchive` on the first bad one."""
    checked, files = [], set()
    for member in archive.getmembers():
        if not (member.isreg() or member.isdir()):
            raise UnsafeArchive(
                f"Refused to extract {label}: member '{member.name}' is {_kind(member)}; the course's "
                f"archives hold only regular files and folders, so nothing was extracted."
            )
        parts = _relative_parts(member.name)
        if parts is None:
            raise UnsafeArchive(
                f"Refused to extract {label}: member '{member.name}' would be written outside the "
                f"target folder (absolute path, drive letter or '..'), so nothing was extracted."
            )
        if member.isreg():
            if not parts or parts in files:
                raise UnsafeArchive(
                    f"Refused to extract {label}: member '{member.name}' is empty or appears twice, "
                    f"so nothing was extracted."
                )
            files.add(parts)
        checked.append((member, parts))
    for parts in files:
        clash = next((parts[:i] for i in range(1, len(parts)) if parts[:i] in files), None)
        if clash:
            raise UnsafeArchive(
                f"Refused to extract {label}: member {'/'.join(parts)!r} lies inside "
                f"{'/'.join(clash)!r}, which is a file, so nothing was extracted."
            )
    return checked


def _unpack(archive: tarfile.TarFile, members, into: Path) -> dict[str, str]:
    """Write the checked members under ``into``; return ``{relative path: sha256}`` of the files."""
    hashes = {}
    for member, parts in members:
        target = into.joinpath(*parts)
        if member.isdir():
            target.mkdir(parents=True, exist_ok=True)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        source = archive.extractfile(member)
        with source, open(target, "xb") as out:
            while block := source.read(1 << 20):
                digest.update(block)
                out.write(block)
        hashes[str(PurePosixPath(*parts))] = digest.hexdigest()
    return hashes


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def remove_leftovers(dest: Path) -> None:
    """Remove temporary folders of earlier extractions into ``dest`` (call under the lock)."""
    if not dest.parent.is_dir():
        return
    for path in dest.parent.iterdir():
        if path.name.startswith(f".{dest.name}.") and path.name.endswith(WORK_SUFFIXES):
            _remove(path)


def _new_work_folder(dest: Path) -> Path:
    """Create ``.NAME.RANDOM.extracting`` beside ``dest`` (permissions as the umask says)."""
    while True:
        work = dest.with_name(f".{dest.name}.{secrets.token_hex(4)}.extracting")
        try:
            work.mkdir()
            return work
        except FileExistsError:
            continue


def extract_atomically(archive_path: Path, dest: Path, label: str, archive_sha256: str) -> None:
    """Extract ``archive_path`` to ``dest`` (replacing it), all or nothing.

    When every member lies in one top folder named like ``dest`` (``housing/...`` for
    ``housing/``), that folder becomes ``dest``. Raises :class:`UnsafeArchive` before
    writing anything, or ``OSError`` (e.g. a read-only cache) with nothing left behind.
    """
    with tarfile.open(archive_path) as archive:
        members = check_members(archive, label)
        work = _new_work_folder(dest)
        old = None
        try:
            hashes = _unpack(archive, members, work)
            content = work
            if all(parts[0] == dest.name and len(parts) > 1 for m, parts in members if m.isreg()) and hashes:
                content = work / dest.name
                hashes = {k.split("/", 1)[1]: v for k, v in hashes.items()}
            manifest = {"archive": label, "archive_sha256": archive_sha256, "files": hashes}
            (content / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True), encoding="utf-8")
            if dest.exists() or dest.is_symlink():
                old = dest.with_name(f".{dest.name}.{work.name.split('.')[-2]}.old")
                os.replace(dest, old)
            os.replace(content, dest)
        finally:
            _remove(work)
            if old is not None:
                _remove(old)


def extraction_problem(dest: Path, archive_sha256: str) -> str | None:
    """None when ``dest`` holds exactly what was extracted; otherwise what is wrong with it."""
    if not dest.is_dir():
        return "not extracted"
    try:
        manifest = json.loads((dest / MANIFEST).read_text(encoding="utf-8"))
        files = manifest["files"]
    except FileNotFoundError:
        return NO_MANIFEST
    except (OSError, ValueError, KeyError, TypeError):
        return "its manifest is unreadable"
    if manifest.get("archive_sha256") != archive_sha256:
        return "it comes from another version of the archive"
    for relative, expected in files.items():
        try:
            actual = sha256_of(dest / relative)
        except FileNotFoundError:
            return f"{relative} is missing"
        except OSError:
            return f"{relative} cannot be read"
        if actual != expected:
            return f"{relative} was changed after extraction"
    return None
