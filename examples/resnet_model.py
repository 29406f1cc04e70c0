"""Your own network in `actcli compare`: a small ResNet-style net, built once per task.

    actcli compare --model examples/resnet_model.py:build --activations relu,gelu,selu --epochs 2

actcli calls `build(activation)`, where `activation()` returns a fresh torch module of the task's
activation (a built-in or a formula), and trains what it returns: N×1×28×28 images in [0, 1] → N×10
logits. The per-layer numbers come from every Conv and Linear layer (by name: stem, blocks.0.conv1, …)
and from every module made by `activation()`.
"""

import torch.nn as nn


class GlobalMean(nn.Module):
    """The mean over the image, per channel (N×C×H×W → N×C×1×1). Not nn.AdaptiveAvgPool2d: its backward has no
    deterministic CUDA kernel, and on CUDA actcli trains with deterministic kernels only (same seed, same numbers)."""

    def forward(self, x):
        return x.mean((2, 3), keepdim=True)


class Block(nn.Module):
    """x + f(conv(f(conv(x)))): the residual keeps a path for the gradient whatever f does."""

    def __init__(self, channels: int, activation):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.act1 = activation()
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)
        self.act2 = activation()

    def forward(self, x):
        return x + self.act2(self.conv2(self.act1(self.conv1(x))))


def build(activation, channels: int = 16, blocks: int = 2) -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, channels, 3, stride=2, padding=1), activation(),          # 28×28 → 14×14
        *[Block(channels, activation) for _ in range(blocks)],
        GlobalMean(), nn.Flatten(),
        nn.Linear(channels, 10),
    )


if __name__ == "__main__":     # python examples/resnet_model.py: the contract checked as compare checks it
    from actcli import get
    from actcli.usermodel import UserNetwork, check

    check(f"{__file__}:build", get("relu"))
    net = UserNetwork(f"{__file__}:build", get("relu"))
    print(f"{sum(p.numel() for p in net.parameters()):,} parameters; weight layers {', '.join(net.weight_layers)}; "
          f"activations {', '.join(net.activations)}")
