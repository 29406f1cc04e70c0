"""Clipping by value and by norm: the same as torch's clip_grad_value_ and clip_grad_norm_."""

import json

import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from actcli.clipping import clip, clip_by_norm, clip_by_value

from helpers import one_line_error

vectors = arrays(np.float64, st.integers(1, 20), elements=st.floats(-1e6, 1e6, allow_nan=False))
thresholds = st.floats(1e-3, 1e3)


def torch_clipped(g, c, how):
    p = torch.nn.Parameter(torch.zeros(len(g), dtype=torch.float64))
    p.grad = torch.tensor(g, dtype=torch.float64)
    if how == "value":
        torch.nn.utils.clip_grad_value_([p], c)
    else:
        torch.nn.utils.clip_grad_norm_([p], c)
    return p.grad.numpy()


@given(vectors, thresholds)
def test_by_value_is_torch_clip_grad_value(g, c):
    np.testing.assert_allclose(clip_by_value(g, c), torch_clipped(g, c, "value"), rtol=1e-15)


@given(vectors, thresholds)
def test_by_norm_is_torch_clip_grad_norm(g, c):
    np.testing.assert_allclose(clip_by_norm(g, c), torch_clipped(g, c, "norm"), rtol=1e-12, atol=1e-300)


def test_global_norm_over_several_tensors_is_one_norm():
    # torch clips the concatenation of all gradients with one norm; so do we (one vector).
    a = torch.nn.Parameter(torch.zeros(2, dtype=torch.float64))
    b = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
    a.grad, b.grad = torch.tensor([3.0, 0.0], dtype=torch.float64), torch.tensor([4.0], dtype=torch.float64)
    torch.nn.utils.clip_grad_norm_([a, b], 1.0)
    ours = clip_by_norm(np.array([3.0, 0.0, 4.0]), 1.0)
    np.testing.assert_allclose(ours, [*a.grad.numpy(), *b.grad.numpy()], rtol=1e-15)


@given(vectors.filter(lambda g: np.linalg.norm(g) > 0), thresholds)
def test_invariants(g, c):
    r = clip(g, c)
    g = np.asarray(g, dtype=np.float64)
    # by value: every component clamped to [−c, c], and nothing else changed
    assert np.array_equal(r["by_value"].grad, np.clip(g, -c, c))
    # by norm, torch's rule: scaled by c/(‖g‖ + 1e-6) where that is below 1 (to length c·‖g‖/(‖g‖ + 1e-6)),
    # else unchanged
    n = np.linalg.norm(g)
    if c / (n + 1e-6) < 1:
        assert r["by_norm"].norm == pytest.approx(c * n / (n + 1e-6), rel=1e-12)
    else:
        assert np.array_equal(r["by_norm"].grad, g)
    assert r["by_norm"].cosine == pytest.approx(1.0, abs=1e-12)   # norm clipping keeps the direction
    clipped = np.clip(g, -c, c)
    assert r["by_value"].cosine == pytest.approx(clipped @ g / (np.linalg.norm(clipped) * n), rel=1e-12)


def test_value_clipping_turns_the_direction():
    r = clip([3906.25, 0.25], 0.5)
    assert r["by_value"].grad.tolist() == [0.5, 0.25]
    assert r["by_value"].cosine < 0.9


def test_bad_threshold_or_mode_is_a_parameter_error():
    from actcli.errors import ParameterError

    for threshold, mode, param in [(-1.0, "both", "threshold"), (float("nan"), "value", "threshold"),
                                   (1.0, "sideways", "mode")]:
        with pytest.raises(ParameterError) as caught:
            clip([1.0], threshold, mode)
        assert caught.value.param == param


def test_mode_selects():
    assert set(clip([1.0], 0.5, "value")) == {"by_value"}
    assert set(clip([1.0], 0.5, "norm")) == {"by_norm"}


def test_clip_json_default_chain(invoke):
    doc = json.loads(invoke("clip", "--json").stdout)
    assert set(doc) >= {"threshold", "original", "norm", "by_value", "by_norm"}
    assert doc["threshold"] == 0.5 and doc["original"][4] == 3906.25  # ∂C/∂b₁ of the weights = 100 chain
    assert set(doc["by_value"]) >= {"grad", "norm", "cosine"}
    assert max(abs(v) for v in doc["by_value"]["grad"]) == 0.5
    assert doc["by_norm"]["norm"] == pytest.approx(0.5, rel=1e-6)
    assert doc["by_norm"]["cosine"] == pytest.approx(1.0)


def test_clip_given_gradient(invoke):
    doc = json.loads(invoke("clip", "--grad", "3,-4", "--threshold", "1", "--mode", "norm", "--json").stdout)
    assert doc["norm"] == 5.0 and "by_value" not in doc
    np.testing.assert_allclose(doc["by_norm"]["grad"], [0.6, -0.8], rtol=1e-6)
    assert doc["by_norm"]["update"] == pytest.approx([-0.3, 0.4], rel=1e-6)
    out = invoke("clip", "--grad", "3,-4", "--threshold", "1").stdout
    assert "by value" in out and "by norm" in out and "cosine" in out


@pytest.mark.parametrize("args, says", [
    (["--threshold", "-1"], "-1.0 is not in the range x>=0"),
    (["--threshold", "nan"], "nan is not a finite number"),
    (["--alpha", "0.1"], "'--alpha': sigmoid has no parameter 'alpha'"),
    (["--dcda", "1", "--target", "1"], "give --dcda or --target, not both"),
    (["--mode", "sideways"], "sideways"),
    (["--grad", ""], "got nothing"),
    (["--grad", "1,a"], "'a' is not a valid float"),
    (["--activation", "gelo"], "did you mean 'gelu'?"),
    (["--weights", "1,2", "--layers", "3"], "got 2 weights for 3 layers"),
])
def test_clip_bad_input(invoke, args, says):
    assert says in one_line_error(invoke("clip", *args))


# ---- what the mutation run (docs/testing.md) found unchecked ---------------------------------------

def test_huge_gradients_clip_without_numpy_warnings():
    """‖g‖ of [1e308, 1e308] overflows to inf: clipping by norm gives zeros, silently (errstate), as
    torch's clip_grad_norm_ does; and the cosine of a zero vector is nan, not a RuntimeWarning."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = clip([1e308, 1e308], 1.0)
        assert r["by_norm"].grad.tolist() == [0.0, 0.0] and math.isnan(r["by_norm"].cosine)
        assert math.isnan(clip([0.0, 0.0], 1.0)["by_value"].cosine)
        assert math.isnan(clip([math.inf, 1.0], 1.0, "norm")["by_norm"].grad[0])   # inf·0, as torch gives


def test_bad_mode_and_threshold_say_what_is_allowed():
    from actcli.errors import ParameterError

    with pytest.raises(ParameterError, match="mode must be value, norm or both, not 'sideways'"):
        clip([1.0], 1.0, "sideways")
    with pytest.raises(ParameterError, match="threshold must be a finite number ≥ 0, not -1"):
        clip([1.0], -1.0)


def test_a_zero_threshold_is_allowed_and_integers_are_gradients_too():
    assert clip([3, -4], 0.0, "value")["by_value"].grad.tolist() == [0.0, 0.0]
    r = clip([3, -4], 0.5)
    assert r["by_value"].grad.dtype == np.float64 and r["by_value"].grad.tolist() == [0.5, -0.5]
    # computed in float64 whatever comes in: a float32 gradient is not clipped in float32
    r = clip(np.array([1 / 3, 3.0], dtype=np.float32), 0.1, "norm")
    assert r["by_norm"].grad.dtype == np.float64
