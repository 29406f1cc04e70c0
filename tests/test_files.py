"""Atomic writes: all or nothing, with ordinary permissions."""

import os

import pytest

from actcli.files import atomic_write, atomic_write_text


def test_writes_whole_file_with_plain_open_permissions(tmp_path):
    path = atomic_write_text(tmp_path / "a.txt", "hello")
    assert path.read_text() == "hello"
    mask = os.umask(0)
    os.umask(mask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~mask
    assert list(tmp_path.iterdir()) == [path]  # no temporary left


def test_failure_leaves_nothing_and_keeps_the_old_file(tmp_path):
    target = tmp_path / "b.bin"
    target.write_bytes(b"old")

    def half_then_fail(handle):
        handle.write(b"half")
        raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError):
        atomic_write(target, half_then_fail)
    assert target.read_bytes() == b"old"
    assert list(tmp_path.iterdir()) == [target]
