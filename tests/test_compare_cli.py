"""`actcli compare` end to end on CPU, in seconds; its files, its faults, Ctrl-C."""

import csv
import json
from pathlib import Path

import pytest
import torch

from actcli import train

from helpers import one_line_error, write_mnist_like

FASHION = Path("/usr/share/datasets/fashion-mnist")


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    return write_mnist_like(tmp_path_factory.mktemp("mnist"), n_train=400, n_test=100)


def test_end_to_end(invoke, tiny_dir, tmp_path):
    out = tmp_path / "run"
    result = invoke("compare", "--data-dir", tiny_dir, "--activations", "relu,sigmoid", "--epochs", "2",
                    "-o", out, "--json", "--seed", "1")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert set(doc) >= {"config", "dataset", "results"}
    assert doc["dataset"] == {"name": "mnist", "requested": "mnist", "source": str(tiny_dir),
                              "train": 360, "val": 40, "test": 100}
    assert [r["activation"] for r in doc["results"]] == ["relu", "sigmoid"]
    r = doc["results"][0]
    assert set(r) >= {"activation", "test_accuracy", "test_loss", "best_val_accuracy", "diverged", "epochs"}
    assert set(r["epochs"][0]) >= {"epoch", "train_loss", "train_accuracy", "val_loss", "val_accuracy", "seconds",
                                   "images_per_second", "grad_norm_first", "grad_norm_last", "dead_fraction"}
    assert doc["config"]["precision"] in ("fp32", "bf16") and doc["config"]["clip"] == "value"
    assert sorted(p.name for p in out.iterdir()) == ["accuracy.png", "config.json", "history.json",
                                                    "loss.png", "summary.csv"]
    assert json.loads((out / "history.json").read_text())["results"] == doc["results"]
    rows = list(csv.DictReader((out / "summary.csv").open()))
    assert [row["activation"] for row in rows] == ["relu", "sigmoid"]
    assert json.loads((out / "config.json").read_text())["config"]["epochs"] == 2


def test_text_output_and_plain_progress(invoke, tiny_dir, tmp_path):
    result = invoke("compare", "--data-dir", tiny_dir, "--activations", "relu", "--epochs", "1", "-o", tmp_path)
    assert result.exit_code == 0
    assert "activation" in result.stdout and "│ relu" in result.stdout
    assert f"wrote 1 of 1 activations to {tmp_path}/" in result.stdout
    assert "relu       epoch 1/1  loss" in result.stderr and " s\n" in result.stderr  # a plain line per epoch
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
    real = train.train
    calls = []

    def interrupted_second(name, *args, **kwargs):
        calls.append(name)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(name, *args, **kwargs)

    monkeypatch.setattr(train, "train", interrupted_second)
    result = invoke("compare", "--data-dir", tiny_dir, "--activations", "relu,elu,gelu", "--epochs", "1",
                    "-o", tmp_path)
    assert result.exit_code == 130
    assert "interrupted: kept 1 of 3" in result.stdout
    history = json.loads((tmp_path / "history.json").read_text())
    assert [r["activation"] for r in history["results"]] == ["relu"]
    assert (tmp_path / "accuracy.png").exists() and not list(tmp_path.glob(".*.part"))


@pytest.mark.parametrize("args, says", [
    (["--epochs", "0"], "0"),
    (["--batch-size", "-1"], "-1"),
    (["--activations", "relu,gelo"], "did you mean 'gelu'?"),
    (["--activations", ","], "at least one"),
    (["--dataset", "cifar"], "cifar"),
    (["--clip-norm", "1", "--no-clip"], "not both"),
    (["--lr", "0"], "0"),
])
def test_usage_errors_before_any_work(invoke, tmp_path, args, says):
    assert says in one_line_error(invoke("compare", "-o", tmp_path / "never", *args))
    assert not (tmp_path / "never").exists()


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_without_cuda_is_a_usage_error(invoke, tmp_path):
    assert "no CUDA" in one_line_error(invoke("compare", "--device", "cuda", "-o", tmp_path / "never"))
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


def test_real_sigint_keeps_the_finished_activations(tmp_path):
    """A real Ctrl-C (SIGINT) to a real process, once the first activation's results are on disk."""
    import os
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "run"
    # relu finishes in a few seconds; elu, as long again, is what the signal interrupts
    folder = write_mnist_like(tmp_path / "d", n_train=2000, n_test=100)
    proc = subprocess.Popen([sys.executable, "-m", "actcli", "compare", "--data-dir", str(folder),
                             "--activations", "relu,elu", "--epochs", "3", "-o", str(out), "-q"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "ACTCLI_OFFLINE": "1"})
    deadline = time.monotonic() + 120
    while not (out / "history.json").exists():
        assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read() if proc.poll() else "timeout"
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert "interrupted: kept 1 of 2" in stdout
    history = json.loads((out / "history.json").read_text())
    assert [r["activation"] for r in history["results"]] == ["relu"]
    assert (out / "accuracy.png").exists() and not list(out.glob(".*.part"))
