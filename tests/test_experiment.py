"""The experiment core: seeds, tasks, the run folder, resuming, merging, determinism, summaries."""

import json

import pytest

from actcli import experiment
from actcli.config import Config
from actcli.errors import DataError, UsageProblem
from actcli.experiment import RunFolder, Task

from helpers import interrupt_training, without_timings

CFG = Config(epochs=1, device="cpu", precision="fp32")
HERE = experiment.Execution(jobs=1)


@pytest.fixture(scope="module")
def tiny(tiny_split):
    return tiny_split


@pytest.mark.parametrize("text, seeds", [("0-4", (0, 1, 2, 3, 4)), ("0,3,7", (0, 3, 7)), ("2", (2,)),
                                         ("0-2, 5", (0, 1, 2, 5)), (" 4 - 5 ", (4, 5))])
def test_parse_seeds(text, seeds):
    assert experiment.parse_seeds(text) == seeds


@pytest.mark.parametrize("text, says", [("3-1", "goes up"), ("a", "'a' is not a seed"), ("", "got nothing"),
                                        ("1,1", "seed 1 given twice"), ("0-2,2", "seed 2 given twice"),
                                        ("-1", "is not a seed"), ("1.5", "is not a seed"),
                                        ("0-99999999", "more than")])
def test_parse_seeds_rejects(text, says):
    with pytest.raises(UsageProblem, match=says):
        experiment.parse_seeds(text)


def test_plan_is_seed_major():
    assert experiment.plan(["relu", "elu"], [0, 1]) == [Task("relu", 0), Task("elu", 0), Task("relu", 1),
                                                       Task("elu", 1)]
    assert Task("relu", 3).key == "relu-seed3"


def test_config_is_written_first_and_a_different_one_is_refused(tmp_path, tiny):
    split, info = tiny
    head = experiment.header(CFG, info)
    folder = RunFolder.open(tmp_path / "run", head)
    assert json.loads((tmp_path / "run" / "config.json").read_text()) == json.loads(json.dumps(head))
    on_a_gpu = {**head, "config": {**head["config"], "device": "cuda"}}   # the same experiment elsewhere
    RunFolder.open(tmp_path / "run", on_a_gpu)
    other = experiment.header(Config(epochs=3, batch_size=64, device="cpu", precision="fp32"), info)
    with pytest.raises(UsageProblem, match=r"batch_size \(128 ≠ 64\); epochs \(1 ≠ 3\)"):
        RunFolder.open(folder.path, other)


def test_a_task_gives_the_same_numbers_alone_inside_a_run_and_resumed(tmp_path, tiny):
    split, info = tiny
    head = experiment.header(CFG, info)
    alone = RunFolder.open(tmp_path / "alone", head)
    experiment.run([Task("elu", 1)], alone, split, CFG, execution=HERE)
    bigger = RunFolder.open(tmp_path / "bigger", head)
    # the bigger run in two worker processes, as the CLI's default does: the same threads, the same numbers
    outcome = experiment.run(experiment.plan(["relu", "elu"], [0, 1]), bigger, split, CFG,
                             execution=experiment.Execution(jobs=2))
    assert len(outcome.ran) == 4 and not outcome.interrupted and outcome.execution["executor"] == "processes"
    resumed = RunFolder.open(tmp_path / "resumed", head)
    experiment.run([Task("relu", 0)], resumed, split, CFG, execution=HERE)
    again = experiment.run(experiment.plan(["relu", "elu"], [0, 1]), resumed, split, CFG, execution=HERE)
    assert again.skipped == [Task("relu", 0)] and len(again.ran) == 3
    want = without_timings(alone.results()[Task("elu", 1)])
    assert without_timings(bigger.results()[Task("elu", 1)]) == want
    assert without_timings(resumed.results()[Task("elu", 1)]) == want
    assert without_timings(bigger.results()[Task("elu", 0)]) != want          # the seed matters
    assert without_timings(bigger.results()[Task("relu", 0)]) == without_timings(resumed.results()[Task("relu", 0)])


def test_ctrl_c_keeps_what_finished(tmp_path, tiny, monkeypatch):
    split, info = tiny
    interrupt_training(monkeypatch, at_call=2)
    folder = RunFolder.open(tmp_path / "run", experiment.header(CFG, info))
    outcome = experiment.run(experiment.plan(["relu", "elu", "gelu"], [0]), folder, split, CFG, execution=HERE)
    assert outcome.interrupted and outcome.ran == [Task("relu", 0)]
    assert outcome.pending == [Task("elu", 0), Task("gelu", 0)]
    assert list(folder.results()) == [Task("relu", 0)]
    assert not list(folder.path.rglob(".*.part"))


def fake(activation, seed, accuracy, loss=0.1):
    return {"activation": activation, "seed": seed, "test_accuracy": accuracy, "test_loss": loss,
            "diverged": False, "epochs": [{"epoch": 1, "dead_fraction": 0.0, "grad_norms": {"conv1": 0.1, "fc2": 1.0},
                                           "activations": {"conv1": {"mean": seed, "std": 1.0, "dead_fraction": 0.0}},
                                           "images_per_second": 1000.0}], "images_per_second": 1000.0}


def test_summary_statistics_and_default_baseline():
    head = {"config": CFG.to_dict(), "dataset": {"name": "x"}}
    results = {Task(a, s): fake(a, s, acc) for a, s, acc in
               [("relu", 0, 0.960), ("relu", 1, 0.959), ("relu", 2, 0.958),
                ("gelu", 0, 0.955), ("gelu", 1, 0.950), ("gelu", 2, 0.959)]}
    doc = experiment.summarize(head, results)
    st = doc["statistics"]
    assert st["baseline"] == "relu" and [p["activation"] for p in st["activations"]] == ["relu", "gelu"]
    relu, gelu = st["activations"]
    assert relu["test_accuracy_points"]["mean"] == pytest.approx(95.9)
    assert relu["vs_baseline"] is None
    assert gelu["vs_baseline"]["mean"] == pytest.approx(-1.3 / 3)      # the paired test's own numbers
    assert gelu["vs_baseline"]["verdict"] == "not distinguishable with 3 seeds"
    assert [(r["activation"], r["seed"]) for r in doc["results"]] == [("relu", 0), ("relu", 1), ("relu", 2),
                                                                      ("gelu", 0), ("gelu", 1), ("gelu", 2)]
    chosen = experiment.summarize(head, results, baseline="gelu")["statistics"]["activations"]
    assert chosen[0]["vs_baseline"]["mean"] == pytest.approx(1.3 / 3)
    with pytest.raises(UsageProblem, match="'elu' is not among"):
        experiment.summarize(head, results, baseline="elu")


def test_summary_csv_has_every_task_and_the_statistics():
    import csv
    import io

    head = {"config": CFG.to_dict(), "dataset": {"name": "x"}}
    results = {Task("relu", s): fake("relu", s, 0.9 + s / 100) for s in range(3)}
    rows = list(csv.DictReader(io.StringIO(experiment.summary_csv(experiment.summarize(head, results)))))
    assert [r["seed"] for r in rows] == ["0", "1", "2", "all"]
    assert float(rows[-1]["accuracy_points_mean"]) == pytest.approx(91.0) and rows[-1]["verdict"] == "baseline"


def test_merge_agrees_or_names_the_keys(tmp_path, tiny):
    _, info = tiny
    a = RunFolder.open(tmp_path / "a", experiment.header(CFG, info))
    b = RunFolder.open(tmp_path / "b", experiment.header(CFG, {**info, "source": "elsewhere"}))
    a.save(Task("relu", 0), fake("relu", 0, 0.9))
    b.save(Task("relu", 1), fake("relu", 1, 0.91))
    b.save(Task("relu", 0), fake("relu", 0, 0.9))        # the same task, the same numbers: fine
    head, results = experiment.merge([a, b])
    assert sorted(results) == [Task("relu", 0), Task("relu", 1)]
    c = RunFolder.open(tmp_path / "c", experiment.header(Config(epochs=2, device="cpu", precision="fp32"), info))
    c.save(Task("relu", 2), fake("relu", 2, 0.9))
    with pytest.raises(UsageProblem, match=r"different experiments: epochs \(1 ≠ 2\)"):
        experiment.merge([a, c])
    d = RunFolder.open(tmp_path / "d", experiment.header(CFG, info))
    d.save(Task("relu", 0), fake("relu", 0, 0.5))
    with pytest.raises(UsageProblem, match="relu-seed0 is in both"):
        experiment.merge([a, d])


def test_broken_folders_are_named(tmp_path, tiny):
    _, info = tiny
    with pytest.raises(DataError, match="no config.json"):
        RunFolder(tmp_path).header()
    folder = RunFolder.open(tmp_path / "run", experiment.header(CFG, info))
    with pytest.raises(DataError, match="no finished tasks"):
        experiment.merge([folder])
    bad = folder.path / "results" / "relu-seed0.json"
    bad.write_text('{"activation": "relu", "se')
    with pytest.raises(DataError, match="relu-seed0.json: not a JSON document"):
        folder.results()
    bad.write_text('{"activation": "relu"}')
    with pytest.raises(DataError, match="relu-seed0.json: not a task result"):
        folder.results()
    bad.write_text(json.dumps(fake("elu", 0, 0.9)))
    with pytest.raises(DataError, match="holds the task elu-seed0"):
        folder.results()


def test_merge_ignores_timings_and_checks_every_folders_formulas(tmp_path, tiny):
    _, info = tiny
    a = RunFolder.open(tmp_path / "a", experiment.header(CFG, info))
    b = RunFolder.open(tmp_path / "b", experiment.header(CFG, info))
    a.save(Task("relu", 0), fake("relu", 0, 0.9))
    b.save(Task("relu", 0), {**fake("relu", 0, 0.9), "images_per_second": 2000.0, "seconds": 3.0})
    assert list(experiment.merge([a, b])[1]) == [Task("relu", 0)]           # the same task, timed apart

    def with_formula(name, formula):
        return experiment.header(Config(epochs=1, device="cpu", precision="fp32", definitions={name: formula}), info)

    c = RunFolder.open(tmp_path / "c", with_formula("f", "x*x"))
    d = RunFolder.open(tmp_path / "d", with_formula("f", "tanh(x)"))
    for folder in (c, d):
        folder.save(Task("f", 1), fake("f", 1, 0.5))
    with pytest.raises(UsageProblem, match=r"definition of f \('x\*x' ≠ 'tanh\(x\)'\)"):
        experiment.merge([a, c, d])                    # a has no formulas: c and d must still agree
    head, _ = experiment.merge([a, c])
    assert head["config"]["definitions"] == {"f": "x*x"}


def test_per_layer_means_over_seeds_and_their_csv_columns():
    head = {"config": CFG.to_dict(), "dataset": {"name": "x"}}
    doc = experiment.summarize(head, {Task("relu", s): fake("relu", s, 0.9) for s in (0, 1, 2)})
    means = doc["statistics"]["activations"][0]["means"]
    assert means["grad_norms"] == {"conv1": pytest.approx(0.1), "fc2": 1.0}
    assert means["activations"] == {"conv1": {"mean": 1.0, "std": 1.0, "dead_fraction": 0.0}}   # seeds 0, 1, 2
    header = experiment.summary_csv(doc).splitlines()[0].split(",")
    assert header[header.index("dead_fraction") + 1:][:5] == ["grad_norm_conv1", "grad_norm_fc2", "conv1_mean",
                                                              "conv1_std", "conv1_dead_fraction"]


def test_a_result_from_before_the_per_layer_numbers_reads_in_todays_shape(tmp_path):
    folder = RunFolder.open(tmp_path / "old", {"config": CFG.to_dict(), "dataset": {"name": "x"}})
    old = {"activation": "elu", "seed": 0, "test_accuracy": 0.9, "test_loss": 0.3, "diverged": False,
           "epochs": [{"epoch": 1, "grad_norm_first": 0.2, "grad_norm_last": 0.7, "dead_fraction": None}]}
    folder.save(Task("elu", 0), old)
    (epoch,) = folder.results()[Task("elu", 0)]["epochs"]
    assert epoch == {"epoch": 1, "grad_norms": {"conv1": 0.2, "fc2": 0.7}, "activations": {}}
    assert experiment.summarize(folder.header(), folder.results())["statistics"]["activations"][0]["means"][
        "grad_norms"] == {"conv1": 0.2, "fc2": 0.7}


@pytest.mark.parametrize("epoch, field", [
    ("not an epoch", "epochs"), ({"grad_norms": None}, "grad_norms"), ({"grad_norms": {"conv1": "big"}}, "grad_norms"),
    ({"activations": {"conv1": 3}}, "activations"), ({"activations": {"conv1": {"mean": [1]}}}, "activations"),
])
def test_a_result_with_malformed_layers_is_named(tmp_path, epoch, field):
    folder = RunFolder.open(tmp_path / "run", {"config": CFG.to_dict(), "dataset": {"name": "x"}})
    folder.save(Task("relu", 0), {"activation": "relu", "seed": 0, "test_accuracy": 0.9, "epochs": [epoch]})
    with pytest.raises(DataError, match=f"relu-seed0.json: not a task result \\(missing or bad '{field}'\\)"):
        folder.results()
