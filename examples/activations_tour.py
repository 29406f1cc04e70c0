"""A tour of the library API (no CLI): values, derivatives, Nielsen's chain, clipping.

    python examples/activations_tour.py
"""

import numpy as np

import actcli
from actcli.chain import Chain, run
from actcli.clipping import clip

x = np.linspace(-3, 3, 7)
for name in ("sigmoid", "relu", "gelu", "selu"):
    act = actcli.get(name)
    print(f"{name:8} f  = {np.round(act.f(x), 4)}")
    print(f"{'':8} f′ = {np.round(act.df(x), 4)}")

# Nielsen's exploding chain: four sigmoid neurons, every weight 100, every z = 0.
p = run(Chain.build(actcli.get("sigmoid"), weights=[100.0]))
print(f"\n∂C/∂b₁ = {' × '.join(f'{v:g}' for v in p.product()['values'])} = {p.grad_b1} ({p.regime})")

# What clipping does to that gradient.
for how, r in clip(p.gradient, threshold=0.5).items():
    print(f"{how:9} norm {r.norm:.4f}, cosine to the original {r.cosine:.4f}")
