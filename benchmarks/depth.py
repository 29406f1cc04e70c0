"""`actcli depth`'s speed: the theory for all twelve built-ins at depth 100, and the measurement for the
article's six × 3 seeds at width 512, depth 50, batch 256; beside a float64 512 × 512 matmul measured in the
same run, so that the figures travel between machines as ratios.

    python benchmarks/depth.py [--repeats 5] [--threads 2]

Targets on the 2-core machine: theory ≤ 1 s, measurement ≤ 10 s. Figures are medians.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from actcli import activations as A  # noqa: E402
from actcli import depthlab  # noqa: E402
from reference import matmul_gflops  # noqa: E402  (benchmarks/reference.py)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    every = [A.get(n) for n in A.NAMES]
    six = [A.get(n) for n in A.ARTICLE_ACTIVATIONS]
    theory, measured, peak = [], [], []
    for _ in range(args.repeats):
        peak.append(matmul_gflops(256, 512, 512, torch.float64))
        t0 = time.perf_counter()
        depthlab.study(every, depth=100, measure=False)
        theory.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        depthlab.study(six, depth=50, width=512, batch=256, seeds=(0, 1, 2))
        measured.append(time.perf_counter() - t0)
    # the measurement's FLOPs: forward and backward (3 products a layer) for 18 networks, the probe of f′ aside
    flops = 18 * 3 * 2 * 256 * (784 * 512 + 49 * 512 * 512 + 512 * 10)
    ref = statistics.median(peak)
    t, m = statistics.median(theory), statistics.median(measured)
    print(f"{args.threads} torch threads, median of {args.repeats}")
    print(f"reference: float64 matmul 256×512×512: {ref:.1f} GFLOP/s")
    print(f"theory, 12 built-ins, depth 100:       {t:.3f} s   (target ≤ 1 s)")
    print(f"measured, 6 × 3 seeds, 512/50/256:     {m:.3f} s   (target ≤ 10 s): {flops / m / 1e9:.1f} GFLOP/s, "
          f"{flops / m / 1e9 / ref:.2f} × the matmul")


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
