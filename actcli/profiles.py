"""Figures for deep networks, where a line per layer would be unreadable: each layer's numbers against
the layer's place in the network (a profile, input to output), and test accuracy against depth.
Figure objects, built without pyplot, as in actcli.plots.

A profile shows the last epoch (mean over seeds, band: lowest to highest seed); the activation profile
also shows initialisation, dashed, so that SELU's self-normalisation (mean 0, std 1 at every layer) and
the growth of dead ReLUs with depth can be read off one panel.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from .plots import (MARKERS, REFERENCE, _by_activation, _draw, _grid, _positive, _seeds_note, _style_of, depths_of,
                    line_with_interval)

# More weight layers than this, or depth as an axis: gradients.png and activations.png are profiles.
MOST_LAYERS_AS_LINES = 6


def is_deep(results: Sequence[dict]) -> bool:
    layers = {k for r in results for e in r["epochs"][-1:] for k in e.get("grad_norms", {})}
    return depths_of(results) != [None] or len(layers) > MOST_LAYERS_AS_LINES


def _profile(runs: Sequence[dict], field: str, value) -> tuple[np.ndarray, np.ndarray]:
    """Layer positions 1…L and a seeds × layers array of value(layer's entry) in the last epoch (or,
    with field 'activations_at_init', before the first step)."""
    def entries(r):
        return r.get(field, {}) if field == "activations_at_init" else (r["epochs"][-1].get(field, {})
                                                                         if r["epochs"] else {})
    layers = list(dict.fromkeys(k for r in runs for k in entries(r)))
    values = np.array([[_number(value(entries(r).get(k))) for k in layers] for r in runs], dtype=float)
    return np.arange(1, len(layers) + 1), values.reshape(len(runs), len(layers))


def _integer_ticks(ax) -> None:
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def _number(x) -> float:
    return float("nan") if x is None else float(x)


def gradient_profile_figure(results: Sequence[dict]):
    """One panel per activation: each weight layer's mean ‖∂L/∂W‖₂ in the last epoch against its place
    in the network, one line per depth, on one shared log scale: a gradient that vanishes towards the
    input is a line that falls to the left."""
    from matplotlib import colormaps
    from matplotlib.lines import Line2D

    if not results:
        return None
    groups, depths = _by_activation(results), depths_of(results)
    shades = colormaps["viridis"](np.linspace(0.0, 0.8, len(depths)))
    style = {d: {"color": shades[i], "marker": MARKERS[i % len(MARKERS)]} for i, d in enumerate(depths)}
    fig, axes = _grid(len(groups), sharey=True)
    for ax, (name, runs) in zip(axes.ravel(), groups.items(), strict=False):
        for depth in depths:
            here = [r for r in runs if r.get("depth") == depth]
            if here:
                x, values = _profile(here, "grad_norms", _positive)
                _draw(ax, x, values, **style[depth])
        ax.set_yscale("log")
        ax.set_title(name)
        ax.set_xlabel("weight layer (input → output)")
        _integer_ticks(ax)
        ax.grid(True, alpha=0.35)
    for ax in axes[:, 0]:
        ax.set_ylabel("mean ‖∂L/∂W‖₂, last epoch")
    fig.suptitle("gradient norm of each layer, input to output (log scale)" + _seeds_note(groups))
    fig.legend(handles=[Line2D([], [], linewidth=1.8, label="—" if d is None else f"depth {d}", **style[d])
                        for d in depths], loc="outside right center", frameon=False, title="network")
    return fig


def activation_profile_figure(results: Sequence[dict]):
    """A row per depth: each activation layer's output mean, standard deviation and dead units against
    its place in the network, one colour per activation; the last epoch solid, initialisation dashed,
    with the self-normalising fixed point (0, 1) for reference."""
    from matplotlib.lines import Line2D

    if not results or not any(e.get("activations") for r in results for e in r["epochs"]):
        return None
    depths = depths_of(results)
    style = _style_of(list(_by_activation(results)))
    fig, axes = _grid(3 * len(depths), ncols=3, width=4.2, height=3.0)
    columns = (("mean", "mean", 0.0), ("std", "standard deviation", 1.0), ("dead_fraction", "dead units", None))
    for row, depth in zip(axes, depths, strict=True):
        groups = _by_activation([r for r in results if r.get("depth") == depth])
        for ax, (stat, label, fixed) in zip(row, columns, strict=True):
            if fixed is not None:
                ax.axhline(fixed, **REFERENCE)
            for name, runs in groups.items():
                x, values = _profile(runs, "activations", lambda d, s=stat: (d or {}).get(s))
                _draw(ax, x, values, **style[name])
                if stat != "dead_fraction":
                    x0, at_init = _profile(runs, "activations_at_init", lambda d, s=stat: (d or {}).get(s))
                    _draw(ax, x0, at_init, linestyle="--", **{**style[name], "marker": None})
            if stat == "std":
                ax.set_yscale("log")
            ax.set_title(label + ("" if depth is None else f", depth {depth}"))
            ax.set_xlabel("activation layer (input → output)")
            _integer_ticks(ax)
            ax.grid(True, alpha=0.35)
    groups = _by_activation(results)
    handles = [Line2D([], [], linewidth=1.8, label=n, **style[n]) for n in groups]
    handles += [Line2D([], [], color="0.3", label="last epoch"),
                Line2D([], [], color="0.3", linestyle="--", label="at initialisation"),
                Line2D([], [], label="self-normalising\nfixed point (0, 1)", **REFERENCE)]
    fig.suptitle("activation outputs on a fixed validation batch, layer by layer" + _seeds_note(groups))
    fig.legend(handles=handles, loc="outside right center", frameon=False, title="activation")
    return fig


def depth_figure(doc: Mapping):
    """Test accuracy against depth, one line per activation: the mean over seeds with its 95% interval
    as a band. None unless depth is an axis with two depths or more."""
    from matplotlib.figure import Figure

    per = [p for p in doc["statistics"]["activations"] if p.get("depth") is not None]
    depths = sorted({p["depth"] for p in per})
    if len(depths) < 2:
        return None
    names = list(dict.fromkeys(p["activation"] for p in per))
    style = _style_of(names)
    fig = Figure(figsize=(7.5, 4.6), layout="constrained")
    ax = fig.subplots()
    for name in names:
        rows = sorted((p for p in per if p["activation"] == name), key=lambda p: p["depth"])
        line_with_interval(ax, [p["depth"] for p in rows], [p["test_accuracy_points"] for p in rows], style[name],
                           name)
    ax.set_xscale("log", base=2)
    ax.set_xticks(depths, [str(d) for d in depths])
    ax.set_xlabel("hidden layers")
    ax.set_ylabel("test accuracy, %")
    ax.grid(True, alpha=0.35)
    seeds = max(len(p["seeds"]) for p in per)
    ax.set_title("test accuracy against depth" + (f" (mean of {seeds} seeds, band: 95% interval, within 0–100)"
                                                   if seeds > 1 else ""))
    fig.legend(loc="outside right center", frameon=False, title="activation")
    return fig
