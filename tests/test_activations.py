"""Every activation against torch (its functional forms and autograd), plus stability and properties."""

import math
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

from actcli import activations as A
from actcli.errors import ParameterError, UnknownActivationError

# The oracle: torch's own functional form of each activation, float64, default parameters.
TORCH = {
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "relu": F.relu,
    "leaky-relu": lambda x: F.leaky_relu(x, 0.2),
    "elu": lambda x: F.elu(x, 1.0),
    "selu": F.selu,
    "gelu": F.gelu,
    "gelu-tanh": lambda x: F.gelu(x, approximate="tanh"),
    "silu": F.silu,
    "mish": F.mish,
    "softplus": lambda x: F.softplus(x, threshold=1e9),
    "prelu": lambda x: F.prelu(x, torch.tensor([0.25], dtype=torch.float64)),
}


def test_oracle_covers_the_registry():
    assert set(TORCH) == set(A.NAMES)


def sample_points():
    rng = np.random.default_rng(1234)
    x = np.concatenate([rng.uniform(-50, 50, 600), rng.normal(0, 3, 400), [0.0, -0.0, 1e-12, -1e-12]])
    return x


@pytest.mark.parametrize("name", A.NAMES)
def test_f_and_df_match_torch(name):
    act = A.get(name)
    x = sample_points()
    xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    y = TORCH[name](xt)
    y.sum().backward()
    np.testing.assert_allclose(act.f(x), y.detach().numpy(), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(act.df(x), xt.grad.numpy(), rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("name", A.NAMES)
def test_torch_module_computes_the_same_function(name):
    act = A.get(name)
    x = sample_points()
    with torch.no_grad():
        y = act.torch_module().double()(torch.tensor(x, dtype=torch.float64)).numpy()
    np.testing.assert_allclose(act.f(x), y, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name", A.NAMES)
def test_torch_module_gradient_is_the_registry_derivative(name):
    """The module the CNN trains with has the registry's f′ everywhere, tails included (no shortcuts
    such as nn.Softplus' default threshold, which is 1e-10 off in float64 above 20)."""
    act = A.get(name)
    x = np.concatenate([sample_points(), np.linspace(-60, 60, 2401)])
    xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    act.torch_module().double()(xt).sum().backward()
    # atol: torch's tanh-form GELU computes ½(1 + tanh u), which cancels where u ≪ 0; there its f′ is
    # a few ulps of 1 off in absolute terms (≈ 5e-15), not relatively (the registry's x·σ(2u) is exact).
    np.testing.assert_allclose(act.df(x), xt.grad.numpy(), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name", A.NAMES)
def test_stable_far_out(name):
    act = A.get(name)
    x = np.array([-1e300, -1e150, -1e4, -1e3, -710.0, -50.0, 50.0, 710.0, 1e3, 1e4, 1e150, 1e300])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow or invalid-value warnings
        with np.errstate(over="raise", invalid="raise", divide="raise"):
            f, df = act.f(x), act.df(x)
    assert np.all(np.isfinite(f)) and np.all(np.isfinite(df))


# The limits as x → ±∞, from the formulas (λα for SELU, α for ELU, 0 for the GELU family …).
LIMITS = {
    "sigmoid": (0.0, 1.0), "tanh": (-1.0, 1.0), "elu": (-1.0, None), "selu": (-A.SELU_LAMBDA * A.SELU_ALPHA, None),
    "gelu": (0.0, None), "gelu-tanh": (0.0, None), "silu": (0.0, None), "mish": (0.0, None),
    "softplus": (0.0, None), "relu": (0.0, None),
}


@pytest.mark.parametrize("name", A.NAMES)
def test_limits(name):
    act = A.get(name)
    lo, hi = LIMITS.get(name, (None, None))
    if lo is not None:
        assert act.f(-1e4) == pytest.approx(lo, abs=1e-300)
    if hi is not None:
        assert act.f(1e4) == pytest.approx(hi)
    else:  # linear on the right
        assert act.f(1e4) == pytest.approx(1e4 * (A.SELU_LAMBDA if name == "selu" else 1.0))
    assert act.df(1e4) == pytest.approx(0.0 if hi is not None else (A.SELU_LAMBDA if name == "selu" else 1.0))


def test_selu_constants_and_negative_limit():
    assert A.SELU_ALPHA == 1.6732632423543772848170429916717
    assert A.SELU_LAMBDA == 1.0507009873554804934193349852946
    # The article says SELU tends to "0.0848"; it tends to −λα.
    assert A.get("selu").f(-1e4) == pytest.approx(-1.7580993408473766, rel=1e-15)


def test_relu_derivative_at_zero_is_zero():
    assert A.get("relu").df(0.0) == 0.0


def test_defaults():
    assert A.get("leaky-relu").bind() == {"alpha": 0.2}
    assert A.get("elu").bind() == {"alpha": 1.0}
    assert A.get("prelu").bind() == {"alpha": 0.25}


def test_gelu_tanh_error_is_computed():
    error, where = A.max_approximation_error(A.get("gelu-tanh"))
    assert error == pytest.approx(4.73e-4, rel=2e-3)
    assert abs(where) == pytest.approx(2.70, abs=0.01)


def test_alpha_changes_the_function():
    leaky = A.get("leaky-relu")
    assert leaky.f(-2.0, alpha=0.1) == pytest.approx(-0.2)
    assert leaky.df(-2.0, alpha=0.1) == pytest.approx(0.1)


def test_get_forgives_spelling_and_suggests():
    assert A.get("Leaky_ReLU").name == "leaky-relu"
    assert A.get("swish").name == "silu"
    with pytest.raises(UnknownActivationError) as info:
        A.get("gelo")
    assert info.value.suggestions == ["gelu"]
    assert "did you mean 'gelu'?" in str(info.value)


def test_bind_rejects_unknown_or_non_finite_params():
    with pytest.raises(ParameterError, match="relu has no parameter 'alpha'") as caught:
        A.get("relu").bind(alpha=0.1)
    assert caught.value.param == "alpha"
    assert str(caught.value) == ("relu has no parameter 'alpha' "
                                 "(it has none; 'alpha' is a parameter of leaky-relu, elu, selu, prelu)")
    assert str(pytest.raises(ParameterError, A.get("selu").bind, beta=1).value) == \
        "selu has no parameter 'beta' (its parameters: alpha, lam)"
    with pytest.raises(ParameterError, match="finite"):
        A.get("elu").bind(alpha=math.inf)


def test_every_entry_is_complete():
    for act in A.REGISTRY.values():
        d = act.describe()
        assert all(d[k] for k in ("name", "title", "formula", "derivative", "latex", "latex_derivative",
                                  "output_range", "saturates", "torch"))
        assert d["saturates"] in {"both", "negative", "none"}


# ---- properties (hypothesis) ------------------------------------------------------------------

reals = st.floats(min_value=-1e4, max_value=1e4, allow_nan=False)


@given(st.floats(min_value=-1e4, max_value=1e4))
def test_sigmoid_between_0_and_1_and_strictly_where_float64_can_tell(x):
    """σ rounds to 1 in float64 from x ≈ 36.7 (e⁻ˣ < 2⁻⁵³) and to 0 only below ≈ −745 (e^x underflows):
    inside, strictly between; everywhere, within [0, 1] and never past either end."""
    s = float(A.get("sigmoid").f(x))
    assert 0.0 <= s <= 1.0
    if x < 36.0:
        assert s < 1.0
    if x > -745.0:
        assert s > 0.0


def test_sigmoid_rounds_to_1_where_float64_must():
    assert A.get("sigmoid").f(37.0) == 1.0 and A.get("sigmoid").f(36.0) < 1.0


@given(reals)
def test_relu_non_negative(x):
    assert A.get("relu").f(x) >= 0.0


MONOTONIC = [n for n in A.NAMES if A.get(n).properties.monotonic]
NOT_MONOTONIC = [n for n in A.NAMES if not A.get(n).properties.monotonic]


@pytest.mark.parametrize("name", MONOTONIC)
@given(x=reals, y=reals)
def test_monotonic_where_the_registry_says_so(name, x, y):
    act = A.get(name)
    lo, hi = min(x, y), max(x, y)
    assert act.f(lo) <= act.f(hi)
    assert act.df(x) >= 0


@pytest.mark.parametrize("name", NOT_MONOTONIC)
def test_not_monotonic_where_the_registry_says_so(name):
    assert np.min(A.get(name).df(np.linspace(-5, 5, 1001))) < 0


@pytest.mark.parametrize("name", A.NAMES)
def test_zero_centred_and_smoothness_flags_are_true(name):
    act, p = A.get(name), A.get(name).properties
    x = np.linspace(-5, 5, 1001)
    assert (act.f(0.0) == 0 and act.f(x).min() < 0) == p.zero_centred
    jump = abs(act.df(1e-9) - act.df(-1e-9))
    assert (jump < 1e-6) == p.smooth_at_zero


def test_errors_survive_pickling():
    """Errors travel back from worker processes: they must pickle."""
    import pickle

    with pytest.raises(UnknownActivationError) as info:
        A.get("gelo")
    again = pickle.loads(pickle.dumps(info.value))
    assert str(again) == str(info.value) and again.suggestions == ["gelu"]


# ---- what the mutation run (docs/testing.md) found unchecked ---------------------------------------

def test_describe_gives_every_field_as_written():
    assert A.get("leaky-relu").describe() == {
        "name": "leaky-relu", "title": "Leaky ReLU",
        "formula": "LReLU(x) = x if x > 0 else αx", "derivative": "LReLU′(x) = 1 if x > 0 else α",
        "latex": r"\mathrm{LReLU}(x) = \begin{cases} x & x > 0 \\ \alpha x & x \le 0 \end{cases}",
        "latex_derivative": r"\mathrm{LReLU}'(x) = \begin{cases} 1 & x > 0 \\ \alpha & x \le 0 \end{cases}",
        "params": {"alpha": 0.2}, "output_range": "(−∞, ∞)", "zero_centred": True, "monotonic": True,
        "smooth_at_zero": False, "saturates": "none", "torch": "torch.nn.LeakyReLU", "note": "",
    }
    note = A.get("sigmoid").describe()["note"]
    assert note == "σ′ ≤ ¼ everywhere: the source of vanishing gradients in deep chains"


@pytest.mark.parametrize("x", [np.float32(0.1), np.array([1, -2]), np.array([0.5, -0.5], dtype=np.float32), 3])
@pytest.mark.parametrize("name", ["sigmoid", "relu", "gelu"])
def test_f_and_df_are_float64_whatever_the_input(name, x):
    act = A.get(name)
    wide = np.asarray(x, dtype=np.float64)
    for y, exact in ((act.f(x), act.f_(wide)), (act.df(x), act.df_(wide))):
        assert y.dtype == np.float64 and np.array_equal(y, exact)     # computed in float64, not only returned so


def test_selu_refuses_other_constants_in_torch_with_the_reason():
    with pytest.raises(ParameterError) as info:
        A.get("selu").torch_module(alpha=1.5)
    assert str(info.value) == "torch.nn.SELU has fixed α and λ; train SELU with its defaults"


def test_the_gelu_tanh_error_is_the_largest_on_the_default_grid():
    """[−10, 10] with 200 001 points: a step of 1e-4, and the error agrees with torch's own two GELUs there."""
    error, where = A.max_approximation_error(A.get("gelu-tanh"))
    assert round(where * 1e4) == pytest.approx(where * 1e4, abs=1e-6)        # on the 1e-4 grid
    x = torch.linspace(-10, 10, 200_001, dtype=torch.float64)
    gap = (F.gelu(x, approximate="tanh") - F.gelu(x)).abs()
    assert error == pytest.approx(gap.max().item(), rel=1e-9)
    # the error is even in x: its largest value is at ±2.6989, and rounding picks the side, so compare |x|
    assert abs(where) == pytest.approx(abs(x[gap.argmax()].item()), abs=1e-12)


def test_a_non_finite_parameter_is_named_with_its_value():
    with pytest.raises(ParameterError) as info:
        A.get("elu").bind(alpha=math.inf)
    assert (str(info.value), info.value.param) == ("elu: alpha must be a finite number, not inf", "alpha")


def test_inplace_only_where_asked_and_where_the_module_has_it():
    assert A.get("relu").torch_module(inplace=True).inplace is True
    assert A.get("leaky-relu").torch_module().inplace is False
    assert not hasattr(A.get("sigmoid").torch_module(inplace=True), "inplace")   # torch's Sigmoid has none


def test_suggestions_reach_below_difflib_s_default_and_through_aliases():
    with pytest.raises(UnknownActivationError) as info:
        A.get("lues")                                     # 0.57 like 'elu': under difflib's own 0.6 cutoff
    assert info.value.suggestions == ["elu"]
    with pytest.raises(UnknownActivationError) as info:
        A.get("swissh")                                   # closest to the alias 'swish': suggested as its entry
    assert (info.value.name, info.value.suggestions) == ("swissh", ["silu"])
    assert str(info.value).startswith("unknown activation 'swissh'; did you mean 'silu'? (choices: sigmoid, tanh,")
