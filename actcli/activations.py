"""THE registry of activation functions: one frozen entry per activation.

Every entry carries numpy float64 forms of f and its analytic derivative f′, Unicode and LaTeX
formulas for both, its parameters with defaults, a few properties, and a factory for the matching
torch module (torch is imported only when a module is asked for).

The numpy forms are written to stay finite and accurate for |x| up to 1e4 and beyond:
sigmoid and sech² are computed from e^(−|x|), softplus from log1p, the erf from math.erfc, and
the tanh form of GELU as x·σ(2u) so that its negative tail does not cancel to zero early.
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np

from .errors import ParameterError, UnknownActivationError
from .numerics import SOFTPLUS_EXACT_THRESHOLD, Phi, dsigmoid, phi, sech2, sigmoid, softplus

# SELU's fixed point constants (Klambauer et al. 2017), exact to double precision.
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_LAMBDA = 1.0507009873554804934193349852946

GELU_TANH_C = 0.044715
SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)

Array = np.ndarray


def _negative_part_exp(x: Array) -> Array:
    """eˣ on the negative side only (x clipped to ≤ 0), so positive x never overflows."""
    return np.exp(np.minimum(x, 0.0))


# ---------------------------------------------------------------------------------------------
# f and f′ for each activation: f(x, **params) on a float64 array
# ---------------------------------------------------------------------------------------------

def _tanh(x): return np.tanh(x)
def _dtanh(x): return sech2(x)


def _relu(x): return np.maximum(x, 0.0)
def _drelu(x): return (x > 0).astype(np.float64)          # ReLU′(0) = 0, as torch and TensorFlow


def _leaky(x, alpha): return np.where(x > 0, x, alpha * x)
def _dleaky(x, alpha): return np.where(x > 0, 1.0, alpha)  # the kink takes the negative side, as torch


def _elu(x, alpha): return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0.0)))
def _delu(x, alpha): return np.where(x > 0, 1.0, alpha * _negative_part_exp(x))


def _selu(x, alpha, lam): return lam * _elu(x, alpha)
def _dselu(x, alpha, lam): return lam * _delu(x, alpha)


def _gelu(x): return x * Phi(x)
def _dgelu(x): return Phi(x) + x * phi(x)


def _gelu_u(x):
    """u = √(2/π)(x + 0.044715x³), so that ½(1 + tanh u) = σ(2u). x³ overflows to ±inf past
    |x| ≈ 1e102, where σ(2u) is exactly 0 or 1 anyway."""
    with np.errstate(over="ignore"):
        return SQRT_2_OVER_PI * (x + GELU_TANH_C * x ** 3)


def _gelu_tanh(x): return x * sigmoid(2.0 * _gelu_u(x))


def _dgelu_tanh(x):
    u = _gelu_u(x)
    ds = dsigmoid(2.0 * u)
    with np.errstate(over="ignore", invalid="ignore"):
        du = SQRT_2_OVER_PI * (1.0 + 3.0 * GELU_TANH_C * x * x)
        # where σ′(2u) has underflowed to 0 (|x| ≳ 10) the second term is 0, even if du overflowed
        second = np.where(ds == 0, 0.0, x * 2.0 * ds * du)
    return sigmoid(2.0 * u) + second


def _silu(x): return x * sigmoid(x)
def _dsilu(x): return sigmoid(x) + x * dsigmoid(x)


def _mish(x): return x * np.tanh(softplus(x))
def _dmish(x): return np.tanh(softplus(x)) + x * sech2(softplus(x)) * sigmoid(x)


# ---------------------------------------------------------------------------------------------
# The registry's entries
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Param:
    name: str
    default: float
    doc: str


@dataclass(frozen=True)
class Properties:
    output_range: str
    zero_centred: bool   # f(0) = 0 and f takes both signs, so mean activations can sit near 0
    monotonic: bool      # non-decreasing everywhere (with the default parameters)
    smooth_at_zero: bool  # f′ is continuous at 0 (with the default parameters)
    saturates: str       # where f′ → 0: "both", "negative" or "none"


@dataclass(frozen=True)
class Activation:
    name: str
    title: str
    symbol: str                      # how the derivative is written in a chain: σ′(z₁), ReLU′(z₁)
    f_: Callable[..., Array] = field(repr=False)
    df_: Callable[..., Array] = field(repr=False)
    formula: str
    derivative_formula: str
    latex: str
    latex_derivative: str
    properties: Properties
    torch_name: str                  # the torch.nn module that trains with it
    params: tuple[Param, ...] = ()
    torch_kwargs: Callable[[Mapping[str, float]], dict] = field(default=lambda p: {}, repr=False)
    approximates: str | None = None  # the entry this one approximates (gelu-tanh → gelu)
    self_normalising: bool = False   # SELU: trained with LeCun-normal weights and AlphaDropout, as it needs
    learnable: bool = False          # its parameters are trained (so its shape can change)
    inplace: bool = False            # its torch module can overwrite its input: backward needs only the output
    note: str = ""

    def bind(self, **overrides: float | None) -> dict[str, float]:
        """The parameters with defaults filled in; unknown or non-finite values are an error."""
        given = {k: v for k, v in overrides.items() if v is not None}
        known = [p.name for p in self.params]
        for key, value in given.items():
            if key not in known:
                raise ParameterError(f"{self.name} has no parameter {key!r} ({_has(known, key)})", key)
            if not math.isfinite(value):
                raise ParameterError(f"{self.name}: {key} must be a finite number, not {value}", key)
        return {p.name: float(given.get(p.name, p.default)) for p in self.params}

    def f(self, x: Any, **params: float) -> Array:
        """f(x) as float64, elementwise."""
        return self.f_(np.asarray(x, dtype=np.float64), **self.bind(**params))

    def df(self, x: Any, **params: float) -> Array:
        """f′(x) as float64, elementwise (analytic)."""
        return self.df_(np.asarray(x, dtype=np.float64), **self.bind(**params))

    def torch_module(self, inplace: bool = False, **params: float):
        """A fresh torch.nn module computing this activation (imports torch); `inplace` where it can."""
        import torch.nn as nn

        kwargs = self.torch_kwargs(self.bind(**params))
        if inplace and self.inplace:
            kwargs["inplace"] = True
        return getattr(nn, self.torch_name)(**kwargs)

    @property
    def commutes_with_max(self) -> bool:
        """f(max(a, b)) = max(f(a), f(b)): true of every non-decreasing f with fixed parameters."""
        return self.properties.monotonic and not self.learnable

    def describe(self) -> dict[str, Any]:
        """Everything `actcli list` shows, as plain data."""
        p = self.properties
        return {
            "name": self.name,
            "title": self.title,
            "formula": self.formula,
            "derivative": self.derivative_formula,
            "latex": self.latex,
            "latex_derivative": self.latex_derivative,
            "params": {q.name: q.default for q in self.params},
            "output_range": p.output_range,
            "zero_centred": p.zero_centred,
            "monotonic": p.monotonic,
            "smooth_at_zero": p.smooth_at_zero,
            "saturates": p.saturates,
            "torch": f"torch.nn.{self.torch_name}",
            "note": self.note,
        }


def _has(known: list[str], key: str) -> str:
    """What an activation without the parameter `key` has instead, and which entries have `key`."""
    has = f"its parameters: {', '.join(known)}" if known else "it has none"
    others = [a.name for a in REGISTRY.values() if any(p.name == key for p in a.params)]
    return f"{has}; {key!r} is a parameter of {', '.join(others)}" if others else has


def _selu_torch_kwargs(p: Mapping[str, float]) -> dict:
    if (p["alpha"], p["lam"]) != (SELU_ALPHA, SELU_LAMBDA):
        raise ParameterError("torch.nn.SELU has fixed α and λ; train SELU with its defaults")
    return {}


_ALPHA = "slope of the negative side"
_ENTRIES = (
    Activation(
        name="sigmoid", title="Logistic sigmoid", symbol="σ", f_=sigmoid, df_=dsigmoid,
        formula="σ(x) = 1 / (1 + e⁻ˣ)", derivative_formula="σ′(x) = σ(x)·(1 − σ(x))",
        latex=r"\sigma(x) = \frac{1}{1 + e^{-x}}",
        latex_derivative=r"\sigma'(x) = \sigma(x)\,(1 - \sigma(x))",
        properties=Properties(output_range="(0, 1)", zero_centred=False, monotonic=True, smooth_at_zero=True,
                              saturates="both"),
        torch_name="Sigmoid",
        note="σ′ ≤ ¼ everywhere: the source of vanishing gradients in deep chains",
    ),
    Activation(
        name="tanh", title="Hyperbolic tangent", symbol="tanh", f_=_tanh, df_=_dtanh,
        formula="tanh(x) = (eˣ − e⁻ˣ) / (eˣ + e⁻ˣ)", derivative_formula="tanh′(x) = 1 − tanh²(x)",
        latex=r"\tanh(x) = \frac{e^{x} - e^{-x}}{e^{x} + e^{-x}}",
        latex_derivative=r"\tanh'(x) = 1 - \tanh^2(x)",
        properties=Properties(output_range="(−1, 1)", zero_centred=True, monotonic=True, smooth_at_zero=True,
                              saturates="both"),
        torch_name="Tanh",
    ),
    Activation(
        name="relu", title="Rectified linear unit", symbol="ReLU", f_=_relu, df_=_drelu,
        formula="ReLU(x) = max(0, x)", derivative_formula="ReLU′(x) = 1 if x > 0 else 0",
        latex=r"\mathrm{ReLU}(x) = \max(0, x)",
        latex_derivative=r"\mathrm{ReLU}'(x) = \begin{cases} 1 & x > 0 \\ 0 & x \le 0 \end{cases}",
        properties=Properties(output_range="[0, ∞)", zero_centred=False, monotonic=True, smooth_at_zero=False,
                              saturates="negative"),
        torch_name="ReLU",
        inplace=True,
        note="ReLU′(0) is taken as 0, as torch and TensorFlow do",
    ),
    Activation(
        name="leaky-relu", title="Leaky ReLU", symbol="LReLU", f_=_leaky, df_=_dleaky,
        formula="LReLU(x) = x if x > 0 else αx", derivative_formula="LReLU′(x) = 1 if x > 0 else α",
        latex=r"\mathrm{LReLU}(x) = \begin{cases} x & x > 0 \\ \alpha x & x \le 0 \end{cases}",
        latex_derivative=r"\mathrm{LReLU}'(x) = \begin{cases} 1 & x > 0 \\ \alpha & x \le 0 \end{cases}",
        properties=Properties(output_range="(−∞, ∞)", zero_centred=True, monotonic=True, smooth_at_zero=False,
                              saturates="none"),
        torch_name="LeakyReLU",
        params=(Param("alpha", 0.2, _ALPHA + " (the article's 0.2; Keras 0.3, torch 0.01)"),),
        torch_kwargs=lambda p: {"negative_slope": p["alpha"]},
        inplace=True,
    ),
    Activation(
        name="elu", title="Exponential linear unit", symbol="ELU", f_=_elu, df_=_delu,
        formula="ELU(x) = x if x > 0 else α(eˣ − 1)", derivative_formula="ELU′(x) = 1 if x > 0 else αeˣ = ELU(x) + α",
        latex=r"\mathrm{ELU}(x) = \begin{cases} x & x > 0 \\ \alpha (e^{x} - 1) & x \le 0 \end{cases}",
        latex_derivative=r"\mathrm{ELU}'(x) = \begin{cases} 1 & x > 0 \\ \alpha e^{x} & x \le 0 \end{cases}",
        properties=Properties(output_range="(−α, ∞)", zero_centred=True, monotonic=True, smooth_at_zero=True,
                              saturates="negative"),
        torch_name="ELU",
        params=(Param("alpha", 1.0, "negative saturation value −α (torch default 1.0)"),),
        torch_kwargs=lambda p: {"alpha": p["alpha"]},
        inplace=True,
    ),
    Activation(
        name="selu", title="Scaled exponential linear unit", symbol="SELU", f_=_selu, df_=_dselu,
        formula="SELU(x) = λx if x > 0 else λα(eˣ − 1)", derivative_formula="SELU′(x) = λ if x > 0 else λαeˣ",
        latex=r"\mathrm{SELU}(x) = \lambda \begin{cases} x & x > 0 \\ \alpha (e^{x} - 1) & x \le 0 \end{cases}",
        latex_derivative=r"\mathrm{SELU}'(x) = \lambda \begin{cases} 1 & x > 0 \\ \alpha e^{x} & x \le 0 \end{cases}",
        properties=Properties(output_range="(−λα, ∞) = (−1.7581, ∞)", zero_centred=True, monotonic=True,
                              smooth_at_zero=False, saturates="negative"),
        torch_name="SELU",
        params=(
            Param("alpha", SELU_ALPHA, "α of the self-normalising fixed point"),
            Param("lam", SELU_LAMBDA, "λ, the scale"),
        ),
        torch_kwargs=_selu_torch_kwargs,
        inplace=True,
        note="tends to −λα ≈ −1.7581 for x → −∞ (the article's '0.0848' is wrong); "
             "needs LeCun-normal init and AlphaDropout",
        self_normalising=True,
    ),
    Activation(
        name="gelu", title="Gaussian error linear unit (exact)", symbol="GELU", f_=_gelu, df_=_dgelu,
        formula="GELU(x) = x·Φ(x) = ½x(1 + erf(x/√2))",
        derivative_formula="GELU′(x) = Φ(x) + x·φ(x),  φ(x) = e^(−x²/2)/√(2π)",
        latex=r"\mathrm{GELU}(x) = x\,\Phi(x) = \tfrac{1}{2} x \left(1 + \operatorname{erf}(x/\sqrt{2})\right)",
        latex_derivative=(r"\mathrm{GELU}'(x) = \Phi(x) + x\,\varphi(x), \quad \varphi(x) = "
                          r"\frac{e^{-x^2/2}}{\sqrt{2\pi}}"),
        properties=Properties(output_range="[−0.17, ∞)", zero_centred=True, monotonic=False, smooth_at_zero=True,
                              saturates="negative"),
        torch_name="GELU",
        note="the derivative has a closed form (the article says it found none)",
    ),
    Activation(
        name="gelu-tanh", title="GELU, tanh approximation (the article's)", symbol="GELU", f_=_gelu_tanh,
        df_=_dgelu_tanh,
        formula="GELU(x) ≈ ½x(1 + tanh(u)),  u = √(2/π)(x + 0.044715x³)",
        derivative_formula="½(1 + tanh u) + ½x·sech²(u)·√(2/π)(1 + 0.134145x²)",
        latex=r"\tfrac{1}{2} x \left(1 + \tanh u\right), \quad u = \sqrt{2/\pi}\,(x + 0.044715 x^3)",
        latex_derivative=(r"\tfrac{1}{2}(1 + \tanh u) + \tfrac{1}{2} x \,\operatorname{sech}^2(u)\,\sqrt{2/\pi}\,(1 "
                          r"+ 0.134145 x^2)"),
        properties=Properties(output_range="[−0.17, ∞)", zero_centred=True, monotonic=False, smooth_at_zero=True,
                              saturates="negative"),
        torch_name="GELU",
        torch_kwargs=lambda p: {"approximate": "tanh"},
        approximates="gelu",
    ),
    Activation(
        name="silu", title="Sigmoid linear unit (swish)", symbol="SiLU", f_=_silu, df_=_dsilu,
        formula="SiLU(x) = x·σ(x)", derivative_formula="SiLU′(x) = σ(x)·(1 + x(1 − σ(x)))",
        latex=r"\mathrm{SiLU}(x) = x\,\sigma(x)",
        latex_derivative=r"\mathrm{SiLU}'(x) = \sigma(x)\left(1 + x(1 - \sigma(x))\right)",
        properties=Properties(output_range="[−0.28, ∞)", zero_centred=True, monotonic=False, smooth_at_zero=True,
                              saturates="negative"),
        torch_name="SiLU",
    ),
    Activation(
        name="mish", title="Mish", symbol="Mish", f_=_mish, df_=_dmish,
        formula="Mish(x) = x·tanh(softplus(x))", derivative_formula="Mish′(x) = tanh(sp(x)) + x·sech²(sp(x))·σ(x)",
        latex=r"\mathrm{Mish}(x) = x \tanh(\ln(1 + e^{x}))",
        latex_derivative=(r"\mathrm{Mish}'(x) = \tanh(\mathrm{sp}(x)) + x "
                          r"\,\operatorname{sech}^2(\mathrm{sp}(x))\,\sigma(x)"),
        properties=Properties(output_range="[−0.31, ∞)", zero_centred=True, monotonic=False, smooth_at_zero=True,
                              saturates="negative"),
        torch_name="Mish",
    ),
    Activation(
        name="softplus", title="Softplus", symbol="softplus", f_=softplus, df_=sigmoid,
        formula="softplus(x) = ln(1 + eˣ)", derivative_formula="softplus′(x) = σ(x)",
        latex=r"\mathrm{softplus}(x) = \ln(1 + e^{x})",
        latex_derivative=r"\mathrm{softplus}'(x) = \sigma(x)",
        properties=Properties(output_range="(0, ∞)", zero_centred=False, monotonic=True, smooth_at_zero=True,
                              saturates="negative"),
        torch_name="Softplus",
        torch_kwargs=lambda p: {"threshold": SOFTPLUS_EXACT_THRESHOLD},
    ),
    Activation(
        name="prelu", title="Parametric ReLU", symbol="PReLU", f_=_leaky, df_=_dleaky,
        formula="PReLU(x) = x if x > 0 else αx  (α learnt)", derivative_formula="PReLU′(x) = 1 if x > 0 else α",
        latex=r"\mathrm{PReLU}(x) = \begin{cases} x & x > 0 \\ \alpha x & x \le 0 \end{cases}",
        latex_derivative=r"\mathrm{PReLU}'(x) = \begin{cases} 1 & x > 0 \\ \alpha & x \le 0 \end{cases}",
        properties=Properties(output_range="(−∞, ∞)", zero_centred=True, monotonic=True, smooth_at_zero=False,
                              saturates="none"),
        torch_name="PReLU",
        params=(Param("alpha", 0.25, "initial negative slope, learnt in training (torch's 0.25)"),),
        torch_kwargs=lambda p: {"init": p["alpha"]},
        learnable=True,
    ),
)

REGISTRY: dict[str, Activation] = {a.name: a for a in _ENTRIES}
NAMES: tuple[str, ...] = tuple(REGISTRY)

# The six the article's experiment compares, in its order.
ARTICLE_ACTIVATIONS = ("sigmoid", "relu", "elu", "leaky-relu", "selu", "gelu-tanh")

# Other spellings a user may type.
ALIASES = {"swish": "silu", "leaky": "leaky-relu", "lrelu": "leaky-relu", "leakyrelu": "leaky-relu",
           "sigmoid-linear": "silu", "gelu-exact": "gelu", "logistic": "sigmoid"}


def get(name: str) -> Activation:
    """The registry entry for `name` (case, '_' and aliases forgiven)."""
    key = name.strip().lower().replace("_", "-")
    key = ALIASES.get(key, key)
    if key in REGISTRY:
        return REGISTRY[key]
    close = difflib.get_close_matches(key, [*NAMES, *ALIASES], n=1, cutoff=0.5)
    suggestions = [ALIASES.get(c, c) for c in close]
    raise UnknownActivationError(name, suggestions, list(NAMES))


def max_approximation_error(approx: Activation, lo: float = -10.0, hi: float = 10.0,
                            points: int = 200_001) -> tuple[float, float]:
    """Largest |approx(x) − exact(x)| on [lo, hi] and the x where it occurs (dense grid)."""
    exact = get(approx.approximates or approx.name)
    x = np.linspace(lo, hi, points)
    err = np.abs(approx.f(x) - exact.f(x))
    i = int(np.argmax(err))
    return float(err[i]), float(x[i])
