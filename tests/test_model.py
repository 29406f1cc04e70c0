"""The article's CNN: shape, initialisation (Keras'), SELU's variant, the byte-mask dropout."""

import math

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from actcli import activations as A
from actcli.model import ArticleCNN, ByteDropout, lecun_normal_


def test_shape_and_size():
    model = ArticleCNN(A.get("relu"))
    assert model(torch.zeros(3, 1, 28, 28)).shape == (3, 10)
    # the same network as pytorch/examples mnist and Keras' mnist_cnn: 1,199,882 parameters
    assert sum(p.numel() for p in model.parameters()) == 1_199_882


def test_glorot_uniform_weights_and_zero_biases():
    model = ArticleCNN(A.get("relu"))
    for layer in (model.conv1, model.conv2, model.fc1, model.fc2):
        fan_in = layer.weight[0].numel()
        fan_out = layer.weight.shape[0] * layer.weight[0][0].numel()
        bound = math.sqrt(6 / (fan_in + fan_out))
        assert layer.weight.abs().max() <= bound and layer.weight.abs().max() > 0.9 * bound
        assert torch.all(layer.bias == 0)


def test_selu_gets_lecun_normal_and_alpha_dropout():
    model = ArticleCNN(A.get("selu"))
    assert model.drop1.alpha and model.drop2.alpha
    w = model.fc1.weight
    s = math.sqrt(1 / 9216)
    assert w.std().item() == pytest.approx(s, rel=0.01)       # Keras' widened σ, cut at ±2σ′
    assert w.abs().max().item() <= 2 * s / 0.87962566103423978 + 1e-9
    assert not ArticleCNN(A.get("relu")).drop1.alpha


def test_lecun_normal_matches_keras_formula():
    torch.manual_seed(0)
    w = lecun_normal_(torch.empty(4000, 250))
    assert w.std().item() == pytest.approx(math.sqrt(1 / 250), rel=0.01)


def test_prelu_learns_its_alpha():
    model = ArticleCNN(A.get("prelu"))
    assert model.act1.weight.item() == pytest.approx(0.25)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    torch.manual_seed(0)
    nn.functional.cross_entropy(model(torch.randn(8, 1, 28, 28)), torch.arange(8)).backward()
    opt.step()
    assert model.act1.weight.item() != pytest.approx(0.25)


def test_same_seed_same_initial_weights_across_activations():
    torch.manual_seed(7)
    a = ArticleCNN(A.get("relu")).state_dict()
    torch.manual_seed(7)
    b = ArticleCNN(A.get("gelu-tanh")).state_dict()
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize("p", [0.25, 0.5])
def test_byte_dropout_is_inverted_dropout(p):
    drop = ByteDropout(p).train()
    x = torch.ones(200_000)
    y = drop(x)
    kept = y != 0
    assert kept.float().mean().item() == pytest.approx(1 - p, abs=0.005)
    assert torch.allclose(y[kept], torch.full_like(y[kept], 1 / (1 - p)))   # survivors scaled up
    assert y.mean().item() == pytest.approx(1.0, abs=0.01)                  # expectation kept
    assert torch.equal(drop.eval()(x), x)                                   # identity in eval


def test_byte_dropout_keeps_shape_and_layout():
    x = torch.randn(4, 64, 12, 12).contiguous(memory_format=torch.channels_last)
    y = ByteDropout(0.25).train()(x)
    assert y.shape == x.shape
    assert y.is_contiguous(memory_format=torch.channels_last)      # the layout the next layer expects
    assert not y.is_contiguous()                                   # (and not silently made NCHW)
    kept = y != 0
    assert torch.allclose(y[kept], x[kept] / 0.75)                 # each survivor is its own input, scaled


def article_forward(model, act, x):
    """The article's order (activation, then pool) with fresh out-of-place modules, in eval mode.
    PReLU's α is a parameter of the model, so its own modules are used."""
    f = (lambda i: getattr(model, f"act{i}")) if act.learnable else (lambda i: act.torch_module().double())
    h = f(1)(model.conv1(x))
    h = F.max_pool2d(f(2)(model.conv2(h)), 2)
    h = f(3)(model.fc1(torch.flatten(h, 1)))
    return model.fc2(h)


@pytest.mark.parametrize("name", A.NAMES)
def test_cheaper_order_computes_the_article_network(name):
    """Pooling first (monotonic f) and in-place activations change the cost, not the function."""
    act = A.get(name)
    torch.manual_seed(0)
    model = ArticleCNN(act).double().eval()
    x = torch.randn(4, 1, 28, 28, dtype=torch.float64, requires_grad=True)
    ours = model(x)
    (g_ours,) = torch.autograd.grad(ours.sum(), x)
    ref = article_forward(model, act, x)
    (g_ref,) = torch.autograd.grad(ref.sum(), x)
    torch.testing.assert_close(ours, ref, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(g_ours, g_ref, rtol=1e-10, atol=1e-12)
    assert model.pool_first == (name in {"sigmoid", "tanh", "relu", "leaky-relu", "elu", "selu", "softplus"})


@pytest.mark.parametrize("p", [0.25, 0.5])
def test_byte_alpha_dropout_is_torch_alpha_dropout(p):
    torch.manual_seed(0)
    x = torch.randn(400_000)
    ours = ByteDropout(p, alpha=True).train()(x)
    theirs = nn.AlphaDropout(p).train()(x)
    drop = ByteDropout(p, alpha=True)
    dropped_value = drop.a * (-A.SELU_LAMBDA * A.SELU_ALPHA) + drop.b   # what every dropped unit becomes
    kept = ~torch.isclose(ours, torch.tensor(dropped_value), rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(ours[kept], drop.a * x[kept] + drop.b)
    theirs_dropped = torch.mode(theirs).values.item()                    # torch's, the most common value
    assert dropped_value == pytest.approx(theirs_dropped, rel=1e-6)
    assert kept.float().mean().item() == pytest.approx(1 - p, abs=0.005)
    for stat in (torch.mean, torch.std):  # self-normalising: mean 0, variance 1 kept, as torch's
        assert stat(ours).item() == pytest.approx(stat(theirs).item(), abs=0.01)
    assert torch.equal(ByteDropout(p, alpha=True).eval()(x), x)


@pytest.mark.parametrize("formula, pools_first", [("tanh(x)/2", True), ("max(0, x)", True),
                                                  ("x*sigmoid(x)", False)])
def test_a_formula_moves_after_the_pool_only_when_proven_non_decreasing(formula, pools_first):
    from actcli.formula import from_formula

    assert ArticleCNN(from_formula(formula)).pool_first is pools_first
    assert ArticleCNN(from_formula(formula), pool_first=False).pool_first is False   # what train passes
