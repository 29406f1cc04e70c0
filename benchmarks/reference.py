"""The reference the benchmarks measure in the same run: a matmul's GFLOP/s, so that their figures are ratios."""

from __future__ import annotations

import time

import torch


def matmul_gflops(m: int, k: int, n: int, dtype: torch.dtype, seconds: float = 0.5) -> float:
    """GFLOP/s of an m×k by k×n product in `dtype`, on the current torch threads, after a warm-up."""
    a, b = torch.randn(m, k, dtype=dtype), torch.randn(k, n, dtype=dtype)
    for _ in range(20):
        a @ b
    count, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        for _ in range(20):
            a @ b
        count += 20
    return 2 * m * k * n * count / (time.perf_counter() - t0) / 1e9
