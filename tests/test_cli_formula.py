"""Formulas wherever an activation is named: derive, plot, chain and compare, and what they refuse."""

import json

import numpy as np
import pytest

from helpers import one_line_error, write_mnist_like


def derive_json(invoke, name, *args):
    result = invoke("derive", name, "--json", *args)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.parametrize("formula, builtin", [("x*sigmoid(x)", "silu"), ("max(0,x)", "relu"),
                                              ("x*tanh(softplus(x))", "mish"), ("tanh(x)", "tanh")])
def test_known_formulas_reproduce_the_builtins(invoke, formula, builtin):
    at = "-20,-3.5,-1,-1e-9,0,1e-9,0.5,2,7,20"
    ours, theirs = derive_json(invoke, formula, "--at", at), derive_json(invoke, builtin, "--at", at)
    for key in ("f", "df"):
        np.testing.assert_allclose([p[key] for p in ours["points"]], [p[key] for p in theirs["points"]],
                                   rtol=1e-12, atol=1e-300)


def test_derive_check_of_a_formula_against_autograd(invoke):
    doc = derive_json(invoke, "x*erf(x)", "--check")
    assert doc["passed"] and doc["max_abs_error"] < 1e-12
    assert "erf" in doc["derivative"] and doc["latex_derivative"]
    text = invoke("derive", "x*tanh(softplus(x))", "--check")
    assert text.exit_code == 0 and "agrees with torch autograd" in text.stdout


def test_plot_a_formula_beside_a_builtin(invoke, tmp_path):
    out = tmp_path / "cmp.png"
    result = invoke("plot", "gelu", "x*sigmoid(1.702*x)", "-o", out, "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["activations"] == ["gelu", "x*sigmoid(1.702*x)"]
    assert out.stat().st_size > 10_000


def test_plot_default_file_name_of_a_formula_is_safe(invoke, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert invoke("plot", "x*tanh(x)").exit_code == 0
    (written,) = tmp_path.iterdir()
    assert written.name.startswith("x_tanh_x_~") and written.suffix == ".png"


def test_chain_with_a_formula_is_nielsens_product(invoke):
    doc = json.loads(invoke("chain", "--activation", "tanh(x)/2", "--weights", "100", "--json").stdout)
    # centred biases put every z at 0, where f′ = ½: ∂C/∂b₁ = ½ · (100·½)³ = 62,500
    assert doc["product"]["values"] == [0.5, 50.0, 50.0, 50.0, 1.0] and doc["product"]["result"] == 62500.0
    assert doc["regime"] == "exploding"


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    return write_mnist_like(tmp_path_factory.mktemp("mnist"), n_train=300, n_test=100)


def test_formulas_train_in_compare(invoke, tiny_dir, tmp_path):
    out = tmp_path / "run"
    result = invoke("compare", "--data-dir", tiny_dir, "--activations", "max(0,x),x*tanh(x)", "--define",
                    "swish17=x*sigmoid(1.702*x)", "--epochs", "2", "--jobs", "2", "-o", out, "--json", "-q")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    by = {r["activation"]: r for r in doc["results"]}
    assert set(by) == {"max(0, x)", "x*tanh(x)", "swish17"}
    assert doc["run"]["execution"]["executor"] == "processes"          # each worker rebuilt them from text
    assert doc["config"]["definitions"] == {"max(0, x)": "max(0,x)", "x*tanh(x)": "x*tanh(x)",
                                            "swish17": "x*sigmoid(1.702*x)"}
    assert doc["config"]["monotonic_formulas"] == ["max(0, x)"]            # proven once, before the workers
    assert by["max(0, x)"]["pool_first"] and not by["swish17"]["pool_first"]
    assert by["max(0, x)"]["epochs"][-1]["dead_fraction"] > 0     # it can die, as ReLU's units do
    assert by["swish17"]["epochs"][-1]["dead_fraction"] == 0.0
    assert all(r["epochs"][-1]["grad_norms"]["conv1"] > 0 and r["test_accuracy"] > 0.5 for r in by.values())
    files = sorted(p.name for p in (out / "results").iterdir())
    assert "swish17-seed0.json" in files and all("*" not in f and "(" not in f for f in files)
    report = json.loads(invoke("report", out, "--json", "--baseline", "swish17").stdout)
    assert report["statistics"]["baseline"] == "swish17"
    clash = invoke("compare", "--data-dir", tiny_dir, "--activations", "relu", "--define", "swish17=tanh(x)",
                   "--epochs", "2", "-o", out)
    assert "definition of swish17 ('x*sigmoid(1.702*x)' ≠ 'tanh(x)')" in one_line_error(clash)


def test_a_diverging_formula_is_marked(invoke, tiny_dir, tmp_path):
    doc = json.loads(invoke("compare", "--data-dir", tiny_dir, "--activations", "x*sigmoid(x)", "--epochs", "2",
                            "--lr", "1e8", "--no-clip", "-o", tmp_path, "--json", "-q", "--jobs", "1").stdout)
    assert doc["results"][0]["diverged"] and doc["results"][0]["diverged_epoch"] == 1


ATTEMPTS = ["__import__('os').system('touch PWNED')", "x.__class__", "(lambda: 1)()", "[x for x in (1,)]",
            "open('PWNED', 'w')", "'x'", "x[0]", "exp(x, base=2)"]
BAD = [("x*foo(x)", "unknown function 'foo'"), ("x*tahn(x)", "did you mean 'tanh'"), ("2*y", "'y'"),
       ("1", "no x"), ("x +", "syntax"), ("x/0", "division by zero"), ("log(-1-x**2)", "nan or infinite"),
       ("x**10**10", "exponent"), ("x+" * 300 + "x", "long")]


@pytest.mark.parametrize("text", ATTEMPTS)
@pytest.mark.parametrize("command", ["derive", "plot", "chain", "compare"])
def test_code_is_never_run(invoke, tmp_path, monkeypatch, command, text):
    monkeypatch.chdir(tmp_path)
    args = {"derive": ["derive", text], "plot": ["plot", text, "-o", "p.png"],
            "chain": ["chain", "--activation", text], "compare": ["compare", "--activations", text, "-o", "run"]}
    one_line_error(invoke(*args[command]))
    assert list(tmp_path.iterdir()) == []                               # no PWNED, no p.png, no run/


@pytest.mark.parametrize("text, says", BAD)
def test_bad_formulas_are_one_line(invoke, tmp_path, text, says):
    one_line_error(invoke("derive", text))            # '1' is an unknown name there, the rest bad formulas
    err = one_line_error(invoke("compare", "--define", f"mine={text}", "-o", tmp_path / "never"))
    assert says in err.lower(), err
    assert not (tmp_path / "never").exists()


@pytest.mark.parametrize("value, says", [("noequals", "write NAME=FORMULA"), ("relu=x", "is a built-in"),
                                         ("ReLU=x*x", "is a built-in"), ("swish=x", "is a built-in"),
                                         ("nan=x*x", "reads as a number"), ("a b=x", "letters, digits"),
                                         ("=x", "write NAME=FORMULA")])
def test_bad_definitions(invoke, tmp_path, value, says):
    assert says in one_line_error(invoke("compare", "--define", value, "-o", tmp_path / "never"))


def test_a_name_defined_twice(invoke, tmp_path):
    err = one_line_error(invoke("compare", "--define", "f=x*x", "--define", "f=tanh(x)", "-o", tmp_path / "never"))
    assert "a name is defined twice" in err


def test_plot_refuses_a_range_where_the_formula_is_nowhere_finite(invoke, tmp_path):
    err = one_line_error(invoke("plot", "sqrt(x)", "--range", "-5", "-1", "-o", tmp_path / "s.png"))
    assert "nan or infinite at every point of [-5, -1]" in err and not (tmp_path / "s.png").exists()


def test_properties_are_computed_not_guessed(invoke):
    def props(text):
        return derive_json(invoke, text, "--properties")["properties"]

    p = props("tanh(x)/2")
    assert (p["f(0)"], p["output_range"], p["monotonic"], p["zero_centred"]) == (0.0, "(−1/2, 1/2)", True, True)
    assert props("x*sigmoid(x)")["monotonic"] is False
    assert props("x + x*sigmoid(x)")["monotonic"] in (True, None)    # increasing: never a wrong False


def test_what_sympy_cannot_decide_is_unknown(invoke, monkeypatch):
    from actcli.formula import activation as formula
    from actcli.activations import Properties

    monkeypatch.setattr(formula, "_analysed", lambda text: Properties("unknown", None, None, None, "unknown"))
    result = invoke("derive", "x*x*x + x", "--properties")
    words = " ".join(result.stdout.split())                 # rich wraps at 80 columns
    assert "range unknown; monotonic: unknown; zero-centred: unknown; smooth at 0: unknown" in words
