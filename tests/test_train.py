"""The trainer: it learns, it is deterministic, it reports divergence; device and precision choice."""

import math

import pytest
import torch

from actcli import data, train
from actcli.errors import UsageProblem

from helpers import write_mnist_like


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    folder = write_mnist_like(tmp_path_factory.mktemp("tiny"), n_train=640, n_test=200)
    return data.split(data.load("mnist", folder), 0.1)


def run(tiny, name="relu", seed=0, **kw):
    cfg = train.Config(epochs=kw.pop("epochs", 2), device="cpu", precision="fp32", **kw)
    return train.train(name, train.DeviceData(tiny, "cpu"), cfg, seed)


def test_it_learns_and_measures(tiny):
    r = run(tiny, epochs=3)
    assert r.test_accuracy > 0.9                   # the synthetic classes are easy
    assert len(r.epochs) == 3 and not r.diverged
    e = r.epochs[-1]
    assert e.images_per_second > 0 and e.seconds > 0
    assert list(e.grad_norms) == ["conv1", "conv2", "fc1", "fc2"] and all(g > 0 for g in e.grad_norms.values())
    assert list(e.activations) == ["conv1", "conv2", "fc1"] and list(r.activations_at_init) == ["conv1", "conv2", "fc1"]
    assert 0 <= e.dead_fraction < 1
    assert r.epochs[-1].train_loss < r.epochs[0].train_loss


def test_same_seed_same_numbers(tiny):
    a, b = run(tiny, seed=3), run(tiny, seed=3)
    def strip(r):
        return [(e.train_loss, e.val_loss, e.val_accuracy, e.grad_norms, e.activations) for e in r.epochs]

    assert strip(a) == strip(b) and a.test_loss == b.test_loss
    assert strip(run(tiny, seed=4)) != strip(a)


def test_divergence_is_reported(tiny):
    r = run(tiny, "relu", lr=1e8, clip="none", epochs=3)
    assert r.diverged and r.diverged_epoch == 1 and len(r.epochs) == 1
    assert not math.isfinite(r.epochs[0].train_loss)


def test_sigmoid_gradient_vanishes_in_the_first_layer(tiny):
    """The article's claim, measured: sigmoid's first-layer gradient is far below its last layer's."""
    g = run(tiny, "sigmoid", epochs=1).epochs[0].grad_norms
    assert g["conv1"] < g["conv2"] < g["fc1"] and g["conv1"] < 0.05 * g["fc2"]


def test_clip_modes_run(tiny):
    for clip in ("value", "norm", "none"):
        assert not run(tiny, clip=clip, clip_threshold=1.0, epochs=1).diverged


def test_device_and_precision():
    assert train.resolve_device("cpu") == "cpu"
    if not torch.cuda.is_available():
        with pytest.raises(UsageProblem, match="no CUDA"):
            train.resolve_device("cuda")
        assert train.resolve_device("auto") == "cpu"
    assert train.resolve_precision("fp32", "cpu") == "fp32"
    assert train.resolve_precision("auto", "cpu") == ("bf16" if train.native_bf16("cpu") else "fp32")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_path(tiny):
    cfg = train.resolve(train.Config(epochs=1, device="cuda"))
    r = train.train("relu", train.DeviceData(tiny, "cuda"), cfg)
    assert r.device == "cuda" and r.test_accuracy > 0.5


def _step_gradients(tiny, **kw):
    """(largest |component|, global L2 norm) of the gradients at every optimiser step of the real loop,
    seen by an optimiser step pre-hook: what Adam is handed, after clipping."""
    seen = []

    def hook(opt, args, kwargs):
        grads = [p.grad for group in opt.param_groups for p in group["params"] if p.grad is not None]
        seen.append((max(g.abs().max().item() for g in grads),
                     torch.linalg.vector_norm(torch.stack([g.norm() for g in grads])).item()))

    from torch.optim.optimizer import register_optimizer_step_pre_hook

    handle = register_optimizer_step_pre_hook(hook)
    try:
        run(tiny, epochs=1, **kw)
    finally:
        handle.remove()
    return seen


def test_the_training_loop_clips_as_configured(tiny):
    c = 0.01                                   # far below the gradients' own size: clipping must bite
    unclipped = _step_gradients(tiny, clip="none")
    assert len(unclipped) == math.ceil(576 / 128) and all(m > c and n > c for m, n in unclipped)
    by_value = _step_gradients(tiny, clip="value", clip_threshold=c)
    assert len(by_value) == len(unclipped) and all(m <= c for m, _ in by_value)
    by_norm = _step_gradients(tiny, clip="norm", clip_threshold=c)
    assert all(n <= c * (1 + 1e-5) for _, n in by_norm) and all(n > 0.9 * c for _, n in by_norm)


def test_clip_norm_reaches_the_config(invoke, tmp_path):
    import json

    folder = write_mnist_like(tmp_path / "d", n_train=100, n_test=20)
    out = invoke("compare", "--data-dir", folder, "--activations", "relu", "--epochs", "1", "--jobs", "1",
                 "--clip-norm", "1", "-o", tmp_path / "o", "--json")
    cfg = json.loads(out.stdout)["config"]
    assert (cfg["clip"], cfg["clip_threshold"]) == ("norm", 1.0)
