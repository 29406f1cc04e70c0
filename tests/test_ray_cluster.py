"""A real multi-node Ray cluster on this machine (ray.cluster_utils.Cluster: a head with no CPU for tasks and
two worker nodes of one CPU each, all in this process tree), losing nodes while `compare` runs on it.

- One worker node removed mid-run: its task is retried on the other, and the numbers are those of a run in
  this process.
- Both removed: one line that says what happened, which tasks were kept and that the same command resumes.
- The head removed under a `compare` in another process (as a user's cluster dies): the same one line, in
  seconds, where Ray alone ended the process after 60 s with no word of what was kept.

Each test starts its own cluster (≈ 7 s); the file takes 70 to 100 s on two shared cores, most of it Ray
starting and stopping. The clusters keep their files in a folder of their own (RAY_TMPDIR), so that a user's
Ray on this machine is neither joined nor touched: a Cluster writes its address into ray_current_cluster and
removes the file when it stops (whoever wrote it), and a head killed outright leaves it behind.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

from actcli import executors, experiment
from actcli.config import Config
from actcli.experiment import Execution, RunFolder, Task

from helpers import without_timings, write_mnist_like

import ray  # noqa: E402  (in the test extra: a missing Ray fails here, it is never a reason to skip)

CFG = Config(epochs=1, device="cpu", precision="fp32", threads=1)
TASKS = [Task("relu", 0), Task("elu", 0), Task("relu", 1)]
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module", autouse=True)
def own_ray_files():
    """Ray's files (sessions, sockets, ray_current_cluster) in a fresh folder for this module's clusters; no
    RAY_ADDRESS of the user's. The folder's name is short: Ray's socket paths must fit in 107 bytes."""
    ours = tempfile.mkdtemp(prefix="actcli-ray-")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RAY_TMPDIR", ours)
        patch.delenv("RAY_ADDRESS", raising=False)
        yield Path(ours)
    shutil.rmtree(ours, ignore_errors=True)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """1,000 synthetic digits: a task trains for about a second, long enough to lose a node under it."""
    return write_mnist_like(tmp_path_factory.mktemp("digits"), n_train=1000, n_test=100)


@pytest.fixture(scope="module")
def split(data):
    return experiment.load_data(CFG, data, offline=True)


@pytest.fixture(scope="module")
def in_process(split, tmp_path_factory):
    folder = RunFolder.open(tmp_path_factory.mktemp("here") / "run", experiment.header(CFG, split[1]))
    experiment.run(TASKS, folder, split[0], CFG, execution=Execution(jobs=1))
    return {t: without_timings(r) for t, r in folder.results().items()}


def start_cluster(connect=True):
    from ray.cluster_utils import Cluster

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0, "include_dashboard": False})
    workers = [cluster.add_node(num_cpus=1) for _ in range(2)]
    cluster.wait_for_nodes()
    if connect:
        ray.init(address=cluster.address, log_to_driver=False, include_dashboard=False, configure_logging=False)
    return cluster, workers


@pytest.fixture
def cluster():
    cluster, workers = start_cluster()
    yield cluster, workers
    ray.shutdown()
    cluster.shutdown()


def parent(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as stat:
        return int(stat.read().rsplit(")", 1)[1].split()[1])


def node_of(cluster, pid: int):
    """The worker node whose raylet started the Ray worker process `pid` (every node runs on this machine)."""
    raylets = {n.all_processes["raylet"][0].process.pid: n for n in cluster.worker_nodes}
    while pid > 1 and pid not in raylets:
        pid = parent(pid)
    return raylets[pid]


class RemoveOnFirstStart:
    """A listener that removes, when the first task starts, the node it runs on, and counts the starts."""

    def __init__(self, cluster):
        self.cluster, self.removed, self.starts = cluster, None, []

    def started(self, task, where):
        self.starts.append(task)
        if self.removed is None:            # where: "ray worker PID"
            self.removed = task
            self.cluster.remove_node(node_of(self.cluster, int(where.rsplit(" ", 1)[1])))

    def progress(self, p):
        pass

    def finished(self, task, result):
        pass

    def failed(self, task, error):
        pass


def test_a_lost_nodes_task_runs_again_on_the_survivor_with_the_same_numbers(tmp_path, split, in_process, cluster):
    cluster, _ = cluster
    folder = RunFolder.open(tmp_path / "run", experiment.header(CFG, split[1]))
    listener = RemoveOnFirstStart(cluster)
    outcome = experiment.run(TASKS, folder, split[0], CFG, listener, Execution(ray=True))
    assert not outcome.failed and outcome.lost is None and sorted(outcome.ran) == sorted(TASKS)
    assert listener.starts.count(listener.removed) == 2       # started again: the node under it was lost
    assert outcome.execution["nodes"] == 2 and outcome.execution["cpus"] == 1   # the head and the survivor
    assert {t: without_timings(r) for t, r in folder.results().items()} == in_process


def wait_for_a_result(out: Path, then, timeout=120):
    """In a thread: once `out` holds a finished task, call `then`."""
    def watch():
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not list((out / "results").glob("*.json")):
            time.sleep(0.05)
        then()

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


COMPARE = ["--activations", "relu,elu", "--seeds", "0-1", "--epochs", "1", "--threads", "1", "-q"]


def test_losing_every_node_is_one_line_that_says_what_was_kept(invoke, tmp_path, data, cluster, monkeypatch):
    from helpers import one_line_error

    cluster, workers = cluster
    monkeypatch.setattr(executors, "LOST_AFTER", 2.0)
    out = tmp_path / "run"
    remover = wait_for_a_result(out, lambda: [cluster.remove_node(w) for w in workers])
    err = one_line_error(invoke("compare", "--ray", cluster.address, "--data-dir", data, "-o", out, *COMPARE), code=1)
    remover.join()
    kept = sorted(p.stem for p in (out / "results").glob("*.json"))
    assert 1 <= len(kept) < 4
    assert err.startswith("Error: the Ray cluster lost 2 of its 3 nodes mid-run, and for 2 s no node left could "
                          "run a task (1 CPU): kept "), err
    assert f"kept {len(kept)} of 4 tasks (" in err
    assert err.endswith(f" in {out}/; the same command resumes the other {4 - len(kept)}"), err


def test_a_lost_head_is_one_line_in_seconds(tmp_path, data):
    """actcli in its own process, as a user runs it; this process is not connected to the cluster."""
    cluster, _ = start_cluster(connect=False)
    out = tmp_path / "run"
    try:
        removed = []

        def remove_the_head():
            cluster.remove_node(cluster.head_node, allow_graceful=False)
            removed.append(time.monotonic())

        remover = wait_for_a_result(out, remove_the_head)
        run = subprocess.run([sys.executable, "-m", "actcli", "compare", "--ray", cluster.address, "--data-dir",
                              str(data), "-o", str(out), *COMPARE], capture_output=True, text=True, timeout=170,
                             env={**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), *sys.path])})
        ended = time.monotonic()
        remover.join()
    finally:
        cluster.shutdown()
    ours = [line for line in run.stderr.splitlines() if line.startswith("Error: ")]
    kept = sorted(p.stem for p in (out / "results").glob("*.json"))
    assert run.returncode == 1 and "Traceback" not in run.stderr, run.stderr
    assert len(ours) == 1 and ours[0].startswith("Error: the Ray cluster's head at "), run.stderr
    assert "stopped answering mid-run" in ours[0] and f"kept {len(kept)} of 4 tasks" in ours[0], ours
    assert ours[0].endswith(f"the same command resumes the other {4 - len(kept)}"), ours
    took = ended - removed[0]
    assert took < 30, took                     # from the head's loss: Ray alone ended it after 60 s, saying nothing
