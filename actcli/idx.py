"""The IDX format of MNIST and Fashion-MNIST (gzip or raw), read with every header field checked.

    magic: 0x00 0x00 type ndim  (type 0x08 = uint8; ndim 3 for images → 2051, 1 for labels → 2049)
    ndim big-endian uint32 sizes, then the data, row-major
"""

from __future__ import annotations

import gzip
import os
import struct
from pathlib import Path

import numpy as np

from .errors import DataError

IMAGES_MAGIC = 2051  # uint8, 3 dimensions
LABELS_MAGIC = 2049  # uint8, 1 dimension
GZIP_MAGIC = b"\x1f\x8b"


def _read_bytes(path: Path) -> bytes:
    try:
        with open(path, "rb") as handle:
            head = handle.read(2)
            handle.seek(0)
            return gzip.decompress(handle.read()) if head == GZIP_MAGIC else handle.read()
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise DataError(f"{path}: cannot read it ({exc})") from exc


def read_idx(path: str | os.PathLike, expect_magic: int) -> np.ndarray:
    """The array in an IDX file; DataError naming the file if anything does not add up."""
    path = Path(path)
    data = _read_bytes(path)
    if len(data) < 4:
        raise DataError(f"{path}: truncated: {len(data)} bytes, not even a header")
    (magic,) = struct.unpack(">I", data[:4])
    if magic != expect_magic:
        kind = "images" if expect_magic == IMAGES_MAGIC else "labels"
        raise DataError(f"{path}: bad magic number {magic} (IDX {kind} files start with {expect_magic})")
    ndim = magic & 0xFF
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataError(f"{path}: truncated header")
    shape = struct.unpack(f">{ndim}I", data[4:header])
    expected = header + int(np.prod(shape))
    if len(data) != expected:
        what = "truncated" if len(data) < expected else "longer than its header says"
        raise DataError(f"{path}: {what}: {len(data)} bytes, header {shape} needs {expected}")
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape)


def read_images_and_labels(images: str | os.PathLike, labels: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """(N×28×28 uint8 images, N uint8 labels in 0–9), their counts checked against each other."""
    x = read_idx(images, IMAGES_MAGIC)
    y = read_idx(labels, LABELS_MAGIC)
    if x.shape[1:] != (28, 28):
        raise DataError(f"{images}: images are {x.shape[1]}×{x.shape[2]}, expected 28×28")
    if len(x) != len(y):
        raise DataError(f"{images} holds {len(x)} images but {labels} holds {len(y)} labels")
    if len(y) and y.max() > 9:
        raise DataError(f"{labels}: label {int(y.max())} at index {int(np.argmax(y > 9))} is outside 0–9")
    return x, y


def encode_idx(array: np.ndarray) -> bytes:
    """The IDX bytes of a uint8 array (1 or 3 dimensions)."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    magic = 0x0800 | array.ndim
    return struct.pack(f">I{array.ndim}I", magic, *array.shape) + array.tobytes()


def write_idx(path: str | os.PathLike, array: np.ndarray) -> None:
    """Write `array` as IDX, gzip-compressed when the name ends in .gz."""
    data = encode_idx(array)
    path = Path(path)
    path.write_bytes(gzip.compress(data, mtime=0) if path.suffix == ".gz" else data)
