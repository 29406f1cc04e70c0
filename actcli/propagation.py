"""A deep fully connected network measured at initialisation, in float64, beside what mean-field theory
(actcli.theory) predicts for it: how a signal and its gradient travel through the layers.

For one activation, init and seed it builds `depth` hidden layers of `width` units and a linear output
layer of 10, puts a batch of real images through it (x/255, flattened, as `compare` feeds them), and records
for every hidden layer q^l (the mean of z² over units and images), the mean and standard deviation of its
output, and its dead fraction (units whose f′(z) is 0 for every image, by autograd, as `compare` counts
them); and for every weight layer ‖∂L/∂W^l‖₂ of the mean cross-entropy. float64 keeps a gradient of 1e-200 a
number, where float32 would make it 0.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import torch

from .activations import Activation
from .theory import Scheme

CLASSES = 10


@dataclass
class Measured:
    """One network at initialisation (one seed)."""

    activation: str
    seed: int
    q: list[float]                   # hidden layers 1 … L
    mean: list[float]
    std: list[float]
    dead_fraction: list[float]
    gradient: list[float]            # weight layers 1 … L+1: ‖∂L/∂W^l‖₂

    def to_dict(self) -> dict:
        return asdict(self)


def _weights(scheme: Scheme, fans: list[tuple[int, int]], generator: torch.Generator) -> list[torch.Tensor]:
    """Each layer's W (fan_out × fan_in) drawn as the scheme's init draws it: glorot uniform, lecun's
    truncated normal, else normal with variance σ_w²/fan_in; all with the variance theory assumes."""
    from .initialisation import TRUNCATED_NORMAL_STD

    out = []
    for s2, (fan_in, fan_out) in zip(scheme.sigma_w2, fans, strict=True):
        w = torch.empty(fan_out, fan_in, dtype=torch.float64)
        std = math.sqrt(s2 / fan_in)
        if scheme.name == "glorot":
            bound = math.sqrt(3.0) * std                      # U(±a) has variance a²/3
            w.uniform_(-bound, bound, generator=generator)
        elif scheme.name == "lecun":
            s = std / TRUNCATED_NORMAL_STD
            torch.nn.init.trunc_normal_(w, std=s, a=-2 * s, b=2 * s, generator=generator)
        else:
            w.normal_(0.0, std, generator=generator)
        out.append(w)
    return out


def measure(act: Activation, scheme: Scheme, x: np.ndarray, y: np.ndarray, depth: int, width: int,
            seed: int) -> Measured:
    """The network at initialisation for one seed: x is images × 784 in [0, 1], y their labels."""
    g = torch.Generator().manual_seed(seed)
    fans = [(x.shape[1], width)] + [(width, width)] * (depth - 1) + [(width, CLASSES)]
    weights = [w.requires_grad_() for w in _weights(scheme, fans, g)]
    std_b = math.sqrt(scheme.sigma_b2)
    biases = [torch.randn(o, dtype=torch.float64, generator=g) * std_b for _, o in fans]
    f = act.torch_module().double()
    a = torch.as_tensor(x, dtype=torch.float64)
    q, mean, std, dead = [], [], [], []
    for w, b in zip(weights[:-1], biases[:-1], strict=True):
        z = a @ w.T + b
        a = f(z)
        zd = z.detach().requires_grad_()
        (slope,) = torch.autograd.grad(f(zd * 1).sum(), zd)
        q.append(z.detach().pow(2).mean().item())
        s, m = torch.std_mean(a.detach())
        mean.append(m.item())
        std.append(s.item())
        dead.append((slope.abs().amax(dim=0) == 0).double().mean().item())
    logits = a @ weights[-1].T + biases[-1]
    torch.nn.functional.cross_entropy(logits, torch.as_tensor(y, dtype=torch.long)).backward()
    gradient = [w.grad.norm().item() for w in weights]
    return Measured(act.name, seed, q, mean, std, dead, gradient)


def summary(runs: list[Measured]) -> dict:
    """Over seeds: per layer the mean of each number, and for q and the gradients the lowest and highest
    seed (the spread a finite width gives); the gradients' mean is geometric (they span decades)."""
    out = {}
    for key in ("q", "mean", "std", "dead_fraction", "gradient"):
        values = np.array([getattr(r, key) for r in runs], dtype=float)
        if key in ("q", "gradient"):
            with np.errstate(divide="ignore"):
                out[key] = np.exp(np.log(values).mean(axis=0)).tolist()
            out[f"{key}_low"], out[f"{key}_high"] = values.min(axis=0).tolist(), values.max(axis=0).tolist()
        else:
            out[key] = values.mean(axis=0).tolist()
    return out
