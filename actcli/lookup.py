"""An activation by what a user types: a registry name, a name given to a formula, or a formula itself.

It sits above both the registry (`activations`) and the formula package, so that neither imports the
other's way up; registry names never load sympy.
"""

from __future__ import annotations

from typing import Mapping

from .activations import Activation, get
from .errors import UnknownActivationError


def resolve(text: str, definitions: Mapping[str, str] | None = None) -> Activation:
    """A registry name, a name given to a formula in `definitions` ({name: formula}), or a formula
    in x itself ("x*tanh(softplus(x))")."""
    definitions = definitions or {}
    key = text.strip()
    if key in definitions:
        from .formula import from_formula

        return from_formula(definitions[key], name=key)
    try:
        return get(key)
    except UnknownActivationError:
        from .formula import from_formula, looks_like_formula

        if not looks_like_formula(key):
            raise
        return from_formula(key)


def split_top_level(text: str, sep: str = ",") -> list[str]:
    """`text` split at the `sep`s outside brackets: 'relu,max(0.1*x, x)' → ['relu', 'max(0.1*x, x)']."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth = max(depth - 1, 0)
        elif ch == sep and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return parts
