"""Mean-field signal propagation through a deep fully connected network (Poole et al. 2016, "Exponential
expressivity in deep neural networks through transient chaos"; Schoenholz et al. 2017, "Deep Information
Propagation"), for any activation φ. numpy and scipy only.

A layer computes z^l = W^l a^{l−1} + b^l and a^l = φ(z^l), with W_ij ~ N(0, σ_w²/fan_in) and b_i ~ N(0, σ_b²).
In a wide network each z^l_i is Gaussian with variance q^l (z ~ N(0, 1) below):

    q^{l+1} = σ_w² E[φ(√q^l z)²] + σ_b²                  the length map; q¹ comes from the data
    q*      = q where the map stands still                  (0, or none where q grows without bound)
    χ(q)    = σ_w² E[φ′(√q z)²],  χ₁ = χ(q*)                < 1 ordered (gradients vanish), > 1 chaotic
    ξ       = −1 / ln χ₁                                    the depth over which a gradient shrinks e-fold
    ‖δ^l‖²  = χ(q^l) ‖δ^{l+1}‖²                            backpropagation, layer by layer

and the gradient of a weight layer is δ^l a^{l−1ᵀ}, so ‖∂L/∂W^l‖ ∝ ‖δ^l‖·‖a^{l−1}‖ with ‖a^l‖² = N·E[φ(√q^l z)²].

Gaussian expectations are computed on each half-line separately, z ∈ [0, 14] and [−14, 0], with 32
Gauss–Legendre nodes on every panel; the panels are those of width 2 (the Gaussian's scale) together with
edges doubling from ½ in x = √q z (the activation's own scale: at q = 10⁶ a tanh turns within |z| < 10⁻³,
which fixed panels would step over). A kink at 0 (ReLU, leaky ReLU, ELU, SELU) sits on the boundary of both
halves and each half is smooth: agreement with scipy.integrate.quad is about 1e-13 on the registry from
q = 0.01 to 10⁶ (tests check 1e-10 and 1e-9). Beyond |z| = 14 the Gaussian weighs under e⁻⁹⁸; an integrand
still alive there (a formula's exp(x**2) just below q = ¼, exp(x) at large q) goes to scipy.integrate.quad
out to where it has died, and one that does not fall at all (exp(x**2) at q ≥ ¼) is refused as infinite.
Kinks away from 0 (a formula's `max(x, 1)`) are integrated across, to about 1e-5.
"""

from __future__ import annotations

import functools
import math
from dataclasses import asdict, dataclass, field
from typing import Sequence

import numpy as np

from .activations import Activation
from .errors import ParameterError

NODES, STEP, REACH = 32, 2.0, 14.0   # Gauss–Legendre nodes per panel; panels of width ≤ 2 on [0, 14]
FINE = 2.0 ** np.arange(-1, 31)      # panel edges in x = √q z, so that φ's own scale (|x| ~ 1) is resolved
TAIL_POINTS = (8.0, 16.0, 32.0)      # where a tail is checked for falling slower than the Gaussian rises
CRITICAL_RANGE = (0.05, 20.0)  # where the critical σ_w² is looked for
Q_GRID = np.logspace(-10, 8, 91)    # where the length map is scanned for its fixed points (×1.58 a step)
Q_TINY, Q_HUGE = 1e-12, 1e8
INIT_NAMES = ("glorot", "he", "lecun", "critical")


@functools.lru_cache(maxsize=1)
def _legendre() -> tuple[np.ndarray, np.ndarray]:
    return np.polynomial.legendre.leggauss(NODES)


def _half_line(s: float) -> tuple[np.ndarray, np.ndarray]:
    """The nodes for a scale s, placed for s rounded to a power of 2 (so that they can be kept)."""
    return _half_line_at(int(round(math.log2(s))) if s > 0 else -1000)


@functools.lru_cache(maxsize=None)
def _half_line_at(k: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes z > 0 and weights w (the Gaussian density included) with Σ w·[f(z) + f(−z)] = E[f(Z)],
    Z ~ N(0, 1), for f(z) = g(s z) smooth on each half-line. Two scales need resolving: the Gaussian's
    (|z| ~ 1: panels of width 2 out to 14) and the activation's (|s z| ~ 1: panels doubling from ½ in x),
    so that a steep tanh at q = 10⁸ is as exact as a gentle one. s = 2^k here."""
    x, w = _legendre()
    s = 2.0 ** max(k, -60)
    edges = np.union1d(np.arange(0.0, REACH + STEP / 2, STEP), FINE[FINE < REACH * s] / s)
    edges = edges[edges <= REACH]
    a, b = edges[:-1, None], edges[1:, None]
    z = (a + (b - a) * (x + 1) / 2).ravel()
    weights = ((b - a) / 2 * w).ravel()
    return z, weights * np.exp(-z * z / 2) / math.sqrt(2 * math.pi)


def _not_finite(q: float) -> ParameterError:
    return ParameterError(f"E[g(√q z)] at q = {q:.4g} is not finite: the activation grows too fast for a "
                          "Gaussian input", "activation")


def gaussian_mean(g, q: float) -> float:
    """E[g(√q Z)] for Z ~ N(0, 1): g takes a float64 array. ParameterError where it is infinite or nan.

    Each half-line is integrated on its own (a kink at 0 is a panel edge). Where the integrand has not
    died out by |z| = 14 (g grows nearly as fast as the Gaussian falls: exp(x²) just below q = ¼), the two
    half-lines go to scipy.integrate.quad out to infinity instead."""
    s = math.sqrt(q)
    z, w = _half_line(s)
    with np.errstate(all="ignore"):
        values = np.asarray(g(s * z), dtype=np.float64) + np.asarray(g(-s * z), dtype=np.float64)
        tails = [np.abs(np.asarray(g(np.array([s * t, -s * t])), dtype=np.float64)).max() for t in TAIL_POINTS]
        edge = np.abs(np.asarray(g(np.array([s * REACH, -s * REACH])), dtype=np.float64)).max()
        out = float(np.dot(w, values))
        # log of the integrand at |z| = 8, 16, 32: one that does not fall (exp(x²) at q ≥ ¼) has no finite mean
        grows = [math.log(v) - t * t / 2 if v > 0 else -math.inf for v, t in zip(tails, TAIL_POINTS, strict=True)]
    if (not math.isfinite(out) or not all(math.isfinite(v) for v in tails)
            or (math.isfinite(grows[0]) and grows[2] >= grows[1] - 1e-6 and grows[1] >= grows[0] - 1e-6)):
        raise _not_finite(q)
    if edge * math.exp(-REACH * REACH / 2) * REACH > 1e-13 * abs(out):
        out = _adaptive(g, s, q)
    return out


def _adaptive(g, s: float, q: float) -> float:
    """E[g(s Z)] by scipy.integrate.quad on [−T, 0] and [0, T], T doubling from 28 until the integrand at ±T
    is negligible (for integrands that fall slowly). Where g overflows float64 before that, it is refused."""
    import warnings

    from scipy import integrate

    def f(t):
        with np.errstate(all="ignore"):
            value = float(np.asarray(g(np.array([s * t])), dtype=np.float64)[0]) * math.exp(-t * t / 2)
        if not math.isfinite(value):
            raise ParameterError(f"E[g(√q z)] at q = {q:.4g} cannot be computed in float64: the activation "
                                 "grows nearly as fast as a Gaussian input falls", "activation")
        return value

    reach = 2 * REACH
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        while reach <= 2 ** 12 * REACH:
            parts = [integrate.quad(f, lo, hi, epsabs=0.0, epsrel=1e-12, limit=400) for lo, hi in
                     ((-reach, 0.0), (0.0, reach))]
            value = sum(v for v, _ in parts) / math.sqrt(2 * math.pi)
            if max(abs(f(-reach)), abs(f(reach))) * reach / math.sqrt(2 * math.pi) <= 1e-15 * abs(value):
                return value
            reach *= 2
    raise _not_finite(q)


def _named(act: Activation, what: str, g, q: float) -> float:
    try:
        return gaussian_mean(g, q)
    except ParameterError as exc:
        raise ParameterError(f"{act.name}: {str(exc).replace('E[g(√q z)]', what)}", exc.param) from None


def second_moment(act: Activation, q: float, **params) -> float:
    """E[φ(√q z)²]."""
    return _named(act, "E[φ(√q z)²]", lambda x: act.f(x, **params) ** 2, q)


def slope_moment(act: Activation, q: float, **params) -> float:
    """E[φ′(√q z)²]."""
    return _named(act, "E[φ′(√q z)²]", lambda x: act.df(x, **params) ** 2, q)


def length_map(act: Activation, q: float, sigma_w2: float, sigma_b2: float) -> float:
    """q^{l+1} = σ_w² E[φ(√q^l z)²] + σ_b²."""
    return sigma_w2 * second_moment(act, q) + sigma_b2


def chi(act: Activation, q: float, sigma_w2: float) -> float:
    """χ(q) = σ_w² E[φ′(√q z)²]: how much a gradient's squared norm grows through one layer at length q."""
    return sigma_w2 * slope_moment(act, max(q, Q_TINY))


@dataclass(frozen=True)
class FixedPoint:
    """q* and what kind: 'stable' (a positive q*), 'zero' (the map shrinks every q to 0), 'neutral' (every q
    is fixed: ReLU at σ_w² = 2, σ_b² = 0), 'none' (q grows without bound)."""

    q: float | None
    kind: str


def fixed_point(act: Activation, sigma_w2: float, sigma_b2: float, q_start: float = 1.0) -> FixedPoint:
    """The q the length map converges to from q_start: a root of F(q) = σ_w² E[φ(√q z)²] + σ_b² − q, the
    nearest one in the direction F(q_start) points."""
    from scipy.optimize import brentq

    def F(q):
        return length_map(act, q, sigma_w2, sigma_b2) - q

    grid = Q_GRID
    values = np.array([F(q) for q in grid])
    scale = np.maximum(grid, sigma_b2)
    if np.all(np.abs(values) <= 1e-9 * scale):
        return FixedPoint(q_start, "neutral")
    here = F(q_start)
    if abs(here) <= 1e-12 * max(q_start, sigma_b2, 1e-300):
        return FixedPoint(q_start, "stable")            # already there (SELU from its own q* = 1)
    # the bracket [grid[i], grid[i+1]] that holds q_start, then outwards in the direction F points
    i = min(max(int(np.searchsorted(grid, q_start)) - 1, 0), len(grid) - 2)
    going_up = here > 0
    order = range(i, len(grid) - 1) if going_up else range(i, -1, -1)
    for j in order:
        lo, hi = (max(grid[j], q_start), grid[j + 1]) if (going_up and j == i) else \
                 ((grid[j], min(grid[j + 1], q_start)) if j == i else (grid[j], grid[j + 1]))
        a, b = F(lo), F(hi)
        if abs(a) <= 1e-12 * lo or abs(b) <= 1e-12 * hi:
            return FixedPoint(float(lo if abs(a) <= abs(b) else hi), "stable")
        if a * b < 0:
            return FixedPoint(float(brentq(F, lo, hi, xtol=1e-14, rtol=1e-13)), "stable")
    if going_up:
        return FixedPoint(None, "none")
    return FixedPoint(0.0, "zero")


def phase(chi1: float) -> str:
    return "critical" if abs(chi1 - 1.0) <= 1e-3 else ("ordered" if chi1 < 1 else "chaotic")


def chi1_at(act: Activation, sigma_w2: float, sigma_b2: float, q_start: float = 1.0) -> float:
    """χ₁ = χ(q*); at q* = 0 the limit q → 0⁺, with no fixed point the value at very large q."""
    fp = fixed_point(act, sigma_w2, sigma_b2, q_start)
    q = Q_HUGE if fp.q is None else max(fp.q, Q_TINY)
    return chi(act, q, sigma_w2)


def critical_point(act: Activation, sigma_b2: float = 0.0, bounds: tuple[float, float] = CRITICAL_RANGE) -> float:
    """The σ_w² at which χ₁ = 1 for this σ_b²: the edge of chaos. ParameterError where there is none in
    `bounds`."""
    from scipy.optimize import brentq

    lo, hi = bounds
    grid = np.geomspace(lo, hi, 25)
    gap = [chi1_at(act, s, sigma_b2) - 1.0 for s in grid]
    for a, b, ga, gb in zip(grid[:-1], grid[1:], gap[:-1], gap[1:], strict=True):
        if ga == 0:
            return float(a)
        if ga * gb <= 0:        # <=: a root exactly at the range's upper end (ReLU's 2 in [1, 2]) is one
            return float(brentq(lambda s: chi1_at(act, s, sigma_b2) - 1.0, a, b, xtol=1e-12, rtol=1e-12))
    raise ParameterError(f"{act.name} has no critical point (χ₁ = 1) for σ_b² = {sigma_b2:g} with σ_w² in "
                         f"[{lo:g}, {hi:g}]", "init")


@dataclass
class Theory:
    """The mean-field prediction for one activation and one network (per weight layer 1 … L+1, the last
    the linear output layer)."""

    activation: str
    sigma_w2: list[float]            # each weight layer's σ_w² (fan_in × the weights' variance)
    sigma_b2: float
    q: list[float]                   # q^l of the hidden layers 1 … L
    chi: list[float]                 # χ^l = σ_w,l+1² E[φ′(√q^l z)²], l = 1 … L
    activation_norm2: list[float]    # E[φ(√q^l z)²] per hidden layer: ‖a^l‖² / N
    gradient: list[float]            # ‖∂L/∂W^l‖ relative to the output layer's, l = 1 … L+1
    q_star: float | None
    fixed_point: str
    chi1: float
    xi: float | None                 # depth scale −1/ln χ₁ where ordered; inf where critical, else None
    phase: str

    def to_dict(self) -> dict:
        return asdict(self)


def _log_moment(moment, act: Activation, log_q: float) -> float:
    """log E[g(√q z)] for g = φ² or φ′² (`moment`), at any q: computed inside [Q_TINY, Q_HUGE], and beyond it
    carried on as the power law the moment follows at that edge (exact for ReLU-like and other homogeneous
    φ; φ(0)² + O(q) for smooth ones at small q), so that 1,000 ordered layers (q → 10⁻⁶⁰⁰) or chaotic ones
    (q → 10⁶⁰⁰) neither underflow to 0 nor overflow to inf."""
    log_lo, log_hi = math.log(Q_TINY), math.log(Q_HUGE)
    if log_lo <= log_q <= log_hi:
        value = moment(act, math.exp(log_q))
        return math.log(value) if value > 0 else -math.inf
    edge, inner = (log_lo, log_lo + math.log(10.0)) if log_q < log_lo else (log_hi, log_hi - math.log(10.0))
    at_edge, at_inner = moment(act, math.exp(edge)), moment(act, math.exp(inner))
    if not (at_edge > 0 and at_inner > 0):
        return -math.inf if at_edge == 0 else math.nan
    power = (math.log(at_edge) - math.log(at_inner)) / (edge - inner)
    return math.log(at_edge) + power * (log_q - edge)


def predict(act: Activation, depth: int, sigma_w2: Sequence[float] | float, sigma_b2: float, q1_input: float,
            input_norm2: float, width: int) -> Theory:
    """Theory for a network of `depth` hidden layers of `width`: sigma_w2 per weight layer (or one value for
    all); q1_input = mean of x² over the input's features and images (so q¹ = σ_w,1² q1_input + σ_b²);
    input_norm2 = ‖x‖² (mean over images), for the first layer's gradient. Lengths and gradients are
    carried in logs: 1,000 layers that halve q each (ReLU under glorot) go below float64's smallest number."""
    s = np.broadcast_to(np.asarray(sigma_w2, dtype=float), (depth + 1,)).tolist()
    log_b2 = math.log(sigma_b2) if sigma_b2 > 0 else -math.inf
    log_q = [math.log(s[0] * q1_input + sigma_b2)]
    log_m2 = [_log_moment(second_moment, act, log_q[0])]
    for l in range(1, depth):          # q^{l+1} = σ_w² E[φ(√q^l z)²] + σ_b², as log q
        log_q.append(float(np.logaddexp(math.log(s[l]) + log_m2[-1], log_b2)))
        log_m2.append(_log_moment(second_moment, act, log_q[-1]))
    log_chi = [math.log(s[l + 1]) + _log_moment(slope_moment, act, log_q[l]) for l in range(depth)]
    with np.errstate(all="ignore"):
        q, m2, chis = np.exp(log_q).tolist(), np.exp(log_m2).tolist(), np.exp(log_chi).tolist()
        # ‖δ^l‖² / ‖δ^{L+1}‖² = Π_{k ≥ l} χ^k
        log_delta = np.concatenate([np.cumsum(np.asarray(log_chi)[::-1])[::-1], [0.0]])
        log_norms_in = np.array([math.log(input_norm2)] + [math.log(width) + m for m in log_m2])  # ‖a^{l−1}‖²
        gradient = np.exp(0.5 * (log_delta + log_norms_in - log_norms_in[-1])).tolist()
    square = s[1] if depth > 1 else s[0]
    fp = fixed_point(act, square, sigma_b2, q_start=min(max(q[-1], Q_TINY), Q_HUGE))
    chi1 = chi(act, Q_HUGE if fp.q is None else fp.q, square)
    kind = phase(chi1)
    # ξ where gradients vanish; at the edge of chaos there is no exponential scale (ξ → ∞: −1/ln(1 − 2e-16)
    # would print 4.5e15, rounding, not a depth); chaotic, none
    xi = -1.0 / math.log(chi1) if kind == "ordered" and chi1 > 0 else (math.inf if kind == "critical" else None)
    return Theory(act.name, s, sigma_b2, q, chis, m2, gradient, fp.q, fp.kind, chi1, xi, kind)


def phase_grid(act: Activation, sigma_w2: Sequence[float], sigma_b2: Sequence[float]) -> np.ndarray:
    """χ₁ over a grid: rows σ_b², columns σ_w² (the neural-tangents phase diagram)."""
    return np.array([[chi1_at(act, sw, sb) for sw in sigma_w2] for sb in sigma_b2])


@dataclass
class Scheme:
    """An initialisation as mean-field sees it: each weight layer's σ_w² and σ_b²."""

    name: str
    sigma_w2: list[float] = field(default_factory=list)
    sigma_b2: float = 0.0


def scheme(init: str, act: Activation, depth: int, width: int, inputs: int = 784, classes: int = 10,
           sigma_w2: float | None = None, sigma_b2: float | None = None) -> Scheme:
    """σ_w² per weight layer of an init: glorot uniform has variance 2/(fan_in + fan_out), so σ_w² =
    2·fan_in/(fan_in + fan_out) (1 on square layers); he 2; lecun 1; critical the edge of chaos at σ_b²
    (0 unless given); σ_w² given directly overrides them all."""
    b2 = 0.0 if sigma_b2 is None else float(sigma_b2)
    fans = [(inputs, width)] + [(width, width)] * (depth - 1) + [(width, classes)]
    if sigma_w2 is not None:
        return Scheme("given", [float(sigma_w2)] * len(fans), b2)
    if init == "glorot":
        return Scheme(init, [2.0 * i / (i + o) for i, o in fans], b2)
    if init in ("he", "lecun"):
        return Scheme(init, [2.0 if init == "he" else 1.0] * len(fans), b2)
    if init == "critical":
        return Scheme(init, [critical_point(act, b2)] * len(fans), b2)
    raise ParameterError(f"init must be glorot, he, lecun or critical, not {init!r}", "init")
