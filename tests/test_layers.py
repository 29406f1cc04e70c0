"""Inside the network: each layer's gradient norm and each activation layer's statistics, checked
against plain torch hooks on the same training run, and against a network whose numbers are known
by hand."""

import math

import pytest
import torch

from actcli import activations, data, networks, train
from actcli.model import ArticleCNN

from helpers import write_mnist_like


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    folder = write_mnist_like(tmp_path_factory.mktemp("tiny"), n_train=400, n_test=100)
    return data.split(data.load("mnist", folder), 0.1)


class Watched(ArticleCNN):
    """The trainer's network, with tensor hooks that record ‖∂L/∂W‖₂ of each weight at every backward
    pass (before any clipping), and a handle on the last one built."""

    last: "Watched | None" = None
    bias_conv1: float | None = None   # set: every conv1 unit starts with this bias

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        if self.bias_conv1 is not None:
            torch.nn.init.constant_(self.conv1.bias, self.bias_conv1)
        self.norms = {name: [] for name in ("conv1", "conv2", "fc1", "fc2")}
        for name in self.norms:
            getattr(self, name).weight.register_hook(lambda g, name=name: self.norms[name].append(g.norm().item()))
        type(self).last = self


@pytest.fixture
def watched(monkeypatch):
    monkeypatch.setattr(networks, "ArticleCNN", Watched)
    monkeypatch.setattr(Watched, "bias_conv1", None)
    return Watched


def run(tiny, name, epochs=1, **kw):
    cfg = train.Config(epochs=epochs, device="cpu", precision="fp32", batch_size=64, **kw)
    return train.train(name, train.DeviceData(tiny, "cpu"), cfg, seed=1)


@pytest.mark.parametrize("clip", ["value", "none"])
def test_gradient_norms_are_the_mean_of_each_steps_norm(tiny, watched, clip):
    r = run(tiny, "relu", epochs=2, clip=clip, clip_threshold=0.01)   # a threshold that clips hard
    steps = math.ceil(len(tiny.train_y) / 64)
    for epoch in r.epochs:
        for layer, norms in watched.last.norms.items():
            by_hook = norms[(epoch.epoch - 1) * steps:epoch.epoch * steps]
            assert len(by_hook) == steps
            assert epoch.grad_norms[layer] == pytest.approx(sum(by_hook) / steps, rel=1e-5)


def _oracle(model: ArticleCNN, images: torch.Tensor) -> dict:
    """torch's statistics of each activation layer's output on the images, by forward hooks on a model
    that runs in the textbook order (activation, then max-pool), and the units at 0 for every image."""
    model.eval()
    model.pool_first = False
    outputs = {}
    hooks = [m.register_forward_hook(lambda m, i, out, name=name: outputs.update({name: out.clone()}))
             for name, m in zip(("conv1", "conv2", "fc1"), (model.act1, model.act2, model.act3), strict=True)]
    with torch.no_grad():
        model(images)
    for h in hooks:
        h.remove()
    out = {}
    for name, y in outputs.items():
        std, mean = torch.std_mean(y)
        out[name] = {"mean": mean.item(), "std": std.item(),
                     "zero_fraction": int((y == 0).all(dim=0).sum()) / y[0].numel(), "units": y[0].numel()}
    return out


@pytest.mark.parametrize("name", ["relu", "elu", "sigmoid", "selu"])
def test_activation_statistics_are_torchs_on_the_probe_batch(tiny, watched, name):
    r = run(tiny, name)
    probe = train.DeviceData.images(torch.tensor(tiny.val_x[:train.PROBE_IMAGES]))
    expected = _oracle(watched.last, probe)                  # the final weights: what the last probe saw
    got = r.epochs[-1].activations
    assert list(got) == list(expected)
    for layer, e in expected.items():
        assert got[layer]["mean"] == pytest.approx(e["mean"], rel=1e-4, abs=1e-7)
        assert got[layer]["std"] == pytest.approx(e["std"], rel=1e-4, abs=1e-7)
        if name == "relu":       # output 0 ⟺ z ≤ 0 ⟺ ReLU′(z) = 0: a dead unit is one at 0 on every image
            assert got[layer]["dead_fraction"] == e["zero_fraction"]
    if name == "relu":           # all three layers' units together, from the oracle's counts
        units = [e["units"] for e in expected.values()]
        assert r.epochs[-1].dead_fraction == pytest.approx(
            sum(e["zero_fraction"] * n for e, n in zip(expected.values(), units, strict=True)) / sum(units))


def test_a_selu_unit_at_zero_is_not_dead(watched):
    """At initialisation (zero biases) a conv1 unit that sees only blank corners outputs exactly 0 on
    every image, yet SELU′(0) = λα ≠ 0 passes its gradient: output 0 is not a dead unit."""
    digits = data.split(data.load("mnist-sample"), 0.1, limit=256)    # real digits, with blank corners
    r = run(digits, "selu")
    torch.manual_seed(1)                                          # as train() does, before it builds the network
    at_init = ArticleCNN(activations.get("selu"))
    expected = _oracle(at_init, train.DeviceData.images(torch.tensor(digits.val_x[:train.PROBE_IMAGES])))
    assert expected["conv1"]["zero_fraction"] > 0
    assert r.activations_at_init["conv1"]["dead_fraction"] == 0.0
    assert r.activations_at_init["conv1"]["mean"] == pytest.approx(expected["conv1"]["mean"], rel=1e-4)


def test_a_network_dead_from_the_start_by_hand(tiny, watched, monkeypatch):
    """conv1's bias at −1000: every conv1 unit outputs 0 and passes no gradient, so conv2 sees zeros
    and outputs its zero bias, fc1 likewise, and fc2's input is 0: every weight gradient is exactly 0,
    every unit is dead, every activation layer has mean 0 and standard deviation 0."""
    monkeypatch.setattr(Watched, "bias_conv1", -1000.0)
    r = run(tiny, "relu", epochs=2)
    for e in r.epochs:
        assert e.grad_norms == {"conv1": 0.0, "conv2": 0.0, "fc1": 0.0, "fc2": 0.0}
        assert e.activations == {layer: {"mean": 0.0, "std": 0.0, "dead_fraction": 1.0}
                                 for layer in ("conv1", "conv2", "fc1")}
        assert e.dead_fraction == 1.0


@pytest.mark.parametrize("precision, dead", [("bf16", 1.0), ("fp32", 0.0)])
def test_sigmoid_saturated_past_bf16s_resolution_is_dead(tiny, precision, dead):
    """fc1's bias at +8: σ(z) ≈ 0.99966, which bf16 rounds to 1, so σ′ = σ(1 − σ) is exactly 0 there;
    in fp32 σ′(8) ≈ 3.4e-4 still passes a gradient."""
    model = ArticleCNN(activations.get("sigmoid"))
    with torch.no_grad():
        model.fc1.weight.zero_()
        model.fc1.bias.fill_(8.0)
    probe = train.measure_layers(model, torch.tensor(tiny.val_x[:16]), "cpu", precision)
    assert probe.activations["fc1"]["dead_fraction"] == dead
    assert probe.activations["conv1"]["dead_fraction"] == 0.0
