"""A single-task run with `--threads auto` (the default) against `--threads 1` (the default before it).

    python benchmarks/threads_auto.py [--repeats 3] [--limit 20000] [--dataset fashion-mnist] [--activation relu]

Each measurement is a fresh `actcli compare --activations relu --epochs 1 --jobs auto` process into a
fresh folder: one task, so `auto` gives it every core (cores ÷ 1 task). The two settings alternate in ABBA
order within the one run, so that the machine's noise falls on both; the figures are medians of the
training images/s (the training loop, as the result records it) and of the wall time of the whole command,
and the ratio is auto ÷ 1 thread. The thread count auto chose is read back from the run's config.json.
On a shared machine a multi-thread process slows down several times whenever another process holds a
core: repeat, and read the spread as well as the medians.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ACTCLI = [sys.executable, "-m", "actcli"]
ROOT = Path(__file__).resolve().parent.parent


def once(threads: str | None, args: argparse.Namespace) -> dict:
    out = tempfile.mkdtemp(prefix="actcli-threads-")
    try:
        cmd = [*ACTCLI, "compare", "--activations", args.activation, "--epochs", "1", "--dataset", args.dataset,
               "--limit", str(args.limit), "-o", out, "--json", "-q", *(["--threads", threads] if threads else [])]
        t = time.perf_counter()
        done = subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=ROOT)
        wall = time.perf_counter() - t
        doc = json.loads(done.stdout)
        epoch = doc["results"][0]["epochs"][0]
        return {"images_per_second": epoch["images_per_second"], "wall": wall, "threads": doc["config"]["threads"]}
    finally:
        shutil.rmtree(out, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="ABBA pairs (each setting runs 2 × this)")
    parser.add_argument("--limit", type=int, default=20000, help="training images")
    parser.add_argument("--dataset", default="fashion-mnist")
    parser.add_argument("--activation", default="relu")
    args = parser.parse_args()
    runs: dict[str, list[dict]] = {"auto": [], "1": []}
    for _ in range(args.repeats):
        for setting in ("auto", "1", "1", "auto"):
            runs[setting].append(once(None if setting == "auto" else "1", args))
            r = runs[setting][-1]
            print(f"  --threads {setting:4} ({r['threads']} used): {r['images_per_second']:8,.0f} img/s  "
                  f"{r['wall']:5.1f} s wall", file=sys.stderr)
    med = {s: {k: statistics.median(r[k] for r in rs) for k in ("images_per_second", "wall")} for s, rs in runs.items()}
    span = {s: (min(r["images_per_second"] for r in rs), max(r["images_per_second"] for r in rs))
            for s, rs in runs.items()}
    print(f"{args.activation}, 1 epoch of {args.limit:,} {args.dataset} images, {2 * args.repeats} runs each (ABBA):")
    print("| setting | threads used | training img/s (median) | range | wall s (median) |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for s in ("1", "auto"):
        used = sorted({r["threads"] for r in runs[s]})
        print(f"| `--threads {s}` | {', '.join(map(str, used))} | {med[s]['images_per_second']:,.0f} | "
              f"{span[s][0]:,.0f}–{span[s][1]:,.0f} | {med[s]['wall']:.1f} |")
    print(f"auto ÷ 1 thread: {med['auto']['images_per_second'] / med['1']['images_per_second']:.2f}× images/s, "
          f"{med['1']['wall'] / med['auto']['wall']:.2f}× faster wall")


if __name__ == "__main__":
    main()
