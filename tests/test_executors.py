"""Where tasks run: this process, worker processes, a real local Ray instance. The same task with the
same threads gives the same numbers in each; a failing task is reported and the others finish."""

import sys

import pytest

from actcli import executors, experiment
from actcli.config import Config
from actcli.errors import UsageProblem
from actcli.experiment import Execution, RunFolder, Task

from helpers import one_line_error, without_timings

CFG = Config(epochs=1, device="cpu", precision="fp32", threads=1)
TASKS = [Task("relu", 0), Task("elu", 1)]


@pytest.fixture(scope="module")
def tiny(tiny_split):
    return tiny_split


def numbers(results):
    return {t: without_timings(r) for t, r in results.items()}


def run_in(tmp_path, name, tiny, execution, tasks=TASKS):
    split, info = tiny
    folder = RunFolder.open(tmp_path / name, experiment.header(CFG, info))
    return experiment.run(tasks, folder, split, CFG, execution=execution), folder


@pytest.mark.parametrize("jobs, tasks, device, threads, cores, plan", [
    ("auto", 30, "cpu", 1, 2, (2, 1)), ("auto", 1, "cpu", 1, 2, (1, 1)), ("auto", 30, "cpu", 1, 16, (16, 1)),
    ("auto", 30, "cpu", 2, 2, (1, 2)), ("auto", 30, "cpu", 4, 16, (4, 4)), ("auto", 30, "cuda", 1, 16, (4, 1)),
    (3, 30, "cpu", 1, 2, (3, 1)), (8, 2, "cpu", 1, 8, (2, 1)),
])
def test_choose_never_changes_the_threads(jobs, tasks, device, threads, cores, plan):
    chosen = executors.choose(jobs, tasks, device, threads, cores)
    assert (chosen.jobs, chosen.threads) == plan


@pytest.fixture(scope="module")
def in_process(tmp_path_factory, tiny):
    outcome, folder = run_in(tmp_path_factory.mktemp("here"), "run", tiny, Execution(jobs=1))
    assert outcome.execution == {"executor": "this process", "jobs": 1, "threads": 1}
    return numbers(folder.results())


def test_worker_processes_give_the_same_numbers(tmp_path, tiny, in_process):
    outcome, folder = run_in(tmp_path, "pool", tiny, Execution(jobs=2))
    assert outcome.execution == {"executor": "processes", "jobs": 2, "threads": 1}
    assert sorted(outcome.ran) == sorted(TASKS) and not outcome.failed
    assert numbers(folder.results()) == in_process


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_poisoned_task_is_reported_and_the_others_finish(tmp_path, tiny, jobs):
    poisoned = Task("no-such-activation", 0)
    outcome, folder = run_in(tmp_path, "run", tiny, Execution(jobs=jobs), [poisoned, *TASKS])
    assert list(outcome.failed) == [poisoned]
    assert outcome.failed[poisoned].startswith("UnknownActivationError: unknown activation 'no-such-activation'")
    assert sorted(folder.results()) == sorted(TASKS) and not outcome.pending


def test_ray_missing_is_one_line(invoke, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)      # `import ray` now raises ImportError
    err = one_line_error(invoke("compare", "--ray", "-o", tmp_path / "never"))
    assert "Invalid value for '--ray': Ray is not installed: pip install 'actcli[ray]'" in err
    assert not (tmp_path / "never").exists()
    with pytest.raises(UsageProblem, match="^Ray is not installed"):        # the library names no option
        executors.import_ray()


@pytest.mark.parametrize("args, says", [(["--jobs", "0"], "Invalid value for '--jobs': 0 is not ≥ 1"), (["--jobs", "many"], "'many' is neither"),
                                        (["--threads", "0"], "Invalid value for '--threads': 0 is not ≥ 1"),
                                        (["--gpus-per-task", "0.5"], "is for --ray"),
                                        (["--gpus-per-task", "2", "--ray"],
                                         "Invalid value for '--gpus-per-task': 2.0 is not in the range 0<x<=1")])
def test_execution_usage_errors(invoke, tmp_path, args, says):
    assert says in one_line_error(invoke("compare", "-o", tmp_path / "never", *args))
    assert not (tmp_path / "never").exists()


@pytest.fixture(scope="module")
def local_ray():
    import ray   # in the test extra: a missing Ray is a broken install, not a reason to skip
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield ray
    ray.shutdown()


def test_ray_gives_the_same_numbers_and_reports_a_poisoned_task(tmp_path, tiny, in_process, local_ray):
    poisoned = Task("no-such-activation", 0)
    outcome, folder = run_in(tmp_path, "ray", tiny, Execution(ray=True), [*TASKS, poisoned])
    assert outcome.execution["executor"] == "ray" and outcome.execution["cpus"] == 2
    assert outcome.execution["cpus_per_task"] == 1 and outcome.execution["gpus_per_task"] == 0
    assert list(outcome.failed) == [poisoned] and "unknown activation" in outcome.failed[poisoned]
    assert numbers(folder.results()) == in_process
    resumed, _ = run_in(tmp_path, "ray", tiny, Execution(jobs=2), [*TASKS, Task("gelu", 0)])
    assert resumed.skipped == TASKS and resumed.ran == [Task("gelu", 0)]   # a Ray run finished by processes


def test_a_worker_that_dies_fails_its_task_and_the_others_go_on(tiny):
    from helpers import Record, dying_worker

    split, _ = tiny
    record = Record()
    tasks = [Task("relu", 0), Task("elu", 0), Task("relu", 1), Task("gelu", 0)]
    executors.run_processes(tasks, split, CFG, record, jobs=2, worker=dying_worker)
    assert list(record.errors) == [Task("elu", 0)] and "exit code" in record.errors[Task("elu", 0)]
    assert "3" in record.errors[Task("elu", 0)]
    assert sorted(record.done) == sorted([Task("relu", 0), Task("relu", 1), Task("gelu", 0)])   # the other worker


def test_rays_token_banner_is_kept_off_stderr(caplog):
    """ray.init logs it through this logger at every local start; other warnings still pass."""
    import logging

    log = logging.getLogger(executors.RAY_AUTH_LOGGER)
    with executors.quiet_ray_banner():
        log.warning("Token authentication is enabled for this Ray cluster. Set RAY_AUTH_MODE=disabled to opt out.")
        log.warning("Token authentication is disabled for this Ray cluster.")
    log.warning("Token authentication is enabled for this Ray cluster. (after ray.init: not ours to drop)")
    err = "\n".join(r.getMessage() for r in caplog.records)
    assert "is enabled for this Ray cluster. Set" not in err
    assert "disabled for this Ray cluster" in err and "after ray.init" in err


def test_a_gpu_request_on_a_cluster_without_gpus_is_an_error_not_a_wait(invoke, tmp_path, local_ray, monkeypatch):
    """The issue's case: `--ray --device cpu --gpus-per-task 0.5` on a one-node cluster with no GPU waited
    forever. Now a one-line error, before any task (a regression would wait for the probe, then fail here)."""
    monkeypatch.setattr(executors, "PROBE_SECONDS", 5)
    args = ["compare", "--ray", "--dataset", "mnist-sample", "--epochs", "1", "--threads", "1", "-o", tmp_path / "never"]
    err = one_line_error(invoke(*args, "--device", "cpu", "--gpus-per-task", "0.5"))
    assert err == ("Error: the Ray cluster cannot run a task asking for 1 CPU and 0.5 GPU: no node has them "
                   "(its nodes: 2 CPUs, 0 GPUs), so no task would ever start")
    err = one_line_error(invoke(*args, "--device", "cuda"))
    assert err == "Error: Invalid value for '--device': device 'cuda': the Ray cluster has no GPU (its nodes: 2 CPUs)"
    assert not (tmp_path / "never").exists()
    assert local_ray.is_initialized()                     # a connection the caller opened stays open


def test_a_ray_task_whose_worker_dies_is_retried_twice_then_fails(tmp_path, tiny, local_ray):
    """A network whose building kills its process (as the OOM killer would): Ray restarts the worker and
    retries the task twice, then it is reported failed; the run goes on to the end."""
    model = tmp_path / "dying_model.py"
    model.write_text("import os\n\ndef build(activation):\n"
                     f"    with open({str(tmp_path / 'attempts')!r}, 'a') as f:\n        f.write('x')\n"
                     "    os._exit(3)\n")
    split, info = tiny
    cfg = Config(epochs=1, device="cpu", precision="fp32", threads=1, model=f"{model}:build")
    folder = RunFolder.open(tmp_path / "run", experiment.header(cfg, info))
    outcome = experiment.run([Task("relu", 0)], folder, split, cfg, execution=Execution(ray=True))
    assert list(outcome.failed) == [Task("relu", 0)] and "died" in outcome.failed[Task("relu", 0)].lower()
    assert (tmp_path / "attempts").read_text() == "xxx"


class FakeRay:
    """Just what executors._schedule asks of Ray: every call answers at once, in the order it was made."""

    class exceptions:
        class RayError(Exception):
            pass

        class RayTaskError(RayError):
            cause = None

    def __init__(self):
        self.killed = []

    def wait(self, refs, num_returns, timeout):
        return refs[:num_returns], refs[num_returns:]

    def get(self, ref):
        return ref.value

    def kill(self, actor):
        self.killed.append(actor.name)


class Ref:
    def __init__(self, value):
        self.value = value


class FakeWorker:
    """A worker whose `train` answers `results` in turn (a dict, or one that says it could not start again)."""

    def __init__(self, name, results):
        self.name, self.results, self.trained = name, list(results), []
        self.ready = type("M", (), {"remote": lambda _: Ref(None)})()
        self.train = type("M", (), {"remote": lambda _, task: self._train(task)})()

    def _train(self, task):
        self.trained.append(task)
        return Ref(self.results.pop(0))


class NoEvents:
    def get_nowait(self):
        raise LookupError


class Calm:
    def knock(self):
        pass

    def check(self):
        pass


def test_a_ray_worker_that_cannot_start_again_is_stopped_and_the_idle_ones_stop_at_the_end():
    """A worker restarted after a crash whose start then fails answers its task with why and is stopped, not
    handed the next task; workers left with no task to take are stopped (a restarting worker may need the
    room). Ray faked: the scheduling is what is checked."""
    from helpers import Record

    ray, record = FakeRay(), Record()
    broken = FakeWorker("broken", [{executors.FAILED: "its Ray worker could not start again: RuntimeError: CUDA "
                                    "out of memory", executors.BROKEN: True}])
    good = FakeWorker("good", [{"n": 1}, {"n": 2}, {"n": 3}])
    tasks = [Task("relu", 0), Task("elu", 0), Task("relu", 1), Task("gelu", 0)]
    executors._schedule(ray, [good, broken], list(tasks), record, NoEvents(), Calm())
    assert broken.trained == [Task("elu", 0)] and good.trained == [Task("relu", 0), Task("relu", 1), Task("gelu", 0)]
    assert record.errors == {Task("elu", 0): "its Ray worker could not start again: RuntimeError: CUDA out of memory"}
    assert sorted(record.done) == sorted([Task("relu", 0), Task("relu", 1), Task("gelu", 0)])
    assert ray.killed == ["broken"]      # good: stopped by run_ray, once every task has its answer

    ray, record = FakeRay(), Record()
    a, b = FakeWorker("a", [{"n": 1}, {"n": 2}]), FakeWorker("b", [{"n": 3}])
    executors._schedule(ray, [a, b], tasks[:3], record, NoEvents(), Calm())
    assert b.trained == [Task("elu", 0)] and a.trained == [Task("relu", 0), Task("relu", 1)]
    assert ray.killed == ["b"] and len(record.done) == 3    # b had nothing left to take while a trained
