"""The article's CNN (= Keras' mnist_cnn.py = pytorch/examples mnist), the activation injected.

    Conv(1→32, 3×3) → f → Conv(32→64, 3×3) → f → MaxPool 2 → Dropout 0.25 → Flatten (9216)
    → Dense 128 → f → Dropout 0.5 → Dense 10

Initialised as the article's Keras code was: glorot-uniform weights, zero biases. SELU gets what
self-normalisation needs: Keras' truncated LeCun normal and AlphaDropout.

Three choices make it cheaper without changing the function it computes: for a non-decreasing f,
f(maxpool(x)) = maxpool(f(x)), so the second activation runs after the pooling, on a quarter of
the numbers; activations whose backward needs only their output run in place; and dropout draws
its mask from random bytes (ByteDropout).
"""

from __future__ import annotations


import torch
import torch.nn as nn
import torch.nn.functional as F

from .activations import SELU_ALPHA, SELU_LAMBDA, Activation
from .initialisation import initialise, lecun_normal_  # noqa: F401  (lecun_normal_: re-exported)

__all__ = ["ACTIVATION_LAYERS", "WEIGHT_LAYERS", "ArticleCNN", "ByteDropout", "lecun_normal_"]

# The layers with weights, input to output, and those whose output goes through the activation: the
# names under which results hold per-layer numbers.
WEIGHT_LAYERS = ("conv1", "conv2", "fc1", "fc2")
ACTIVATION_LAYERS = ("conv1", "conv2", "fc1")

class ByteDropout(nn.Module):
    """Dropout whose mask comes from random bytes: keep a unit where its byte ≥ p·256.

    Plain (inverted) dropout: x·keep/(1 − p). With `alpha` it is AlphaDropout for SELU: dropped
    units are set to α′ = −λα, then a·x + b with a = ((1 − p)(1 + p·α′²))^−½ and b = −a·α′·p, which
    keeps mean 0 and variance 1. The same maths as nn.Dropout / nn.AlphaDropout for p a multiple of
    1/256 (0.25 and 0.5 are), with a far cheaper mask than torch's Bernoulli sampler on CPU; any
    other p is rounded to the nearest multiple of 1/256 (0.1 drops 26/256 = 0.1016), mask and scale alike."""

    def __init__(self, p: float, alpha: bool = False):
        super().__init__()
        self.threshold = round(p * 256)
        self.p, self.alpha = self.threshold / 256, alpha
        p = self.p
        alpha_prime = -SELU_LAMBDA * SELU_ALPHA
        self.a = ((1 - p) * (1 + p * alpha_prime ** 2)) ** -0.5
        self.b = -self.a * alpha_prime * p
        self.dropped_value = alpha_prime

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0:
            return x
        words = torch.randint(-2**63, 2**63 - 1, ((x.numel() + 7) // 8,), dtype=torch.int64, device=x.device)
        keep = words.view(torch.uint8)[: x.numel()].view(x.shape) >= self.threshold
        if self.alpha:
            return torch.where(keep, x, self.dropped_value) * self.a + self.b
        return x * keep * (1.0 / (1.0 - self.p))

    def extra_repr(self) -> str:
        return f"p={self.p}" + (", alpha" if self.alpha else "")


class ArticleCNN(nn.Module):
    def __init__(self, activation: Activation, pool_first: bool | None = None, init: str = "auto",
                 sigma_w2: float | None = None):
        """`pool_first`: run the second activation after the max-pool (None: where it commutes with max);
        `init`: the weights' scheme (actcli.initialisation; 'auto' is the article's)."""
        super().__init__()
        selu = activation.self_normalising
        self.pool_first = activation.commutes_with_max if pool_first is None else pool_first
        self.conv1 = nn.Conv2d(1, 32, 3)
        self.act1 = activation.torch_module(inplace=True)
        self.conv2 = nn.Conv2d(32, 64, 3)
        self.act2 = activation.torch_module(inplace=True)
        self.drop1 = ByteDropout(0.25, alpha=selu)
        self.fc1 = nn.Linear(64 * 12 * 12, 128)
        self.act3 = activation.torch_module(inplace=True)
        self.drop2 = ByteDropout(0.5, alpha=selu)
        self.fc2 = nn.Linear(128, 10)
        initialise(self.weight_layers.values(), activation, init, sigma_w2)

    @property
    def activations(self) -> dict[str, nn.Module]:
        """The activation layers, by the name of the layer whose output each one takes (ACTIVATION_LAYERS)."""
        return dict(zip(ACTIVATION_LAYERS, (self.act1, self.act2, self.act3), strict=True))

    @property
    def weight_layers(self) -> dict[str, nn.Module]:
        """The layers with weights, input to output (WEIGHT_LAYERS)."""
        return {name: getattr(self, name) for name in WEIGHT_LAYERS}

    def forward(self, x: torch.Tensor, textbook_order: bool = False) -> torch.Tensor:
        """The logits. `textbook_order`: the second activation before the max-pool even where
        `pool_first` moves it after (the same function): to measure it on all its 24×24 units."""
        x = self.act1(self.conv1(x))
        if self.pool_first and not textbook_order:
            x = self.act2(F.max_pool2d(self.conv2(x), 2))
        else:
            x = F.max_pool2d(self.act2(self.conv2(x)), 2)
        x = self.drop1(x)
        x = self.drop2(self.act3(self.fc1(torch.flatten(x, 1))))
        return self.fc2(x)
