"""An activation from a formula string in x, parsed safely: `from_formula("x*tanh(softplus(x))")`.

One module per job, each importing only those before it in this list:

    timelimit      SIGALRM-bounded sympy calls (Budget, time_limited)
    symbols        sympy on first use: x, sigmoid and softplus kept whole, the printers
    grammar        the grammar, its bounds and whitelist, the parser → a sympy expression (FormulaError)
    compile        the numpy and torch forms, by a tree walker that picks the stable shapes
    differentiate  f′ by sympy.diff (H(0) = 0 at kinks), simplified when that is safe
    properties     monotonic, range, zero-centred, smooth at 0, saturation: what sympy can decide
    activation     FormulaActivation and from_formula (cached), FormulaModule for torch

The text never reaches eval, exec, sympify or parse_expr. sympy and torch are imported only inside
functions, so importing this package costs little.
"""

from .activation import FormulaActivation, from_formula
from .compile import NUMPY_OPS, compile_expr, torch_ops
from .differentiate import derivative
from .grammar import (CONSTANTS, FUNCTIONS, MAX_CONSTANT, MAX_DEPTH, MAX_EXPONENT, MAX_LENGTH, MAX_LITERAL,
                      MAX_NODES, FormulaError, looks_like_formula, parse)
from .properties import analyse

__all__ = ["CONSTANTS", "FUNCTIONS", "MAX_CONSTANT", "MAX_DEPTH", "MAX_EXPONENT", "MAX_LENGTH", "MAX_LITERAL",
           "MAX_NODES", "NUMPY_OPS", "FormulaActivation", "FormulaError", "FormulaModule", "analyse",
           "compile_expr", "derivative", "from_formula", "looks_like_formula", "parse", "torch_ops"]


def __getattr__(name: str):
    if name == "FormulaModule":  # `from actcli.formula import FormulaModule`, and unpickling, import torch
        from .activation import module_class

        return module_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
