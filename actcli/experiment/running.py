"""Running the tasks: the data loaded once, each task trained where the Execution says, each result
saved in the run folder as it arrives; Ctrl-C keeps what finished."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Sequence

from ..config import DEFAULT_JOBS, Config
from ..errors import ClusterLost, UsageProblem
from ..records import DatasetInfo
from .folder import RunFolder
from .tasks import Task


def load_data(cfg: Config, data_dir=None, offline: bool | None = None, progress=None, notice=None):
    """(the split every task trains on, the dataset's description). The split is the same for every
    task and every seed: a fixed draw holds the validation images out."""
    from .. import data

    loaded = data.load(cfg.dataset, data_dir, offline=offline, progress=progress, notice=notice)
    split = data.split(loaded, cfg.val_fraction, cfg.limit, seed=0)
    return split, asdict(DatasetInfo(loaded.name, cfg.dataset, str(loaded.source), **split.sizes()))


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
    """What one `run` did: tasks trained, found already done, failed (with the error), not run, whether
    Ctrl-C stopped it, and what happened if the cluster running them was lost (else None)."""

    ran: list[Task] = field(default_factory=list)
    skipped: list[Task] = field(default_factory=list)
    failed: dict[Task, str] = field(default_factory=dict)
    pending: list[Task] = field(default_factory=list)
    interrupted: bool = False
    execution: dict = field(default_factory=dict)
    lost: str | None = None

    def to_dict(self) -> dict:
        return {"ran": len(self.ran), "skipped": len(self.skipped), "not_run": len(self.pending),
                "failed": {t.key: e for t, e in self.failed.items()}, "interrupted": self.interrupted,
                "execution": self.execution, "lost": self.lost}


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

    def notice(self, text):
        if getattr(self.listener, "notice", None):
            self.listener.notice(text)

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
    from .. import activations

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
    told before any training what will run and what is already in the folder. Ctrl-C stops the run, and so does
    a lost Ray cluster (`lost` says how): what finished is kept, and `pending` lists what did not run."""
    from .. import executors, train

    done = folder.results() if folder.done is None else folder.done    # read by RunFolder.open already
    outcome = Outcome(skipped=[t for t in tasks if t in done])
    todo = [t for t in tasks if t not in done]
    outcome.pending = list(todo)
    if getattr(listener, "planned", None):
        listener.planned(todo, outcome.skipped)
    if not todo:
        return outcome
    if not execution.ray:                       # with Ray, 'auto' is resolved on the cluster (run_ray)
        cfg = train.resolve(cfg)
    handler = _Saver(folder, outcome, listener)
    try:
        if execution.ray:
            outcome.execution = {"executor": "ray"}
            outcome.execution.update(executors.run_ray(slow_first(todo, cfg), split, cfg, handler, execution.address,
                                                       execution.gpus_per_task))
            return outcome
        plan = executors.choose(execution.jobs, len(todo), cfg.device, cfg.threads)
        if plan.jobs == 1:
            outcome.execution = {"executor": "this process", **plan.to_dict()}
            executors.run_here(todo, split, cfg, handler, plan.gpus[0] if plan.gpus else None)
        else:
            outcome.execution = {"executor": "processes", **plan.to_dict()}
            executors.run_processes(slow_first(todo, cfg), split, cfg, handler, plan.jobs, gpus=plan.gpus)
    except KeyboardInterrupt:
        outcome.interrupted = True
    except ClusterLost as exc:      # what finished is saved already; `pending` lists the rest
        outcome.lost = str(exc)
    return outcome
