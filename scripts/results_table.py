"""Markdown tables for docs/results.md, from the history.json files that `actcli compare` writes.

    python scripts/results_table.py docs/runs/*/history.json            # one table per run
    python scripts/results_table.py --seeds RUN_SEED0 RUN_SEED1 …       # test accuracy across seeds
"""

from __future__ import annotations

import json
import sys


def table(path: str) -> str:
    doc = json.load(open(path))
    d, c = doc["dataset"], doc["config"]
    lines = [f"**{d['name']}** ({d['source']}): train {d['train']:,}, val {d['val']:,}, test {d['test']:,}; "
             f"{c['epochs']} epochs, batch {c['batch_size']}, Adam {c['lr']:g}, clip {c['clip']} "
             f"{c['clip_threshold']:g}, seed {c['seed']}, {c['device']} {c['precision']}", "",
             "| activation | test acc | test loss | val acc by epoch | ‖∇W‖ first layer, epoch 1 → last | "
             "‖∇W‖ last layer, last epoch | dead units | img/s |",
             "| --- | ---: | ---: | --- | --- | ---: | ---: | ---: |"]
    for r in sorted(doc["results"], key=lambda r: -r["test_accuracy"]):
        e = r["epochs"]
        curve = " ".join(f"{100 * x['val_accuracy']:.1f}" for x in e)
        dead = e[-1]["dead_fraction"]
        speed = sum(x["images_per_second"] for x in e) / len(e)
        lines.append(
            f"| {r['activation']}{' (diverged)' if r['diverged'] else ''} | {100 * r['test_accuracy']:.2f}% | "
            f"{r['test_loss']:.3f} | {curve} | "
            f"{e[0]['grad_norm_first']:.2g} → {e[-1]['grad_norm_first']:.2g} | {e[-1]['grad_norm_last']:.2g} | "
            f"{'—' if dead is None else f'{100 * dead:.1f}%'} | {speed:,.0f} |")
    return "\n".join(lines)


def seeds_table(paths: list[str]) -> str:
    docs = [json.load(open(p)) for p in paths]
    seeds = [d["config"]["seed"] for d in docs]
    acc: dict[str, list[float]] = {}
    for d in docs:
        for r in d["results"]:
            acc.setdefault(r["activation"], []).append(100 * r["test_accuracy"])
    lines = [f"test accuracy (%) over seeds {', '.join(map(str, seeds))}", "",
             "| activation | " + " | ".join(f"seed {s}" for s in seeds) + " | mean | spread (max − min) |",
             "| --- |" + " ---: |" * (len(seeds) + 2)]
    for name, values in sorted(acc.items(), key=lambda kv: -sum(kv[1]) / len(kv[1])):
        lines.append(f"| {name} | " + " | ".join(f"{v:.2f}" for v in values) +
                     f" | {sum(values) / len(values):.2f} | {max(values) - min(values):.2f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--seeds"]:
        print(seeds_table(sys.argv[2:]))
    else:
        print("\n\n".join(table(p) for p in sys.argv[1:]))
