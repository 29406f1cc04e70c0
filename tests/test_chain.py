"""Nielsen's chain: his numbers, the verdicts, and every gradient against torch autograd."""

import json
import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from actcli import activations as A
from actcli.chain import Chain, descend, run
from actcli.errors import ParameterError

from helpers import one_line_error


def chain(**kw):
    act = A.get(kw.pop("activation", "sigmoid"))
    return Chain.build(act, kw.pop("weights", [1.0]), kw.pop("biases", "centered"), kw.pop("layers", None),
                       kw.pop("x", 1.0))


def test_weights_100_explode_to_a_quarter_of_25_cubed():
    p = run(chain(weights=[100.0]))
    assert np.all(p.z == 0)                        # Nielsen's centred biases
    assert p.grad_b1 == 3906.25 == 0.25 * 25 ** 3  # exact in float64
    assert p.regime == "exploding"
    assert p.product()["values"] == [0.25, 25.0, 25.0, 25.0, 1.0]


def test_weights_1_vanish_to_1_over_256():
    p = run(chain(weights=[1.0]))
    assert p.grad_b1 == 1 / 256
    assert p.regime == "vanishing"
    assert p.speed_ratio == pytest.approx(1 / 64)


def test_weights_4_balance_sigma_prime_and_are_stable():
    assert run(chain(weights=[4.0])).regime == "stable"


def test_dead_relu_units_pass_no_gradient():
    p = run(chain(activation="relu", biases=[-2.0]))
    assert p.dead == [1, 2, 3, 4]
    assert np.all(p.dC_db == 0) and np.all(p.dC_dw == 0)
    assert p.regime == "vanishing"


def test_one_dead_unit_stops_the_gradient_upstream_only():
    p = run(chain(activation="relu", weights=[1.0, 1.0, 1.0, 1.0], biases=[0.0, -5.0, 10.0, 0.0]))
    assert p.dead == [2]
    assert np.all(p.dC_db[:2] == 0) and np.all(p.dC_db[2:] != 0)


def test_overflow_is_reported_not_raised():
    p = run(chain(weights=[1e200]))
    assert p.regime == "overflow"
    assert np.isinf(p.grad_b1)


def test_update_of_b1():
    p = run(chain(weights=[100.0]))
    assert p.b[0] - 0.5 * p.grad_b1 == -100 - 0.5 * 3906.25


def torch_activation(name):
    """torch's own activation in float64, the oracle; exact wherever the registry is exact.

    The registry's modules are, except nn.GELU: it computes ½x(1 + erf(x/√2)), which cancels for x ≪ 0
    (5e-10 relative at x = −5.4, against mpmath; the registry's erfc form is right to the last digit).
    There the oracle is ½x·erfc(−x/√2), still torch's autograd through torch's own erfc."""
    if name == "gelu":
        return lambda z: 0.5 * z * torch.special.erfc(-z / math.sqrt(2.0))
    return A.get(name).torch_module().double()


def torch_chain_grads(act_name, w, b, x, target=None, dcda=1.0):
    """The same chain in torch float64 (torch's own activation): autograd's ∂C/∂w and ∂C/∂b."""
    f = torch_activation(act_name)
    wt = torch.tensor(w, dtype=torch.float64, requires_grad=True)
    bt = torch.tensor(b, dtype=torch.float64, requires_grad=True)
    a = torch.tensor(x, dtype=torch.float64)
    for j in range(len(w)):
        a = f((wt[j] * a + bt[j]).reshape(1))[0]
    cost = 0.5 * (a - target) ** 2 if target is not None else dcda * a
    cost.backward()
    return wt.grad.numpy(), bt.grad.numpy()


@pytest.mark.parametrize("act", ["sigmoid", "tanh", "relu", "elu", "selu", "gelu", "silu", "softplus"])
@given(data=st.data())
def test_gradients_match_torch_autograd(act, data):
    L = data.draw(st.integers(1, 6))
    floats = st.floats(-3, 3, allow_nan=False)
    w = data.draw(st.lists(floats, min_size=L, max_size=L))
    b = data.draw(st.lists(floats, min_size=L, max_size=L))
    x = data.draw(floats)
    target = data.draw(st.one_of(st.none(), floats))
    p = run(chain(activation=act, weights=w, biases=b, x=x, layers=L), target=target)
    gw, gb = torch_chain_grads(act, w, b, x, target)
    np.testing.assert_allclose(p.dC_dw, gw, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(p.dC_db, gb, rtol=1e-10, atol=1e-14)


def test_centred_chain_matches_torch_too():
    p = run(chain(weights=[100.0]))
    gw, gb = torch_chain_grads("sigmoid", p.w, p.b, 1.0)
    np.testing.assert_allclose(p.dC_db, gb, rtol=1e-12)


def test_exploding_descent_blows_up_and_clipping_keeps_it_finite():
    c = chain(activation="leaky-relu", weights=[100.0], biases=[0.0])
    wild = descend(c, target=0.0, lr=0.5, steps=4)
    assert not np.isfinite(wild[-1].cost)
    for kw in ({"clip_value": 0.5}, {"clip_norm": 1.0}):
        tame = descend(c, target=0.0, lr=0.5, steps=4, **kw)
        assert all(np.isfinite(r.cost) for r in tame)
        assert abs(tame[1].b1 - tame[0].b1) <= 0.5 * 1.0 + 1e-12  # one step moves at most lr·c


def test_descent_lowers_the_cost_in_a_tame_chain():
    rows = descend(chain(weights=[0.5], biases=[0.0]), target=1.0, lr=0.5, steps=50)
    assert rows[-1].cost < rows[0].cost


def test_build_errors_name_the_parameter_as_the_api_does():
    for kwargs, param, says in [(dict(weights=[1, 2, 3], layers=4), "weights", "got 3 weights for 4 layers"),
                                (dict(weights=[1], biases=[1, 2], layers=3), "biases", "got 2 biases for 3 layers"),
                                (dict(weights=[1], layers=0), "layers", "layers must be 1 to 1000, got 0"),
                                (dict(weights=[1] * 1001), "weights", "got 1001"),
                                (dict(weights=[1], params={"alpha": 0.1}), "alpha", "no parameter 'alpha'")]:
        with pytest.raises(ParameterError, match=says) as caught:
            Chain.build(A.get("sigmoid"), **kwargs)
        assert caught.value.param == param and "--" not in str(caught.value)
    assert len(Chain.build(A.get("sigmoid"), [1, 2, 3], "centered").weights) == 3  # L from the list


# ---- the command ---------------------------------------------------------------------------------

def test_chain_json_shape(invoke):
    doc = json.loads(invoke("chain", "--weights", "100", "--json").stdout)
    assert set(doc) >= {"layers", "dC_da", "grad_b1", "speed_ratio", "regime", "update"}
    assert set(doc["layers"][0]) == {"j", "w", "b", "z", "a", "dact", "dC_db", "dC_dw"}
    assert doc["grad_b1"] == 3906.25 and doc["regime"] == "exploding"
    assert doc["update"] == {"lr": 0.5, "b1": -100.0, "b1_new": -100 - 0.5 * 3906.25}


def test_chain_text(invoke):
    out = invoke("chain", "--weights", "100").stdout
    assert "σ′(z₁)·w₂σ′(z₂)·w₃σ′(z₃)·w₄σ′(z₄)·∂C/∂a₄" in out
    assert "0.25 × 25 × 25 × 25 × 1 = 3906.25" in out and "exploding" in out
    assert "0.00390625" in invoke("chain").stdout
    assert "dead units" in invoke("chain", "--activation", "relu", "--biases", "-2").stdout


def test_chain_json_carries_inf_as_a_string(invoke):
    doc = json.loads(invoke("chain", "--weights", "1e200", "--json").stdout)
    assert doc["regime"] == "overflow" and doc["grad_b1"] == "inf"


def test_chain_steps(invoke):
    doc = json.loads(invoke("chain", "--activation", "leaky-relu", "--biases", "0", "--weights", "100",
                            "--target", "0", "--steps", "4", "--json").stdout)
    assert len(doc["steps"]) == 5 and doc["steps"][-1]["cost"] in ("inf", "nan")
    doc = json.loads(invoke("chain", "--activation", "leaky-relu", "--biases", "0", "--weights", "100",
                            "--target", "0", "--steps", "4", "--clip-norm", "1", "--json").stdout)
    assert all(isinstance(s["cost"], float) for s in doc["steps"])
    assert "gradient descent" in invoke("chain", "--target", "0", "--steps", "2").stdout


@pytest.mark.parametrize("args, says", [
    (["--weights", "1,2,3", "--layers", "4"], "'--weights': got 3 weights for 4 layers"),
    (["--biases", "1,2", "--layers", "3"], "'--biases': got 2 biases for 3 layers"),
    (["--weights", "x"], "'x' is not a valid float"),
    (["--layers", "0"], "0 is not in the range 1<=x<=1000"),
    (["--layers", "-2"], "-2 is not in the range 1<=x<=1000"),
    (["--layers", "99999999999"], "1<=x<=1000"),
    (["--steps", "1001", "--target", "0"], "1<=x<=1000"),
    (["--alpha", "0.1"], "'--alpha': sigmoid has no parameter 'alpha'"),
    (["--alpha", "nan", "--activation", "elu"], "nan is not a finite number"),
    (["--input", "inf"], "inf is not a finite number"),
    (["--weights", "1,,2"], "empty item"),
    (["--activation", "sigmod"], "did you mean 'sigmoid'?"),
    (["--steps", "3"], "--target"),
    (["--clip-value", "1"], "--steps"),
    (["--target", "0", "--steps", "2", "--clip-value", "1", "--clip-norm", "1"], "not both"),
    (["--dcda", "2", "--target", "1"], "not both"),
    (["--steps", "0", "--target", "1"], "Invalid value for '--steps': 0 is not in the range 1<=x<=1000"),
])
def test_chain_bad_input(invoke, args, says):
    assert says in one_line_error(invoke("chain", *args))


@pytest.mark.parametrize("name, alpha", [("leaky-relu", 0.1), ("elu", 2.5)])
def test_a_parameter_reaches_every_layer_of_the_chain(name, alpha):
    """The mutation run found α never checked in the chain: with α ≠ its default, the chain's gradients are
    torch's for that α (negative pre-activations on purpose, where α acts), and differ from the default's."""
    w, b, x = [1.5, -2.0, 0.7, 1.2], [-1.0, 0.5, -0.3, -2.0], 0.8
    p = run(Chain.build(A.get(name), w, b, params={"alpha": alpha}, x=x), target=0.3)
    module = (torch.nn.LeakyReLU(alpha) if name == "leaky-relu" else torch.nn.ELU(alpha)).double()
    wt = torch.tensor(w, dtype=torch.float64, requires_grad=True)
    bt = torch.tensor(b, dtype=torch.float64, requires_grad=True)
    a = torch.tensor(x, dtype=torch.float64)
    for j in range(4):
        a = module((wt[j] * a + bt[j]).reshape(1))[0]
    (0.5 * (a - 0.3) ** 2).backward()
    assert np.array(p.z).min() < 0
    np.testing.assert_allclose(p.dC_dw, wt.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(p.dC_db, bt.grad.numpy(), rtol=1e-12)
    default = run(Chain.build(A.get(name), w, b, x=x), target=0.3)
    assert not np.allclose(default.dC_db, p.dC_db)


def test_descent_is_torch_sgd_step_for_step():
    """The mutation run found the update direction, the step count and the cost's ½ unchecked: `descend` must
    be plain gradient descent on every w and b, row k after k updates, against torch.optim.SGD on the same
    chain (C = ½(a_L − y)², torch's own sigmoid)."""
    w0, b0, x, y, lr, steps = [0.8, -1.2, 1.5], [0.1, 0.3, -0.2], 0.7, 0.9, 0.5, 4
    rows = descend(Chain.build(A.get("sigmoid"), w0, b0, x=x), target=y, lr=lr, steps=steps)
    wt = torch.tensor(w0, dtype=torch.float64, requires_grad=True)
    bt = torch.tensor(b0, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([wt, bt], lr=lr)
    expected = []
    for k in range(steps + 1):
        a = torch.tensor(x, dtype=torch.float64)
        for j in range(3):
            a = torch.sigmoid(wt[j] * a + bt[j])
        cost = 0.5 * (a - y) ** 2
        opt.zero_grad()
        cost.backward()
        expected.append((k, bt[0].item(), bt.grad[0].item(), cost.item()))
        opt.step()
    assert [(r.step, r.b1, r.grad_b1, r.cost) == pytest.approx(e, rel=1e-12) for r, e in zip(rows, expected)] \
        == [True] * (steps + 1)
    assert len(rows) == steps + 1 and rows[-1].cost < rows[0].cost


# ---- what the mutation run (docs/testing.md) found unchecked ---------------------------------------

def test_the_pass_document_layer_by_layer():
    """Three sigmoid layers, w = 2, b = 0, x = 1 (the default input), every row and the product by hand."""
    p = run(Chain.build(A.get("sigmoid"), [2.0], [0.0], layers=3), dC_da=1.0)
    s = lambda t: 1 / (1 + math.exp(-t))              # noqa: E731
    a1 = s(2.0); a2 = s(2 * a1); a3 = s(2 * a2)       # noqa: E702
    d = [a * (1 - a) for a in (a1, a2, a3)]
    doc = p.to_dict(lr=0.5)
    assert doc["input"] == 1.0 and doc["params"] == {}
    assert [(r["j"], r["z"], r["a"], r["dact"]) for r in doc["layers"]] == [
        (1, 2.0, pytest.approx(a1), pytest.approx(d[0])), (2, pytest.approx(2 * a1), pytest.approx(a2),
                                                            pytest.approx(d[1])),
        (3, pytest.approx(2 * a2), pytest.approx(a3), pytest.approx(d[2]))]
    assert doc["product"]["symbols"] == ["σ′(z₁)", "w₂σ′(z₂)", "w₃σ′(z₃)", "∂C/∂a₃"]
    assert doc["product"]["values"] == [pytest.approx(d[0]), pytest.approx(2 * d[1]), pytest.approx(2 * d[2]), 1.0]
    assert p.gradient_labels() == ["∂C/∂w₁", "∂C/∂w₂", "∂C/∂w₃", "∂C/∂b₁", "∂C/∂b₂", "∂C/∂b₃"]
    assert Chain.build(A.get("leaky-relu"), [1.0], params={"alpha": 0.1}).params == {"alpha": 0.1}
    assert run(Chain.build(A.get("leaky-relu"), [1.0], params={"alpha": 0.1})).to_dict(0.5)["params"] == {"alpha": 0.1}


def test_how_many_layers_a_list_makes():
    assert Chain.build(A.get("relu"), 2.0, 0.5, layers=3).weights == (2.0, 2.0, 2.0)     # one number, every layer
    assert Chain.build(A.get("relu"), [1.0], [0.5, 0.5]).weights == (1.0, 1.0)            # two biases: 2 layers
    assert len(Chain.build(A.get("relu"), [1.0] * 1000).weights) == 1000                 # MAX_LAYERS is allowed
    with pytest.raises(ParameterError, match="layers must be 1 to 1000, got 1001") as e:
        Chain.build(A.get("relu"), [1.0], [0.0] * 1001)
    assert e.value.param == "biases"                                                    # the list that counted
    with pytest.raises(ParameterError) as e:
        Chain.build(A.get("relu"), [1.0], layers=0)
    assert e.value.param == "layers"


def test_descent_takes_zero_to_max_steps():
    chain = Chain.build(A.get("sigmoid"), [1.0], [0.0])
    assert [r.step for r in descend(chain, target=0.0, lr=0.1, steps=0)] == [0]
    assert len(descend(chain, target=0.0, lr=0.1, steps=1000)) == 1001
    for bad in (-1, 1001):
        with pytest.raises(ParameterError, match=f"steps must be 0 to 1000, got {bad}") as e:
            descend(chain, target=0.0, lr=0.1, steps=bad)
        assert e.value.param == "steps"


def test_overflow_and_dead_units_stay_silent_and_exact():
    """Weights of 1e200 overflow: the chain says so without a numpy warning; a dead ReLU passes exactly 0 even
    where the gradient above it is infinite (0 · inf would be nan)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        p = run(Chain.build(A.get("sigmoid"), [1e200], layers=4))          # centred: 25·1e200 per layer
        assert p.regime == "overflow" and p.to_dict(0.5)["product"]["result"] == p.grad_b1
        rows = descend(Chain.build(A.get("leaky-relu"), [100.0], [0.0]), target=0.0, lr=0.5, steps=40)
        assert not math.isfinite(rows[-1].cost)                            # it blew up, silently
        dead = run(Chain.build(A.get("relu"), [1e200, 1e200, 1e200], [0.0, 1.0, 1.0], x=-1.0))   # z₁ = −1e200: dead
        assert dead.dC_db[0] == 0.0 and dead.dC_dw[0] == 0.0
