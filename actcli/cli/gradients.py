"""`chain` and `clip`: vanishing and exploding gradients in Nielsen's chain, and clipping them."""

from __future__ import annotations

import functools

import click
import numpy as np

from ..chain import MAX_LAYERS, MAX_STEPS, Chain, descend, run
from ..clipping import clip as clip_core
from ..errors import UsageProblem
from .group import cli
from ._common import ACTIVATION, FLOATS, FiniteFloat, console, emit_json, exclusive, json_option, options_for


class BiasesType(click.ParamType):
    """`centered`, one number, or a comma list."""

    name = "centered|b|b,b,..."

    def convert(self, value, param, ctx):
        if value == "centered" or isinstance(value, tuple):
            return value
        return FLOATS.convert(value, param, ctx)


def chain_options(default_weights: str):
    """The options that define a chain, shared by `chain` and `clip`."""
    def decorate(command):
        options = [
            click.option("--activation", type=ACTIVATION, default="sigmoid", show_default=True,
                         help="Any registry activation."),
            click.option("--alpha", type=FiniteFloat(), help="α, for activations that have one."),
            click.option("--layers", type=click.IntRange(1, MAX_LAYERS), help="Number of one-neuron layers L "
                         "(default 4, or the length of a --weights/--biases list)."),
            click.option("--weights", type=FLOATS, default=default_weights, show_default=True,
                         metavar="W|W,W,...", help="One weight for every layer, or L of them."),
            click.option("--biases", type=BiasesType(), default="centered", show_default=True,
                         help="'centered' (bⱼ = −wⱼ·aⱼ₋₁, so every zⱼ = 0), one number, or L numbers."),
            click.option("--input", "x", type=FiniteFloat(), default=1.0, show_default=True,
                         help="The input a₀ = x."),
            click.option("--dcda", type=FiniteFloat(),
                         help="∂C/∂a_L given directly (default 1, as the article)."),
            click.option("--target", type=FiniteFloat(),
                         help="Use C = ½(a_L − y)² with this y instead of --dcda."),
            click.option("--lr", type=FiniteFloat(), default=0.5, show_default=True,
                         help="Learning rate of the update shown (the article's 0.5)."),
        ]
        return functools.reduce(lambda cmd, opt: opt(cmd), reversed(options), command)
    return decorate


def _pass(activation, alpha, layers, weights, biases, x, dcda, target):
    exclusive({"--dcda": dcda, "--target": target})
    with options_for("alpha", "layers", "weights", "biases"):
        chain = Chain.build(activation, weights, biases, layers, x, {"alpha": alpha})
    return run(chain, dC_da=1.0 if dcda is None else dcda, target=target)


@cli.command()
@chain_options(default_weights="1")
@click.option("--steps", type=click.IntRange(1, MAX_STEPS), help="Also run K steps of gradient descent on every w "
              "and b (needs --target), a row per step.")
@click.option("--clip-value", type=FiniteFloat(min=0), help="With --steps: clip each gradient "
              "component to [−C, C] before the update.")
@click.option("--clip-norm", type=FiniteFloat(min=0), help="With --steps: rescale the gradient "
              "vector to norm ≤ C before the update.")
@json_option
def chain(activation, alpha, layers, weights, biases, x, dcda, target, lr, steps, clip_value, clip_norm,
          as_json) -> None:
    """Nielsen's chain of one neuron per layer: watch ∂C/∂b₁ vanish or explode.

    The verdict compares the first layer's learning speed |∂C/∂b₁| with the last layer's
    |∂C/∂b_L|: below 0.1 is vanishing, above 10 exploding, else stable; 'overflow' when a number
    left float64's range (shown as inf; JSON carries inf and nan as the strings "inf", "nan").

    \b
    Example:
      actcli chain --weights 100                 # ∂C/∂b₁ = ¼·25³ = 3906.25: exploding
      actcli chain --activation relu --biases -2 # dead units pass no gradient
      actcli chain --weights 100 --target 0 --steps 5 --clip-value 0.5
    """
    if (clip_value is not None or clip_norm is not None) and steps is None:
        raise UsageProblem("--clip-value and --clip-norm act on --steps; add --steps K")
    exclusive({"--clip-value": clip_value, "--clip-norm": clip_norm})
    if steps is not None and target is None:
        raise UsageProblem("--steps descends C = ½(a_L − y)²: give --target y")
    p = _pass(activation, alpha, layers, weights, biases, x, dcda, target)
    doc = p.to_dict(lr)
    if steps is not None:
        rows = descend(p.chain, target, lr, steps, clip_value, clip_norm)
        doc["steps"] = [r.to_dict() for r in rows]
        doc["clip"] = ({"mode": "value", "threshold": clip_value} if clip_value is not None else
                       {"mode": "norm", "threshold": clip_norm} if clip_norm is not None else None)
    if as_json:
        emit_json(doc)
        return
    from ..tables import chain_report, steps_table

    out = console()
    for renderable in chain_report(doc):
        out.print(renderable, highlight=False)
    if steps is not None:
        out.print(steps_table(doc["steps"], doc["clip"]))


@cli.command()
@click.option("--grad", type=FLOATS, metavar="G,G,...",
              help="The gradient to clip. Default: every ∂C/∂w and ∂C/∂b of the chain below.")
@click.option("--threshold", type=FiniteFloat(min=0), default=0.5, show_default=True,
              help="c: the value bound, or the largest norm (the article's clipvalue=0.5).")
@click.option("--mode", type=click.Choice(["value", "norm", "both"]), default="both", show_default=True)
@chain_options(default_weights="100")
@json_option
def clip(grad, threshold, mode, activation, alpha, layers, weights, biases, x, dcda, target, lr,
         as_json) -> None:
    """Clip a gradient by value or rescale it by norm, and see what the update becomes.

    By value (torch clip_grad_value_, Keras clipvalue; the article's Adam(clipvalue=0.5)) clamps
    each component and turns the direction; by norm (torch clip_grad_norm_: one global L2 norm,
    scale min(1, c/(‖g‖ + 1e-6))) keeps the direction. Without --grad it clips the gradient of
    the exploding --weights 100 chain.

    \b
    Example:
      actcli clip                                  # the weights = 100 chain's gradient
      actcli clip --grad 3,-4,0.1 --threshold 1 --mode norm --json
    """
    if grad is None:
        p = _pass(activation, alpha, layers, weights, biases, x, dcda, target)
        g, labels, source = (p.gradient, p.gradient_labels(),
                              f"{activation.name} chain, weights {','.join(f'{w:g}' for w in weights)}")
    else:
        g, labels, source = grad, [f"g{i + 1}" for i in range(len(grad))], "--grad"
    results = clip_core(g, threshold, mode)
    original = [float(v) for v in g]
    with np.errstate(over="ignore", invalid="ignore"):
        norm = float(np.linalg.norm(g))
    doc = {"threshold": threshold, "mode": mode, "source": source, "labels": labels, "original": original,
           "norm": norm, "lr": lr}
    for key, clipped in results.items():
        doc[key] = clipped.to_dict() | {"update": [-lr * v for v in clipped.grad]}
    if as_json:
        emit_json(doc)
        return
    from ..tables import clip_table

    console().print(clip_table(doc))
