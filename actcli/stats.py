"""Statistics over seeds: a mean with its Student-t interval, paired differences with their t-test, effect
size and verdict, and Holm's correction when several are made at once.

The distributions come from `scipy.stats`; nothing here is a hand-written table. Numbers that are
not finite (a diverged run's loss) are left out, and `n` says how many were used.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Mapping, Sequence

CONFIDENCE = 0.95
# The family-wise error rate the verdicts keep, over all the comparisons made together (Holm).
ALPHA = 1 - CONFIDENCE


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
    """The mean of a − b over the seeds both have, its t-interval, the paired t-test's two-sided p and
    the effect size d_z (mean ÷ sd of the differences), and what that lets one say.

    `verdict` is 'better', 'worse', 'not distinguishable with n seeds', 'no interval with 1 seed' or
    'no common seeds'. Alone, it is the interval's (which excludes 0 exactly when p < ALPHA); after
    `holm`, it is the adjusted p's, `p_holm` is set, and `interval` keeps the interval's verdict."""

    n: int
    mean: float
    ci_low: float
    ci_high: float
    verdict: str
    p: float = math.nan
    d_z: float = math.nan
    p_holm: float = math.nan
    interval: str = ""

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
    else:
        verdict = _verdict(d.n, d.mean, d.ci_low > 0 or d.ci_high < 0)
    p, d_z = _t_test([a[s] for s in seeds], [b[s] for s in seeds], d)
    return Paired(d.n, d.mean, d.ci_low, d.ci_high, verdict, p, d_z, interval=verdict)


def _verdict(n: int, mean: float, significant: bool) -> str:
    """'better' or 'worse' (by the sign of the mean) where the difference is significant, else 'not
    distinguishable with n seeds'."""
    return ("better" if mean > 0 else "worse") if significant else f"not distinguishable with {n} seeds"


def _t_test(xs: Sequence[float], ys: Sequence[float], d: Estimate) -> tuple[float, float]:
    """The two-sided p of the paired t-test of xs against ys (scipy.stats.ttest_rel) and d_z, from `d`,
    the estimate of their differences. Differences that are all equal have no spread: p is 1 when they
    are all 0 and 0 otherwise, d_z is 0 or ±inf (scipy would divide 0 by 0)."""
    if d.n < 2:
        return math.nan, math.nan
    if d.sd == 0:
        return (1.0, 0.0) if d.mean == 0 else (0.0, math.copysign(math.inf, d.mean))
    from scipy import stats

    return float(stats.ttest_rel(xs, ys).pvalue), d.mean / d.sd


def holm_adjusted(ps: Sequence[float]) -> list[float]:
    """Holm–Bonferroni adjusted p-values, in the order given: the i-th smallest of the m finite ones
    becomes max over j ≤ i of min(1, (m − j + 1)·p₍ⱼ₎). Not-a-number stays so and does not count in m."""
    finite = sorted((p, i) for i, p in enumerate(ps) if math.isfinite(p))
    m, out, running = len(finite), [math.nan] * len(ps), 0.0
    for rank, (p, i) in enumerate(finite):
        running = max(running, min(1.0, (m - rank) * p))
        out[i] = running
    return out


def holm(pairs: Mapping, alpha: float = ALPHA) -> dict:
    """The comparisons of `pairs` ({key: Paired}, made together) with Holm's adjusted p and the verdict it
    gives at `alpha`: better or worse where p_holm < alpha, else not distinguishable. A comparison with
    no test (fewer than 2 seeds) keeps its verdict."""
    from dataclasses import replace

    keys = list(pairs)
    adjusted = holm_adjusted([pairs[k].p for k in keys])
    out = {}
    for k, p_holm in zip(keys, adjusted, strict=True):
        c = pairs[k]
        verdict = c.verdict if math.isnan(p_holm) else _verdict(c.n, c.mean, p_holm < alpha)
        out[k] = replace(c, p_holm=p_holm, verdict=verdict)
    return out
