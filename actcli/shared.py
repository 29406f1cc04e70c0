"""A split in shared memory, for worker processes: the parent writes its arrays into one block once; a
worker is handed a few hundred bytes that name the block, and maps it (no pickled copy per worker).

    with SharedSplit(split) as shared:        # the parent
        handle = shared.handle                # picklable: the block's name and the arrays' layout
        ...                                   # a worker: split = handle.attach()

The block lives until the parent closes it (after its workers are gone). A parent killed by SIGKILL cannot
close it: multiprocessing's resource tracker, which outlives it, unlinks it then. Where /dev/shm has no room for
it (a container's default is 64 MB), `fits` says so and the caller sends the split itself, as before: writing past
the room would kill the parent with SIGBUS.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from multiprocessing import shared_memory

import numpy as np

from .data import Split

ALIGN = 64   # each array starts on a cache line
SPARE = 16 << 20   # what /dev/shm must keep free beyond the block

# The blocks this process has attached, kept open: the arrays a worker uses are views into them.
_ATTACHED: dict[str, shared_memory.SharedMemory] = {}


@dataclass(frozen=True)
class SplitHandle:
    """What a worker receives instead of the split: the block's name and each array's (field, offset,
    shape, dtype)."""

    name: str
    layout: tuple[tuple[str, int, tuple[int, ...], str], ...]

    def attach(self) -> Split:
        """The split, its arrays views into the shared block (writable: DeviceData uses them on the CPU
        where they lie; training only reads them)."""
        block = _ATTACHED.get(self.name)
        if block is None:
            block = _ATTACHED[self.name] = shared_memory.SharedMemory(name=self.name)
        arrays = {name: np.ndarray(shape, dtype=np.dtype(dtype), buffer=block.buf, offset=offset)
                  for name, offset, shape, dtype in self.layout}
        return Split(**arrays)


def nbytes(split: Split) -> int:
    return sum(-(-getattr(split, f.name).nbytes // ALIGN) * ALIGN for f in fields(Split))


def fits(split: Split, shm: str = "/dev/shm") -> bool:
    """Whether the shared memory has room for the split (where there is no /dev/shm to ask, yes)."""
    try:
        st = os.statvfs(shm)
    except (OSError, AttributeError):
        return True
    return st.f_bavail * st.f_frsize >= nbytes(split) + SPARE


class SharedSplit:
    """The parent's side: the split copied into one shared block, and the handle to it."""

    def __init__(self, split: Split):
        arrays = {f.name: np.ascontiguousarray(getattr(split, f.name)) for f in fields(Split)}
        layout, offset = [], 0
        for name, a in arrays.items():
            layout.append((name, offset, a.shape, a.dtype.str))
            offset += -(-a.nbytes // ALIGN) * ALIGN
        self.block = shared_memory.SharedMemory(create=True, size=max(offset, 1))
        for (name, start, shape, dtype), a in zip(layout, arrays.values(), strict=True):
            np.ndarray(shape, dtype=np.dtype(dtype), buffer=self.block.buf, offset=start)[...] = a
        self.handle = SplitHandle(self.block.name, tuple(layout))

    def close(self) -> None:
        self.block.close()
        try:
            self.block.unlink()
        except FileNotFoundError:
            pass

    def __enter__(self) -> SharedSplit:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
