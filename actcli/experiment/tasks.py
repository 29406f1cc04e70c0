"""Tasks: one per activation × seed (× depth, × learning rate, where they are axes), in the order that
leaves complete paired sets."""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import MISSING, dataclass, fields
from typing import Iterable, Mapping

from ..config import DEFAULTS, MAX_RATES, MAX_SEED
from ..errors import UsageProblem
from ..files import safe_stem

MAX_SEEDS = 10_000


@dataclass(frozen=True, order=True)
class Task:
    activation: str
    seed: int
    depth: int | None = None      # the network's depth where it is an axis (the MLP); None for a fixed network
    lr: float = DEFAULTS.lr       # Adam's learning rate

    @property
    def key(self) -> str:
        """The task's file name (without .json): 'relu-seed0', 'relu-d8-seed0', 'relu-lr0.003-seed0'. A
        formula's name is made safe for a file name; the article's rate is not named, so that folders
        written before rates were an axis keep their names."""
        depth = "" if self.depth is None else f"-d{self.depth}"
        return f"{safe_stem(self.activation)}{depth}{_rate(self.lr, '-lr')}-seed{self.seed}"

    @property
    def label(self) -> str:
        """How progress lines and errors name it: 'relu seed 0', 'relu depth 8 lr 0.003 seed 0'."""
        depth = "" if self.depth is None else f" depth {self.depth}"
        return f"{self.activation}{depth}{_rate(self.lr, ' lr ')} seed {self.seed}"

    @classmethod
    def of(cls, result: Mapping) -> Task:
        """The task a result (a dict as saved, checked by experiment.schema) belongs to: its fields of the
        task's names, each absent one (an axis the run did not have, such as depth) at its default."""
        return cls(**{f.name: result[f.name] if f.default is MISSING else result.get(f.name, f.default)
                      for f in fields(cls)})


def _rate(lr: float, prefix: str) -> str:
    """'' for the article's rate, else `prefix` and the rate as Python writes it (exact: repr round-trips)."""
    return "" if lr == DEFAULTS.lr else f"{prefix}{float(lr)!r}"


def plan(activations: Iterable[str], seeds: Iterable[int], depths: Iterable[int | None] = (None,),
         lrs: Iterable[float] = (DEFAULTS.lr,)) -> list[Task]:
    """Every activation (at every depth and rate) for the first seed, then for the next: an interrupted
    run leaves complete paired sets."""
    names, depths, lrs = list(activations), list(depths), list(lrs)
    return [Task(a, s, d, lr) for s in seeds for d in depths for lr in lrs for a in names]


def check_rates(rates: Iterable[float]) -> tuple[float, ...]:
    """The learning rates of a grid, checked: each finite and > 0, none twice, at most MAX_RATES."""
    rates = tuple(float(r) for r in rates)
    if not rates:
        raise UsageProblem("give at least one learning rate")
    bad = [r for r in rates if not (math.isfinite(r) and r > 0)]
    if bad:
        raise UsageProblem(f"a learning rate is a finite number > 0, not {bad[0]:g}")
    repeated = sorted(r for r, n in Counter(rates).items() if n > 1)
    if repeated:
        raise UsageProblem(f"learning rate {', '.join(f'{r:g}' for r in repeated)} given twice")
    if len(rates) > MAX_RATES:
        raise UsageProblem(f"{len(rates)} learning rates: at most {MAX_RATES} (each is a full set of tasks)")
    return rates


def parse_rates(text: str) -> tuple[float, ...]:
    """'3e-4,1e-3,3e-3' → (0.0003, 0.001, 0.003), checked (check_rates)."""
    items = [s.strip() for s in str(text).split(",")]
    rates = []
    for item in items:
        try:
            rates.append(float(item))
        except ValueError:
            raise UsageProblem(f"{item!r} is not a learning rate (write rates such as 3e-4,1e-3,3e-3)") from None
    return check_rates(rates)


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
