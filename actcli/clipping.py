"""Gradient clipping, by value and by norm, on a plain gradient vector.

Same semantics as torch: `clip_grad_value_` clamps each component to [−c, c] (Keras' `clipvalue`,
which is what the article's `Adam(clipvalue=0.5)` does); `clip_grad_norm_` takes one L2 norm over
the whole vector and scales it by min(1, c / (‖g‖ + 1e-6)), which keeps the direction.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .errors import ParameterError

NORM_EPS = 1e-6  # torch's clip_grad_norm_ adds this to the norm


def clip_by_value(grad: np.ndarray, threshold: float) -> np.ndarray:
    """Each component clamped to [−threshold, threshold]."""
    return np.clip(grad, -threshold, threshold)


def clip_by_norm(grad: np.ndarray, max_norm: float) -> np.ndarray:
    """g · min(1, max_norm / (‖g‖₂ + 1e-6)): the same direction, at most max_norm long."""
    with np.errstate(over="ignore", invalid="ignore"):
        scale = min(1.0, max_norm / (float(np.linalg.norm(grad)) + NORM_EPS))
        return grad * scale


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    """cos∠(a, b); nan where either vector is zero or not finite."""
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))


@dataclass
class Clipped:
    grad: np.ndarray
    norm: float
    cosine: float

    def to_dict(self) -> dict:
        return {"grad": self.grad, "norm": self.norm, "cosine": self.cosine}


def clip(grad, threshold: float, mode: str = "both") -> dict[str, Clipped]:
    """{'by_value': …, 'by_norm': …} for `mode` 'value', 'norm' or 'both'."""
    methods = {"value": ("by_value", clip_by_value), "norm": ("by_norm", clip_by_norm)}
    if mode not in (*methods, "both"):
        raise ParameterError(f"mode must be value, norm or both, not {mode!r}", "mode")
    if not (math.isfinite(threshold) and threshold >= 0):
        raise ParameterError(f"threshold must be a finite number ≥ 0, not {threshold}", "threshold")
    g = np.asarray(grad, dtype=np.float64)
    chosen = ("value", "norm") if mode == "both" else (mode,)
    out = {}
    for m in chosen:
        key, fn = methods[m]
        clipped = fn(g, threshold)
        out[key] = Clipped(clipped, float(np.linalg.norm(clipped)), cosine(g, clipped))
    return out
