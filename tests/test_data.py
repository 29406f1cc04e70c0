"""Dataset resolution: data folder, download (against a local HTTP server), bundled sample, splits."""

import contextlib
import hashlib
import http.server
import threading
from pathlib import Path

import numpy as np
import pytest

from actcli import data
from actcli.errors import DataError

from helpers import write_mnist_like

FASHION = Path("/usr/share/datasets/fashion-mnist")


def md5(path):
    return hashlib.md5(path.read_bytes()).hexdigest()


@contextlib.contextmanager
def serve(folder):
    """An HTTP server on 127.0.0.1 serving `folder`; yields (base URL, list of requested paths)."""
    requests = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a, **kw):
            super().__init__(*a, directory=str(folder), **kw)

        def log_message(self, *args):
            requests.append(self.path)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", requests
    finally:
        server.shutdown()
        server.server_close()


def closed_port_url():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/"  # nothing listens there now


@pytest.fixture
def served(tmp_path, monkeypatch):
    """Small IDX .gz files on a local server, and SOURCES['mnist'] pointed at it."""
    files = write_mnist_like(tmp_path / "server")

    def install(*mirrors, md5s=None):
        source = data.Source("mnist", "MNIST", mirrors=tuple(mirrors),
                             md5=md5s or {p.name: md5(p) for p in sorted(files.iterdir())})
        monkeypatch.setitem(data.SOURCES, "mnist", source)
        return source
    return files, install


def test_sample_is_bundled_and_real():
    d = data.load("mnist-sample")
    assert d.train_x.shape == (4000, 28, 28) and d.test_x.shape == (1000, 28, 28)
    assert d.train_x.dtype == np.uint8
    assert np.all(np.bincount(d.train_y) == 400) and np.all(np.bincount(d.test_y) == 100)
    assert d.source == "bundled sample"


def test_data_dir_flat_and_torchvision_layout(tmp_path):
    write_mnist_like(tmp_path / "flat")
    assert data.load("mnist", tmp_path / "flat").source == str(tmp_path / "flat")
    write_mnist_like(tmp_path / "tv" / "MNIST" / "raw", gz=False)
    d = data.load("mnist", tmp_path / "tv")
    assert d.source.endswith("MNIST/raw") and len(d.train_y) == 300


def test_env_data_dir(tmp_path, monkeypatch):
    write_mnist_like(tmp_path)
    monkeypatch.setenv("ACTCLI_DATA_DIR", str(tmp_path))
    assert data.load("mnist").source == str(tmp_path)


def test_broken_files_are_an_error_not_a_fallback(tmp_path):
    folder = write_mnist_like(tmp_path)
    (folder / "t10k-labels-idx1-ubyte.gz").write_bytes(b"\x1f\x8b broken")
    with pytest.raises(DataError, match="t10k-labels"):
        data.load("mnist", folder)


def test_partial_folder_is_an_error(tmp_path):
    folder = write_mnist_like(tmp_path)
    (folder / "train-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DataError, match="not train-labels-idx1-ubyte"):
        data.load("mnist", folder)


def test_offline_falls_back_to_the_sample_with_a_notice(tmp_path, served):
    files, install = served
    with serve(files) as (url, requests):
        install(url)
        notices = []
        d = data.load("mnist", tmp_path / "cache", offline=True, notice=notices.append)
        assert requests == []  # offline: not one request
    assert d.source == "bundled sample" and "offline" in notices[0] and "bundled sample" in notices[0]


def test_download_good_checksum(tmp_path, served):
    files, install = served
    with serve(files) as (url, requests):
        install(url)
        seen = []
        d = data.load("mnist", tmp_path / "cache", offline=False, progress=lambda *a: seen.append(a))
    raw = tmp_path / "cache" / "MNIST" / "raw"
    assert d.source == f"downloaded to {raw}" and len(d.train_y) == 300
    assert sorted(p.name for p in raw.iterdir()) == sorted(p.name for p in files.iterdir())  # no .part left
    assert len(requests) == 4 and seen and seen[-1][1] == seen[-1][2]
    # a second load finds the files: no request
    with serve(files) as (url, requests):
        install(url)
        data.load("mnist", tmp_path / "cache", offline=False)
        assert requests == []


def test_download_bad_checksum_is_rejected_and_removed(tmp_path, served):
    files, install = served
    with serve(files) as (url, _):
        install(url, md5s={p.name: "0" * 32 for p in files.iterdir()})
        notices = []
        d = data.load("mnist", tmp_path / "cache", offline=False, notice=notices.append)
    raw = tmp_path / "cache" / "MNIST" / "raw"
    assert d.source == "bundled sample"
    assert "checksum mismatch" in notices[0]
    assert list(raw.iterdir()) == []  # neither the bad file nor its temporary


def test_server_down_falls_back_to_the_next_mirror_then_the_sample(tmp_path, served):
    files, install = served
    with serve(files) as (url, _):
        install(closed_port_url(), url)
        assert data.load("mnist", tmp_path / "a", offline=False).source.startswith("downloaded")
    install(closed_port_url())
    notices = []
    d = data.load("mnist", tmp_path / "b", offline=False, notice=notices.append)
    assert d.source == "bundled sample" and "download failed" in notices[0]


def test_download_file_keeps_nothing_on_failure(tmp_path):
    with pytest.raises(data.DownloadError):
        data.download_file(closed_port_url() + "x.gz", tmp_path / "x.gz", "0" * 32)
    assert list(tmp_path.iterdir()) == []


def test_fashion_not_found_is_an_error(tmp_path, monkeypatch):
    monkeypatch.setitem(data.SOURCES, "fashion-mnist",
                        data.Source("fashion-mnist", "FashionMNIST", system_dirs=(str(tmp_path / "none"),)))
    with pytest.raises(DataError, match="dataset-fashion-mnist"):
        data.load("fashion-mnist", tmp_path, offline=True)


@pytest.mark.skipif(not FASHION.is_dir(), reason="Debian's dataset-fashion-mnist is not installed")
def test_fashion_mnist_from_debian(tmp_path):
    d = data.load("fashion-mnist", tmp_path / "empty", offline=True)
    assert d.source == str(FASHION)
    assert d.train_x.shape == (60000, 28, 28) and d.test_x.shape == (10000, 28, 28)
    assert np.all(np.bincount(d.train_y) == 6000) and np.all(np.bincount(d.test_y) == 1000)


def test_split_holds_validation_out_of_training():
    d = data.load("mnist-sample")
    s = data.split(d, 0.1)
    assert s.sizes() == {"train": 3600, "val": 400, "test": 1000}
    train_rows = {x.tobytes() for x in s.train_x}
    assert not any(x.tobytes() in train_rows for x in s.val_x)   # disjoint
    assert np.array_equal(s.test_x, d.test_x)                    # test untouched
    assert data.split(d, 0.1, limit=100).sizes()["train"] == 100
    assert np.array_equal(data.split(d).val_x, s.val_x)          # the same draw every time


def test_default_data_dir(monkeypatch, tmp_path):
    monkeypatch.delenv("ACTCLI_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert data.default_data_dir() == tmp_path / "actcli"
