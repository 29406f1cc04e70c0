"""FormulaActivation: a formula usable wherever a registry entry is, built once per text and cached,
with its torch module (FormulaModule) made when torch is first needed."""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..activations import Activation, Properties
from .compile import Untranslatable, compile_expr, numpy_function, torch_ops
from .differentiate import derivative
from .grammar import fail, parse, stripped
from .properties import analyse
from .symbols import canonical, pretty, sym
from .timelimit import BUILD_SECONDS, TooSlow, time_limited

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
        return module_class()(self.source)

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
    act = _from_formula(stripped(text))
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
    S = sym()
    d = derivative(expr, text)
    try:
        f_np = numpy_function(expr)
        df_np = numpy_function(d)
    except Untranslatable as e:
        fail(text, f"{e} has no numeric form here")
    with np.errstate(all="ignore"):
        if not np.any(np.isfinite(f_np(np.linspace(-5, 5, 1001)))):
            fail(text, "f is nan or infinite at every point of [−5, 5]")
    def printed():
        return (canonical(expr), pretty(expr), pretty(d), S.latex.doprint(expr), S.latex.doprint(d))

    try:
        # sympy's LaTeX printer may call simplify (Mul → fraction → is_constant → equals), and on
        # input like erfc(cosh(64)**x) that runs for minutes and gigabytes: bounded like the rest
        name, shown, shown_d, latex, latex_d = time_limited(printed, BUILD_SECONDS)
    except TooSlow:
        fail(text, f"too costly to print (more than {BUILD_SECONDS:g} s)")
    return FormulaActivation(
        name=name, title=f"Formula {name}", symbol="f", f_=f_np, df_=df_np,
        formula=f"f(x) = {shown}", derivative_formula=f"f′(x) = {shown_d}",
        latex=f"f(x) = {latex}", latex_derivative=f"f'(x) = {latex_d}",
        properties=None, torch_name="FormulaModule",
        note=f"from the formula {text!r}; f′ by sympy",
        source=text, text=name, expr=expr, derivative_expr=d,
    )


@functools.lru_cache(maxsize=None)
def module_class():
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
            return module_class(), (self.text,)

    FormulaModule.__module__ = "actcli.formula"   # where pickle looks it up
    FormulaModule.__qualname__ = "FormulaModule"
    return FormulaModule
