"""Tasks: one per activation × seed, in the order that leaves complete paired sets."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, fields
from typing import Iterable, Mapping

from ..config import MAX_SEED
from ..errors import UsageProblem
from ..files import safe_stem

MAX_SEEDS = 10_000


@dataclass(frozen=True, order=True)
class Task:
    activation: str
    seed: int

    @property
    def key(self) -> str:
        """The task's file name (without .json); a formula's name is made safe for a file name."""
        return f"{safe_stem(self.activation)}-seed{self.seed}"

    @classmethod
    def of(cls, result: Mapping) -> Task:
        """The task a result holds: its fields of the task's names."""
        return cls(**{f.name: result[f.name] for f in fields(cls)})


def plan(activations: Iterable[str], seeds: Iterable[int]) -> list[Task]:
    """Every activation for the first seed, then every activation for the next: an interrupted run
    leaves complete paired sets."""
    names = list(activations)
    return [Task(a, s) for s in seeds for a in names]


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
