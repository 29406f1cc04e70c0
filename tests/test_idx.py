"""The IDX reader on small synthetic files, good and broken."""

import gzip
import struct

import numpy as np
import pytest

from actcli.errors import DataError
from actcli.idx import IMAGES_MAGIC, LABELS_MAGIC, encode_idx, read_idx, read_images_and_labels, write_idx


@pytest.mark.parametrize("gz", [True, False])
def test_round_trip(tmp_path, gz):
    x = np.arange(2 * 28 * 28, dtype=np.uint8).reshape(2, 28, 28)
    y = np.array([3, 9], dtype=np.uint8)
    ext = ".gz" if gz else ""
    write_idx(tmp_path / f"i{ext}", x)
    write_idx(tmp_path / f"l{ext}", y)
    rx, ry = read_images_and_labels(tmp_path / f"i{ext}", tmp_path / f"l{ext}")
    assert np.array_equal(rx, x) and np.array_equal(ry, y)
    assert (tmp_path / f"i{ext}").read_bytes()[:2] == (b"\x1f\x8b" if gz else b"\x00\x00")


def test_header_is_the_idx_layout():
    data = encode_idx(np.zeros((5, 28, 28), np.uint8))
    assert struct.unpack(">IIII", data[:16]) == (2051, 5, 28, 28) and len(data) == 16 + 5 * 784


def write(path, data: bytes, gz=False):
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def test_bad_magic(tmp_path):
    p = write(tmp_path / "x", encode_idx(np.zeros(4, np.uint8)))   # a labels file read as images
    with pytest.raises(DataError, match=r"x: bad magic number 2049 \(IDX images files start with 2051\)"):
        read_idx(p, IMAGES_MAGIC)


def test_truncated(tmp_path):
    good = encode_idx(np.zeros((3, 28, 28), np.uint8))
    with pytest.raises(DataError, match="truncated"):
        read_idx(write(tmp_path / "t.gz", good[:-10], gz=True), IMAGES_MAGIC)
    with pytest.raises(DataError, match="truncated"):
        read_idx(write(tmp_path / "h", good[:2]), IMAGES_MAGIC)
    with pytest.raises(DataError, match="longer than its header"):
        read_idx(write(tmp_path / "long", good + b"\0"), IMAGES_MAGIC)


def test_broken_gzip(tmp_path):
    with pytest.raises(DataError, match="cannot read"):
        read_idx(write(tmp_path / "z.gz", b"\x1f\x8b" + b"garbage" * 10), LABELS_MAGIC)


def test_count_mismatch_and_bad_label(tmp_path):
    write_idx(tmp_path / "i", np.zeros((3, 28, 28), np.uint8))
    write_idx(tmp_path / "l", np.zeros(2, np.uint8))
    with pytest.raises(DataError, match="holds 3 images but .* holds 2 labels"):
        read_images_and_labels(tmp_path / "i", tmp_path / "l")
    write_idx(tmp_path / "l", np.array([1, 12, 3], np.uint8))
    with pytest.raises(DataError, match="label 12 at index 1 is outside 0–9"):
        read_images_and_labels(tmp_path / "i", tmp_path / "l")


def test_wrong_image_size(tmp_path):
    write_idx(tmp_path / "i", np.zeros((1, 32, 32), np.uint8))
    write_idx(tmp_path / "l", np.zeros(1, np.uint8))
    with pytest.raises(DataError, match="32×32, expected 28×28"):
        read_images_and_labels(tmp_path / "i", tmp_path / "l")


def test_missing_file_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="cannot read"):
        read_idx(tmp_path / "nope", IMAGES_MAGIC)
