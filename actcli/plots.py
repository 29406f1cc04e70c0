"""Results → matplotlib Figure objects, built without pyplot. Nothing here saves or shows."""

from __future__ import annotations

import contextlib
import warnings
from typing import Sequence

import numpy as np

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


def curves_figure(results: Sequence[dict], metric: str, ylabel: str, title: str):
    """One validation curve per activation, epoch on x (the article's loss and accuracy figures).
    With several seeds: the mean per epoch, and a band from the lowest to the highest seed."""
    fig, (ax,) = _new_figure(1, width=7.5, height=4.8)
    groups: dict[str, list[dict]] = {}
    for r in results:
        groups.setdefault(r["activation"], []).append(r)
    longest = 0
    for name, runs in groups.items():
        epochs = min(len(r["epochs"]) for r in runs)       # the epochs every seed reached
        longest = max(longest, epochs)
        x = np.arange(1, epochs + 1)
        values = np.array([[e[metric] for e in r["epochs"][:epochs]] for r in runs], dtype=float)
        diverged = sum(r["diverged"] for r in runs)
        label = name + (f" ({len(runs)} seeds)" if len(runs) > 1 else "") + (" (diverged)" if diverged else "")
        with warnings.catch_warnings():   # an epoch where every seed diverged is nan: drawn as a gap
            warnings.simplefilter("ignore", RuntimeWarning)
            (line,) = ax.plot(x, np.nanmean(values, axis=0) if epochs else [], marker="o", linewidth=2,
                              label=label)
            if len(runs) > 1 and epochs:
                ax.fill_between(x, np.nanmin(values, axis=0), np.nanmax(values, axis=0), color=line.get_color(),
                                alpha=0.2, linewidth=0)
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    seeds = any(len(g) > 1 for g in groups.values())
    ax.grid(True, alpha=0.4)
    if 0 < longest <= 20:
        ax.set_xticks(range(1, longest + 1))
    ax.legend(loc="center left", bbox_to_anchor=(1.02, 0.5), frameon=False,
              title="mean over seeds;\nband: lowest to highest" if seeds else None)
    return fig
