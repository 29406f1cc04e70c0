"""The experiment core: seeds, tasks, the run folder, resuming, merging, determinism, summaries."""

import json
import math
import re

import pytest

from actcli import experiment
from actcli.config import Config
from actcli.errors import DataError, UsageProblem
from actcli.experiment import RunFolder, Task
from actcli.records import SCHEMA_VERSION

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
    """A whole result, as training writes one, with one epoch of made-up numbers."""
    from actcli.records import Epoch, Result

    epoch = Epoch(1, 0.5, 0.8, loss, accuracy, 1.0, 1000.0, {"conv1": 0.1, "fc2": 1.0},
                  {"conv1": {"mean": seed, "std": 1.0, "dead_fraction": 0.0}}, 0.0)
    return Result(activation, seed, epochs=[epoch], test_loss=loss, test_accuracy=accuracy).to_dict()


# config.json as a run of CFG on a made-up dataset writes it
HEAD = {"config": CFG.to_dict(), "dataset": {"name": "x", "requested": "x", "source": "made up", "train": 9,
                                             "val": 1, "test": 1}}


def test_summary_statistics_and_default_baseline():
    head = HEAD
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

    head = HEAD
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
    with pytest.raises(DataError, match=r"relu-seed0.json: seed: missing \(and 14 more\)"):
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
    head = HEAD
    doc = experiment.summarize(head, {Task("relu", s): fake("relu", s, 0.9) for s in (0, 1, 2)})
    means = doc["statistics"]["activations"][0]["means"]
    assert means["grad_norms"] == {"conv1": pytest.approx(0.1), "fc2": 1.0}
    assert means["activations"] == {"conv1": {"mean": 1.0, "std": 1.0, "dead_fraction": 0.0}}   # seeds 0, 1, 2
    header = experiment.summary_csv(doc).splitlines()[0].split(",")
    assert header[header.index("dead_fraction") + 1:][:5] == ["grad_norm_conv1", "grad_norm_fc2", "conv1_mean",
                                                              "conv1_std", "conv1_dead_fraction"]


def old_result():
    """A result as actcli wrote it before the per-layer numbers (schema 1, no "schema" in config.json)."""
    epoch = {k: v for k, v in fake("elu", 0, 0.9)["epochs"][0].items() if k not in ("grad_norms", "activations")}
    old = {k: v for k, v in fake("elu", 0, 0.9).items() if k != "activations_at_init"}
    return {**old, "activations_at_init": {},
            "epochs": [{**epoch, "grad_norm_first": 0.2, "grad_norm_last": 0.7, "dead_fraction": None}]}


def test_a_result_from_before_the_per_layer_numbers_reads_in_todays_shape(tmp_path):
    folder = RunFolder.open(tmp_path / "old", {k: v for k, v in HEAD.items() if k != "schema"})
    folder.save(Task("elu", 0), old_result())
    (epoch,) = folder.results()[Task("elu", 0)]["epochs"]
    assert epoch["grad_norms"] == {"conv1": 0.2, "fc2": 0.7} and epoch["activations"] == {}
    assert math.isnan(epoch["dead_fraction"]) and "grad_norm_first" not in epoch
    assert experiment.summarize(folder.header(), folder.results())["statistics"]["activations"][0]["means"][
        "grad_norms"] == {"conv1": 0.2, "fc2": 0.7}


def test_schema_versions(tmp_path):
    """A folder of today's schema does not take the old shape; a newer one asks for an upgrade; 0 never was."""
    folder = RunFolder.open(tmp_path / "new", experiment.header(CFG, HEAD["dataset"]))
    assert folder.header()["schema"] == SCHEMA_VERSION
    folder.save(Task("elu", 0), old_result())
    with pytest.raises(DataError, match=r"elu-seed0.json: epochs\[0\].grad_norms: missing"):
        folder.results()
    config = folder.path / "config.json"
    for version, says in ((SCHEMA_VERSION + 1, rf"config.json: written by a newer actcli \(run-folder schema "
                                                 rf"{SCHEMA_VERSION + 1}; this one reads up to {SCHEMA_VERSION}\): "
                                                 r"upgrade actcli"),
                          (0, r"config.json: schema: expected a number ≥ 1, got 0"),
                          ("2", r"config.json: schema: expected a whole number, got '2'")):
        config.write_text(json.dumps({**json.loads(config.read_text()), "schema": version}))
        with pytest.raises(DataError, match=says):
            folder.results()


def damage(doc, path, value):
    """`doc` with the value at `path` (keys and indices) replaced; DROP removes the key."""
    import copy

    doc = copy.deepcopy(doc)
    *parents, last = path
    where = doc
    for key in parents:
        where = where[key]
    if value is DROP:
        del where[last]
    else:
        where[last] = value
    return doc


DROP = object()


@pytest.mark.parametrize("path, value, says", [
    (("epochs", 0, "val_accuracy"), "ninety", "epochs[0].val_accuracy: expected a number, got 'ninety'"),
    (("test_accuracy",), "0.9", "test_accuracy: expected a number, got '0.9'"),
    (("test_accuracy",), 1.5, "test_accuracy: expected a number in [0, 1], got 1.5"),
    (("test_accuracy",), "nan", "test_accuracy: expected a finite number, got nan"),
    (("epochs", 0, "train_accuracy"), -0.1, "epochs[0].train_accuracy: expected a number in [0, 1], got -0.1"),
    (("epochs", 0, "seconds"), "inf", "epochs[0].seconds: expected a finite number, got inf"),
    (("seed",), -1, "seed: expected a number in [0, 18446744073709551615], got -1"),
    (("seed",), 0.0, "seed: expected a whole number, got 0.0"),
    (("seed",), True, "seed: expected a whole number, got true"),
    (("threads",), 0, "threads: expected a number ≥ 1, got 0"),
    (("diverged",), "no", "diverged: expected true or false, got 'no'"),
    (("epochs",), {}, "epochs: expected a list, got an object"),
    (("epochs", 0), [], "epochs[0]: expected an object, got a list"),
    (("epochs", 0, "grad_norms", "conv1"), "big", "epochs[0].grad_norms.conv1: expected a number, got 'big'"),
    (("epochs", 0, "grad_norms"), None, "epochs[0].grad_norms: expected an object, got null"),
    (("activations_at_init", "conv1"), 3, "activations_at_init.conv1: expected an object, got 3"),
    (("epochs", 0, "activations", "conv1", "mean"), [1], "epochs[0].activations.conv1.mean: expected a number, "
                                                         "got a list"),
    (("epochs", 0, "val_loss"), DROP, "epochs[0].val_loss: missing"),
    (("test_loss",), DROP, "test_loss: missing"),
    (("test_acuracy",), 0.9, "test_acuracy: not a field of this file (unknown keys are refused)"),
    (("epochs", 0, "extra"), 1, "epochs[0].extra: not a field of this file"),
])
def test_a_damaged_result_names_the_file_and_the_field(tmp_path, path, value, says):
    folder = RunFolder.open(tmp_path / "run", HEAD)
    folder.save(Task("relu", 0), damage(fake("relu", 0, 0.9), path, value))
    with pytest.raises(DataError) as caught:
        folder.results()
    assert str(caught.value).startswith(f"{folder.path}/results/relu-seed0.json: {says}"), str(caught.value)


@pytest.mark.parametrize("path, value", [(("test_loss",), "nan"), (("epochs", 0, "val_loss"), "inf"),
                                         (("epochs", 0, "grad_norms", "fc1"), "inf"), (("diverged_epoch",), 1),
                                         (("epochs", 0, "activations", "conv1", "std"), "nan")])
def test_a_diverged_tasks_non_finite_numbers_are_read(tmp_path, path, value):
    folder = RunFolder.open(tmp_path / "run", HEAD)
    folder.save(Task("relu", 0), damage(fake("relu", 0, 0.9), path, value))
    result = folder.results()[Task("relu", 0)]
    got = result
    for key in path:
        got = got[key]
    assert got == value or (isinstance(got, float) and str(got) == value)


def test_a_damaged_config_names_the_field(tmp_path):
    folder = RunFolder.open(tmp_path / "run", HEAD)
    config = folder.path / "config.json"
    for path, value, says in [(("config", "epochs"), "5", "config.epochs: expected a whole number, got '5'"),
                              (("config", "clip"), "hard", "config.clip: expected 'value', 'norm' or 'none', got "
                                                           "'hard'"),
                              (("config", "limit"), 0, "config.limit: expected a number ≥ 1, got 0"),
                              (("dataset", "train"), -3, "dataset.train: expected a number ≥ 0, got -3"),
                              (("dataset",), DROP, "dataset: missing")]:
        config.write_text(json.dumps(damage(HEAD, path, value)))
        with pytest.raises(DataError) as caught:
            folder.header()
        assert str(caught.value) == f"{config}: {says}"


def deep(n):
    return "[" * n + "]" * n


def test_files_that_are_not_results_are_named(tmp_path):
    """Nested past the parser, larger than any result, a directory, a FIFO, a symlink loop."""
    import os

    from actcli.experiment import schema

    folder = RunFolder.open(tmp_path / "run", HEAD)
    bad = folder.path / "results" / "relu-seed0.json"
    for text, says in [('{"activation": ' + deep(100_000) + "}", "not a JSON document (nested too deep)"),
                       ("[" * 150 + "]" * 150, "expected an object, got a list")]:
        bad.write_text(text)
        with pytest.raises(DataError, match=re.escape(f"relu-seed0.json: {says}")):
            folder.results()
    with open(bad, "wb") as handle:
        handle.truncate(schema.MAX_BYTES + 1)          # sparse: no disk used
    with pytest.raises(DataError, match="relu-seed0.json: larger than any run-folder file .64 MiB."):
        folder.results()
    bad.unlink()
    bad.mkdir()
    with pytest.raises(DataError, match=r"relu-seed0.json: not a regular file \(a directory\)"):
        folder.results()
    bad.rmdir()
    os.mkfifo(bad)                                      # reading must not wait on it
    with pytest.raises(DataError, match=r"relu-seed0.json: not a regular file \(a FIFO\)"):
        folder.results()
    bad.unlink()
    bad.symlink_to(bad)
    with pytest.raises(DataError, match=r"relu-seed0.json: cannot be read \(Too many levels of symbolic links\)"):
        folder.results()
    bad.unlink()
    (folder.path / "config.json").unlink()
    (folder.path / "config.json").mkdir()
    with pytest.raises(DataError, match=r"config.json: not a regular file \(a directory\)"):
        folder.header()


def test_nothing_is_written_when_an_existing_folder_is_damaged(tmp_path, tiny):
    _, info = tiny
    head = experiment.header(CFG, info)
    folder = RunFolder.open(tmp_path / "run", head)
    folder.save(Task("relu", 0), fake("relu", 0, 0.9))
    folder.save(Task("elu", 0), {**fake("elu", 0, 0.9), "test_accuracy": "ninety"})
    before = {p: p.read_bytes() for p in folder.path.rglob("*") if p.is_file()}
    with_formula = experiment.header(Config(epochs=1, device="cpu", precision="fp32", definitions={"f": "x"}), info)
    with pytest.raises(DataError, match="elu-seed0.json: test_accuracy"):
        RunFolder.open(folder.path, with_formula)      # a formula joining would rewrite config.json
    assert {p: p.read_bytes() for p in folder.path.rglob("*") if p.is_file()} == before


# config.json's keys and a result's fields that actcli did not write before the schema had a number, written
# here by hand: a folder of schema 1 may lack them (and holds their defaults), one of schema 2 may not
ADDED_SINCE_1 = {"config": ["model", "width", "dropout", "init", "model_hash", "threads", "definitions",
                            "monotonic_formulas"], "result": ["threads", "pool_first", "activations_at_init"]}


@pytest.mark.parametrize("key", ADDED_SINCE_1["config"])
def test_a_config_key_added_since_schema_1_may_be_absent_only_from_an_older_folder(tmp_path, key):
    old = {**HEAD, "config": {k: v for k, v in HEAD["config"].items() if k != key}}
    assert "schema" not in old
    folder = RunFolder.open(tmp_path / "old", old)
    assert key not in folder.header()["config"]                 # read as it is, not filled in
    newer = RunFolder.open(tmp_path / "new", {**old, "schema": SCHEMA_VERSION})
    with pytest.raises(DataError, match=rf"config.json: config.{key}: missing$"):
        newer.header()


@pytest.mark.parametrize("key", ADDED_SINCE_1["result"])
def test_a_result_field_added_since_schema_1_may_be_absent_only_from_an_older_folder(tmp_path, key):
    result = {k: v for k, v in fake("relu", 0, 0.9).items() if k != key}
    old = RunFolder.open(tmp_path / "old", HEAD)
    old.save(Task("relu", 0), result)
    assert key not in old.results()[Task("relu", 0)]
    new = RunFolder.open(tmp_path / "new", {**HEAD, "schema": SCHEMA_VERSION})
    new.save(Task("relu", 0), result)
    with pytest.raises(DataError, match=rf"relu-seed0.json: {key}: missing$"):
        new.results()


@pytest.mark.parametrize("change, says", [
    ({"width": None}, "config.width: expected a number for model 'mlp', got null"),
    ({"dropout": None}, "config.dropout: expected a number for model 'mlp', got null"),
    ({"width": 0}, "config.width: expected a number in [1, 16384], got 0"),
    ({"dropout": 1.5}, "config.dropout: expected a number in [0, 1], got 1.5"),
    ({"init": "xavier"}, "config.init: expected 'auto', 'glorot', 'he', 'lecun' or 'critical', got 'xavier'"),
])
def test_an_mlp_config_has_a_width_and_a_dropout(tmp_path, change, says):
    """report describes the MLP by its width and dropout (a null dropout was a TypeError traceback)."""
    mlp = Config(model="mlp", width=8, dropout=0.0, epochs=1, device="cpu", precision="fp32")
    head = {**HEAD, "config": {**mlp.to_dict(), **change}, "schema": SCHEMA_VERSION}
    folder = RunFolder.open(tmp_path / "run", head)
    with pytest.raises(DataError) as caught:
        folder.header()
    assert str(caught.value) == f"{folder.path / 'config.json'}: {says}"
    cnn = {**HEAD, "config": {**CFG.to_dict(), "width": None, "dropout": None}, "schema": SCHEMA_VERSION}
    assert RunFolder.open(tmp_path / "cnn", cnn).header()["config"]["width"] is None   # the CNN has neither


def test_a_result_of_a_depth_reads_with_its_task(tmp_path):
    from actcli.records import Epoch, Result

    epoch = Epoch(1, 0.5, 0.8, 0.1, 0.9, 1.0, 1000.0, {"fc1": 0.1, "out": 1.0},
                  {"fc1": {"mean": 0.0, "std": 1.0, "dead_fraction": 0.0}}, 0.0)
    deep = Result("relu", 2, depth=16, epochs=[epoch], test_loss=0.1, test_accuracy=0.9).to_dict()
    folder = RunFolder.open(tmp_path / "run", experiment.header(CFG, HEAD["dataset"]))
    folder.save(Task("relu", 2, 16), deep)
    assert list(folder.results()) == [Task("relu", 2, 16)]
    for bad, says in [({"depth": 0}, "depth: expected a number in [1, 1000], got 0"),
                      ({"depth": 2.0}, "depth: expected a whole number, got 2.0"),
                      ({"depth": 8}, "holds the task relu-d8-seed2, not what its name says")]:
        folder.save(Task("relu", 2, 16), {**deep, **bad})
        with pytest.raises(DataError, match=re.escape(f"relu-d16-seed2.json: {says}")):
            folder.results()


def test_a_result_file_holds_the_fields_of_its_dataclass():
    """What training writes (Result.to_dict) and what the schema reads (the dataclass's fields and DERIVED)
    are one list: a field added to one and not the other fails here, not in a user's folder."""
    import dataclasses

    from actcli.records import Epoch, Result

    epoch = Epoch(1, 0.5, 0.8, 0.1, 0.9, 1.0, 1000.0, {}, {}, 0.0)
    fields = {f.name for f in dataclasses.fields(Result)} | set(Result.DERIVED)
    assert set(Result("relu", 0, depth=8, epochs=[epoch]).to_dict()) == fields
    assert set(Result("relu", 0, epochs=[epoch]).to_dict()) == fields - {"depth"}   # no axis, no key
    assert set(Result("relu", 0, epochs=[epoch]).to_dict()["epochs"][0]) == {f.name for f in dataclasses.fields(Epoch)}


def test_a_resume_reads_each_file_once_before_it_trains(tmp_path, monkeypatch):
    """Experiment.run reads the folder whole before the data loads (a damaged one fails first), once."""
    from actcli.experiment import schema

    from helpers import write_mnist_like

    tiny_dir = write_mnist_like(tmp_path / "digits", n_train=200, n_test=60)

    planned = experiment.prepare(["relu", "elu"], (0,), epochs=1, device="cpu", precision="fp32",
                                 threads=1, execution=HERE)
    planned.run(tmp_path / "run", data_dir=tiny_dir, offline=True)
    (tmp_path / "run" / "results" / "elu-seed0.json").unlink()
    reads = []
    real = schema.read_result
    monkeypatch.setattr(schema, "read_result", lambda path, *a: reads.append(path.name) or real(path, *a))
    _, outcome = planned.run(tmp_path / "run", data_dir=tiny_dir, offline=True)
    assert outcome.skipped == [Task("relu", 0)] and outcome.ran == [Task("elu", 0)]
    assert reads == ["relu-seed0.json"]
