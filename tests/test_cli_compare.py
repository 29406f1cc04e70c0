"""`actcli compare` end to end on CPU, in seconds; its files, its faults, Ctrl-C."""

import csv
import json
import re
from pathlib import Path

import pytest
import torch


from helpers import interrupt_training, one_line_error, write_mnist_like

FASHION = Path("/usr/share/datasets/fashion-mnist")


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    return write_mnist_like(tmp_path_factory.mktemp("mnist"), n_train=400, n_test=100)


def test_end_to_end(invoke, tiny_dir, tmp_path):
    out = tmp_path / "run"
    result = invoke("compare", "--data-dir", tiny_dir, "--activations", "relu,sigmoid", "--epochs", "2",
                    "-o", out, "--json", "--seed", "1", "--jobs", "1", "--threads", "2")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert set(doc) == {"config", "dataset", "versions", "results", "statistics", "run"}
    assert doc["dataset"] == {"name": "mnist", "requested": "mnist", "source": str(tiny_dir),
                              "train": 360, "val": 40, "test": 100}
    assert [(r["activation"], r["seed"]) for r in doc["results"]] == [("relu", 1), ("sigmoid", 1)]
    r = doc["results"][0]
    assert set(r) >= {"activation", "seed", "test_accuracy", "test_loss", "best_val_accuracy", "diverged", "epochs"}
    assert set(r["epochs"][0]) >= {"epoch", "train_loss", "train_accuracy", "val_loss", "val_accuracy", "seconds",
                                   "images_per_second", "grad_norms", "activations", "dead_fraction"}
    assert set(r["activations_at_init"]) == set(r["epochs"][0]["activations"]) == {"conv1", "conv2", "fc1"}
    assert doc["config"]["precision"] in ("fp32", "bf16") and doc["config"]["clip"] == "value"
    assert doc["statistics"]["baseline"] == "relu"
    assert doc["statistics"]["activations"][1]["vs_baseline"]["verdict"] == "no interval with 1 seed"
    assert doc["run"] == {"ran": 2, "skipped": 0, "not_run": 0, "failed": {}, "interrupted": False,
                          "execution": {"executor": "this process", "jobs": 1, "threads": 2}, "lost": None,
                          "output": str(out)}
    assert doc["config"]["threads"] == 2 and all(r["threads"] == 2 for r in doc["results"])
    assert sorted(p.name for p in out.iterdir()) == ["activations.png", "config.json", "curves.png", "gradients.png",
                                                    "history.json", "report.md", "results", "summary.csv"]
    report = (out / "report.md").read_text()
    assert "| relu | 1 |" in report and "no interval can be given" in report
    linked = re.findall(r"\]\(([^)]+)\)", report)
    assert linked == ["curves.png", "gradients.png", "activations.png"]
    assert all((out / name).is_file() for name in linked)
    assert "## Inside the network" in report and "| relu | " in report.split("## Inside the network")[1]
    assert sorted(p.name for p in (out / "results").iterdir()) == ["relu-seed1.json", "sigmoid-seed1.json"]
    history = json.loads((out / "history.json").read_text())
    assert history == {k: v for k, v in doc.items() if k != "run"}
    rows = list(csv.DictReader((out / "summary.csv").open()))
    assert [(row["activation"], row["seed"]) for row in rows] == [("relu", "1"), ("sigmoid", "1"), ("relu", "all"),
                                                                  ("sigmoid", "all")]
    assert json.loads((out / "config.json").read_text())["config"]["epochs"] == 2


def test_seeds_statistics_and_resume(invoke, tiny_dir, tmp_path):
    out = tmp_path / "run"
    args = ("compare", "--data-dir", tiny_dir, "--activations", "relu,elu", "--epochs", "1", "-o", out, "--jobs", "1")
    first = json.loads(invoke(*args, "--seeds", "0-1", "--json", "-q").stdout)
    assert first["run"]["ran"] == 4
    acc = first["statistics"]["activations"][0]["test_accuracy_points"]
    assert acc["n"] == 2 and acc["ci_low"] <= acc["mean"] <= acc["ci_high"]
    more = invoke(*args, "--seeds", "0-2", "--baseline", "elu")
    assert more.exit_code == 0, more.stderr
    assert "4 of 6 tasks already done; running the other 2" in more.stderr
    assert "Δ vs elu" in more.stdout and "wrote 6 of 6 tasks" in more.stdout
    assert len(list((out / "results").iterdir())) == 6
    other = invoke(*args, "--seeds", "0", "--batch-size", "64")
    assert "holds a run with another config: batch_size (128 ≠ 64)" in one_line_error(other)
    assert len(list((out / "results").iterdir())) == 6
    # the learning rate is an axis, as the seeds are: another rate joins the folder
    rate = invoke(*args, "--seeds", "0", "--lr", "0.01", "-q")
    assert rate.exit_code == 0, rate.stderr
    assert sorted(p.name for p in (out / "results").glob("*lr*")) == ["elu-lr0.01-seed0.json", "relu-lr0.01-seed0.json"]


def test_text_output_and_plain_progress(invoke, tiny_dir, tmp_path):
    result = invoke("compare", "--data-dir", tiny_dir, "--activations", "relu", "--epochs", "1", "-o", tmp_path)
    assert result.exit_code == 0
    assert "activation" in result.stdout and "1 epoch, 1 seed" in result.stdout
    assert any(line.split()[:2] == ["relu", "1"] for line in result.stdout.splitlines())   # name, n
    assert f"wrote 1 of 1 tasks to {tmp_path}/" in result.stdout
    assert "relu       seed 0  epoch 1/1  loss" in result.stderr and " s\n" in result.stderr  # a line per epoch
    quiet = invoke("compare", "--data-dir", tiny_dir, "--activations", "relu", "--epochs", "1", "-o", tmp_path, "-q")
    assert quiet.stderr == ""


def test_sample_fallback_notice(invoke, tmp_path):
    result = invoke("compare", "--data-dir", tmp_path / "empty", "--activations", "relu", "--epochs", "1",
                    "--limit", "128", "-o", tmp_path / "o", "--json")
    assert result.exit_code == 0
    assert "bundled sample" in result.stderr and json.loads(result.stdout)["dataset"]["source"] == "bundled sample"


def test_divergence_marks_one_and_the_others_go_on(invoke, tiny_dir, tmp_path):
    doc = json.loads(invoke("compare", "--data-dir", tiny_dir, "--activations", "relu,elu", "--epochs", "2",
                            "--lr", "1e8", "--no-clip", "-o", tmp_path, "--json", "-q").stdout)
    assert all(r["diverged"] and r["diverged_epoch"] == 1 for r in doc["results"])
    assert len(doc["results"]) == 2


def test_ctrl_c_keeps_what_finished(invoke, tiny_dir, tmp_path, monkeypatch):
    interrupt_training(monkeypatch, at_call=2)
    result = invoke("compare", "--data-dir", tiny_dir, "--activations", "relu,elu,gelu", "--epochs", "1",
                    "--jobs", "1", "-o", tmp_path)
    assert result.exit_code == 130
    assert "interrupted: kept 1 of 3" in result.stdout
    history = json.loads((tmp_path / "history.json").read_text())
    assert [r["activation"] for r in history["results"]] == ["relu"]
    assert (tmp_path / "curves.png").exists() and not list(tmp_path.rglob(".*.part"))


@pytest.mark.parametrize("args, says", [
    (["--epochs", "0"], "Invalid value for '--epochs': 0 is not in the range x>=1"),
    (["--batch-size", "-1"], "Invalid value for '--batch-size': -1 is not in the range x>=1"),
    (["--activations", "relu,gelo"], "did you mean 'gelu'?"),
    (["--activations", ","], "at least one"),
    (["--dataset", "cifar"], "cifar"),
    (["--clip-norm", "1", "--no-clip"], "not both"),
    (["--lr", "0"], "Invalid value for '--lr': a learning rate is a finite number > 0, not 0"),
    (["--lr", "1e-3,-3e-3"], "Invalid value for '--lr': a learning rate is a finite number > 0, not -0.003"),
    (["--lr", "3e-4,1e-3,0.0003"], "Invalid value for '--lr': learning rate 0.0003 given twice"),
    (["--lr", ",".join(f"{k}e-4" for k in range(1, 22))], "Invalid value for '--lr': 21 learning rates: at most 20"),
    (["--lr", "1e-3,,3e-3"], "Invalid value for '--lr': '' is not a learning rate"),
    (["--lr", "fast"], "Invalid value for '--lr': 'fast' is not a learning rate"),
    (["--select", "test-accuracy"], "Invalid value for '--select': 'test-accuracy' is not one of 'val-accuracy', 'val-loss'"),
    (["--seeds", "3-1"], "a range goes up"),
    (["--seeds", "a"], "'a' is not a seed"),
    (["--seeds", ""], "got nothing"),
    (["--seeds", "0,1,1"], "seed 1 given twice"),
    (["--seeds", "0-2", "--seed", "1"], "not both"),
    (["--seed", "-1"], "Invalid value for '--seed': -1 is not in the range 0<=x"),
    (["--activations", "relu,elu", "--baseline", "gelu"], "Invalid value for '--baseline': baseline 'gelu' is not among the activations (relu, elu)"),
    (["--baseline", "gelo"], "did you mean 'gelu'?"),
    (["--lr", "nan"], "Invalid value for '--lr': a learning rate is a finite number > 0, not nan"),
    (["--lr", "1e-3,inf"], "Invalid value for '--lr': a learning rate is a finite number > 0, not inf"),
    (["--clip-norm", "nan"], "nan is not a finite number"),
    (["--gpus-per-task", "inf"], "inf is not a finite number"),
    (["--seed", "18446744073709551616"], "0<=x<=18446744073709551615"),
    (["--seeds", "0,18446744073709551616"], "a seed is at most 18446744073709551615"),
])
def test_usage_errors_before_any_work(invoke, tmp_path, args, says):
    assert says in one_line_error(invoke("compare", "-o", tmp_path / "never", *args))
    assert not (tmp_path / "never").exists()


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_without_cuda_is_a_usage_error(invoke, tmp_path):
    err = one_line_error(invoke("compare", "--device", "cuda", "-o", tmp_path / "never"))
    assert "Invalid value for '--device': device 'cuda': torch sees no CUDA device here" in err
    assert not (tmp_path / "never").exists()


def test_broken_data_dir_is_an_error_not_a_fallback(invoke, tmp_path):
    folder = write_mnist_like(tmp_path / "d")
    (folder / "train-images-idx3-ubyte.gz").write_bytes(b"not gzip, not idx")
    err = one_line_error(invoke("compare", "--data-dir", folder, "-o", tmp_path / "o"), code=1)
    assert "train-images-idx3-ubyte.gz" in err and "bad magic" in err


def test_output_that_is_a_file(invoke, tmp_path):
    (tmp_path / "f").write_text("")
    assert "is a file" in one_line_error(invoke("compare", "-o", tmp_path / "f"))


@pytest.mark.skipif(not FASHION.is_dir(), reason="Debian's dataset-fashion-mnist is not installed")
def test_fashion_mnist_real_files(invoke, tmp_path):
    doc = json.loads(invoke("compare", "--dataset", "fashion-mnist", "--data-dir", tmp_path / "none",
                            "--activations", "relu", "--epochs", "1", "--limit", "2000", "-o", tmp_path / "o",
                            "--json", "-q").stdout)
    assert doc["dataset"]["source"] == str(FASHION)
    assert doc["dataset"]["val"] == 6000 and doc["dataset"]["test"] == 10000
    assert doc["results"][0]["test_accuracy"] > 0.6   # 2,000 images, one epoch: well above chance


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_compare_on_cuda(invoke, tiny_dir, tmp_path):
    doc = json.loads(invoke("compare", "--device", "cuda", "--data-dir", tiny_dir, "--activations", "relu",
                            "--epochs", "1", "-o", tmp_path, "--json", "-q").stdout)
    assert doc["config"]["device"] == "cuda" and doc["results"][0]["device"] == "cuda"


def start_compare(out, folder, *args):
    import os
    import subprocess
    import sys

    return subprocess.Popen([sys.executable, "-m", "actcli", "compare", "--data-dir", str(folder), "--epochs", "2",
                             "-o", str(out), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "ACTCLI_OFFLINE": "1"})


def wait_for_results(proc, out, count=1, timeout=120):
    import time

    deadline = time.monotonic() + timeout
    while len(list((out / "results").glob("*.json"))) < count:
        assert proc.poll() is None, proc.communicate()[1]
        assert time.monotonic() < deadline, "timeout"
        time.sleep(0.05)


def children(pid):
    """The child processes of `pid` (Linux /proc)."""
    from pathlib import Path

    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(c) for c in (task / "children").read_text().split()]
    return found


def alive(pid):
    from pathlib import Path

    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"      # a zombie is dead
    except OSError:
        return False


@pytest.mark.skipif(not __import__("os").path.exists("/proc/self/task"), reason="needs Linux /proc")
@pytest.mark.parametrize("how", ["SIGINT", "SIGKILL"])
def test_a_real_signal_loses_at_most_the_task_in_flight_and_the_rerun_does_the_rest(tmp_path, how):
    """A real Ctrl-C (SIGINT) or SIGKILL to a real process once the first task is saved; then the same
    command again runs only the tasks that are missing."""
    import signal
    import time

    out = tmp_path / "run"
    # a task takes a few seconds, and six of them leave room for the signal to land before the last one ends
    folder = write_mnist_like(tmp_path / "d", n_train=2500, n_test=100)
    args = ("--activations", "relu,elu", "--seeds", "0-2")
    total = 6
    proc = start_compare(out, folder, *args, "-q", "--jobs", "2")            # two worker processes
    wait_for_results(proc, out)
    workers = children(proc.pid)
    assert len(workers) >= 2, workers
    proc.send_signal(getattr(signal, how))
    stdout, stderr = proc.communicate(timeout=60)
    kept = sorted(p.name for p in (out / "results").glob("*.json"))
    assert 1 <= len(kept) < total and not list(out.rglob(".*.part"))
    if how == "SIGINT":
        assert proc.returncode == 130, stderr
        assert "Traceback" not in stderr and f"interrupted: kept {len(kept)} of {total}" in stdout
        assert (out / "history.json").exists() and (out / "curves.png").exists()
    else:
        assert proc.returncode == -signal.SIGKILL
    deadline = time.monotonic() + 15
    while any(alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert [pid for pid in workers if alive(pid)] == []                   # no worker outlives its parent
    before = {name: (out / "results" / name).read_bytes() for name in kept}
    again = start_compare(out, folder, *args, "--json", "--jobs", "1")
    stdout, stderr = again.communicate(timeout=120)
    assert again.returncode == 0, stderr
    assert f"{len(kept)} of {total} tasks already done; running the other {total - len(kept)}" in stderr
    run = json.loads(stdout)["run"]
    assert (run["ran"], run["skipped"]) == (total - len(kept), len(kept))
    assert {name: (out / "results" / name).read_bytes() for name in kept} == before   # not trained again
    assert len(list((out / "results").glob("*.json"))) == total


def test_an_output_folder_that_cannot_be_made_is_one_line(invoke, tmp_path):
    (tmp_path / "file").write_text("")
    err = one_line_error(invoke("compare", "--dataset", "mnist-sample", "--activations", "relu", "--epochs", "1",
                                "--limit", "100", "-o", tmp_path / "file" / "run"), code=1)
    assert str(tmp_path / "file") in err and "Not a directory" in err


def test_a_full_disk_at_the_figures_keeps_the_trained_results(invoke, tmp_path, monkeypatch):
    """The disk fills up while the first figure is written: one line, exit 1, and the results, history.json
    and summary.csv (written before any figure) are there; no partial file is."""
    from helpers import disk_full

    disk_full(monkeypatch, room=2000, where=lambda tmp: ".png." in tmp)
    out = tmp_path / "run"
    result = invoke("compare", "--dataset", "mnist-sample", "--activations", "relu", "--epochs", "1",
                    "--limit", "64", "--jobs", "1", "-q", "-o", out, "--json")
    assert one_line_error(result, code=1) == f"Error: {out / 'curves.png'}: No space left on device"
    assert result.stdout == ""
    assert len(list((out / "results").glob("*.json"))) == 1
    assert json.loads((out / "history.json").read_text())["results"][0]["activation"] == "relu"
    assert (out / "summary.csv").is_file() and not (out / "curves.png").exists()
    assert not list(out.rglob("*.part"))


def test_progress_count_is_each_tasks_place_in_the_start_order_with_tasks_in_parallel():
    """Piped output, two tasks in parallel, then a third: every line's [k/N] is its task's start order."""
    import io
    from types import SimpleNamespace

    from rich.console import Console

    from actcli.cli.compare import Reporter
    from actcli.experiment import Task

    report = Reporter(quiet=False)
    report.console = Console(file=io.StringIO(), width=200)       # not a terminal: a line per epoch
    assert report.bar is None
    a, b, c = Task("relu", 0), Task("elu", 0), Task("gelu", 0)

    def epoch(task, e):
        return SimpleNamespace(activation=task.activation, seed=task.seed, depth=task.depth, lr=task.lr, epoch=e, epochs=2,
                               step=10, steps=10, loss=0.5, images_per_second=1000.0, seconds=1.0)

    report.planned([a, b, c], [])
    report.started(a, "process 1")
    report.started(b, "process 2")
    report.progress(epoch(b, 1))                 # the second task to start reports first
    report.progress(epoch(a, 1))
    report.finished(a, {})
    report.started(c, "process 1")
    report.progress(epoch(b, 2))
    report.progress(epoch(c, 1))
    lines = report.console.file.getvalue().splitlines()
    assert [(line.split()[0], line.split()[1]) for line in lines] == [
        ("[2/3]", "elu"), ("[1/3]", "relu"), ("[2/3]", "elu"), ("[3/3]", "gelu")]


def test_a_single_task_has_no_count():
    import io
    from types import SimpleNamespace

    from rich.console import Console

    from actcli.cli.compare import Reporter
    from actcli.experiment import Task

    report = Reporter(quiet=False)
    report.console = Console(file=io.StringIO(), width=200)
    report.planned([Task("relu", 0)], [])
    report.started(Task("relu", 0), "this process")
    report.progress(SimpleNamespace(activation="relu", seed=0, depth=None, lr=1e-3, epoch=1, epochs=1, step=5, steps=5,
                                    loss=0.1, images_per_second=10.0, seconds=1.0))
    assert report.console.file.getvalue().startswith("relu ")


def test_threads_auto_shares_the_cores_among_the_tasks_at_once():
    from actcli.executors import auto_threads, choose

    assert auto_threads("auto", 1, "cpu", n_cores=2) == 2              # one task: the whole machine
    assert auto_threads("auto", 6, "cpu", n_cores=2) == 1              # at least as many tasks as cores
    assert auto_threads("auto", 3, "cpu", n_cores=16) == 5
    assert auto_threads(1, 6, "cpu", n_cores=8) == 8                    # one after another
    assert auto_threads(2, 6, "cpu", n_cores=8) == 4
    assert auto_threads("auto", 8, "cuda", n_cores=16) == 4             # four share the GPU
    for tasks in (1, 2, 3, 7):                                          # choose runs what auto assumed
        threads = auto_threads("auto", tasks, "cpu", n_cores=4)
        assert choose("auto", tasks, "cpu", threads, n_cores=4).jobs * threads <= 4


def test_threads_auto_is_recorded_as_a_number_and_a_resumed_folder_keeps_its_own(invoke, tiny_dir, tmp_path,
                                                                               monkeypatch):
    from actcli import executors

    monkeypatch.setattr(executors, "cores", lambda: 2)
    args = ("compare", "--data-dir", tiny_dir, "--epochs", "1", "--jobs", "1")
    doc = json.loads(invoke(*args, "--activations", "relu", "-o", tmp_path / "auto", "--json", "-q").stdout)
    assert doc["config"]["threads"] == 2 and doc["results"][0]["threads"] == 2
    assert json.loads((tmp_path / "auto" / "config.json").read_text())["config"]["threads"] == 2
    assert doc["run"]["execution"] == {"executor": "this process", "jobs": 1, "threads": 2}

    pinned = tmp_path / "pinned"
    assert invoke(*args, "--activations", "relu", "--threads", "1", "-o", pinned, "-q").exit_code == 0
    resumed = invoke(*args, "--activations", "relu,elu", "-o", pinned)        # auto would choose 2
    assert resumed.exit_code == 0, resumed.stderr
    assert f"{pinned}: resumed with its 1 torch thread per task; --threads auto would choose 2" in resumed.stderr
    again = json.loads(invoke(*args, "--activations", "relu,elu", "-o", pinned, "--json", "-q").stdout)
    assert {r["activation"]: r["threads"] for r in again["results"]} == {"relu": 1, "elu": 1}
    assert again["config"]["threads"] == 1
    assert "threads (1 ≠ 2)" in one_line_error(invoke(*args, "--activations", "relu", "--threads", "2", "-o", pinned))
