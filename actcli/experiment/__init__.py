"""The article's experiment as tasks: one per activation × seed, each saved the moment it ends.

A run folder holds `config.json` (written first: the config, the dataset and the versions), one
`results/<activation>-seed<N>.json` per finished task, and the summaries made from them. Running
the same plan into the same folder again runs only the missing tasks; a folder whose config differs
is refused, naming the keys. A task's numbers depend only on its activation, its seed and the config,
so they are the same run alone, inside a bigger run, or resumed.

    from actcli import experiment
    exp = experiment.prepare(["relu", "gelu"], seeds=[0, 1, 2], dataset="mnist-sample", epochs=5)
    folder, outcome = exp.run("runs/demo")
    doc = exp.summarize(folder)

(examples/seeds_experiment.py runs this.) The modules, each importing only those above it here:

    tasks      Task, plan, parse_seeds, parse_rates, check_rates
    schema     every file read back checked against its dataclass (actcli.records): read_header, read_result
    folder     RunFolder: config.json and results/, read back, resumed, merged (header, differences, merge)
    running    load_data, Execution, Outcome, run: the tasks trained by the executors, each result saved
    summary    summarize, summary_csv, choose_rate: each activation's rate chosen on validation, statistics
               over seeds, the paired comparisons with the baseline (Holm-corrected)
    planning   prepare → Experiment: what the options say, resolved and checked before any work

Nothing here imports torch until an experiment is prepared or a task is trained, so `report` starts fast.
"""

from .folder import CONFIG_FILE, RESULTS_DIR, RunFolder, differences, header, joined, merge
from .planning import Experiment, prepare
from .running import Execution, Outcome, load_data, run, slow_first
from .summary import (STATISTICS_FIELDS, TASK_FIELDS, baseline_at, choose_rate, chosen,
                      depths, edges_line, interval_disagrees, last_epoch, rates_axis, summarize, summary_csv)
from .tasks import MAX_SEEDS, Task, check_rates, parse_rates, parse_seeds, plan

__all__ = ["CONFIG_FILE", "MAX_SEEDS", "RESULTS_DIR", "STATISTICS_FIELDS", "TASK_FIELDS", "Execution", "Experiment", "Outcome", "RunFolder", "Task", "baseline_at", "check_rates",
           "choose_rate", "chosen", "depths", "differences", "edges_line", "header", "interval_disagrees", "joined", "last_epoch", "load_data", "merge",
           "parse_rates", "parse_seeds", "plan", "prepare", "rates_axis", "run", "slow_first", "summarize",
           "summary_csv"]
