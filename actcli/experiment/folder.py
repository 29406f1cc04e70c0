"""The run folder: config.json (written first), results/<task>.json (one per finished task, each
written atomically the moment it ends), read back, checked, resumed and merged."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Mapping, Sequence

from ..config import DEFAULTS, RUN_ONLY_KEYS, Config
from ..errors import DataError, UsageProblem
from ..files import atomic_write_text
from ..jsonout import dumps, revive
from .tasks import Task

CONFIG_FILE = "config.json"
RESULTS_DIR = "results"
# Dataset facts that must agree between folders; where the files were read from need not.
DATASET_KEYS = ("name", "train", "val", "test")
# Keys that grow as formulas join a folder; checked name by name.
FORMULA_KEYS = frozenset({"definitions", "monotonic_formulas"})
# Fields of a result that differ between two runs of the same task.
RUN_FIELDS = frozenset({"seconds", "images_per_second", "device"})


def header(cfg: Config, dataset: Mapping, versions: Mapping[str, str] | None = None) -> dict:
    """What config.json holds: the config with 'auto' resolved (the device and precision used; a config
    already resolved, maybe on a Ray cluster, is kept as it is), the dataset as loaded, the versions."""
    from ..train import is_resolved, resolve

    head = {"config": (cfg if is_resolved(cfg) else resolve(cfg)).to_dict(), "dataset": dict(dataset),
            **({"versions": dict(versions)} if versions else {})}
    return revive(json.loads(dumps(head)))   # as it will read back from disk, so that the two compare


def differences(a: Mapping, b: Mapping) -> list[str]:
    """The keys in which two headers describe different experiments, as 'key (a ≠ b)'."""
    out = []
    ca, cb = a.get("config", {}), b.get("config", {})
    # a key a folder lacks was written before it existed: it holds that key's default
    defaults = DEFAULTS.to_dict()
    for key in sorted((ca.keys() | cb.keys()) - RUN_ONLY_KEYS - FORMULA_KEYS):
        va, vb = ca.get(key, defaults.get(key)), cb.get(key, defaults.get(key))
        if va != vb:
            out.append(f"{key} ({va!r} ≠ {vb!r})")
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
        task = Task.of(doc)
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

    def threads(self) -> int | None:
        """The torch threads per task of the run this folder holds; None for a new folder."""
        if not (self.path / CONFIG_FILE).is_file():
            return None
        return self.header()["config"].get("threads", DEFAULTS.threads)   # a folder without the key: 1

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
