"""f′ of a formula by sympy.diff, simplified when sympy manages in time to something smaller that
computes the same numbers."""

from __future__ import annotations

import numpy as np

from .compile import NUMPY_OPS, Untranslatable, check_grid, compile_expr, numpy_function
from .grammar import fail, shown
from .symbols import canonical, sym
from .timelimit import BUILD_SECONDS, Budget, TooSlow, alarm_usable, time_limited

SIMPLIFY_SECONDS = 1.0  # sympy.simplify of f′; the unsimplified f′ is kept when it runs out
SIMPLIFY_MAX_OPS = 150  # f′ bigger than this is not even offered to simplify
SIMPLIFY_MIN_OPS = 12   # f′ this small is shown as sympy.diff gives it: simplify's first call costs ≈ 0.7 s
                        # (it imports sympy's trigsimp), which would put `derive` of Mish over 1 s

def derivative(expr, text: str = ""):
    """f′ by sympy.diff; max, min and relu take H(0) = 0 at a kink (relu′(0) = 0, as the registry);
    simplified when sympy manages in time to something smaller that computes the same numbers."""
    S = sym()
    sp = S.sympy
    def diff():
        d = sp.diff(expr, S.x)
        return d.replace(lambda e: isinstance(e, sp.Heaviside), lambda e: sp.Heaviside(e.args[0], 0))

    try:
        d = time_limited(diff, BUILD_SECONDS)
    except TooSlow:
        fail(text, f"f′ is too costly to derive (more than {BUILD_SECONDS:g} s)")
    if d.has(sp.Derivative, sp.Subs, sp.DiracDelta, sp.re, sp.im):
        fail(text, f"sympy cannot write f′ in closed form (it gives {shown(canonical(d))})")
    try:
        compile_expr(d, NUMPY_OPS)
    except Untranslatable as e:
        fail(text, f"f′ contains {e}, which has no numeric form here")
    return _simplified(d)


def _simplified(d):
    sp = sym().sympy
    ops = sp.count_ops(d)
    if ops > SIMPLIFY_MAX_OPS or ops <= SIMPLIFY_MIN_OPS or not alarm_usable():  # unbounded: not worth a hang
        return d
    simple = Budget(SIMPLIFY_SECONDS).attempt(lambda: sp.simplify(d), SIMPLIFY_SECONDS)
    if simple is None or sp.count_ops(simple) >= ops or simple.has(sp.Derivative, sp.Subs):
        return d
    try:
        before, after = numpy_function(d), numpy_function(simple)
    except Untranslatable:
        return d
    grid = check_grid()
    a, b = before(grid), after(grid)
    # simplify may trade a stable form for one that cancels or overflows: then keep what diff gave
    same = np.isclose(a, b, rtol=1e-12, atol=1e-300) | (np.isnan(a) & np.isnan(b)) | (a == b)
    return simple if np.all(same) else d
