"""The networks a task can train, behind one call: `build(activation, cfg, depth)`.

    cnn      the article's CNN (actcli.model), its depth fixed
    mlp      a deep fully connected network (actcli.mlp), `depth` hidden layers of cfg.width
    a spec   your own, FILE.py:FUNCTION or package.module:FUNCTION (actcli.usermodel)

Each has `weight_layers` and `activations` ({name: module}) for the per-layer numbers, and `pool_first`,
so that the training loop and the probes never ask which one it is.
"""

from __future__ import annotations

import torch.nn as nn

from .activations import Activation
from .config import DEFAULT_MLP_WIDTH, Config
from .mlp import MLP
from .model import ArticleCNN
from .usermodel import UserNetwork

BUILT_IN = ("cnn", "mlp")


def build(activation: Activation, cfg: Config, depth: int | None = None) -> nn.Module:
    """A freshly initialised network of cfg.model for `activation` (torch's generator decides the weights)."""
    sigma_w2 = critical_sigma_w2(activation) if cfg.init == "critical" else None
    if cfg.model == "cnn":
        return ArticleCNN(activation, cfg.formula_pools_first(activation.name), init=cfg.init, sigma_w2=sigma_w2)
    if cfg.model == "mlp":
        return MLP(activation, depth, cfg.width or DEFAULT_MLP_WIDTH, cfg.dropout or 0.0, cfg.init, sigma_w2)
    return UserNetwork(cfg.model, activation)


def critical_sigma_w2(activation: Activation) -> float:
    """σ_w² at the edge of chaos for σ_b² = 0 (mean-field theory), for init 'critical'."""
    from .theory import critical_point

    return critical_point(activation, sigma_b2=0.0)
