"""A deep fully connected network, the SELU paper's kind: depth hidden layers of one width.

    Flatten (784) → [Linear(width) → f → Dropout] × depth → Linear 10

The layers are named fc1 … fc<depth> and out; each activation by the layer whose output it takes, as
in the CNN, so that the per-layer numbers read the same. Initialised as the CNN (actcli.initialisation:
'auto' is glorot uniform, truncated LeCun normal for SELU), and SELU's dropout is AlphaDropout.
"""

from __future__ import annotations

import torch
import torch.nn as nn

from .activations import Activation
from .initialisation import initialise
from .model import ByteDropout

IMAGE_PIXELS = 28 * 28
CLASSES = 10


class MLP(nn.Module):
    def __init__(self, activation: Activation, depth: int, width: int, dropout: float = 0.0, init: str = "auto",
                 sigma_w2: float | None = None):
        super().__init__()
        self.depth, self.width = depth, width
        self.pool_first = False
        sizes = [IMAGE_PIXELS] + [width] * (depth - 1)      # each hidden layer's fan-in
        self.hidden = [f"fc{i}" for i in range(1, depth + 1)]
        for name, fan_in in zip(self.hidden, sizes, strict=True):
            self.add_module(name, nn.Linear(fan_in, width))
            self.add_module(f"act_{name}", activation.torch_module(inplace=True))
        self.out = nn.Linear(width, CLASSES)
        self.drop = ByteDropout(dropout, alpha=activation.self_normalising)
        initialise(self.weight_layers.values(), activation, init, sigma_w2)

    @property
    def activations(self) -> dict[str, nn.Module]:
        return {name: getattr(self, f"act_{name}") for name in self.hidden}

    @property
    def weight_layers(self) -> dict[str, nn.Module]:
        return {**{name: getattr(self, name) for name in self.hidden}, "out": self.out}

    def forward(self, x: torch.Tensor, textbook_order: bool = False) -> torch.Tensor:
        x = torch.flatten(x, 1)
        for name in self.hidden:
            x = self.drop(getattr(self, f"act_{name}")(getattr(self, name)(x)))
        return self.out(x)


def parameters(depth: int, width: int) -> int:
    """The MLP's parameter count: weights and biases."""
    return (IMAGE_PIXELS + 1) * width + (depth - 1) * (width + 1) * width + (width + 1) * CLASSES


def flops_per_image(depth: int, width: int) -> int:
    """Multiply-adds × 2 of one forward pass (the matrix products; activations and biases aside).
    A training step costs about three times this (forward, and two products backward)."""
    return 2 * (IMAGE_PIXELS * width + (depth - 1) * width * width + width * CLASSES)
