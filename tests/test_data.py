"""The data layer against a loopback HTTP server: every way a download can go wrong."""

from __future__ import annotations

import hashlib
import http.server
import io
import os
import subprocess
import sys
import tarfile
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from helpers import data

ROOT = Path(__file__).resolve().parent.parent
MIRROR = ROOT.parent / "shared" / "datasets"
PAYLOAD = np.random.default_rng(0).bytes(300_000)
SAMPLE = "sample/payload.bin"


def sha256(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


class Handler(http.server.BaseHTTPRequestHandler):
    """Serves PAYLOAD under /<behaviour>/<registry path>; the behaviour picks the failure.

    Bodies are framed as most servers do, with a Content-Length; behaviours starting with
    ``nolength`` answer in HTTP/1.0 without one (the body ends when the connection closes) and
    those starting with ``chunked`` in HTTP/1.1 with chunked transfer encoding. A behaviour
    ending in ``truncated`` sends a third of the body, then closes the connection.
    """

    hits: dict[str, int] = {}

    def log_message(self, *args):  # keep the test output clean
        pass

    def do_GET(self):
        behaviour = self.path.strip("/").split("/", 1)[0]
        Handler.hits[behaviour] = Handler.hits.get(behaviour, 0) + 1
        body = self.server.files.get(self.path.split("/", 2)[-1], PAYLOAD)
        if behaviour == "missing":
            self.send_error(404, "Not Found")
            return
        if behaviour == "flaky" and Handler.hits[behaviour] == 1:
            self.send_error(503, "Service Unavailable")
            return
        if behaviour == "wrong":
            body = body[::-1]
        framing = behaviour.split("-")[0] if behaviour.startswith(("nolength", "chunked")) else "length"
        if framing == "chunked":
            self.protocol_version = "HTTP/1.1"
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        if framing == "length":
            self.send_header("Content-Length", str(len(body)))
        elif framing == "chunked":
            self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        if behaviour == "stall":  # 64 KiB, then silence (until the fixture ends)
            self.wfile.write(body[:65536])
            self.wfile.flush()
            self.server.release.wait(60)
            return
        if behaviour.endswith("truncated"):
            body = body[: len(body) // 3]
        chunk = 50_000
        for start in range(0, len(body), chunk):
            piece = body[start : start + chunk]
            self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece) if framing == "chunked" else piece)
            if behaviour == "slow":
                time.sleep(0.05)
        if framing == "chunked" and not behaviour.endswith("truncated"):
            self.wfile.write(b"0\r\n\r\n")  # the last chunk: the body is complete
        self.wfile.flush()
        self.close_connection = True


@pytest.fixture(scope="module")
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.files = {}
    httpd.release = threading.Event()
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.release.set()
    httpd.shutdown()


@pytest.fixture
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("COURSE_DATA_DIR", str(folder))
    monkeypatch.delenv("COURSE_DATA_MIRROR", raising=False)
    monkeypatch.setattr(data, "RETRIES", 1)
    return folder


def closed_port_url() -> str:
    """A loopback URL where nothing listens: connecting fails at once, as offline."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


@pytest.fixture
def sample(monkeypatch):
    """Register SAMPLE (PAYLOAD) whose canonical URL is unreachable."""
    entry = data.RemoteFile(SAMPLE, sha256(PAYLOAD), len(PAYLOAD), (closed_port_url() + SAMPLE,), "test")
    monkeypatch.setitem(data.REGISTRY, SAMPLE, entry)
    return entry


def base(server, behaviour: str) -> str:
    return f"http://127.0.0.1:{server.server_port}/{behaviour}"


def leftovers(folder: Path) -> list[Path]:
    """Files under ``folder``, except the lock files (which stay, empty, in ``.locks/``)."""
    if not folder.exists():
        return []
    return sorted(p for p in folder.rglob("*") if p.is_file() and ".locks" not in p.relative_to(folder).parts)


def test_fetch_from_http_mirror_verifies_and_caches(server, cache, sample, monkeypatch, capfd):
    monkeypatch.setenv("COURSE_DATA_MIRROR", base(server, "ok"))
    path = data.fetch(SAMPLE)
    assert path == cache / SAMPLE and path.read_bytes() == PAYLOAD
    assert "%" in capfd.readouterr().err  # the progress bar
    hits = Handler.hits.get("ok", 0)
    assert data.fetch(SAMPLE) == path and Handler.hits.get("ok", 0) == hits  # served from cache


def test_http_404_is_a_clear_error_and_leaves_nothing(server, cache, sample, monkeypatch):
    monkeypatch.setenv("COURSE_DATA_MIRROR", base(server, "missing"))
    with pytest.raises(data.DataError) as info:
        data.fetch(SAMPLE)
    message = str(info.value)
    assert "HTTP 404" in message and SAMPLE in message
    assert leftovers(cache) == []


# How a body is framed: its length announced (Content-Length), an HTTP/1.0 body that ends when
# the connection closes (no Content-Length), or HTTP/1.1 chunked transfer encoding.
FRAMINGS = {"with Content-Length": "ok", "without Content-Length": "nolength", "chunked": "chunked"}


@pytest.mark.parametrize("framing", FRAMINGS)
def test_every_framing_of_the_body_is_downloaded_with_a_byte_count(server, cache, sample, monkeypatch, capfd,
                                                                     framing):
    monkeypatch.setenv("COURSE_DATA_MIRROR", base(server, FRAMINGS[framing]))
    assert data.fetch(SAMPLE).read_bytes() == PAYLOAD
    bar = capfd.readouterr().err.split("\r")[-1]  # the bar's last state
    if framing == "with Content-Length":
        assert "100%" in bar and "300k/300k" in bar
    else:  # no total to show a percentage of: the bytes received (pooch alone would say 328k, 5 chunks)
        assert "%" not in bar and bar.startswith("300kB ")


@pytest.mark.parametrize("framing", FRAMINGS)
def test_truncated_body_is_detected_and_leaves_nothing(server, cache, sample, monkeypatch, framing):
    behaviour = "truncated" if framing == "with Content-Length" else f"{FRAMINGS[framing]}-truncated"
    monkeypatch.setenv("COURSE_DATA_MIRROR", base(server, behaviour))
    Handler.hits[behaviour] = 0
    with pytest.raises(data.DataError) as info:
        data.fetch(SAMPLE)
    message = str(info.value)
    assert "cut short" in message and f"{base(server, behaviour)}/{SAMPLE}" in message
    if framing == "without Content-Length":  # nothing but the size and the checksum can tell
        assert "100,000 of 300,000 bytes arrived (the SHA-256 checksum did not match)" in message
    assert Handler.hits[behaviour] == 1 + data.RETRIES  # a cut is transient: tried again
    assert leftovers(cache) == []


def test_checksum_mismatch_is_refused(server, cache, sample, monkeypatch):
    monkeypatch.setenv("COURSE_DATA_MIRROR", base(server, "wrong"))
    with pytest.raises(data.DataError, match="checksum"):
        data.fetch(SAMPLE)
    assert leftovers(cache) == []


def test_transient_server_error_is_retried(server, cache, sample, monkeypatch):
    monkeypatch.setenv("COURSE_DATA_MIRROR", base(server, "flaky"))
    Handler.hits["flaky"] = 0
    assert data.fetch(SAMPLE).read_bytes() == PAYLOAD
    assert Handler.hits["flaky"] == 2


def test_corrupted_cache_is_fetched_again(server, cache, sample, monkeypatch, capsys):
    monkeypatch.setenv("COURSE_DATA_MIRROR", base(server, "ok"))
    target = cache / SAMPLE
    target.parent.mkdir(parents=True)
    target.write_bytes(b"garbage")
    assert data.fetch(SAMPLE).read_bytes() == PAYLOAD
    assert "is corrupt (checksum mismatch); fetching it again" in capsys.readouterr().out
    assert leftovers(cache) == [target]


def test_local_folder_mirror_and_relative_path(cache, sample, tmp_path, monkeypatch):
    mirror = tmp_path / "mirror"
    (mirror / "sample").mkdir(parents=True)
    (mirror / SAMPLE).write_bytes(PAYLOAD)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COURSE_DATA_MIRROR", "mirror")
    assert data.fetch(SAMPLE).read_bytes() == PAYLOAD


def test_offline_without_mirror_explains_what_to_do(cache, sample):
    with pytest.raises(data.DataError) as info:
        data.fetch(SAMPLE)
    message = str(info.value)
    assert SAMPLE in message and sample.urls[0] in message
    assert "COURSE_DATA_MIRROR" in message and "could not connect" in message
    assert leftovers(cache) == []


def test_unknown_name_lists_the_registry(cache):
    with pytest.raises(data.DataError, match="housing.tgz"):
        data.fetch("no/such/file.csv")


def offline_env(tmp_path) -> dict:
    """An environment where every HTTP(S) request goes to a closed loopback port."""
    env = {k: v for k, v in os.environ.items() if k not in ("COURSE_DATA_MIRROR",)}
    proxy = closed_port_url().rstrip("/")
    env.update(COURSE_DATA_DIR=str(tmp_path / "empty-cache"), HTTP_PROXY=proxy, HTTPS_PROXY=proxy,
               http_proxy=proxy, https_proxy=proxy, NO_PROXY="", no_proxy="")
    return env


def test_load_housing_offline_fails_with_one_paragraph(tmp_path):
    result = subprocess.run([sys.executable, "-c", "from helpers.data import load_housing; load_housing()"],
                            capture_output=True, text=True, env=offline_env(tmp_path), timeout=120)
    assert result.returncode != 0
    assert "DataError" in result.stderr and "COURSE_DATA_MIRROR" in result.stderr
    assert "urllib3" not in result.stderr and "requests" not in result.stderr.split("DataError")[0]
    assert len(result.stderr.splitlines()) < 25
    last = result.stderr.strip().splitlines()[-1]  # the whole message is this one paragraph
    assert last.startswith("helpers.data.DataError: Could not get the dataset file 'housing.tgz'. Tried ")
    assert "could not connect" in last and "download --all" in last
    assert leftovers(tmp_path / "empty-cache") == []


def test_cli_download_offline_lists_every_url_tried_in_full(tmp_path):
    result = subprocess.run([sys.executable, "-m", "helpers.data", "download", "lifesat"],
                            capture_output=True, text=True, env=offline_env(tmp_path), timeout=120)
    assert result.returncode == 1
    assert "COURSE_DATA_MIRROR" in result.stderr and "Traceback" not in result.stderr
    lifesat = [e.urls[0] for path, e in data.REGISTRY.items() if path.startswith("lifesat/")]
    assert len(lifesat) == 3 and all(url.startswith("https://github.com/") for url in lifesat)
    listed = [line.strip() for line in result.stderr.splitlines() if line.startswith("    ")]
    assert listed == lifesat  # one per line, whole, as a firewall exception needs them


def test_cli_list_shows_registry_and_packaged():
    result = subprocess.run([sys.executable, "-m", "helpers.data", "list"], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0
    assert all(path in result.stdout for path in data.REGISTRY)
    assert "penguins" in result.stdout and "iris" in result.stdout


def make_tgz(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, raw in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(raw)
            archive.addfile(info, io.BytesIO(raw))
    return buffer.getvalue()


def register_archive(monkeypatch, tmp_path, name, raw):
    mirror = tmp_path / "mirror"
    mirror.mkdir(exist_ok=True)
    (mirror / name).write_bytes(raw)
    monkeypatch.setitem(data.REGISTRY, name, data.RemoteFile(name, sha256(raw), len(raw), (), "test"))
    monkeypatch.setenv("COURSE_DATA_MIRROR", str(mirror))


def test_archive_is_extracted_once(cache, tmp_path, monkeypatch):
    register_archive(monkeypatch, tmp_path, "good.tgz", make_tgz({"good/a.csv": b"x,y\n1,2\n"}))
    folder = data.extract("good.tgz")
    assert (folder / "a.csv").read_bytes() == b"x,y\n1,2\n"
    stamp = (folder / "a.csv").stat().st_mtime_ns
    assert data.extract("good.tgz") == folder and (folder / "a.csv").stat().st_mtime_ns == stamp
    assert leftovers(cache) == [cache / "good" / ".extracted.json", cache / "good" / "a.csv", cache / "good.tgz"]


def test_archive_member_escaping_the_target_is_refused(cache, tmp_path, monkeypatch):
    register_archive(monkeypatch, tmp_path, "evil.tgz", make_tgz({"evil/ok.txt": b"ok", "../../escaped.txt": b"pwned"}))
    with pytest.raises(data.DataError, match="Refused"):
        data.extract("evil.tgz")
    assert not list(tmp_path.rglob("escaped.txt"))
    assert not (cache / "evil").exists()


FETCH_IN_CHILD = """
import sys
from helpers import data
entry = data.RemoteFile(sys.argv[1], sys.argv[2], 0, (), "test")
data.REGISTRY[entry.path] = entry
print(data.fetch(entry.path, progress=False))
"""


def test_two_processes_fetching_the_same_file_both_succeed(server, cache, tmp_path):
    env = dict(os.environ, COURSE_DATA_DIR=str(cache), COURSE_DATA_MIRROR=base(server, "slow"))
    children = [subprocess.Popen([sys.executable, "-c", FETCH_IN_CHILD, SAMPLE, sha256(PAYLOAD)],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
                for _ in range(2)]
    outputs = [child.communicate(timeout=120) for child in children]
    assert [child.returncode for child in children] == [0, 0], outputs
    assert (cache / SAMPLE).read_bytes() == PAYLOAD
    assert leftovers(cache) == [cache / SAMPLE]  # no temporary file left behind


# --------------------------------------------------------------------------- the real registry


needs_mirror = pytest.mark.skipif(not MIRROR.is_dir(), reason="the offline mirror ../shared/datasets is absent")


@needs_mirror
def test_registry_matches_the_mirror_manifest():
    rows = [line.split("\t") for line in (MIRROR / "MANIFEST.tsv").read_text().splitlines()[1:] if line.strip()]
    manifest = {row[0]: (row[1], int(row[2]), row[3]) for row in rows}
    registry = {p: (e.sha256, e.size, e.urls[0]) for p, e in data.REGISTRY.items()}
    assert registry == manifest


@needs_mirror
@pytest.mark.parametrize("framing", ["without Content-Length", "chunked"])
def test_every_registry_file_comes_through_a_server_that_announces_no_length(server, cache, monkeypatch,
                                                                              framing):
    """The whole mirror (MNIST's 60,000 images included) served as many proxies and small servers do."""
    files = {path: (MIRROR / path).read_bytes() for path in data.REGISTRY}
    monkeypatch.setattr(server, "files", files)
    monkeypatch.setenv("COURSE_DATA_MIRROR", base(server, FRAMINGS[framing]))
    for path, raw in files.items():
        assert data.fetch(path, progress=False).read_bytes() == raw, path


def test_datasets_readme_documents_every_file():
    readme = (ROOT / "datasets" / "README.md").read_text(encoding="utf-8")
    for path, entry in data.REGISTRY.items():
        assert path in readme and entry.sha256 in readme, path


@needs_mirror
def test_loaders_from_the_mirror_quick_mode(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("COURSE_DATA_MIRROR", str(MIRROR))
    monkeypatch.setenv("COURSE_QUICK", "1")
    housing = data.load_housing()
    assert housing.shape == (20640, 10) and housing["total_bedrooms"].isna().sum() == 207
    assert data.load_lifesat().shape == (27, 3)
    train, test = data.load_titanic()
    assert len(train) == 891 and "Survived" in train and "Survived" not in test
    (X_train, y_train), (X_test, y_test) = data.load_mnist()
    assert X_train.shape == (8000, 784) and X_test.shape == (2000, 784) and X_train.dtype == np.uint8
    assert set(np.unique(y_train)) == set(range(10))
    assert not (tmp_path / "mnist" / "train-images-idx3-ubyte.gz").exists()
    assert data.load_mnist(flatten=False)[0][0].shape == (8000, 28, 28)
    assert data.load_image("ladybug").shape[2] == 3
    assert len(data.load_penguins()) == 344


def write_idx(path: Path, array: np.ndarray) -> Path:
    import gzip

    header = bytes([0, 0, 8, array.ndim]) + b"".join(n.to_bytes(4, "big") for n in array.shape)
    with gzip.open(path, "wb") as stream:
        stream.write(header + array.astype(np.uint8).tobytes())
    return path


@pytest.mark.parametrize("quick", [True, False])
def test_mnist_reads_training_images_only_in_full_mode(tmp_path, monkeypatch, quick):
    monkeypatch.setenv("COURSE_QUICK", "1" if quick else "0")
    images = write_idx(tmp_path / "images.gz", np.arange(5 * 28 * 28).reshape(5, 28, 28) % 256)
    labels = write_idx(tmp_path / "labels.gz", np.array([3, 1, 4, 1, 5]))
    asked = []

    def fake_fetch(name, progress=True):
        asked.append(name)
        return images if "images" in name else labels

    monkeypatch.setattr(data, "fetch", fake_fetch)
    monkeypatch.setattr(data, "MNIST_QUICK_TRAIN", 3)
    (X_train, y_train), (X_test, y_test) = data.load_mnist()
    assert X_train.shape[1] == 784 and y_train.dtype == np.int64
    assert ("mnist/train-images-idx3-ubyte.gz" in asked) is not quick
    if quick:
        assert list(y_train) == [3, 1, 4] and list(y_test) == [1, 5]
    else:
        assert len(X_train) == len(X_test) == 5
