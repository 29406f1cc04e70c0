"""The properties of a formula activation, computed where sympy can decide them within a time limit,
None (or "unknown") where it cannot:

  monotonic       False on a numeric counterexample (f drops between grid points by more than
                  rounding); True when sympy shows f continuous on ℝ and f′ ≥ 0 (its assumptions,
                  or calculus.singularities.is_increasing); else None
  output_range    calculus.util.function_range; for a proven monotonic f, the limits at ±∞
  zero_centred    f(0) = 0 exactly and a grid point of each sign; False when f(0) ≠ 0 or f ≥ 0 is proven
  smooth_at_zero  the one-sided limits of f′ at 0 agree and are finite
  saturates       the limits of f′ at ±∞ that are 0
"""

from __future__ import annotations

import math

import numpy as np

from ..activations import Properties
from .compile import check_grid, constant, numpy_function
from .symbols import pretty, sym
from .timelimit import Budget

ANALYSIS_SECONDS = 6.0  # all the sympy calls behind `properties`, together

def _exact(expr):
    """The form the analysis works on: σ and softplus written out, floats as exact rationals."""
    S = sym()
    sp = S.sympy
    e = expr.replace(lambda t: isinstance(t, S.sigmoid), lambda t: 1 / (1 + sp.exp(-t.args[0])))
    e = e.replace(lambda t: isinstance(t, S.softplus), lambda t: sp.log(1 + sp.exp(t.args[0])))
    return sp.nsimplify(e, rational=True) if e.has(sp.Float) else e


def _nonnegative(d, strict: bool = False) -> bool | None:
    """d ≥ 0 (d > 0 with `strict`) for every real x, by sympy's assumptions; H(·) ≥ 0, and where
    that does not decide, 1 − tanh²(a) = sech²(a) > 0."""
    S = sym()
    sp = S.sympy
    h = sp.Dummy("h", nonnegative=True)
    e = d.replace(lambda t: isinstance(t, sp.Heaviside), lambda t: h)
    if (e.is_positive if strict else e.is_nonnegative):
        return True
    e = e.replace(lambda t: t.is_Pow and t.exp == 2 and isinstance(t.base, sp.tanh),
                  lambda t: 1 - sp.sech(t.base.args[0]) ** 2)
    return (e.is_positive if strict else e.is_nonnegative) or None


def _continuous_everywhere(expr, budget: Budget) -> bool | None:
    """f is defined and continuous on all of ℝ: part by part (below), else sympy's continuous_domain."""
    S = sym()
    sp = S.sympy
    if budget.attempt(lambda: _continuous(expr)):
        return True
    if expr.has(sp.Piecewise):
        return None
    from sympy.calculus.util import continuous_domain

    domain = budget.attempt(lambda: continuous_domain(_exact(expr), S.x, sp.S.Reals))
    return None if domain is None else bool(domain == sp.S.Reals)


def _continuous(e) -> bool:
    """True when sympy's assumptions show e continuous on ℝ part by part: a log of something positive,
    no division by something that can be 0, no root of something that can be negative, and each
    where() with branches that meet at its boundary points. False means "not shown"."""
    S = sym()
    sp = S.sympy
    if not e.has(S.x):
        return True  # a constant: the parser made sure it is a finite real number
    if e == S.x:
        return True
    if isinstance(e, sp.Piecewise):
        return _piecewise_continuous(e)
    if not all(_continuous(a) for a in e.args):
        return False
    if isinstance(e, sp.Pow):
        base, p = e.args
        if p.has(S.x):
            return bool(base.is_positive)
        if p.is_Integer:
            return bool(p >= 0 or base.is_zero is False)
        return bool(base.is_positive if p < 0 else base.is_nonnegative)
    if isinstance(e, sp.log):
        return bool(e.args[0].is_positive)
    return isinstance(e, (sp.Add, sp.Mul, sp.exp, sp.sin, sp.cos, sp.tanh, sp.sinh, sp.cosh, sp.atan, sp.erf,
                          sp.erfc, sp.Abs, sp.Max, sp.Min, S.sigmoid, S.softplus))


def _piecewise_continuous(e) -> bool:
    """where(): continuous branches, conditions that switch at finitely many points (solveset), and
    at each of them, the limits from both sides equal to the value."""
    S = sym()
    sp = S.sympy
    if not all(_continuous(branch) for branch, _ in e.args):
        return False
    points = set()
    for _, cond in e.args:
        if cond == sp.true:
            continue
        if not isinstance(cond, sp.core.relational.Relational) or not _continuous(cond.lhs - cond.rhs):
            return False
        found = sp.solveset(sp.Eq(cond.lhs, cond.rhs), S.x, sp.S.Reals)
        if not isinstance(found, sp.FiniteSet):
            return False
        points |= set(found)
    for t in points:
        value = e.subs(S.x, t)
        for side in "-+":
            gap = _side_limit(e, t, side) - value
            if not (gap.is_zero or sp.simplify(gap) == 0):
                return False
    return True


def _monotonic(expr, d, f_np, budget: Budget) -> bool | None:
    """Non-decreasing everywhere: False on a counterexample (f drops between two grid points where it
    is finite, by more than rounding), True when sympy proves f continuous on ℝ and f′ ≥ 0 (or
    is_increasing does), None otherwise."""
    y = f_np(check_grid())
    y = y[np.isfinite(y)]
    with np.errstate(all="ignore"):
        if np.any(y[:-1] - y[1:] > 1e-9 * np.maximum(1.0, np.abs(y[:-1]))):
            return False
    if not _continuous_everywhere(expr, budget):
        return None
    S = sym()
    from sympy.calculus.singularities import is_increasing

    if budget.attempt(lambda: _nonnegative(d)) or budget.attempt(lambda: _nonnegative(_exact(d))):
        return True
    return True if budget.attempt(lambda: is_increasing(_exact(expr), S.sympy.S.Reals, S.x)) else None


def _limit(expr, point, budget: Budget, direction: str = "+-"):
    """The limit of expr at `point` from one side (at ±∞, from the finite one), or None (sympy gave
    up, ran out of time, or left the Limit unevaluated)."""
    sp = sym().sympy
    if direction == "+-":
        direction = "-" if point is sp.oo else "+"
    found = budget.attempt(lambda: _side_limit(expr, point, direction))
    return None if found is None or found.has(sp.Limit) else found


def _side_limit(expr, point, side: str):
    """sympy's limit, with each where() first replaced by the branch that holds just to that side of
    the point: sympy's own limit of a Piecewise at a boundary takes the value at the point instead."""
    S = sym()
    sp = S.sympy
    if expr.has(sp.Piecewise):
        expr = expr.replace(lambda t: isinstance(t, sp.Piecewise), lambda t: _branch_near(t, point, side))
    return sp.limit(expr, S.x, point, side)


def _branch_near(piecewise, point, side: str):
    """The branch of a where() that holds on a whole interval just to the `side` ("+" or "−") of
    `point` (a number or ±∞). The conditions change only at the boundary points of their sets
    (as_set), so one point between `point` and the next boundary tells; ValueError where the
    boundaries are not finitely many (sin(x) > 0)."""
    S = sym()
    sp = S.sympy
    ends = set()
    for _, cond in piecewise.args:
        if cond != sp.true:
            boundary = cond.as_set().boundary
            if not isinstance(boundary, sp.FiniteSet):
                raise ValueError("the condition changes at infinitely many points")
            ends |= {b for b in boundary if b.is_finite}
    if point is sp.oo or point is -sp.oo:
        far = max([abs(constant(b)) for b in ends] + [0.0]) + 2
        probe = sp.Integer(math.ceil(far)) * (1 if point is sp.oo else -1)
    else:
        here = constant(point)
        beyond = [b for b in ends if (constant(b) > here if side == "+" else constant(b) < here)]
        nearest = (min if side == "+" else max)(beyond, key=constant) if beyond else point + (1 if side == "+" else -1)
        probe = (point + nearest) / 2
    for expr, cond in piecewise.args:
        holds = cond.subs(S.x, probe)
        if holds not in (sp.true, sp.false):
            raise ValueError("undecided condition")
        if holds == sp.true:
            return expr
    raise ValueError("no branch holds")


def _is_real_or_infinite(v) -> bool:
    sp = sym().sympy
    return v is not None and (v in (sp.oo, -sp.oo) or (v.is_number and v.is_extended_real is True))


def _format_number(v) -> str:
    sp = sym().sympy
    if v is sp.oo:
        return "∞"
    if v is -sp.oo:
        return "−∞"
    return pretty(v)


def _format_interval(interval) -> str:
    sp = sym().sympy
    if isinstance(interval, sp.Interval):
        left = "(" if interval.left_open else "["
        right = ")" if interval.right_open else "]"
        return f"{left}{_format_number(interval.start)}, {_format_number(interval.end)}{right}"
    if isinstance(interval, sp.FiniteSet):
        return "{" + ", ".join(_format_number(v) for v in interval.args) + "}"
    return "unknown"


def _output_range(expr, d, lo, hi, monotonic, budget: Budget) -> str:
    """sympy's function_range where it can; for a proven monotonic f, from the limits at ±∞ (open when
    f′ > 0 is proven, else an end is closed when solveset finds f reaching it); otherwise "unknown"."""
    S = sym()
    sp = S.sympy
    from sympy.calculus.util import function_range

    e = _exact(expr)
    found = budget.attempt(lambda: function_range(e, S.x, sp.S.Reals))
    if isinstance(found, (sp.Interval, sp.FiniteSet)) and all(_is_real_or_infinite(v) for v in found.boundary):
        return _format_interval(found)
    if monotonic is not True or not (_is_real_or_infinite(lo) and _is_real_or_infinite(hi)):
        return "unknown"

    def reached(value):
        if value in (sp.oo, -sp.oo):
            return False
        where = budget.attempt(lambda: sp.solveset(sp.Eq(e, value), S.x, sp.S.Reals))
        return None if where is None or isinstance(where, sp.ConditionSet) else where != sp.S.EmptySet

    if budget.attempt(lambda: _nonnegative(d, strict=True)):
        return f"({_format_number(lo)}, {_format_number(hi)})"  # f′ > 0: strictly increasing, no end reached
    left, right = reached(lo), reached(hi)
    if left is None or right is None:
        return "unknown"
    return (f"{'[' if left else '('}{_format_number(lo)}, {_format_number(hi)}{']' if right else ')'}")


def _zero_centred(expr, f_np, budget: Budget) -> bool | None:
    """f(0) = 0 (sympy) and f takes both signs (grid points where |f| > 1e-9 of each sign)."""
    S = sym()
    e = _exact(expr)
    f0 = budget.attempt(lambda: e.subs(S.x, 0))
    if f0 is None:
        return None
    if f0.has(S.sympy.zoo, S.sympy.nan) or f0.is_zero is False:
        return False
    if f0.is_zero is None:
        return None
    y = f_np(check_grid())
    if np.any(y < -1e-9) and np.any(y > 1e-9):
        return True
    if budget.attempt(lambda: _nonnegative(e)) or budget.attempt(lambda: _nonnegative(-e)):
        return False
    return None


def _smooth_at_zero(expr, d, budget: Budget) -> bool | None:
    """The left and right limits of f′ at 0 agree and are finite (and a where() does not jump there)."""
    S = sym()
    sp = S.sympy
    zero = sp.S.Zero
    if expr.has(sp.Piecewise):
        e = _exact(expr)
        value = budget.attempt(lambda: e.subs(S.x, 0))
        sides = [_limit(e, zero, budget, side) for side in "-+"]
        if value is None or None in sides:
            return None
        if not all(budget.attempt(lambda v=v: sp.simplify(v - value) == 0) for v in sides):
            return False
    e = _exact(d)
    left, right = _limit(e, zero, budget, "-"), _limit(e, zero, budget, "+")
    if left is None or right is None:
        return None
    if not all(v.is_number and v.is_finite and v.is_extended_real for v in (left, right)):
        return False  # f′ is infinite, complex or oscillating there
    return budget.attempt(lambda: sp.simplify(left - right).is_zero)


def _saturates(d, budget: Budget) -> str:
    """Where f′ → 0: "both", "negative", "positive", "none", from sympy's limits at ±∞; else "unknown"."""
    sp = sym().sympy
    e = _exact(d)
    sides = []
    for point in (-sp.oo, sp.oo):
        v = _limit(e, point, budget)
        if v is None:
            return "unknown"
        sides.append(bool(v == 0))
    return {(True, True): "both", (True, False): "negative", (False, True): "positive",
            (False, False): "none"}[tuple(sides)]


def analyse(expr, d, f_np=None, seconds: float = ANALYSIS_SECONDS) -> Properties:
    """The Properties of f = expr with f′ = d, every sympy call bounded in time. None (a field typed
    bool in Properties) or "unknown" means sympy could not decide it."""
    S = sym()
    sp = S.sympy
    f_np = f_np or numpy_function(expr)
    budget = Budget(seconds, size=max(sp.count_ops(expr), sp.count_ops(d)))
    e = _exact(expr)
    monotonic = _monotonic(expr, d, f_np, budget)
    lo, hi = _limit(e, -sp.oo, budget), _limit(e, sp.oo, budget)
    return Properties(
        output_range=_output_range(expr, d, lo, hi, monotonic, budget),
        zero_centred=_zero_centred(expr, f_np, budget),
        monotonic=monotonic,
        smooth_at_zero=_smooth_at_zero(expr, d, budget),
        saturates=_saturates(d, budget),
    )
