"""How a network's weights start: the schemes `compare --init` and `actcli depth --init` name.

    auto      the article's Keras code: glorot uniform, except SELU, which gets truncated LeCun normal
    glorot    glorot (Xavier) uniform, as Keras' default: U(±√(6/(fan_in + fan_out)))
    he        He normal: N(0, 2/fan_in), torch's kaiming_normal_
    lecun     Keras' lecun_normal: a normal of std √(1/fan_in) truncated at ±2 std (widened to keep it)
    critical  N(0, σ_w²/fan_in) with σ_w² the mean-field critical point of the activation at σ_b² = 0

Biases start at zero in every scheme. Only torch and the registry's data are needed here.
"""

from __future__ import annotations

import math
from typing import Iterable

import torch
import torch.nn as nn

from .activations import Activation
from .config import INITS
from .errors import ParameterError

# Keras' truncated normal: a normal cut at ±2σ has std 0.8796…σ, so Keras widens σ by this much.
TRUNCATED_NORMAL_STD = 0.87962566103423978


def lecun_normal_(weight: torch.Tensor) -> torch.Tensor:
    """Keras' `lecun_normal`: truncated normal with std √(1/fan_in), cut at ±2 std."""
    fan_in = weight[0].numel()
    s = math.sqrt(1.0 / fan_in) / TRUNCATED_NORMAL_STD
    return nn.init.trunc_normal_(weight, std=s, a=-2 * s, b=2 * s)


def scheme_for(activation: Activation, init: str) -> str:
    """The scheme `init` means for this activation ('auto' resolved)."""
    if init not in INITS:
        raise ParameterError(f"init must be one of {', '.join(INITS)}, not {init!r}", "init")
    if init == "auto":
        return "lecun" if activation.self_normalising else "glorot"
    return init


def initialise(layers: Iterable[nn.Module], activation: Activation, init: str = "auto",
               sigma_w2: float | None = None) -> None:
    """Weights of `layers` (Linear and Conv modules) by the scheme; biases zero. For 'critical',
    `sigma_w2` is the critical σ_w² (the caller computes it once: see actcli.theory)."""
    scheme = scheme_for(activation, init)
    for layer in layers:
        w = layer.weight
        if scheme == "glorot":
            nn.init.xavier_uniform_(w)
        elif scheme == "he":
            nn.init.kaiming_normal_(w, nonlinearity="relu")
        elif scheme == "lecun":
            lecun_normal_(w)
        else:
            if sigma_w2 is None:
                raise ValueError("init 'critical' needs sigma_w2")
            nn.init.normal_(w, std=math.sqrt(sigma_w2 / w[0].numel()))
        if layer.bias is not None:
            nn.init.zeros_(layer.bias)
