"""The prepared GPU check: what the first session with a GPU runs, in one go, into one JSON file.

    python benchmarks/gpu.py --out gpu-check.json                  # a CUDA machine: about 3 min on one GPU (< 5)
    python benchmarks/gpu.py --device cpu --quick --out check.json # tiny sizes on the CPU (CI: tests/test_gpu_check.py)

It needs nothing but this checkout and torch (the bundled MNIST sample is the data; for the timed parts its
3,600 training digits are repeated 13 times, 46,800 images: the last batch of an epoch is a short one, 80).

1. determinism: relu seed 0 trained twice in this process, then again as a worker process while 1, 3
   and 7 other tasks share the GPU (3): every number but the timings must be identical.
2. cuda_vs_cpu: relu seed 0, fp32, one epoch of the sample, on the device and on the CPU, within the stated
   tolerances (TOLERANCES; the actual differences are in the JSON).
3. sharing: training images/s for 1, 2, 4 and 8 tasks sharing GPU 0 (worker processes, all placed on it):
   per task and summed, from the epochs after the first, and the wall time of each run.
4. compile: one task's training loop under torch.compile(mode="reduce-overhead") (CUDA graphs) against the
   same loop eager. Graphs need static shapes, so the epoch's last, short batch runs eagerly through the same
   module (the same parameters; no recompilation). On the CPU (--quick) the backend is "aot_eager": Dynamo
   and AOTAutograd run, no C++ is compiled.
5. determinism_cost: the same task in this process with the deterministic settings (what actcli uses) and
   with cuDNN autotuning instead, alternated; the images/s of each. On the CPU both are the same code.

The exit code is 1 when a check fails (1, 2) or a part stops with an error, 0 otherwise. A part that stops
leaves its error and traceback in the JSON and the others still run; the file is rewritten after each part.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import traceback
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from actcli import data, devices, executors, lookup, networks, train  # noqa: E402
from actcli.config import Config  # noqa: E402
from actcli.experiment import Task  # noqa: E402

TOLERANCES = {
    "activations_at_init_relative": 1e-4,   # the same weights, one forward pass: only the kernels differ
    "epoch1_train_loss_relative": 5e-3,     # 28 steps of Adam carry the kernels' rounding on
    "test_accuracy_points": 1.0,
}
SIZES = {   # name → (training images, validation and test images, epochs, tasks sharing the GPU, repeats)
    "full": (46_800, None, 3, (1, 2, 4, 8), 2),
    "quick": (300, 200, 2, (2,), 1),
}
TIMINGS = frozenset({"seconds", "images_per_second"})


def numbers(result: dict) -> dict:
    """A result without its timings and where it ran: what must be identical between two runs."""
    keep = {k: v for k, v in result.items() if k not in TIMINGS | {"device"}}
    return {**keep, "epochs": [{k: v for k, v in e.items() if k not in TIMINGS} for e in result["epochs"]]}


def splits(quick: bool) -> tuple[data.Split, data.Split]:
    """(the sample as compare splits it, the timed split: its training digits repeated)."""
    images, held, *_ = SIZES["quick" if quick else "full"]
    sample = data.split(data.load("mnist-sample"), 0.1)
    if held:
        sample = replace(sample, val_x=sample.val_x[:held], val_y=sample.val_y[:held],
                         test_x=sample.test_x[:held], test_y=sample.test_y[:held])
    reps = -(-images // len(sample.train_y))
    timed = replace(sample, train_x=np.ascontiguousarray(np.tile(sample.train_x, (reps, 1, 1))[:images]),
                    train_y=np.ascontiguousarray(np.tile(sample.train_y, reps)[:images]))
    if quick:
        sample = replace(sample, train_x=sample.train_x[:images], train_y=sample.train_y[:images])
    return sample, timed


def one(split: data.Split, cfg: Config, seed: int = 0, threads: int | None = None) -> dict:
    """relu at `seed` trained in this process; its result as saved."""
    before = torch.get_num_threads()
    torch.set_num_threads(threads or cfg.threads)
    try:
        return train.train("relu", train.DeviceData(split, cfg.device), cfg, seed).to_dict()
    finally:
        torch.set_num_threads(before)


class Collect:
    """The executors' handler: the results by task, the errors by task, the notices."""

    def __init__(self):
        self.results, self.errors, self.notices = {}, {}, []

    def started(self, task, where):
        pass

    def progress(self, p):
        pass

    def finished(self, task, result):
        self.results[task] = result

    def failed(self, task, error):
        self.errors[task] = error

    def notice(self, text):
        self.notices.append(text)


def sharing(split: data.Split, cfg: Config, counts) -> tuple[list[dict], dict[int, dict]]:
    """For each count k: k tasks (relu, seeds 0…k−1) at once in worker processes, all on GPU 0. Returns the
    rows, and seed 0's result from each run (for the determinism check)."""
    rows, seed0 = [], {}
    for k in counts:
        collect = Collect()
        t = time.perf_counter()
        executors.run_processes([Task("relu", s) for s in range(k)], split, cfg, collect, jobs=k,
                                gpus=(0,) * k if cfg.device == "cuda" else ())
        wall = time.perf_counter() - t
        if collect.errors:
            raise RuntimeError(f"sharing with {k} tasks: {collect.errors} {collect.notices}")
        rates = [r["images_per_second"] for r in collect.results.values()]
        rows.append({"tasks": k, "images_per_second_per_task": statistics.mean(rates),
                     "images_per_second_summed": sum(rates), "wall_seconds": wall,
                     "images_per_second_over_wall": k * len(split.train_y) * cfg.epochs / wall})
        seed0[k] = collect.results[Task("relu", 0)]
    return rows, seed0


def relative(a: float, b: float) -> float:
    return abs(a - b) / max(abs(a), abs(b), 1e-30)


def cuda_vs_cpu(sample: data.Split, device: str) -> dict:
    cfg = Config(epochs=1, device=device, precision="fp32", threads=1)
    there, cpu = one(sample, cfg, threads=os.cpu_count()), one(sample, replace(cfg, device="cpu"),
                                                                 threads=os.cpu_count())
    init = max(relative(there["activations_at_init"][layer][k], cpu["activations_at_init"][layer][k])
               for layer in cpu["activations_at_init"] for k in ("mean", "std"))
    diffs = {"activations_at_init_relative": init,
             "epoch1_train_loss_relative": relative(there["epochs"][0]["train_loss"], cpu["epochs"][0]["train_loss"]),
             "test_accuracy_points": 100 * abs(there["test_accuracy"] - cpu["test_accuracy"])}
    return {"differences": diffs, "tolerances": TOLERANCES, "passed": all(diffs[k] <= TOLERANCES[k] for k in diffs),
            "test_accuracy": {device: there["test_accuracy"], "cpu": cpu["test_accuracy"]},
            "note": "the device is the CPU: both arms ran the same code" if device == "cpu" else ""}


def loop(model, step_model, opt, d: train.DeviceData, cfg: Config, epochs: int, seed: int) -> list[float]:
    """The trainer's step (autocast, cross-entropy, clipping by value, Adam) with `step_model` for the full
    batches and `model` for a short one; the seconds of each epoch (synchronised)."""
    order = torch.Generator().manual_seed(seed)
    n, B = len(d.train_y), cfg.batch_size
    seconds = []
    params = list(model.parameters())
    for _ in range(epochs):
        model.train()
        t0 = time.perf_counter()
        perm = torch.randperm(n, generator=order).to(cfg.device)
        for start in range(0, n, B):
            idx = perm[start:start + B]
            xb, yb = train.DeviceData.images(d.train_x[idx]), d.train_y[idx]
            full = len(idx) == B
            if full:
                torch.compiler.cudagraph_mark_step_begin()   # a new step: the graphs' last outputs may be reused
            with train._autocast(cfg.device, cfg.precision):
                logits = (step_model if full else model)(xb)
            loss = F.cross_entropy(logits.float(), yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_value_(params, cfg.clip_threshold)
            opt.step()
        loss.detach().item()                          # waits for the device
        if cfg.device == "cuda":
            torch.cuda.synchronize()
        seconds.append(time.perf_counter() - t0)
    return seconds


def compiled_against_eager(split: data.Split, cfg: Config) -> dict:
    d = train.DeviceData(split, cfg.device)
    options = {"mode": "reduce-overhead"} if cfg.device == "cuda" else {"backend": "aot_eager"}
    out = {"options": options, "short_batch": len(split.train_y) % cfg.batch_size}
    for name in ("eager", "compiled"):
        torch.manual_seed(0)
        model = networks.build(lookup.resolve("relu"), cfg).to(cfg.device).to(memory_format=torch.channels_last)
        opt = train._optimizer(model, cfg.lr)
        step_model = torch.compile(model, **options) if name == "compiled" else model
        seconds = loop(model, step_model, opt, d, cfg, cfg.epochs, seed=0)
        steady = seconds[1:] or seconds
        out[name] = {"epoch_seconds": seconds, "images_per_second": len(split.train_y) / statistics.mean(steady),
                     "first_epoch_extra_seconds": seconds[0] - statistics.mean(steady)}
    out["speedup"] = out["compiled"]["images_per_second"] / out["eager"]["images_per_second"]
    return out


def determinism_cost(split: data.Split, cfg: Config, repeats: int) -> dict:
    rates = {"deterministic": [], "autotuned": []}
    try:
        for _ in range(repeats):
            for name in ("deterministic", "autotuned"):
                devices.DETERMINISTIC = name == "deterministic"
                rates[name].append(one(split, cfg)["images_per_second"])
    finally:
        devices.DETERMINISTIC = True
    medians = {k: statistics.median(v) for k, v in rates.items()}
    return {"images_per_second": medians, "runs": rates,
            "deterministic_over_autotuned": medians["deterministic"] / medians["autotuned"],
            "note": "on the CPU both arms are the same code" if cfg.device == "cpu" else ""}


def machine(device: str) -> dict:
    return {"device": device, "torch": torch.__version__, "cpus": os.cpu_count(),
            **(devices.cuda_versions() if device == "cuda" else {}), "gpus": devices.gpu_count(),
            "precision": train.resolve_precision("auto", device)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda", choices=["cuda", "cpu"])
    parser.add_argument("--quick", action="store_true", help="tiny sizes (seconds on a CPU): the code runs, "
                        "the figures mean nothing")
    parser.add_argument("--out", default="gpu-check.json", help="the JSON file written")
    args = parser.parse_args(argv)
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("torch sees no CUDA device here (use --device cpu --quick to check the code)")
    started = time.perf_counter()
    devices.prepare_process(args.device, 0 if args.device == "cuda" else None)   # before any CUDA work
    _, _, epochs, counts, repeats = SIZES["quick" if args.quick else "full"]
    sample, timed = splits(args.quick)
    cfg = train.resolve(Config(epochs=epochs, device=args.device, precision="auto", threads=1))
    doc = {"machine": machine(args.device), "sizes": {"training_images": len(timed.train_y), "epochs": epochs,
                                                      "quick": args.quick, "batch_size": cfg.batch_size},
           "seconds": {}}
    out = Path(args.out)

    def section(name: str, fn):
        """fn's answer under doc[name], or the error that stopped it (the other sections still run); the
        JSON is written after each, so a run cut short keeps what it measured."""
        t = time.perf_counter()
        try:
            doc[name] = fn()
        except Exception as exc:
            doc[name] = {"error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()[-4000:],
                         "passed": False}
        doc["seconds"][name] = round(time.perf_counter() - t, 2)
        print(f"{name}: {doc['seconds'][name]:.1f} s{' (failed)' if 'error' in doc[name] else ''}", file=sys.stderr)
        out.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")

    section("determinism", lambda: determinism(sample, timed, cfg, counts, doc))
    section("cuda_vs_cpu", lambda: cuda_vs_cpu(sample, args.device))
    section("compile", lambda: compiled_against_eager(timed, cfg))
    section("determinism_cost", lambda: determinism_cost(timed, cfg, repeats))
    doc["seconds"]["total"] = round(time.perf_counter() - started, 2)
    doc["passed"] = all(doc[k].get("passed", True) and "error" not in doc[k]
                        for k in ("determinism", "cuda_vs_cpu", "compile", "determinism_cost"))
    out.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    print(f"{'passed' if doc['passed'] else 'FAILED'}: wrote {out} in {doc['seconds']['total']:.0f} s", file=sys.stderr)
    return 0 if doc["passed"] else 1


def determinism(sample, timed: data.Split, cfg: Config, counts, doc: dict) -> dict:
    """Check 1, and check 3 on the way (doc['sharing']): seed 0 twice here, then in every sharing run."""
    first, second = one(timed, cfg), one(timed, cfg)
    doc["sharing"], seed0 = sharing(timed, cfg, counts)
    same = {str(k - 1): numbers(r) == numbers(first) for k, r in seed0.items()}
    twice = numbers(first) == numbers(second)
    return {"same_seed_twice_in_process": twice, "same_as_in_process_when_sharing_with": same,
            "passed": twice and all(same.values())}


if __name__ == "__main__":
    sys.exit(main())
