"""Tasks: one per activation × seed, in the order that leaves complete paired sets."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import MISSING, dataclass, fields
from typing import Iterable, Mapping

from ..config import MAX_SEED
from ..errors import UsageProblem
from ..files import safe_stem

MAX_SEEDS = 10_000


@dataclass(frozen=True, order=True)
class Task:
    activation: str
    seed: int
    depth: int | None = None      # the network's depth where it is an axis (the MLP); None for a fixed network

    @property
    def key(self) -> str:
        """The task's file name (without .json); a formula's name is made safe for a file name."""
        depth = "" if self.depth is None else f"-d{self.depth}"
        return f"{safe_stem(self.activation)}{depth}-seed{self.seed}"

    @property
    def label(self) -> str:
        """How progress lines and errors name it: 'relu seed 0', 'relu depth 8 seed 0'."""
        depth = "" if self.depth is None else f" depth {self.depth}"
        return f"{self.activation}{depth} seed {self.seed}"

    @classmethod
    def of(cls, result: Mapping) -> Task:
        """The task a result (a dict as saved, checked by experiment.schema) belongs to: its fields of the
        task's names, each absent one (an axis the run did not have, such as depth) at its default."""
        return cls(**{f.name: result[f.name] if f.default is MISSING else result.get(f.name, f.default)
                      for f in fields(cls)})


def plan(activations: Iterable[str], seeds: Iterable[int], depths: Iterable[int | None] = (None,)) -> list[Task]:
    """Every activation (at every depth) for the first seed, then for the next: an interrupted run
    leaves complete paired sets."""
    names, depths = list(activations), list(depths)
    return [Task(a, s, d) for s in seeds for d in depths for a in names]


def parse_seeds(text: str) -> tuple[int, ...]:
    """'0-4' → (0, 1, 2, 3, 4); '0,3,7' → (0, 3, 7); ranges and single seeds may be mixed."""
    items = [s.strip() for s in str(text).split(",")]
    if not any(items):
        raise UsageProblem("expected seeds such as 0-4 or 0,3,7, got nothing")
    seeds: list[int] = []
    for item in items:
        m = re.fullmatch(r"(\d+)(?:\s*-\s*(\d+))?", item)
        if not m:
            raise UsageProblem(f"{item!r} is not a seed or a range of seeds (such as 0-4 or 0,3,7)")
        lo = int(m[1])
        hi = int(m[2]) if m[2] is not None else lo
        if hi < lo:
            raise UsageProblem(f"{item!r}: a range goes up (write {hi}-{lo})")
        if hi > MAX_SEED:
            raise UsageProblem(f"{item!r}: a seed is at most {MAX_SEED} (torch's generator takes 64 bits)")
        if len(seeds) + hi - lo + 1 > MAX_SEEDS:
            raise UsageProblem(f"{item!r}: more than {MAX_SEEDS:,} seeds")
        seeds.extend(range(lo, hi + 1))
    repeated = sorted(s for s, n in Counter(seeds).items() if n > 1)
    if repeated:
        raise UsageProblem(f"seed {', '.join(map(str, repeated))} given twice")
    return tuple(seeds)
