"""Ray with GPUs, on a machine without one: a real local Ray instance that declares two logical GPUs. Ray
schedules GPU requests, assigns GPU ids (ray.get_gpu_ids) and narrows CUDA_VISIBLE_DEVICES as on real
hardware; torch in its workers sees no CUDA, which is what the resolution on the cluster must find."""

import numpy as np
import pytest
import torch

from actcli import experiment
from actcli.config import Config
from actcli.errors import ParameterError, UsageProblem
from actcli.experiment import Execution, RunFolder, Task

from helpers import Record, without_timings

CFG = Config(epochs=1, device="cpu", precision="fp32", threads=1)
TASKS = [Task("relu", 0), Task("elu", 1)]


@pytest.fixture(scope="module")
def two_gpu_ray():
    import ray

    ray.init(num_cpus=2, num_gpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield ray
    ray.shutdown()


def run_in(tmp_path, split, info, cfg, execution, tasks=TASKS, listener=None):
    folder = RunFolder.open(tmp_path, experiment.header(cfg, info))
    return experiment.run(tasks, folder, split, cfg, listener, execution=execution), folder


def test_each_worker_gets_its_own_gpu_and_the_numbers_do_not_move(tmp_path, tiny_split, two_gpu_ray):
    split, info = tiny_split
    here, here_folder = run_in(tmp_path / "here", split, info, CFG, Execution(jobs=1))
    listener = Record()
    outcome, folder = run_in(tmp_path / "ray", split, info, CFG, Execution(ray=True, gpus_per_task=1.0),
                             listener=listener)
    assert not outcome.failed and sorted(outcome.ran) == sorted(TASKS)
    assert outcome.execution["gpus"] == 2 and outcome.execution["gpus_per_task"] == 1.0
    assert outcome.execution["workers"] == 2
    assert sorted(w.rpartition(" on GPU ")[2] for w in listener.where) == ["0", "1"]
    strip = lambda results: {t: without_timings(r) for t, r in results.items()}   # noqa: E731
    assert strip(folder.results()) == strip(here_folder.results())


def test_a_request_no_node_can_meet_is_an_error_before_any_task(tmp_path, tiny_split, two_gpu_ray):
    split, info = tiny_split
    three = Config(epochs=1, device="cpu", precision="fp32", threads=3)     # the node has 2 CPUs
    with pytest.raises(UsageProblem, match=r"cannot run a task asking for 3 CPUs and 1 GPU: no node has them "
                                           r"\(its nodes: 2 CPUs, 2 GPUs\)"):
        run_in(tmp_path, split, info, three, Execution(ray=True, gpus_per_task=1.0))
    assert not list((tmp_path / "results").iterdir())


def test_device_and_precision_are_resolved_on_the_cluster(monkeypatch, two_gpu_ray):
    """This process claims a GPU; the cluster's workers (where the tasks would run) have none: they decide."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    planned = experiment.prepare(["relu"], dataset="mnist-sample", device="auto", precision="fp32", epochs=1,
                                 execution=Execution(ray=True))
    assert planned.config.device == "cpu" and set(planned.versions) == {"actcli", "torch"}
    with pytest.raises(ParameterError, match=r"device 'cuda': torch sees no CUDA device on the Ray cluster \(node "):
        experiment.prepare(["relu"], dataset="mnist-sample", device="cuda", epochs=1, execution=Execution(ray=True))


def test_a_worker_that_cannot_start_says_why(tmp_path, tiny_split, two_gpu_ray):
    """Data that cannot go on the device breaks every worker's start: said, and the tasks fail with it."""
    split, info = tiny_split
    broken = type(split)(*(np.array([object()] * 3) for _ in range(6)))
    listener = Record()
    outcome, _ = run_in(tmp_path, broken, info, CFG, Execution(ray=True, gpus_per_task=1.0), listener=listener)
    assert sorted(outcome.failed) == sorted(TASKS)
    assert all(e.startswith("no Ray worker could start: TypeError: can't convert np.ndarray of type numpy.object_")
               for e in outcome.failed.values())
    assert len(listener.notices) == 2 and all("could not start: TypeError" in n for n in listener.notices)
