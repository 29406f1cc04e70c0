"""Results → matplotlib Figure objects, built without pyplot. Nothing here saves or shows."""

from __future__ import annotations

import contextlib
import warnings
from typing import Sequence

import numpy as np

from .stats import finite_mean

# The article's figures: light lines on a dark grey ground.
DARK_STYLE = {"figure.facecolor": "#1f2125", "axes.facecolor": "#1f2125", "savefig.facecolor": "#1f2125",
              "axes.edgecolor": "#9aa0a6", "grid.color": "#3c4043"}


def _style(dark: bool):
    import matplotlib as mpl
    import matplotlib.style  # noqa: F401  (not loaded by `import matplotlib`)

    if not dark:
        return contextlib.nullcontext()
    stack = contextlib.ExitStack()
    stack.enter_context(mpl.style.context("dark_background"))
    stack.enter_context(mpl.rc_context(DARK_STYLE))
    return stack


def _new_figure(ncols: int, width: float = 6.0, height: float = 4.2):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width * ncols, height), layout="constrained")
    return fig, fig.subplots(1, ncols, squeeze=False)[0]


def activation_figure(curves: Sequence[tuple], lo: float, hi: float, derivative: bool = True,
                      dark: bool = False, points: int = 1001):
    """f (and f′ beside it) for each (activation, params) in `curves`, on [lo, hi]."""
    x = np.linspace(lo, hi, points)
    with _style(dark):
        fig, axes = _new_figure(2 if derivative else 1)
        panels = [("f(x)", "f")] + ([("f′(x)", "df")] if derivative else [])
        for ax, (ylabel, which) in zip(axes, panels, strict=True):
            for act, params in curves:
                changed = {k: v for k, v in params.items() if v != act.bind()[k]}
                label = act.name + "".join(f", {k}={v:g}" for k, v in changed.items())
                ax.plot(x, getattr(act, which)(x, **params), label=label, linewidth=2)
            ax.axhline(0, color="grey", linewidth=0.6)
            ax.axvline(0, color="grey", linewidth=0.6)
            ax.grid(True, alpha=0.4)
            ax.set_xlabel("x")
            ax.set_ylabel(ylabel)
            ax.set_xlim(lo, hi)
            if len(curves) > 1:
                ax.legend()
        if len(curves) == 1:
            act = curves[0][0]
            axes[0].set_title(act.formula)
            if derivative:
                axes[1].set_title(act.derivative_formula)
        else:
            axes[0].set_title("activation")
            if derivative:
                axes[1].set_title("derivative")
    return fig


# ---------------------------------------------------------------------------------------------
# compare's figures: from the results of a run (dicts, as saved), one colour per activation
# throughout. White and opaque, so that they print and sit on a dark page alike; a marker per
# activation (or layer) as well as a colour, so that they read in grey too.
# ---------------------------------------------------------------------------------------------

MARKERS = "osD^v<>ph*"
# Below this final validation accuracy (twice chance with 10 classes) an activation failed to learn:
# the accuracy and loss panels are scaled to the others, and it is named in the legend as off the scale.
LEARNED_ABOVE = 0.2
REFERENCE = {"color": "0.35", "linestyle": ":", "linewidth": 1.2}


def _layers(results: Sequence[dict], field: str) -> list[str]:
    """The layers a per-layer field of the epochs names ('grad_norms', 'activations'), in network order."""
    return list(dict.fromkeys(k for r in results for e in r["epochs"] for k in e.get(field, {})))


def _by_activation(results: Sequence[dict]) -> dict[str, list[dict]]:
    groups: dict[str, list[dict]] = {}
    for r in results:
        groups.setdefault(r["activation"], []).append(r)
    return groups


def _style_of(names: Sequence[str]) -> dict[str, dict]:
    from matplotlib import colormaps

    colors = colormaps["tab10"].colors
    return {n: {"color": colors[i % len(colors)], "marker": MARKERS[i % len(MARKERS)]} for i, n in enumerate(names)}


def _series(runs: Sequence[dict], value, at_init=None) -> tuple[np.ndarray, np.ndarray]:
    """Epoch numbers and a seeds × epochs array of value(epoch), nan where a seed stopped early (it
    diverged): the others' later epochs still count. With `at_init(result)`, epoch 0 (before training) first."""
    epochs = max(len(r["epochs"]) for r in runs)
    first = 0 if at_init is not None else 1
    values = np.full((len(runs), epochs + 1 - first), np.nan)
    for row, r in zip(values, runs, strict=True):
        got = ([at_init(r)] if at_init is not None else []) + [value(e) for e in r["epochs"]]
        row[:len(got)] = np.array(got, dtype=float)
    return np.arange(first, epochs + 1), values


def _draw(ax, x: np.ndarray, values: np.ndarray, **line) -> None:
    """The mean over seeds, and with several seeds a band from the lowest to the highest."""
    if not len(x):
        return
    with warnings.catch_warnings():   # an epoch where every seed diverged is nan: drawn as a gap
        warnings.simplefilter("ignore", RuntimeWarning)
        ax.plot(x, np.nanmean(values, axis=0), linewidth=1.8, markersize=4, **line)
        if len(values) > 1:
            ax.fill_between(x, np.nanmin(values, axis=0), np.nanmax(values, axis=0), color=line["color"],
                            alpha=0.15, linewidth=0)


def line_with_interval(ax, x: Sequence[float], estimates: Sequence[dict], style: dict, label: str) -> None:
    """Means (stats.Estimate dicts, in points) against x, with their 95% intervals as a band, drawn within
    what an accuracy can be (a t-interval over 3 seeds can reach past 0 or 100%)."""
    x = np.asarray(x, dtype=float)
    ax.plot(x, np.array([e["mean"] for e in estimates], dtype=float), linewidth=1.8, markersize=5, label=label,
            **style)
    low, high = (np.clip(np.array([e[k] for e in estimates], dtype=float), 0, 100) for k in ("ci_low", "ci_high"))
    if np.isfinite(low).any():
        ax.fill_between(x, low, high, color=style["color"], alpha=0.15, linewidth=0)


def rates_figure(doc: dict):
    """Validation accuracy at the last epoch against the learning rate (log x), one line per activation
    (mean over seeds, band: 95% interval), the chosen rate ringed; a panel per depth where depth is an
    axis. None unless the rates are an axis."""
    st = doc["statistics"]
    if "grid" not in st:
        return None
    depths = list(dict.fromkeys(g.get("depth") for g in st["grid"]))
    names = list(dict.fromkeys(g["activation"] for g in st["grid"]))
    style = _style_of(names)
    fig, axes = _new_figure(len(depths), width=6.4, height=4.4)
    for ax, depth in zip(axes, depths, strict=True):
        for name in names:
            rows = sorted((g for g in st["grid"] if g["activation"] == name and g.get("depth") == depth),
                          key=lambda g: g["lr"])
            if not rows:
                continue
            line_with_interval(ax, [g["lr"] for g in rows], [g["val_accuracy_points"] for g in rows], style[name],
                               name if ax is axes[0] else None)
            pick = next(g for g in rows if g["chosen"])
            ax.plot([pick["lr"]], [pick["val_accuracy_points"]["mean"]], linestyle="none", marker="o", markersize=13,
                    markerfacecolor="none", markeredgecolor=style[name]["color"], markeredgewidth=1.6)
        ax.set_xscale("log")
        ax.set_xticks(st["lrs"], [f"{r:g}" for r in st["lrs"]])
        ax.minorticks_off()
        ax.set_xlabel("learning rate (Adam)")
        ax.set_ylabel("validation accuracy, %, last epoch")
        ax.grid(True, alpha=0.35)
        if depth is not None:
            ax.set_title(f"{depth} hidden layers")
    seeds = max(len(g["seeds"]) for g in st["grid"])
    fig.suptitle("validation accuracy against the learning rate; ringed: the rate chosen"
                 + (f" (mean of {seeds} seeds, band: 95% interval)" if seeds > 1 else ""))
    fig.legend(loc="outside right center", frameon=False, title="activation")
    return fig


def _epoch_axis(ax, last: int, first: int = 1) -> None:
    ax.set_xlabel("epoch")
    ax.grid(True, alpha=0.35)
    if 0 < last <= 20:
        ax.set_xticks(range(first, last + 1))


def _seeds_note(groups: dict) -> str:
    return "; mean over seeds, band: lowest to highest" if any(len(g) > 1 for g in groups.values()) else ""


def final_val_accuracy(runs: Sequence[dict]) -> float:
    """The last epoch's validation accuracy, the mean over the seeds that have a finite one (else nan)."""
    return finite_mean(r["epochs"][-1]["val_accuracy"] for r in runs if r["epochs"])


def failed_to_learn(runs: Sequence[dict]) -> bool:
    """Its final validation accuracy is below LEARNED_ABOVE, or no seed has one (all diverged)."""
    return not final_val_accuracy(runs) >= LEARNED_ABOVE


def _limits(arrays: list[np.ndarray], pad: float = 0.06) -> tuple[float, float] | None:
    values = np.concatenate([a.ravel() for a in arrays]) if arrays else np.array([])
    values = values[np.isfinite(values)]
    if not values.size:
        return None
    lo, hi = float(values.min()), float(values.max())
    margin = (hi - lo) * pad or abs(hi) * pad or 0.05
    return lo - margin, hi + margin


def depths_of(results: Sequence[dict]) -> list:
    """The depths the results were trained at, in order ([None] for a network of fixed depth)."""
    return sorted({r.get("depth") for r in results}, key=lambda d: -1 if d is None else d) or [None]


def curves_figure(results: Sequence[dict]):
    """Accuracy and loss per epoch, training dashed and validation solid, one colour per activation
    (a row of panels per depth where depth is an axis). Activations that failed to learn do not set
    the scale (it would squeeze the others into a few pixels): the panels are scaled to the learners
    and the failures are named in the legend. None without results."""
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    if not results:
        return None
    depths = depths_of(results)
    style = _style_of(list(_by_activation(results)))
    fig = Figure(figsize=(5.6 * 2, 4.4 * len(depths)), layout="constrained")
    grid = fig.subplots(len(depths), 2, squeeze=False)
    longest = max((len(r["epochs"]) for r in results), default=0)
    notes: dict[str, list[str]] = {}
    for (ax_acc, ax_loss), depth in zip(grid, depths, strict=True):
        groups = _by_activation([r for r in results if r.get("depth") == depth])
        failed = {n for n, runs in groups.items() if failed_to_learn(runs)}
        if len(failed) < len(groups):          # when all failed, they set the scale themselves
            for n in failed:
                notes.setdefault(n, []).append(f"val {100 * final_val_accuracy(groups[n]):.1f}%"
                                               + ("" if depth is None else f" at depth {depth}"))
        for ax, metric, ylabel in ((ax_acc, "accuracy", "accuracy"), (ax_loss, "loss", "loss (cross-entropy)")):
            scale = []
            for name, runs in groups.items():
                for split, dashes in (("train", "--"), ("val", "-")):
                    x, values = _series(runs, lambda e, k=f"{split}_{metric}": e[k])
                    _draw(ax, x, values, linestyle=dashes, **style[name])
                    if name not in failed or len(failed) == len(groups):
                        scale.append(values)
            limits = _limits(scale)
            if limits:
                ax.set_ylim(*limits)
            ax.set_ylabel(ylabel)
            ax.set_title(f"{ylabel} per epoch" + ("" if depth is None else f", depth {depth}"))
            _epoch_axis(ax, longest)
    groups = _by_activation(results)
    handles = [Line2D([], [], linewidth=1.8, **style[n],
                      label=n + (f" ({len(groups[n]) // len(depths)} seeds)" if len(groups[n]) > len(depths) else "")
                      + (f": failed to learn ({', '.join(notes[n])}), off the scale" if n in notes else ""))
               for n in groups]
    handles += [Line2D([], [], color="0.3", linestyle="--", label="training"),
                Line2D([], [], color="0.3", linestyle="-", label="validation")]
    fig.legend(handles=handles, loc="outside right center", frameon=False,
               title=("activation" + _seeds_note(groups)).replace("; ", "\n"))
    return fig


def _grid(n: int, ncols: int = 3, width: float = 4.0, height: float = 3.2, **share):
    from matplotlib.figure import Figure

    ncols = min(ncols, n)
    nrows = -(-n // ncols)
    fig = Figure(figsize=(width * ncols + 1.8, height * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False, **share)
    for ax in axes.ravel()[n:]:
        fig.delaxes(ax)
    return fig, axes


def _only_bottom_says_epoch(axes, n: int) -> None:
    """In a grid sharing x, only the lowest panel of each column names the axis."""
    ncols = axes.shape[1]
    for i, ax in enumerate(axes.ravel()[:n]):
        if i + ncols < n:
            ax.set_xlabel("")


def gradients_figure(results: Sequence[dict]):
    """One panel per activation: each weight layer's mean ‖∂L/∂W‖₂ per epoch, on one shared log
    scale, so that a first layer whose gradient vanishes (sigmoid's) stands out at a glance. None
    when no result has per-layer gradients."""
    from matplotlib import colormaps
    from matplotlib.lines import Line2D

    groups = _by_activation(results)
    layers = _layers(results, "grad_norms")
    if not layers:
        return None
    shades = colormaps["viridis"](np.linspace(0.0, 0.8, max(len(layers), 1)))
    style = {layer: {"color": shades[i], "marker": MARKERS[i % len(MARKERS)]} for i, layer in enumerate(layers)}
    fig, axes = _grid(len(groups), sharex=True, sharey=True)
    longest = max((len(r["epochs"]) for r in results), default=0)
    for ax, (name, runs) in zip(axes.ravel(), groups.items(), strict=False):  # fewer panels than the grid
        for layer in layers:
            x, values = _series(runs, lambda e, k=layer: _positive(e.get("grad_norms", {}).get(k)))
            _draw(ax, x, values, **style[layer])
        ax.set_yscale("log")
        ax.set_title(name + (f" ({len(runs)} seeds)" if len(runs) > 1 else ""))
        _epoch_axis(ax, longest)
    for ax in axes[:, 0]:
        ax.set_ylabel("mean ‖∂L/∂W‖₂")
    _only_bottom_says_epoch(axes, len(groups))
    fig.suptitle("gradient norm of each layer per epoch (log scale)" + _seeds_note(groups))
    fig.legend(handles=[Line2D([], [], linewidth=1.8, label=layer, **style[layer]) for layer in layers],
               loc="outside right center", frameon=False, title="layer\n(input → output)")
    return fig


def _positive(x) -> float:
    """A number for a log axis: nan (a gap) where it is missing or not > 0."""
    return float(x) if x is not None and x > 0 else float("nan")


def activations_figure(results: Sequence[dict]):
    """Mean (top) and standard deviation (bottom) of each activation layer's output on the probe batch,
    from initialisation (epoch 0) on, one line per activation, with the self-normalising fixed point
    (mean 0, standard deviation 1) that SELU is built to keep. None when no result has them (results
    saved before actcli measured them)."""
    from matplotlib.lines import Line2D

    groups = _by_activation(results)
    style = _style_of(list(groups))
    layers = _layers(results, "activations")
    if not layers:
        return None
    fig, axes = _grid(2 * len(layers), ncols=max(len(layers), 1), width=4.0, height=3.0, sharex=True)
    longest = max((len(r["epochs"]) for r in results), default=0)
    for row, (stat, label, fixed) in enumerate((("mean", "mean", 0.0), ("std", "standard deviation", 1.0))):
        for col, layer in enumerate(layers):
            ax = axes[row, col]
            ax.axhline(fixed, **REFERENCE)
            for name, runs in groups.items():
                x, values = _series(runs, lambda e, k=layer, s=stat: e.get("activations", {}).get(k, {}).get(s),
                                    at_init=lambda r, k=layer, s=stat: r.get("activations_at_init", {})
                                    .get(k, {}).get(s))
                _draw(ax, x, values, **style[name])
            ax.set_title(f"f({layer}): {label}")
            _epoch_axis(ax, longest, first=0)
    _only_bottom_says_epoch(axes, axes.size)
    fig.suptitle("activation outputs on a fixed validation batch (epoch 0: at initialisation)" + _seeds_note(groups))
    handles = [Line2D([], [], linewidth=1.8, label=n, **style[n]) for n in groups]
    handles.append(Line2D([], [], label="self-normalising\nfixed point (0, 1)", **REFERENCE))
    fig.legend(handles=handles, loc="outside right center", frameon=False, title="activation")
    return fig
