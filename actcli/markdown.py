"""A run's summary as Markdown (report.md, docs/results.md): renders on GitHub, pastes into notes.

Nothing here prints or writes; `report_markdown` returns the text.
"""

from __future__ import annotations

import math
from typing import Iterable



def _cell(x: float, fmt: str) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "—"
    text = format(x, fmt)
    return format(0.0, fmt) if not text.strip("+-0.,") else text   # what rounds to 0 is 0.00, not -0.00


def _interval(est: dict, fmt: str = ".2f") -> str:
    if est["n"] == 0:
        return "—"
    if math.isnan(est["ci_low"]):
        return _cell(est["mean"], fmt)
    return f"{_cell(est['mean'], fmt)} [{_cell(est['ci_low'], fmt)}, {_cell(est['ci_high'], fmt)}]"


def describe_run(doc: dict) -> str:
    """One line: the dataset, its split and the config the tasks trained with."""
    d, c = doc["dataset"], doc["config"]
    clip = "no clipping" if c["clip"] == "none" else f"clip {c['clip']} {c['clip_threshold']:g}"
    return (f"**{d['name']}** ({d['source']}): train {d['train']:,}, val {d['val']:,}, test {d['test']:,}; "
            f"{c['epochs']} epochs, batch {c['batch_size']}, Adam {c['lr']:g}, {clip}, "
            f"{c['device']} {c['precision']}"
            + (f", {c['threads']} thread{'s' * (c['threads'] != 1)} per task" if c.get("threads") else ""))


def statistics_table(doc: dict) -> str:
    """Per activation: mean test accuracy with its 95% interval, and the paired verdict."""
    st = doc["statistics"]
    lines = [f"| activation | seeds | test accuracy, % [95% CI] | test loss [95% CI] | Δ vs {st['baseline']}, "
             "points [95% CI] | verdict | ‖∇W‖ conv1 | dead units | img/s |",
             "| --- | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: |"]
    for p in st["activations"]:
        n, m, diff = len(p["seeds"]), p["means"], p["vs_baseline"]
        verdict = "baseline" if diff is None else diff["verdict"]
        if p["diverged"]:
            verdict += f"; diverged in {p['diverged']} of {n}"
        lines.append(
            f"| {p['activation']} | {n} | {_interval(p['test_accuracy_points'])} | "
            f"{_interval(p['test_loss'], '.3f')} | {'—' if diff is None else _interval(diff, '+.2f')} | {verdict} | "
            f"{_cell(m['grad_norms'].get('conv1'), '.2g')} | "
            f"{_percent(m['dead_fraction'])} | "
            f"{_cell(m['images_per_second'], ',.0f')} |")
    return "\n".join(lines)


def seeds_table(doc: dict) -> str:
    """Test accuracy of every task: one row per activation, one column per seed."""
    seeds = sorted({r["seed"] for r in doc["results"]})
    acc = {(r["activation"], r["seed"]): r["test_accuracy"] for r in doc["results"]}
    lines = ["| activation | " + " | ".join(f"seed {s}" for s in seeds) + " |",
             "| --- |" + " ---: |" * len(seeds)]
    for p in doc["statistics"]["activations"]:
        a = p["activation"]
        lines.append(f"| {a} | " + " | ".join(_cell(100 * acc[(a, s)], ".2f") if (a, s) in acc else "—"
                                              for s in seeds) + " |")
    return "\n".join(lines)


def gradients_table(doc: dict) -> str:
    """Per activation, each weight layer's mean ‖∂L/∂W‖₂ in the last epoch (mean over seeds), and the
    first layer's over the last's: how much smaller the gradient is at the input end."""
    per = doc["statistics"]["activations"]
    layers = list(dict.fromkeys(k for p in per for k in p["means"]["grad_norms"]))
    if not layers:
        return ""
    first, last = layers[0], layers[-1]
    lines = ["| activation | " + " | ".join(f"‖∇W‖ {layer}" for layer in layers) + f" | {first} / {last} |",
             "| --- |" + " ---: |" * (len(layers) + 1)]
    for p in per:
        g = p["means"]["grad_norms"]
        ratio = g.get(first, math.nan) / g[last] if g.get(last) else math.nan
        lines.append(f"| {p['activation']} | " + " | ".join(_cell(g.get(layer), ".2g") for layer in layers)
                     + f" | {_cell(ratio, '.2g')} |")
    return "\n".join(lines)


def activations_table(doc: dict) -> str:
    """Per activation and activation layer, the mean and standard deviation of its output on the probe
    batch, at initialisation → in the last epoch, and its dead units in the last epoch (means over seeds)."""
    per = doc["statistics"]["activations"]
    layers = list(dict.fromkeys(k for p in per for k in p["means"]["activations"]))
    if not layers:
        return ""
    lines = ["| activation | " + " | ".join(f"f({layer}) {what}" for layer in layers
                                           for what in ("mean", "std", "dead")) + " |",
             "| --- |" + " ---: |" * (3 * len(layers))]
    for p in per:
        now, init = p["means"]["activations"], p["means"].get("activations_at_init", {})
        cells = []
        for layer in layers:
            for stat in ("mean", "std"):
                before, after = init.get(layer, {}).get(stat), now.get(layer, {}).get(stat)
                after_text = _cell(after, ".2f")
                cells.append(after_text if before is None else f"{_cell(before, '.2f')} → {after_text}")
            dead = now.get(layer, {}).get("dead_fraction")
            cells.append(_percent(dead))
        lines.append(f"| {p['activation']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _percent(x: float | None) -> str:
    return "—" if x is None or math.isnan(x) else f"{100 * x:.1f}%"


def config_table(doc: dict) -> str:
    """Every config key as run, the data and the versions: what it takes to run it again."""
    d = doc["dataset"]
    rows = [("dataset", f"{d['name']} from {d['source']}: train {d['train']:,}, val {d['val']:,}, test {d['test']:,}")]
    rows += [(k, "—" if v in (None, {}, [], ()) else str(v)) for k, v in doc["config"].items() if k != "dataset"]
    rows += [(f"{name} version", v) for name, v in doc.get("versions", {}).items()]
    return "\n".join(["| | |", "| --- | --- |"] + [f"| {k} | {_escaped(v)} |" for k, v in rows])


def _escaped(value) -> str:
    """A table cell's text: a '|' (in a formula, say) would end the cell."""
    return str(value).replace("|", "\\|")


def inside_the_network(doc: dict) -> str:
    """The layer-by-layer part of a report: the two tables and what their columns mean."""
    grads, acts = gradients_table(doc), activations_table(doc)
    if not (grads or acts):
        return ""
    return "\n".join([
        "Gradient norm of each weight layer, mean over the last epoch's steps (before clipping), input to output; "
        "the last column is how much smaller the gradient is at the first layer than at the last:", "",
        grads, "",
        "Each activation layer's output on a fixed batch of validation images, at initialisation → after the last "
        "epoch (SELU is built to keep mean 0 and standard deviation 1), and its dead units: those through which no "
        "gradient passes for any image of the batch (f′(z) = 0), after the last epoch:", "",
        acts, ""])


def report_markdown(doc: dict, figures: Iterable[str] = ()) -> str:
    """report.md: what was run, the statistics, every seed's accuracy, the figures, the layers, the config."""
    seeds = sorted({r["seed"] for r in doc["results"]})
    parts = [
        "# actcli compare: report", "",
        describe_run(doc), "",
        f"{len(doc['results'])} tasks: {len(doc['statistics']['activations'])} activations × seeds "
        f"{', '.join(map(str, seeds))}. Test accuracy is in points (percent); intervals are 95% Student-t "
        "intervals over seeds; Δ is the difference to the baseline paired by seed (the same seed gives every "
        "activation the same batch order). 'Not distinguishable' means the interval of Δ contains 0.", "",
        statistics_table(doc), "",
        "Test accuracy (%) by seed:", "",
        seeds_table(doc), "",
    ]
    if len(seeds) == 1:
        parts += ["With one seed no interval can be given: run more seeds (`--seeds 0-4`) to rank activations.", ""]
    for name in figures:
        parts += [f"![{name}]({name})", ""]
    inside = inside_the_network(doc)
    if inside:
        parts += ["## Inside the network", "", inside]
    parts += ["## Config", "", config_table(doc), "",
              "Remade by `actcli report FOLDER` from the files in `results/`.", ""]
    return "\n".join(parts)
