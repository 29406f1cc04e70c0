"""The run folder: config.json (written first), results/<task>.json (one per finished task, each
written atomically the moment it ends), read back, checked, resumed and merged."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path
from typing import Mapping, Sequence

from ..config import DEFAULTS, RUN_ONLY_KEYS, Config
from ..errors import DataError, UsageProblem
from ..files import atomic_write_text
from ..jsonout import dumps, revive
from ..records import SCHEMA_VERSION
from . import schema
from .tasks import Task

CONFIG_FILE = "config.json"
RESULTS_DIR = "results"
# Dataset facts that must agree between folders; where the files were read from need not.
DATASET_KEYS = ("name", "train", "val", "test")
# Keys that grow as formulas join a folder; checked name by name.
FORMULA_KEYS = frozenset({"definitions", "monotonic_formulas"})
# Fields of a result that differ between two runs of the same task.
RUN_FIELDS = frozenset({"seconds", "images_per_second", "device"})
# Config fields that are axes of the task grid, as the seeds are: each result names its own, so a folder
# holds any number of them and a resume may add more. config.json written before the learning rate was an
# axis has one; its results, which name none, were trained at it.
AXIS_KEYS = frozenset({"lr"})


def header(cfg: Config, dataset: Mapping, versions: Mapping[str, str] | None = None) -> dict:
    """What config.json holds: the config with 'auto' resolved (the device and precision used; a config
    already resolved, maybe on a Ray cluster, is kept as it is), the dataset as loaded, the versions."""
    from ..train import is_resolved, resolve

    config = {k: v for k, v in (cfg if is_resolved(cfg) else resolve(cfg)).to_dict().items() if k not in AXIS_KEYS}
    head = {"config": config, "dataset": dict(dataset),
            **({"versions": dict(versions)} if versions else {}), "schema": SCHEMA_VERSION}
    return revive(json.loads(dumps(head)))   # as it will read back from disk, so that the two compare


def differences(a: Mapping, b: Mapping) -> list[str]:
    """The keys in which two headers describe different experiments, as 'key (a ≠ b)'."""
    out = []
    ca, cb = a.get("config", {}), b.get("config", {})
    # a key a folder lacks was written before it existed: it holds that key's default
    defaults = DEFAULTS.to_dict()
    for key in sorted((ca.keys() | cb.keys()) - RUN_ONLY_KEYS - FORMULA_KEYS - AXIS_KEYS):
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


class RunFolder:
    """One experiment's folder: config.json, results/<task>.json, and the summaries."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.done: dict[Task, dict] | None = None   # the results found when `open` opened it (None: not opened)

    @classmethod
    def open(cls, path: str | Path, head: Mapping,
             held: tuple[dict, dict[Task, dict]] | None = None) -> RunFolder:
        """Create the folder with `head` as its config.json, or check an existing one agrees with it.
        An existing folder is read whole first (or `held` is what `read` gave a moment ago): if any of its
        files is damaged, nothing is written."""
        folder = cls(path)
        if folder.path.exists() and not folder.path.is_dir():
            raise UsageProblem(f"{str(folder.path)!r} is a file, not a folder")
        if folder.is_run():
            old, folder.done = held or folder.read()            # every file checked before any write
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
            folder.done = {}
        (folder.path / RESULTS_DIR).mkdir(exist_ok=True)
        return folder

    def is_run(self) -> bool:
        """Whether the folder has a config.json (of any kind: reading it says whether it is sound)."""
        return os.path.lexists(self.path / CONFIG_FILE)

    def header(self) -> dict:
        """config.json, checked (actcli.experiment.schema)."""
        if not self.is_run():
            raise DataError(f"{self.path}: no {CONFIG_FILE}, so not a run folder of actcli compare")
        return schema.read_header(self.path / CONFIG_FILE)

    def read(self) -> tuple[dict, dict[Task, dict]]:
        """config.json and every finished task's result, by task, each file checked (and a result
        upgraded from the folder's schema): one read of the whole folder."""
        head = self.header()
        version = schema.version_of(head)
        out = {}
        lr = head["config"].get("lr", DEFAULTS.lr)   # the rate of results that name none (before rates were an axis)
        for path in sorted((self.path / RESULTS_DIR).glob("*.json")):
            result = schema.read_result(path, version)
            named = "lr" in result
            task = Task.of({**result, "lr": result.get("lr", lr)})
            if path.name != f"{(task if named else replace(task, lr=DEFAULTS.lr)).key}.json":
                raise DataError(f"{path}: holds the task {task.key}, not what its name says")
            out[task] = {**result, "lr": task.lr}            # every result names its rate once read
        return head, out

    def results(self) -> dict[Task, dict]:
        """Every finished task's result, by task, each checked (see `read`)."""
        return self.read()[1]

    def save(self, task: Task, result: Mapping) -> Path:
        written = atomic_write_text(self.path / RESULTS_DIR / f"{task.key}.json", dumps(result))
        if self.done is not None:
            self.done[task] = dict(result)
        return written


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
