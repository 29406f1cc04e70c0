"""The deep MLP's training speed: images/s and achieved GFLOP/s at depth 8 and 32, width 256.

    python benchmarks/mlp_throughput.py [--repeats 5] [--images 8000] [--threads 1]

Each repeat trains one epoch of relu at each depth with actcli's own loop (`train.train`, the same
code `compare --model mlp` runs: data on the device, no per-step sync, fused Adam, bf16 autocast where
native), interleaved so that the machine's noise falls on all. A training step costs 3 × the forward
FLOPs (forward, and two products backward); the forward count is `actcli.mlp.flops_per_image` (the
matrix products: 2·(784·w + (L−1)·w² + 10·w)). The reference, measured in the same run, is a bf16 (or
fp32) matmul of the MLP's own shape: batch 128 × 256 × 256, the best this CPU does on one such product.
Figures are medians.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from actcli import data, train  # noqa: E402
from actcli.config import Config  # noqa: E402
from actcli.mlp import flops_per_image  # noqa: E402
from reference import matmul_gflops  # noqa: E402  (benchmarks/reference.py)

WIDTH = 256
DEPTHS = (8, 32)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--images", type=int, default=8000)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    cfg = train.resolve(Config(dataset="mnist-sample", epochs=1, model="mlp", width=WIDTH, dropout=0.0,
                               device="cpu", threads=args.threads))
    split = data.split(data.load("mnist-sample"), cfg.val_fraction, None, seed=0)
    reps = -(-args.images // len(split.train_y))                 # repeat the sample up to --images
    split.train_x, split.train_y = split.train_x.repeat(reps, 0)[:args.images], split.train_y.repeat(reps)[:args.images]
    on_device = train.DeviceData(split, "cpu")
    speed: dict[int, list[float]] = {d: [] for d in DEPTHS}
    peak = []
    for _ in range(args.repeats):
        peak.append(matmul_gflops(128, WIDTH, WIDTH, torch.bfloat16 if cfg.precision == "bf16" else torch.float32, 1.0))
        for depth in DEPTHS:
            result = train.train("relu", on_device, cfg, seed=0, depth=depth)
            speed[depth].append(result.images_per_second)
    ref = statistics.median(peak)
    print(f"{args.threads} thread(s), {cfg.precision}, {args.images} images, median of {args.repeats}")
    print(f"reference: {cfg.precision} matmul 128×{WIDTH}×{WIDTH}: {ref:,.0f} GFLOP/s")
    print(f"{'depth':>5} {'MFLOP/img (train)':>18} {'images/s':>10} {'GFLOP/s':>8} {'× matmul':>9}")
    for depth in DEPTHS:
        per_image = 3 * flops_per_image(depth, WIDTH)
        ips = statistics.median(speed[depth])
        gflops = ips * per_image / 1e9
        print(f"{depth:>5} {per_image / 1e6:>18.2f} {ips:>10,.0f} {gflops:>8.1f} {gflops / ref:>9.2f}")


if __name__ == "__main__":
    main()
