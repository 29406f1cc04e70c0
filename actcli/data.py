"""Datasets: where the IDX files come from, and how they are split.

`mnist` is looked for in this order: (1) the data folder (`--data-dir`, else $ACTCLI_DATA_DIR, else
the user's cache folder), flat, in a `mnist/` folder, or in torchvision's `MNIST/raw/` layout; (2) a download from
torchvision's mirrors, MD5-checked, into that folder's `MNIST/raw/` (skipped offline); (3) the
bundled sample, with a notice. A folder that holds the files but broken ones is an error, never a
silent fallback. `fashion-mnist` is looked for in the data folder, then where Debian's
`dataset-fashion-mnist` installs it, then downloaded. `mnist-sample` is the bundled 5,000 digits.
"""

from __future__ import annotations

import hashlib
import os
import socket
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from .errors import DataError, UsageProblem
from .files import atomic_open
from .idx import read_images_and_labels

SPLITS = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
          "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}
SAMPLE_DIR = Path(__file__).resolve().parent / "samples" / "mnist-sample"
CONNECT_TIMEOUT = 5.0  # seconds; a mirror that does not answer by then is skipped


@dataclass(frozen=True)
class Source:
    """Where one dataset's four files can come from."""

    name: str
    torchvision_dir: str                      # torchvision's folder name: <root>/<it>/raw/
    mirrors: tuple[str, ...] = ()
    md5: dict[str, str] = field(default_factory=dict)  # of the .gz files the mirrors serve
    system_dirs: tuple[str, ...] = ()


SOURCES = {
    "mnist": Source(
        "mnist", "MNIST",
        mirrors=("https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/"),
        md5={"train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
             "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
             "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
             "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c"}),
    "fashion-mnist": Source(
        "fashion-mnist", "FashionMNIST",
        mirrors=("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
        md5={"train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
             "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
             "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
             "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310"},
        system_dirs=("/usr/share/datasets/fashion-mnist",)),
}
DATASETS = ("mnist", "mnist-sample", "fashion-mnist")


@dataclass
class Dataset:
    """A dataset as loaded: uint8 images (N×28×28) and labels, and where they came from."""

    name: str
    source: str
    train_x: np.ndarray
    train_y: np.ndarray
    test_x: np.ndarray
    test_y: np.ndarray


DownloadProgress = Callable[[str, int, int | None], None]  # (file name, bytes so far, total bytes or None)


def default_data_dir() -> Path:
    if os.environ.get("ACTCLI_DATA_DIR"):
        return Path(os.environ["ACTCLI_DATA_DIR"]).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "actcli"


def offline_by_default() -> bool:
    return os.environ.get("ACTCLI_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


def _file_in(folder: Path, stem: str) -> Path | None:
    for name in (stem, stem + ".gz"):
        if (folder / name).is_file():
            return folder / name
    return None


def find_files(folder: Path) -> dict[str, tuple[Path, Path]] | None:
    """The four files in `folder`, or None if it holds none of them; partial sets are an error."""
    found = {stem: _file_in(folder, stem) for pair in SPLITS.values() for stem in pair}
    if not any(found.values()):
        return None
    missing = [stem for stem, path in found.items() if path is None]
    if missing:
        raise DataError(f"{folder} holds some IDX files but not {', '.join(missing)}")
    return {split: (found[images], found[labels]) for split, (images, labels) in SPLITS.items()}


def read_folder(name: str, folder: Path, source: str) -> Dataset | None:
    files = find_files(folder)
    if files is None:
        return None
    (tri, trl), (tei, tel) = files["train"], files["test"]
    train_x, train_y = read_images_and_labels(tri, trl)
    test_x, test_y = read_images_and_labels(tei, tel)
    return Dataset(name, source, train_x, train_y, test_x, test_y)


def candidate_folders(source: Source, data_dir: Path) -> list[Path]:
    return [data_dir, data_dir / source.torchvision_dir / "raw", data_dir / source.name,
            *map(Path, source.system_dirs)]


def _md5(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class DownloadError(DataError):
    """A download that failed; `reason` is the short why, for a one-line notice."""

    def __init__(self, message: str, reason: str | None = None):
        super().__init__(message)
        self.reason = reason or message


def download_file(url: str, dest: Path, md5: str, progress: DownloadProgress | None = None,
                  timeout: float = CONNECT_TIMEOUT) -> Path:
    """`url` to `dest`, through a temporary name that is renamed only once the MD5 matches."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, atomic_open(dest) as out:
            total = int(response.headers.get("Content-Length") or 0) or None
            done, digest = 0, hashlib.md5(usedforsecurity=False)
            for block in iter(lambda: response.read(1 << 16), b""):
                out.write(block)
                digest.update(block)
                done += len(block)
                if progress:
                    progress(dest.name, done, total)
            if digest.hexdigest() != md5:
                raise DownloadError(f"{url}: checksum mismatch (MD5 {digest.hexdigest()}, expected {md5}); "
                                    "the file was discarded", "checksum mismatch")
    except DownloadError:
        raise
    except (urllib.error.URLError, socket.timeout, ConnectionError, OSError) as exc:
        reason = str(getattr(exc, "reason", exc))
        raise DownloadError(f"{url}: {reason}", reason) from exc
    return dest


def download(source: Source, folder: Path, progress: DownloadProgress | None = None,
             timeout: float = CONNECT_TIMEOUT) -> Path:
    """All four files of `source` into `folder`, each from the first mirror that serves it intact."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, md5 in source.md5.items():
        target = folder / name
        if target.is_file() and _md5(target) == md5:
            continue
        errors: list[DownloadError] = []
        for mirror in source.mirrors:
            try:
                download_file(mirror + name, target, md5, progress, timeout)
                break
            except DownloadError as exc:
                errors.append(exc)
        else:
            raise DownloadError("; ".join(map(str, errors)) or f"no mirror for {name}",
                                errors[-1].reason if errors else "no mirror")
    return folder


def load(name: str, data_dir: str | os.PathLike | None = None, offline: bool | None = None,
         progress: DownloadProgress | None = None, notice: Callable[[str], None] | None = None) -> Dataset:
    """The dataset `name`, found as the module docstring says."""
    if name not in DATASETS:
        raise UsageProblem(f"unknown dataset {name!r} (choices: {', '.join(DATASETS)})")
    if name == "mnist-sample":
        return _sample()
    source = SOURCES[name]
    data_dir = Path(data_dir).expanduser() if data_dir else default_data_dir()
    offline = offline_by_default() if offline is None else offline
    for folder in candidate_folders(source, data_dir):
        found = read_folder(name, folder, str(folder))
        if found is not None:
            return found
    target = data_dir / source.torchvision_dir / "raw"
    if not offline:
        try:
            download(source, target, progress)
            return read_folder(name, target, f"downloaded to {target}")
        except DownloadError as exc:
            reason = f"the download failed ({exc.reason})"
    else:
        reason = "offline"
    if name == "mnist":
        if notice:
            notice(f"MNIST not found in {data_dir} and {reason}: using the bundled sample "
                   "(5,000 real MNIST digits)")
        return _sample()
    raise DataError(f"{name} not found in {data_dir} (nor {', '.join(source.system_dirs)}) and {reason}; "
                    f"put its IDX files in {data_dir}, or install Debian's dataset-fashion-mnist")


def _sample() -> Dataset:
    sample = read_folder("mnist-sample", SAMPLE_DIR, "bundled sample")
    if sample is None:  # pragma: no cover - a broken installation
        raise DataError(f"the bundled sample is missing from {SAMPLE_DIR}")
    return sample


@dataclass
class Split:
    """Training, validation and test sets: the validation set is held out of the training data."""

    train_x: np.ndarray
    train_y: np.ndarray
    val_x: np.ndarray
    val_y: np.ndarray
    test_x: np.ndarray
    test_y: np.ndarray

    def sizes(self) -> dict[str, int]:
        return {"train": len(self.train_y), "val": len(self.val_y), "test": len(self.test_y)}


def split(data: Dataset, val_fraction: float = 0.1, limit: int | None = None, seed: int = 0) -> Split:
    """Hold out `val_fraction` of the training images for validation (a seeded, fixed draw);
    keep at most `limit` of the rest for training. The test set is left as it is."""
    n = len(data.train_y)
    order = np.random.default_rng(seed).permutation(n)
    n_val = int(round(n * val_fraction))
    val, train = order[:n_val], order[n_val:]
    if limit is not None:
        train = train[:limit]
    if len(train) == 0:
        raise UsageProblem(f"no training images left ({n} in {data.name}, {n_val} held out for validation)")
    return Split(data.train_x[train], data.train_y[train], data.train_x[val],
                 data.train_y[val], data.test_x, data.test_y)

