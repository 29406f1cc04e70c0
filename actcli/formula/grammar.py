"""The grammar of a formula, and its parser: bounds, then a whitelist, then sympy node by node.

    numbers (int, float)   x   pi   e   + - * / **   unary - +
    exp log log1p expm1 sqrt abs tanh sinh cosh sin cos atan sigmoid softplus erf erfc relu   (one argument)
    max(a, b, …) min(a, b, …)   (two or more)       where(cond, a, b)   (cond: a < b, <=, >, >=)

The text never reaches eval, exec, sympify or parse_expr. Python's `ast` parses it under cheap bounds
(length, bracket depth); the whitelist (`_Checker`) walks the tree and reports the first problem in
reading order, evaluating each part without x in float64 so that exponents (|p| ≤ 64 where p does
not depend on x) and constants are bounded before sympy builds anything; `_Builder` then makes the
sympy expression.
"""

from __future__ import annotations

import ast
import difflib
import math
import re
from typing import Callable

import numpy as np

from ..errors import UsageProblem
from ..numerics import sigmoid, softplus
from .symbols import canonical, sym
from .timelimit import BUILD_SECONDS, TooSlow, time_limited

MAX_LENGTH = 500        # characters: a longer text fails before it is even parsed
MAX_DEPTH = 30          # nesting levels (a chain a + b + c + … counts once)
MAX_NODES = 200         # numbers, names, operators and calls
MAX_EXPONENT = 64       # |p| in a**p where p does not depend on x: x**10**10 fails in microseconds
MAX_LITERAL = 1e15      # |number| as written
MAX_CONSTANT = 1e100    # |value| of any part without x, e.g. exp(300): sympy's evalf of huge ones can hang

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
        super().__init__(" ".join(f"formula {shown(text)}: {reason}".splitlines()))  # one line, always

    def __reduce__(self):  # picklable, so that it can travel back from a worker process
        return type(self), (self.text, self.reason)


def shown(text: str, limit: int = 60) -> str:
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


def fail(text: str, reason: str):
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
        fail(text, "the formula is empty")
    if len(text) > MAX_LENGTH:
        fail(text, f"too long: at most {MAX_LENGTH} characters")
    if _bracket_depth(text) > MAX_DEPTH:
        fail(text, f"nested too deeply: at most {MAX_DEPTH} levels of brackets")
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as e:
        where = f"at column {e.offset}" if e.offset and e.offset <= len(text) else "at the end"
        fail(text, f"syntax error {where} ({e.msg})")
    except (ValueError, RecursionError, MemoryError) as e:  # a NUL byte; pathological nesting
        fail(text, f"cannot be parsed ({type(e).__name__})")
    nodes, depth = _tree_size(tree)
    if nodes > MAX_NODES:
        fail(text, f"too big: {nodes} parts, at most {MAX_NODES}")
    if depth > MAX_DEPTH:
        fail(text, f"nested too deeply: {depth} levels, at most {MAX_DEPTH}")
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
            fail(self.text, "has no x: an activation is a function of x")
        if self.problems:
            fail(self.text, min(self.problems)[2])

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
        "abs": abs, "relu": lambda t: max(t, 0.0), "sigmoid": lambda t: float(sigmoid(np.float64(t))),
        "softplus": lambda t: float(softplus(np.float64(t))), "atan": math.atan,
    }
    fn = table.get(name) or getattr(math, name)
    try:
        return float(fn(a))
    except OverflowError:
        return math.inf
    except ValueError:  # log(0), log(−1), sqrt(−1)
        return math.nan


def stripped(text: str) -> str:
    """The text without surrounding blanks; one far too long fails before it is even copied."""
    if not isinstance(text, str):
        raise TypeError(f"a formula is text, not {type(text).__name__}")
    if len(text) > 4 * MAX_LENGTH:
        fail(text, f"too long: at most {MAX_LENGTH} characters")
    return text.strip()


def parse(text: str):
    """The sympy expression of a formula in x (see the module's grammar); FormulaError otherwise."""
    text = stripped(text)
    tree = _syntax_tree(text)
    _Checker(text).run(tree)
    S = sym()
    try:
        expr = time_limited(lambda: _Builder(text, S).build(tree.body), BUILD_SECONDS)
    except TooSlow:
        fail(text, f"too costly to build (more than {BUILD_SECONDS:g} s)")
    if S.x not in expr.free_symbols:
        fail(text, f"has no x once simplified (it is {canonical(expr)}): an activation is a function of x")
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
                fail(self.text, f"{ast.get_source_segment(self.text, node)!r} is undefined (division by zero?)")
            if expr.has(sp.I):
                fail(self.text, f"{ast.get_source_segment(self.text, node)!r} is not a real number")
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
