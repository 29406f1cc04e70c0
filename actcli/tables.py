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


def activations_table(descriptions: Iterable[dict]) -> Table:
    """One row per activation: f and f′, parameters, output range and properties in short words."""
    table = Table(title="Activation functions", show_lines=True, expand=True)
    table.add_column("name", no_wrap=True, style="bold")
    table.add_column("f(x) and f′(x)", ratio=4)
    table.add_column("params", ratio=2)
    table.add_column("range", ratio=1, min_width=7)
    table.add_column("properties", ratio=2)
    for d in descriptions:
        params = "\n".join(f"{k}={num(v, 8)}" for k, v in d["params"].items()) or "—"
        flags = [word for word, on in (("zero-centred", d["zero_centred"]), ("monotonic", d["monotonic"]),
                                        ("smooth at 0", d["smooth_at_zero"])) if on]
        flags.append(f"saturates: {d['saturates']}")
        table.add_row(d["name"], f"{d['formula']}\n{d['derivative']}", params, d["output_range"],
                      ", ".join(flags))
    return table


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
                  caption=_clip_caption(doc, modes))
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


def _clip_caption(doc: dict, modes) -> str:
    notes = [f"update = −η·g with η = {num(doc['lr'])}"]
    if "by_value" in doc:
        notes.append("by value turns the direction")
    if "by_norm" in doc:
        notes.append("by norm keeps it")
    return "; ".join(notes)


def compare_table(results: list[dict], dataset: dict) -> Table:
    """The summary of `actcli compare`, best test accuracy first."""
    table = Table(title=f"{dataset['name']} ({dataset['source']}): train {dataset['train']}, "
                        f"val {dataset['val']}, test {dataset['test']}")
    any_diverged = any(r["diverged"] for r in results)
    table.add_column("activation", no_wrap=True)
    for column in ("test acc", "test loss", "best val", "img/s", "∇ first", "∇ last", "dead"):
        table.add_column(column, justify="right")
    if any_diverged:
        table.add_column("note")

    for r in sorted(results, key=lambda r: 1.0 if math.isnan(r["test_accuracy"]) else -r["test_accuracy"]):
        last = r["epochs"][-1] if r["epochs"] else {}
        speed = r["images_per_second"]
        dead = last.get("dead_fraction")
        note = f"diverged in epoch {r['diverged_epoch']}" if r["diverged"] else ""
        row = [r["activation"], f"{100 * r['test_accuracy']:.2f}%", num(r["test_loss"], 4),
               f"{100 * r['best_val_accuracy']:.2f}%", f"{speed:,.0f}", num(last.get("grad_norm_first", math.nan), 2),
               num(last.get("grad_norm_last", math.nan), 2), "—" if dead is None else f"{100 * dead:.1f}%"]
        table.add_row(*row, *([note] if any_diverged else []))
    table.caption = "∇ first / last: mean ‖∂L/∂W‖₂ of the first conv and last dense layer in the last epoch"
    return table
