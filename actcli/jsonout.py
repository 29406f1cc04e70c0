"""JSON for scripts: one strict document (RFC 8259), whatever the numbers are.

JSON has no inf or NaN, so non-finite floats travel as the strings "inf", "-inf" and "nan";
numpy scalars and arrays become plain numbers and lists.
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
from typing import Any

import numpy as np


def jsonable(obj: Any) -> Any:
    """`obj` with numpy values, dataclasses, paths and non-finite floats made JSON-safe."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return jsonable(obj.tolist())
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        x = float(obj)
        if math.isfinite(x):
            return x
        return "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return jsonable(dataclasses.asdict(obj))
    if isinstance(obj, Path):
        return str(obj)
    return obj


def dumps(obj: Any, indent: int | None = 2) -> str:
    return json.dumps(jsonable(obj), indent=indent, ensure_ascii=False, allow_nan=False)


NON_FINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


def revive(obj: Any) -> Any:
    """The inverse of `jsonable` for numbers: the strings "nan", "inf" and "-inf" become floats again."""
    if isinstance(obj, dict):
        return {k: revive(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [revive(v) for v in obj]
    if isinstance(obj, str):
        return NON_FINITE.get(obj, obj)
    return obj
