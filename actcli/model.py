"""The article's CNN (= Keras' mnist_cnn.py = pytorch/examples mnist), the activation injected.

    Conv(1→32, 3×3) → f → Conv(32→64, 3×3) → f → MaxPool 2 → Dropout 0.25 → Flatten (9216)
    → Dense 128 → f → Dropout 0.5 → Dense 10

Initialised as the article's Keras code was: glorot-uniform weights, zero biases. SELU gets what
self-normalisation needs: Keras' truncated LeCun normal and AlphaDropout.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from .activations import Activation

# Keras' truncated normal: a normal cut at ±2σ has std 0.8796…σ, so Keras widens σ by this much.
TRUNCATED_NORMAL_STD = 0.87962566103423978


def lecun_normal_(weight: torch.Tensor) -> torch.Tensor:
    """Keras' `lecun_normal`: truncated normal with std √(1/fan_in), cut at ±2 std."""
    fan_in = weight[0].numel()
    s = math.sqrt(1.0 / fan_in) / TRUNCATED_NORMAL_STD
    return nn.init.trunc_normal_(weight, std=s, a=-2 * s, b=2 * s)


class ByteDropout(nn.Module):
    """Inverted dropout whose mask comes from random bytes: keep where byte ≥ p·256.

    The same maths as nn.Dropout for p a multiple of 1/256 (0.25 and 0.5 are), with a cheaper
    mask than torch's Bernoulli sampler on CPU (benchmarks/train_throughput.py measures it)."""

    def __init__(self, p: float):
        super().__init__()
        self.p = p
        self.threshold = round(p * 256)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0:
            return x
        words = torch.randint(-2**63, 2**63 - 1, ((x.numel() + 7) // 8,), dtype=torch.int64, device=x.device)
        keep = words.view(torch.uint8)[: x.numel()].view(x.shape) >= self.threshold
        return x * keep * (1.0 / (1.0 - self.p))

    def extra_repr(self) -> str:
        return f"p={self.p}"


class ArticleCNN(nn.Module):
    def __init__(self, activation: Activation):
        super().__init__()
        selu = activation.name == "selu"
        dropout = nn.AlphaDropout if selu else ByteDropout
        self.conv1 = nn.Conv2d(1, 32, 3)
        self.act1 = activation.torch_module()
        self.conv2 = nn.Conv2d(32, 64, 3)
        self.act2 = activation.torch_module()
        self.drop1 = dropout(0.25)
        self.fc1 = nn.Linear(64 * 12 * 12, 128)
        self.act3 = activation.torch_module()
        self.drop2 = dropout(0.5)
        self.fc2 = nn.Linear(128, 10)
        init_weight = lecun_normal_ if selu else nn.init.xavier_uniform_
        for layer in (self.conv1, self.conv2, self.fc1, self.fc2):
            init_weight(layer.weight)
            nn.init.zeros_(layer.bias)

    @property
    def activations(self) -> tuple[nn.Module, ...]:
        return self.act1, self.act2, self.act3

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.act1(self.conv1(x))
        x = self.act2(self.conv2(x))
        x = self.drop1(F.max_pool2d(x, 2))
        x = self.drop2(self.act3(self.fc1(torch.flatten(x, 1))))
        return self.fc2(x)
