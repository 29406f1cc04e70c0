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


def test_an_unwritable_place_names_the_path_not_the_temporary(tmp_path):
    (tmp_path / "file").write_text("")
    with pytest.raises(NotADirectoryError) as caught:
        atomic_write_text(tmp_path / "file" / "c.txt", "x")
    assert caught.value.filename == str(tmp_path / "file" / "c.txt")


def test_disk_full_leaves_no_partial_file_and_names_the_path(tmp_path, monkeypatch):
    import errno

    from helpers import disk_full

    disk_full(monkeypatch)
    with pytest.raises(OSError) as caught:
        atomic_write_text(tmp_path / "d.txt", "x" * 100)
    assert caught.value.errno == errno.ENOSPC and caught.value.filename == str(tmp_path / "d.txt")
    assert list(tmp_path.iterdir()) == []
