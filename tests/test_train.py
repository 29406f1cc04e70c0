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
