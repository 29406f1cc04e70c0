"""The learning rate as an axis: tasks and folders across rates, each activation's rate chosen on validation
only, the paired tests with Holm's correction checked against numbers worked out by hand, and the CLI."""

import json
import math

import pytest

from actcli import experiment, stats
from actcli.errors import DataError
from actcli.experiment import RunFolder, Task
from actcli.markdown import grid_table, report_markdown, statistics_table

from helpers import one_line_error, write_mnist_like

RATES = (3e-4, 1e-3, 3e-3)
SEEDS = (0, 1, 2)


# ---------------------------------------------------------------------------------------------
# Holm and the paired t-test, by hand
# ---------------------------------------------------------------------------------------------

def test_holm_adjusted_by_hand():
    # sorted: 0.01 (×3 = 0.03), 0.03 (×2 = 0.06), 0.04 (×1 = 0.04, raised to the 0.06 before it); nan is no test
    assert stats.holm_adjusted([0.01, 0.04, 0.03, math.nan])[:3] == pytest.approx([0.03, 0.06, 0.06])
    assert math.isnan(stats.holm_adjusted([0.01, math.nan])[1])
    assert stats.holm_adjusted([0.5, 0.6]) == pytest.approx([1.0, 1.0])      # capped at 1
    assert stats.holm_adjusted([0.02]) == pytest.approx([0.02])              # one comparison: unchanged
    assert stats.holm_adjusted([]) == []


def t_p(t: float) -> float:
    """Two-sided p of Student's t with 2 degrees of freedom, whose CDF is ½ + t/(2√(2 + t²))."""
    return 1 - abs(t) / math.sqrt(2 + t * t)


# Three activations against a baseline over seeds 0, 1, 2, the differences in points chosen so that the tests
# can be done by hand (mean m, sd s, t = m/(s/√3)):
#   c1: +2, +3, +4    m 3, s 1  → t = 3√3 = 5.196, p = 1 − t/√29 = 0.0351: the interval excludes 0 (better)
#   c2: -1, +1, +3    m 1, s 2  → t = √3/2 = 0.866, p = 0.478
#   c3: -8, -6, -4    m -6, s 2 → t = -3√3 = -5.196, p = 0.0351 (worse)
# Holm over 3: the two smallest, 0.0351 each, become 3·0.0351 = 0.105 and max(0.105, 2·0.0351) = 0.105; the
# third max(0.105, 0.478) = 0.478. None is below 0.05 after the correction, though two intervals exclude 0.
DIFFS = {"c1": (2, 3, 4), "c2": (-1, 1, 3), "c3": (-8, -6, -4)}


def test_paired_tests_and_holm_against_the_hand_table():
    base = {0: 90.0, 1: 91.0, 2: 92.0}
    pairs = {k: stats.paired_difference({s: base[s] + d[s] for s in base}, base) for k, d in DIFFS.items()}
    p1 = t_p(3 * math.sqrt(3))
    assert [pairs[k].p for k in DIFFS] == pytest.approx([p1, t_p(math.sqrt(3) / 2), p1], rel=1e-9)
    assert p1 == pytest.approx(0.03510, abs=1e-5)
    assert [pairs[k].d_z for k in DIFFS] == pytest.approx([3.0, 0.5, -3.0])
    assert [pairs[k].verdict for k in DIFFS] == ["better", "not distinguishable with 3 seeds", "worse"]
    held = stats.holm(pairs)
    assert [held[k].p_holm for k in DIFFS] == pytest.approx([3 * p1, t_p(math.sqrt(3) / 2), 3 * p1], rel=1e-9)
    assert [held[k].verdict for k in DIFFS] == ["not distinguishable with 3 seeds"] * 3
    assert [held[k].interval for k in DIFFS] == ["better", "not distinguishable with 3 seeds", "worse"]


def test_holm_keeps_what_survives():
    base = {0: 50.0, 1: 50.0, 2: 50.0, 3: 50.0}
    strong = {s: v + 10 + s for s, v in base.items()}     # +10, +11, +12, +13: t = 11.5/(1.29/2) ≈ 17.8
    held = stats.holm({"s": stats.paired_difference(strong, base),
                       "w": stats.paired_difference({s: v + (s % 2) for s, v in base.items()}, base)})
    assert held["s"].verdict == "better" and held["s"].p_holm == pytest.approx(2 * held["s"].p)
    assert held["w"].verdict == "not distinguishable with 4 seeds"


def test_differences_with_no_spread():
    same = stats.paired_difference({0: 10.0, 1: 10.0}, {0: 10.0, 1: 10.0})
    assert (same.p, same.d_z, same.verdict) == (1.0, 0.0, "not distinguishable with 2 seeds")
    shifted = stats.paired_difference({0: 12.0, 1: 13.0}, {0: 10.0, 1: 11.0})
    assert (shifted.p, shifted.d_z, shifted.verdict) == (0.0, math.inf, "better")
    one = stats.paired_difference({0: 12.0}, {0: 10.0})
    assert math.isnan(one.p) and stats.holm({"x": one})["x"].verdict == "no interval with 1 seed"


# what the mutation run (docs/testing.md) found unchecked

def test_holm_caps_at_1_a_p_that_no_later_one_lowers():
    assert stats.holm_adjusted([0.6, 0.9]) == [1.0, 1.0]     # 2 × 0.6 = 1.2, capped; 0.9 raised to the 1 before it


def test_holm_passes_over_a_comparison_with_no_test_to_the_next():
    """One seed has no test: its p_holm is nan and its verdict stays; it does not count in m, and the
    comparison after it is still adjusted and judged."""
    strong = stats.paired_difference({0: 60.0, 1: 61.0, 2: 62.5}, {0: 50.0, 1: 50.0, 2: 50.0})
    held = stats.holm({"one": stats.paired_difference({0: 12.0}, {0: 10.0}), "strong": strong})
    assert math.isnan(held["one"].p_holm) and held["one"].verdict == "no interval with 1 seed"
    assert held["strong"].p_holm == strong.p and held["strong"].verdict == "better"   # m = 1: unchanged


def test_holm_needs_p_below_alpha_not_equal_to_it():
    def alone(p):
        made = stats.Paired(3, 1.0, 0.5, 1.5, "better", p=p, d_z=1.0, interval="better")
        return stats.holm({"c": made})["c"].verdict

    assert alone(stats.ALPHA) == "not distinguishable with 3 seeds"
    assert alone(math.nextafter(stats.ALPHA, 0)) == "better"


# ---------------------------------------------------------------------------------------------
# Selection on validation, from results written by hand
# ---------------------------------------------------------------------------------------------

HEAD = {"config": {"epochs": 2, "batch_size": 128, "clip": "value", "clip_threshold": 0.5, "device": "cpu",
                   "precision": "fp32", "threads": 1},
        "dataset": {"name": "mnist", "source": "here", "train": 1, "val": 1, "test": 1}}

# validation accuracy of the LAST epoch (the first is 0.5 everywhere), by activation and rate, over seeds:
#   a: best at 1e-3; b: best at 3e-3 (the grid's edge); the test accuracy would choose otherwise
VAL = {("a", 3e-4): (0.80, 0.82, 0.84), ("a", 1e-3): (0.90, 0.91, 0.95), ("a", 3e-3): (0.85, 0.86, 0.87),
       ("b", 3e-4): (0.50, 0.52, 0.54), ("b", 1e-3): (0.70, 0.72, 0.74), ("b", 3e-3): (0.75, 0.78, 0.78)}
TEST = {("a", 3e-4): 0.99, ("a", 1e-3): 0.90, ("a", 3e-3): 0.90,     # the test set's best: a at 3e-4
        ("b", 3e-4): 0.95, ("b", 1e-3): 0.70, ("b", 3e-3): 0.70}


def result(name, lr, i, test=None, val_loss=None):
    first = {"epoch": 1, "val_accuracy": 0.5, "val_loss": 1.0, "train_loss": 1.0, "train_accuracy": 0.5,
             "grad_norms": {"conv1": 1.0}, "dead_fraction": 0.0, "activations": {}, "seconds": 1.0,
             "images_per_second": 100.0}
    v = VAL[(name, lr)][i]
    last = {**first, "epoch": 2, "val_accuracy": v, "val_loss": 1 - v if val_loss is None else val_loss}
    return {"activation": name, "seed": SEEDS[i], "lr": lr,
            "test_accuracy": TEST[(name, lr)] + i / 100 if test is None else test, "test_loss": 0.1,
            "diverged": False, "diverged_epoch": None, "epochs": [first, last], "images_per_second": 100.0,
            "activations_at_init": {}}


def grid_results(**kw):
    return {Task(n, SEEDS[i], lr=lr): result(n, lr, i, **kw) for n in "ab" for lr in RATES for i in range(3)}


def test_each_activation_at_its_best_validation_rate():
    doc = experiment.summarize(HEAD, grid_results())
    st = doc["statistics"]
    rows = {p["activation"]: p for p in st["activations"]}
    assert (rows["a"]["lr"], rows["b"]["lr"]) == (1e-3, 3e-3)
    # the table's numbers are the chosen rate's: a's test accuracy at 1e-3 is 90, 91, 92 points
    assert rows["a"]["test_accuracy_points"]["mean"] == pytest.approx(91.0)
    assert rows["b"]["vs_baseline"]["mean"] == pytest.approx(70.0 - 90.0)   # b at 3e-3 against a at 1e-3
    assert st["select"] == "val-accuracy" and st["lrs"] == list(RATES)
    cell = next(g for g in st["grid"] if g["activation"] == "a" and g["lr"] == 1e-3)
    assert cell["val_accuracy_points"]["mean"] == pytest.approx(92.0) and cell["chosen"]
    assert sum(g["chosen"] for g in st["grid"]) == 2 and len(st["grid"]) == 6
    assert st["edges"] == [{"activation": "b", "lr": 3e-3, "edge": "largest"}]
    assert experiment.edges_line(doc) == ("At the edge of the learning-rate grid, so the best rate may lie "
                                          "beyond it: b (0.003, the largest).")
    # every task is in the document; the chosen ones first, and they are what the tables and figures show
    assert len(doc["results"]) == 18
    assert {(r["activation"], r["lr"]) for r in experiment.chosen(doc)} == {("a", 1e-3), ("b", 3e-3)}


def test_the_test_set_never_moves_the_choice():
    chosen = experiment.summarize(HEAD, grid_results())["statistics"]
    for test in (0.0, 0.5, 1.0):                        # every test label changed: every test accuracy
        again = experiment.summarize(HEAD, grid_results(test=test))["statistics"]
        assert [(p["activation"], p["lr"]) for p in again["activations"]] == \
            [(p["activation"], p["lr"]) for p in chosen["activations"]]
        assert again["grid"] == chosen["grid"]


def test_val_loss_selection_ties_and_divergence():
    results = grid_results()
    # by validation loss (1 − accuracy here) the choice is the same; make b's loss at 1e-3 the lowest
    for i in range(3):
        results[Task("b", SEEDS[i], lr=1e-3)]["epochs"][-1]["val_loss"] = 0.01
    by_loss = experiment.summarize(HEAD, results, select="val-loss")["statistics"]
    assert {p["activation"]: p["lr"] for p in by_loss["activations"]} == {"a": 1e-3, "b": 1e-3}
    assert by_loss["edges"] == []
    # a seed that diverged (validation loss nan) puts its rate last
    results[Task("b", 1, lr=1e-3)]["epochs"][-1]["val_loss"] = math.nan
    again = experiment.summarize(HEAD, results, select="val-loss")["statistics"]
    assert {p["activation"]: p["lr"] for p in again["activations"]}["b"] == 3e-3
    # equal means: the smaller rate
    cells = {lr: {0: result("a", 1e-3, 0)} for lr in (3e-3, 1e-3)}
    assert experiment.choose_rate(cells) == 1e-3


def test_the_report_renders_the_grid():
    doc = experiment.summarize(HEAD, grid_results())
    lines = statistics_table(doc).splitlines()
    assert lines[0].startswith("| activation | seeds | lr | test accuracy, % [95% CI] |")
    assert lines[2].startswith("| a | 3 | 0.001 | 91.00 [")
    assert lines[3].startswith("| b | 3 | 0.003 | 71.00 [")
    grid = grid_table(doc).splitlines()
    assert grid[0] == "| activation | lr 0.0003 | lr 0.001 | lr 0.003 |"
    assert grid[2].startswith("| a | 82.00 [") and "| **92.00 [" in grid[2]
    assert grid[3].startswith("| b | 52.00 [") and grid[3].count("**") == 2 and "**77.00 [" in grid[3]
    text = report_markdown(doc, ["lr.png"])
    assert "Adam at 0.0003, 0.001, 0.003 (each activation's rate chosen on validation accuracy)" in text
    assert "× learning rates 0.0003, 0.001, 0.003" in text and "b (0.003, the largest)" in text
    assert "![lr.png](lr.png)" in text
    csv_lines = experiment.summary_csv(doc).splitlines()
    assert csv_lines[0].startswith("activation,lr,seed,")
    assert len(csv_lines) == 1 + 18 + 2


def test_disagreeing_verdicts_are_said():
    base = {0: 90.0, 1: 91.0, 2: 92.0}
    results = {}
    for name, d in {"base": (0, 0, 0), **DIFFS}.items():
        for i, s in enumerate(SEEDS):
            r = result("a", 1e-3, i, test=(base[s] + d[i]) / 100)
            results[Task(name, s)] = {**r, "activation": name, "lr": 1e-3}
    doc = experiment.summarize(HEAD, results, baseline="base")
    rows = {p["activation"]: p for p in doc["statistics"]["activations"]}
    assert rows["c1"]["vs_baseline"]["verdict"] == "not distinguishable with 3 seeds"
    assert rows["c1"]["vs_baseline"]["interval"] == "better"
    table = statistics_table(doc)
    assert "not distinguishable with 3 seeds (the interval alone: better; not after Holm's correction)" in table
    assert "not distinguishable with 3 seeds (the interval alone: worse; not after Holm's correction)" in table
    assert "| 0.105 |" in table                        # 3 × 0.0351, by hand above


# ---------------------------------------------------------------------------------------------
# Tasks and folders across rates
# ---------------------------------------------------------------------------------------------

def test_task_keys_name_every_rate_but_the_articles():
    assert Task("relu", 0).key == "relu-seed0" and Task("relu", 0, lr=1e-3).key == "relu-seed0"
    assert Task("relu", 0, lr=3e-3).key == "relu-lr0.003-seed0"
    assert Task("relu", 2, 8, 3e-05).key == "relu-d8-lr3e-05-seed2"
    assert Task("relu", 0, lr=0.0030000000000000001).key != Task("relu", 0, lr=0.0030000000000001).key
    assert Task("relu", 0, lr=3e-3).label == "relu lr 0.003 seed 0"
    tasks = experiment.plan(["relu", "elu"], [0, 1], lrs=[1e-3, 3e-3])
    assert [t.key for t in tasks[:4]] == ["relu-seed0", "elu-seed0", "relu-lr0.003-seed0", "elu-lr0.003-seed0"]
    assert {t.seed for t in tasks[:4]} == {0}          # a whole seed first: an interrupted run stays paired


def on_disk(name, lr, i, legacy=False):
    """result(name, lr, i) whole, as training writes it (and as an actcli before rates were an axis wrote
    it, with no lr, where `legacy`)."""
    from actcli.records import Epoch, Result

    r = result(name, lr, i)
    epochs = [Epoch(**{k: e[k] for k in Epoch.__dataclass_fields__}) for e in r["epochs"]]
    doc = Result(name, r["seed"], lr=lr, epochs=epochs, test_loss=r["test_loss"],
                 test_accuracy=r["test_accuracy"]).to_dict()
    if legacy:
        del doc["lr"]
    return doc


def head_on_disk(lr=None):
    """config.json as compare writes it today (no lr: each result names its own), or as it wrote it before
    (schema 1, one lr for every result)."""
    from actcli.config import Config

    config = Config(epochs=2, device="cpu", precision="fp32").to_dict()
    dataset = {"name": "mnist", "requested": "mnist", "source": "here", "train": 1, "val": 1, "test": 1}
    if lr is None:
        del config["lr"]
        return {"config": config, "dataset": dataset, "schema": 2}
    return {"config": {**config, "lr": lr}, "dataset": dataset}


def test_a_folder_written_before_rates_were_an_axis(tmp_path):
    """config.json with one lr and results that name none: read as trained at that rate, merged with a
    folder of the grid, and renamed by the task's key when written again."""
    old = tmp_path / "old"
    (old / "results").mkdir(parents=True)
    (old / "config.json").write_text(json.dumps(head_on_disk(lr=0.01)))
    (old / "results" / "a-seed0.json").write_text(json.dumps(on_disk("a", 1e-3, 0, legacy=True)))
    got = RunFolder(old).results()
    assert list(got) == [Task("a", 0, lr=0.01)] and got[Task("a", 0, lr=0.01)]["lr"] == 0.01
    new = tmp_path / "new"
    (new / "results").mkdir(parents=True)
    (new / "config.json").write_text(json.dumps(head_on_disk()))
    (new / "results" / "a-lr0.003-seed0.json").write_text(json.dumps(on_disk("a", 3e-3, 0)))
    head, merged = experiment.merge([RunFolder(old), RunFolder(new)])
    assert sorted(t.lr for t in merged) == [3e-3, 0.01]
    again = RunFolder.open(tmp_path / "merged", head)
    for task, res in merged.items():
        again.save(task, res)
    assert sorted(p.name for p in (tmp_path / "merged" / "results").iterdir()) == \
        ["a-lr0.003-seed0.json", "a-lr0.01-seed0.json"]
    assert RunFolder(tmp_path / "merged").results().keys() == merged.keys()


def test_a_result_whose_rate_is_not_its_name(tmp_path):
    folder = tmp_path / "f"
    (folder / "results").mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps(head_on_disk()))
    (folder / "results" / "a-seed0.json").write_text(json.dumps(on_disk("a", 3e-3, 0)))
    with pytest.raises(DataError, match="holds the task a-lr0.003-seed0"):
        RunFolder(folder).results()


def test_a_rate_that_is_no_rate(tmp_path):
    folder = tmp_path / "f"
    (folder / "results").mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps(head_on_disk()))
    (folder / "results" / "a-seed0.json").write_text(json.dumps({**on_disk("a", 1e-3, 0), "lr": 0.0}))
    with pytest.raises(DataError, match=r"a-seed0.json: lr: expected a number > 0, got 0.0"):
        RunFolder(folder).results()


def test_a_report_before_any_task_ended():
    """No result yet (Ctrl-C or a lost cluster before the first task ended): config.json of today's names no
    rate, and the report says none rather than fail (it was a KeyError traceback)."""
    doc = experiment.summarize(head_on_disk(), {})
    assert "Adam, clip value 0.5" in report_markdown(doc, [])
    assert "Adam 0.01, clip" in report_markdown(experiment.summarize(head_on_disk(lr=0.01), {}), [])


# ---------------------------------------------------------------------------------------------
# The command line, end to end (a small MLP, so that it is quick)
# ---------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def data_dirs(tmp_path_factory):
    """Two data folders, the same but for the test labels (every one moved to the next class)."""
    import numpy as np

    from actcli.idx import read_idx, write_idx

    one = write_mnist_like(tmp_path_factory.mktemp("one"), n_train=300, n_test=100)
    two = write_mnist_like(tmp_path_factory.mktemp("two"), n_train=300, n_test=100)
    labels = two / "t10k-labels-idx1-ubyte.gz"
    write_idx(labels, ((read_idx(labels, 2049).astype(np.int64) + 1) % 10).astype(np.uint8))
    return one, two


def compare(invoke, data, out, *args):
    return invoke("compare", "--data-dir", data, "--model", "mlp", "--depth", "2", "--width", "32", "--epochs", "2",
                  "--activations", "relu,sigmoid", "--seeds", "0-1", "--lr", "1e-3,3e-2", "--jobs", "1",
                  "--threads", "1", "--precision", "fp32", "-q", "-o", out, *args)


def test_compare_and_report_across_rates(invoke, data_dirs, tmp_path):
    one, two = data_dirs
    first = compare(invoke, one, tmp_path / "one", "--json")
    assert first.exit_code == 0, first.stderr
    doc = json.loads(first.stdout)
    assert doc["run"]["ran"] == 8 and len(doc["results"]) == 8
    assert "lr" not in doc["config"]                               # each task carries its own
    assert {(r["activation"], r["lr"]) for r in doc["results"]} == {(a, lr) for a in ("relu", "sigmoid")
                                                                      for lr in (1e-3, 3e-2)}
    picked = {p["activation"]: p["lr"] for p in doc["statistics"]["activations"]}
    # the same training images, other test labels: the test accuracy moves, the choice does not
    other = json.loads(compare(invoke, two, tmp_path / "two", "--json").stdout)
    assert {p["activation"]: p["lr"] for p in other["statistics"]["activations"]} == picked
    assert other["statistics"]["grid"] == doc["statistics"]["grid"]
    assert sorted(r["test_accuracy"] for r in other["results"]) != sorted(r["test_accuracy"] for r in doc["results"])
    # resumed with one more rate: only the new tasks run
    more = compare(invoke, one, tmp_path / "one", "--json", "--lr", "1e-3,3e-2,1e-2")
    assert json.loads(more.stdout)["run"]["ran"] == 4
    files = sorted(p.name for p in (tmp_path / "one" / "results").iterdir())
    assert "relu-d2-seed0.json" in files and "sigmoid-d2-lr0.03-seed1.json" in files and len(files) == 12
    assert {"lr.png", "report.md", "summary.csv"} <= {p.name for p in (tmp_path / "one").iterdir()}
    # report: the text table names the rate and shows the grid
    shown = invoke("report", tmp_path / "one")
    assert shown.exit_code == 0, shown.stderr
    assert "validation accuracy %, by rate" in shown.stdout and "▸" in shown.stdout
    rows = [line.split() for line in shown.stdout.splitlines() if line.split()[:2] == ["2", "relu"] and "±" in line]
    assert len(rows) == 1 and rows[0][2] in ("1e-3", "3e-2", "1e-2")    # depth, activation, its chosen rate
    by_loss = json.loads(invoke("report", tmp_path / "one", "--json", "--select", "val-loss").stdout)
    assert by_loss["statistics"]["select"] == "val-loss"


def test_a_baseline_not_in_the_run(invoke, data_dirs, tmp_path):
    err = one_line_error(compare(invoke, data_dirs[0], tmp_path / "x", "--baseline", "gelu"))
    assert "Invalid value for '--baseline': baseline 'gelu' is not among the activations (relu, sigmoid)" in err
    assert not (tmp_path / "x").exists()
