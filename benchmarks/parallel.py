"""Wall time of the article's experiment run one task after another, in worker processes, and on Ray.

    python benchmarks/parallel.py [--repeats 3] [--epochs 5] [--no-ray] [--device cuda] [--dataset fashion-mnist]

Each configuration is a fresh `actcli compare --epochs 5 --dataset mnist-sample` process into a fresh
folder (start-up, data, training, summaries and figures all counted), interleaved with the others so
that the machine's noise hits them alike; the figures are medians, and the ratios are against
`--jobs 1 --threads 2` (one process on all the cores, as before `--jobs` existed) in the same run.
`--ray` starts a local Ray instance inside the command, so its overhead (start, object store,
shutdown) is in its wall time; it is also measured on its own:
`ray.init` + one `ray.put` + `ray.shutdown` in a fresh process.
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

ACTCLI = [shutil.which("actcli")] if shutil.which("actcli") else [sys.executable, "-m", "actcli"]


def wall(args: list[str]) -> tuple[float, dict]:
    out = tempfile.mkdtemp(prefix="actcli-bench-")
    try:
        t = time.perf_counter()
        done = subprocess.run([*ACTCLI, "compare", *args, "-o", out, "--json", "-q"], capture_output=True,
                              text=True, check=True)
        seconds = time.perf_counter() - t
        return seconds, json.loads(done.stdout)["run"]["execution"]
    finally:
        shutil.rmtree(out, ignore_errors=True)


def ray_overhead() -> float:
    code = ("import time, ray; t = time.perf_counter(); ray.init(include_dashboard=False, log_to_driver=False); "
            "ray.get(ray.put(0)); ray.shutdown(); print(time.perf_counter() - t)")
    return float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
                 .stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--no-ray", action="store_true", help="skip the Ray configuration")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--dataset", default="mnist-sample")
    args = parser.parse_args()
    base = ["--epochs", str(args.epochs), "--dataset", args.dataset, "--device", args.device]
    # --jobs 1 --threads 2 is one process using both cores (what compare did before --jobs); --jobs 1 alone is
    # the same tasks one after another with the default 1 thread; --jobs auto runs 2 of those side by side
    configs = {"--jobs 1 --threads 2": [*base, "--jobs", "1", "--threads", "2"],
               "--jobs 1": [*base, "--jobs", "1"], "--jobs auto": [*base, "--jobs", "auto"]}
    if not args.no_ray:
        configs["--ray (local)"] = [*base, "--ray"]
    times: dict[str, list[float]] = {name: [] for name in configs}
    how: dict[str, dict] = {}
    for _ in range(args.repeats):
        for name, cfg in configs.items():
            seconds, how[name] = wall(cfg)
            times[name].append(seconds)
    reference = statistics.median(times["--jobs 1 --threads 2"])
    print(f"actcli compare {' '.join(base)}: 6 activations, wall seconds, medians of {args.repeats}")
    print(f"{'configuration':22} {'median s':>9} {'speed-up':>9}  runs                execution")
    for name, ts in times.items():
        m = statistics.median(ts)
        print(f"{name:22} {m:9.1f} {reference / m:8.2f}×  {' '.join(f'{t:.1f}' for t in ts):18}  {how[name]}")
    if not args.no_ray:
        overheads = [ray_overhead() for _ in range(args.repeats)]
        print(f"ray.init + put + shutdown alone: median {statistics.median(overheads):.1f} s "
              f"({' '.join(f'{t:.1f}' for t in overheads)})")


if __name__ == "__main__":
    main()
