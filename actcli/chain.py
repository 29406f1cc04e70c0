"""Nielsen's chain of one neuron per layer (Neural Networks and Deep Learning, ch. 5).

    a₀ = x,   zⱼ = wⱼ·aⱼ₋₁ + bⱼ,   aⱼ = f(zⱼ),   j = 1 … L

Backpropagation gives δⱼ = ∂C/∂bⱼ = f′(zⱼ)·wⱼ₊₁·δⱼ₊₁ with δ_L = f′(z_L)·∂C/∂a_L, and
∂C/∂wⱼ = δⱼ·aⱼ₋₁, so that

    ∂C/∂b₁ = f′(z₁)·w₂f′(z₂)·…·w_L f′(z_L)·∂C/∂a_L.

With σ′ ≤ ¼ every factor wⱼσ′(zⱼ) is below 1 when |wⱼ| < 4: early layers learn slower (vanishing).
With wⱼ = 100 and bⱼ = −wⱼ·aⱼ₋₁ ("centered"), every zⱼ = 0 and each factor is 25 (exploding).
Pure numpy; every function returns data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from .activations import Activation
from .clipping import clip_by_norm, clip_by_value
from .errors import ParameterError

# Verdict thresholds on the learning-speed ratio |∂C/∂b₁| / |∂C/∂b_L|.
VANISHING_BELOW = 0.1   # the first layer learns ten times slower than the last, or worse
EXPLODING_ABOVE = 10.0  # the first layer's step is ten times the last one's, or more

# Bounds that keep a chain a demonstration: a pass is a Python loop over the layers, run once per step.
MAX_LAYERS = 1000
MAX_STEPS = 1000

SUBSCRIPTS = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def sub(j: int) -> str:
    return str(j).translate(SUBSCRIPTS)


@dataclass(frozen=True)
class Chain:
    """The chain's definition. `biases` None means Nielsen's centred biases, bⱼ = −wⱼ·aⱼ₋₁."""

    activation: Activation
    weights: tuple[float, ...]
    biases: tuple[float, ...] | None = None
    x: float = 1.0
    params: Mapping[str, float] | None = None

    @classmethod
    def build(cls, activation: Activation, weights: Sequence[float], biases: Sequence[float] | str | None = None,
              layers: int | None = None, x: float = 1.0, params: Mapping[str, float] | None = None) -> "Chain":
        """A chain of `layers` neurons; a single weight or bias is repeated on every layer."""
        counted_by = "layers"          # the parameter that set the count, for the error below
        if layers is None:             # the length of the first list of several numbers, else 4
            lists = [(what, len(v)) for what, v in (("weights", weights), ("biases", biases))
                     if isinstance(v, (list, tuple)) and len(v) > 1]
            counted_by, layers = lists[0] if lists else ("layers", 4)
        if not 1 <= layers <= MAX_LAYERS:
            raise ParameterError(f"layers must be 1 to {MAX_LAYERS}, got {layers}", counted_by)
        weights = _per_layer("weights", weights, layers)
        biases = None if biases in (None, "centered") else _per_layer("biases", biases, layers)
        return cls(activation, weights, biases, float(x), activation.bind(**(params or {})))


def _per_layer(what: str, values: Sequence[float], layers: int) -> tuple[float, ...]:
    values = tuple(float(v) for v in (values if isinstance(values, (list, tuple)) else [values]))
    if len(values) == 1:
        return values * layers
    if len(values) != layers:
        raise ParameterError(f"got {len(values)} {what} for {layers} layers (give one number, or exactly {layers})",
                             what)
    return values


@dataclass
class Pass:
    """One forward and backward pass through the chain, in float64 arrays indexed by layer j−1."""

    chain: Chain
    w: np.ndarray
    b: np.ndarray
    z: np.ndarray
    a: np.ndarray        # a[0] = x, a[j] = f(z_j): length L + 1
    dact: np.ndarray     # f′(z_j)
    dC_da: float
    dC_db: np.ndarray
    dC_dw: np.ndarray
    cost: float | None

    @property
    def layers(self) -> int:
        return len(self.w)

    @property
    def grad_b1(self) -> float:
        return float(self.dC_db[0])

    @property
    def speed_ratio(self) -> float:
        """|∂C/∂b₁| / |∂C/∂b_L|: how much faster (> 1) or slower (< 1) the first layer learns."""
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            return float(np.abs(self.dC_db[0]) / np.abs(self.dC_db[-1]))

    @property
    def dead(self) -> list[int]:
        """Layers j whose unit passes no gradient: f′(z_j) = 0."""
        return [j + 1 for j in np.flatnonzero(self.dact == 0)]

    @property
    def overflow(self) -> bool:
        values = np.concatenate([self.z, self.a, self.dact, self.dC_db, self.dC_dw, [self.dC_da]])
        return not bool(np.all(np.isfinite(values)))

    @property
    def regime(self) -> str:
        """'overflow', 'vanishing', 'exploding' or 'stable' (thresholds above)."""
        if self.overflow:
            return "overflow"
        ratio = self.speed_ratio
        if self.grad_b1 == 0 or ratio < VANISHING_BELOW:
            return "vanishing"
        if ratio > EXPLODING_ABOVE:
            return "exploding"
        return "stable"

    @property
    def gradient(self) -> np.ndarray:
        """Every ∂C/∂w then every ∂C/∂b, as one vector (what an optimiser would see)."""
        return np.concatenate([self.dC_dw, self.dC_db])

    def gradient_labels(self) -> list[str]:
        return [f"∂C/∂w{sub(j)}" for j in range(1, self.layers + 1)] + \
               [f"∂C/∂b{sub(j)}" for j in range(1, self.layers + 1)]

    def product(self) -> dict:
        """∂C/∂b₁ written out as Nielsen's product, symbol by symbol and number by number."""
        f = self.chain.activation.symbol + "′"
        L = self.layers
        symbols = [f"{f}(z₁)"] + [f"w{sub(j)}{f}(z{sub(j)})" for j in range(2, L + 1)] + [f"∂C/∂a{sub(L)}"]
        with np.errstate(over="ignore", invalid="ignore"):
            values = [self.dact[0]] + [self.w[j] * self.dact[j] for j in range(1, L)] + [self.dC_da]
        return {"symbols": symbols, "values": [float(v) for v in values], "result": self.grad_b1}

    def to_dict(self, lr: float) -> dict:
        """Everything `actcli chain --json` prints, with one gradient-descent update of b₁ at rate `lr`."""
        return {
            "activation": self.chain.activation.name, "params": dict(self.chain.params or {}),
            "input": self.chain.x, "layers": self.layer_rows(), "dC_da": self.dC_da, "cost": self.cost,
            "grad_b1": self.grad_b1, "product": self.product(), "speed_ratio": self.speed_ratio,
            "regime": self.regime, "dead": self.dead,
            "thresholds": {"vanishing_below": VANISHING_BELOW, "exploding_above": EXPLODING_ABOVE},
            "update": {"lr": lr, "b1": float(self.b[0]), "b1_new": float(self.b[0] - lr * self.grad_b1)},
        }

    def layer_rows(self) -> list[dict]:
        return [{"j": j + 1, "w": self.w[j], "b": self.b[j], "z": self.z[j], "a": self.a[j + 1],
                 "dact": self.dact[j], "dC_db": self.dC_db[j], "dC_dw": self.dC_dw[j]}
                for j in range(self.layers)]


def run(chain: Chain, dC_da: float = 1.0, target: float | None = None,
        w: np.ndarray | None = None, b: np.ndarray | None = None) -> Pass:
    """Forward and backward. ∂C/∂a_L is `dC_da`, or a_L − y for C = ½(a_L − y)² with `target` y.

    `w` and `b` override the chain's parameters (gradient descent moves them)."""
    act, params = chain.activation, dict(chain.params or {})
    w = np.array(chain.weights if w is None else w, dtype=np.float64)
    L = len(w)
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        a = np.empty(L + 1)
        z, b_used = np.empty(L), np.empty(L)
        a[0] = chain.x
        for j in range(L):
            if b is not None:
                b_used[j] = b[j]
            elif chain.biases is None:
                b_used[j] = -w[j] * a[j]          # centred: z_j = 0 exactly
            else:
                b_used[j] = chain.biases[j]
            z[j] = w[j] * a[j] + b_used[j]
            a[j + 1] = act.f(z[j], **params)
        dact = act.df(z, **params)
        cost = None if target is None else 0.5 * (a[L] - target) ** 2
        dC_da_L = float(dC_da if target is None else a[L] - target)
        delta = np.empty(L)
        delta[L - 1] = dact[L - 1] * dC_da_L
        for j in range(L - 2, -1, -1):
            # 0 · inf is a dead unit in front of an overflow: no gradient passes, not nan.
            upstream = w[j + 1] * delta[j + 1]
            delta[j] = 0.0 if dact[j] == 0 else dact[j] * upstream
        dC_dw = delta * a[:L]
    return Pass(chain, w, b_used, z, a, dact, dC_da_L, delta, dC_dw,
                None if cost is None else float(cost))


@dataclass
class Step:
    step: int
    b1: float
    grad_b1: float
    cost: float

    def to_dict(self) -> dict:
        return {"step": self.step, "b1": self.b1, "abs_grad_b1": abs(self.grad_b1), "cost": self.cost}


def descend(chain: Chain, target: float, lr: float, steps: int,
            clip_value: float | None = None, clip_norm: float | None = None) -> list[Step]:
    """`steps` steps of gradient descent on every w and b of C = ½(a_L − y)².

    Row k is the chain after k updates (row 0: as built). The gradient vector is clipped by
    value or by norm before each update when asked."""
    if not 0 <= steps <= MAX_STEPS:
        raise ParameterError(f"steps must be 0 to {MAX_STEPS}, got {steps}", "steps")
    first = run(chain, target=target)
    w, b = first.w.copy(), first.b.copy()
    rows = []
    with np.errstate(over="ignore", invalid="ignore"):
        for k in range(steps + 1):
            p = run(chain, target=target, w=w, b=b)
            rows.append(Step(k, float(b[0]), p.grad_b1, float(p.cost)))
            if k == steps:
                break
            g = p.gradient
            if clip_value is not None:
                g = clip_by_value(g, clip_value)
            if clip_norm is not None:
                g = clip_by_norm(g, clip_norm)
            w, b = w - lr * g[:p.layers], b - lr * g[p.layers:]
    return rows
