"""What a worker process receives and holds: the split pickled into each (before) against one shared block
that each maps (actcli.shared, now). Bytes, not time: it can run on a busy machine.

    python benchmarks/shared_data.py [--dataset fashion-mnist] [--workers 2]

For each way, `--workers` spawned processes each set up as a compare worker on the CPU does (the data on
the device: DeviceData) and report their memory from /proc/self/smaps_rollup: Rss (pages mapped), Pss (each
shared page divided among the processes that map it) and private (pages only this process has). "Before" is
the old worker exactly: the pickled split as its argument, and DeviceData's copy of every array
(torch.tensor); "now" is the shared block and today's DeviceData, which uses a writable array where it lies.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import pickle
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from actcli import data  # noqa: E402
from actcli.shared import SharedSplit  # noqa: E402

FIELDS = ("train_x", "train_y", "val_x", "val_y", "test_x", "test_y")


def memory() -> dict[str, int]:
    """This process's Rss, Pss and private memory in bytes (Linux)."""
    values = {}
    for line in Path("/proc/self/smaps_rollup").read_text().splitlines()[1:]:
        key, _, rest = line.partition(":")
        values[key] = int(rest.split()[0]) * 1024
    return {"rss": values["Rss"], "pss": values["Pss"],
            "private": values["Private_Clean"] + values["Private_Dirty"]}


def worker(way: str, payload, ready, go, out) -> None:
    import torch

    from actcli import train
    from actcli.shared import SplitHandle

    torch.set_num_threads(1)
    if way == "before":     # the old DeviceData: torch.tensor copies every array
        held = [torch.tensor(getattr(payload, f)) for f in FIELDS]
    else:
        held = train.DeviceData(payload.attach() if isinstance(payload, SplitHandle) else payload, "cpu")
    ready.put(True)
    go.get()                # every worker holds its data now: measure them together
    out.put(memory())
    del held


def measure(way: str, payload, workers: int) -> list[dict]:
    ctx = mp.get_context("spawn")
    ready, go, out = ctx.Queue(), ctx.Queue(), ctx.Queue()
    procs = [ctx.Process(target=worker, args=(way, payload, ready, go, out)) for _ in range(workers)]
    for p in procs:
        p.start()
    for _ in procs:
        ready.get()
    for _ in procs:
        go.put(True)
    rows = [out.get() for _ in procs]
    for p in procs:
        p.join()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="fashion-mnist")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    split = data.split(data.load(args.dataset, offline=True), 0.1)
    arrays = sum(getattr(split, f).nbytes for f in FIELDS)
    with SharedSplit(split) as shared:
        sizes = {"before": len(pickle.dumps(split)), "now": len(pickle.dumps(shared.handle))}
        print(f"{args.dataset}: the split's arrays {arrays / 1e6:.1f} MB; {args.workers} worker processes on the CPU")
        print(f"{'way':7} {'pickled to each worker':>24} {'Rss MB':>8} {'Pss MB':>8} {'private MB':>11}  (per worker, mean)")
        for way, payload in (("before", split), ("now", shared.handle)):
            rows = measure(way, payload, args.workers)
            mean = {k: sum(r[k] for r in rows) / len(rows) / 1e6 for k in rows[0]}
            print(f"{way:7} {sizes[way]:>18,} bytes {mean['rss']:8.1f} {mean['pss']:8.1f} {mean['private']:11.1f}")


if __name__ == "__main__":
    main()
