"""`depth`: how a signal and its gradient travel through a deep network, in mean-field theory and measured."""

from __future__ import annotations


import click

from ..activations import ARTICLE_ACTIVATIONS
from ..data import DATASETS
from ..files import atomic_write
from ..theory import INIT_NAMES
from .group import cli
from ._common import ACTIVATION, SEEDS, FiniteFloat, console, emit_json, json_option, options_for, writable_file


@cli.command()
@click.argument("names", nargs=-1, type=ACTIVATION, metavar="[ACTIVATION…]")
@click.option("--depth", type=int, default=50, show_default=True, help="Hidden layers L (1 to 10,000).")
@click.option("--width", type=int, default=512, show_default=True, help="Units per hidden layer N (1 to 16,384).")
@click.option("--init", type=click.Choice(INIT_NAMES), default="glorot", show_default=True,
              help="glorot uniform (Keras' default), he or lecun normal, or critical: the σ_w² where χ₁ = 1.")
@click.option("--sigma-w2", type=FiniteFloat(), help="σ_w² given directly (W ~ N(0, σ_w²/fan_in)); overrides --init.")
@click.option("--sigma-b2", type=FiniteFloat(), help="σ_b² of the biases, b ~ N(0, σ_b²) (default 0).")
@click.option("--batch", type=int, default=256, show_default=True, help="Real images put through the network.")
@click.option("--dataset", type=click.Choice(DATASETS), default="mnist-sample", show_default=True)
@click.option("--seeds", "seed_list", type=SEEDS, default="0-2", show_default=True, help="Networks measured: 0-2, 0,3,7.")
@click.option("--theory-only", is_flag=True, help="Mean-field theory alone: no network, no torch.")
@click.option("--phase", is_flag=True, help="Add χ₁ over (σ_w², σ_b²) with the critical line (one activation).")
@click.option("-o", "--output", metavar="FILE", help="A figure (.png, .svg, .pdf): q^l and the gradient per layer.")
@json_option
def depth(names, depth, width, init, sigma_w2, sigma_b2, batch, dataset, seed_list, theory_only, phase, output,
          as_json) -> None:
    """How a signal and its gradient travel through a deep fully connected network: mean-field theory
    (Poole et al. 2016, Schoenholz et al. 2017) beside the same network measured at initialisation.

    Per activation: the fixed point q* of the length map, χ₁ (below 1 ordered: gradients vanish; above 1
    chaotic: they explode), the depth scale ξ, and the gradient of the first weight layer over the last's,
    predicted and measured in float64 on real images over seeds.

    \b
    Example:
      actcli depth
      actcli depth sigmoid relu selu --depth 100 -o depth.png
      actcli depth tanh --init critical --sigma-b2 0.05 --theory-only
      actcli depth tanh --phase -o tanh-phase.png
    """
    from .. import activations, depthlab
    from ..errors import ParameterError, UsageProblem

    acts = list(names) or [activations.get(n) for n in ARTICLE_ACTIVATIONS]
    if phase and len(acts) != 1:
        raise UsageProblem(f"--phase draws one activation, not {len(acts)}")
    path = writable_file(output, ("png", "svg", "pdf"), "--output") if output else None
    with options_for("depth", "width", "batch", "init", "sigma_w2", "sigma_b2"):
        try:
            doc = depthlab.study(acts, depth, width, init, sigma_w2, sigma_b2, batch, dataset, seed_list,
                                 measure=not theory_only, notice=lambda m: click.echo(f"note: {m}", err=True))
            if phase:
                doc["phase"] = depthlab.phase(acts[0])
        except ParameterError as exc:     # an activation whose Gaussian expectation is infinite: the argument
            if exc.param != "activation":
                raise
            raise click.BadParameter(str(exc), param_hint=["[ACTIVATION…]"]) from exc
    if path is not None:
        from ..depthplots import depth_figure, phase_figure

        fig = phase_figure(doc["phase"]) if phase else depth_figure(doc)
        atomic_write(path, lambda handle: fig.savefig(handle, format=path.suffix.lower().lstrip("."), dpi=120))
    if as_json:
        emit_json({**doc, **({"output": str(path)} if path else {})})
        return
    from ..tables import depth_table

    console().print(depth_table(doc))
    if path is not None:
        click.echo(f"wrote {path}")
