"""What a run folder's files hold, as dataclasses: a task's `Result` and its `Epoch`s, the `DatasetInfo`
and the `RunHeader` of config.json (with `actcli.config.Config`).

The training writes these; `actcli.experiment.schema` reads them back and checks every file against
the same annotations, so that a field added here (a task's depth, its learning rate) is written and
checked without a second list. A number's admissible values ride on its annotation as a `Range`:
`Fraction` is an accuracy in [0, 1], `Loss` is ≥ 0 or non-finite (a diverged task's loss is nan).
No pydantic and no torch here: `Range` builds its pydantic check only when a schema asks for it.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Annotated, ClassVar, TypedDict

from .bounds import OPTIONAL, Count, LearningRate, NonNegative, Positive, Range, since
from .config import DEFAULTS, MAX_DEPTH, MAX_SEED, Config

# The run folder's schema, written in config.json as "schema". 1: folders written before it was (no
# "schema" key): they may lack the fields marked since(2), and their oldest results have grad_norm_first and
# grad_norm_last instead of grad_norms. A field added to a file from now on is OPTIONAL (written only where
# there is one, as a task's depth) or comes with the next version and is `since` it, so that an older actcli
# refuses a newer folder with the advice to upgrade, and a newer one reads an older folder without it.
SCHEMA_VERSION = 2

Fraction = Annotated[float, Range(0, 1)]                 # an accuracy
Loss = Annotated[float, Range(0, finite=False)]          # cross-entropy: ≥ 0, or nan/inf once diverged
Norm = Annotated[float, Range(0, finite=False)]          # a gradient norm: inf when it explodes
Measure = Annotated[float, Range(finite=False)]          # a layer's mean or std: nan once diverged
Rate = Annotated[float, Range(0, finite=False)]          # images/s; a task with no epoch has none (nan)


class LayerStats(TypedDict):
    """An activation layer's output on the probe batch (see train.LayerProbe)."""

    mean: Measure
    std: Annotated[float, Range(0, finite=False)]
    dead_fraction: Fraction


Layers = dict[str, LayerStats]                           # activation layer → its statistics


@dataclass
class Epoch:
    epoch: Positive
    train_loss: Loss
    train_accuracy: Fraction
    val_loss: Loss
    val_accuracy: Fraction
    seconds: NonNegative
    images_per_second: Rate
    # weight layer (the CNN's conv1, conv2, fc1, fc2; the MLP's fc1 … fc<depth>, out; a user model's by module
    # name) → mean ‖∂L/∂W‖₂ over the epoch's steps, before clipping
    grad_norms: dict[str, Norm]
    # activation layer (the layer whose output it takes: the CNN's conv1, conv2, fc1) → the mean and standard
    # deviation of its output and its dead fraction, on the probe batch (see train.measure_layers)
    activations: Layers
    # the dead units of all the activation layers together (nan: a result upgraded from schema 1)
    dead_fraction: Annotated[float, Range(0, 1, finite=False)]


@dataclass
class Result:
    activation: str
    seed: Annotated[int, Range(0, MAX_SEED)] = 0
    # the network's depth where it is a task axis (the MLP); absent from the file where it is not
    depth: Annotated[int, Range(1, MAX_DEPTH)] | None = field(default=None, metadata=OPTIONAL)
    # Adam's learning rate, an axis of the task grid (a result of schema 1 may name none: it was trained at
    # its folder's config.json "lr")
    lr: LearningRate = field(default=DEFAULTS.lr, metadata=since(2))
    epochs: list[Epoch] = field(default_factory=list)
    test_loss: Loss = math.nan
    test_accuracy: Fraction = math.nan
    diverged: bool = False
    diverged_epoch: Positive | None = None
    device: str = "cpu"
    precision: str = "fp32"
    # torch's CPU threads: another count sums in another order
    threads: Positive = field(default=1, metadata=since(2))
    # the second activation ran after the max-pool (same function, cheaper)
    pool_first: bool = field(default=False, metadata=since(2))
    seconds: NonNegative = 0.0
    # Epoch.activations before the first step
    activations_at_init: Layers = field(default_factory=dict, metadata=since(2))

    # properties written into the file beside the fields (their return annotations are their schema)
    DERIVED: ClassVar[tuple[str, ...]] = ("best_val_accuracy", "images_per_second")

    @property
    def images_per_second(self) -> Rate:
        """Mean training images/s over the epochs after the first (which pays for the warm-up: cuDNN's
        and the allocator's first calls, lazy kernel loading); the first epoch's when it is the only one."""
        timed = self.epochs[1:] or self.epochs
        return sum(e.images_per_second for e in timed) / len(timed) if timed else math.nan

    @property
    def best_val_accuracy(self) -> Annotated[float, Range(0, 1, finite=False)]:
        accs = [e.val_accuracy for e in self.epochs if math.isfinite(e.val_accuracy)]
        return max(accs) if accs else math.nan

    def to_dict(self) -> dict:
        return {"activation": self.activation, "seed": self.seed,
                **({} if self.depth is None else {"depth": self.depth}), "lr": self.lr,
                "test_accuracy": self.test_accuracy,
                "test_loss": self.test_loss,
                "best_val_accuracy": self.best_val_accuracy, "diverged": self.diverged,
                "diverged_epoch": self.diverged_epoch, "device": self.device, "precision": self.precision,
                "threads": self.threads, "pool_first": self.pool_first, "seconds": self.seconds,
                "images_per_second": self.images_per_second, "activations_at_init": self.activations_at_init,
                "epochs": [asdict(e) for e in self.epochs]}


@dataclass
class DatasetInfo:
    """The dataset as a run loaded it: its name, the one asked for, where it came from, the split's sizes."""

    name: str
    requested: str
    source: str
    train: Count
    val: Count
    test: Count


@dataclass
class RunHeader:
    """config.json: the config with 'auto' resolved, the dataset as loaded, the versions, the schema."""

    config: Config
    dataset: DatasetInfo
    versions: dict[str, str] = field(default_factory=dict, metadata=OPTIONAL)
    schema: Positive = field(default=SCHEMA_VERSION, metadata=OPTIONAL)   # absent: 1
