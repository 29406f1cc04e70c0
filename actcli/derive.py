"""f and f′ at chosen points, and proof that f′ is right: torch autograd and a central difference."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np

from .activations import Activation, max_approximation_error

DEFAULT_POINTS = (-5.0, -2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0, 5.0)
TOLERANCE = 1e-8  # |f′ − f′_autograd| ≤ TOLERANCE · max(1, |f′_autograd|): relative above 1, absolute below


@dataclass
class Derivation:
    activation: Activation
    params: dict[str, float]
    x: np.ndarray
    f: np.ndarray
    df: np.ndarray
    df_autograd: np.ndarray | None = None
    df_numeric: np.ndarray | None = None
    kink: np.ndarray | None = None            # points where f′ jumps: a central difference means nothing there
    approximation: dict | None = field(default=None)

    @property
    def checked(self) -> bool:
        return self.df_autograd is not None

    @property
    def max_abs_error(self) -> float:
        """Largest |f′ − f′_autograd| over the points."""
        return float(np.max(np.abs(self.df - self.df_autograd)))

    @property
    def max_abs_error_numeric(self) -> float:
        """Largest |f′ − central difference| over the points where f′ is continuous."""
        smooth = ~self.kink
        return float(np.max(np.abs(self.df - self.df_numeric)[smooth])) if smooth.any() else 0.0

    @property
    def disagreeing(self) -> np.ndarray:
        """The points x where f′ and autograd differ by more than the tolerance (or either is nan)."""
        scale = np.maximum(1.0, np.abs(self.df_autograd))
        return self.x[~(np.abs(self.df - self.df_autograd) <= TOLERANCE * scale)]

    @property
    def passed(self) -> bool:
        return self.disagreeing.size == 0

    def to_dict(self) -> dict:
        a = self.activation
        points = []
        for i, x in enumerate(self.x):
            point = {"x": x, "f": self.f[i], "df": self.df[i]}
            if self.checked:
                point.update(df_autograd=self.df_autograd[i], df_numeric=self.df_numeric[i],
                             kink=bool(self.kink[i]))
            points.append(point)
        doc = {"activation": a.name, "params": self.params, "formula": a.formula,
               "derivative": a.derivative_formula, "latex": a.latex,
               "latex_derivative": a.latex_derivative, "points": points}
        if self.checked:
            doc.update(max_abs_error=self.max_abs_error,
                       max_abs_error_numeric=self.max_abs_error_numeric,
                       tolerance=TOLERANCE, passed=self.passed)
        if self.approximation:
            doc["approximation"] = self.approximation
        return doc


def central_difference(act: Activation, x: np.ndarray, params: Mapping[str, float]) -> np.ndarray:
    """(f(x + h) − f(x − h)) / 2h with h ≈ ∛ε·max(1, |x|), the step that balances both errors."""
    h = 6e-6 * np.maximum(1.0, np.abs(x))
    return (act.f(x + h, **params) - act.f(x - h, **params)) / (2.0 * h)


def autograd_derivative(act: Activation, x: np.ndarray, params: Mapping[str, float]) -> np.ndarray:
    """f′ from torch autograd through torch's own module for the activation, in float64."""
    import torch

    module = act.torch_module(**params).double()
    xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    module(xt).sum().backward()
    return xt.grad.numpy().copy()


def find_kinks(act: Activation, x: np.ndarray, params: Mapping[str, float]) -> np.ndarray:
    """True where f′ differs on either side of x (ReLU at 0, say)."""
    h = 1e-7 * np.maximum(1.0, np.abs(x))
    return np.abs(act.df(x + h, **params) - act.df(x - h, **params)) > 1e-4


def derive(act: Activation, points: Sequence[float] = DEFAULT_POINTS,
           params: Mapping[str, float] | None = None, check: bool = False) -> Derivation:
    """f and f′ at `points`; with `check`, the two independent estimates of f′ as well."""
    params = act.bind(**(params or {}))
    x = np.asarray(points, dtype=np.float64)
    result = Derivation(act, params, x, act.f(x, **params), act.df(x, **params))
    if check:
        result.df_autograd = autograd_derivative(act, x, params)
        result.df_numeric = central_difference(act, x, params)
        result.kink = find_kinks(act, x, params)
    if act.approximates:
        error, where = max_approximation_error(act)
        result.approximation = {"of": act.approximates, "interval": [-10.0, 10.0],
                                "max_abs_error": error, "at_abs_x": abs(where)}
    return result
