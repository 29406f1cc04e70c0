"""From what a user asks for to a planned experiment: `prepare` resolves the activations (names,
defined names, formulas), proves once which formulas may run after the max-pool, checks the
baseline, resolves 'auto' in the config and plans the tasks. The command line and a library user
call the same function."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

from ..activations import Activation
from ..config import DEFAULT_SEED, Config
from ..errors import ParameterError, UsageProblem
from .folder import RunFolder, header
from .running import Execution, Outcome, load_data, run
from .summary import summarize
from .tasks import Task, plan


@dataclass(frozen=True)
class Experiment:
    """A planned experiment, ready to run into a folder: what `prepare` returns."""

    config: Config                    # 'auto' resolved: the device and precision that will be used
    activations: tuple[Activation, ...]
    tasks: tuple[Task, ...]
    baseline: str | None              # None: the best mean, decided when the results are in
    execution: Execution
    versions: dict = field(default_factory=dict)
    notes: tuple[str, ...] = ()       # what the user should know before it starts

    def run(self, folder: str | Path, listener=None, data_dir=None, offline: bool | None = None
            ) -> tuple[RunFolder, Outcome]:
        """Load the data, open (or resume) the run folder and train what it does not hold yet.
        `listener` gets the executors' events and may have `download` and `notice` (see running.run)."""
        if RunFolder(folder).is_run():
            RunFolder(folder).results()     # a damaged folder fails now, not after the data has loaded
        split, dataset = load_data(self.config, data_dir, offline=offline,
                                   progress=getattr(listener, "download", None),
                                   notice=getattr(listener, "notice", None))
        opened = RunFolder.open(folder, header(self.config, dataset, self.versions))
        return opened, run(list(self.tasks), opened, split, self.config, listener, self.execution)

    def summarize(self, folder: RunFolder) -> dict:
        """The summary of this experiment's tasks in `folder` (a folder may hold others too)."""
        wanted = set(self.tasks)
        return summarize(folder.header(), {t: r for t, r in folder.results().items() if t in wanted},
                         self.baseline)


def prepare(activations: Sequence[Activation | str], seeds: Sequence[int] = (DEFAULT_SEED,), *,
            baseline: str | None = None, definitions: Mapping[str, str] | None = None,
            execution: Execution = Execution(), **settings) -> Experiment:
    """The experiment that trains each of `activations` (Activation objects, or text: registry names,
    names in `definitions` {name: formula}, formulas in x) once per seed, with the Config fields in
    `settings` (dataset, epochs, lr, clip, device, …). Usage errors (an unknown activation, no CUDA,
    a baseline not in the run, Ray missing) are raised here, before any work."""
    from .. import __version__, lookup, train

    acts = _resolved(activations, definitions or {})
    names = [a.name for a in acts]
    # every formula travels as text, so that each worker can rebuild it; whether it may run after the
    # max-pool is proven here, once (a time-limited proof in a busy worker could decide otherwise)
    formulas = [a for a in acts if hasattr(a, "source")]
    config = train.resolve(Config(**settings, definitions={a.name: a.source for a in formulas},
                                  monotonic_formulas=tuple(a.name for a in formulas
                                                           if a.properties.monotonic is True)))
    if baseline is not None:
        baseline = lookup.resolve(baseline, config.definitions).name
        if baseline not in names:
            raise ParameterError(f"baseline {baseline!r} is not among the activations ({', '.join(names)})",
                                 "baseline")
    if execution.ray:
        from ..executors import import_ray

        import_ray()
    notes = []
    if config.precision == "bf16" and not train.native_bf16(config.device):
        notes.append(f"this {config.device} has no native bf16: it is emulated and far slower than fp32")
    import torch

    return Experiment(config=config, activations=tuple(acts), tasks=tuple(plan(names, seeds)), baseline=baseline,
                      execution=execution, versions={"actcli": __version__, "torch": torch.__version__},
                      notes=tuple(notes))


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
