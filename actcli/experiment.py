"""The article's experiment as tasks: one per activation × seed, each saved the moment it ends.

A run folder holds `config.json` (written first: the config, the dataset and the versions), one
`results/<activation>-seed<N>.json` per finished task, and the summaries made from them. Running
the same plan into the same folder again runs only the missing tasks; a folder whose config differs
is refused, naming the keys. A task's numbers depend only on its activation, its seed and the config,
so they are the same run alone, inside a bigger run, or resumed.

    from actcli import experiment
    from actcli.config import Config
    cfg = Config(dataset="mnist-sample", epochs=5)
    split, dataset = experiment.load_data(cfg)
    folder = experiment.RunFolder.open("runs/demo", experiment.header(cfg, dataset))
    experiment.run(experiment.plan(["relu", "gelu"], seeds=[0, 1, 2]), folder, split, cfg)
    doc = experiment.summarize(folder.header(), folder.results())

(examples/seeds_experiment.py runs this.) Nothing here imports torch until a task is trained, so `report` starts fast.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping, Sequence

from . import stats
from .config import DEFAULT_JOBS, MAX_SEED, RUN_ONLY_KEYS, Config
from .errors import DataError, ParameterError, UsageProblem
from .files import atomic_write_text, safe_stem
from .jsonout import dumps, revive

CONFIG_FILE = "config.json"
RESULTS_DIR = "results"
# Dataset facts that must agree between folders; where the files were read from need not.
DATASET_KEYS = ("name", "train", "val", "test")
# Keys that grow as formulas join a folder; checked name by name.
FORMULA_KEYS = frozenset({"definitions", "monotonic_formulas"})
# Fields of a result that differ between two runs of the same task.
RUN_FIELDS = frozenset({"seconds", "images_per_second", "device"})
MAX_SEEDS = 10_000


@dataclass(frozen=True, order=True)
class Task:
    activation: str
    seed: int

    @property
    def key(self) -> str:
        """The task's file name (without .json); a formula's name is made safe for a file name."""
        return f"{safe_stem(self.activation)}-seed{self.seed}"


def plan(activations: Iterable[str], seeds: Iterable[int]) -> list[Task]:
    """Every activation for the first seed, then every activation for the next: an interrupted run
    leaves complete paired sets."""
    names = list(activations)
    return [Task(a, s) for s in seeds for a in names]


def parse_seeds(text: str) -> tuple[int, ...]:
    """'0-4' → (0, 1, 2, 3, 4); '0,3,7' → (0, 3, 7); ranges and single seeds may be mixed."""
    items = [s.strip() for s in str(text).split(",")]
    if not any(items):
        raise UsageProblem("expected seeds such as 0-4 or 0,3,7, got nothing")
    seeds: list[int] = []
    for item in items:
        m = re.fullmatch(r"(\d+)(?:\s*-\s*(\d+))?", item)
        if not m:
            raise UsageProblem(f"{item!r} is not a seed or a range of seeds (such as 0-4 or 0,3,7)")
        lo = int(m[1])
        hi = int(m[2]) if m[2] is not None else lo
        if hi < lo:
            raise UsageProblem(f"{item!r}: a range goes up (write {hi}-{lo})")
        if hi > MAX_SEED:
            raise UsageProblem(f"{item!r}: a seed is at most {MAX_SEED} (torch's generator takes 64 bits)")
        if len(seeds) + hi - lo + 1 > MAX_SEEDS:
            raise UsageProblem(f"{item!r}: more than {MAX_SEEDS:,} seeds")
        seeds.extend(range(lo, hi + 1))
    repeated = sorted(s for s, n in Counter(seeds).items() if n > 1)
    if repeated:
        raise UsageProblem(f"seed {', '.join(map(str, repeated))} given twice")
    return tuple(seeds)


# ---------------------------------------------------------------------------------------------
# The run folder
# ---------------------------------------------------------------------------------------------

def header(cfg: Config, dataset: Mapping, versions: Mapping[str, str] | None = None) -> dict:
    """What config.json holds: the config with 'auto' resolved (the device and precision used), the
    dataset as loaded, the versions."""
    from .train import resolve

    head = {"config": resolve(cfg).to_dict(), "dataset": dict(dataset),
            **({"versions": dict(versions)} if versions else {})}
    return revive(json.loads(dumps(head)))   # as it will read back from disk, so that the two compare


def differences(a: Mapping, b: Mapping) -> list[str]:
    """The keys in which two headers describe different experiments, as 'key (a ≠ b)'."""
    out = []
    ca, cb = a.get("config", {}), b.get("config", {})
    for key in sorted((ca.keys() | cb.keys()) - RUN_ONLY_KEYS - FORMULA_KEYS):
        if ca.get(key) != cb.get(key):
            out.append(f"{key} ({ca.get(key)!r} ≠ {cb.get(key)!r})")
    # formulas may be added; one name must not mean two formulas, nor two networks
    fa, fb = ca.get("definitions") or {}, cb.get("definitions") or {}
    ma, mb = set(ca.get("monotonic_formulas") or ()), set(cb.get("monotonic_formulas") or ())
    for name in sorted(fa.keys() & fb.keys()):
        if fa[name] != fb[name]:
            out.append(f"definition of {name} ({fa[name]!r} ≠ {fb[name]!r})")
        elif (name in ma) != (name in mb):
            out.append(f"whether {name} runs after the max-pool")
    da, db = a.get("dataset", {}), b.get("dataset", {})
    for key in DATASET_KEYS:
        if da.get(key) != db.get(key):
            out.append(f"dataset {key} ({da.get(key)!r} ≠ {db.get(key)!r})")
    return out


def joined(a: Mapping, b: Mapping) -> dict:
    """The formula keys of two agreeing configs, together."""
    return {"definitions": {**(a.get("definitions") or {}), **(b.get("definitions") or {})},
            "monotonic_formulas": sorted(set(a.get("monotonic_formulas") or ())
                                         | set(b.get("monotonic_formulas") or ()))}


def _read_json(path: Path) -> dict:
    try:
        doc = revive(json.loads(path.read_text(encoding="utf-8")))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"{path}: not a JSON document ({exc})") from exc
    if not isinstance(doc, dict):
        raise DataError(f"{path}: expected a JSON object")
    return doc


def _check_result(path: Path, doc: dict) -> Task:
    try:
        task = Task(str(doc["activation"]), int(doc["seed"]))
        if not isinstance(doc["epochs"], list) or "test_accuracy" not in doc:
            raise KeyError("epochs")
        for e in doc["epochs"]:
            _check_epoch(e)
        _check_layers(doc.get("activations_at_init", {}), "activations_at_init")
    except (KeyError, TypeError, ValueError) as exc:
        raise DataError(f"{path}: not a task result (missing or bad {exc})") from exc
    if path.name != f"{task.key}.json":
        raise DataError(f"{path}: holds the task {task.key}, not what its name says")
    return task


def _check_epoch(e) -> None:
    """An epoch of a result: a mapping whose per-layer fields, where present, are {layer: number} and
    {layer: {statistic: number}} (what summaries and figures read); else KeyError naming the field."""
    if not isinstance(e, dict):
        raise KeyError("epochs")
    grads = e.get("grad_norms", {})
    if not isinstance(grads, dict) or not all(_number(v) for v in grads.values()):
        raise KeyError("grad_norms")
    _check_layers(e.get("activations", {}), "activations")


def _check_layers(layers, field: str) -> None:
    if not isinstance(layers, dict) or not all(isinstance(v, dict) and all(_number(x) for x in v.values())
                                               for v in layers.values()):
        raise KeyError(field)


def _number(x) -> bool:
    return x is None or (isinstance(x, (int, float)) and not isinstance(x, bool))


def _upgraded(result: dict) -> dict:
    """A result written before the per-layer numbers (it has grad_norm_first and grad_norm_last) in
    today's shape: what it measured, under today's names. Its dead_fraction is dropped: it counted
    something else (output 0, on 1,000 images, after the pool, for the ReLU family only), and averaged
    with today's it would mean neither."""
    for e in result["epochs"]:
        if "grad_norms" not in e and "grad_norm_first" in e:
            e["grad_norms"] = {"conv1": e.pop("grad_norm_first"), "fc2": e.pop("grad_norm_last")}
            e.setdefault("activations", {})
            e.pop("dead_fraction", None)
    return result


class RunFolder:
    """One experiment's folder: config.json, results/<task>.json, and the summaries."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    @classmethod
    def open(cls, path: str | Path, head: Mapping) -> RunFolder:
        """Create the folder with `head` as its config.json, or check an existing one agrees with it."""
        folder = cls(path)
        if folder.path.exists() and not folder.path.is_dir():
            raise UsageProblem(f"{str(folder.path)!r} is a file, not a folder")
        if (folder.path / CONFIG_FILE).exists():
            old = folder.header()
            differ = differences(old, head)
            if differ:
                raise UsageProblem(f"{folder.path} holds a run with another config: {'; '.join(differ)} "
                                   "(use another output folder)")
            both = joined(old["config"], head["config"])
            if any(both[k] != (old["config"].get(k) or type(both[k])()) for k in both):
                old["config"].update(both)                      # new formulas join the experiment
                atomic_write_text(folder.path / CONFIG_FILE, dumps(old))
        else:
            (folder.path / RESULTS_DIR).mkdir(parents=True, exist_ok=True)
            atomic_write_text(folder.path / CONFIG_FILE, dumps(head))
        (folder.path / RESULTS_DIR).mkdir(exist_ok=True)
        return folder

    def header(self) -> dict:
        path = self.path / CONFIG_FILE
        if not path.is_file():
            raise DataError(f"{self.path}: no {CONFIG_FILE}, so not a run folder of actcli compare")
        head = _read_json(path)
        if not isinstance(head.get("config"), dict) or not isinstance(head.get("dataset"), dict):
            raise DataError(f"{path}: no 'config' or 'dataset' in it")
        return head

    def results(self) -> dict[Task, dict]:
        """Every finished task's result, by task."""
        out = {}
        for path in sorted((self.path / RESULTS_DIR).glob("*.json")):
            doc = _read_json(path)
            task = _check_result(path, doc)              # before the upgrade reads its epochs
            out[task] = _upgraded(doc)
        return out

    def save(self, task: Task, result: Mapping) -> Path:
        return atomic_write_text(self.path / RESULTS_DIR / f"{task.key}.json", dumps(result))


def _numbers(result: Mapping) -> dict:
    """A result without what changes from run to run of the same task (timings, where it ran)."""
    return {**{k: v for k, v in result.items() if k not in RUN_FIELDS},
            "epochs": [{k: v for k, v in e.items() if k not in RUN_FIELDS} for e in result.get("epochs", [])]}


def merge(folders: Sequence[RunFolder]) -> tuple[dict, dict[Task, dict]]:
    """One header and every task of several run folders whose configs agree (else an error naming
    the keys). A task found in two folders must hold the same numbers in both (timings aside)."""
    head = folders[0].header()
    results: dict[Task, dict] = {}
    origin: dict[Task, Path] = {}
    for folder in folders:
        other = folder.header()
        differ = differences(head, other)        # against everything merged so far
        if differ:
            raise UsageProblem(f"{folders[0].path} and {folder.path} hold different experiments: "
                               + "; ".join(differ))
        head["config"].update(joined(head["config"], other["config"]))
        for task, result in folder.results().items():
            if task in results and _numbers(results[task]) != _numbers(result):
                raise UsageProblem(f"task {task.key} is in both {origin[task]} and {folder.path}, "
                                   "with different numbers")
            results.setdefault(task, result)
            origin.setdefault(task, folder.path)
    if not results:
        raise DataError(f"no finished tasks in {', '.join(str(f.path / RESULTS_DIR) for f in folders)}")
    return head, results


# ---------------------------------------------------------------------------------------------
# Running
# ---------------------------------------------------------------------------------------------

def load_data(cfg: Config, data_dir=None, offline: bool | None = None, progress=None, notice=None):
    """(the split every task trains on, the dataset's description). The split is the same for every
    task and every seed: a fixed draw holds the validation images out."""
    from . import data

    loaded = data.load(cfg.dataset, data_dir, offline=offline, progress=progress, notice=notice)
    split = data.split(loaded, cfg.val_fraction, cfg.limit, seed=0)
    return split, {"name": loaded.name, "requested": cfg.dataset, "source": loaded.source, **split.sizes()}


@dataclass(frozen=True)
class Execution:
    """Where the tasks run: `jobs` at once in worker processes ('auto': from the cores, the tasks and the
    device; 1: one after another in this process); or, with `ray`, as Ray tasks (`address` None starts
    or joins a local instance). The torch threads per task are the config's, not this."""

    jobs: int | str = DEFAULT_JOBS
    ray: bool = False
    address: str | None = None
    gpus_per_task: float | None = None


@dataclass
class Outcome:
    """What one `run` did: tasks trained, found already done, failed (with the error), not run, and
    whether Ctrl-C stopped it."""

    ran: list[Task] = field(default_factory=list)
    skipped: list[Task] = field(default_factory=list)
    failed: dict[Task, str] = field(default_factory=dict)
    pending: list[Task] = field(default_factory=list)
    interrupted: bool = False
    execution: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"ran": len(self.ran), "skipped": len(self.skipped), "not_run": len(self.pending),
                "failed": {t.key: e for t, e in self.failed.items()}, "interrupted": self.interrupted,
                "execution": self.execution}


class _Saver:
    """The executors' handler: saves each result in the folder as it arrives, keeps the outcome,
    and passes every event on to the caller's listener."""

    def __init__(self, folder: RunFolder, outcome: Outcome, listener=None):
        self.folder, self.outcome, self.listener = folder, outcome, listener

    def started(self, task, where):
        if self.listener:
            self.listener.started(task, where)

    def progress(self, p):
        if self.listener:
            self.listener.progress(p)

    def finished(self, task, result):
        if task not in self.outcome.pending:    # reported once already
            return
        self.folder.save(task, result)
        self.outcome.ran.append(task)
        self.outcome.pending.remove(task)
        if self.listener:
            self.listener.finished(task, result)

    def failed(self, task, error):
        if task not in self.outcome.pending:
            return
        self.outcome.failed[task] = error
        self.outcome.pending.remove(task)
        if self.listener:
            self.listener.failed(task, error)


def slow_first(todo: Sequence[Task], cfg: Config) -> list[Task]:
    """Within each seed, the activations that must run before the max-pool (≈ 2× the work) first, so
    that parallel workers do not end with one slow task running alone while the other cores idle."""
    from . import activations

    def cheap(task: Task) -> bool:
        if (proven := cfg.formula_pools_first(task.activation)) is not None:
            return proven
        try:
            return activations.get(task.activation).commutes_with_max
        except UsageProblem:   # not an activation: its worker reports the error
            return True

    return sorted(todo, key=lambda t: (t.seed, cheap(t)))


def run(tasks: Sequence[Task], folder: RunFolder, split, cfg: Config, listener=None,
        execution: Execution = Execution()) -> Outcome:
    """Train every task not yet in `folder`, saving each result as it ends, as `execution` says.
    `listener` (optional) has the methods of executors.Handler, and may have `planned(todo, skipped)`,
    told before any training what will run and what is already in the folder. Ctrl-C stops the run: what finished is
    kept, and `pending` lists what did not run."""
    from . import executors, train

    done = folder.results()
    outcome = Outcome(skipped=[t for t in tasks if t in done])
    todo = [t for t in tasks if t not in done]
    outcome.pending = list(todo)
    if getattr(listener, "planned", None):
        listener.planned(todo, outcome.skipped)
    if not todo:
        return outcome
    cfg = train.resolve(cfg)
    handler = _Saver(folder, outcome, listener)
    plan = executors.choose(execution.jobs, len(todo), cfg.device, cfg.threads)
    try:
        if execution.ray:
            outcome.execution = {"executor": "ray"}
            outcome.execution.update(executors.run_ray(slow_first(todo, cfg), split, cfg, handler, execution.address,
                                                       execution.gpus_per_task))
        elif plan.jobs == 1:
            outcome.execution = {"executor": "this process", **plan.to_dict()}
            executors.run_here(todo, split, cfg, handler)
        else:
            outcome.execution = {"executor": "processes", **plan.to_dict()}
            executors.run_processes(slow_first(todo, cfg), split, cfg, handler, plan.jobs)
    except KeyboardInterrupt:
        outcome.interrupted = True
    return outcome


# ---------------------------------------------------------------------------------------------
# Summaries
# ---------------------------------------------------------------------------------------------

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
    (best mean first) the mean, sd and 95% t-interval of test accuracy (in points) and test loss over
    seeds, with the paired difference to the baseline (default: the best mean) and its verdict, and
    the means over seeds of the last epoch's per-layer numbers (see _means)."""
    by_name: dict[str, dict[int, dict]] = {}
    for task, r in sorted(results.items()):
        by_name.setdefault(task.activation, {})[task.seed] = r
    if baseline is not None and baseline not in by_name:
        raise ParameterError(f"baseline {baseline!r} is not among the activations "
                             f"({', '.join(by_name) or 'none'})", "baseline")
    accuracy = {n: {s: _points(r["test_accuracy"]) for s, r in runs.items()} for n, runs in by_name.items()}
    per = sorted(({"activation": n, "seeds": sorted(runs),
                   "test_accuracy_points": stats.estimate(list(accuracy[n].values())).to_dict(),
                   "test_loss": stats.estimate([r["test_loss"] for r in runs.values()]).to_dict(),
                   "diverged": sum(bool(r["diverged"]) for r in runs.values()),
                   "means": _means(runs.values())}
                  for n, runs in by_name.items()), key=_best_first)
    if baseline is None and per:
        baseline = per[0]["activation"]
    for p in per:
        p["vs_baseline"] = (None if p["activation"] == baseline else
                            stats.paired_difference(accuracy[p["activation"]], accuracy[baseline]).to_dict())
    return {
        "config": head["config"], "dataset": head["dataset"], "versions": head.get("versions", {}),
        "results": [by_name[p["activation"]][s] for p in per for s in p["seeds"]],
        "statistics": {"confidence": stats.CONFIDENCE, "unit": "test accuracy in points (percent)",
                       "baseline": baseline, "activations": per},
    }


# One row per task, then one per activation with the statistics (seed 'all'); each task's per-layer
# numbers follow dead_fraction (see _layer_columns).
TASK_FIELDS = ("activation", "seed", "n", "test_accuracy", "test_loss", "best_val_accuracy", "diverged",
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
    writer = csv.DictWriter(buffer, fieldnames=[*TASK_FIELDS, *layers, *STATISTICS_FIELDS], lineterminator="\n",
                            extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    st = doc["statistics"]
    for p in st["activations"]:
        acc, loss, diff = p["test_accuracy_points"], p["test_loss"], p["vs_baseline"] or {}
        writer.writerow({"activation": p["activation"], "seed": "all", "n": acc["n"],
                         **{f"accuracy_points_{k}": acc[k] for k in ("mean", "sd", "ci_low", "ci_high")},
                         **{f"loss_{k}": loss[k] for k in ("mean", "sd", "ci_low", "ci_high")},
                         "baseline": st["baseline"], "diff_points_mean": diff.get("mean"),
                         "diff_points_ci_low": diff.get("ci_low"), "diff_points_ci_high": diff.get("ci_high"),
                         "verdict": diff.get("verdict", "baseline")})
    return buffer.getvalue()
