"""The course's datasets: a registry of checksummed files, a safe fetcher, and loaders.

Files are looked for in this order:

1. the cache (``COURSE_DATA_DIR``, by default the repository's ``datasets/`` folder);
2. the mirror named by ``COURSE_DATA_MIRROR`` (a folder or an http(s) base URL laid out
   like the registry), for classrooms without internet;
3. the canonical URL(s).

Every file's SHA-256 is checked before it is used. Downloads go through pooch, which
shows a progress bar, writes to a temporary file and renames it only once the checksum
matches, so a failed download never leaves a partial file behind.

Command line::

    python -m helpers.data list
    python -m helpers.data download --all          # prefetch everything for offline use
    python -m helpers.data download housing.tgz mnist
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import logging
import os
import shutil
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pooch

from helpers import env

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

#: How many times a download is retried after a network error or a checksum mismatch.
RETRIES = 2
#: Seconds without data before a download is abandoned.
TIMEOUT = 30


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
    """A dataset could not be provided. The message says why and what to do."""

    def _render_traceback_(self):  # IPython shows this instead of a traceback
        return [f"{type(self).__name__}: {self}"]


class _PermanentHTTPError(Exception):
    """An HTTP error that retrying will not fix (404 and other 4xx answers)."""


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
    """The mirror from ``COURSE_DATA_MIRROR``: a URL string, a local folder, or None."""
    value = os.environ.get("COURSE_DATA_MIRROR", "").strip()
    if not value:
        return None
    if value.startswith(("http://", "https://")):
        return value.rstrip("/") + "/"
    if value.startswith("file://"):
        value = value[len("file://") :]
    path = Path(value).expanduser()
    if not path.is_absolute() and not path.is_dir():
        # A relative mirror is usually given from the repository root; notebooks run
        # from notebooks/, so resolve it against the project root as well.
        root = env.project_root()
        if root is not None and (root / path).is_dir():
            path = root / path
    return path.resolve()


def _sources(entry: RemoteFile) -> list[str]:
    mirror = _mirror()
    sources = []
    if isinstance(mirror, Path):
        sources.append(str(mirror / entry.path))
    elif mirror:
        sources.append(mirror + entry.path)
    sources.extend(entry.urls)
    return sources


# --------------------------------------------------------------------------- fetching


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _copy_local(url: str, output_file, pooch_obj) -> None:
    """A pooch downloader that copies a file from a local mirror folder."""
    source = Path(url)
    if not source.is_file():
        raise FileNotFoundError(f"not in the mirror folder ({source.parent})")
    with open(source, "rb") as src:
        if isinstance(output_file, str | Path):
            with open(output_file, "wb") as dst:
                shutil.copyfileobj(src, dst)
        else:
            shutil.copyfileobj(src, output_file)


def _http(progress: bool):
    download = pooch.HTTPDownloader(progressbar=progress, timeout=TIMEOUT)

    def downloader(url, output_file, pooch_obj):
        import requests

        try:
            download(url, output_file, pooch_obj)
        except requests.exceptions.HTTPError as exc:
            status = exc.response.status_code if exc.response is not None else None
            if status is not None and 400 <= status < 500:
                raise _PermanentHTTPError(f"HTTP {status} {exc.response.reason}") from None
            raise

    return downloader


def _explain(exc: BaseException) -> str:
    """A short, human reason for a failed download."""
    import requests

    if isinstance(exc, _PermanentHTTPError | FileNotFoundError):
        return str(exc)
    if isinstance(exc, requests.exceptions.HTTPError) and exc.response is not None:
        return f"HTTP {exc.response.status_code} {exc.response.reason}"
    if isinstance(exc, requests.exceptions.ChunkedEncodingError | requests.exceptions.ContentDecodingError):
        return "the download was cut short (truncated body)"
    if isinstance(exc, requests.exceptions.Timeout):
        return f"no answer within {TIMEOUT} s"
    if isinstance(exc, requests.exceptions.ConnectionError):
        return "could not connect (no network, or the host is unreachable)"
    if isinstance(exc, ValueError) and "hash" in str(exc).lower():
        return "the file's SHA-256 checksum did not match the registry (corrupted or wrong file)"
    return f"{type(exc).__name__}: {exc}"


def fetch(name: str, *, progress: bool = True) -> Path:
    """Return the local path of registry file ``name``, downloading it if needed.

    A cached file whose checksum does not match is fetched again. Raises
    :class:`DataError` with a readable explanation when no source can provide the file.
    """
    entry = REGISTRY.get(name)
    if entry is None:
        known = ", ".join(sorted(REGISTRY))
        raise DataError(f"'{name}' is not in the course's dataset registry. Known files: {known}.")
    cache = data_dir()
    target = cache / entry.path
    if target.is_file():
        if _sha256(target) == entry.sha256:
            return target
        print(f"The cached copy of {entry.path} is corrupted (checksum mismatch); fetching it again.")

    pooch.get_logger().setLevel(logging.WARNING)
    failures = []
    for source in _sources(entry):
        is_local = not source.startswith(("http://", "https://"))
        store = pooch.create(
            path=cache,
            base_url="",
            registry={entry.path: f"sha256:{entry.sha256}"},
            urls={entry.path: source},
            retry_if_failed=0 if is_local else RETRIES,
        )
        downloader = _copy_local if is_local else _http(progress)
        try:
            if not is_local:
                print(f"Downloading {entry.path} ({entry.size / 1e6:.1f} MB) from {source}")
            return Path(store.fetch(entry.path, downloader=downloader))
        except Exception as exc:  # noqa: BLE001 - every failure is reported below
            failures.append(f"  - {source}: {_explain(exc)}")

    tried = "\n".join(failures)
    mirror_state = (
        f"COURSE_DATA_MIRROR is set to '{os.environ['COURSE_DATA_MIRROR']}'."
        if os.environ.get("COURSE_DATA_MIRROR")
        else "COURSE_DATA_MIRROR is not set."
    )
    raise DataError(
        f"Could not get the dataset file '{entry.path}'. Tried:\n{tried}\n"
        f"{mirror_state} To work offline, set COURSE_DATA_MIRROR to a folder or http(s) URL "
        f"laid out like the course registry (for example a copy of an instructor's datasets/ "
        f"folder), or prefetch while online with `python -m helpers.data download --all`. "
        f"Nothing was written to {cache}."
    )


def _check_members(archive: tarfile.TarFile, dest: Path) -> None:
    """Refuse members that would land outside ``dest`` (Python < 3.11.4 has no tar filters)."""
    root = dest.resolve()
    for member in archive.getmembers():
        where = (root / member.name).resolve()
        if member.issym() or member.islnk() or not where.is_relative_to(root):
            raise tarfile.FilterError(f"unsafe member {member.name!r}")


def extract(name: str) -> Path:
    """Fetch archive ``name`` (a ``.tgz``) and extract it once; return the extracted folder.

    Members that would escape the target folder (absolute paths, ``..``, links) are refused.
    Extraction happens in a temporary folder that is renamed into place when complete.
    """
    archive_path = fetch(name)
    stem = Path(name).name.split(".")[0]
    dest = archive_path.parent / stem
    marker = dest / ".extracted"
    if marker.is_file() and marker.read_text() == REGISTRY[name].sha256:
        return dest
    tmp = Path(tempfile.mkdtemp(prefix=f".{stem}-", dir=archive_path.parent))
    try:
        with tarfile.open(archive_path) as archive:
            try:
                if hasattr(tarfile, "data_filter"):
                    archive.extractall(tmp, filter="data")
                else:
                    _check_members(archive, tmp)
                    archive.extractall(tmp)
            except tarfile.FilterError as exc:
                raise DataError(
                    f"Refused to extract {name}: {exc}. A member would be written outside "
                    f"the target folder, so the archive is unsafe and nothing was extracted."
                ) from None
        content = tmp / stem if (tmp / stem).is_dir() else tmp
        (content / ".extracted").write_text(REGISTRY[name].sha256)
        if dest.exists():
            shutil.rmtree(dest)
        try:
            os.replace(content, dest)
        except OSError:
            if not marker.is_file():  # another process may have just finished the same work
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return dest


# --------------------------------------------------------------------------- loaders


def load_lifesat():
    """Life satisfaction and GDP per capita of 27 OECD countries (2015), as a DataFrame."""
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


def _cmd_list() -> int:
    cache = data_dir()
    print(f"Cache: {cache}")
    print(f"Mirror: {os.environ.get('COURSE_DATA_MIRROR') or '(none: set COURSE_DATA_MIRROR)'}\n")
    width = max(map(len, REGISTRY))
    for path, entry in REGISTRY.items():
        cached = (cache / path).is_file()
        print(f"{path:<{width}}  {entry.size / 1e6:6.2f} MB  {'cached' if cached else '      '}  {entry.source}")
    print("\nShipped with installed packages (nothing to download):")
    for name, call in PACKAGED.items():
        print(f"  {name:<11} {call}")
    return 0


def _cmd_download(names: list[str], everything: bool) -> int:
    targets = list(REGISTRY) if everything else _select(names)
    failed = 0
    for path in targets:
        try:
            local = fetch(path)
            print(f"ok      {path}  ({_sha256(local)[:12]}…)")
        except DataError as exc:
            failed += 1
            print(f"FAILED  {path}\n{exc}\n", file=sys.stderr)
    print(f"{len(targets) - failed} of {len(targets)} files ready in {data_dir()}.")
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m helpers.data", description="The course's datasets.")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="list the registry and what is cached")
    download = commands.add_parser("download", help="fetch files and verify their checksums")
    download.add_argument("names", nargs="*", help="registry paths or groups (e.g. mnist, housing)")
    download.add_argument("--all", action="store_true", help="fetch every file of the registry")
    args = parser.parse_args(argv)
    try:
        if args.command == "list":
            return _cmd_list()
        if not args.names and not args.all:
            parser.error("name one or more files, or use --all")
        return _cmd_download(args.names, args.all)
    except DataError as exc:
        print(exc, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
