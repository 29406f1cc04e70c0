"""Train the article's CNN for one task (an activation and a seed): one config, one plain loop, a history back.

Speed comes from plain choices, not clever code: batches are cut from one uint8 tensor that lives
on the device (no Dataset, no per-image Python), channels_last, bf16 autocast where the hardware
has native bf16, fused Adam, and no host sync per step (losses, accuracies and gradient norms add
up on the device and are read once per epoch, or every `log_every` steps for the progress bar).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace
from typing import Callable

import torch
import torch.nn.functional as F

from . import devices, lookup
from .config import DEFAULTS, Config
from .data import Split
from .errors import ParameterError
from . import networks
from .records import Epoch, Result   # what a task's result file holds (read back by experiment.schema)

__all__ = ["Config", "DeviceData", "Epoch", "Result", "TrainingProgress", "resolve", "train"]


@dataclass
class TrainingProgress:
    """Where one training task is, handed to `on_progress` every `log_every` steps."""

    activation: str
    seed: int
    epoch: int
    epochs: int
    step: int
    steps: int
    loss: float
    images_per_second: float
    seconds: float                # since the epoch began
    depth: int | None = None      # the task's depth, where it is an axis
    lr: float = DEFAULTS.lr       # the task's learning rate


# ---------------------------------------------------------------------------------------------
# Device and precision
# ---------------------------------------------------------------------------------------------

def resolve_device(device: str, facts: devices.Facts | None = None) -> str:
    """'auto' → CUDA where torch sees it; `facts`: what torch sees where the tasks run (None: here)."""
    cuda = torch.cuda.is_available() if facts is None else facts.cuda
    if device == "auto":
        return "cuda" if cuda else "cpu"
    if device == "cuda" and not cuda:
        where = "here" if facts is None else facts.where
        raise ParameterError(f"device 'cuda': torch sees no CUDA device {where} (use 'cpu' or 'auto')", "device")
    if device not in ("cpu", "cuda"):
        raise ParameterError(f"device must be 'auto', 'cpu' or 'cuda', not {device!r}", "device")
    return device


native_bf16 = devices.native_bf16


def resolve_precision(precision: str, device: str, facts: devices.Facts | None = None) -> str:
    if precision == "auto":
        return "bf16" if (native_bf16(device) if facts is None else facts.native_bf16(device)) else "fp32"
    if precision not in ("fp32", "bf16"):
        raise ParameterError(f"precision must be 'auto', 'fp32' or 'bf16', not {precision!r}", "precision")
    return precision


def resolve(cfg: Config, facts: devices.Facts | None = None) -> Config:
    """`cfg` with 'auto' device and precision replaced by what will be used where the tasks run: this
    machine, or the one `facts` describes (a Ray worker's answer)."""
    device = resolve_device(cfg.device, facts)
    return replace(cfg, device=device, precision=resolve_precision(cfg.precision, device, facts))


def is_resolved(cfg: Config) -> bool:
    return "auto" not in (cfg.device, cfg.precision)


def _autocast(device: str, precision: str):
    return torch.autocast(device_type=device, dtype=torch.bfloat16, enabled=precision == "bf16")


# ---------------------------------------------------------------------------------------------
# The loop
# ---------------------------------------------------------------------------------------------

class DeviceData:
    """The split as uint8 tensors on the device, once; batches are cut and scaled to [0, 1] there. On
    the CPU a writable array is used where it lies, not copied: a worker's split in shared memory
    (actcli.shared) stays one copy for all the workers."""

    def __init__(self, data: Split, device: str):
        def put(a):
            if device == "cpu" and a.flags.writeable and a.flags.c_contiguous:
                return torch.from_numpy(a)         # the same memory; training only reads it
            return torch.tensor(a, device=device)  # a copy: the IDX arrays are read-only views
        self.train_x, self.train_y = put(data.train_x), put(data.train_y).long()
        self.val_x, self.val_y = put(data.val_x), put(data.val_y).long()
        self.test_x, self.test_y = put(data.test_x), put(data.test_y).long()

    @staticmethod
    def images(x_u8: torch.Tensor) -> torch.Tensor:
        # N×28×28 uint8 → N×1×28×28 float in [0, 1] (the article's x/255), channels_last
        return (x_u8.unsqueeze(1).float() * (1.0 / 255.0)).contiguous(memory_format=torch.channels_last)


# The probe batch: the first this many validation images, the same every epoch, so that the layers'
# numbers move only because the network does. Two training batches; measuring costs about 0.15 s here.
PROBE_IMAGES = 256


@torch.inference_mode()
def evaluate(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, cfg: Config, device: str,
             precision: str) -> tuple[float, float]:
    """(mean loss, accuracy), in batches of cfg.eval_batch_size."""
    model.eval()
    loss_sum = torch.zeros((), device=device)
    correct = torch.zeros((), device=device, dtype=torch.long)
    for start in range(0, len(y), cfg.eval_batch_size):
        xb, yb = DeviceData.images(x[start:start + cfg.eval_batch_size]), y[start:start + cfg.eval_batch_size]
        with _autocast(device, precision):
            logits = model(xb)
        loss_sum += F.cross_entropy(logits.float(), yb, reduction="sum")
        correct += (logits.argmax(1) == yb).sum()
    n = max(len(y), 1)
    return loss_sum.item() / n, correct.item() / n


@torch.inference_mode()
def measure_layers(model: torch.nn.Module, x: torch.Tensor, device: str, precision: str) -> LayerProbe:
    """The activation layers measured on the images x (uint8), the network in eval mode."""
    model.eval()
    with _autocast(device, precision), LayerProbe(model) as probe:   # f′ measured inside: as training computes it
        model(DeviceData.images(x), textbook_order=True)
    return probe


class LayerProbe:
    """While open, keeps what goes into and comes out of each activation layer; then, per layer, the
    mean and standard deviation of its output over every unit and image (torch.std_mean, corrected),
    and its dead fraction: the units (every channel at every position, every dense unit) through
    which no gradient passes for any image of the batch, f′(z) = 0 as autograd computes it at the
    training precision (the probe is closed inside the training's autocast, where CUDA runs softplus, exp
    and pow in fp32). For ReLU that is "the output is 0 for every image"; it also finds sigmoid
    units whose σ(z) has rounded to 1 (in bf16 from z ≈ 6.3), and it does not count a SELU unit whose
    z is exactly 0 (f′(0) = λα). `dead_fraction` is the three layers' units together."""

    def __init__(self, model: torch.nn.Module):
        self.model = model
        self.inputs: dict[str, torch.Tensor] = {}
        self.outputs: dict[str, torch.Tensor] = {}
        self.activations: dict[str, dict[str, float]] = {}
        self.dead_fraction = math.nan

    def __enter__(self) -> LayerProbe:
        self.hooks = []
        for name, module in self.model.activations.items():
            self.hooks.append(module.register_forward_pre_hook(
                lambda m, args, name=name: self.inputs.update({name: _copy(args[0])})))
            self.hooks.append(module.register_forward_hook(
                lambda m, args, out, name=name: self.outputs.update({name: out})))
        return self

    def __exit__(self, *exc) -> None:
        for h in self.hooks:
            h.remove()
        if exc[0] is None:
            self._measure()
        self.inputs.clear()
        self.outputs.clear()

    def _measure(self) -> None:
        modules, rows, sizes = self.model.activations, [], []
        for name, out in self.outputs.items():
            std, mean = torch.std_mean(out.float())   # Welford: a two-pass norm in fp32 is 1e-4 off
            dead = (_units(_slopes(modules[name], self.inputs[name])).abs().amax(dim=0) == 0).sum()
            rows.append(torch.stack([mean, std, dead.float()]))
            sizes.append(out[0].numel())
        values = torch.stack(rows).tolist()                 # one read off the device
        self.activations = {name: {"mean": m, "std": s, "dead_fraction": d / size}
                            for name, (m, s, d), size in zip(self.outputs, values, sizes, strict=True)}
        self.dead_fraction = sum(v[2] for v in values) / sum(sizes)


def _units(t: torch.Tensor) -> torch.Tensor:
    """t as images × units, a view in its own memory order (a reduction over images is 15× faster so)."""
    if t.dim() == 4 and t.is_contiguous(memory_format=torch.channels_last):
        t = t.permute(0, 2, 3, 1)
    return t.reshape(len(t), -1)


def _copy(z: torch.Tensor) -> torch.Tensor:
    """A copy of an activation's input (the in-place ones overwrite it) that autograd can use: a
    tensor made in inference mode cannot be, one copied outside it can."""
    with torch.inference_mode(False):
        return z.clone()


def _slopes(activation: torch.nn.Module, z: torch.Tensor) -> torch.Tensor:
    """f′ at every element of z (a copy, see _copy), by autograd through the activation's own module
    (it is elementwise)."""
    with torch.inference_mode(False), torch.enable_grad():
        z.requires_grad_()
        (slope,) = torch.autograd.grad(activation(z * 1).sum(), z)   # * 1: in-place modules need a non-leaf
    return slope


def _optimizer(model: torch.nn.Module, lr: float) -> torch.optim.Optimizer:
    try:
        return torch.optim.Adam(model.parameters(), lr=lr, fused=True)
    except (RuntimeError, TypeError):  # older torch, or a device without a fused kernel
        return torch.optim.Adam(model.parameters(), lr=lr, foreach=True)


def train(name: str, data: DeviceData, cfg: Config, seed: int = 0,
          on_progress: Callable[[TrainingProgress], None] | None = None, depth: int | None = None) -> Result:
    """Train one activation for cfg.epochs from `seed` (with cfg.model at `depth`, where the network has
    a depth to choose); validate every epoch, test once at the end.

    The seed fixes the initial weights, the batch order and the dropout masks: the same activation,
    seed and config give the same numbers, whatever ran before in the process. `cfg` must be resolved
    (see `resolve`). On CUDA it sets the process's deterministic settings first (devices.configure), so
    that the same seed gives the same numbers there too."""
    device, precision = cfg.device, cfg.precision
    act = lookup.resolve(name, cfg.definitions)
    devices.configure(device, precision)
    torch.manual_seed(seed)      # initial weights (the same for every activation whose init is) and dropout masks
    order = torch.Generator(device="cpu").manual_seed(seed)  # the same batch order for every activation
    model = networks.build(act, cfg, depth).to(device).to(memory_format=torch.channels_last)
    opt = _optimizer(model, cfg.lr)
    params = list(model.parameters())
    weights = [layer.weight for layer in model.weight_layers.values()]
    result = Result(act.name, seed, depth=depth, lr=cfg.lr, device=device, precision=precision,
                    threads=torch.get_num_threads(), pool_first=model.pool_first)
    probe_x = data.val_x[:PROBE_IMAGES]
    result.activations_at_init = measure_layers(model, probe_x, device, precision).activations
    n, B = len(data.train_y), cfg.batch_size
    steps = math.ceil(n / B)
    started = time.perf_counter()
    for epoch in range(1, cfg.epochs + 1):
        model.train()
        t0 = time.perf_counter()
        perm = torch.randperm(n, generator=order).to(device, non_blocking=True)
        loss_sum = torch.zeros((), device=device)
        correct = torch.zeros((), device=device, dtype=torch.long)
        grad_norms = torch.zeros(len(weights), device=device)
        for step in range(steps):
            idx = perm[step * B:(step + 1) * B]
            xb, yb = DeviceData.images(data.train_x[idx]), data.train_y[idx]
            with _autocast(device, precision):
                logits = model(xb)
            loss = F.cross_entropy(logits.float(), yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            grad_norms += torch.stack([w.grad.detach().norm() for w in weights])
            if cfg.clip == "value":
                torch.nn.utils.clip_grad_value_(params, cfg.clip_threshold)
            elif cfg.clip == "norm":
                torch.nn.utils.clip_grad_norm_(params, cfg.clip_threshold, foreach=True)
            opt.step()
            loss_sum += loss.detach() * len(yb)
            correct += (logits.detach().argmax(1) == yb).sum()
            if on_progress and ((step + 1) % cfg.log_every == 0 or step + 1 == steps):
                so_far = loss_sum.item()           # waits for the device: the clock is read after it
                seen, elapsed = min((step + 1) * B, n), time.perf_counter() - t0
                on_progress(TrainingProgress(act.name, seed, epoch, cfg.epochs, step + 1, steps,
                                             so_far / seen, seen / elapsed, elapsed, depth, cfg.lr))
        train_loss, train_acc = loss_sum.item() / n, correct.item() / n   # one sync per epoch
        if device == "cuda":
            torch.cuda.synchronize()
        seconds = time.perf_counter() - t0
        val_loss, val_acc = evaluate(model, data.val_x, data.val_y, cfg, device, precision)
        probe = measure_layers(model, probe_x, device, precision)
        norms = dict(zip(model.weight_layers, (grad_norms / steps).tolist(), strict=True))
        result.epochs.append(Epoch(epoch, train_loss, train_acc, val_loss, val_acc, seconds, n / seconds,
                                   norms, probe.activations, probe.dead_fraction))
        if not (math.isfinite(train_loss) and math.isfinite(val_loss)):
            result.diverged, result.diverged_epoch = True, epoch   # the others go on; this one stops
            break
    result.test_loss, result.test_accuracy = evaluate(model, data.test_x, data.test_y, cfg, device, precision)
    result.seconds = time.perf_counter() - started
    return result
