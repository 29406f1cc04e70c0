"""How each training task is run: one typed config, the one place every default lives.

A task is one activation trained with one seed; its result depends only on the activation, the seed
and this config. The CLI's options take their defaults from here, and `config.json` in a run folder
is this config as it was run. Each field's annotation says the values it may hold (`actcli.bounds`), and
config.json is checked against them when it is read back; a field added since the first run folders
carries `since(2)`: a folder written before it may lack it, and then holds its default.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Annotated, Literal, Mapping

from .bounds import OPTIONAL, FieldProblem, LearningRate, NonNegative, Positive, Range, since

# The seed a single run uses when none is given.
DEFAULT_SEED = 0
# The largest seed: torch.manual_seed takes seeds below 2⁶⁴.
MAX_SEED = 2**64 - 1
# The most torch threads a task may ask for (a sanity bound: more threads than this are no use to one task).
MAX_THREADS = 256
# The deep MLP's shape when none is given, and the bounds of --depth and --width.
DEFAULT_MLP_DEPTH = 8
DEFAULT_MLP_WIDTH = 256
MAX_DEPTH = 1000
MAX_WIDTH = 16_384
# The weight initialisations a network can start from (actcli.initialisation says what each is).
INITS = ("auto", "glorot", "he", "lecun", "critical")
# The most learning rates one grid may hold (each one is a full set of tasks), and how each activation's
# rate is chosen from a grid: the best mean validation accuracy, or the lowest validation loss, at the last
# epoch (actcli.experiment.summary.choose_rate). The test set never takes part.
MAX_RATES = 20
SELECTIONS = ("val-accuracy", "val-loss")
DEFAULT_SELECT = "val-accuracy"
# Tasks trained at once: 'auto' picks from the cores, the tasks and the device (actcli.executors.choose).
DEFAULT_JOBS = "auto"
# torch threads per task when none is given: 'auto' is cores ÷ the tasks running at once (at least 1),
# resolved when the run is planned and recorded in config.json as the number used (executors.auto_threads).
# A Config itself always holds a number: its default, 1, is what a folder without the key was run with.
DEFAULT_THREADS = "auto"


# A thread count a config may hold.
Threads = Annotated[int, Range(1, MAX_THREADS)]


@dataclass(frozen=True)
class Config:
    dataset: str = "mnist"
    # 'cnn' (the article's), 'mlp' (depth is a task axis), or your own 'FILE.py:FUNCTION' /
    # 'package.module:FUNCTION' (actcli.usermodel), recorded with `model_hash`, its file's sha256
    model: str = field(default="cnn", metadata=since(2))
    # the MLP's units per hidden layer (DEFAULT_MLP_WIDTH there); None elsewhere
    width: Annotated[int, Range(1, MAX_WIDTH)] | None = field(default=None, metadata=since(2))
    # the MLP's dropout after each hidden layer (0 there: see the README); None elsewhere
    dropout: Annotated[float, Range(0, 1)] | None = field(default=None, metadata=since(2))
    # the weights' scheme (actcli.initialisation); 'auto' is the article's
    init: Literal[INITS] = field(default="auto", metadata=since(2))
    model_hash: str | None = field(default=None, metadata=since(2))
    epochs: Positive = 5              # passes over the training images
    batch_size: Positive = 128        # the article's
    # Adam, the article's (Keras' default). An axis of the task grid since each result names its own rate:
    # config.json holds it no more (OPTIONAL), and one written before holds the rate its results were trained at
    lr: LearningRate = field(default=1e-3, metadata=OPTIONAL)
    # 'value' (the article's Adam(clipvalue=0.5)), 'norm' or 'none'
    clip: Literal["value", "norm", "none"] = "value"
    clip_threshold: NonNegative = 0.5  # the article's clipvalue
    limit: Positive | None = None     # use only this many training images (quick runs)
    # held out of the training images; the test set is touched once, at the end
    val_fraction: Annotated[float, Range(0, 1)] = 0.1
    device: Literal["auto", "cpu", "cuda"] = "auto"         # 'auto' picks CUDA when there is one
    # 'auto' is bf16 autocast where bf16 is native, fp32 elsewhere
    precision: Literal["auto", "fp32", "bf16"] = "auto"
    # torch CPU threads per task: part of the experiment, since another count sums in another order and
    # changes the numbers (docs/benchmarks.md)
    threads: Threads = field(default=1, metadata=since(2))
    eval_batch_size: Positive = 1000
    log_every: Positive = 25          # steps between progress reports (each one reads a number off the device)
    # formula activations the tasks may name, {name: formula}: every worker rebuilds them from the text
    definitions: dict[str, str] = field(default_factory=dict, metadata=since(2))
    # the formulas proven non-decreasing when the run was planned: only they move after the max-pool
    # (decided once, so that a busy worker's time-limited proof cannot change the network)
    monotonic_formulas: tuple[str, ...] = field(default=(), metadata=since(2))

    def to_dict(self) -> dict:
        return asdict(self)

    @staticmethod
    def consistent(fields: Mapping) -> None:
        """A config as read back, its fields together: the MLP has a width and a dropout (what describes
        it), a number each; else FieldProblem naming the field."""
        if fields.get("model", DEFAULTS.model) == "mlp":
            for name in ("width", "dropout"):
                if fields.get(name) is None:
                    raise FieldProblem(name, "expected a number for model 'mlp', got null" if name in fields
                                       else "missing (model 'mlp' has one)")

    def formula_pools_first(self, name: str) -> bool | None:
        """For a formula of `definitions`: whether it runs after the max-pool (proven non-decreasing
        when the run was planned). None for anything else: its registry entry decides."""
        return (name in self.monotonic_formulas) if name in self.definitions else None


DEFAULTS = Config()

# Keys that do not change what a task computes: a run folder may be resumed, or merged with another,
# where only these differ. (A CPU and a GPU give the same experiment, not the same last digits.)
RUN_ONLY_KEYS = frozenset({"device", "log_every"})
