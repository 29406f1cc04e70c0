"""numpy and torch forms of a sympy expression: a tree walker (no lambdify, nothing is exec'd) that
picks the stable form of sigmoid, softplus, log1p, expm1, erfc and sech² wherever the expression has
that shape."""

from __future__ import annotations

import functools
import math
from typing import Callable

import numpy as np

from ..numerics import SOFTPLUS_EXACT_THRESHOLD, erfc, sech2, sigmoid, softplus
from .symbols import sym

class Untranslatable(Exception):
    pass


_erf = np.frompyfunc(math.erf, 1, 1)


def _np_erf(a):
    return np.asarray(_erf(a), dtype=np.float64)


def _np_erfc(a):
    return np.asarray(erfc(a), dtype=np.float64)


def _np_max(args):
    return functools.reduce(np.maximum, args)


def _np_min(args):
    return functools.reduce(np.minimum, args)


NUMPY_OPS: dict[str, Callable] = {
    "exp": np.exp, "log": np.log, "log1p": np.log1p, "expm1": np.expm1, "sqrt": np.sqrt, "abs": np.abs,
    "tanh": np.tanh, "sinh": np.sinh, "cosh": np.cosh, "sin": np.sin, "cos": np.cos, "tan": np.tan,
    "atan": np.arctan, "asinh": np.arcsinh, "acosh": np.arccosh, "atanh": np.arctanh, "asin": np.arcsin,
    "acos": np.arccos, "erf": _np_erf, "erfc": _np_erfc, "sign": np.sign, "sigmoid": sigmoid,
    "softplus": softplus, "sech2": sech2, "sech": lambda a: 1.0 / np.cosh(a),
    "heaviside": lambda a, h0: np.heaviside(a, h0), "max": _np_max, "min": _np_min,
    "where": lambda x, c, a, b: np.where(c, a, b), "and": np.logical_and, "or": np.logical_or,
    "not": np.logical_not, "full": lambda like, v: v,
}


@functools.lru_cache(maxsize=None)
def torch_ops() -> dict[str, Callable]:
    """The same table for torch (imported here); Max and Min pass no gradient at a tie, as f′ says."""
    import torch
    import torch.nn.functional as F

    def tensor(v, like):
        return v if torch.is_tensor(v) else torch.full_like(like, float(v))

    def fold(args, strict, plain):
        out = args[0]
        for b in args[1:]:
            a, b = (out, b) if torch.is_tensor(out) else (tensor(out, b), b)
            b = tensor(b, a)
            # a wins where strictly ahead, b likewise; a tie passes no gradient (f′ takes H(0) = 0),
            # and a nan on either side is the value, as numpy's maximum says
            out = torch.where(strict(a, b), a, torch.where(strict(b, a), b, plain(a, b).detach()))
        return out

    def maximum(args):
        if len(args) == 2 and any(not torch.is_tensor(a) and a == 0.0 for a in args):
            return torch.relu(next(a for a in args if torch.is_tensor(a)))  # relu′(0) = 0, as the fold
        return fold(args, torch.gt, torch.maximum)

    def minimum(args):
        if len(args) == 2 and any(not torch.is_tensor(a) and a == 0.0 for a in args):
            return -torch.relu(-next(a for a in args if torch.is_tensor(a)))
        return fold(args, torch.lt, torch.minimum)

    def where(x, c, a, b):
        return torch.where(c, tensor(a, x), tensor(b, x))

    return {
        "exp": torch.exp, "log": torch.log, "log1p": torch.log1p, "expm1": torch.expm1, "sqrt": torch.sqrt,
        "abs": torch.abs, "tanh": torch.tanh, "sinh": torch.sinh, "cosh": torch.cosh, "sin": torch.sin,
        "cos": torch.cos, "tan": torch.tan, "atan": torch.atan, "asinh": torch.asinh, "acosh": torch.acosh,
        "atanh": torch.atanh, "asin": torch.asin, "acos": torch.acos, "erf": torch.erf, "erfc": torch.erfc,
        "sign": torch.sign, "sigmoid": torch.sigmoid,
        "softplus": lambda a: F.softplus(a, threshold=SOFTPLUS_EXACT_THRESHOLD),
        "sech2": lambda a: 1.0 / torch.cosh(a) ** 2, "sech": lambda a: 1.0 / torch.cosh(a),
        "heaviside": lambda a, h0: torch.heaviside(a, torch.tensor(float(h0), dtype=a.dtype)),
        "max": maximum, "min": minimum, "where": where, "and": torch.logical_and, "or": torch.logical_or,
        "not": torch.logical_not, "full": lambda like, v: tensor(v, like),
    }


_FUNCTION_NAMES = ("exp", "log", "sin", "cos", "tan", "tanh", "sinh", "cosh", "atan", "asinh", "acosh",
                   "atanh", "asin", "acos", "erf", "erfc", "sign", "sech")


def compile_expr(expr, ops: dict[str, Callable]) -> Callable:
    """A function of x (array or tensor) computing `expr` with the table `ops`: no exec, no lambdify."""
    return _Compiler(ops).walk(expr)


class _Compiler:
    def __init__(self, ops):
        self.ops, self.S = ops, sym()
        self.sp = self.S.sympy

    def walk(self, e) -> Callable:
        sp = self.sp
        if e == self.S.x:
            return lambda x: x
        if isinstance(e, sp.logic.boolalg.BooleanAtom):
            value = bool(e)
            return lambda x: value
        if e.is_number and not isinstance(e, sp.logic.boolalg.Boolean):
            value = constant(e)
            return lambda x: value
        return self.node(e)

    def node(self, e) -> Callable:
        sp, S, ops = self.sp, self.S, self.ops
        name = type(e).__name__
        if isinstance(e, sp.Add):
            return self.add(e)
        if isinstance(e, sp.Mul):
            return self.product(e)
        if isinstance(e, sp.Pow):
            return self.power(e)
        if isinstance(e, sp.log):
            return self.log(e.args[0])
        if isinstance(e, (S.sigmoid, S.softplus)):
            return self.unary(ops[name], e.args[0])
        if isinstance(e, sp.Abs):
            return self.unary(ops["abs"], e.args[0])
        if isinstance(e, sp.Heaviside):
            a = self.walk(e.args[0])
            h0 = constant(e.args[1]) if len(e.args) > 1 else 0.5
            heaviside = ops["heaviside"]
            return lambda x: heaviside(a(x), h0)
        if isinstance(e, (sp.Max, sp.Min)):
            parts, combine = [self.walk(a) for a in e.args], ops["max" if isinstance(e, sp.Max) else "min"]
            return lambda x: combine([p(x) for p in parts])
        if isinstance(e, sp.Piecewise):
            return self.piecewise(e)
        if isinstance(e, sp.core.relational.Relational) and e.rel_op in ("<", "<=", ">", ">="):
            a, b = self.walk(e.lhs), self.walk(e.rhs)
            compare = {"<": lambda p, q: p < q, "<=": lambda p, q: p <= q,
                       ">": lambda p, q: p > q, ">=": lambda p, q: p >= q}[e.rel_op]
            return lambda x: compare(a(x), b(x))
        if isinstance(e, (sp.And, sp.Or)):
            parts, combine = [self.walk(a) for a in e.args], ops["and" if isinstance(e, sp.And) else "or"]
            return lambda x: functools.reduce(combine, [p(x) for p in parts])
        if isinstance(e, sp.Not):
            a, negate = self.walk(e.args[0]), ops["not"]
            return lambda x: negate(a(x))
        if isinstance(e, sp.exp):
            return self.unary(ops["exp"], e.args[0])
        if name in _FUNCTION_NAMES and len(e.args) == 1:
            return self.unary(ops[name], e.args[0])
        raise Untranslatable(name)

    def unary(self, fn, arg) -> Callable:
        a = self.walk(arg)
        return lambda x: fn(a(x))

    def add(self, e) -> Callable:
        """A sum k + c·g(a) + …, with the pair k + c·g(a) in a form that does not cancel (see pair)."""
        terms = list(e.args)
        k = next((t for t in terms if t.is_Number), None)
        pair = self.pair(terms, k) if k is not None else None
        parts = []
        if pair is not None:
            fn, arg, scale, used = pair
            terms = [t for t in terms if t is not used and not t.is_Number]
            a = self.walk(arg)
            parts.append(lambda x: scale * fn(a(x)))
        parts += [self.walk(t) for t in terms]
        if len(parts) == 1:
            return parts[0]
        return lambda x: functools.reduce(lambda s, f: s + f(x), parts[1:], parts[0](x))

    def pair(self, terms, k):
        """(function, argument, scale, term) for the first term c·g(a) that makes a stable pair with the
        constant k: k − k·tanh²(a) = k·sech²(a), k·eᵃ − k = k·expm1(a), k ± k·erf(a) = k·erfc(∓a),
        and sympy's own erfc(−a) = 2 − erfc(a) undone: 2k − k·erfc(a) = k·erfc(−a)."""
        sp, ops = self.sp, self.ops
        for t in terms:
            c, rest = t.as_coeff_Mul()
            if rest.is_number:  # erf(π) + 1: a constant, folded as such
                continue
            if c == -k and rest.is_Pow and rest.exp == 2 and isinstance(rest.base, sp.tanh):
                return ops["sech2"], rest.base.args[0], constant(k), t
            if c == -k and isinstance(rest, sp.exp):
                return ops["expm1"], rest.args[0], constant(c), t
            if c in (k, -k) and isinstance(rest, sp.erf):
                return ops["erfc"], -rest.args[0] if c == k else rest.args[0], constant(k), t
            if 2 * c == -k and isinstance(rest, sp.erfc):
                return ops["erfc"], -rest.args[0], constant(-c), t
        return None

    def product(self, e) -> Callable:
        """A product, with eᵃ·(1 + eᵃ)⁻ⁿ as σ(a)·σ(−a)ⁿ⁻¹ (how sympy writes σ′): finite where eᵃ is not."""
        sp, ops = self.sp, self.ops
        factors = list(e.args)
        for i, f in enumerate(factors):
            if not (f.is_Pow and f.exp.is_Integer and f.exp < 0 and _one_plus_exp(f.base, sp) is not None):
                continue
            a = _one_plus_exp(f.base, sp)
            j = next((j for j, g in enumerate(factors) if isinstance(g, sp.exp) and g.args[0] == a), None)
            if j is None:
                continue
            n = int(-f.exp)
            s, t = self.unary(ops["sigmoid"], a), self.unary(ops["sigmoid"], -a)
            factors = [g for k, g in enumerate(factors) if k not in (i, j)]
            rest = [self.walk(g) for g in factors]
            return lambda x: functools.reduce(lambda p, g: p * g(x), rest, s(x) * t(x) ** (n - 1))
        parts = [self.walk(a) for a in e.args]
        return lambda x: functools.reduce(lambda p, g: p * g(x), parts[1:], parts[0](x))

    def power(self, e) -> Callable:
        sp, ops = self.sp, self.ops
        base, exponent = e.base, e.exp
        # (1 + eᵃ)⁻ⁿ = σ(−a)ⁿ: the form sympy writes σ in, stable where eᵃ overflows
        if exponent.is_Integer and exponent < 0 and _one_plus_exp(base, sp) is not None:
            s = self.unary(ops["sigmoid"], -_one_plus_exp(base, sp))
            n = int(-exponent)
            return s if n == 1 else (lambda x: s(x) ** n)
        if isinstance(base, sp.sech) and exponent == 2:
            return self.unary(ops["sech2"], base.args[0])
        if exponent == sp.Rational(1, 2):
            return self.unary(ops["sqrt"], base)
        if exponent == sp.Rational(-1, 2):
            root = self.unary(ops["sqrt"], base)
            return lambda x: 1.0 / root(x)
        b, p = self.walk(base), self.walk(exponent)
        if exponent.is_Integer:
            n = int(exponent)  # an integer power of a negative base is real; a float one is nan in torch
            if n == -1:
                return lambda x: 1.0 / b(x)
            return lambda x: b(x) ** n
        return lambda x: b(x) ** p(x)

    def log(self, arg) -> Callable:
        """ln(1 + eᵃ) as softplus(a), ln(1 + a) as log1p(a), else ln."""
        sp, ops = self.sp, self.ops
        inner = _one_plus_exp(arg, sp)
        if inner is not None:
            return self.unary(ops["softplus"], inner)
        if isinstance(arg, sp.Add) and sp.Integer(1) in arg.args:
            return self.unary(ops["log1p"], arg - 1)
        return self.unary(ops["log"], arg)

    def piecewise(self, e) -> Callable:
        where = self.ops["where"]
        pieces = [(self.walk(expr), self.walk(cond)) for expr, cond in e.args]
        full = self.ops["full"]

        def choose(x, c, a, b):  # a condition without x is a plain bool
            return (a if c else b) if isinstance(c, (bool, np.bool_)) else where(x, c, a, b)

        def f(x):
            value, cond = pieces[-1]
            out = choose(x, cond(x), value(x), full(x, math.nan))
            for value, cond in reversed(pieces[:-1]):
                out = choose(x, cond(x), value(x), out)
            return out
        return f


def _one_plus_exp(e, sp):
    """a when e is 1 + eᵃ, else None."""
    if isinstance(e, sp.Add) and len(e.args) == 2 and sp.Integer(1) in e.args:
        other = e.args[0] if e.args[1] == 1 else e.args[1]
        if isinstance(other, sp.exp):
            return other.args[0]
    return None


def constant(e) -> float:
    """A part without x as a float64 (through the numpy walker, not evalf: evalf of e^(e^(e^10)) hangs)."""
    sp = sym().sympy
    if isinstance(e, (sp.Integer, sp.Rational, sp.Float)):
        try:
            return float(e)
        except OverflowError:
            return math.inf if e > 0 else -math.inf
    if e is sp.pi:
        return math.pi
    if e is sp.E:
        return math.e
    with np.errstate(all="ignore"):
        return float(_Compiler(NUMPY_OPS).node(e)(np.float64(0.0)))


def numpy_function(expr) -> Callable[[np.ndarray], np.ndarray]:
    fn = compile_expr(expr, NUMPY_OPS)

    def f(x):
        with np.errstate(all="ignore"):  # a user's formula may overflow: inf and nan are its values there
            return np.array(np.broadcast_to(fn(x), np.shape(x)), dtype=np.float64)
    return f

def check_grid() -> np.ndarray:
    """Where the numeric checks look: dense on [−10, 10], logarithmic out to ±1e6, and 0 itself."""
    far = np.logspace(-3, 6, 400)
    return np.unique(np.concatenate([np.linspace(-10, 10, 4001), far, -far, [0.0]]))
