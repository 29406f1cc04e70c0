"""What this machine can hold: a network too big for its memory is refused before any work, with the figure."""

from __future__ import annotations

import os

from .errors import ParameterError


def physical_memory() -> int | None:
    """Bytes of RAM, or None where the system does not say."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def refuse_unless_it_fits(need: int, what: str, param: str, hint: str = "") -> None:
    """ParameterError(param) when `need` bytes are more than half this machine's memory."""
    have = physical_memory()
    if have is not None and need > have / 2:
        raise ParameterError(f"{what} needs about {need / 1e9:,.1f} GB, more than half of this machine's "
                             f"{have / 1e9:,.0f} GB{hint}", param)
