"""Statistics over seeds, against values computed by hand (t quantiles from mpmath, independently of scipy)."""

import math

import pytest

from actcli.stats import estimate, paired_difference

# Student's t, two-sided 95% (tables print 4.303 and 3.182); to 16 digits with mpmath, solving
# I_{df/(df+t²)}(df/2, 1/2)/2 = 0.025 for t:
T2, T3 = 4.302652729749464, 3.182446305283710


def test_mean_sd_and_t_interval():
    e = estimate([1.0, 2.0, 3.0, 4.0])
    sd = math.sqrt((1.5 ** 2 + 0.5 ** 2 + 0.5 ** 2 + 1.5 ** 2) / 3)   # 1.2909944…
    assert (e.n, e.mean) == (4, 2.5)
    assert e.sd == pytest.approx(sd, rel=1e-15)
    assert e.ci_low == pytest.approx(2.5 - T3 * sd / 2, rel=1e-12)   # 0.445739…
    assert e.ci_high == pytest.approx(2.5 + T3 * sd / 2, rel=1e-12)  # 4.554260…


def test_one_value_has_no_interval_and_identical_values_a_zero_width_one():
    one = estimate([0.96])
    assert one.n == 1 and one.mean == 0.96 and math.isnan(one.sd) and math.isnan(one.ci_low)
    same = estimate([95.0, 95.0, 95.0])
    assert (same.sd, same.ci_low, same.ci_high) == (0.0, 95.0, 95.0)


def test_non_finite_values_are_left_out():
    e = estimate([1.0, math.nan, 3.0, math.inf])
    assert e.n == 2 and e.mean == 2.0
    assert estimate([]).n == 0 and math.isnan(estimate([]).mean)


def test_paired_difference_not_distinguishable():
    a = {0: 96.0, 1: 95.9, 2: 95.8}
    b = {0: 95.5, 1: 95.0, 2: 95.9}            # differences 0.5, 0.9, −0.1
    p = paired_difference(a, b)
    m = 1.3 / 3
    sd = math.sqrt(((0.5 - m) ** 2 + (0.9 - m) ** 2 + (-0.1 - m) ** 2) / 2)      # 0.503322…
    assert p.n == 3 and p.mean == pytest.approx(m, rel=1e-12)
    assert p.ci_low == pytest.approx(m - T2 * sd / math.sqrt(3), rel=1e-12)    # −0.8170
    assert p.ci_high == pytest.approx(m + T2 * sd / math.sqrt(3), rel=1e-12)   # +1.6836
    assert p.verdict == "not distinguishable with 3 seeds"


def test_paired_difference_better_and_worse():
    a = {0: 97.0, 1: 97.2, 2: 97.1}
    b = {0: 96.0, 1: 96.0, 2: 96.0}            # differences 1.0, 1.2, 1.1: sd 0.1
    p = paired_difference(a, b)
    assert p.ci_low == pytest.approx(1.1 - T2 * 0.1 / math.sqrt(3), rel=1e-12)   # 0.8516 > 0
    assert p.verdict == "better"
    assert paired_difference(b, a).verdict == "worse"


def test_pairs_only_common_seeds():
    p = paired_difference({0: 1.0, 1: 2.0, 5: 9.0}, {0: 0.0, 1: 0.0, 2: 7.0})
    assert p.n == 2 and p.mean == 1.5
    assert paired_difference({0: 1.0}, {0: 0.5}).verdict == "no interval with 1 seed"
    assert paired_difference({0: 1.0}, {1: 0.5}).verdict == "no common seeds"


# ---- what the mutation run (docs/testing.md) found unchecked ---------------------------------------

T1 = 12.706204736174698   # Student's t, 97.5% with 1 degree of freedom (tan(π·0.475), exactly)


def test_finite_mean_skips_none_and_nan_and_is_nan_for_nothing():
    from actcli.stats import finite_mean

    assert finite_mean([1.0, None, math.nan, 3.0, math.inf]) == 2.0
    assert math.isnan(finite_mean([])) and math.isnan(finite_mean([None, math.nan]))


def test_two_values_already_give_an_interval():
    e = estimate([1.0, 3.0])
    assert e.sd == pytest.approx(math.sqrt(2.0), rel=1e-15)
    assert (e.ci_low, e.ci_high) == (pytest.approx(2.0 - T1, rel=1e-12), pytest.approx(2.0 + T1, rel=1e-12))
    d = paired_difference({0: 1.0, 1: 3.0}, {0: 0.0, 1: 0.0})
    assert d.n == 2 and d.verdict == "not distinguishable with 2 seeds"


def test_no_values_is_nan_everywhere():
    e = estimate([])
    assert e.n == 0 and all(math.isnan(v) for v in (e.mean, e.sd, e.ci_low, e.ci_high))


def test_a_seed_missing_on_either_side_is_left_out():
    from scipy import stats

    d = paired_difference({0: 1.0, 1: math.nan, 2: 3.0, 3: 2.0}, {0: 0.0, 1: 5.0, 2: 1.0, 3: math.inf})
    assert (d.n, d.mean) == (2, 1.5)
    assert d.p == pytest.approx(stats.ttest_rel([1.0, 3.0], [0.0, 1.0]).pvalue, rel=1e-12)   # the test too


def test_the_confidence_level_is_the_one_asked_for():
    from scipy import stats

    a, b = {0: 1.0, 1: 2.0, 2: 4.0}, {0: 0.0, 1: 0.0, 2: 0.0}
    d = paired_difference(a, b, confidence=0.5)
    half = stats.t.ppf(0.75, 2) * estimate([1.0, 2.0, 4.0]).sd / math.sqrt(3)
    assert d.ci_high - d.mean == pytest.approx(half, rel=1e-12)


@pytest.mark.parametrize("diffs, verdict", [
    ((0.0, 0.0, 0.0), "not distinguishable with 3 seeds"),   # an interval [0, 0]: touching 0 is not excluding it
    ((-0.5, 0.5, 0.6), "not distinguishable with 3 seeds"),  # ci_high between 0 and 1
    ((0.5, 0.5, 0.5), "better"),
    ((-0.5, -0.5, -0.5), "worse"),
])
def test_verdicts_at_their_edges(diffs, verdict):
    d = paired_difference(dict(enumerate(diffs)), {i: 0.0 for i in range(3)})
    assert d.verdict == verdict
