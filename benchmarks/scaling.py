"""Does the cost of `compare` grow linearly with images × epochs × activations, and memory not at all?

    python benchmarks/scaling.py [--base 2000] [--repeats 3]

Times the training part of actcli's trainer (the sum of its per-epoch seconds) for a base run and
for runs with twice the images, twice the epochs and twice the activations, interleaved, medians;
linear cost means each ratio is ≈ 2. Then it trains one activation for 8 epochs and reads the
process's resident memory (VmRSS) at the end of every epoch: flat means nothing grows per epoch.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from actcli import data, train  # noqa: E402


def rss_mb() -> float:
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def training_seconds(dataset, images: int, epochs: int, activations: tuple[str, ...]) -> float:
    split = data.split(dataset, 0.1, limit=images)
    on_device = train.DeviceData(split, "cpu")
    cfg = train.Config(epochs=epochs, device="cpu", precision="fp32")
    return sum(e.seconds for name in activations for e in train.train(name, on_device, cfg).epochs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", type=int, default=2000, help="training images in the base run")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    dataset = data.load("fashion-mnist", offline=True) if Path("/usr/share/datasets/fashion-mnist").is_dir() \
        else data.load("mnist-sample")
    runs = {"base (N images, 1 epoch, relu)": (args.base, 1, ("relu",)),
            "2× images": (2 * args.base, 1, ("relu",)),
            "2× epochs": (args.base, 2, ("relu",)),
            "2× activations (relu, leaky-relu)": (args.base, 1, ("relu", "leaky-relu"))}
    times = {name: [] for name in runs}
    training_seconds(dataset, 256, 1, ("relu",))  # warm up the kernels once
    for _ in range(args.repeats):
        for name, spec in runs.items():
            times[name].append(training_seconds(dataset, *spec))
    base = statistics.median(times["base (N images, 1 epoch, relu)"])
    print(f"data: {dataset.name}, N = {args.base}; medians of {args.repeats}")
    print(f"{'run':36} {'seconds':>8} {'ratio':>6}")
    for name, ts in times.items():
        print(f"{name:36} {statistics.median(ts):8.2f} {statistics.median(ts) / base:6.2f}")

    split = data.split(dataset, 0.1, limit=args.base)
    readings = []
    cfg = train.Config(epochs=8, device="cpu", precision="fp32")

    def at_epoch_end(p):
        if p.step == p.steps:
            readings.append(rss_mb())

    train.train("relu", train.DeviceData(split, "cpu"), cfg, on_progress=at_epoch_end)
    print("\nresident memory at the end of each epoch (MB): " + ", ".join(f"{r:.0f}" for r in readings))
    print(f"growth from epoch 2 to epoch 8: {readings[-1] - readings[1]:+.1f} MB")


if __name__ == "__main__":
    main()
