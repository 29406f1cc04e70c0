"""What a field of a run folder's file may hold, written where the field is declared and checked whenever
the file is read back: `Range`, the values a number may take, on its annotation
(`Annotated[float, Range(0, 1)]`); and, in the field's metadata, whether the file may lack it
(`OPTIONAL`: written only when there is one; `since(N)`: written from run-folder schema N on). A record
whose fields must agree with each other says how in a `consistent(fields)` that raises `FieldProblem`.

This module imports nothing heavy: pydantic (actcli.experiment.schema) asks a `Range` for its check
through `__get_pydantic_core_schema__` only when it builds a file's schema.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Annotated

# How JSON carries the non-finite floats (actcli.jsonout writes them so).
NON_FINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


@dataclass(frozen=True)
class Range:
    """low ≤ x ≤ high (either may be None; low < x where `above`), and x finite unless `finite` is False."""

    low: float | None = None
    high: float | None = None
    finite: bool = True
    above: bool = False

    def check(self, x):
        if isinstance(x, float) and not math.isfinite(x):
            if self.finite:
                raise ValueError(f"expected a finite number, got {x}")
            if math.isnan(x):
                return x
        if (self.low is not None and (x <= self.low if self.above else x < self.low)) or (
                self.high is not None and x > self.high):
            raise ValueError(f"expected a number {self.describe()}, got {x!r}")
        return x

    def describe(self) -> str:
        low, high = (f"{b:g}" if isinstance(b, float) else str(b) for b in (self.low, self.high))
        if self.high is None:
            return f"{'>' if self.above else '≥'} {low}"
        if self.low is None:
            return f"≤ {high}"
        return f"in [{low}, {high}]"

    @staticmethod
    def revive(x):
        """The strings "nan", "inf" and "-inf" as the floats they stand for (only where a number belongs)."""
        return NON_FINITE.get(x, x) if isinstance(x, str) else x

    def __get_pydantic_core_schema__(self, source, handler):
        from pydantic_core import core_schema

        inner = core_schema.no_info_after_validator_function(self.check, handler(source))
        if source is int:
            return inner
        return core_schema.no_info_before_validator_function(self.revive, inner)


Count = Annotated[int, Range(0)]          # a number of things
Positive = Annotated[int, Range(1)]       # an epoch number, a thread count, a batch size
NonNegative = Annotated[float, Range(0)]  # a duration, a threshold
LearningRate = Annotated[float, Range(0, above=True)]


class FieldProblem(ValueError):
    """A record's fields that disagree, raised by its `consistent` check: `field` is the one named."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


# Field metadata (dataclasses.field(metadata=…)); read by actcli.experiment.schema.
OPTIONAL = {"optional": True}   # absent from a file where there is none (a task's depth where depth is no axis)


def since(version: int) -> dict:
    """A field written from run-folder schema `version` on: a folder of an older schema may lack it, and
    then holds its default (the field was added after the folder was written)."""
    return {"since": version}
