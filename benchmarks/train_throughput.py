"""actcli's trainer against the textbook PyTorch loop, on the same images, interleaved in one run.

    python benchmarks/train_throughput.py [--images 12000] [--epochs 1] [--repeats 3] [--device cpu]
    python benchmarks/train_throughput.py --against REV [--activation relu] [--threads 1] [--repeats 5]

The reference is pytorch/examples `mnist/main.py` as a user would write it: a Dataset that turns
one image at a time into a normalised float tensor, a shuffling DataLoader, fp32, eager, the loss
read with .item() every 10 batches for the log. To compare loops and not recipes, it trains the
same network with the same optimiser as actcli (Adam 1e-3, clip by value 0.5, batch 128, the same
images, epochs and dropout rates). It keeps the example's input normalisation and torch's default
initialisation (actcli: x/255 and glorot-uniform, as the article); otherwise only the engineering
differs. Each repeat trains both from scratch, one after the other, so the machine's noise falls
on both; figures are medians.
Achieved GFLOP/s is set against a matmul measured in the same run.

With --against REV it measures the cost of a change instead: actcli's trainer as it was at the git
revision REV (checked out in a temporary worktree, imported under another package name) against this
tree's, in one process on the same images, in alternating order, with the default precision and
--threads threads (compare's default per task: 1). Training images/s counts the training loop only;
the task's wall time adds what runs once per epoch (validation, the layer probe).
"""

from __future__ import annotations

import argparse
import importlib
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from actcli import data, train  # noqa: E402


# ---- the reference: pytorch/examples mnist/main.py ---------------------------------------------

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, 1)
        self.conv2 = nn.Conv2d(32, 64, 3, 1)
        self.dropout1 = nn.Dropout(0.25)
        self.dropout2 = nn.Dropout(0.5)
        self.fc1 = nn.Linear(9216, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = F.relu(self.conv1(x))
        x = F.relu(self.conv2(x))
        x = self.dropout1(F.max_pool2d(x, 2))
        x = self.dropout2(F.relu(self.fc1(torch.flatten(x, 1))))
        return F.log_softmax(self.fc2(x), dim=1)


class ImageDataset(torch.utils.data.Dataset):
    """One image at a time: uint8 → float → /255 → normalise, as ToTensor() + Normalize() do."""

    def __init__(self, x, y):
        self.x, self.y = x, y

    def __len__(self):
        return len(self.y)

    def __getitem__(self, i):
        img = torch.from_numpy(np.array(self.x[i], dtype=np.float32) / 255.0).unsqueeze(0)
        return (img - 0.1307) / 0.3081, int(self.y[i])


def reference_run(split, epochs: int, device: str, seed: int) -> tuple[float, float]:
    torch.manual_seed(seed)
    model = Net().to(device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loader = torch.utils.data.DataLoader(ImageDataset(split.train_x, split.train_y), batch_size=128, shuffle=True)
    seconds = 0.0
    for _ in range(epochs):
        model.train()
        t0 = time.perf_counter()
        for i, (x, y) in enumerate(loader):
            x, y = x.to(device), y.to(device)
            opt.zero_grad()
            loss = F.nll_loss(model(x), y)
            loss.backward()
            torch.nn.utils.clip_grad_value_(model.parameters(), 0.5)
            opt.step()
            if i % 10 == 0:
                loss.item()  # the example logs here
        if device == "cuda":
            torch.cuda.synchronize()
        seconds += time.perf_counter() - t0
    model.eval()
    correct = 0
    test = torch.utils.data.DataLoader(ImageDataset(split.test_x, split.test_y), batch_size=1000)
    with torch.no_grad():
        for x, y in test:
            correct += (model(x.to(device)).argmax(1) == y.to(device)).sum().item()
    return len(split.train_y) * epochs / seconds, correct / len(split.test_y)


def actcli_run(split, epochs: int, device: str, seed: int, precision: str) -> tuple[float, float]:
    cfg = train.Config(epochs=epochs, device=device, precision=precision)
    result = train.train("relu", train.DeviceData(split, device), cfg, seed)
    seconds = sum(e.seconds for e in result.epochs)
    return len(split.train_y) * epochs / seconds, result.test_accuracy


# ---- a change's cost: the trainer at another git revision, in this process ------------------------

ROOT = Path(__file__).resolve().parent.parent


def against(rev: str, args, dataset: str) -> None:
    """Train with REV's trainer and this tree's in turns (ABBA), in one process, on the same images."""
    split = data.split(data.load(dataset, offline=True), 0.1, limit=args.images)
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp) / "tree"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(tree), rev], check=True)
        try:
            # the package uses relative imports only, so REV's copy imports as a package of another name
            (Path(tmp) / "actcli_at_rev").symlink_to(tree / "actcli")
            sys.path.insert(0, tmp)
            trainers = {f"actcli at {rev}": importlib.import_module("actcli_at_rev.train"),
                        "actcli (this tree)": train}
            runs: dict[str, list[dict]] = {name: [] for name in trainers}
            for r in range(args.repeats):
                for name in list(trainers)[::1 if r % 2 == 0 else -1]:   # ABBA: no order bias
                    t = trainers[name]
                    cfg = t.resolve(t.Config(epochs=args.epochs, device=args.device))
                    result = t.train(args.activation, t.DeviceData(split, args.device), cfg, r)
                    m = {"ips": len(split.train_y) * args.epochs / sum(e.seconds for e in result.epochs),
                         "wall": result.seconds, "accuracy": result.test_accuracy}
                    runs[name].append(m)
                    print(f"  repeat {r + 1}: {name:24} {m['ips']:7.0f} train img/s  task {m['wall']:6.2f} s  "
                          f"test accuracy {100 * m['accuracy']:.2f}%", flush=True)
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], check=True)
    ref = {k: statistics.median(m[k] for m in next(iter(runs.values()))) for k in ("ips", "wall")}
    print(f"\n{'trainer':26} {'train img/s':>11} {'× ref':>6} {'task s':>7} {'× ref':>6}   "
          f"(medians, {args.activation}, {args.threads} thread{'s' * (args.threads > 1)})")
    for name, ms in runs.items():
        ips, wall = statistics.median(m["ips"] for m in ms), statistics.median(m["wall"] for m in ms)
        print(f"{name:26} {ips:11.0f} {ips / ref['ips']:6.3f} {wall:7.2f} {wall / ref['wall']:6.3f}")
    old, new = runs.values()
    paired = sorted(b["ips"] / a["ips"] for a, b in zip(old, new, strict=True))
    print(f"train img/s of this tree over {rev}'s, repeat by repeat: median {statistics.median(paired):.3f} "
          f"(from {paired[0]:.3f} to {paired[-1]:.3f})")


# ---- the machine's own reference point --------------------------------------------------------

def matmul_gflops(device: str, dtype=torch.float32, n: int = 2048, repeats: int = 10) -> float:
    a, b = torch.randn(n, n, device=device, dtype=dtype), torch.randn(n, n, device=device, dtype=dtype)
    times = []
    for _ in range(repeats + 2):
        if device == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        a @ b
        if device == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    return 2 * n ** 3 / statistics.median(times[2:]) / 1e9


def training_flops_per_image() -> float:
    """Forward multiply-adds of the CNN ×2, then ×3 for forward + backward (input and weight grads)."""
    conv1 = 26 * 26 * 32 * (1 * 9)
    conv2 = 24 * 24 * 64 * (32 * 9)
    dense = 9216 * 128 + 128 * 10
    return 3 * 2 * (conv1 + conv2 + dense)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=12_000)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--against", metavar="REV", help="the cost of a change: actcli at git revision REV "
                        "against this tree")
    parser.add_argument("--activation", default="relu", help="with --against: the activation trained")
    parser.add_argument("--threads", type=int, default=1, help="with --against: torch threads (compare's "
                        "default per task is 1)")
    args = parser.parse_args()

    fashion = Path("/usr/share/datasets/fashion-mnist").is_dir()
    if args.against:
        return against(args.against, args, "fashion-mnist" if fashion else "mnist-sample")
    dataset = data.load("fashion-mnist", offline=True) if fashion else data.load("mnist-sample")
    split = data.split(dataset, 0.1, limit=args.images)
    default_precision = train.resolve_precision("auto", args.device)
    print(f"data: {dataset.name} ({dataset.source}), {len(split.train_y)} training images, "
          f"{len(split.test_y)} test; device {args.device}; torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads; default precision here: {default_precision}")
    runs = {"reference (pytorch/examples loop, fp32)": lambda s: reference_run(split, args.epochs, args.device, s),
            "actcli --precision fp32": lambda s: actcli_run(split, args.epochs, args.device, s, "fp32")}
    if default_precision != "fp32":
        runs[f"actcli default ({default_precision})"] = \
            lambda s: actcli_run(split, args.epochs, args.device, s, default_precision)
    speed = {name: [] for name in runs}
    accuracy = {name: [] for name in runs}
    gflops = []
    for r in range(args.repeats):
        gflops.append(matmul_gflops(args.device))
        for name, fn in runs.items():
            ips, acc = fn(r)
            speed[name].append(ips)
            accuracy[name].append(acc)
            print(f"  repeat {r + 1}: {name:42} {ips:7.0f} img/s  test accuracy {100 * acc:.2f}%", flush=True)
    peak = statistics.median(gflops)
    flops = training_flops_per_image()
    ref = statistics.median(next(iter(speed.values())))
    print(f"\nfp32 matmul in this run: {peak:.0f} GFLOP/s; the CNN costs {flops / 1e6:.1f} MFLOP per training "
          f"image, so the fp32 limit is {peak * 1e9 / flops:,.0f} img/s")
    print(f"{'loop':44} {'img/s':>7} {'× ref':>6} {'GFLOP/s':>8} {'of limit':>8} {'test acc':>9}")
    for name in runs:
        ips = statistics.median(speed[name])
        print(f"{name:44} {ips:7.0f} {ips / ref:6.2f} {ips * flops / 1e9:8.0f} {ips * flops / (peak * 1e9):8.0%} "
              f"{100 * statistics.median(accuracy[name]):8.2f}%")


if __name__ == "__main__":
    main()
