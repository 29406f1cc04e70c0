"""Results → rich Table objects. Nothing here prints."""

from __future__ import annotations

import math
from typing import Iterable

from rich.table import Table


def num(x: float, digits: int = 6) -> str:
    """A number for a table: `digits` significant figures, inf and nan spelt out."""
    x = float(x)
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return f"{x:.{digits}g}"


FLAGS = (("Z", "zero_centred", "zero-centred"), ("M", "monotonic", "monotonic"), ("S", "smooth_at_zero", "smooth at 0"))
SATURATES = {"both": "both", "negative": "x<0", "positive": "x>0", "none": "—"}


def activations_table(descriptions: Iterable[dict]) -> Table:
    """One row per activation, made for 80 columns (each at most two lines): the name, f(x), the output
    range, its properties as letters and where it saturates. The full card: `activation_card`."""
    from rich import box

    table = Table(title="Activation functions", box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True,
                  caption_justify="left")
    table.add_column("name", no_wrap=True, style="bold")
    table.add_column("f(x)", ratio=1)
    table.add_column("range", max_width=14)
    table.add_column("ZMS", no_wrap=True)
    table.add_column("saturates", no_wrap=True)
    for d in descriptions:
        flags = "".join(letter if d[key] else "·" for letter, key, _ in FLAGS)
        table.add_row(d["name"], _function_only(d["formula"]), d["output_range"], flags,
                      SATURATES.get(d["saturates"], d["saturates"]))
    table.caption = ("ZMS: " + ", ".join(f"{letter} {word}" for letter, _, word in FLAGS)
                     + " (· where not); saturates: where f′ → 0. The full card with f′, parameters and "
                     "properties: actcli list NAME (all of them: --wide)")
    return table


def _function_only(formula: str) -> str:
    """'ReLU(x) = max(0, x)' → 'max(0, x)': the name is in its own column (an approximation keeps its ≈)."""
    head, sep, rest = formula.partition(" = ")
    if sep and "(x)" in head and " ≈ " not in head and "," not in head:
        return rest
    head, sep, rest = formula.partition(" ≈ ")
    return f"≈ {rest}" if sep and "(x)" in head else formula


def activation_card(d: dict) -> Table:
    """Everything about one activation: its title, f and f′, the parameters, the properties, torch's
    module and the note."""
    from rich import box

    def word(flag):
        return "unknown" if flag is None else ("yes" if flag else "no")

    card = Table(title=f"{d['name']}: {d['title']}" if d.get("title") else d["name"], box=box.SIMPLE,
                 show_header=False, pad_edge=False, title_justify="left")
    card.add_column("", style="bold", no_wrap=True)
    card.add_column("")
    rows = [("f(x)", d["formula"]), ("f′(x)", d["derivative"]),
            ("parameters", ", ".join(f"{k} = {num(v, 17)}" for k, v in d["params"].items()) or "none"),
            ("range", d["output_range"]), ("zero-centred", word(d["zero_centred"])),
            ("monotonic", word(d["monotonic"])), ("smooth at 0", word(d["smooth_at_zero"])),
            ("saturates", d["saturates"])]
    rows += [(key, d[key]) for key in ("torch", "note") if d.get(key)]
    for key, value in rows:
        card.add_row(key, value)
    return card


def derivation_table(doc: dict) -> Table:
    """The table of `actcli derive`: x, f, f′ and, when checked, the two oracles."""
    checked = "max_abs_error" in doc
    params = ", ".join(f"{k}={num(v, 17)}" for k, v in doc["params"].items())
    title = doc["activation"] + (f" ({params})" if params else "")
    table = Table(title=title)
    for column in ("x", "f(x)", "f′(x)") + (("autograd", "central diff.", "|f′ − autograd|") if checked else ()):
        table.add_column(column, justify="right")
    digits = 9 if checked else 12  # five columns of numbers must fit an 80-column terminal
    for p in doc["points"]:
        row = [num(p["x"]), num(p["f"], digits), num(p["df"], digits)]
        if checked:
            numeric = num(p["df_numeric"], digits) + (" (kink)" if p["kink"] else "")
            row += [num(p["df_autograd"], digits), numeric, num(abs(p["df"] - p["df_autograd"]), 3)]
        table.add_row(*row)
    return table


REGIME_STYLE = {"vanishing": "yellow", "exploding": "red", "overflow": "bold red", "stable": "green"}


def chain_report(doc: dict) -> list:
    """The renderables of `actcli chain`: the layer table, Nielsen's product, the verdict, the update."""
    from rich.text import Text

    table = Table(title=f"{doc['activation']} chain, input a₀ = {num(doc['input'])}")
    for column in ("j", "wⱼ", "bⱼ", "zⱼ", "aⱼ", "f′(zⱼ)", "∂C/∂bⱼ", "∂C/∂wⱼ"):
        table.add_column(column, justify="right")
    for row in doc["layers"]:
        table.add_row(str(row["j"]), *(num(row[k]) for k in ("w", "b", "z", "a", "dact", "dC_db", "dC_dw")))
    product = doc["product"]
    lines = [
        table,
        Text(f"∂C/∂b₁ = {'·'.join(product['symbols'])}"),
        Text(f"       = {' × '.join(num(v) for v in product['values'])} = {num(product['result'], 10)}"),
    ]
    if doc["cost"] is not None:
        lines.append(Text(f"C = ½(a_L − y)² = {num(doc['cost'])}, so ∂C/∂a_L = a_L − y = {num(doc['dC_da'])}"))
    t = doc["thresholds"]
    verdict = Text("learning speed |∂C/∂b₁| / |∂C/∂b_L| = ")
    verdict.append(num(doc["speed_ratio"]))
    verdict.append("  →  ")
    verdict.append(doc["regime"], style=REGIME_STYLE[doc["regime"]])
    verdict.append(f"  (vanishing below {num(t['vanishing_below'])}, exploding above {num(t['exploding_above'])})")
    lines.append(verdict)
    if doc["dead"]:
        lines.append(Text(f"dead units (f′(zⱼ) = 0, no gradient passes back): layer "
                          f"{', '.join(map(str, doc['dead']))}", style="yellow"))
    u = doc["update"]
    lines.append(Text(f"update: b₁ ← b₁ − η·∂C/∂b₁ = {num(u['b1'])} − {num(u['lr'])}·{num(product['result'])} "
                      f"= {num(u['b1_new'], 10)}"))
    return lines


def steps_table(steps: list[dict], clip: dict | None) -> Table:
    how = f", clipped by {clip['mode']} at {num(clip['threshold'])}" if clip else ", no clipping"
    table = Table(title=f"gradient descent{how}")
    for column in ("step", "b₁", "|∂C/∂b₁|", "C"):
        table.add_column(column, justify="right")
    for s in steps:
        table.add_row(str(s["step"]), num(s["b1"]), num(s["abs_grad_b1"]), num(s["cost"]))
    return table


def clip_table(doc: dict) -> Table:
    modes = [(k, label) for k, label in (("by_value", "by value"), ("by_norm", "by norm")) if k in doc]
    table = Table(title=f"clipping at c = {num(doc['threshold'])} ({doc['source']})",
                  caption=_clip_caption(doc))
    table.add_column("component")
    table.add_column("original", justify="right")
    for _, label in modes:
        table.add_column(label, justify="right")
        table.add_column(f"update ({label})", justify="right")
    for i, label in enumerate(doc["labels"]):
        row = [label, num(doc["original"][i])]
        for key, _ in modes:
            row += [num(doc[key]["grad"][i]), num(doc[key]["update"][i])]
        table.add_row(*row)
    table.add_section()
    row = ["L2 norm", num(doc["norm"])]
    for key, _ in modes:
        row += [num(doc[key]["norm"]), ""]
    table.add_row(*row)
    row = ["cosine to original", "1"]
    for key, _ in modes:
        row += [num(doc[key]["cosine"]), ""]
    table.add_row(*row)
    return table


def _clip_caption(doc: dict) -> str:
    notes = [f"update = −η·g with η = {num(doc['lr'])}"]
    if "by_value" in doc:
        notes.append("by value turns the direction")
    if "by_norm" in doc:
        notes.append("by norm keeps it")
    return "; ".join(notes)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'s' * (n != 1)}"


def _plus_minus(est: dict, unit: str = "", digits: int = 2) -> str:
    """'95.90 ± 0.25%' (mean ± half the interval), or the one value when there is no interval."""
    if est["n"] == 0:
        return "—"
    if math.isnan(est["ci_low"]):
        return f"{est['mean']:.{digits}f}{unit}"
    return f"{est['mean']:.{digits}f} ± {(est['ci_high'] - est['ci_low']) / 2:.{digits}f}{unit}"


def _difference(diff: dict | None) -> str:
    """The paired difference as mean ± half its interval (a t-interval is symmetric)."""
    if diff is None:
        return "baseline"
    if diff["n"] == 0:
        return "—"
    if math.isnan(diff["ci_low"]):
        return f"{diff['mean']:+.2f}"
    return f"{diff['mean']:+.2f} ± {(diff['ci_high'] - diff['ci_low']) / 2:.2f}"


def compare_table(doc: dict) -> Table:
    """The summary of `compare` and `report`, made for 80 columns: per activation, best mean test
    accuracy first, with its 95% interval over seeds and the paired difference to the baseline, at each
    activation's chosen rate. (Test loss, p-values and images/s are in --json and summary.csv.)"""
    from rich import box

    from .experiment.summary import interval_disagrees, rates_axis

    dataset, st = doc["dataset"], doc["statistics"]
    seeds = sorted({r["seed"] for r in doc["results"]})
    by_depth = "baselines" in st                     # depth is an axis: rows grouped by depth
    first = next((k for p in st["activations"] for k in p["means"]["grad_norms"]), "conv1")
    table = Table(title=f"{dataset['name']} ({dataset['source']}): train {dataset['train']}, val {dataset['val']}, "
                        f"test {dataset['test']}; {_count(doc['config']['epochs'], 'epoch')}, "
                        f"{_count(len(seeds), 'seed')}", box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
    grid = rates_axis(doc)
    # the n column only where the activations differ in seeds (the title says how many): 80 columns hold the
    # chosen rate's column with rates as an axis
    counts = not grid or len({len(p["seeds"]) for p in st["activations"]}) > 1
    if by_depth:
        table.add_column("L", justify="right")      # hidden layers: a narrow column, so that 80 columns hold
    table.add_column("activation", overflow="fold", max_width=18)   # a formula's name can be long
    delta = f"Δ vs {st['baseline']}" if st["baseline"] else "Δ vs best"
    delta = delta if len(delta) <= len("-80.80 ± 5.08") else delta.replace(" vs ", " vs\n")  # as wide as its numbers
    verdicts = not single_seed(doc)              # with one seed every verdict would read 'no interval'
    for column in (("lr",) if grid else ()) + (("n",) if counts else ()) + ("test acc %", delta) \
            + (("verdict",) if verdicts else ()) + (f"∇ {first}", "dead"):
        table.add_column(column, justify="left" if column == "verdict" else "right",   # a verdict wraps where
                         no_wrap=column != "verdict")                                  # 80 columns are tight
    previous = None
    for p in st["activations"]:
        if by_depth and previous is not None and p["depth"] != previous:
            table.add_section()
        previous = p.get("depth")
        n, dead, diff = len(p["seeds"]), p["means"]["dead_fraction"], p["vs_baseline"]
        # the n column says how many seeds: "not distinguishable" alone fits 80 columns
        verdict = "—" if diff is None else diff["verdict"].replace(f" with {diff['n']} seeds", "")
        if p["diverged"]:
            verdict += f"; diverged {p['diverged']}/{n}"
        table.add_row(*([str(p["depth"])] if by_depth else []), p["activation"],
                      *([short_rate(p["lr"])] if grid else []), *([str(n)] if counts else []),
                      _plus_minus(p["test_accuracy_points"]) + ("" if verdicts or not p["diverged"] else " diverged"),
                      _difference(diff) + ("*" if interval_disagrees(diff) else ""),
                      *([verdict] if verdicts else []), num(p["means"]["grad_norms"].get(first, math.nan), 2),
                      "—" if math.isnan(dead) else f"{100 * dead:.1f}%")
    table.caption = ("test accuracy: mean ± half its 95% t-interval over seeds; Δ: the paired difference "
                     "in points, by seed" + (", to the best at the same depth L (hidden layers)" if by_depth else "")
                     + f", ± half its 95% interval; ∇ {first}: mean ‖∂L/∂W‖₂ of the first "
                     "layer in the last epoch; dead: units that pass no gradient for a whole validation batch "
                     "(every layer's numbers: report.md, --json)"
                     + ("; verdict: Holm-adjusted p < 0.05 over the comparisons made together"
                        + ("; Δ*: its interval alone says otherwise" if any(interval_disagrees(p["vs_baseline"])
                                                                           for p in st["activations"]) else "")
                        if verdicts else "")
                     + ("; lr: the rate chosen on validation (the grid: below)" if grid else ""))
    return table


def short_rate(lr: float) -> str:
    """A learning rate in few characters: 3e-4, 2.5e-3, 0.3, 1."""
    if lr >= 0.1:
        return f"{lr:g}"
    mantissa, exponent = f"{lr:.6e}".split("e")
    return f"{mantissa.rstrip('0').rstrip('.')}e{int(exponent)}"


def grid_table(doc: dict) -> Table:
    """With rates as an axis: mean validation accuracy (%) at the last epoch over seeds, for every
    activation × rate; the chosen rate marked."""
    from rich import box

    from .experiment.summary import selection_words

    st = doc["statistics"]
    by_depth = "baselines" in st
    cells = {(g["activation"], g.get("depth"), g["lr"]): g for g in st["grid"]}
    table = Table(title="validation accuracy %, by rate",
                  caption=f"last epoch, mean over seeds; ▸ the rate chosen ({selection_words(st['select'])})",
                  box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
    if by_depth:
        table.add_column("L", justify="right")
    table.add_column("activation", overflow="fold", max_width=18)
    for r in st["lrs"]:
        table.add_column(short_rate(r), justify="right", no_wrap=True)
    previous = None
    for p in st["activations"]:
        if by_depth and previous is not None and p["depth"] != previous:
            table.add_section()
        previous = p.get("depth")
        row = []
        for r in st["lrs"]:
            g = cells.get((p["activation"], p.get("depth"), r))
            mean = None if g is None else g["val_accuracy_points"]["mean"]
            text = "—" if mean is None or math.isnan(mean) else f"{mean:.2f}"
            row.append(f"▸{text}" if g is not None and g["chosen"] else text)
        table.add_row(*([str(p["depth"])] if by_depth else []), p["activation"], *row)
    return table


def single_seed(doc: dict) -> bool:
    """Whether no activation of the summary has more than one seed: then no interval can be given."""
    return all(len(p["seeds"]) <= 1 for p in doc["statistics"]["activations"])


SINGLE_SEED_NOTE = "No interval can be given with one seed: --seeds 0-4 gives one, and a verdict."


def _sci(x) -> str:
    return "—" if x is None else (f"{x:.3g}" if 1e-3 <= abs(x) < 1e4 or x == 0 else f"{x:.1e}")


def depth_table(doc: dict) -> Table:
    """`actcli depth`: per activation, the mean-field numbers and the gradient first/last in theory and
    measured. Fits 80 columns."""
    from rich import box

    net = doc["network"]
    measured = bool(net["seeds"])
    sigma_b2 = doc["activations"][0]["theory"]["sigma_b2"] if doc["activations"] else 0.0
    table = Table(title=f"depth {net['depth']}, width {net['width']}, σ_b² {sigma_b2:g}, {net['batch']} images of "
                        f"{net['dataset']}" + (f", seeds {', '.join(map(str, net['seeds']))}" if measured
                                               else ", theory only"),
                  box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
    for column in ("activation", "σ_w²", "q*", "χ₁", "ξ", "phase", "∇₁/∇", *(["measured", "lost"] if measured else [])):
        table.add_column(column, justify="left" if column in ("activation", "phase") else "right",
                         overflow="fold", max_width=14 if column == "activation" else None,
                         no_wrap=column != "activation")
    for row in doc["activations"]:
        th = row["theory"]
        q_star = {"none": "none", "neutral": "any"}.get(th["fixed_point"], _sci(th["q_star"]))
        cells = [row["activation"], f"{th['sigma_w2'][1 if len(th['sigma_w2']) > 2 else 0]:.3g}",
                 q_star, f"{th['chi1']:.4g}", _sci(th["xi"]), th["phase"], _sci(row["theory_ratio"])]
        if measured:
            lost = row["measured_first_vanished"]
            cells += [_sci(row["measured_ratio"]), "—" if lost is None else str(lost)]
        table.add_row(*cells)
    table.caption = ("σ_w² of the hidden layers; q*: the length map's fixed point; χ₁ < 1 ordered (gradients "
                     "vanish), > 1 chaotic; ξ = −1/ln χ₁ layers; ∇₁/∇: ‖∂L/∂W‖ of the first weight layer over "
                     "the output layer's, in theory" + ("; measured: the same, geometric mean over seeds; lost: "
                                                         "the first layer whose gradient is below 1e-8 of the "
                                                         "last's" if measured else ""))
    if measured and any(not math.isfinite(r["measured_ratio"]) for r in doc["activations"]):
        table.caption += ("; nan: a seed's output layer had no gradient at all (every unit of a layer dead for "
                          "every image, or its signal under float64's smallest number)")
    return table
