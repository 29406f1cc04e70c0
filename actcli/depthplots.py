"""`actcli depth`'s figures, as Figure objects without pyplot: q^l and the gradient per layer (theory as
lines, the measurement as markers with its spread over seeds), and the phase diagram of χ₁."""

from __future__ import annotations

import numpy as np

from .plots import _style_of


def depth_figure(doc: dict):
    """Two panels: the length q^l of each hidden layer, and each weight layer's ‖∂L/∂W‖ over the output
    layer's, both on log scales; a line per activation for theory, markers (geometric mean over seeds, bars
    from the lowest to the highest seed) for the measurement."""
    from matplotlib.figure import Figure

    rows = doc["activations"]
    style = _style_of([r["activation"] for r in rows])
    fig = Figure(figsize=(12.5, 4.6), layout="constrained")
    ax_q, ax_g = fig.subplots(1, 2)
    for r in rows:
        s, th, m = style[r["activation"]], r["theory"], r.get("measured")
        layers = np.arange(1, len(th["q"]) + 1)
        ax_q.plot(layers, th["q"], color=s["color"], linewidth=1.6, label=r["activation"])
        ax_g.plot(np.arange(1, len(th["gradient"]) + 1), th["gradient"], color=s["color"], linewidth=1.6,
                  label=r["activation"])
        if m:
            every = max(1, len(layers) // 25)          # a marker every few layers, so that lines stay visible
            for ax, key, values in ((ax_q, "q", m["q"]),
                                    (ax_g, "gradient", np.array(m["gradient"]) / m["gradient"][-1])):
                x = np.arange(1, len(values) + 1)[::every]
                v = np.asarray(values)[::every]
                low = np.asarray(m[f"{key}_low"])[::every] / (m["gradient"][-1] if key == "gradient" else 1)
                high = np.asarray(m[f"{key}_high"])[::every] / (m["gradient"][-1] if key == "gradient" else 1)
                ax.errorbar(x, v, yerr=[np.maximum(v - low, 0), np.maximum(high - v, 0)], fmt=s["marker"],
                            color=s["color"], markersize=4, linewidth=0.8, capsize=0)
    net = doc["network"]
    ax_q.set(yscale="log", xlabel="hidden layer l", ylabel="$q^l$ = mean z²", title="the signal's length $q^l$")
    ax_g.set(yscale="log", xlabel="weight layer l (input → output)", ylabel="‖∂L/∂W$^l$‖ / ‖∂L/∂W$_{out}$‖",
             title="the gradient, relative to the output layer's")
    for ax in (ax_q, ax_g):
        ax.grid(True, alpha=0.35)
    fig.suptitle(f"depth {net['depth']}, width {net['width']}, init {net['init']}: theory (lines) and "
                 + (f"measured over {len(net['seeds'])} seeds (markers, bars: lowest to highest)" if net["seeds"]
                    else "no measurement"))
    fig.legend(*ax_g.get_legend_handles_labels(), loc="outside right center", frameon=False, title="activation")
    return fig


def phase_figure(phase: dict):
    """χ₁ over (σ_w², σ_b²), ordered below 1 and chaotic above, with the critical line χ₁ = 1."""
    from matplotlib.colors import TwoSlopeNorm
    from matplotlib.figure import Figure

    sw, sb, chi1 = np.array(phase["sigma_w2"]), np.array(phase["sigma_b2"]), np.array(phase["chi1"])
    fig = Figure(figsize=(6.8, 5.0), layout="constrained")
    ax = fig.subplots()
    mesh = ax.pcolormesh(sw, sb, chi1, shading="auto", cmap="coolwarm",
                         norm=TwoSlopeNorm(vcenter=1.0, vmin=min(chi1.min(), 0.99), vmax=max(chi1.max(), 1.01)))
    critical = [(c, b) for c, b in zip(phase["critical_sigma_w2"], sb, strict=True) if c is not None]
    if critical:
        ax.plot(*zip(*critical), color="black", linewidth=2, label="critical line χ₁ = 1")
        ax.legend(loc="upper left")
    ax.set(xlabel="σ_w²", ylabel="σ_b²", xlim=(sw.min(), sw.max()), ylim=(sb.min(), sb.max()),
           title=f"{phase['activation']}: ordered (χ₁ < 1) and chaotic (χ₁ > 1)")
    fig.colorbar(mesh, ax=ax, label="χ₁")
    return fig
