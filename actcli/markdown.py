"""A run's summary as Markdown (report.md, docs/results.md): renders on GitHub, pastes into notes.

Nothing here prints or writes; `report_markdown` returns the text.
"""

from __future__ import annotations

import math
from typing import Iterable



def _cell(x: float, fmt: str) -> str:
    return "—" if x is None or (isinstance(x, float) and math.isnan(x)) else format(x, fmt)


def _interval(est: dict, fmt: str = ".2f") -> str:
    if est["n"] == 0:
        return "—"
    if math.isnan(est["ci_low"]):
        return _cell(est["mean"], fmt)
    return f"{est['mean']:{fmt}} [{est['ci_low']:{fmt}}, {est['ci_high']:{fmt}}]"


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
             "points [95% CI] | verdict | ‖∇W‖ first layer | dead units | img/s |",
             "| --- | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: |"]
    for p in st["activations"]:
        n, m, diff = len(p["seeds"]), p["means"], p["vs_baseline"]
        verdict = "baseline" if diff is None else diff["verdict"]
        if p["diverged"]:
            verdict += f"; diverged in {p['diverged']} of {n}"
        lines.append(
            f"| {p['activation']} | {n} | {_interval(p['test_accuracy_points'])} | "
            f"{_interval(p['test_loss'], '.3f')} | {'—' if diff is None else _interval(diff, '+.2f')} | {verdict} | "
            f"{_cell(m['grad_norm_first'], '.2g')} | "
            f"{_cell(100 * m['dead_fraction'], '.1f')}{'' if math.isnan(m['dead_fraction']) else '%'} | "
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


def report_markdown(doc: dict, figures: Iterable[str] = ()) -> str:
    """report.md: what was run, the statistics, every seed's accuracy, the figures."""
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
    parts += ["Remade by `actcli report FOLDER` from the files in `results/`.", ""]
    return "\n".join(parts)
