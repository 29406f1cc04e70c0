"""An experiment from Python (no CLI): two activations × three seeds on the bundled MNIST sample,
each task saved in a run folder as it ends, then the statistics that say what is distinguishable.

    python examples/seeds_experiment.py [RUN_FOLDER]
"""

import sys
import tempfile

from actcli import experiment


def main() -> None:
    # the same function `actcli compare` calls: names or formulas, seeds, and any Config field
    planned = experiment.prepare(["relu", "sigmoid"], seeds=[0, 1, 2],
                                 dataset="mnist-sample", epochs=1, limit=600, device="cpu",   # a quick run
                                 execution=experiment.Execution(jobs="auto"))   # one worker process per core
    out = sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="actcli-")
    folder, outcome = planned.run(out)
    print(f"{len(outcome.ran)} tasks trained, {len(outcome.skipped)} already in {out}")

    doc = planned.summarize(folder)
    for p in doc["statistics"]["activations"]:
        acc = p["test_accuracy_points"]
        line = f"{p['activation']:8} {acc['mean']:6.2f}% [{acc['ci_low']:6.2f}, {acc['ci_high']:6.2f}]"
        d = p["vs_baseline"]
        if d:
            line += f"  vs {doc['statistics']['baseline']}: {d['mean']:+.2f} points, {d['verdict']}"
        print(line)


if __name__ == "__main__":   # worker processes are spawned: they import this file, and must not rerun it
    main()
