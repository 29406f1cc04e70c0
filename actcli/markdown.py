"""A run's summary as Markdown (report.md, docs/results.md): renders on GitHub, pastes into notes.

Nothing here prints or writes; `report_markdown` returns the text.
"""

from __future__ import annotations

import math
from typing import Iterable

from .experiment.summary import chosen, edges_line, interval_disagrees, rates_axis, selection_words


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
    model = c.get("model", "cnn")
    network = ("" if model == "cnn" else
               f"MLP of width {c['width']}, dropout {c['dropout']:g}; " if model == "mlp" else f"model `{model}`; ")
    return (f"**{d['name']}** ({d['source']}): train {d['train']:,}, val {d['val']:,}, test {d['test']:,}; "
            f"{network}{c['epochs']} epochs, batch {c['batch_size']}, {_adam(doc)}, {clip}, "
            f"{c['device']} {c['precision']}"
            + (f", {c['threads']} thread{'s' * (c['threads'] != 1)} per task" if c.get("threads") else ""))


def _adam(doc: dict) -> str:
    """'Adam 0.001', or with rates as an axis 'Adam at 0.0003, 0.001, 0.003 (each activation's chosen on
    validation accuracy)'."""
    c = doc["config"]
    rates = doc["statistics"].get("lrs") or ([c["lr"]] if "lr" in c else [])   # no result: the config's, if any
    if not rates:                       # no task ended in a folder of today's (each result names its rate)
        return "Adam"
    if not rates_axis(doc):
        return f"Adam {rates[0]:g}"
    return (f"Adam at {', '.join(f'{r:g}' for r in rates)} (each activation's rate chosen on "
            f"{selection_words(doc['statistics']['select'])})")


def _verdict(diff: dict | None) -> str:
    """The verdict (Holm-adjusted), and the interval's where it says otherwise."""
    if diff is None:
        return "baseline"
    other = interval_disagrees(diff)
    return diff["verdict"] + ("" if other is None else f" (the interval alone: {other}; not after Holm's correction)")


def _by_depth(doc: dict) -> bool:
    return "baselines" in doc["statistics"]


def _depth_cell(p: dict) -> str:
    return f"{p['depth']} | " if "depth" in p else ""


def _first_layer(doc: dict) -> str:
    return next((k for p in doc["statistics"]["activations"] for k in p["means"]["grad_norms"]), "conv1")


def statistics_table(doc: dict) -> str:
    """Per activation (and depth), at its chosen rate: mean test accuracy with its 95% interval, and the
    paired comparison with the baseline: Δ, the t-test's p, Holm's p, d_z and the verdict."""
    st, deep, grid = doc["statistics"], _by_depth(doc), rates_axis(doc)
    against = st["baseline"] or "the best at its depth"
    lines = [("| depth " if deep else "") + "| activation | seeds | " + ("lr | " if grid else "")
             + f"test accuracy, % [95% CI] | test loss [95% CI] | Δ vs {against}, points [95% CI] | p | p, Holm | "
             f"d_z | verdict | ‖∇W‖ {_first_layer(doc)} | dead units | img/s |",
             ("| ---: " if deep else "") + "| --- | ---: | " + ("---: | " if grid else "")
             + "---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: |"]
    for p in st["activations"]:
        n, m, diff = len(p["seeds"]), p["means"], p["vs_baseline"]
        verdict = _verdict(diff)
        if p["diverged"]:
            verdict += f"; diverged in {p['diverged']} of {n}"
        tests = "— | — | — | " if diff is None else (f"{_p(diff['p'])} | {_p(diff['p_holm'])} | "
                                                      f"{_cell(diff['d_z'], '+.2f')} | ")
        lines.append(
            f"| {_depth_cell(p)}{p['activation']} | {n} | " + (f"{p['lr']:g} | " if grid else "")
            + f"{_interval(p['test_accuracy_points'])} | "
            f"{_interval(p['test_loss'], '.3f')} | {'—' if diff is None else _interval(diff, '+.2f')} | {tests}{verdict} | "
            f"{_cell(m['grad_norms'].get(_first_layer(doc)), '.2g')} | "
            f"{_percent(m['dead_fraction'])} | "
            f"{_cell(m['images_per_second'], ',.0f')} |")
    return "\n".join(lines)


def _p(p: float) -> str:
    """A p-value: 3 significant digits, and below 0.001 as '<0.001'."""
    if p is None or math.isnan(p):
        return "—"
    return "<0.001" if p < 1e-3 else f"{p:.3g}"


def grid_table(doc: dict) -> str:
    """With rates as an axis: mean validation accuracy at the last epoch for every activation × rate, the
    chosen rate in bold."""
    st, deep = doc["statistics"], _by_depth(doc)
    rates = st["lrs"]
    cells = {(g["activation"], g.get("depth"), g["lr"]): g for g in st["grid"]}
    lines = [("| depth " if deep else "") + "| activation | " + " | ".join(f"lr {r:g}" for r in rates) + " |",
             ("| ---: " if deep else "") + "| --- |" + " ---: |" * len(rates)]
    for p in st["activations"]:
        row = []
        for r in rates:
            g = cells.get((p["activation"], p.get("depth"), r))
            text = "—" if g is None else _interval(g["val_accuracy_points"])
            row.append(f"**{text}**" if g is not None and g["chosen"] else text)
        lines.append(f"| {_depth_cell(p)}{p['activation']} | " + " | ".join(row) + " |")
    return "\n".join(lines)


def seeds_table(doc: dict) -> str:
    """Test accuracy of every task at its activation's chosen rate: one row per activation, one column per
    seed."""
    seeds = sorted({r["seed"] for r in doc["results"]})
    acc = {(r["activation"], r.get("depth"), r["seed"]): r["test_accuracy"] for r in chosen(doc)}
    deep = _by_depth(doc)
    lines = [("| depth " if deep else "") + "| activation | " + " | ".join(f"seed {s}" for s in seeds) + " |",
             ("| ---: " if deep else "") + "| --- |" + " ---: |" * len(seeds)]
    for p in doc["statistics"]["activations"]:
        key = (p["activation"], p.get("depth"))
        lines.append(f"| {_depth_cell(p)}{p['activation']} | "
                     + " | ".join(_cell(100 * acc[(*key, s)], ".2f") if (*key, s) in acc else "—" for s in seeds)
                     + " |")
    return "\n".join(lines)


# More layers than this, or depth as an axis: the layer tables show the first, middle and last layer.
MOST_LAYERS_AS_COLUMNS = 6


def _deep(doc: dict, field: str) -> bool:
    per = doc["statistics"]["activations"]
    return _by_depth(doc) or len({k for p in per for k in p["means"][field]}) > MOST_LAYERS_AS_COLUMNS


def _first_middle_last(layers: list) -> list:
    return list(dict.fromkeys([layers[0], layers[(len(layers) - 1) // 2], layers[-1]])) if layers else []


def gradients_table(doc: dict) -> str:
    """Per activation, each weight layer's mean ‖∂L/∂W‖₂ in the last epoch (mean over seeds), and the
    first layer's over the last's: how much smaller the gradient is at the input end. In a deep network,
    the first, middle and last layers."""
    per = doc["statistics"]["activations"]
    layers = list(dict.fromkeys(k for p in per for k in p["means"]["grad_norms"]))
    if not layers:
        return ""
    if _deep(doc, "grad_norms"):
        lines = [("| depth " if _by_depth(doc) else "") + "| activation | first layer | middle layer | last layer "
                 "| first / last |", ("| ---: " if _by_depth(doc) else "") + "| --- | ---: | ---: | ---: | ---: |"]
        for p in per:
            g = p["means"]["grad_norms"]
            picked = _first_middle_last(list(g))
            cells = [f"{_cell(g[k], '.2g')} ({k})" for k in picked] + ["—"] * (3 - len(picked))
            ratio = g[picked[0]] / g[picked[-1]] if picked and g[picked[-1]] else math.nan
            lines.append(f"| {_depth_cell(p)}{p['activation']} | " + " | ".join(cells) + f" | {_cell(ratio, '.2g')} |")
        return "\n".join(lines)
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
    batch, at initialisation → in the last epoch, and its dead units in the last epoch (means over seeds).
    In a deep network, the first, middle and last activation layers."""
    per = doc["statistics"]["activations"]
    layers = list(dict.fromkeys(k for p in per for k in p["means"]["activations"]))
    if not layers:
        return ""
    if _deep(doc, "activations"):
        head = ("| depth " if _by_depth(doc) else "") + "| activation | " + " | ".join(
            f"{where} {what}" for where in ("first", "middle", "last") for what in ("std", "dead")) + " |"
        lines = [head, ("| ---: " if _by_depth(doc) else "") + "| --- |" + " ---: |" * 6]
        for p in per:
            now, init = p["means"]["activations"], p["means"].get("activations_at_init", {})
            cells = []
            for k in _first_middle_last(list(now)):
                before, after = init.get(k, {}).get("std"), _cell(now[k].get("std"), ".2f")
                cells += [f"{after} ({k})" if before is None else f"{_cell(before, '.2f')} → {after} ({k})",
                          _percent(now[k].get("dead_fraction"))]
            lines.append(f"| {_depth_cell(p)}{p['activation']} | " + " | ".join(cells + ["—"] * (6 - len(cells)))
                         + " |")
        return "\n".join(lines)
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
    rows += [("GPU" if name == "gpu" else f"{name} version", "—" if v is None else v)
             for name, v in doc.get("versions", {}).items()]
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


def _depths_text(doc: dict) -> str:
    depths = list(dict.fromkeys(p["depth"] for p in doc["statistics"]["activations"] if "depth" in p))
    return f"depths {', '.join(map(str, depths))} × " if depths else ""


def _rates_text(doc: dict) -> str:
    if not rates_axis(doc):
        return ""
    return f" × learning rates {', '.join(f'{r:g}' for r in doc['statistics']['lrs'])}"


def grid_section(doc: dict) -> list[str]:
    """With rates as an axis: the grid and what it means, and the edge line."""
    if not rates_axis(doc):
        return []
    edge = edges_line(doc)
    return [f"Validation accuracy (%) at the last epoch, mean [95% CI] over seeds, for every learning rate. Each "
            f"activation's rate, in bold, is the one with the best mean {selection_words(doc['statistics']['select'])}; the test set takes "
            "no part in the choice, and the tables above are at the chosen rates.", "",
            grid_table(doc), "", *([edge, ""] if edge else [])]


def report_markdown(doc: dict, figures: Iterable[str] = ()) -> str:
    """report.md: what was run, the statistics, every seed's accuracy, the figures, the layers, the config."""
    seeds = sorted({r["seed"] for r in doc["results"]})
    parts = [
        "# actcli compare: report", "",
        describe_run(doc), "",
        f"{len(doc['results'])} tasks: {len({p['activation'] for p in doc['statistics']['activations']})} "
        f"activations × {_depths_text(doc)}seeds "
        f"{', '.join(map(str, seeds))}{_rates_text(doc)}. Test accuracy is in points (percent); intervals are "
        "95% Student-t intervals over seeds; Δ is the difference to the baseline paired by seed (the same seed "
        "gives every activation the same batch order), p its paired t-test's, p, Holm that p adjusted for the "
        "comparisons made together (Holm–Bonferroni), and d_z the mean of Δ ÷ its standard deviation. The "
        "verdict is better or worse where the adjusted p is below 0.05, else not distinguishable.", "",
        statistics_table(doc), "",
        *grid_section(doc),
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


def _g(x) -> str:
    return "—" if x is None else (f"{x:.3g}" if x == 0 or 1e-3 <= abs(x) < 1e4 else f"{x:.1e}")


def depth_markdown(docs: Iterable[dict]) -> str:
    """`actcli depth --json` documents (one per init) as one table: the theory and the measurement."""
    lines = ["| init | activation | σ_w² | q* | χ₁ | phase | ∇₁/∇ theory | ∇₁/∇ measured [seeds] | lost at | "
             "dead, last layer | std, last layer |",
             "| --- | --- | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: |"]
    for doc in docs:
        for r in doc["activations"]:
            th, m = r["theory"], r.get("measured", {})
            q_star = {"none": "none (grows)", "neutral": "any"}.get(th["fixed_point"], _g(th["q_star"]))
            lost = r.get("measured_first_vanished")
            lines.append(
                f"| {doc['network']['init']} | {r['activation']} | {_g(th['sigma_w2'][1])} | {q_star} | "
                f"{th['chi1']:.4g} | {th['phase']} | {_g(r['theory_ratio'])} | "
                + (f"{_g(r['measured_ratio'])} [{_g(r['measured_ratio_low'])}, {_g(r['measured_ratio_high'])}] | "
                   f"{'—' if lost is None else f'layer {lost}'} | {_percent(m['dead_fraction'][-1])} | "
                   f"{_g(m['std'][-1])} |" if m else "— | — | — | — |"))
    return "\n".join(lines)
