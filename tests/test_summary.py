"""Summaries over seeds and epochs, and the Markdown tables of report.md, on a run written by hand: the last
epoch differs from the first, the mean from the median, and the seeds are not evenly spaced (0, 3, 7), so that
a summary that read the first epoch, a median, or seeds by position would give other numbers."""

import math

import pytest

from actcli import experiment
from actcli.experiment import Task
from actcli.markdown import activations_table, gradients_table, seeds_table, statistics_table

T2 = 4.302652729749464          # Student's t, 97.5% with 2 degrees of freedom (mpmath, as in test_stats)
SEEDS = (0, 3, 7)
ACCURACY = {"a": (0.90, 0.92, 0.97), "b": (0.80, 0.90, 0.91)}     # a: mean 93, median 92 (points)
GRADS = {"a": (0.1, 0.2, 0.6), "b": (1.0, 2.0, 6.0)}              # last epoch's conv1; the first epoch has 9.0


def result(name, i):
    seed = SEEDS[i]
    first = {"epoch": 1, "val_accuracy": 0.5, "train_loss": 1.0, "val_loss": 1.0, "train_accuracy": 0.5,
             "grad_norms": {"conv1": 9.0, "fc2": 9.0}, "dead_fraction": 0.9,
             "activations": {"conv1": {"mean": 9.0, "std": 9.0, "dead_fraction": 0.9}},
             "seconds": 1.0, "images_per_second": 100.0}
    last = {**first, "epoch": 2, "grad_norms": {"conv1": GRADS[name][i], "fc2": 1.0}, "dead_fraction": 0.1 * i,
            "activations": {"conv1": {"mean": 0.1 * i, "std": 1.0 + i, "dead_fraction": 0.1 * i}}}
    return {"activation": name, "seed": seed, "test_accuracy": ACCURACY[name][i], "test_loss": 0.1 * (i + 1),
            "diverged": False, "diverged_epoch": None, "epochs": [first, last], "images_per_second": 100.0 * (i + 1),
            "activations_at_init": {"conv1": {"mean": 0.0, "std": 0.5, "dead_fraction": 0.0}}}


@pytest.fixture(scope="module")
def doc():
    head = {"config": {"epochs": 2, "batch_size": 128, "lr": 0.001, "clip": "value", "clip_threshold": 0.5,
                       "device": "cpu", "precision": "fp32", "threads": 1},
            "dataset": {"name": "mnist", "source": "here", "train": 1, "val": 1, "test": 1}}
    results = {Task(n, SEEDS[i]): result(n, i) for n in ("a", "b") for i in range(3)}
    return experiment.summarize(head, results)


def test_the_statistics_are_the_means_over_seeds_of_the_last_epoch(doc):
    a, b = doc["statistics"]["activations"]
    assert (a["activation"], b["activation"], doc["statistics"]["baseline"]) == ("a", "b", "a")
    assert a["seeds"] == [0, 3, 7]
    assert a["test_accuracy_points"]["mean"] == pytest.approx(93.0)           # not the median, 92
    assert a["means"]["grad_norms"]["conv1"] == pytest.approx(0.3)            # last epoch, not the first's 9
    assert a["means"]["dead_fraction"] == pytest.approx(0.1)                  # (0 + 0.1 + 0.2) / 3
    assert a["means"]["activations"]["conv1"]["std"] == pytest.approx(2.0)    # (1 + 2 + 3) / 3
    assert a["means"]["images_per_second"] == pytest.approx(200.0)
    # b − a by seed: −10, −2, −6 points: mean −6, sd 4, half-width t·4/√3
    d = b["vs_baseline"]
    half = T2 * 4.0 / math.sqrt(3.0)
    assert (d["n"], d["mean"]) == (3, pytest.approx(-6.0))
    assert (d["ci_low"], d["ci_high"]) == (pytest.approx(-6.0 - half), pytest.approx(-6.0 + half))
    assert d["verdict"] == "not distinguishable with 3 seeds"
    # the paired t-test by hand: t = −6/(4/√3); with 2 degrees of freedom the t CDF is ½ + t/(2√(2 + t²)),
    # so the two-sided p is 1 − |t|/√(2 + t²); one comparison, so Holm's p is the same; d_z = −6/4
    t = -6.0 / (4.0 / math.sqrt(3.0))
    assert d["p"] == pytest.approx(1 - abs(t) / math.sqrt(2 + t * t), rel=1e-12) == pytest.approx(0.12168, abs=1e-5)
    assert d["p_holm"] == pytest.approx(d["p"], rel=1e-15)
    assert d["d_z"] == pytest.approx(-1.5)


def test_report_tables_row_by_row(doc):
    half = T2 * 4.0 / math.sqrt(3.0)
    sd_a = math.sqrt(((90 - 93) ** 2 + (92 - 93) ** 2 + (97 - 93) ** 2) / 2)
    ci_a = T2 * sd_a / math.sqrt(3)
    assert statistics_table(doc).splitlines()[2:] == [
        f"| a | 3 | 93.00 [{93 - ci_a:.2f}, {93 + ci_a:.2f}] | 0.200 [-0.048, 0.448] | — | — | — | — | baseline | 0.3 "
        "| 10.0% | 200 |",
        f"| b | 3 | 87.00 [{87 - math.sqrt(37) * T2 / math.sqrt(3):.2f}, {87 + math.sqrt(37) * T2 / math.sqrt(3):.2f}] "
        f"| 0.200 [-0.048, 0.448] | -6.00 [{-6 - half:+.2f}, {-6 + half:+.2f}] | 0.122 | 0.122 | -1.50 "
        "| not distinguishable with 3 seeds | 3 | 10.0% | 200 |",
    ]
    rows = seeds_table(doc).splitlines()
    assert rows[0] == "| activation | seed 0 | seed 3 | seed 7 |"
    assert rows[2:] == ["| a | 90.00 | 92.00 | 97.00 |", "| b | 80.00 | 90.00 | 91.00 |"]
    assert gradients_table(doc).splitlines()[2:] == ["| a | 0.3 | 1 | 0.3 |", "| b | 3 | 1 | 3 |"]
    assert activations_table(doc).splitlines()[2:] == ["| a | 0.00 → 0.10 | 0.50 → 2.00 | 10.0% |",
                                                      "| b | 0.00 → 0.10 | 0.50 → 2.00 | 10.0% |"]
