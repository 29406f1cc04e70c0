"""The derivative check must pass for every entry, and must be able to fail."""

import dataclasses

import numpy as np
import pytest

from actcli import activations as A
from actcli.derive import DEFAULT_POINTS, derive
from actcli.formula import from_formula


@pytest.mark.parametrize("name", A.NAMES)
def test_check_passes_for_every_activation(name):
    result = derive(A.get(name), check=True)
    assert result.passed
    assert result.max_abs_error < 1e-12
    # Away from kinks the central difference agrees to O(h²); where only f″ jumps (ELU, SELU at 0)
    # it is O(h) ≈ 1e-6, which is why the verdict rests on autograd.
    assert result.max_abs_error_numeric < 1e-5


def test_check_fails_for_a_wrong_derivative():
    wrong = dataclasses.replace(A.get("gelu"), df_=lambda x: A.get("gelu").df_(x) * (1 + 1e-6))
    result = derive(wrong, check=True)
    assert not result.passed
    assert result.max_abs_error > 1e-7


def test_kink_is_flagged_where_the_central_difference_means_nothing():
    result = derive(A.get("relu"), [-1.0, 0.0, 1.0], check=True)
    assert result.kink.tolist() == [False, True, False]
    assert result.df_numeric[1] == pytest.approx(0.5)  # halfway between the two sides
    assert result.passed


def test_document_shape():
    doc = derive(A.get("elu"), [0.5], {"alpha": 2.0}, check=True).to_dict()
    assert doc["activation"] == "elu" and doc["params"] == {"alpha": 2.0}
    assert set(doc["points"][0]) >= {"x", "f", "df", "df_autograd", "df_numeric"}
    assert "max_abs_error" in doc
    plain = derive(A.get("elu")).to_dict()
    assert [p["x"] for p in plain["points"]] == list(DEFAULT_POINTS)
    assert "max_abs_error" not in plain and "df_autograd" not in plain["points"][0]


def test_gelu_tanh_reports_its_error_against_exact_gelu():
    doc = derive(A.get("gelu-tanh")).to_dict()
    assert doc["approximation"]["of"] == "gelu"
    assert doc["approximation"]["max_abs_error"] == pytest.approx(4.73e-4, rel=2e-3)
    assert np.isclose(doc["approximation"]["at_abs_x"], 2.70, atol=0.01)



@pytest.mark.parametrize("act, x, slope", [
    (lambda: from_formula("3*x"), 1.0, 3.0),                                                           # relative
    (lambda: A.get("sigmoid"), 0.0, 0.25),                                                             # absolute
])
def test_the_tolerance_is_1e_8_relative_above_1_and_absolute_below(act, x, slope):
    """Pinned on both sides of 1e-8 × max(1, |f′|). Where |f′| = 3 an error of 1.5e-8 passes (an absolute
    1e-8 would not) and 6e-8 fails (a looser tolerance would not); where |f′| = ¼ an error of 0.5e-8 passes
    (a relative 1e-8 · ¼ would not) and 2e-8 fails."""
    act = act()
    exact = act.df_

    def off_by(error):
        return derive(dataclasses.replace(act, df_=lambda t, **p: exact(t, **p) + error, properties=None)
                      if hasattr(act, "source") else dataclasses.replace(act, df_=lambda t: exact(t) + error),
                      [x], check=True)

    assert off_by(0.0).df_autograd[0] == pytest.approx(slope, rel=1e-15)
    assert off_by(0.5e-8 * max(1.0, slope)).passed
    assert not off_by(2e-8 * max(1.0, slope)).passed


def test_the_whole_document_with_a_parameter_by_hand():
    """Every key of `derive --json`, and α reaching f, f′, autograd, the central difference and the kink test
    (the mutation run found all of them unchecked): leaky ReLU with α = 0.3, by hand."""
    a = A.get("leaky-relu")
    doc = derive(a, [-1.0, 0.0, 2.0], {"alpha": 0.3}, check=True).to_dict()
    numeric = [p.pop("df_numeric") for p in doc["points"]]
    assert doc == {"activation": "leaky-relu", "params": {"alpha": 0.3}, "formula": a.formula,
                   "derivative": a.derivative_formula, "latex": a.latex, "latex_derivative": a.latex_derivative,
                   "points": [{"x": -1.0, "f": -0.3, "df": 0.3, "df_autograd": pytest.approx(0.3, rel=1e-15),
                               "kink": False},
                              {"x": 0.0, "f": 0.0, "df": 0.3, "df_autograd": pytest.approx(0.3, rel=1e-15),
                               "kink": True},
                              {"x": 2.0, "f": 2.0, "df": 1.0, "df_autograd": 1.0, "kink": False}],
                   "max_abs_error": pytest.approx(0.0, abs=1e-16), "max_abs_error_numeric": pytest.approx(0, abs=1e-10),
                   "tolerance": 1e-8, "passed": True}
    # the central difference straddles the kink at 0: (f(h) − f(−h)) / 2h = (1 + α)/2
    assert numeric == [pytest.approx(0.3, abs=1e-10), pytest.approx(0.65, rel=1e-12), pytest.approx(1.0, abs=1e-10)]
    approx = derive(A.get("gelu-tanh")).to_dict()["approximation"]
    assert (approx["of"], approx["interval"]) == ("gelu", [-10.0, 10.0])
