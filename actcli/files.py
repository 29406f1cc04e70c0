"""Writing files so that a reader never sees half of one: write a temporary sibling, then rename."""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
from pathlib import Path
from typing import BinaryIO, Callable, Iterator


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# mkstemp makes 0600 files; what we write should get the mode a plain open() would give it.
FILE_MODE = 0o666 & ~_umask()


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike) -> Iterator[BinaryIO]:
    """Open a temporary file beside `path` for binary writing; on success it replaces `path`.

    On any failure the temporary file is removed and `path` is left as it was; an OSError names
    `path` (not the temporary file, which the user never asked for) as its filename."""
    path = Path(path)
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, path)
    except BaseException as exc:
        if tmp is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        if isinstance(exc, OSError) and (exc.filename is None or _is_temporary(exc.filename, path)):
            exc.filename, exc.filename2 = str(path), None
        raise


def _is_temporary(name, path: Path) -> bool:
    """Whether `name` is one of the temporary siblings atomic_open makes for `path`."""
    name = Path(os.fsdecode(name)).name if isinstance(name, (str, bytes, os.PathLike)) else ""
    return name.startswith(f".{path.name}.") and name.endswith(".part")


def atomic_write(path: str | os.PathLike, write: Callable[[BinaryIO], object]) -> Path:
    """Call `write(handle)` on a temporary file and move it to `path` only if it succeeds."""
    with atomic_open(path) as handle:
        write(handle)
    return Path(path)


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    return atomic_write(path, lambda handle: handle.write(text.encode("utf-8")))


def safe_stem(name: str) -> str:
    """`name` as a file name: characters outside [A-Za-z0-9._-] become '_', and a short hash of the
    name keeps two formulas apart ('x*tanh(x)' → 'x_tanh_x_~1f2e…')."""
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", name)
    if safe == name:
        return name
    return f"{safe[:60]}~{hashlib.sha1(name.encode()).hexdigest()[:8]}"
