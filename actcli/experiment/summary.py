"""Summaries over seeds: the statistics per activation, the paired comparison with the baseline, and
summary.csv."""

from __future__ import annotations

import csv
import io
import math
from typing import Iterable, Mapping, Sequence

from .. import stats
from ..config import DEFAULT_SELECT, DEFAULTS, SELECTIONS
from ..errors import ParameterError
from .tasks import Task


def _points(x: float) -> float:
    return 100.0 * x


def _best_first(entry: dict) -> tuple:
    mean = entry["test_accuracy_points"]["mean"]
    return (math.isnan(mean), -mean if not math.isnan(mean) else 0.0, entry["activation"])


def _mean_of(dicts: Sequence[Mapping]) -> dict:
    """Key by key, the mean over `dicts` of their numbers, nested dicts alike (a per-layer field);
    keys in the order they first appear; nan where no dict has a finite number."""
    out = {}
    for key in dict.fromkeys(k for d in dicts for k in d):
        values = [d.get(key) for d in dicts]
        nested = any(isinstance(v, Mapping) for v in values)
        out[key] = (_mean_of([v for v in values if isinstance(v, Mapping)]) if nested
                    else stats.finite_mean(values))
    return out


def _means(runs: Iterable[dict]) -> dict:
    """Means over seeds of the last epoch's per-layer gradient norms and activation statistics and
    its dead fraction, of the activation statistics at initialisation, and of images/s."""
    runs = list(runs)
    lasts = [{k: v for k, v in last_epoch(r).items() if k in ("grad_norms", "activations", "dead_fraction")}
             for r in runs]
    return {"grad_norms": {}, "activations": {}, "dead_fraction": math.nan, **_mean_of(lasts),
            "activations_at_init": _mean_of([r.get("activations_at_init", {}) for r in runs]),
            "images_per_second": stats.finite_mean(r.get("images_per_second") for r in runs)}


# How each activation's learning rate is chosen (config.SELECTIONS): the validation field of the last
# epoch, and whether more is better. The test set never takes part.
_SELECTED_BY = {"val-accuracy": ("val_accuracy", max), "val-loss": ("val_loss", min)}
_SELECTED_WORDS = {"val-accuracy": "validation accuracy", "val-loss": "validation loss"}


def selection(select: str) -> tuple[str, object]:
    """(the last epoch's field, max or min) that `select` chooses a rate by; a usage error for another."""
    if select not in _SELECTED_BY:
        raise ParameterError(f"{select!r} is not a way to choose a rate ({', '.join(SELECTIONS)})", "select")
    return _SELECTED_BY[select]


def _validation(runs: Mapping[int, dict], field: str) -> float:
    """The mean over seeds of the last epoch's `field`: nan when a seed has none that is finite (a
    diverged run), so that a rate where a seed diverged is chosen last."""
    values = [last_epoch(r).get(field, math.nan) for r in runs.values()]
    return math.fsum(values) / len(values) if values and all(math.isfinite(v) for v in values) else math.nan


def selection_words(select: str) -> str:
    """What a selection chooses by, in words: 'validation accuracy'."""
    return _SELECTED_WORDS[select]


def choose_rate(cells: Mapping[float, Mapping[int, dict]], select: str = DEFAULT_SELECT) -> float:
    """The learning rate of `cells` ({lr: {seed: result}}, one activation at one depth) whose mean over
    seeds of the last epoch's validation accuracy (or loss) is best; a tie goes to the smaller rate, and
    a rate with a diverged seed comes last."""
    field, best = selection(select)
    finite = {lr: v for lr in sorted(cells) if math.isfinite(v := _validation(cells[lr], field))}
    return best(finite, key=finite.__getitem__) if finite else min(cells)


def _grid(cells: Mapping[float, Mapping[int, dict]], chosen: float, depth) -> list[dict]:
    """One row per rate of one activation: the seeds, and validation accuracy (in points) and loss of the
    last epoch over seeds; which rate was chosen."""
    rows = []
    for lr in sorted(cells):
        lasts = [last_epoch(r) for r in cells[lr].values()]
        rows.append({**({} if depth is None else {"depth": depth}), "lr": lr, "seeds": sorted(cells[lr]),
                     "val_accuracy_points": stats.estimate([_points(e.get("val_accuracy", math.nan))
                                                            for e in lasts]).to_dict(),
                     "val_loss": stats.estimate([e.get("val_loss", math.nan) for e in lasts]).to_dict(),
                     "chosen": lr == chosen})
    return rows


def summarize(head: Mapping, results: Mapping[Task, dict], baseline: str | None = None,
              select: str = DEFAULT_SELECT) -> dict:
    """The document `compare` and `report` print and save: every task's result, and per activation
    (and depth, where depth is an axis; best mean first within each depth), at the learning rate chosen
    for it on validation (`select`, see SELECTIONS; where rates are an axis), the mean, sd and 95%
    t-interval of test accuracy (in points) and test loss over seeds, with the paired difference to the
    baseline at the same depth (default: the best mean there), its t-test, effect size d_z,
    Holm-adjusted p over the comparisons at that depth and the verdict it gives, and the means over seeds
    of the last epoch's per-layer numbers (see _means). With several rates, `grid` holds every
    activation × rate's validation numbers."""
    selection(select)
    groups: dict[tuple, dict[float, dict[int, dict]]] = {}
    for task, r in sorted(results.items()):
        groups.setdefault((task.depth, task.activation), {}).setdefault(task.lr, {})[task.seed] = r
    names = list(dict.fromkeys(a for _, a in groups))
    if baseline is not None and baseline not in names:
        raise ParameterError(f"baseline {baseline!r} is not among the activations "
                             f"({', '.join(names) or 'none'})", "baseline")
    rates = sorted({t.lr for t in results})
    depths = sorted({d for d, _ in groups}, key=lambda d: -1 if d is None else d)
    per, grid, baselines, edges = [], [], {}, []
    for depth in depths:
        here = {a: cells for (d, a), cells in groups.items() if d == depth}
        chosen = {a: choose_rate(cells, select) for a, cells in here.items()}
        for a, cells in here.items():
            grid += [{"activation": a, **row} for row in _grid(cells, chosen[a], depth)]
            if len(cells) > 1 and chosen[a] in (min(cells), max(cells)):
                edges.append({"activation": a, **({} if depth is None else {"depth": depth}), "lr": chosen[a],
                              "edge": "smallest" if chosen[a] == min(cells) else "largest"})
        at_rate = {a: cells[chosen[a]] for a, cells in here.items()}
        accuracy = {a: {s: _points(r["test_accuracy"]) for s, r in runs.items()} for a, runs in at_rate.items()}
        rows = sorted(({"activation": a, **({} if depth is None else {"depth": depth}), "lr": chosen[a],
                        "seeds": sorted(runs),
                        "test_accuracy_points": stats.estimate(list(accuracy[a].values())).to_dict(),
                        "test_loss": stats.estimate([r["test_loss"] for r in runs.values()]).to_dict(),
                        "diverged": sum(bool(r["diverged"]) for r in runs.values()),
                        "means": _means(runs.values())}
                       for a, runs in at_rate.items()), key=_best_first)
        against = baseline if baseline in here else rows[0]["activation"]
        baselines[depth] = against
        tests = stats.holm({p["activation"]: stats.paired_difference(accuracy[p["activation"]], accuracy[against])
                            for p in rows if p["activation"] != against})
        for p in rows:
            p["vs_baseline"] = tests[p["activation"]].to_dict() if p["activation"] in tests else None
        per += rows
    one = set(baselines.values())
    grids = {} if len(rates) < 2 else {"select": select, "lrs": rates, "grid": grid, "edges": edges}
    return {
        "config": head["config"], "dataset": head["dataset"], "versions": head.get("versions", {}),
        # the tasks at the chosen rates, in the table's order (see `chosen`), then those at the other rates
        "results": [groups[(p.get("depth"), p["activation"])][p["lr"]][s] for p in per for s in p["seeds"]]
        + [r for p in per for lr, runs in sorted(groups[(p.get("depth"), p["activation"])].items())
           if lr != p["lr"] for r in runs.values()],
        "statistics": {"confidence": stats.CONFIDENCE, "unit": "test accuracy in points (percent)",
                       "baseline": one.pop() if len(one) == 1 else None,
                       **({} if depths == [None] else {"baselines": {str(d): b for d, b in baselines.items()}}),
                       "correction": "holm", "lrs": rates, **grids, "activations": per},
    }


def chosen(doc: Mapping) -> list[dict]:
    """The results of the tasks at each activation's chosen rate: those the table, the seeds table and
    the figures describe (every result, where there is one rate)."""
    at = {(p["activation"], p.get("depth"), p["lr"]) for p in doc["statistics"]["activations"]}
    return [r for r in doc["results"] if (r["activation"], r.get("depth"), r.get("lr", DEFAULTS.lr)) in at]


def interval_disagrees(diff: Mapping | None) -> str | None:
    """The interval's verdict, where it differs from the Holm-adjusted one (the interval is not
    corrected for the other comparisons); None where they agree."""
    if not diff or not diff.get("interval") or diff["interval"] == diff["verdict"]:
        return None
    return diff["interval"]


def edges_line(doc: Mapping) -> str | None:
    """One line naming the activations whose chosen rate is the smallest or largest tried; None if none."""
    edges = doc["statistics"].get("edges") or []
    if not edges:
        return None
    named = ", ".join(f"{e['activation']}{_at_depth(e)} ({e['lr']:g}, the {e['edge']})" for e in edges)
    return f"At the edge of the learning-rate grid, so the best rate may lie beyond it: {named}."


def _at_depth(row: Mapping) -> str:
    return f" at depth {row['depth']}" if row.get("depth") is not None else ""


def rates_axis(doc: Mapping) -> bool:
    """Whether the summary's tasks were trained at more than one learning rate."""
    return "grid" in doc["statistics"]


def depths(doc: Mapping) -> list[int | None]:
    """The depths a summary holds, in order ([None] when depth is not an axis)."""
    return list(dict.fromkeys(p.get("depth") for p in doc["statistics"]["activations"])) or [None]


def baseline_at(doc: Mapping, depth: int | None) -> str | None:
    """The baseline the rows at `depth` are compared with."""
    st = doc["statistics"]
    return st["baseline"] if depth is None or "baselines" not in st else st["baselines"][str(depth)]


# One row per task, then one per activation with the statistics (seed 'all'); each task's per-layer
# numbers follow dead_fraction (see _layer_columns).
TASK_FIELDS = ("activation", "depth", "lr", "seed", "n", "test_accuracy", "test_loss", "best_val_accuracy", "diverged",
               "diverged_epoch", "epochs", "seconds", "images_per_second", "dead_fraction")
STATISTICS_FIELDS = ("accuracy_points_mean", "accuracy_points_sd", "accuracy_points_ci_low",
                     "accuracy_points_ci_high", "loss_mean", "loss_sd", "loss_ci_low", "loss_ci_high", "baseline",
                     "diff_points_mean", "diff_points_ci_low", "diff_points_ci_high", "p", "p_holm", "d_z", "verdict")


def last_epoch(result: Mapping) -> dict:
    """The last epoch's measurements of a task ({} if it ran none)."""
    return result["epochs"][-1] if result["epochs"] else {}


def _layer_columns(epoch: Mapping) -> dict:
    """An epoch's per-layer numbers as flat columns: grad_norm_conv1, …, conv1_mean, conv1_std, …"""
    return {**{f"grad_norm_{layer}": v for layer, v in epoch.get("grad_norms", {}).items()},
            **{f"{layer}_{k}": v for layer, d in epoch.get("activations", {}).items() for k, v in d.items()}}


def summary_csv(doc: Mapping) -> str:
    """summary.csv: every task's numbers (the last epoch's), at every rate, then every activation's
    statistics at its chosen rate."""
    columns = [_layer_columns(last_epoch(r)) for r in doc["results"]]
    rows = [{**r, "n": 1, "epochs": len(r["epochs"]), "dead_fraction": last_epoch(r).get("dead_fraction"), **c}
            for r, c in zip(doc["results"], columns, strict=True)]
    layers = dict.fromkeys(k for c in columns for k in c)
    buffer = io.StringIO()
    task_fields = [f for f in TASK_FIELDS if f != "depth" or depths(doc) != [None]]   # depth: where it is an axis
    writer = csv.DictWriter(buffer, fieldnames=[*task_fields, *layers, *STATISTICS_FIELDS], lineterminator="\n",
                            extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    st = doc["statistics"]
    for p in st["activations"]:
        acc, loss, diff = p["test_accuracy_points"], p["test_loss"], p["vs_baseline"] or {}
        writer.writerow({"activation": p["activation"], "depth": p.get("depth"), "lr": p["lr"], "seed": "all",
                         "n": acc["n"],
                         **{f"accuracy_points_{k}": acc[k] for k in ("mean", "sd", "ci_low", "ci_high")},
                         **{f"loss_{k}": loss[k] for k in ("mean", "sd", "ci_low", "ci_high")},
                         "baseline": baseline_at(doc, p.get("depth")), "diff_points_mean": diff.get("mean"),
                         "diff_points_ci_low": diff.get("ci_low"), "diff_points_ci_high": diff.get("ci_high"),
                         **{k: diff.get(k) for k in ("p", "p_holm", "d_z")}, "verdict": diff.get("verdict", "baseline")})
    return buffer.getvalue()
