"""`actcli depth`'s experiment: for each activation, mean-field theory (actcli.theory) and, unless only the
theory is asked for, the network measured at initialisation over seeds (actcli.propagation, torch, imported
only then). The core returns one document; the command renders it."""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from . import theory
from .activations import Activation
from .errors import ParameterError

MAX_DEPTH, MAX_WIDTH, MAX_BATCH = 10_000, 16_384, 60_000
VANISHED = 1e-8           # a layer whose gradient is below this fraction of the last layer's has lost it


def images(dataset: str, batch: int, data_dir=None, notice=None) -> tuple[np.ndarray, np.ndarray, str]:
    """The first `batch` training images (x/255, flattened) and labels, as `compare` splits the data (never
    downloading: `notice` is told when the bundled sample stands in)."""
    from . import data

    loaded = data.load(dataset, data_dir, offline=True, notice=notice)
    split = data.split(loaded, 0.1, None, seed=0)
    if batch > len(split.train_y):
        raise ParameterError(f"batch {batch} is more than the {len(split.train_y):,} training images of "
                             f"{loaded.name}", "batch")
    x = split.train_x[:batch].reshape(batch, -1).astype(np.float64) / 255.0
    return x, split.train_y[:batch].astype(np.int64), loaded.source


def ratio(first: float, last: float) -> float:
    """first / last; nan where the output layer's gradient is exactly 0 (the signal died on the way up: some
    layer's every unit dead, or underflowed, for every image), where no ratio means anything."""
    return first / last if last != 0 else math.nan


def first_vanished(gradient: Sequence[float]) -> int | None:
    """The first weight layer (1-based) whose gradient is below VANISHED of the last layer's; None if none.
    Where the last layer's own gradient is exactly 0 (a dead network) nothing compares with it: the first
    layer whose gradient is exactly 0 (at the latest the output layer) has certainly lost it."""
    last = gradient[-1]
    if last == 0:
        return next(i for i, g in enumerate(gradient, start=1) if g == 0)
    for i, g in enumerate(gradient, start=1):
        if not (g >= VANISHED * last):
            return i
    return None


def study(acts: Sequence[Activation], depth: int = 50, width: int = 512, init: str = "glorot",
          sigma_w2: float | None = None, sigma_b2: float | None = None, batch: int = 256,
          dataset: str = "mnist-sample", seeds: Sequence[int] = (0, 1, 2), measure: bool = True,
          data_dir=None, notice=None) -> dict:
    """Theory, and the measurement over `seeds`, for each activation: the document `actcli depth` prints."""
    _bounds(depth, width, batch, measure)
    if sigma_w2 is not None and not (math.isfinite(sigma_w2) and sigma_w2 > 0):
        raise ParameterError(f"sigma_w2 must be a finite number > 0, not {sigma_w2}", "sigma_w2")
    if sigma_b2 is not None and not (math.isfinite(sigma_b2) and sigma_b2 >= 0):
        raise ParameterError(f"sigma_b2 must be a finite number ≥ 0, not {sigma_b2}", "sigma_b2")
    x, y, source = images(dataset, batch, data_dir, notice)
    q1_input = float(np.mean(x ** 2))
    input_norm2 = float(np.mean(np.sum(x ** 2, axis=1)))
    rows = []
    for act in acts:
        scheme = theory.scheme(init, act, depth, width, sigma_w2=sigma_w2, sigma_b2=sigma_b2)
        th = theory.predict(act, depth, scheme.sigma_w2, scheme.sigma_b2, q1_input, input_norm2, width)
        row = {"activation": act.name, "init": scheme.name, "theory": th.to_dict(),
               "theory_ratio": th.gradient[0], "theory_first_vanished": first_vanished(th.gradient)}
        if measure:
            from . import propagation

            runs = [propagation.measure(act, scheme, x, y, depth, width, s) for s in seeds]
            m = propagation.summary(runs)
            ratios = [ratio(r.gradient[0], r.gradient[-1]) for r in runs]
            with np.errstate(all="ignore"):
                row |= {"measured": m, "seeds": [r.to_dict() for r in runs],
                        "measured_ratio": float(np.exp(np.mean(np.log(ratios)))),
                        "measured_ratio_low": min(ratios), "measured_ratio_high": max(ratios),
                        "measured_first_vanished": first_vanished(m["gradient"])}
        rows.append(row)
    return {"network": {"depth": depth, "width": width, "init": init, "sigma_w2": sigma_w2, "sigma_b2": sigma_b2,
                        "batch": batch, "dataset": dataset, "source": source, "seeds": list(seeds) if measure else [],
                        "q1_input": q1_input, "input_norm2": input_norm2},
            "activations": rows}


def _bounds(depth: int, width: int, batch: int, measure: bool) -> None:
    if not 1 <= depth <= MAX_DEPTH:
        raise ParameterError(f"depth {depth} is outside 1..{MAX_DEPTH:,}", "depth")
    if not 1 <= width <= MAX_WIDTH:
        raise ParameterError(f"width {width} is outside 1..{MAX_WIDTH:,}", "width")
    if not 1 <= batch <= MAX_BATCH:
        raise ParameterError(f"batch {batch} is outside 1..{MAX_BATCH:,}", "batch")
    if measure:
        from .machine import refuse_unless_it_fits

        # float64 weights and their gradients, and each layer's z, a and f′ probe for the batch
        need = 8 * (2 * (784 * width + (depth - 1) * width * width + 10 * width) + 4 * batch * width * depth)
        refuse_unless_it_fits(need, f"a network of depth {depth} and width {width}, measured in float64,", "width",
                              " (--theory-only needs none)")


def phase(act: Activation, points: int = 25) -> dict:
    """χ₁ over σ_w² ∈ [0.1, 5] × σ_b² ∈ [0, 2], with the critical line: the phase diagram."""
    sw = np.linspace(0.1, 5.0, points)
    sb = np.linspace(0.0, 2.0, points)
    grid = theory.phase_grid(act, sw, sb)
    critical = []
    for b2 in sb:
        try:
            critical.append(theory.critical_point(act, float(b2), bounds=(0.05, 20.0)))
        except ParameterError:
            critical.append(None)
    return {"activation": act.name, "sigma_w2": sw.tolist(), "sigma_b2": sb.tolist(), "chi1": grid.tolist(),
            "critical_sigma_w2": critical}
