"""benchmarks/gpu.py, the check the first GPU session runs, runs here at tiny sizes on the CPU so that it
cannot rot: every part of it, the same code paths as on CUDA (compiled with aot_eager instead of CUDA graphs)."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_gpu_check_runs_on_the_cpu(tmp_path):
    out = tmp_path / "check.json"
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "gpu.py"), "--device", "cpu", "--quick",
                           "--out", str(out)], capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    doc = json.loads(out.read_text())
    assert doc["passed"] and doc["determinism"]["passed"] and doc["cuda_vs_cpu"]["passed"]
    assert doc["determinism"]["same_seed_twice_in_process"] is True
    assert doc["determinism"]["same_as_in_process_when_sharing_with"] == {"1": True}
    assert [row["tasks"] for row in doc["sharing"]] == [2]
    assert all(row["images_per_second_per_task"] > 0 for row in doc["sharing"])
    compiled = doc["compile"]
    assert compiled["short_batch"] == 300 % 128 and compiled["options"] == {"backend": "aot_eager"}
    assert compiled["compiled"]["images_per_second"] > 0 and compiled["eager"]["images_per_second"] > 0
    assert set(doc["determinism_cost"]["images_per_second"]) == {"deterministic", "autotuned"}
    assert set(doc["seconds"]) >= {"determinism", "cuda_vs_cpu", "compile", "determinism_cost", "total"}
    assert doc["machine"]["device"] == "cpu" and "gpu" not in doc["machine"]


def test_without_cuda_the_gpu_check_says_so(tmp_path):
    import torch

    if torch.cuda.is_available():
        return                      # the check itself runs there; nothing to refuse
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "gpu.py"), "--out", str(tmp_path / "x.json")],
                          capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert done.returncode == 2 and "torch sees no CUDA device here" in done.stderr
    assert not (tmp_path / "x.json").exists()
