"""An experiment from Python (no CLI): two activations × three seeds on the bundled MNIST sample,
each task saved in a run folder as it ends, then the statistics that say what is distinguishable.

    python examples/seeds_experiment.py [RUN_FOLDER]
"""

import sys
import tempfile

from actcli import experiment
from actcli.config import Config


def main() -> None:
    cfg = Config(dataset="mnist-sample", epochs=1, limit=600, device="cpu")     # a quick run
    split, dataset = experiment.load_data(cfg)
    out = sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="actcli-")
    folder = experiment.RunFolder.open(out, experiment.header(cfg, dataset))
    # worker processes, one per core; jobs=1 would train in this process
    outcome = experiment.run(experiment.plan(["relu", "sigmoid"], seeds=[0, 1, 2]), folder, split, cfg,
                             execution=experiment.Execution(jobs="auto"))
    print(f"{len(outcome.ran)} tasks trained, {len(outcome.skipped)} already in {out}")

    doc = experiment.summarize(folder.header(), folder.results())
    for p in doc["statistics"]["activations"]:
        acc = p["test_accuracy_points"]
        line = f"{p['activation']:8} {acc['mean']:6.2f}% [{acc['ci_low']:6.2f}, {acc['ci_high']:6.2f}]"
        d = p["vs_baseline"]
        if d:
            line += f"  vs {doc['statistics']['baseline']}: {d['mean']:+.2f} points, {d['verdict']}"
        print(line)


if __name__ == "__main__":   # worker processes are spawned: they import this file, and must not rerun it
    main()
