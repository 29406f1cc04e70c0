"""Numerically stable building blocks, in float64 numpy: shared by the registry and the formula code.

Each is written so that nothing overflows and the tails keep their digits: σ and sech² from e^(−|x|),
softplus from log1p, Φ from erfc.
"""

from __future__ import annotations

import math

import numpy as np

Array = np.ndarray

# torch's softplus is x itself above this threshold; at 40, ln(1 + eˣ) − x = e⁻⁴⁰ ≈ 4e-18 is below
# float64's resolution of x, so the registry's softplus and torch's agree exactly (see the registry entry).
SOFTPLUS_EXACT_THRESHOLD = 40.0


def sigmoid(x: Array) -> Array:
    """σ(x) = 1/(1 + e⁻ˣ), from z = e^(−|x|) ≤ 1 so that nothing overflows."""
    z = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + z), z / (1.0 + z))


def dsigmoid(x: Array) -> Array:
    """σ′(x) = z/(1 + z)² with z = e^(−|x|): exact in the tails, where σ(1 − σ) would cancel."""
    z = np.exp(-np.abs(x))
    return z / (1.0 + z) ** 2


def sech2(x: Array) -> Array:
    """sech²(x) = 4z/(1 + z)² with z = e^(−2|x|) (1 − tanh² loses everything past |x| ≈ 19)."""
    z = np.exp(-2.0 * np.abs(x))
    return 4.0 * z / (1.0 + z) ** 2


def softplus(x: Array) -> Array:
    """ln(1 + eˣ) = max(x, 0) + ln(1 + e^(−|x|))."""
    return np.maximum(x, 0.0) + np.log1p(np.exp(-np.abs(x)))


erfc = np.frompyfunc(math.erfc, 1, 1)   # elementwise math.erfc (object dtype out: wrap in np.asarray)


def Phi(x: Array) -> Array:
    """Standard normal CDF Φ(x) = ½·erfc(−x/√2); erfc keeps the lower tail accurate."""
    return 0.5 * np.asarray(erfc(-x / math.sqrt(2.0)), dtype=np.float64)


def phi(x: Array) -> Array:
    """Standard normal density φ(x) = e^(−x²/2)/√(2π); x² may overflow to inf, and e^(−inf) = 0 is right."""
    with np.errstate(over="ignore"):
        return np.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)
