"""Wall time of the light commands, against a bare `python -c pass` measured in the same run.

    python benchmarks/startup.py [--repeats 15]

Each command runs as a fresh process (as a user types it), interleaved with the others so that
the machine's noise hits them alike; the figure is the median. Targets on the 2-core machine:
`actcli --help` ≤ 0.3 s, `actcli derive gelu` ≤ 0.5 s, `chain` and `clip` ≤ 0.4 s, `derive` of a
formula ≤ 1.0 s. `report` of the committed 30-result folder (figures included) is measured beside them.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

RUNS = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "docs", "runs")
ACTCLI = [sys.executable, "-m", "actcli"] if not shutil.which("actcli") else [shutil.which("actcli")]

COMMANDS = {
    "python -c pass (reference)": [sys.executable, "-c", "pass"],
    "actcli --help": [*ACTCLI, "--help"],
    "actcli list": [*ACTCLI, "list"],
    "actcli derive gelu": [*ACTCLI, "derive", "gelu"],
    "actcli chain --weights 100": [*ACTCLI, "chain", "--weights", "100"],
    "actcli clip": [*ACTCLI, "clip"],
    "actcli report (30 results)": [*ACTCLI, "report", os.path.join(RUNS, "mnist-sample-5ep"), "--json",
                                   "-o", os.path.join(tempfile.gettempdir(), "bench-report")],
    "actcli plot gelu": [*ACTCLI, "plot", "gelu", "-o", os.path.join(tempfile.gettempdir(), "bench-gelu.png")],
    "actcli derive gelu --check": [*ACTCLI, "derive", "gelu", "--check"],
    "actcli derive 'x*tanh(softplus(x))' (imports sympy)": [*ACTCLI, "derive", "x*tanh(softplus(x))"],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    times: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for cmd in COMMANDS.values():  # warm the page cache once
        subprocess.run(cmd, stdout=subprocess.DEVNULL, check=True)
    for _ in range(args.repeats):
        for name, cmd in COMMANDS.items():
            t0 = time.perf_counter()
            subprocess.run(cmd, stdout=subprocess.DEVNULL, check=True)
            times[name].append(time.perf_counter() - t0)
    ref = statistics.median(times["python -c pass (reference)"])
    print(f"{'command':32} {'median s':>9} {'min s':>7} {'× python':>9}")
    for name, ts in times.items():
        med = statistics.median(ts)
        print(f"{name:32} {med:9.3f} {min(ts):7.3f} {med / ref:9.1f}")


if __name__ == "__main__":
    main()
