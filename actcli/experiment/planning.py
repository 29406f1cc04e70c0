"""From what a user asks for to a planned experiment: `prepare` resolves the activations (names,
defined names, formulas), proves once which formulas may run after the max-pool, checks the
baseline, resolves 'auto' in the config and plans the tasks. The command line and a library user
call the same function."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Mapping, Sequence

from ..activations import Activation
from ..config import (DEFAULT_MLP_DEPTH, DEFAULT_MLP_WIDTH, DEFAULT_SEED, DEFAULT_SELECT, DEFAULT_THREADS, DEFAULTS,
                      MAX_DEPTH, MAX_WIDTH, Config)
from ..errors import ParameterError, UsageProblem
from .folder import RunFolder, header
from .running import Execution, Outcome, load_data, run
from .summary import selection, summarize
from .tasks import Task, check_rates, plan


@dataclass(frozen=True)
class Experiment:
    """A planned experiment, ready to run into a folder: what `prepare` returns."""

    config: Config                    # 'auto' resolved: the device and precision that will be used
    activations: tuple[Activation, ...]
    tasks: tuple[Task, ...]
    baseline: str | None              # None: the best mean, decided when the results are in
    execution: Execution
    select: str = DEFAULT_SELECT      # how each activation's learning rate is chosen: on validation only
    versions: dict = field(default_factory=dict)
    notes: tuple[str, ...] = ()       # what the user should know before it starts
    threads_auto: bool = False        # config.threads came from 'auto': a resumed folder keeps its own

    def run(self, folder: str | Path, listener=None, data_dir=None, offline: bool | None = None
            ) -> tuple[RunFolder, Outcome]:
        """Load the data, open (or resume) the run folder and train what it does not hold yet.
        `listener` gets the executors' events and may have `download` and `notice` (see running.run)."""
        # the folder read once, whole: a damaged one fails now, not after the data has loaded
        held = RunFolder(folder).read() if RunFolder(folder).is_run() else None
        split, dataset = load_data(self.config, data_dir, offline=offline,
                                   progress=getattr(listener, "download", None),
                                   notice=getattr(listener, "notice", None))
        config = self.config
        if self.threads_auto and held:        # a folder keeps the thread count it was started with
            kept = held[0]["config"].get("threads", DEFAULTS.threads)   # a folder without the key: 1
            if kept != config.threads:
                config = replace(config, threads=kept)
                if getattr(listener, "notice", None):
                    listener.notice(f"{folder}: resumed with its {_threads(kept)} per task; --threads auto "
                                    f"would choose {self.config.threads} for these "
                                    f"{len(self.tasks)} tasks (another count needs another folder)")
        opened = RunFolder.open(folder, header(config, dataset, self.versions), held)
        return opened, run(list(self.tasks), opened, split, config, listener, self.execution)

    def summarize(self, folder: RunFolder) -> dict:
        """The summary of this experiment's tasks in `folder` (a folder may hold others too)."""
        wanted = set(self.tasks)
        return summarize(folder.header(), {t: r for t, r in folder.results().items() if t in wanted},
                         self.baseline, self.select)


def _threads(n: int) -> str:
    return f"{n} torch thread{'s' * (n != 1)}"


def prepare(activations: Sequence[Activation | str], seeds: Sequence[int] = (DEFAULT_SEED,), *,
            depths: Sequence[int] | None = None, lrs: Sequence[float] | None = None, baseline: str | None = None,
            select: str = DEFAULT_SELECT, definitions: Mapping[str, str] | None = None,
            execution: Execution = Execution(), **settings) -> Experiment:
    """The experiment that trains each of `activations` (Activation objects, or text: registry names,
    names in `definitions` {name: formula}, formulas in x) once per seed and learning rate of `lrs`, and
    with model 'mlp' once per depth of `depths`, with the Config fields in `settings` (model, width,
    dataset, epochs, clip, device, …; `lr=` is one rate, the same as `lrs=[rate]`). Each activation's rate
    is then chosen on validation, as `select` says (config.SELECTIONS). Usage errors (an unknown
    activation, a bad rate, a model that breaks the contract, a network too big for memory, no CUDA, a
    baseline not in the run, Ray missing, a Ray cluster that cannot run a task) are raised here, before
    any work.

    With `execution.ray` it connects to Ray (the run then uses that connection, and stops it if it started
    it) and resolves device and precision where the tasks will run: a probe task on the cluster.
    `versions` records torch's version where the tasks run, and on CUDA the GPU, CUDA and cuDNN."""
    from .. import __version__, devices, lookup, train

    acts = _resolved(activations, definitions or {})
    names = [a.name for a in acts]
    depths, settings = _network(acts, depths, settings)
    lrs, settings = _rates(lrs, settings)
    selection(select)                                   # a usage error now, not after the training
    tasks = tuple(plan(names, seeds, depths, lrs))
    threads_auto = settings.get("threads", DEFAULT_THREADS) == "auto"
    settings = {**settings, "threads": DEFAULTS.threads if threads_auto else settings["threads"]}
    # every formula travels as text, so that each worker can rebuild it; whether it may run after the
    # max-pool is proven here, once (a time-limited proof in a busy worker could decide otherwise)
    formulas = [a for a in acts if hasattr(a, "source")]
    config = Config(**settings, definitions={a.name: a.source for a in formulas},
                    monotonic_formulas=tuple(a.name for a in formulas if a.properties.monotonic is True))
    if baseline is not None:
        baseline = lookup.resolve(baseline, config.definitions).name
        if baseline not in names:
            raise ParameterError(f"baseline {baseline!r} is not among the activations ({', '.join(names)})",
                                 "baseline")
    if execution.ray:         # where the tasks run: the cluster says, not this machine
        from ..executors import resolve_on_ray

        config, facts = resolve_on_ray(config, execution.address, execution.gpus_per_task)
    else:
        config, facts = train.resolve(config), None
    if threads_auto:          # resolved here, recorded as a number: the number is part of the experiment
        from ..executors import auto_threads

        jobs = "auto" if execution.ray else execution.jobs
        config = replace(config, threads=auto_threads(jobs, len(tasks), config.device))
    if execution.ray:
        from ..executors import check_on_ray

        check_on_ray(config, execution.gpus_per_task)   # the threads now known: the request as tasks make it
    notes = []
    native_bf16 = facts.native_bf16 if facts else train.native_bf16
    versions = facts.versions(config.device) if facts else devices.versions(config.device)
    if config.precision == "bf16" and not native_bf16(config.device):
        notes.append(f"this {config.device} has no native bf16: it is emulated and far slower than fp32")

    return Experiment(config=config, activations=tuple(acts), tasks=tasks, baseline=baseline,
                      execution=execution, select=select, versions={"actcli": __version__, **versions},
                      notes=tuple(notes), threads_auto=threads_auto)


def _resolved(activations: Sequence[Activation | str], definitions: Mapping[str, str]) -> list[Activation]:
    """Each activation once (by name, first wins), text resolved through `definitions`."""
    from ..lookup import resolve

    acts = []
    for item in activations:
        try:
            acts.append(item if isinstance(item, Activation) else resolve(item, definitions))
        except UsageProblem as exc:       # an unknown name, a formula that is not one
            raise ParameterError(str(exc), "activations") from exc
    if not acts:
        raise ParameterError("give at least one activation name", "activations")
    return list({a.name: a for a in acts}.values())


def _rates(lrs: Sequence[float] | None, settings: dict) -> tuple[tuple[float, ...], dict]:
    """The learning rates to plan, checked (tasks.check_rates), and the settings without `lr`: each task
    carries its own."""
    settings = dict(settings)
    one = settings.pop("lr", None)
    if lrs is not None and one is not None:
        raise ParameterError("give lrs (a grid) or lr (one rate), not both", "lr")
    try:
        return check_rates(lrs if lrs is not None else [DEFAULTS.lr if one is None else one]), settings
    except UsageProblem as exc:
        raise ParameterError(str(exc), "lr") from exc


def _network(acts: Sequence[Activation], depths: Sequence[int] | None, settings: dict) -> tuple[list, dict]:
    """The depths to plan ([None] for a network of fixed depth) and the settings with the network's
    defaults filled in; a usage error for options the model does not take, or a network too big."""
    model = settings.get("model", DEFAULTS.model)
    mlp_only = {"depth": depths, "width": settings.get("width"), "dropout": settings.get("dropout")}
    if model != "mlp":
        for param, value in mlp_only.items():
            if value is not None:
                what = "the article's CNN has its own" if model == "cnn" else "your model sets its own"
                raise ParameterError(f"{what} {param}; {param} is for model 'mlp'", param)
        if model != "cnn":
            from .. import usermodel

            for act in acts:
                usermodel.check(model, act)      # the contract on one batch, for every activation
            settings = {**settings, "model_hash": usermodel.fingerprint(model)}
        return [None], settings
    depths = list(depths or (DEFAULT_MLP_DEPTH,))
    width = settings.get("width") or DEFAULT_MLP_WIDTH
    dropout = settings.get("dropout") or 0.0
    for d in depths:
        if not 1 <= d <= MAX_DEPTH:
            raise ParameterError(f"depth {d} is outside 1..{MAX_DEPTH}", "depth")
    if len(set(depths)) < len(depths):
        raise ParameterError(f"a depth is given twice ({', '.join(map(str, depths))})", "depth")
    if not 1 <= width <= MAX_WIDTH:
        raise ParameterError(f"width {width} is outside 1..{MAX_WIDTH}", "width")
    if not 0 <= dropout < 1:
        raise ParameterError(f"dropout {dropout} is outside [0, 1)", "dropout")
    _fits(max(depths), width, settings.get("batch_size", DEFAULTS.batch_size))
    return depths, {**settings, "width": width, "dropout": dropout}


def _fits(depth: int, width: int, batch: int) -> None:
    """Refuse an MLP whose training would not fit in this machine's memory, with the figure."""
    from ..machine import refuse_unless_it_fits
    from ..mlp import parameters

    n = parameters(depth, width)
    # fp32 weights, gradients and Adam's two moments (16 bytes a parameter), and each layer's saved
    # activations for the batch (input, pre-activation, output, dropout: 4 × 4 bytes a unit)
    refuse_unless_it_fits(16 * n + 16 * batch * width * depth,
                          f"an MLP of depth {depth} and width {width} has {n:,} parameters: training it", "width")
