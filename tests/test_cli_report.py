"""`actcli report`: the summary of finished runs, from their folders, without training."""

import json

import pytest

from helpers import one_line_error, without_timings, write_mnist_like


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Seeds 0-1 in one folder; seed 0 and seed 1 in two others, as if run on two machines."""
    from click.testing import CliRunner

    from actcli.cli import cli

    root = tmp_path_factory.mktemp("runs")
    tiny = write_mnist_like(root / "data", n_train=300, n_test=100)
    docs = {}
    for name, seeds in (("both", "0-1"), ("s0", "0"), ("s1", "1")):
        result = CliRunner().invoke(cli, ["compare", "--data-dir", str(tiny), "--activations", "relu,elu",
                                          "--epochs", "1", "--seeds", seeds, "-o", str(root / name), "--json", "-q",
                                          "--jobs", "1", "--threads", "1"],   # compared: one thread count
                                    catch_exceptions=False)
        assert result.exit_code == 0, result.stderr
        docs[name] = json.loads(result.stdout)
    return root, docs


def results_without_timings(doc):
    return [without_timings(r) for r in doc["results"]]


def test_report_reproduces_compares_document(invoke, runs):
    root, docs = runs
    result = invoke("report", root / "both", "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == {k: v for k, v in docs["both"].items() if k != "run"}
    text = invoke("report", root / "both")
    assert "Δ vs" in text.stdout and "4 tasks from 1 folder; wrote the summaries to" in text.stdout


def test_the_table_fits_80_columns_whatever_the_baseline(invoke, runs):
    root, _ = runs
    for baseline in ("relu", "elu"):
        lines = invoke("report", root / "both", "--baseline", baseline, env={"COLUMNS": "80"}).stdout.splitlines()
        assert max(map(len, lines[:-1])) <= 80                # the table; the last line names the folder
        header = next(i for i, line in enumerate(lines) if " activation " in line)
        assert lines[header].rstrip().endswith("dead")
        rows = [line for line in lines[header:] if line.split()[:1] in (["relu"], ["elu"])]
        assert len(rows) == 2 and all(row.rstrip().endswith("%") for row in rows)   # the dead column, whole


def test_one_seed_table_has_no_verdict_column_but_one_line_under_it(invoke, runs):
    from actcli.tables import SINGLE_SEED_NOTE

    root, _ = runs
    out = invoke("report", root / "s0", env={"COLUMNS": "80"}).stdout
    assert "verdict" not in out.replace(SINGLE_SEED_NOTE, "") and "no interval with" not in out
    assert out.count(SINGLE_SEED_NOTE) == 1 and len(SINGLE_SEED_NOTE) <= 80 and "--seeds 0-4" in SINGLE_SEED_NOTE
    table, note = out.split(SINGLE_SEED_NOTE)
    assert "elu" in table and "relu" in table and "dead" in table          # the note comes under the table
    both = invoke("report", root / "both", env={"COLUMNS": "80"}).stdout
    assert "verdict" in both and SINGLE_SEED_NOTE not in both


def test_report_merges_folders_that_agree(invoke, runs, tmp_path):
    root, docs = runs
    merged = json.loads(invoke("report", root / "s0", root / "s1", "-o", tmp_path / "m", "--json").stdout)
    assert results_without_timings(merged) == results_without_timings(docs["both"])   # each task's numbers are its own
    assert [p["test_accuracy_points"]["n"] for p in merged["statistics"]["activations"]] == [2, 2]
    assert sorted(p.name for p in (tmp_path / "m" / "results").iterdir()) == [
        "elu-seed0.json", "elu-seed1.json", "relu-seed0.json", "relu-seed1.json"]
    assert (tmp_path / "m" / "curves.png").exists() and (tmp_path / "m" / "summary.csv").exists()
    assert json.loads(invoke("report", tmp_path / "m", "--json").stdout)["results"] == merged["results"]
    printed = invoke("report", root / "s0", root / "s1")
    assert "4 tasks from 2 folders" in printed.stdout and "wrote" not in printed.stdout


def test_report_baseline(invoke, runs):
    root, _ = runs
    doc = json.loads(invoke("report", root / "both", "--baseline", "elu", "--json").stdout)
    assert doc["statistics"]["baseline"] == "elu"
    assert "not among the activations (" in one_line_error(invoke("report", root / "both", "--baseline", "gelu"))


def copy_run(src, dst):
    import shutil

    shutil.copytree(src, dst)
    return dst


def test_report_bad_folders(invoke, runs, tmp_path):
    root, _ = runs
    before = {p.name: p.stat().st_mtime_ns for p in (root / "s0").iterdir()}
    assert "does not exist" in one_line_error(invoke("report", tmp_path / "nope"))
    (tmp_path / "empty").mkdir()
    assert "no config.json" in one_line_error(invoke("report", tmp_path / "empty"), code=1)
    bare = copy_run(root / "s0", tmp_path / "bare")
    for p in (bare / "results").iterdir():
        p.unlink()
    assert "no finished tasks" in one_line_error(invoke("report", bare), code=1)
    broken = copy_run(root / "s0", tmp_path / "broken")
    (broken / "results" / "relu-seed0.json").write_text('{"activation": "relu", "seed": 0, "test_acc')
    err = one_line_error(invoke("report", broken), code=1)
    assert "relu-seed0.json: not a JSON document" in err
    other = copy_run(root / "s1", tmp_path / "other")
    config = json.loads((other / "config.json").read_text())
    config["config"]["epochs"] = 3
    (other / "config.json").write_text(json.dumps(config))
    err = one_line_error(invoke("report", root / "s0", other))
    assert "hold different experiments: epochs (1 ≠ 3)" in err
    assert {p.name: p.stat().st_mtime_ns for p in (root / "s0").iterdir()} == before  # nothing written on failure


def test_a_damaged_result_is_one_line_and_a_resume_writes_nothing(invoke, runs, tmp_path):
    """The issue's example: a number as text ends report and a compare resume in one line naming the file
    and the field (it was a TypeError traceback); the good results and config.json stay as they were."""
    root, _ = runs
    damaged = copy_run(root / "both", tmp_path / "damaged")
    bad = damaged / "results" / "relu-seed0.json"
    result = json.loads(bad.read_text())
    result["epochs"][0]["val_accuracy"] = "ninety"
    bad.write_text(json.dumps(result))
    before = {p: p.read_bytes() for p in damaged.rglob("*") if p.is_file()}
    says = f"{bad}: epochs[0].val_accuracy: expected a number, got 'ninety'"
    assert one_line_error(invoke("report", damaged), code=1) == f"Error: {says}"
    resume = invoke("compare", "--data-dir", root / "data", "--activations", "relu,elu,gelu", "--epochs", "1",
                    "--seeds", "0-1", "-o", damaged, "-q", "--jobs", "1", "--define", "f=x*sigmoid(x)")
    assert one_line_error(resume, code=1) == f"Error: {says}"
    assert {p: p.read_bytes() for p in damaged.rglob("*") if p.is_file()} == before
