"""`list`, `plot` and `derive`: the activation functions themselves."""

from __future__ import annotations

import click

from .. import activations
from ..derive import DEFAULT_POINTS, TOLERANCE, derive as derive_core
from ..files import atomic_write, safe_stem
from .group import cli
from ._common import ACTIVATION, FLOATS, FiniteFloat, console, emit_json, json_option, options_for, writable_file

FIGURE_FORMATS = ("png", "svg", "pdf")
PLOT_LIMIT = 1e300  # |x| or |y| beyond this and matplotlib's axis arithmetic overflows (ticks, transforms)


@cli.command("list")
@click.argument("name", required=False, type=ACTIVATION)
@click.option("--wide", is_flag=True, help="The full card of every activation (f, f′, parameters, properties).")
@json_option
def list_(name, wide: bool, as_json: bool) -> None:
    """Every activation in a table that fits 80 columns: f(x), range, properties, where it saturates.
    With NAME (a registry name or a formula in x), its full card: f and f′, the parameters, the properties.

    \b
    Example:
      actcli list
      actcli list gelu
      actcli list --wide
      actcli list --json | jq '.[].name'
    """
    from ..tables import activation_card, activations_table

    acts = [name] if name is not None else list(activations.REGISTRY.values())
    descriptions = [a.describe() for a in acts]
    if as_json:
        emit_json(descriptions[0] if name is not None else descriptions)
    elif name is not None or wide:
        out = console()
        for d in descriptions:
            out.print(activation_card(d), highlight=False)
    else:
        console().print(activations_table(descriptions), highlight=False)


def _bind_all(acts, alpha: float | None) -> list[tuple]:
    """(activation, params) for each one; --alpha must mean something for every one."""
    with options_for("alpha"):
        return [(a, a.bind(alpha=alpha)) for a in acts]


@cli.command()
@click.argument("names", nargs=-1, required=True, type=ACTIVATION)
@click.option("-o", "--output", metavar="FILE", help="Where to write; the format comes from the "
              "extension (.png, .svg, .pdf). Default: <names>.png in the current folder.")
@click.option("--range", "range_", nargs=2, type=FiniteFloat(-PLOT_LIMIT, PLOT_LIMIT), default=(-5.0, 5.0),
              show_default=True, metavar="LO HI", help=f"The x interval, within ±{PLOT_LIMIT:g}.")
@click.option("--alpha", type=FiniteFloat(), help="α for every named activation that has one.")
@click.option("--no-derivative", is_flag=True, help="Draw f only, without the f′ panel.")
@click.option("--dark", is_flag=True, help="The article's dark style.")
@click.option("--show", is_flag=True, help="Also open a window (needs a display).")
@json_option
def plot(names, output, range_, alpha, no_derivative, dark, show, as_json) -> None:
    """Draw activations and their derivatives, side by side; several names overlay.

    \b
    Example:
      actcli plot gelu                          # writes gelu.png
      actcli plot relu elu selu -o cmp.svg --range -4 2
      actcli plot gelu "x*sigmoid(1.702*x)" -o gelu-vs-swish.png
    """
    lo, hi = range_
    if lo >= hi:
        raise click.BadParameter(f"need LO < HI, got {lo:g} {hi:g}", param_hint=["--range"])
    acts = list(dict.fromkeys(names))
    output = output or "-".join(safe_stem(a.name) for a in acts) + ".png"
    path = writable_file(output, FIGURE_FORMATS, "-o/--output")
    curves = _bind_all(acts, alpha)
    _drawable(curves, lo, hi, derivative=not no_derivative)

    from ..plots import activation_figure

    fig = activation_figure(curves, lo, hi, derivative=not no_derivative, dark=dark)
    fmt = path.suffix.lower().lstrip(".")
    atomic_write(path, lambda handle: fig.savefig(handle, format=fmt, dpi=120))
    if as_json:
        emit_json({"path": str(path), "format": fmt, "activations": [a.name for a, _ in curves],
                   "params": {a.name: p for a, p in curves}, "range": [lo, hi],
                   "derivative": not no_derivative, "dark": dark})
    else:
        click.echo(str(path))
    if show:
        _show(fig)


def _drawable(curves, lo: float, hi: float, derivative: bool) -> None:
    """Each curve has a finite value on [lo, hi] (else its panel would be empty), and neither it nor its
    drawn derivative goes beyond ±PLOT_LIMIT (where matplotlib's tick arithmetic overflows)."""
    import numpy as np

    x = np.linspace(lo, hi, 1001)
    where = f"[{lo:g}, {hi:g}]"
    for act, params in curves:
        for prime, fn in [("", act.f), ("′", act.df)][:1 + derivative]:
            with np.errstate(all="ignore"):
                y = fn(x, **params)
            finite = np.abs(y[np.isfinite(y)])
            if not prime and finite.size == 0:
                raise click.BadParameter(f"{act.name} is nan or infinite at every point of {where}",
                                         param_hint=["--range"])
            if finite.size and finite.max() > PLOT_LIMIT:
                raise click.BadParameter(f"{act.name}{prime} reaches {finite.max():.3g} on {where}, beyond the "
                                         f"±{PLOT_LIMIT:g} a plot can show; choose a narrower range",
                                         param_hint=["--range"])


def _show(fig) -> None:
    import matplotlib
    import matplotlib.pyplot as plt

    if matplotlib.get_backend().lower() in {"agg", "pdf", "svg", "ps", "cairo", "template"}:
        click.echo("--show: no display here (matplotlib backend is non-interactive); the file is written",
                   err=True)
        return
    manager = plt.figure().canvas.manager  # a window, then put our figure in it
    manager.canvas.figure = fig
    fig.set_canvas(manager.canvas)
    plt.show()


@cli.command()
@click.argument("name", type=ACTIVATION)
@click.option("--at", "points", type=FLOATS, metavar="X,X,...",
              help=f"Points to evaluate at. Default: {','.join(f'{x:g}' for x in DEFAULT_POINTS)}.")
@click.option("--alpha", type=FiniteFloat(), help="α, for activations that have one.")
@click.option("--check", is_flag=True, help="Compare f′ with torch autograd (float64) and a central "
              "difference; exit 1 if f′ is off by more than 1e-8 (relative, absolute below |f′| = 1).")
@click.option("--latex", is_flag=True, help="Print the formulas as LaTeX.")
@click.option("--properties", "show_properties", is_flag=True,
              help="Also its properties: f(0), range, monotonic, zero-centred, smooth at 0, where it saturates "
                   "(for a formula computed by sympy, within a few seconds; 'unknown' where it cannot decide).")
@json_option
def derive(name, points, alpha, check, latex, show_properties, as_json) -> None:
    """Formulas for f and f′ and a table of values; --check proves f′ right.

    \b
    Example:
      actcli derive gelu --check
      actcli derive leaky-relu --alpha 0.1 --at -1,0,1 --json
      actcli derive "x*tanh(softplus(x))" --check        # any formula in x: sympy derives it
      actcli derive "tanh(x)/2" --properties
    """
    act = name
    params = _bind_all([act], alpha)[0][1]
    result = derive_core(act, points or DEFAULT_POINTS, params, check=check)
    doc = result.to_dict()
    if show_properties:
        d = act.describe()
        doc["properties"] = {"f(0)": float(act.f(0.0, **params)),
                             **{k: d[k] for k in ("output_range", "monotonic", "zero_centred", "smooth_at_zero",
                                                  "saturates")}}
    if as_json:
        emit_json(doc)
    else:
        _print_derivation(doc, latex)
    if check and not result.passed:
        where = result.disagreeing
        raise click.ClickException(f"f′ of {act.name} disagrees with torch autograd at {where.size} of "
                                   f"{result.x.size} points (the first x = {where[0]:g}; tolerance {TOLERANCE:g})")


def _print_derivation(doc: dict, latex: bool) -> None:
    from ..tables import derivation_table, num

    out = console()
    out.print(f"[bold]f[/]:  {doc['latex'] if latex else doc['formula']}", highlight=False)
    out.print(f"[bold]f′[/]: {doc['latex_derivative'] if latex else doc['derivative']}", highlight=False)
    out.print(derivation_table(doc))
    if "properties" in doc:
        p = doc["properties"]

        def word(flag):
            return "unknown" if flag is None else ("yes" if flag else "no")

        out.print(f"f(0) = {num(p['f(0)'])}; range {p['output_range']}; monotonic: {word(p['monotonic'])}; "
                  f"zero-centred: {word(p['zero_centred'])}; smooth at 0: {word(p['smooth_at_zero'])}; "
                  f"saturates: {p['saturates']}", highlight=False)
    if "max_abs_error" in doc:
        verdict = "[green]agrees[/]" if doc["passed"] else "[red]DISAGREES[/]"
        out.print(f"f′ {verdict} with torch autograd: max |f′ − autograd| = {num(doc['max_abs_error'], 3)} "
                  f"(tolerance {doc['tolerance']:g}); max |f′ − central difference| = "
                  f"{num(doc['max_abs_error_numeric'], 3)} away from kinks", highlight=False)
    if "approximation" in doc:
        a = doc["approximation"]
        out.print(f"largest error against exact {a['of']} on [−10, 10]: {num(a['max_abs_error'], 4)} "
                  f"near |x| ≈ {a['at_abs_x']:.2f}", highlight=False)
