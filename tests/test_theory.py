"""Mean-field theory (actcli.theory) against independent oracles: scipy.integrate.quad, numbers derived by
hand, and the network itself measured in float64 (actcli.propagation); and the `depth` command."""

import json
import math

import numpy as np
import pytest
from scipy import integrate

from actcli import activations as A
from actcli import depthlab, theory as T
from actcli.errors import ParameterError
from actcli.formula import from_formula

from helpers import one_line_error, plain_id


def quad_mean(g, q):
    """E[g(√q z)] by adaptive quadrature, split at 0 (where the registry's kinks are)."""
    def f(z):
        return float(g(np.array(math.sqrt(q) * z))) * math.exp(-z * z / 2) / math.sqrt(2 * math.pi)
    return sum(integrate.quad(f, a, b, epsabs=0, epsrel=1e-13, limit=200)[0] for a, b in ((-np.inf, 0), (0, np.inf)))


@pytest.mark.parametrize("name", A.NAMES)
@pytest.mark.parametrize("q", [0.01, 0.5, 1.0, 7.0])
def test_gaussian_expectations_agree_with_quad(name, q):
    act = A.get(name)
    assert T.second_moment(act, q) == pytest.approx(quad_mean(lambda x: act.f(x) ** 2, q), rel=1e-10)
    assert T.slope_moment(act, q) == pytest.approx(quad_mean(lambda x: act.df(x) ** 2, q), rel=1e-10)


def quad_pieces(g, q):
    """E[g(√q z)] by adaptive quadrature on pieces whose edges double from 2⁻⁶ in x = √q z and stop at
    |z| = 40: a steep φ(√q z) at large q (tanh at q = 10⁶ changes within |z| < 10⁻³) is resolved."""
    s = math.sqrt(q)
    edges = sorted({0.0, 40.0} | {2.0 ** k / s for k in range(-6, 40) if 2.0 ** k / s < 40})

    def f(z):
        return float(g(np.array(s * z))) * math.exp(-z * z / 2) / math.sqrt(2 * math.pi)
    return sum(integrate.quad(f, sign * a, sign * b, epsabs=0, epsrel=1e-13, limit=200)[0] * sign
               for a, b in zip(edges, edges[1:]) for sign in (1, -1))


@pytest.mark.parametrize("name", A.NAMES)
@pytest.mark.parametrize("q", [1e2, 1e4, 1e6])
def test_gaussian_expectations_stay_exact_where_the_activation_is_steep(name, q):
    """At large q the activation changes on a scale of 1/√q in z (a wide variance, or σ_w² = 10⁶): panels
    of a fixed width in z would miss it (tanh's E[φ′²] at q = 10⁶ came out 1.6e-6 for 5.3e-4)."""
    act = A.get(name)
    assert T.second_moment(act, q) == pytest.approx(quad_pieces(lambda x: act.f(x) ** 2, q), rel=1e-9)
    assert T.slope_moment(act, q) == pytest.approx(quad_pieces(lambda x: act.df(x) ** 2, q), rel=1e-9)


def test_steep_tanh_against_its_asymptote():
    """E[sech⁴(√q z)] → (4/3)/√(2πq) as q → ∞ (∫sech⁴ = 4/3), independently of any quadrature."""
    tanh = A.get("tanh")
    for q in (1e8, 1e10):
        assert T.slope_moment(tanh, q) == pytest.approx(4 / 3 / math.sqrt(2 * math.pi * q), rel=1e-6)


def test_relu_with_he_is_critical_and_keeps_every_length():
    relu = A.get("relu")
    assert T.chi(relu, 0.37, 2.0) == pytest.approx(1.0, abs=1e-12)          # 2 · P(z > 0)
    assert T.fixed_point(relu, 2.0, 0.0, 0.37).kind == "neutral"
    th = T.predict(relu, 20, 2.0, 0.0, q1_input=0.1, input_norm2=78.4, width=512)
    np.testing.assert_allclose(th.q, [0.2] * 20, rtol=1e-12)               # q^l = q¹ = 2 · 0.1 at every layer
    assert th.chi1 == pytest.approx(1.0, abs=1e-12) and th.phase == "critical"


def test_tanh_at_the_edge_of_chaos():
    tanh = A.get("tanh")
    fp = T.fixed_point(tanh, 1.0, 0.0, 0.5)
    assert (fp.q, fp.kind) == (0.0, "zero") and T.chi1_at(tanh, 1.0, 0.0) == pytest.approx(1.0, abs=1e-9)
    assert T.critical_point(tanh) == pytest.approx(1.0, abs=1e-8)        # σ_b² = 0 unless given
    # Schoenholz et al., Fig. 1: the critical σ_w² grows with σ_b²
    grows = [T.critical_point(tanh, b2) for b2 in (0.0, 0.05, 0.2, 0.5)]
    assert all(a < b for a, b in zip(grows, grows[1:])) and grows[1] > 1.5


def test_selu_with_lecun_sits_at_its_fixed_point_slightly_chaotic():
    selu = A.get("selu")
    fp = T.fixed_point(selu, 1.0, 0.0, 0.3)
    assert fp.kind == "stable" and fp.q == pytest.approx(1.0, abs=1e-9)      # E[selu(z)²] = 1: its design
    chi1 = T.chi1_at(selu, 1.0, 0.0)
    # by hand: λ²(½ + α² e² Φ(−2)), from E[e^{2z}; z < 0] = e² Φ(−2)
    alpha, lam = A.SELU_ALPHA, A.SELU_LAMBDA
    from scipy.stats import norm
    assert chi1 == pytest.approx(lam ** 2 * (0.5 + alpha ** 2 * math.e ** 2 * norm.cdf(-2)), rel=1e-10)
    assert 1.0 < chi1 < 1.1
    assert chi1 == pytest.approx(quad_mean(lambda x: selu.df(x) ** 2, 1.0), rel=1e-10)


def test_a_critical_point_that_does_not_exist_is_an_error():
    with pytest.raises(ParameterError, match="sigmoid has no critical point .* σ_w² in \\[0.05, 20\\]") as info:
        T.critical_point(A.get("sigmoid"), 0.0, bounds=(0.05, 20.0))
    assert info.value.param == "init"


def test_an_infinite_expectation_is_an_error():
    blows = from_formula("exp(x**2)")
    # E[e^{2qz²}] = 1/√(1 − 4q): at q = 0.2 the integrand e^{−z²/10} is still 3e-9 at |z| = 14, where the
    # panels end, so it is integrated out to where it has died (1e-9 would pass a truncated integral)
    assert T.second_moment(blows, 0.2) == pytest.approx(1 / math.sqrt(1 - 4 * 0.2), rel=1e-13)
    assert T.second_moment(blows, 0.1) == pytest.approx(1 / math.sqrt(1 - 4 * 0.1), rel=1e-13)
    for q in (0.25, 0.3, 4.0):               # q = ¼ exactly: the integrand is flat, the mean infinite
        with pytest.raises(ParameterError, match=r"exp\(x\*\*2\): E\[φ\(√q z\)²\] at q = .* is not finite"):
            T.second_moment(blows, q)
    with pytest.raises(ParameterError, match="cannot be computed in float64"):
        T.second_moment(blows, 0.24)         # finite (5), but e^{2qx²} overflows before the integrand dies
    assert T.second_moment(from_formula("exp(x)"), 50.0) == pytest.approx(math.exp(100.0), rel=1e-12)
    # a tail that is exactly 0 on both sides is no sign of growth
    assert T.slope_moment(from_formula("min(max(x, -1), 1)"), 1.0) == pytest.approx(
        math.erf(1 / math.sqrt(2)), rel=1e-6)


@pytest.fixture(scope="module")
def sigmoid_50():
    return depthlab.study([A.get("sigmoid")], depth=50, width=512, init="glorot", batch=256, seeds=(0, 1, 2))


def test_sigmoid_vanishes_by_theory_and_by_measurement_alike(sigmoid_50):
    (row,) = sigmoid_50["activations"]
    assert row["measured_ratio"] < 1e-25
    assert math.log10(row["theory_ratio"]) == pytest.approx(math.log10(row["measured_ratio"]), rel=0.05)
    # layer by layer too: the measured gradient follows the predicted one within a factor of 2 everywhere
    th, m = np.array(row["theory"]["gradient"]), np.array(row["measured"]["gradient"])
    np.testing.assert_allclose(m / m[-1], th, rtol=1.0)
    assert row["theory"]["phase"] == "ordered" and row["measured_first_vanished"] == 1


def test_relu_lengths_spread_over_seeds_at_finite_width():
    """Hanin & Nica: at width N the variance of log‖h‖² grows like 5L/N: at L = 50, N = 512 the seeds' q^L/q¹
    spread over a factor of two or more, though theory (he: critical) says q^L = q¹ exactly."""
    doc = depthlab.study([A.get("relu")], depth=50, width=512, init="he", batch=64, seeds=range(6))
    ratios = [s["q"][-1] / s["q"][0] for s in doc["activations"][0]["seeds"]]
    assert max(ratios) / min(ratios) > 2.0
    # the mean over seeds is near theory's 1, and a wider network is nearer still
    assert 0.5 < math.exp(np.mean(np.log(ratios))) < 2.0


def test_theory_is_fast_and_the_table_fits(invoke):
    result = invoke("depth", "--theory-only", "--json")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert [r["activation"] for r in doc["activations"]] == list(A.ARTICLE_ACTIVATIONS)
    assert doc["network"]["seeds"] == [] and "measured" not in doc["activations"][0]


def test_depth_writes_its_figure_and_phase(invoke, tmp_path):
    out = tmp_path / "d.png"
    result = invoke("depth", "relu", "tanh", "--depth", "6", "--width", "32", "--batch", "16", "--seeds", "0-1",
                    "-o", out)
    assert result.exit_code == 0, result.stderr
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    from actcli.depthplots import depth_figure, phase_figure

    doc = depthlab.study([A.get("relu"), A.get("tanh")], depth=6, width=32, batch=16, seeds=(0, 1))
    fig = depth_figure(doc)
    ax_q, ax_g = fig.axes
    assert ax_q.get_yscale() == ax_g.get_yscale() == "log"
    assert len(ax_g.get_lines()) >= 2
    np.testing.assert_allclose(ax_g.get_lines()[0].get_ydata(), doc["activations"][0]["theory"]["gradient"])
    ph = depthlab.phase(A.get("tanh"), points=5)
    assert phase_figure(ph).axes[0].get_xlabel() == "σ_w²"
    assert ph["critical_sigma_w2"][0] == pytest.approx(1.0, abs=1e-6)


@pytest.mark.parametrize("args, says", [
    (["--depth", "0"], "depth 0 is outside 1..10,000"),
    (["--depth", "10001"], "depth 10001 is outside"),
    (["--width", "0"], "width 0 is outside 1..16,384"),
    (["--width", "16385"], "width 16385 is outside"),
    (["--sigma-w2", "0"], "sigma_w2 must be a finite number > 0"),
    (["--sigma-w2", "nan"], "nan is not a finite number"),
    (["--sigma-b2", "-1"], "sigma_b2 must be a finite number ≥ 0"),
    (["--sigma-b2", "inf"], "inf is not a finite number"),
    (["sigmoid", "--init", "critical", "--theory-only"], "sigmoid has no critical point"),
    (["exp(x**2)", "--sigma-w2", "1", "--theory-only"],
     "Invalid value for '[ACTIVATION…]': exp(x**2): E[φ(√q z)²] at q = 1.371 is not finite"),
    (["relu", "tanh", "--phase"], "--phase draws one activation, not 2"),
    (["--depth", "10000", "--width", "16384"], "needs about"),
    (["--seeds", "3-1"], "a range goes up"),
    (["nosuch"], "Invalid value for '[ACTIVATION…]': unknown activation 'nosuch'"),
], ids=lambda v: plain_id(v) if isinstance(v, str) else None)
def test_bad_input_is_one_line_and_writes_nothing(invoke, tmp_path, args, says):
    out = tmp_path / "never.png"
    err = one_line_error(invoke("depth", *args, "-o", out))
    assert says in err and not out.exists()


def test_a_thousand_layers_neither_underflow_nor_overflow():
    """ReLU under glorot halves q a layer: q^1000 is 2⁻⁹⁹⁹ q¹, and gelu's shrinks 4× a layer to 10⁻⁶⁰⁰, below
    float64 (its gradient ratio was log(0), a traceback, found by the fuzz test). A homogeneous φ's ratio
    first/last does not depend on depth (the shrinking signal and the growing error cancel), so relu's at 1,000
    layers is its ratio at 50 exactly; gelu is ReLU-like near 0, so its ratio stays level too."""
    relu, gelu = A.get("relu"), A.get("gelu-tanh")
    q1, norm2, width = 0.1, 78.4, 512
    for act, rel in ((relu, 1e-9), (gelu, 0.05)):
        short = T.predict(act, 50, 1.0, 0.0, q1, norm2, width)
        deep = T.predict(act, 1000, 1.0, 0.0, q1, norm2, width)
        assert math.isfinite(deep.gradient[0]) and deep.gradient[0] == pytest.approx(short.gradient[0], rel=rel)
    deep = T.predict(relu, 1000, 1.0, 0.0, q1, norm2, width)
    assert deep.q[-1] == pytest.approx(q1 * 2.0 ** -999, rel=1e-9)
    # chaotic the other way: relu at σ_w² = 3 grows q by 1.5 a layer, 1.5¹⁰⁰⁰⁰ overflows; the ratio stays level
    # (to 1e-7: the power law beyond q = 10⁸ has its exponent from quadrature, 1 ± 1e-12, times ln q ≈ 4,000)
    wide = T.predict(relu, 10_000, 3.0, 0.0, q1, norm2, width)
    assert math.isinf(wide.q[-1]) and math.isfinite(wide.gradient[0])
    assert wide.gradient[0] == pytest.approx(T.predict(relu, 50, 3.0, 0.0, q1, norm2, width).gradient[0], rel=1e-7)


def test_a_network_that_dies_on_the_way_up_has_no_ratio(invoke):
    """relu 1,000 layers deep and 32 wide under glorot: by the last layer every unit is dead for every image
    (or underflowed), the output layer's gradient is exactly 0 and first/last is no number (it was a
    ZeroDivisionError). The lost layer is then the first whose gradient is exactly 0."""
    assert depthlab.first_vanished([1.0, 0.0, 0.0]) == 2 and depthlab.first_vanished([1e-3, 2e-3, 0.0]) == 3
    assert depthlab.first_vanished([1e-9, 1.0]) == 1 and depthlab.first_vanished([0.5, 1.0]) is None
    result = invoke("depth", "relu", "--depth", "1000", "--width", "32", "--batch", "8", "--seeds", "0", "--json")
    assert result.exit_code == 0, result.stderr
    row = json.loads(result.stdout)["activations"][0]
    assert row["measured"]["gradient"][-1] == 0 and row["measured_ratio"] == "nan"
    assert row["measured_first_vanished"] <= 1001 and math.isfinite(row["theory_ratio"])
    table = invoke("depth", "relu", "--depth", "1000", "--width", "32", "--batch", "8", "--seeds", "0")
    assert table.exit_code == 0 and "nan: a seed's output layer had no gradient" in " ".join(table.stdout.split())


def test_the_depth_scale():
    """ξ = −1/ln χ₁ in the ordered phase (sigmoid under glorot: χ₁ = 0.0557, ξ = 0.346 layers); infinite at
    the edge of chaos, where −1/ln χ₁ is rounding (elu at χ₁ = 1 − 1e-16 gave 1.3e6, at σ_b² = 0.3 4.5e15);
    none in the chaotic phase."""
    def xi(name, sw2, sb2=0.0):
        return T.predict(A.get(name), 10, sw2, sb2, 0.1, 78.4, 512).xi
    chi1 = T.chi1_at(A.get("sigmoid"), 1.0, 0.0)
    assert xi("sigmoid", 1.0) == pytest.approx(-1 / math.log(chi1), rel=1e-12) and 0.3 < xi("sigmoid", 1.0) < 0.4
    assert xi("relu", 2.0) == xi("elu", 1.0) == xi("tanh", 1.0) == math.inf
    assert xi("elu", T.critical_point(A.get("elu"), 0.3), 0.3) == math.inf
    assert xi("selu", 1.0) is None


# ---- what the mutation run (docs/testing.md) found unchecked ---------------------------------------

def test_moments_take_the_activations_parameters():
    # leaky ReLU with slope α: E[φ(√q z)²] = q(1 + α²)/2 and E[φ′²] = (1 + α²)/2, whatever the kink's side
    leaky = A.get("leaky-relu")
    assert T.second_moment(leaky, 2.0, alpha=0.3) == pytest.approx(1.09, rel=1e-12)
    assert T.slope_moment(leaky, 2.0, alpha=0.3) == pytest.approx(0.545, rel=1e-12)


def test_at_q_0_a_mean_is_the_value_at_0():
    sigmoid = A.get("sigmoid")
    assert T.second_moment(sigmoid, 0.0) == pytest.approx(0.25, rel=1e-14)
    assert T.slope_moment(sigmoid, 0.0) == pytest.approx(1 / 16, rel=1e-14)
    assert T.second_moment(A.get("tanh"), 0.0) == 0.0


def test_the_refusals_say_which_mean_and_why():
    blows = from_formula("exp(x**2)")
    with pytest.raises(ParameterError) as info:
        T.slope_moment(blows, 1.0)
    assert (str(info.value), info.value.param) == (
        "exp(x**2): E[φ′(√q z)²] at q = 1 is not finite: the activation grows too fast for a Gaussian input",
        "activation")
    with pytest.raises(ParameterError) as info:
        T.second_moment(blows, 0.24)
    assert (str(info.value), info.value.param) == (
        "exp(x**2): E[φ(√q z)²] at q = 0.24 cannot be computed in float64: the activation grows nearly as fast "
        "as a Gaussian input falls", "activation")


@pytest.mark.parametrize("side", ["x > 0", "x < 0"])
def test_an_activation_that_grows_on_one_side_only(side):
    """E[e^{2qz²}; one half-line] = ½/√(1 − 4q): the other side's zeros must not hide the growth."""
    one_sided = from_formula(f"where({side}, exp(x**2), 0)")
    for q in (0.05, 0.2):
        assert T.second_moment(one_sided, q) == pytest.approx(0.5 / math.sqrt(1 - 4 * q), rel=1e-12)
    for q in (0.3, 1.0):
        with pytest.raises(ParameterError, match="is not finite"):
            T.second_moment(one_sided, q)


@pytest.mark.parametrize("bounds", [(1.0, 2.0), (2.0, 4.0), (0.5, 8.0), (0.7, 5.0)])
def test_a_critical_point_at_either_end_of_the_range_is_found(bounds):
    """ReLU's χ₁ = σ_w²/2 is 1 at σ_w² = 2: the range's upper end, its lower end, a point of the search grid
    inside it (0.5 · 16^(12/24)), and between two of its points (by brentq)."""
    assert T.critical_point(A.get("relu"), 0.0, bounds=bounds) == pytest.approx(2.0, rel=1e-12)


def test_the_schemes_by_hand():
    relu = A.get("relu")
    glorot = T.scheme("glorot", relu, depth=2, width=100)          # fans (784, 100), (100, 100), (100, 10)
    assert (glorot.name, glorot.sigma_b2) == ("glorot", 0.0)
    assert glorot.sigma_w2 == pytest.approx([2 * 784 / 884, 1.0, 2 * 100 / 110], rel=1e-15)
    assert T.scheme("he", relu, 2, 100).sigma_w2 == [2.0, 2.0, 2.0]
    assert T.scheme("lecun", relu, 3, 100, sigma_b2=0.5).sigma_w2 == [1.0] * 4
    assert T.scheme("lecun", relu, 3, 100, sigma_b2=0.5).sigma_b2 == 0.5
    assert T.scheme("critical", relu, 1, 100).sigma_w2 == pytest.approx([2.0, 2.0], rel=1e-12)
    given = T.scheme("he", relu, 1, 100, sigma_w2=1.5, sigma_b2=0.1)
    assert (given.name, given.sigma_w2, given.sigma_b2) == ("given", [1.5, 1.5], 0.1)


def test_an_unknown_init_is_named():
    with pytest.raises(ParameterError) as info:
        T.scheme("xavier", A.get("relu"), 2, 100)
    assert (str(info.value), info.value.param) == ("init must be glorot, he, lecun or critical, not 'xavier'", "init")


@pytest.mark.parametrize("text, width", [("where(x < 0, where(x > -30, exp(x**2/4), 0), 0)", 30.0),
                                         ("where(x > 0, where(x < 30, exp(x**2/4), 0), 0)", 30.0),
                                         ("where(abs(x) < 30, exp(x**2/4), 0)", 60.0)])
def test_a_tail_alive_past_28_on_either_side_is_integrated_out_to_where_it_ends(text, width):
    """φ² e^{−z²/2} = 1 for |z| < 30 on one side or both (at q = 1), 0 beyond: E[φ²] = width/√(2π). The first
    pass (|z| ≤ 28) must see the tail on whichever side it lives, and the second reach past 30."""
    assert T.second_moment(from_formula(text), 1.0) == pytest.approx(width / math.sqrt(2 * math.pi), rel=1e-12)


def test_the_four_kinds_of_fixed_point():
    relu, tanh, selu = A.get("relu"), A.get("tanh"), A.get("selu")
    # ReLU: F(q) = (σ_w²/2 − 1) q: every q fixed at σ_w² = 2 (the start is the answer), none above, 0 below
    assert T.fixed_point(relu, 2.0, 0.0) == T.FixedPoint(1.0, "neutral")
    assert T.fixed_point(relu, 2.0, 0.0, q_start=0.3) == T.FixedPoint(0.3, "neutral")
    assert T.fixed_point(relu, 3.0, 0.0) == T.FixedPoint(None, "none")
    assert T.fixed_point(relu, 1.0, 0.0) == T.FixedPoint(0.0, "zero")
    assert T.fixed_point(selu, 1.0, 0.0, q_start=1.0) == T.FixedPoint(1.0, "stable")   # already there
    # tanh at σ_w² = 1.5, σ_b² = 0.1: a root of q = 1.5 E[tanh²(√q z)] + 0.1, checked with scipy's quad
    fp = T.fixed_point(tanh, 1.5, 0.1)
    m2 = integrate.quad(lambda z: math.tanh(math.sqrt(fp.q) * z) ** 2 * math.exp(-z * z / 2), -40, 40,
                        epsabs=0, epsrel=1e-13)[0] / math.sqrt(2 * math.pi)
    assert fp.kind == "stable" and fp.q == pytest.approx(1.5 * m2 + 0.1, rel=1e-12)
    for start in (fp.q, 1e-6, 50.0):            # from below, from above, and from q* itself
        assert T.fixed_point(tanh, 1.5, 0.1, q_start=start).q == pytest.approx(fp.q, rel=1e-12)


def test_the_phases_by_their_edges():
    assert [T.phase(c) for c in (0.5, 0.999, 0.9991, 1.0, 1.0009, 1.001, 1.5)] == [
        "ordered", "ordered", "critical", "critical", "critical", "critical", "chaotic"]


def test_chi1_starts_where_it_is_told():
    relu = A.get("relu")
    assert T.chi1_at(relu, 2.0, 0.0) == pytest.approx(1.0, rel=1e-12)
    tanh = A.get("tanh")    # ordered at σ_w² = 0.5: q* = 0 from any start, χ₁ = σ_w² tanh′(0)² = 0.5
    assert T.chi1_at(tanh, 0.5, 0.0, q_start=7.0) == pytest.approx(0.5, rel=1e-9)


def test_a_prediction_by_hand():
    """ReLU, E[φ²] = q/2 and E[φ′²] = ½: weight layers σ_w² = 1.5, 2, 1 over 2 hidden layers of 64, input
    mean square 0.2 and ‖x‖² = 150. q¹ = 1.5·0.2 (+ σ_b²), q² = 2·q¹/2 (+ σ_b²); χ^l = σ_w,l+1²/2 = 1, ½;
    ‖∂L/∂W^l‖ ∝ √(Π_{k≥l} χ^k · ‖a^{l−1}‖²), relative to the output layer's."""
    relu = A.get("relu")
    t = T.predict(relu, 2, [1.5, 2.0, 1.0], 0.0, 0.2, 150.0, 64)
    assert (t.activation, t.sigma_w2, t.sigma_b2) == ("relu", [1.5, 2.0, 1.0], 0.0)
    assert t.q == pytest.approx([0.3, 0.3], rel=1e-14) and t.activation_norm2 == pytest.approx([0.15, 0.15], rel=1e-12)
    assert t.chi == pytest.approx([1.0, 0.5], rel=1e-12)
    assert t.gradient == pytest.approx([math.sqrt(0.5 * 150 / 9.6), math.sqrt(0.5), 1.0], rel=1e-12)
    # the square layers are σ_w² = 2: every q is fixed, the start (the last layer's q) is the answer
    assert (t.q_star, t.fixed_point, t.chi1, t.xi, t.phase) == (pytest.approx(0.3), "neutral", pytest.approx(1.0),
                                                                math.inf, "critical")
    b = T.predict(relu, 2, [1.5, 2.0, 1.0], 0.5, 0.2, 150.0, 64)     # σ_b² = ½: q grows by ½ a layer
    assert b.q == pytest.approx([0.8, 1.3], rel=1e-14) and b.activation_norm2 == pytest.approx([0.4, 0.65])
    assert b.gradient == pytest.approx([math.sqrt(0.5 * 150 / 41.6), math.sqrt(0.5 * 25.6 / 41.6), 1.0], rel=1e-12)
    assert (b.q_star, b.fixed_point, b.phase) == (None, "none", "critical")
    one = T.predict(relu, 1, [1.5, 2.0], 0.0, 0.2, 150.0, 64)         # one hidden layer: its own σ_w² = 1.5
    assert (one.q_star, one.fixed_point, one.phase) == (0.0, "zero", "ordered")
    assert one.chi1 == pytest.approx(0.75, rel=1e-12) and one.xi == pytest.approx(-1 / math.log(0.75), rel=1e-12)


def test_a_dead_activation_has_no_depth_scale():
    """where(x > 50, x, 0) is 0 wherever a Gaussian of variance ≤ 1 reaches: every moment exactly 0, χ₁ = 0:
    ordered, and −1/ln 0 is no depth."""
    dead = from_formula("where(x > 50, x, 0)")
    t = T.predict(dead, 2, 1.0, 0.0, 0.1, 78.4, 64)
    assert (t.chi1, t.phase, t.xi) == (0.0, "ordered", None)
    assert T._log_moment(T.second_moment, dead, 0.0) == -math.inf              # inside [10⁻¹², 10⁸]
    assert T._log_moment(T.second_moment, dead, math.log(1e-20)) == -math.inf  # beyond it


def test_beyond_the_computed_range_a_moment_follows_its_power_law():
    tanh = A.get("tanh")     # E[tanh²(√q z)] = q − 2q² + …: q itself at q = 10⁻¹⁴, two decades below the edge
    assert math.exp(T._log_moment(T.second_moment, tanh, math.log(1e-14))) == pytest.approx(1e-14, rel=1e-9)
    relu = A.get("relu")     # homogeneous: exactly q/2 at either side
    for q in (1e-30, 1e30):
        assert T._log_moment(T.second_moment, relu, math.log(q)) == pytest.approx(math.log(q / 2), rel=1e-12)
    # E[tanh²(√q z)] → 1 from below; the power law fitted between 10⁷ and 10⁸ carries it on to 10¹⁰ within 3e-4
    # (above 1 by that much: a power law cannot level off), where the low edge's law (∝ q) would give 10¹⁰
    assert math.exp(T._log_moment(T.second_moment, tanh, math.log(1e10))) == pytest.approx(1.0, abs=1e-3)


def test_every_scheme_keeps_its_name_and_bias():
    relu = A.get("relu")
    for init in ("glorot", "he", "lecun", "critical"):
        s = T.scheme(init, relu, 2, 100, sigma_b2=0.25)
        assert (s.name, s.sigma_b2) == (init, 0.25)
    # the critical point at the σ_b² given (tanh's moves off 1 with a bias: test_tanh_at_the_edge_of_chaos)
    assert T.scheme("critical", A.get("tanh"), 1, 100, sigma_b2=0.25).sigma_w2[0] == pytest.approx(
        T.critical_point(A.get("tanh"), 0.25), rel=1e-12)


def test_overflow_inside_is_a_refusal_or_a_number_never_a_warning():
    """Warnings as errors: what overflows inside the integrals and the log-space products is handled (a refusal
    with its reason, or inf where q itself leaves float64), not left to print RuntimeWarnings."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for text, q, says in [("exp(x**2)", 0.3, "is not finite"), ("exp(x**2)", 0.24, "cannot be computed"),
                              ("where(abs(x) < 3, exp(300*x), 0)", 0.5, "is not finite")]:
            with pytest.raises(ParameterError, match=says):
                T.second_moment(from_formula(text), q)
        # σ_w² = 10: q grows 5× a layer, past float64 by layer 441; the ratios stay finite
        deep = T.predict(A.get("relu"), 1000, 10.0, 0.0, 0.1, 78.4, 32)
        assert deep.q[-1] == math.inf and math.isfinite(deep.gradient[0])


def test_growth_is_seen_however_small_the_activation_starts():
    """1e-15·exp(x²) at q = 0.3: its square is below 1 at |z| = 8 (4.8e-14) and grows as e^{0.1 z²} from there:
    as infinite as exp(x²), and refused for the same reason, not as an overflow."""
    with pytest.raises(ParameterError, match="at q = 0.3 is not finite: the activation grows too fast"):
        T.second_moment(from_formula("1e-15*exp(x**2)"), 0.3)


def test_a_fixed_point_on_the_search_grid_is_found_from_either_side():
    """SELU's q* = 1 is a point of the grid (10⁻¹⁰ … 10⁸, ×10^0.2): the walk meets it as a bracket's end, from
    above as its lower end and from below as its upper end, and must return that end, not the other."""
    selu = A.get("selu")
    for start in (5.0, 0.3):
        assert T.fixed_point(selu, 1.0, 0.0, q_start=start) == T.FixedPoint(pytest.approx(1.0, rel=1e-12), "stable")
