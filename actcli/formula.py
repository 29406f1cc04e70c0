"""An activation from a formula string in x, parsed safely: `from_formula("x*tanh(softplus(x))")`.

The text never reaches eval, exec, sympify or parse_expr. Python's `ast` parses it, a whitelist walks
the tree (with bounds on length, nesting, size, exponents and constants, all checked before sympy
builds anything), and the sympy expression is then built node by node. Grammar:

    numbers (int, float)   x   pi   e   + - * / **   unary - +
    exp log log1p expm1 sqrt abs tanh sinh cosh sin cos atan sigmoid softplus erf erfc relu   (one argument)
    max(a, b, …) min(a, b, …)   (two or more)       where(cond, a, b)   (cond: a < b, <=, >, >=)

An exponent that does not depend on x must lie in [−64, 64]; one that does (x**x, 2**x) is allowed.

sympy derives f′ (max, min and relu take H(0) = 0 at a kink: relu′(0) = 0, as the registry); numpy
(float64) and torch forms are compiled from the two expressions by a small tree walker (no lambdify:
nothing is exec'd), which picks the stable form of sigmoid, softplus, log1p, expm1, erfc and sech²
wherever the expression has that shape.

The properties are computed on first use, each sympy call bounded in time (SIGALRM; off the main
thread only small expressions are tried), and are None (or "unknown") where sympy cannot decide:
  monotonic       False on a numeric counterexample (f drops between grid points by more than
                  rounding); True when sympy shows f continuous on ℝ and f′ ≥ 0 (its assumptions,
                  or calculus.singularities.is_increasing); else None
  output_range    calculus.util.function_range; for a proven monotonic f, the limits at ±∞
  zero_centred    f(0) = 0 exactly and a grid point of each sign; False when f(0) ≠ 0 or f ≥ 0 is proven
  smooth_at_zero  the one-sided limits of f′ at 0 agree and are finite
  saturates       the limits of f′ at ±∞ that are 0

sympy and torch are imported only inside functions, so importing this module costs little.
"""

from __future__ import annotations

import ast
import dataclasses
import difflib
import functools
import math
import re
import signal
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from .activations import SOFTPLUS_EXACT_THRESHOLD, Activation, Properties, _erfc, _sech2, _sigmoid, _softplus
from .errors import UsageProblem

MAX_LENGTH = 500        # characters: a longer text fails before it is even parsed
MAX_DEPTH = 30          # nesting levels (a chain a + b + c + … counts once)
MAX_NODES = 200         # numbers, names, operators and calls
MAX_EXPONENT = 64       # |p| in a**p where p does not depend on x: x**10**10 fails in microseconds
MAX_LITERAL = 1e15      # |number| as written
MAX_CONSTANT = 1e100    # |value| of any part without x, e.g. exp(300): sympy's evalf of huge ones can hang

BUILD_SECONDS = 2.0     # building and differentiating the expression
SIMPLIFY_SECONDS = 1.0  # sympy.simplify of f′; the unsimplified f′ is kept when it runs out
SIMPLIFY_MAX_OPS = 150  # f′ bigger than this is not even offered to simplify
SIMPLIFY_MIN_OPS = 12   # f′ this small is shown as sympy.diff gives it: simplify's first call costs ≈ 0.7 s
                        # (it imports sympy's trigsimp), which would put `derive` of Mish over 1 s
ANALYSIS_SECONDS = 6.0  # all the sympy calls behind `properties`, together
CALL_SECONDS = 1.5      # one limit, range or proof


FORMULA_CHARS = frozenset("()+*/^<>,")  # any of them: the text is a formula, not a registry name
_X_TOKEN = re.compile(r"(?<![A-Za-z0-9_.])x(?![A-Za-z0-9_])")

UNARY = ("exp", "log", "log1p", "expm1", "sqrt", "abs", "tanh", "sinh", "cosh", "sin", "cos", "atan",
         "sigmoid", "softplus", "erf", "erfc", "relu")
FUNCTIONS = (*UNARY, "max", "min", "where")
CONSTANTS = {"pi": math.pi, "e": math.e}

_OPERATORS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**", ast.Mod: "%",
              ast.FloorDiv: "//", ast.MatMult: "@", ast.LShift: "<<", ast.RShift: ">>", ast.BitOr: "|",
              ast.BitAnd: "&", ast.BitXor: "^"}
_ALLOWED_BINOPS = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow)
_COMPARISONS = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">="}
_BANNED = {  # node type: why, in the words a user knows
    ast.Lambda: "lambda is not allowed", ast.ListComp: "comprehensions are not allowed",
    ast.SetComp: "comprehensions are not allowed", ast.DictComp: "comprehensions are not allowed",
    ast.GeneratorExp: "comprehensions are not allowed", ast.Subscript: "subscripts are not allowed",
    ast.Attribute: "attribute access is not allowed", ast.JoinedStr: "strings are not allowed",
    ast.Tuple: "tuples are not allowed", ast.List: "lists are not allowed", ast.Set: "sets are not allowed",
    ast.Dict: "dicts are not allowed", ast.IfExp: "'a if c else b' is not allowed: write where(c, a, b)",
    ast.BoolOp: "'and' and 'or' are not allowed", ast.NamedExpr: "':=' is not allowed",
    ast.Starred: "'*' arguments are not allowed", ast.Await: "'await' is not allowed",
    ast.Yield: "'yield' is not allowed", ast.YieldFrom: "'yield' is not allowed",
    ast.Slice: "slices are not allowed",
}


class FormulaError(UsageProblem):
    """A formula that cannot be parsed, is not allowed, or does not make an activation."""

    def __init__(self, text: str, reason: str):
        self.text, self.reason = text, reason
        super().__init__(" ".join(f"formula {_shown(text)}: {reason}".splitlines()))  # one line, always

    def __reduce__(self):  # picklable, so that it can travel back from a worker process
        return type(self), (self.text, self.reason)


def _shown(text: str, limit: int = 60) -> str:
    """The text as quoted in a message: repr'd (so no newline survives) and cut to `limit` characters."""
    if len(text) <= limit:
        return repr(text)
    return f"{text[:limit]!r}… ({len(text):,} characters)"


def looks_like_formula(text: str) -> bool:
    """True when `text` is meant as a formula (a bracket, an operator or the token x), not a registry name."""
    return any(c in FORMULA_CHARS for c in text) or _X_TOKEN.search(text) is not None


# ---------------------------------------------------------------------------------------------
# Parsing: bounds, then the whitelist, then sympy node by node
# ---------------------------------------------------------------------------------------------

_VAR = object()  # what a part that depends on x evaluates to in the checking pass (others give a float)


def _fail(text: str, reason: str):
    raise FormulaError(text, reason)


def _bracket_depth(text: str) -> int:
    """Deepest nesting of (, [ and {: measured before ast.parse sees the text."""
    depth = deepest = 0
    for c in text:
        if c in "([{":
            depth += 1
            deepest = max(deepest, depth)
        elif c in ")]}":
            depth -= 1
    return deepest


def _tree_size(tree: ast.AST) -> tuple[int, int]:
    """(expression nodes, nesting depth), iteratively; a chain of one operator (a + b − c) is one level."""
    nodes, deepest = 0, 0
    stack = [(tree, 0, None)]
    while stack:
        node, depth, group = stack.pop()
        own = _op_group(node)
        if isinstance(node, ast.expr):
            nodes += 1
            if own is None or own != group:
                depth += 1
            deepest = max(deepest, depth)
        for child in ast.iter_child_nodes(node):
            stack.append((child, depth, own))
    return nodes, deepest


def _op_group(node: ast.AST) -> str | None:
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub)):
        return "+"
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Mult, ast.Div)):
        return "*"
    return None


def _syntax_tree(text: str) -> ast.Expression:
    """ast.parse under the cheap bounds; a syntax error names its column."""
    if not text:
        _fail(text, "the formula is empty")
    if len(text) > MAX_LENGTH:
        _fail(text, f"too long: at most {MAX_LENGTH} characters")
    if _bracket_depth(text) > MAX_DEPTH:
        _fail(text, f"nested too deeply: at most {MAX_DEPTH} levels of brackets")
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as e:
        where = f"at column {e.offset}" if e.offset and e.offset <= len(text) else "at the end"
        _fail(text, f"syntax error {where} ({e.msg})")
    except (ValueError, RecursionError, MemoryError) as e:  # a NUL byte; pathological nesting
        _fail(text, f"cannot be parsed ({type(e).__name__})")
    nodes, depth = _tree_size(tree)
    if nodes > MAX_NODES:
        _fail(text, f"too big: {nodes} parts, at most {MAX_NODES}")
    if depth > MAX_DEPTH:
        _fail(text, f"nested too deeply: {depth} levels, at most {MAX_DEPTH}")
    return tree


class _Checker:
    """The whitelist: every problem in the tree, reported by the first in reading order.

    It also evaluates each part without x in float64 (math module, no sympy), so that exponents and
    constants are bounded before sympy builds them."""

    def __init__(self, text: str):
        self.text = text
        self.problems: list[tuple[int, int, str]] = []  # (column, −depth, reason): leftmost, then innermost

    def segment(self, node: ast.AST) -> str:
        return ast.get_source_segment(self.text, node) or type(node).__name__

    def problem(self, node: ast.AST, depth: int, reason: str) -> None:
        self.problems.append((getattr(node, "col_offset", 0), -depth, reason))

    def run(self, tree: ast.Expression) -> None:
        value = self.visit(tree.body, 1)
        if not self.problems and value is not _VAR:
            _fail(self.text, "has no x: an activation is a function of x")
        if self.problems:
            _fail(self.text, min(self.problems)[2])

    def visit(self, node: ast.AST, depth: int, condition: bool = False):
        """_VAR, a float (the part's value), or None where the part has a problem."""
        handler = getattr(self, "visit_" + type(node).__name__, None)
        if type(node) in _BANNED:
            self.problem(node, depth, f"{_BANNED[type(node)]} ({self.segment(node)!r})")
            if isinstance(node, (ast.Attribute, ast.Subscript)):
                self.visit(node.value, depth + 1)  # __import__('os').system: the name is the real problem
            return None
        if handler is None:
            self.problem(node, depth, f"{type(node).__name__} is not allowed ({self.segment(node)!r})")
            return None
        if isinstance(node, ast.Compare) and not condition:
            self.problem(node, depth, f"a comparison is only allowed as where's first argument "
                                      f"({self.segment(node)!r})")
            return None
        return self.bounded(node, depth, handler(node, depth))

    def bounded(self, node: ast.AST, depth: int, value):
        """The value of a part without x must be a finite real number of modest size."""
        if value is None or value is _VAR or isinstance(value, bool):
            return value
        if isinstance(value, complex) or math.isnan(value):
            self.problem(node, depth, f"{self.segment(node)!r} is not a real number")
            return None
        if abs(value) > MAX_CONSTANT:
            self.problem(node, depth, f"{self.segment(node)!r} is too large (at most {MAX_CONSTANT:g} in size)")
            return None
        return value

    def visit_Constant(self, node: ast.Constant, depth: int):
        v = node.value
        if isinstance(v, (str, bytes)):
            self.problem(node, depth, f"strings are not allowed ({self.segment(node)})")
        elif isinstance(v, bool) or v is None or v is Ellipsis:
            self.problem(node, depth, f"{v!r} is not a number")
        elif isinstance(v, complex):
            self.problem(node, depth, f"complex numbers are not allowed ({self.segment(node)})")
        elif not math.isfinite(v) or abs(v) > MAX_LITERAL:
            self.problem(node, depth, f"the number {self.segment(node)} is too large (at most {MAX_LITERAL:g})")
        else:
            return float(v)
        return None

    def visit_Name(self, node: ast.Name, depth: int):
        if node.id == "x":
            return _VAR
        if node.id in CONSTANTS:
            return CONSTANTS[node.id]
        if node.id in FUNCTIONS:
            self.problem(node, depth, f"{node.id!r} is a function: call it, as in {node.id}(x)")
        else:
            self.problem(node, depth, f"unknown name {node.id!r}{_did_you_mean(node.id, ['x', *CONSTANTS])}: "
                                      "the one variable is x")
        return None

    def visit_UnaryOp(self, node: ast.UnaryOp, depth: int):
        if not isinstance(node.op, (ast.USub, ast.UAdd)):
            word = {ast.Not: "not", ast.Invert: "~"}.get(type(node.op), "?")
            self.problem(node, depth, f"operator {word!r} is not allowed ({self.segment(node)!r})")
            return None
        v = self.visit(node.operand, depth + 1)
        if v is None or v is _VAR:
            return v
        return -v if isinstance(node.op, ast.USub) else v

    def visit_BinOp(self, node: ast.BinOp, depth: int):
        a, b = self.visit(node.left, depth + 1), self.visit(node.right, depth + 1)
        if not isinstance(node.op, _ALLOWED_BINOPS):
            symbol = _OPERATORS.get(type(node.op), "?")
            hint = ": write ** for a power" if symbol == "^" else ""
            self.problem(node, depth, f"operator {symbol!r} is not allowed ({self.segment(node)!r}){hint}")
            return None
        if isinstance(node.op, ast.Pow) and b is not None and b is not _VAR and abs(b) > MAX_EXPONENT:
            self.problem(node, depth, f"exponent {self.segment(node.right)!r} is too large "
                                      f"(at most {MAX_EXPONENT} in size) in {self.segment(node)!r}")
            return None
        if isinstance(node.op, ast.Div) and b == 0.0:
            self.problem(node, depth, f"division by zero ({self.segment(node)!r})")
            return None
        if a is None or b is None:
            return None
        if a is _VAR or b is _VAR:
            return _VAR
        try:
            if isinstance(node.op, ast.Add):
                return a + b
            if isinstance(node.op, ast.Sub):
                return a - b
            if isinstance(node.op, ast.Mult):
                return a * b
            if isinstance(node.op, ast.Div):
                return a / b
            return a ** b  # |b| ≤ 64 and |a| ≤ 1e100: cheap; complex for (−8)**(1/3)
        except OverflowError:
            return math.inf
        except ZeroDivisionError:
            self.problem(node, depth, f"division by zero ({self.segment(node)!r})")
            return None

    def visit_Compare(self, node: ast.Compare, depth: int):
        if len(node.ops) > 1:
            self.problem(node, depth, f"chained comparisons are not allowed ({self.segment(node)!r}): "
                                      "nest where() instead")
            return None
        op = type(node.ops[0])
        a, b = self.visit(node.left, depth + 1), self.visit(node.comparators[0], depth + 1)
        if op not in _COMPARISONS:
            self.problem(node, depth, f"only <, <=, > and >= compare ({self.segment(node)!r})")
            return None
        if a is None or b is None:
            return None
        if a is _VAR or b is _VAR:
            return _VAR
        return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[_COMPARISONS[op]]

    def visit_Call(self, node: ast.Call, depth: int):
        for kw in node.keywords:
            self.problem(kw, depth + 1, f"keyword arguments are not allowed ({self.segment(kw)!r})")
        args = [self.visit(a, depth + 1, condition=(i == 0 and _name(node.func) == "where"))
                for i, a in enumerate(node.args)]
        if not isinstance(node.func, ast.Name):
            known = len(self.problems)
            self.visit(node.func, depth + 1)  # (lambda: 1)() is a lambda's problem first
            if len(self.problems) == known:
                self.problem(node, depth, f"only named functions can be called ({self.segment(node.func)!r})")
            return None
        name = node.func.id
        if name not in FUNCTIONS:
            if name == "x" or name in CONSTANTS:
                reason = f"{name!r} is not a function ({self.segment(node)!r})"
            elif name.startswith("__"):
                reason = f"{name!r} is not a known function"
            elif "·" in name:
                reason = f"unknown function {name!r}: write * to multiply"
            else:
                hint = _did_you_mean(name, FUNCTIONS) or f" (the functions: {', '.join(sorted(FUNCTIONS))})"
                reason = f"unknown function {name!r}{hint}"
            self.problem(node.func, depth + 1, reason)
            return None
        n = len(node.args)
        wanted = 3 if name == "where" else 1 if name in UNARY else 2
        if (n < wanted) if name in ("max", "min") else (n != wanted):
            count = f"at least {wanted}" if name in ("max", "min") else str(wanted)
            self.problem(node, depth, f"{name} takes {count} argument{'s' * (wanted > 1)}, not {n} "
                                      f"({self.segment(node)!r})")
            return None
        if name == "where" and not isinstance(node.args[0], ast.Compare):
            self.problem(node.args[0], depth + 1, f"where's first argument must be a comparison such as x > 0, "
                                                  f"not {self.segment(node.args[0])!r}")
            return None
        if node.keywords or any(a is None for a in args):
            return None
        if any(a is _VAR for a in args):
            return _VAR
        return _float_call(name, args)


def _name(node: ast.AST) -> str | None:
    return node.id if isinstance(node, ast.Name) else None


def _did_you_mean(name: str, choices) -> str:
    close = difflib.get_close_matches(name.lower(), list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _float_call(name: str, args: list) -> float:
    """A function of constants in float64: inf on overflow, nan outside the domain (log(−1))."""
    if name == "max":
        return max(args)
    if name == "min":
        return min(args)
    if name == "where":
        return args[1] if args[0] else args[2]
    a = args[0]
    table: dict[str, Callable[[float], float]] = {
        "abs": abs, "relu": lambda t: max(t, 0.0), "sigmoid": lambda t: float(_sigmoid(np.float64(t))),
        "softplus": lambda t: float(_softplus(np.float64(t))), "atan": math.atan,
    }
    fn = table.get(name) or getattr(math, name)
    try:
        return float(fn(a))
    except OverflowError:
        return math.inf
    except ValueError:  # log(0), log(−1), sqrt(−1)
        return math.nan


def _stripped(text: str) -> str:
    """The text without surrounding blanks; one far too long fails before it is even copied."""
    if not isinstance(text, str):
        raise TypeError(f"a formula is text, not {type(text).__name__}")
    if len(text) > 4 * MAX_LENGTH:
        _fail(text, f"too long: at most {MAX_LENGTH} characters")
    return text.strip()


def parse(text: str):
    """The sympy expression of a formula in x (see the module's grammar); FormulaError otherwise."""
    text = _stripped(text)
    tree = _syntax_tree(text)
    _Checker(text).run(tree)
    S = _sym()
    try:
        expr = _bounded(lambda: _Builder(text, S).build(tree.body), BUILD_SECONDS)
    except _TooSlow:
        _fail(text, f"too costly to build (more than {BUILD_SECONDS:g} s)")
    if S.x not in expr.free_symbols:
        _fail(text, f"has no x once simplified (it is {_canonical(expr)}): an activation is a function of x")
    return expr


class _Builder:
    """The sympy expression, node by node, from a tree the checker passed."""

    def __init__(self, text: str, S):
        self.text, self.S, self.sp = text, S, S.sympy

    def build(self, node: ast.AST):
        expr = getattr(self, "build_" + type(node).__name__)(node)
        sp = self.sp
        if isinstance(expr, sp.Basic) and not isinstance(expr, sp.logic.boolalg.Boolean):
            if expr.has(sp.zoo, sp.nan, sp.oo, -sp.oo):
                _fail(self.text, f"{ast.get_source_segment(self.text, node)!r} is undefined (division by zero?)")
            if expr.has(sp.I):
                _fail(self.text, f"{ast.get_source_segment(self.text, node)!r} is not a real number")
        return expr

    def build_Constant(self, node: ast.Constant):
        if isinstance(node.value, int):
            return self.sp.Integer(node.value)
        # A float keeps the digits as written (0.044715 prints so); the analysis works on exact rationals.
        return self.sp.Float(node.value)

    def build_Name(self, node: ast.Name):
        return {"x": self.S.x, "pi": self.sp.pi, "e": self.sp.E}[node.id]

    def build_UnaryOp(self, node: ast.UnaryOp):
        a = self.build(node.operand)
        return -a if isinstance(node.op, ast.USub) else a

    def build_BinOp(self, node: ast.BinOp):
        a, b = self.build(node.left), self.build(node.right)
        op = type(node.op)
        if op is ast.Add:
            return a + b
        if op is ast.Sub:
            return a - b
        if op is ast.Mult:
            return a * b
        if op is ast.Div:
            return a / b
        return a ** b

    def build_Compare(self, node: ast.Compare):
        a, b = self.build(node.left), self.build(node.comparators[0])
        sp = self.sp
        return {ast.Lt: sp.Lt, ast.LtE: sp.Le, ast.Gt: sp.Gt, ast.GtE: sp.Ge}[type(node.ops[0])](a, b)

    def build_Call(self, node: ast.Call):
        sp, S = self.sp, self.S
        name = node.func.id
        args = [self.build(a) for a in node.args]
        if name == "where":
            return sp.Piecewise((args[1], args[0]), (args[2], True))
        if name in ("max", "min"):
            return (sp.Max if name == "max" else sp.Min)(*args)
        a = args[0]
        make = {"exp": sp.exp, "log": sp.log, "sqrt": sp.sqrt, "abs": sp.Abs, "tanh": sp.tanh,
                "sinh": sp.sinh, "cosh": sp.cosh, "sin": sp.sin, "cos": sp.cos, "atan": sp.atan,
                "erf": sp.erf, "erfc": sp.erfc, "sigmoid": S.sigmoid, "softplus": S.softplus,
                "relu": lambda t: sp.Max(0, t),
                # log(1 + a) and eˣ − 1 as such, so that limits and proofs see them; the numeric forms
                # recognise the shapes and use log1p and expm1 again.
                "log1p": lambda t: sp.log(1 + t), "expm1": lambda t: sp.exp(t) - 1}
        return make[name](a)


# ---------------------------------------------------------------------------------------------
# sympy, lazily: the symbol, sigmoid and softplus as functions of their own, the printers
# ---------------------------------------------------------------------------------------------

@functools.lru_cache(maxsize=None)
def _sym():
    """sympy and what this module adds to it, made on first use (importing sympy takes ~0.2 s)."""
    import types

    import sympy
    from sympy.printing.latex import LatexPrinter
    from sympy.printing.str import StrPrinter

    x = sympy.Symbol("x", real=True)

    class sigmoid(sympy.Function):
        """σ(a) = 1/(1 + e⁻ᵃ), kept whole: σ′ = σ(a)·σ(−a) does not cancel, and numpy gets the stable σ."""

        @classmethod
        def eval(cls, a):
            if a.is_zero:
                return sympy.Rational(1, 2)
            if a is sympy.oo:
                return sympy.Integer(1)
            if a is -sympy.oo:
                return sympy.Integer(0)
            return None

        def fdiff(self, argindex=1):
            a = self.args[0]
            return sigmoid(a) * sigmoid(-a)

        def _eval_is_extended_real(self):
            return self.args[0].is_extended_real

        def _eval_is_positive(self):
            return True if self.args[0].is_extended_real else None

        def _eval_is_finite(self):
            return True if self.args[0].is_extended_real else None

        def _eval_rewrite_as_exp(self, a, **kwargs):
            return 1 / (1 + sympy.exp(-a))

        def _eval_evalf(self, prec):  # so that sympy can compare σ(c) with a number (max, where)
            return (1 / (1 + sympy.exp(-self.args[0])))._eval_evalf(prec)

        def _latex(self, printer, exp=None):
            s = r"\sigma\left(%s\right)" % printer._print(self.args[0])
            return s if exp is None else r"\sigma^{%s}\left(%s\right)" % (exp, printer._print(self.args[0]))

    class softplus(sympy.Function):
        """ln(1 + eᵃ), kept whole: softplus′ = σ, and numpy gets max(a, 0) + log1p(e^(−|a|))."""

        @classmethod
        def eval(cls, a):
            if a.is_zero:
                return sympy.log(2)
            if a is sympy.oo:
                return sympy.oo
            if a is -sympy.oo:
                return sympy.Integer(0)
            return None

        def fdiff(self, argindex=1):
            return sigmoid(self.args[0])

        def _eval_is_extended_real(self):
            return self.args[0].is_extended_real

        def _eval_is_positive(self):
            return True if self.args[0].is_extended_real else None

        def _eval_is_finite(self):
            return self.args[0].is_finite

        def _eval_rewrite_as_log(self, a, **kwargs):
            return sympy.log(1 + sympy.exp(a))

        def _eval_evalf(self, prec):
            return sympy.log(1 + sympy.exp(self.args[0]))._eval_evalf(prec)

        def _latex(self, printer, exp=None):
            name = r"\operatorname{softplus}" + ("" if exp is None else "^{%s}" % exp)
            return r"%s\left(%s\right)" % (name, printer._print(self.args[0]))

    class Printer(StrPrinter):
        """str() in this module's grammar, so that the canonical text parses back to the same expression."""

        def _print_Float(self, e):
            return repr(float(e))

        def _print_Abs(self, e):
            return f"abs({self._print(e.args[0])})"

        def _print_Max(self, e):
            return f"max({', '.join(self._print(a) for a in e.args)})"

        def _print_Min(self, e):
            return f"min({', '.join(self._print(a) for a in e.args)})"

        def _print_Exp1(self, e):
            return "e"

        def _print_Heaviside(self, e):
            a = self._print(e.args[0])
            h0 = e.args[1] if len(e.args) > 1 else sympy.Rational(1, 2)
            if h0 == 0:
                return f"where({a} > 0, 1, 0)"
            return f"where({a} > 0, 1, where({a} < 0, 0, {self._print(h0)}))"

        def _print_Piecewise(self, e):
            pieces = list(e.args)
            last_expr, last_cond = pieces[-1]
            rest = self._print(last_expr) if last_cond == sympy.true else "nan"
            for expr, cond in reversed(pieces[:-1] if last_cond == sympy.true else pieces):
                rest = f"where({self._print(cond)}, {self._print(expr)}, {rest})"
            return rest

    class Latex(LatexPrinter):
        def _print_Heaviside(self, e, exp=None):
            s = r"\theta\left(%s\right)" % self._print(e.args[0])
            return s if exp is None else r"%s^{%s}" % (s, exp)

    return types.SimpleNamespace(sympy=sympy, x=x, sigmoid=sigmoid, softplus=softplus,
                                 printer=Printer(), latex=Latex())


def _canonical(expr) -> str:
    """The formula as text in this module's grammar (parse(_canonical(e)) gives e back)."""
    return _sym().printer.doprint(expr)


_SUPERSCRIPTS = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


def _unicode(expr) -> str:
    """One line for people: x·σ(x), x², π, −, ≤."""
    s = _canonical(expr)
    s = re.sub(r"\*\*(\d+)\b(?!\.)", lambda m: m.group(1).translate(_SUPERSCRIPTS), s)
    s = s.replace("**", "^").replace("*", "·").replace("<=", "≤").replace(">=", "≥").replace("-", "−")
    s = re.sub(r"\bsigmoid\(", "σ(", s)
    s = re.sub(r"\bsqrt\(", "√(", s)
    return re.sub(r"\bpi\b", "π", s)


# ---------------------------------------------------------------------------------------------
# Time limits
# ---------------------------------------------------------------------------------------------

class _TooSlow(BaseException):
    """Raised by the alarm. Not an Exception, so that sympy's own `except Exception` cannot swallow it."""


def _alarm_usable() -> bool:
    """SIGALRM can bound a call: on the main thread, where no other alarm is set."""
    return (hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
            and signal.getitimer(signal.ITIMER_REAL)[0] == 0)


def _bounded(fn: Callable[[], Any], seconds: float) -> Any:
    """fn(), interrupted by _TooSlow after `seconds`; where no alarm can be used (another thread) it
    runs unbounded, and the callers skip what can be slow (see _Budget, _simplified)."""
    if not _alarm_usable():
        return fn()

    def alarm(signum, frame):
        caller = frame
        while caller is not None and caller.f_code is not _bounded.__code__:
            caller = caller.f_back
        if caller is None:
            return  # a late alarm, after _bounded returned: nothing of ours to interrupt
        # Again in 50 ms, should this one be lost: raised inside a finaliser that the garbage
        # collector happened to run (Python prints it as "unraisable"), or caught by sympy.
        signal.setitimer(signal.ITIMER_REAL, 0.05)
        raise _TooSlow

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        return fn()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


UNBOUNDED_MAX_OPS = 40  # off the main thread nothing can interrupt sympy: only small expressions are tried


class _Budget:
    """Seconds left for a series of sympy calls; each call gets at most CALL_SECONDS of them. Where
    no alarm can bound a call, it is made only for expressions of at most `size` UNBOUNDED_MAX_OPS."""

    def __init__(self, seconds: float, size: int = 0):
        self.deadline = time.monotonic() + seconds
        self.small = size <= UNBOUNDED_MAX_OPS

    def attempt(self, fn: Callable[[], Any], seconds: float = CALL_SECONDS) -> Any:
        """fn() or None when it fails, runs out of time or sympy gives up."""
        left = min(seconds, self.deadline - time.monotonic())
        if left <= 0.01 or not (self.small or _alarm_usable()):
            return None
        try:
            return _bounded(fn, left)
        except _TooSlow:
            return None
        except Exception:  # NotImplementedError, and whatever else sympy raises on hard input
            return None


# ---------------------------------------------------------------------------------------------
# numpy and torch forms: a tree walker, with the stable shapes picked out
# ---------------------------------------------------------------------------------------------

class _Untranslatable(Exception):
    pass


_erf = np.frompyfunc(math.erf, 1, 1)


def _np_erf(a):
    return np.asarray(_erf(a), dtype=np.float64)


def _np_erfc(a):
    return np.asarray(_erfc(a), dtype=np.float64)


def _np_max(args):
    return functools.reduce(np.maximum, args)


def _np_min(args):
    return functools.reduce(np.minimum, args)


NUMPY_OPS: dict[str, Callable] = {
    "exp": np.exp, "log": np.log, "log1p": np.log1p, "expm1": np.expm1, "sqrt": np.sqrt, "abs": np.abs,
    "tanh": np.tanh, "sinh": np.sinh, "cosh": np.cosh, "sin": np.sin, "cos": np.cos, "tan": np.tan,
    "atan": np.arctan, "asinh": np.arcsinh, "acosh": np.arccosh, "atanh": np.arctanh, "asin": np.arcsin,
    "acos": np.arccos, "erf": _np_erf, "erfc": _np_erfc, "sign": np.sign, "sigmoid": _sigmoid,
    "softplus": _softplus, "sech2": _sech2, "sech": lambda a: 1.0 / np.cosh(a),
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
        self.ops, self.S = ops, _sym()
        self.sp = self.S.sympy

    def walk(self, e) -> Callable:
        sp = self.sp
        if e == self.S.x:
            return lambda x: x
        if isinstance(e, sp.logic.boolalg.BooleanAtom):
            value = bool(e)
            return lambda x: value
        if e.is_number and not isinstance(e, sp.logic.boolalg.Boolean):
            value = _constant(e)
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
            h0 = _constant(e.args[1]) if len(e.args) > 1 else 0.5
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
        raise _Untranslatable(name)

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
                return ops["sech2"], rest.base.args[0], _constant(k), t
            if c == -k and isinstance(rest, sp.exp):
                return ops["expm1"], rest.args[0], _constant(c), t
            if c in (k, -k) and isinstance(rest, sp.erf):
                return ops["erfc"], -rest.args[0] if c == k else rest.args[0], _constant(k), t
            if 2 * c == -k and isinstance(rest, sp.erfc):
                return ops["erfc"], -rest.args[0], _constant(-c), t
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


def _constant(e) -> float:
    """A part without x as a float64 (through the numpy walker, not evalf: evalf of e^(e^(e^10)) hangs)."""
    sp = _sym().sympy
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


def _numpy_function(expr) -> Callable[[np.ndarray], np.ndarray]:
    fn = compile_expr(expr, NUMPY_OPS)

    def f(x):
        with np.errstate(all="ignore"):  # a user's formula may overflow: inf and nan are its values there
            return np.array(np.broadcast_to(fn(x), np.shape(x)), dtype=np.float64)
    return f


# ---------------------------------------------------------------------------------------------
# The derivative
# ---------------------------------------------------------------------------------------------

def derivative(expr, text: str = ""):
    """f′ by sympy.diff; max, min and relu take H(0) = 0 at a kink (relu′(0) = 0, as the registry);
    simplified when sympy manages in time to something smaller that computes the same numbers."""
    S = _sym()
    sp = S.sympy
    def diff():
        d = sp.diff(expr, S.x)
        return d.replace(lambda e: isinstance(e, sp.Heaviside), lambda e: sp.Heaviside(e.args[0], 0))

    try:
        d = _bounded(diff, BUILD_SECONDS)
    except _TooSlow:
        _fail(text, f"f′ is too costly to derive (more than {BUILD_SECONDS:g} s)")
    if d.has(sp.Derivative, sp.Subs, sp.DiracDelta, sp.re, sp.im):
        _fail(text, f"sympy cannot write f′ in closed form (it gives {_shown(_canonical(d))})")
    try:
        compile_expr(d, NUMPY_OPS)
    except _Untranslatable as e:
        _fail(text, f"f′ contains {e}, which has no numeric form here")
    return _simplified(d)


def _simplified(d):
    sp = _sym().sympy
    ops = sp.count_ops(d)
    if ops > SIMPLIFY_MAX_OPS or ops <= SIMPLIFY_MIN_OPS or not _alarm_usable():  # unbounded: not worth a hang
        return d
    simple = _Budget(SIMPLIFY_SECONDS).attempt(lambda: sp.simplify(d), SIMPLIFY_SECONDS)
    if simple is None or sp.count_ops(simple) >= ops or simple.has(sp.Derivative, sp.Subs):
        return d
    try:
        before, after = _numpy_function(d), _numpy_function(simple)
    except _Untranslatable:
        return d
    grid = _grid()
    a, b = before(grid), after(grid)
    # simplify may trade a stable form for one that cancels or overflows: then keep what diff gave
    same = np.isclose(a, b, rtol=1e-12, atol=1e-300) | (np.isnan(a) & np.isnan(b)) | (a == b)
    return simple if np.all(same) else d


@functools.lru_cache(maxsize=1)
def _grid() -> np.ndarray:
    """Where the numeric checks look: dense on [−10, 10], logarithmic out to ±1e6, and 0 itself."""
    far = np.logspace(-3, 6, 400)
    return np.unique(np.concatenate([np.linspace(-10, 10, 4001), far, -far, [0.0]]))


# ---------------------------------------------------------------------------------------------
# Properties: computed where sympy can decide them, None ("unknown") where it cannot
# ---------------------------------------------------------------------------------------------

def _exact(expr):
    """The form the analysis works on: σ and softplus written out, floats as exact rationals."""
    S = _sym()
    sp = S.sympy
    e = expr.replace(lambda t: isinstance(t, S.sigmoid), lambda t: 1 / (1 + sp.exp(-t.args[0])))
    e = e.replace(lambda t: isinstance(t, S.softplus), lambda t: sp.log(1 + sp.exp(t.args[0])))
    return sp.nsimplify(e, rational=True) if e.has(sp.Float) else e


def _nonnegative(d, strict: bool = False) -> bool | None:
    """d ≥ 0 (d > 0 with `strict`) for every real x, by sympy's assumptions; H(·) ≥ 0, and where
    that does not decide, 1 − tanh²(a) = sech²(a) > 0."""
    S = _sym()
    sp = S.sympy
    h = sp.Dummy("h", nonnegative=True)
    e = d.replace(lambda t: isinstance(t, sp.Heaviside), lambda t: h)
    if (e.is_positive if strict else e.is_nonnegative):
        return True
    e = e.replace(lambda t: t.is_Pow and t.exp == 2 and isinstance(t.base, sp.tanh),
                  lambda t: 1 - sp.sech(t.base.args[0]) ** 2)
    return (e.is_positive if strict else e.is_nonnegative) or None


def _continuous_everywhere(expr, budget: _Budget) -> bool | None:
    """f is defined and continuous on all of ℝ: part by part (below), else sympy's continuous_domain."""
    S = _sym()
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
    S = _sym()
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
    S = _sym()
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


def _monotonic(expr, d, f_np, budget: _Budget) -> bool | None:
    """Non-decreasing everywhere: False on a counterexample (f drops between two grid points where it
    is finite, by more than rounding), True when sympy proves f continuous on ℝ and f′ ≥ 0 (or
    is_increasing does), None otherwise."""
    y = f_np(_grid())
    y = y[np.isfinite(y)]
    with np.errstate(all="ignore"):
        if np.any(y[:-1] - y[1:] > 1e-9 * np.maximum(1.0, np.abs(y[:-1]))):
            return False
    if not _continuous_everywhere(expr, budget):
        return None
    S = _sym()
    from sympy.calculus.singularities import is_increasing

    if budget.attempt(lambda: _nonnegative(d)) or budget.attempt(lambda: _nonnegative(_exact(d))):
        return True
    return True if budget.attempt(lambda: is_increasing(_exact(expr), S.sympy.S.Reals, S.x)) else None


def _limit(expr, point, budget: _Budget, direction: str = "+-"):
    """The limit of expr at `point` from one side (at ±∞, from the finite one), or None (sympy gave
    up, ran out of time, or left the Limit unevaluated)."""
    sp = _sym().sympy
    if direction == "+-":
        direction = "-" if point is sp.oo else "+"
    found = budget.attempt(lambda: _side_limit(expr, point, direction))
    return None if found is None or found.has(sp.Limit) else found


def _side_limit(expr, point, side: str):
    """sympy's limit, with each where() first replaced by the branch that holds just to that side of
    the point: sympy's own limit of a Piecewise at a boundary takes the value at the point instead."""
    S = _sym()
    sp = S.sympy
    if expr.has(sp.Piecewise):
        expr = expr.replace(lambda t: isinstance(t, sp.Piecewise), lambda t: _branch_near(t, point, side))
    return sp.limit(expr, S.x, point, side)


def _branch_near(piecewise, point, side: str):
    """The branch of a where() that holds on a whole interval just to the `side` ("+" or "−") of
    `point` (a number or ±∞). The conditions change only at the boundary points of their sets
    (as_set), so one point between `point` and the next boundary tells; ValueError where the
    boundaries are not finitely many (sin(x) > 0)."""
    S = _sym()
    sp = S.sympy
    ends = set()
    for _, cond in piecewise.args:
        if cond != sp.true:
            boundary = cond.as_set().boundary
            if not isinstance(boundary, sp.FiniteSet):
                raise ValueError("the condition changes at infinitely many points")
            ends |= {b for b in boundary if b.is_finite}
    if point is sp.oo or point is -sp.oo:
        far = max([abs(_constant(b)) for b in ends] + [0.0]) + 2
        probe = sp.Integer(math.ceil(far)) * (1 if point is sp.oo else -1)
    else:
        here = _constant(point)
        beyond = [b for b in ends if (_constant(b) > here if side == "+" else _constant(b) < here)]
        nearest = (min if side == "+" else max)(beyond, key=_constant) if beyond else point + (1 if side == "+" else -1)
        probe = (point + nearest) / 2
    for expr, cond in piecewise.args:
        holds = cond.subs(S.x, probe)
        if holds not in (sp.true, sp.false):
            raise ValueError("undecided condition")
        if holds == sp.true:
            return expr
    raise ValueError("no branch holds")


def _is_real_or_infinite(v) -> bool:
    sp = _sym().sympy
    return v is not None and (v in (sp.oo, -sp.oo) or (v.is_number and v.is_extended_real is True))


def _format_number(v) -> str:
    sp = _sym().sympy
    if v is sp.oo:
        return "∞"
    if v is -sp.oo:
        return "−∞"
    return _unicode(v)


def _format_interval(interval) -> str:
    sp = _sym().sympy
    if isinstance(interval, sp.Interval):
        left = "(" if interval.left_open else "["
        right = ")" if interval.right_open else "]"
        return f"{left}{_format_number(interval.start)}, {_format_number(interval.end)}{right}"
    if isinstance(interval, sp.FiniteSet):
        return "{" + ", ".join(_format_number(v) for v in interval.args) + "}"
    return "unknown"


def _output_range(expr, d, lo, hi, monotonic, budget: _Budget) -> str:
    """sympy's function_range where it can; for a proven monotonic f, from the limits at ±∞ (open when
    f′ > 0 is proven, else an end is closed when solveset finds f reaching it); otherwise "unknown"."""
    S = _sym()
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


def _zero_centred(expr, f_np, budget: _Budget) -> bool | None:
    """f(0) = 0 (sympy) and f takes both signs (grid points where |f| > 1e-9 of each sign)."""
    S = _sym()
    e = _exact(expr)
    f0 = budget.attempt(lambda: e.subs(S.x, 0))
    if f0 is None:
        return None
    if f0.has(S.sympy.zoo, S.sympy.nan) or f0.is_zero is False:
        return False
    if f0.is_zero is None:
        return None
    y = f_np(_grid())
    if np.any(y < -1e-9) and np.any(y > 1e-9):
        return True
    if budget.attempt(lambda: _nonnegative(e)) or budget.attempt(lambda: _nonnegative(-e)):
        return False
    return None


def _smooth_at_zero(expr, d, budget: _Budget) -> bool | None:
    """The left and right limits of f′ at 0 agree and are finite (and a where() does not jump there)."""
    S = _sym()
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


def _saturates(d, budget: _Budget) -> str:
    """Where f′ → 0: "both", "negative", "positive", "none", from sympy's limits at ±∞; else "unknown"."""
    sp = _sym().sympy
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
    S = _sym()
    sp = S.sympy
    f_np = f_np or _numpy_function(expr)
    budget = _Budget(seconds, size=max(sp.count_ops(expr), sp.count_ops(d)))
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


# ---------------------------------------------------------------------------------------------
# The activation
# ---------------------------------------------------------------------------------------------

class _LazyProperties:
    """The `properties` slot of a FormulaActivation: computed on first read (sympy's limits and proofs
    take up to seconds, and plotting or deriving never needs them)."""

    def __get__(self, obj, owner=None):
        if obj is None:
            return self
        if "_properties" not in obj.__dict__:
            obj.__dict__["_properties"] = _analysed(obj.source)
        return obj.__dict__["_properties"]

    def __set__(self, obj, value):  # the dataclass __init__ passes None: "compute when asked"
        if value is not None:
            obj.__dict__["_properties"] = value


@dataclass(frozen=True, eq=False, repr=False, kw_only=True)
class FormulaActivation(Activation):
    """An activation given by a formula: usable wherever a registry entry is. Its `properties` are
    computed on first use; a field that sympy cannot decide is None (or "unknown")."""

    source: str                              # the text as the user wrote it
    text: str                                # canonical: str(expr) in the formula grammar
    expr: Any = field(repr=False)            # the sympy expression of f
    derivative_expr: Any = field(repr=False)  # and of f′

    properties = _LazyProperties()

    def torch_module(self, inplace: bool = False, **params: float):
        """A fresh FormulaModule computing f with torch ops (autograd gives f′); never in place."""
        self.bind(**params)
        return _module_class()(self.source)

    @property
    def commutes_with_max(self) -> bool:
        """f(max(a, b)) = max(f(a), f(b)) only where f is proven non-decreasing."""
        return self.properties.monotonic is True

    def describe(self) -> dict[str, Any]:
        """As a registry entry's, plus the canonical text."""
        d = super().describe()
        d["torch"] = "actcli.formula.FormulaModule"
        d["text"] = self.text
        return d

    def __reduce__(self):  # another process builds it again from the text
        return from_formula, (self.source, self.name)

    def __eq__(self, other):
        return isinstance(other, FormulaActivation) and (self.text, self.name) == (other.text, other.name)

    def __hash__(self):
        return hash((self.text, self.name))

    def __repr__(self):
        return f"FormulaActivation({self.source!r}, name={self.name!r})"


def from_formula(text: str, name: str | None = None) -> FormulaActivation:
    """The activation f(x) = text, named `name` or its canonical text (FormulaError when the text is
    not a usable formula). Cached: workers that rebuild it from the text pay once per process."""
    act = _from_formula(_stripped(text))
    return act if name is None or name == act.name else _renamed(act, name)


@functools.lru_cache(maxsize=128)
def _renamed(act: FormulaActivation, name: str) -> FormulaActivation:
    return dataclasses.replace(act, name=name, properties=None)  # properties: shared, through _analysed


@functools.lru_cache(maxsize=128)
def _analysed(text: str) -> Properties:
    act = _from_formula(text)
    return analyse(act.expr, act.derivative_expr, act.f_)


@functools.lru_cache(maxsize=128)
def _from_formula(text: str) -> FormulaActivation:
    expr = parse(text)
    S = _sym()
    d = derivative(expr, text)
    try:
        f_np = _numpy_function(expr)
        df_np = _numpy_function(d)
    except _Untranslatable as e:
        _fail(text, f"{e} has no numeric form here")
    with np.errstate(all="ignore"):
        if not np.any(np.isfinite(f_np(np.linspace(-5, 5, 1001)))):
            _fail(text, "f is nan or infinite at every point of [−5, 5]")
    def printed():
        return (_canonical(expr), _unicode(expr), _unicode(d), S.latex.doprint(expr), S.latex.doprint(d))

    try:
        # sympy's LaTeX printer may call simplify (Mul → fraction → is_constant → equals), and on
        # input like erfc(cosh(64)**x) that runs for minutes and gigabytes: bounded like the rest
        canonical, shown, shown_d, latex, latex_d = _bounded(printed, BUILD_SECONDS)
    except _TooSlow:
        _fail(text, f"too costly to print (more than {BUILD_SECONDS:g} s)")
    return FormulaActivation(
        name=canonical, title=f"Formula {canonical}", symbol="f", f_=f_np, df_=df_np,
        formula=f"f(x) = {shown}", derivative_formula=f"f′(x) = {shown_d}",
        latex=f"f(x) = {latex}", latex_derivative=f"f'(x) = {latex_d}",
        properties=None, torch_name="FormulaModule",
        note=f"from the formula {text!r}; f′ by sympy",
        source=text, text=canonical, expr=expr, derivative_expr=d,
    )


@functools.lru_cache(maxsize=None)
def _module_class():
    """FormulaModule, made once torch is imported; picklable as actcli.formula.FormulaModule."""
    import torch

    class FormulaModule(torch.nn.Module):
        """f(x) from the formula, with torch ops only, so that autograd gives f′ (any float dtype)."""

        def __init__(self, text: str):
            super().__init__()
            self.text = text
            self._fn = compile_expr(from_formula(text).expr, torch_ops())

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = self._fn(x)
            if not torch.is_tensor(y):
                y = torch.full_like(x, float(y))
            if x.requires_grad and not y.requires_grad:  # f constant piecewise: f′ = 0, not "no gradient"
                y = y + 0.0 * torch.where(torch.isfinite(x), x, torch.zeros_like(x))
            return y

        def extra_repr(self) -> str:
            return repr(self.text)

        def __reduce__(self):
            return _module_class(), (self.text,)

    FormulaModule.__module__ = __name__
    FormulaModule.__qualname__ = "FormulaModule"
    return FormulaModule


def __getattr__(name: str):
    if name == "FormulaModule":  # `from actcli.formula import FormulaModule`, and unpickling, import torch
        return _module_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
