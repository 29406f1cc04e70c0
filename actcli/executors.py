"""Where an experiment's tasks run: in this process, in worker processes, or on a Ray cluster.

Every executor takes the tasks still to do and a `Handler`, and tells it as each task starts, makes
progress, finishes (with its result) or fails (with its error). The run folder is written by the
caller, in the main process, as results arrive: a task is saved the moment it ends, whoever ran it.
A failing task never stops the others. Ctrl-C (KeyboardInterrupt) stops an executor: what is
pending is cancelled and the workers are stopped; the tasks in flight are lost, nothing else.

Threads: a training uses the config's `threads` torch threads, whichever executor runs it, so the
same task gives the same numbers in any of them. (Another thread count sums in another order: the
numbers then differ, by up to 0.2 points of accuracy after 5 epochs, docs/benchmarks.md.)
"""

from __future__ import annotations

import os
import queue
import signal
from dataclasses import dataclass, replace
from typing import Protocol, Sequence

from .config import Config
from .errors import ClusterLost, ParameterError, UsageProblem


class Handler(Protocol):
    def started(self, task, where: str) -> None: ...
    def progress(self, p) -> None: ...
    def finished(self, task, result: dict) -> None: ...
    def failed(self, task, error: str) -> None: ...


def cores() -> int:
    """The CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


@dataclass(frozen=True)
class Plan:
    """How many tasks run at once, and the torch threads each has (the config's: part of the experiment)."""

    jobs: int
    threads: int

    def to_dict(self) -> dict:
        return {"jobs": self.jobs, "threads": self.threads}


# Small CNNs at batch 128 leave a GPU mostly idle: this many share one.
TASKS_PER_GPU = 4


def choose(jobs: int | str, tasks: int, device: str, threads: int = 1, n_cores: int | None = None) -> Plan:
    """`jobs` 'auto': as many `threads`-thread tasks as the cores hold on a CPU (two 1-thread trainings
    side by side do more work than one 2-thread training), TASKS_PER_GPU on a GPU; never more jobs than
    tasks. The threads per task never depend on this choice, so neither do the numbers."""
    n_cores = n_cores or cores()
    if jobs == "auto":
        jobs = TASKS_PER_GPU if device == "cuda" else max(1, n_cores // threads)
    return Plan(max(1, min(int(jobs), max(tasks, 1))), threads)


def auto_threads(jobs: int | str, tasks: int, device: str, n_cores: int | None = None) -> int:
    """`--threads auto`: the cores shared by the tasks that will run at once, so that a small run uses the
    whole machine (1 per task when there are at least as many tasks as cores). With `jobs` 'auto' as many
    tasks run at once as there are tasks, up to the cores (TASKS_PER_GPU on CUDA); with Ray, those this
    machine's cores hold. `choose` then runs cores ÷ threads tasks at once: the two agree."""
    n_cores = n_cores or cores()
    at_once = min(max(tasks, 1), n_cores if jobs == "auto" else int(jobs))
    if device == "cuda" and jobs == "auto":
        at_once = min(max(tasks, 1), TASKS_PER_GPU)
    return max(1, n_cores // at_once)


def _error(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")


def _attempt(task, on_device, cfg: Config, progress) -> tuple[str, object]:
    """Train one task, wherever: ("finished", its result as a dict) or ("failed", its error as one
    line, which survives any pickling). A failing task is reported; it never stops the others."""
    from . import train

    try:
        at_rate = replace(cfg, lr=task.lr)      # the task's own learning rate: an axis of the grid
        return "finished", train.train(task.activation, on_device, at_rate, task.seed, progress, task.depth).to_dict()
    except Exception as exc:
        return "failed", _error(exc)


# ---------------------------------------------------------------------------------------------
# In this process
# ---------------------------------------------------------------------------------------------

def run_here(todo: Sequence, split, cfg: Config, handler: Handler) -> None:
    """One task after another in this process (`--jobs 1`), with the config's threads."""
    import torch

    from . import train

    before = torch.get_num_threads()
    torch.set_num_threads(cfg.threads)
    try:
        on_device = train.DeviceData(split, cfg.device)
        for task in todo:
            handler.started(task, "this process")
            kind, payload = _attempt(task, on_device, cfg, handler.progress)
            getattr(handler, kind)(task, payload)
    finally:
        torch.set_num_threads(before)


# ---------------------------------------------------------------------------------------------
# Worker processes
# ---------------------------------------------------------------------------------------------

def _die_with(parent: int) -> None:
    """Exit now if the parent is gone (a SIGKILL'd parent cannot stop its workers)."""
    if os.getppid() != parent:
        os._exit(1)


def _ask_for_sigkill_with_parent() -> None:
    """Linux: have the kernel SIGKILL this process when its parent dies (prctl PR_SET_PDEATHSIG)."""
    try:
        import ctypes

        ctypes.CDLL(None).prctl(1, signal.SIGKILL)
    except (OSError, AttributeError):
        pass   # elsewhere the parent check in every progress report does it


def _worker(inbox, events, split, cfg: Config, parent: int) -> None:
    """A worker: load the data onto the device once, then train tasks until told to stop."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)   # Ctrl-C is the parent's: it stops the workers
    _ask_for_sigkill_with_parent()
    _die_with(parent)
    import torch

    from . import train

    torch.set_num_threads(cfg.threads)
    pid = os.getpid()
    on_device = train.DeviceData(split, cfg.device)

    def progress(p):
        _die_with(parent)
        events.put(("progress", pid, p))

    while (task := inbox.get()) is not None:
        events.put(("started", pid, task))
        kind, payload = _attempt(task, on_device, cfg, progress)
        events.put((kind, pid, (task, payload)))


def run_processes(todo: Sequence, split, cfg: Config, handler: Handler, jobs: int, worker=None) -> None:
    """`jobs` worker processes (spawned, not forked: safe with CUDA and threads) take tasks as they
    come; results travel back to this process. A task whose worker dies is reported failed, and so are
    tasks no worker was left to take. (`worker` replaces the worker function, for tests.)"""
    import multiprocessing as mp

    ctx = mp.get_context("spawn")
    inbox, events = ctx.Queue(), ctx.Queue()
    for task in todo:
        inbox.put(task)
    for _ in range(jobs):
        inbox.put(None)
    workers = [ctx.Process(target=worker or _worker, args=(inbox, events, split, cfg, os.getpid()), daemon=True)
               for _ in range(jobs)]
    holding: dict[int, object] = {}           # worker pid → the task it is training
    left = set(todo)

    def handle(kind, pid, payload):
        if kind == "started":
            holding[pid] = payload
            handler.started(payload, f"process {pid}")
        elif kind == "progress":
            handler.progress(payload)
        else:
            task, value = payload
            holding.pop(pid, None)
            if task in left:
                left.discard(task)
                (handler.finished if kind == "finished" else handler.failed)(task, value)

    try:
        for w in workers:
            w.start()
        while left:
            try:
                handle(*events.get(timeout=0.2))
                continue
            except queue.Empty:
                pass
            dead = [w for w in workers if not w.is_alive()]
            if not dead:
                continue
            try:                           # what a worker sent just before it exited comes first
                while True:
                    handle(*events.get(timeout=0.5))
            except queue.Empty:
                pass
            for w in dead:                 # a worker that died holding a task: that task failed
                task = holding.pop(w.pid, None)
                if task in left:
                    left.discard(task)
                    handler.failed(task, f"its worker process died (exit code {w.exitcode})")
            if len(dead) == len(workers):
                break
        codes = sorted({w.exitcode for w in workers if w.exitcode})
        for task in sorted(left):          # never silently dropped: taken by a worker that died unseen, or
            handler.failed(task, "no result: its worker process died, or none was left to run it "   # untaken
                           f"(exit codes {', '.join(map(str, codes)) or 'none'})")
    finally:
        for w in workers:
            if w.is_alive():
                w.terminate()
        for w in workers:
            w.join(timeout=10)
        for q in (inbox, events):          # never wait at exit for a pipe nobody reads
            q.cancel_join_thread()
            q.close()


# ---------------------------------------------------------------------------------------------
# Ray
# ---------------------------------------------------------------------------------------------

def import_ray():
    try:
        import ray
    except ImportError:
        raise ParameterError("Ray is not installed: pip install 'actcli[ray]'", "ray") from None
    return ray


# What ray.init logs on the user's stderr that says nothing about their run: a local instance it started
# has token authentication on by default (Ray ≥ 2.5x), and it says so at every start.
RAY_BANNERS = ("Token authentication is enabled for this Ray cluster",)
RAY_AUTH_LOGGER = "ray._private.authentication.authentication_token_setup"


class _DropBanners:
    def filter(self, record) -> bool:
        return not record.getMessage().startswith(RAY_BANNERS)


class quiet_ray_banner:
    """While ray.init runs: its token-authentication banner is dropped (its warnings that matter, such as
    authentication being disabled, still reach stderr)."""

    def __enter__(self):
        import logging

        self.logger, self.filter = logging.getLogger(RAY_AUTH_LOGGER), _DropBanners()
        self.logger.addFilter(self.filter)
        return self

    def __exit__(self, *exc) -> None:
        self.logger.removeFilter(self.filter)


FAILED = "__actcli_failed__"   # the key of a Ray task's result that carries its error instead


def _ray_task(split, cfg: Config, task, events):
    """One task on a Ray worker (its data comes from the object store)."""
    import torch

    from . import train

    def tell(event):               # progress is a courtesy: a lost queue must not fail the task
        try:
            events.put(event, timeout=5)
        except Exception:
            pass

    torch.set_num_threads(cfg.threads)
    tell(("started", os.getpid(), task))
    on_device = train.DeviceData(split, cfg.device)
    kind, payload = _attempt(task, on_device, cfg, lambda p: tell(("progress", os.getpid(), p)))
    return payload if kind == "finished" else {FAILED: payload}


def default_gpus_per_task(device: str) -> float:
    return 1.0 / TASKS_PER_GPU if device == "cuda" else 0.0


# How long the cluster may have no live node that can run a task before the run is given up as lost (a node
# that restarts, or an autoscaler's new one, is waited for this long).
LOST_AFTER = 20.0


def run_ray(todo: Sequence, split, cfg: Config, handler: Handler, address: str | None,
            gpus_per_task: float | None = None, max_retries: int = 2, lost_after: float | None = None) -> dict:
    """Each task a Ray task asking for the config's threads as CPUs (and a fraction of a GPU on CUDA).

    No address: a local Ray instance is started, or one already running on this machine is joined, as
    `ray.init` does (and stopped at the end if it was started here). 'auto', 'host:port' or
    'ray://…' joins a running cluster, as `ray.init` does (RAY_ADDRESS too). The split goes into the
    object store once. A task whose worker or node dies is retried `max_retries` times (on another node
    if its own is gone), then reported failed; one that raises is reported failed with its error. A
    cluster with no live node able to run a task for `lost_after` seconds (default LOST_AFTER), or whose
    head stops answering (mid-run, or under a task's lost result), raises ClusterLost: the tasks that
    finished were handed over already. Returns what Ray ran on (as the run found it, should the head be
    lost as the last task ends)."""
    ray = import_ray()
    from ray.util.queue import Queue

    gpus = default_gpus_per_task(cfg.device) if gpus_per_task is None else gpus_per_task
    started_here = not ray.is_initialized()
    if started_here:
        try:
            with quiet_ray_banner():
                ray.init(address=address or os.environ.get("RAY_ADDRESS") or None, log_to_driver=False,
                         include_dashboard=False, configure_logging=False)
        except ConnectionError as exc:
            raise UsageProblem(f"Ray at {address or 'RAY_ADDRESS'}: {_error(exc)}") from None
    try:
        # the progress queue (an actor) on the driver's node, holding no CPU, restarted if lost: a lost
        # worker node must not take it along
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        here = NodeAffinitySchedulingStrategy(ray.get_runtime_context().get_node_id(), soft=True)
        events = Queue(actor_options={"num_cpus": 0, "max_restarts": -1, "scheduling_strategy": here})
        data = ray.put(split)
        remote = ray.remote(num_cpus=cfg.threads, num_gpus=gpus, max_retries=max_retries)(_ray_task)
        pending = {remote.remote(data, cfg, task, events): task for task in todo}
        watch = _Watch(ray, cfg.threads, gpus, LOST_AFTER if lost_after is None else lost_after)
        try:
            while pending:
                try:
                    ready, _ = ray.wait(list(pending), num_returns=1, timeout=0.2)
                    _drain(events, handler)
                except ray.exceptions.RayError as exc:    # the queue's actor or the cluster's head is gone
                    raise ClusterLost(f"the Ray cluster stopped answering ({_error(exc)})") from None
                for ref in ready:
                    task = pending.pop(ref)
                    try:
                        result = ray.get(ref)
                    except ray.exceptions.RayTaskError as exc:
                        handler.failed(task, _error(exc.cause) if exc.cause else _error(exc))
                    except ray.exceptions.RayError as exc:   # a worker or node lost past its retries,
                        watch.knock()                         # unless it is the cluster that is lost
                        handler.failed(task, _error(exc))
                    else:
                        _drain(events, handler)
                        if FAILED in result:
                            handler.failed(task, result[FAILED])
                        else:
                            handler.finished(task, result)
                if pending:
                    watch.check()
        finally:
            for ref in pending:                  # Ctrl-C, a lost cluster or an error: cancel what has not finished
                try:
                    ray.cancel(ref, force=True)
                except Exception:                # a lost cluster cannot be told
                    break
        try:
            alive = watch.alive()
        except ClusterLost:              # lost as the last task ended: the cluster as the run found it
            alive = watch.nodes
        return {"cpus": sum(n.get("Resources", {}).get("CPU", 0) for n in alive),
                "gpus": sum(n.get("Resources", {}).get("GPU", 0) for n in alive), "nodes": len(alive),
                "cpus_per_task": cfg.threads, "gpus_per_task": gpus}
    finally:
        if started_here:
            ray.shutdown()


class _Watch:
    """Looks at the cluster once a second: raises ClusterLost when its head stops answering, or when no live
    node could run a task for `lost_after` seconds. The head is knocked on (a TCP connection to its GCS)
    before Ray is asked anything: Ray's own calls wait for a lost head, then end the process after 60 s."""

    def __init__(self, ray, cpus: float, gpus: float, lost_after: float):
        import time

        self.ray, self.cpus, self.gpus, self.lost_after, self.clock = ray, cpus, gpus, lost_after, time.monotonic
        try:
            self.head = ray.get_runtime_context().gcs_address     # host:port; not known through Ray Client
        except Exception:
            self.head = None
        self.last = self.clock()
        self.unable_since = None
        self.nodes = self.alive()

    def knock(self) -> None:
        """ClusterLost unless the head takes a TCP connection (before anything that asks it)."""
        import socket

        if self.head:
            host, _, port = self.head.rpartition(":")
            try:
                socket.create_connection((host, int(port)), timeout=2).close()
            except (OSError, ValueError) as exc:
                raise ClusterLost(f"the Ray cluster's head at {self.head} stopped answering mid-run "
                                  f"({getattr(exc, 'strerror', None) or exc})") from None

    def alive(self) -> list[dict]:
        """The live nodes, as ray.nodes() gives them."""
        self.knock()
        try:
            return [n for n in self.ray.nodes() if n.get("Alive")]
        except Exception as exc:
            raise ClusterLost(f"the Ray cluster stopped answering mid-run ({_error(exc)})") from None

    def check(self) -> None:
        now = self.clock()
        if now - self.last < 1.0:
            return
        self.last = now
        alive = self.alive()
        able = [n for n in alive if n.get("Resources", {}).get("CPU", 0) >= self.cpus
                and n.get("Resources", {}).get("GPU", 0) >= self.gpus]
        if able:
            self.unable_since = None
            return
        self.unable_since = self.unable_since or now
        if now - self.unable_since >= self.lost_after:
            gone = len({n["NodeID"] for n in self.nodes} - {n["NodeID"] for n in alive})
            needs = f"{self.cpus:g} CPU" + (f" and {self.gpus:g} GPU" if self.gpus else "")
            raise ClusterLost(f"the Ray cluster lost {gone} of its {len(self.nodes)} nodes mid-run, and for "
                              f"{self.lost_after:g} s no node left could run a task ({needs})")


def _drain(events, handler: Handler) -> None:
    while True:
        try:
            kind, pid, payload = events.get_nowait()
        except Exception:  # ray.util.queue.Empty
            return
        if kind == "started":
            handler.started(payload, f"ray worker {pid}")
        elif kind == "progress":
            handler.progress(payload)


__all__ = ["Handler", "Plan", "choose", "cores", "import_ray", "run_here", "run_processes", "run_ray"]
