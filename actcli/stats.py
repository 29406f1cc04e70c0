"""Statistics over seeds: a mean with its Student-t interval, and paired differences with a verdict.

The distributions come from `scipy.stats`; nothing here is a hand-written table. Numbers that are
not finite (a diverged run's loss) are left out, and `n` says how many were used.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Mapping, Sequence

CONFIDENCE = 0.95


@dataclass(frozen=True)
class Estimate:
    """n values: mean, sample standard deviation and the `confidence` t-interval of the mean
    (nan where n is too small to give one)."""

    n: int
    mean: float
    sd: float
    ci_low: float
    ci_high: float

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Paired:
    """The mean of a − b over the seeds both have, its t-interval, and what that lets one say."""

    n: int
    mean: float
    ci_low: float
    ci_high: float
    verdict: str          # 'better', 'worse', 'not distinguishable with n seeds', 'no interval with 1 seed'

    def to_dict(self) -> dict:
        return asdict(self)


def finite_mean(values) -> float:
    """The mean of the finite numbers among `values` (None and nan left out); nan if there are none."""
    xs = [float(v) for v in values if v is not None and math.isfinite(v)]
    return math.fsum(xs) / len(xs) if xs else math.nan


def _t_interval(mean: float, sd: float, n: int, confidence: float) -> tuple[float, float]:
    """mean ± t(1 − (1 − c)/2; n − 1)·sd/√n."""
    if n < 2:
        return math.nan, math.nan
    if sd == 0:  # identical values: the interval has no width (scipy would divide 0 by 0)
        return mean, mean
    from scipy import stats

    low, high = stats.t.interval(confidence, n - 1, loc=mean, scale=sd / math.sqrt(n))
    return float(low), float(high)


def estimate(values: Sequence[float], confidence: float = CONFIDENCE) -> Estimate:
    """Mean, sd (n − 1 in the denominator) and the t-interval of the finite `values`."""
    xs = [float(v) for v in values if math.isfinite(v)]
    n = len(xs)
    if n == 0:
        return Estimate(0, math.nan, math.nan, math.nan, math.nan)
    mean = math.fsum(xs) / n
    sd = math.sqrt(math.fsum((x - mean) ** 2 for x in xs) / (n - 1)) if n > 1 else math.nan
    return Estimate(n, mean, sd, *_t_interval(mean, sd, n, confidence))


def paired_difference(a: Mapping[int, float], b: Mapping[int, float],
                      confidence: float = CONFIDENCE) -> Paired:
    """a − b paired by seed (the same seed gives both the same batch order): a paired t-interval.

    'better' or 'worse' only when the interval excludes 0; otherwise not distinguishable."""
    seeds = sorted(s for s in a.keys() & b.keys() if math.isfinite(a[s]) and math.isfinite(b[s]))
    d = estimate([a[s] - b[s] for s in seeds], confidence)
    if d.n < 2:
        verdict = "no interval with 1 seed" if d.n == 1 else "no common seeds"
    elif d.ci_low > 0:
        verdict = "better"
    elif d.ci_high < 0:
        verdict = "worse"
    else:
        verdict = f"not distinguishable with {d.n} seeds"
    return Paired(d.n, d.mean, d.ci_low, d.ci_high, verdict)
