"""sympy, loaded on first use: the symbol x, sigmoid and softplus as functions of their own, and the
printers (the canonical text in the formula grammar, Unicode for people, LaTeX)."""

from __future__ import annotations

import functools
import re


@functools.lru_cache(maxsize=None)
def sym():
    """sympy and what this module adds to it, made on first use (importing sympy takes ~0.2 s)."""
    import types

    import sympy
    from sympy.printing.latex import LatexPrinter
    from sympy.printing.str import StrPrinter

    x = sympy.Symbol("x", real=True)

    class sigmoid(sympy.Function):
        """σ(a) = 1/(1 + e⁻ᵃ), kept whole: σ′ = σ(a)·σ(−a) does not cancel, and numpy gets the stable σ."""

        @classmethod
        def eval(cls, a):
            if a.is_zero:
                return sympy.Rational(1, 2)
            if a is sympy.oo:
                return sympy.Integer(1)
            if a is -sympy.oo:
                return sympy.Integer(0)
            return None

        def fdiff(self, argindex=1):
            a = self.args[0]
            return sigmoid(a) * sigmoid(-a)

        def _eval_is_extended_real(self):
            return self.args[0].is_extended_real

        def _eval_is_positive(self):
            return True if self.args[0].is_extended_real else None

        def _eval_is_finite(self):
            return True if self.args[0].is_extended_real else None

        def _eval_rewrite_as_exp(self, a, **kwargs):
            return 1 / (1 + sympy.exp(-a))

        def _eval_evalf(self, prec):  # so that sympy can compare σ(c) with a number (max, where)
            return (1 / (1 + sympy.exp(-self.args[0])))._eval_evalf(prec)

        def _latex(self, printer, exp=None):
            s = r"\sigma\left(%s\right)" % printer._print(self.args[0])
            return s if exp is None else r"\sigma^{%s}\left(%s\right)" % (exp, printer._print(self.args[0]))

    class softplus(sympy.Function):
        """ln(1 + eᵃ), kept whole: softplus′ = σ, and numpy gets max(a, 0) + log1p(e^(−|a|))."""

        @classmethod
        def eval(cls, a):
            if a.is_zero:
                return sympy.log(2)
            if a is sympy.oo:
                return sympy.oo
            if a is -sympy.oo:
                return sympy.Integer(0)
            return None

        def fdiff(self, argindex=1):
            return sigmoid(self.args[0])

        def _eval_is_extended_real(self):
            return self.args[0].is_extended_real

        def _eval_is_positive(self):
            return True if self.args[0].is_extended_real else None

        def _eval_is_finite(self):
            return self.args[0].is_finite

        def _eval_rewrite_as_log(self, a, **kwargs):
            return sympy.log(1 + sympy.exp(a))

        def _eval_evalf(self, prec):
            return sympy.log(1 + sympy.exp(self.args[0]))._eval_evalf(prec)

        def _latex(self, printer, exp=None):
            name = r"\operatorname{softplus}" + ("" if exp is None else "^{%s}" % exp)
            return r"%s\left(%s\right)" % (name, printer._print(self.args[0]))

    class Printer(StrPrinter):
        """str() in this module's grammar, so that the canonical text parses back to the same expression."""

        def _print_Float(self, e):
            return repr(float(e))

        def _print_Abs(self, e):
            return f"abs({self._print(e.args[0])})"

        def _print_Max(self, e):
            return f"max({', '.join(self._print(a) for a in e.args)})"

        def _print_Min(self, e):
            return f"min({', '.join(self._print(a) for a in e.args)})"

        def _print_Exp1(self, e):
            return "e"

        def _print_Heaviside(self, e):
            a = self._print(e.args[0])
            h0 = e.args[1] if len(e.args) > 1 else sympy.Rational(1, 2)
            if h0 == 0:
                return f"where({a} > 0, 1, 0)"
            return f"where({a} > 0, 1, where({a} < 0, 0, {self._print(h0)}))"

        def _print_Piecewise(self, e):
            pieces = list(e.args)
            last_expr, last_cond = pieces[-1]
            rest = self._print(last_expr) if last_cond == sympy.true else "nan"
            for expr, cond in reversed(pieces[:-1] if last_cond == sympy.true else pieces):
                rest = f"where({self._print(cond)}, {self._print(expr)}, {rest})"
            return rest

    class Latex(LatexPrinter):
        def _print_Heaviside(self, e, exp=None):
            s = r"\theta\left(%s\right)" % self._print(e.args[0])
            return s if exp is None else r"%s^{%s}" % (s, exp)

    return types.SimpleNamespace(sympy=sympy, x=x, sigmoid=sigmoid, softplus=softplus,
                                 printer=Printer(), latex=Latex())


def canonical(expr) -> str:
    """The formula as text in this module's grammar (parse(canonical(e)) gives e back)."""
    return sym().printer.doprint(expr)


_SUPERSCRIPTS = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


def pretty(expr) -> str:
    """One line for people: x·σ(x), x², π, −, ≤."""
    s = canonical(expr)
    s = re.sub(r"\*\*(\d+)\b(?!\.)", lambda m: m.group(1).translate(_SUPERSCRIPTS), s)
    s = s.replace("**", "^").replace("*", "·").replace("<=", "≤").replace(">=", "≥").replace("-", "−")
    s = re.sub(r"\bsigmoid\(", "σ(", s)
    s = re.sub(r"\bsqrt\(", "√(", s)
    return re.sub(r"\bpi\b", "π", s)
