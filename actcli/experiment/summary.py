"""Summaries over seeds: the statistics per activation, the paired comparison with the baseline, and
summary.csv."""

from __future__ import annotations

import csv
import io
import math
from typing import Iterable, Mapping, Sequence

from .. import stats
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


def summarize(head: Mapping, results: Mapping[Task, dict], baseline: str | None = None) -> dict:
    """The document `compare` and `report` print and save: every task's result, and per activation
    (and depth, where depth is an axis; best mean first within each depth) the mean, sd and 95%
    t-interval of test accuracy (in points) and test loss over seeds, with the paired difference to the
    baseline at the same depth (default: the best mean there) and its verdict, and the means over seeds
    of the last epoch's per-layer numbers (see _means)."""
    groups: dict[tuple, dict[int, dict]] = {}
    for task, r in sorted(results.items()):
        groups.setdefault((task.depth, task.activation), {})[task.seed] = r
    names = list(dict.fromkeys(a for _, a in groups))
    if baseline is not None and baseline not in names:
        raise ParameterError(f"baseline {baseline!r} is not among the activations "
                             f"({', '.join(names) or 'none'})", "baseline")
    depths = sorted({d for d, _ in groups}, key=lambda d: -1 if d is None else d)
    per, baselines = [], {}
    for depth in depths:
        here = {a: runs for (d, a), runs in groups.items() if d == depth}
        accuracy = {a: {s: _points(r["test_accuracy"]) for s, r in runs.items()} for a, runs in here.items()}
        rows = sorted(({"activation": a, **({} if depth is None else {"depth": depth}), "seeds": sorted(runs),
                        "test_accuracy_points": stats.estimate(list(accuracy[a].values())).to_dict(),
                        "test_loss": stats.estimate([r["test_loss"] for r in runs.values()]).to_dict(),
                        "diverged": sum(bool(r["diverged"]) for r in runs.values()),
                        "means": _means(runs.values())}
                       for a, runs in here.items()), key=_best_first)
        chosen = baseline if baseline in here else rows[0]["activation"]
        baselines[depth] = chosen
        for p in rows:
            p["vs_baseline"] = (None if p["activation"] == chosen else
                                stats.paired_difference(accuracy[p["activation"]], accuracy[chosen]).to_dict())
        per += rows
    one = set(baselines.values())
    return {
        "config": head["config"], "dataset": head["dataset"], "versions": head.get("versions", {}),
        "results": [groups[(p.get("depth"), p["activation"])][s] for p in per for s in p["seeds"]],
        "statistics": {"confidence": stats.CONFIDENCE, "unit": "test accuracy in points (percent)",
                       "baseline": one.pop() if len(one) == 1 else None,
                       **({} if depths == [None] else {"baselines": {str(d): b for d, b in baselines.items()}}),
                       "activations": per},
    }


def depths(doc: Mapping) -> list[int | None]:
    """The depths a summary holds, in order ([None] when depth is not an axis)."""
    return list(dict.fromkeys(p.get("depth") for p in doc["statistics"]["activations"])) or [None]


def baseline_at(doc: Mapping, depth: int | None) -> str | None:
    """The baseline the rows at `depth` are compared with."""
    st = doc["statistics"]
    return st["baseline"] if depth is None or "baselines" not in st else st["baselines"][str(depth)]


# One row per task, then one per activation with the statistics (seed 'all'); each task's per-layer
# numbers follow dead_fraction (see _layer_columns).
TASK_FIELDS = ("activation", "depth", "seed", "n", "test_accuracy", "test_loss", "best_val_accuracy", "diverged",
               "diverged_epoch", "epochs", "seconds", "images_per_second", "dead_fraction")
STATISTICS_FIELDS = ("accuracy_points_mean", "accuracy_points_sd", "accuracy_points_ci_low",
                     "accuracy_points_ci_high", "loss_mean", "loss_sd", "loss_ci_low", "loss_ci_high", "baseline",
                     "diff_points_mean", "diff_points_ci_low", "diff_points_ci_high", "verdict")


def last_epoch(result: Mapping) -> dict:
    """The last epoch's measurements of a task ({} if it ran none)."""
    return result["epochs"][-1] if result["epochs"] else {}


def _layer_columns(epoch: Mapping) -> dict:
    """An epoch's per-layer numbers as flat columns: grad_norm_conv1, …, conv1_mean, conv1_std, …"""
    return {**{f"grad_norm_{layer}": v for layer, v in epoch.get("grad_norms", {}).items()},
            **{f"{layer}_{k}": v for layer, d in epoch.get("activations", {}).items() for k, v in d.items()}}


def summary_csv(doc: Mapping) -> str:
    """summary.csv: every task's numbers (the last epoch's), then every activation's statistics."""
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
        writer.writerow({"activation": p["activation"], "depth": p.get("depth"), "seed": "all", "n": acc["n"],
                         **{f"accuracy_points_{k}": acc[k] for k in ("mean", "sd", "ci_low", "ci_high")},
                         **{f"loss_{k}": loss[k] for k in ("mean", "sd", "ci_low", "ci_high")},
                         "baseline": baseline_at(doc, p.get("depth")), "diff_points_mean": diff.get("mean"),
                         "diff_points_ci_low": diff.get("ci_low"), "diff_points_ci_high": diff.get("ci_high"),
                         "verdict": diff.get("verdict", "baseline")})
    return buffer.getvalue()
