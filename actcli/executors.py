"""Where an experiment's tasks run: in this process, in worker processes, or on a Ray cluster.

Every executor takes the tasks still to do and a `Handler`, and tells it as each task starts, makes
progress, finishes (with its result) or fails (with its error). The run folder is written by the
caller, in the main process, as results arrive: a task is saved the moment it ends, whoever ran it.
A failing task never stops the others. Ctrl-C (KeyboardInterrupt) stops an executor: what is
pending is cancelled and the workers are stopped; the tasks in flight are lost, nothing else.

Threads: a training uses the config's `threads` torch threads, whichever executor runs it, so the
same task gives the same numbers in any of them. (Another thread count sums in another order: the
numbers then differ, by up to 0.2 points of accuracy after 5 epochs, docs/benchmarks.md.)

CUDA: the workers go round-robin over the visible GPUs, each taking its own before any CUDA work
(actcli.devices), and every CUDA task runs with deterministic kernels, so the same task gives the same
numbers on a GPU too, whoever runs it. With Ray, device and precision are resolved on the cluster.
"""

from __future__ import annotations

import os
import queue
import signal
from dataclasses import dataclass, replace
from typing import Protocol, Sequence

from . import devices
from .config import Config
from .devices import TASKS_PER_GPU
from .errors import ClusterLost, ParameterError, UsageProblem


class Handler(Protocol):
    def started(self, task, where: str) -> None: ...
    def progress(self, p) -> None: ...
    def finished(self, task, result: dict) -> None: ...
    def failed(self, task, error: str) -> None: ...
    # optional: notice(text), told what the user should know that is no task's result (a worker that
    # could not start, with its error)


def _notice(handler: Handler, text: str) -> None:
    if getattr(handler, "notice", None):
        handler.notice(text)


def cores() -> int:
    """The CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


@dataclass(frozen=True)
class Plan:
    """How many tasks run at once, the torch threads each has (the config's: part of the experiment),
    and on CUDA the GPU each worker takes."""

    jobs: int
    threads: int
    gpus: tuple[int, ...] = ()

    def to_dict(self) -> dict:
        return {"jobs": self.jobs, "threads": self.threads, **({"gpus": list(self.gpus)} if self.gpus else {})}


def _visible_gpus(device: str, gpus: int | None) -> int:
    """The GPUs to place tasks on: `gpus`, else those torch sees; at least one on CUDA, none elsewhere."""
    if device != "cuda":
        return 0
    return max(1, devices.gpu_count() if gpus is None else gpus)


def choose(jobs: int | str, tasks: int, device: str, threads: int = 1, n_cores: int | None = None,
           gpus: int | None = None) -> Plan:
    """`jobs` 'auto': as many `threads`-thread tasks as the cores hold on a CPU (two 1-thread trainings
    side by side do more work than one 2-thread training); on CUDA TASKS_PER_GPU per visible GPU (`gpus`,
    else torch's count), bounded by the cores all the same, since each task's process launches its
    kernels from one. Never more jobs than tasks. On CUDA the workers go round-robin over the GPUs, for
    `jobs` N as for 'auto'. The threads per task never depend on this choice, so neither do the numbers."""
    n_cores = n_cores or cores()
    n_gpus = _visible_gpus(device, gpus)
    if jobs == "auto":
        by_cores = max(1, n_cores // threads)
        jobs = min(TASKS_PER_GPU * n_gpus, by_cores) if device == "cuda" else by_cores
    jobs = max(1, min(int(jobs), max(tasks, 1)))
    return Plan(jobs, threads, devices.placement(jobs, n_gpus))


def auto_threads(jobs: int | str, tasks: int, device: str, n_cores: int | None = None,
                 gpus: int | None = None) -> int:
    """`--threads auto`: the cores shared by the tasks that will run at once, so that a small run uses the
    whole machine (1 per task when there are at least as many tasks as cores). With `jobs` 'auto' as many
    tasks run at once as there are tasks, up to the cores (and on CUDA up to TASKS_PER_GPU per GPU); with
    Ray, those this machine's cores hold. `choose` then runs cores ÷ threads tasks at once: the two agree."""
    n_cores = n_cores or cores()
    if jobs != "auto":
        limit = int(jobs)
    elif device == "cuda":
        limit = min(n_cores, TASKS_PER_GPU * _visible_gpus(device, gpus))
    else:
        limit = n_cores
    return max(1, n_cores // min(max(tasks, 1), limit))


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


def _set_up(data, cfg: Config, gpu: int | None):
    """A worker's start: its torch threads, its GPU (before any CUDA work), and the data on the device,
    once. `data` is a Split, or a handle to one in shared memory (actcli.shared)."""
    import torch

    from . import train
    from .shared import SplitHandle

    torch.set_num_threads(cfg.threads)
    devices.prepare_process(cfg.device, gpu)
    return train.DeviceData(data.attach() if isinstance(data, SplitHandle) else data, cfg.device)


def _where(name: str, gpu) -> str:
    """How a progress line names a worker: 'process 123', 'process 123 on GPU 1'."""
    return name if gpu is None or gpu == [] else f"{name} on GPU {gpu[0] if isinstance(gpu, list) else gpu}"


# ---------------------------------------------------------------------------------------------
# In this process
# ---------------------------------------------------------------------------------------------

def run_here(todo: Sequence, split, cfg: Config, handler: Handler, gpu: int | None = None) -> None:
    """One task after another in this process (`--jobs 1`), with the config's threads (and on CUDA on
    `gpu`, made this process's device)."""
    import torch

    before = torch.get_num_threads()
    try:
        on_device = _set_up(split, cfg, gpu)
        where = _where("this process", gpu)
        for task in todo:
            handler.started(task, where)
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


def _worker(inbox, events, data, cfg: Config, parent: int, gpu: int | None = None) -> None:
    """A worker: take its GPU, load the data onto the device once, then train tasks until told to stop.
    A start that fails (CUDA out of memory, a GPU busy in exclusive mode, …) is sent as a 'broken'
    event with its error, and the worker ends: the others take the tasks."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)   # Ctrl-C is the parent's: it stops the workers
    _ask_for_sigkill_with_parent()
    _die_with(parent)
    pid = os.getpid()
    try:
        on_device = _set_up(data, cfg, gpu)
    except Exception as exc:
        events.put(("broken", pid, _error(exc)))
        return

    def progress(p):
        _die_with(parent)
        events.put(("progress", pid, p))

    while (task := inbox.get()) is not None:
        events.put(("started", pid, task))
        kind, payload = _attempt(task, on_device, cfg, progress)
        events.put((kind, pid, (task, payload)))


def run_processes(todo: Sequence, split, cfg: Config, handler: Handler, jobs: int, worker=None,
                  gpus: Sequence[int] = ()) -> None:
    """`jobs` worker processes (spawned, not forked: safe with CUDA and threads) take tasks as they
    come; results travel back to this process. Worker i trains on GPU `gpus[i]` (on CUDA). The split
    goes into shared memory once and each worker maps it (actcli.shared), instead of each receiving a
    pickled copy (which it still is where /dev/shm has no room, with a notice). A task whose worker dies is reported failed, and so are tasks no worker was left to
    take; a worker that cannot start says why (`handler.notice`, and the failures of the tasks left
    when none could). (`worker` replaces the worker function, for tests.)"""
    import multiprocessing as mp

    from . import shared as sharing

    ctx = mp.get_context("spawn")
    inbox, events = ctx.Queue(), ctx.Queue()
    for task in todo:
        inbox.put(task)
    for _ in range(jobs):
        inbox.put(None)
    places = [gpus[i % len(gpus)] if gpus else None for i in range(jobs)]
    shared = sharing.SharedSplit(split) if sharing.fits(split) else None
    if shared is None:
        _notice(handler, f"/dev/shm has no room for the data ({sharing.nbytes(split) / 1e6:,.0f} MB): each worker "
                         "process is sent a copy")
    payload = split if shared is None else shared.handle
    workers = [ctx.Process(target=worker or _worker, args=(inbox, events, payload, cfg, os.getpid(), gpu),
                           daemon=True) for gpu in places]
    holding: dict[int, object] = {}           # worker pid → the task it is training
    broken: dict[int, str] = {}               # worker pid → why it could not start
    where: dict[int, str] = {}
    left = set(todo)

    def handle(kind, pid, payload):
        if kind == "started":
            holding[pid] = payload
            handler.started(payload, where.get(pid, f"process {pid}"))
        elif kind == "progress":
            handler.progress(payload)
        elif kind == "broken":
            broken[pid] = payload
            _notice(handler, f"worker {where.get(pid, f'process {pid}')} could not start: {payload}")
        else:
            task, value = payload
            holding.pop(pid, None)
            if task in left:
                left.discard(task)
                (handler.finished if kind == "finished" else handler.failed)(task, value)

    try:
        for w, gpu in zip(workers, places, strict=True):
            w.start()
            where[w.pid] = _where(f"process {w.pid}", gpu)
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
        reasons = sorted(set(broken.values()))
        if reasons and len(broken) == len(workers):
            why = f"no worker process could start: {reasons[0]}"
        else:
            why = ("no result: its worker process died, or none was left to run it "
                   f"(exit codes {', '.join(map(str, codes)) or 'none'})"
                   + (f"; a worker could not start: {reasons[0]}" if reasons else ""))
        for task in sorted(left):          # never silently dropped: taken by a worker that died unseen, or untaken
            handler.failed(task, why)
    finally:
        for w in workers:
            if w.is_alive():
                w.terminate()
        for w in workers:
            w.join(timeout=10)
        for q in (inbox, events):          # never wait at exit for a pipe nobody reads
            q.cancel_join_thread()
            q.close()
        if shared is not None:
            shared.close()


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
BROKEN = "__actcli_broken__"   # … and that its worker cannot run another (it could not start again)
PROBE_SECONDS = 120            # how long the cluster has to run the probe task before it is an error

_started_ray = False           # whether actcli started this process's Ray connection (so it stops it)


def connect_ray(address: str | None):
    """Ray, connected: a local instance started (or one already running on this machine joined, as
    `ray.init` does) when `address` is None; 'auto', 'host:port' or 'ray://…' joins a running cluster
    (RAY_ADDRESS too). A connection already open in this process is used as it is."""
    global _started_ray
    ray = import_ray()
    if not ray.is_initialized():
        try:
            with quiet_ray_banner():
                ray.init(address=address or os.environ.get("RAY_ADDRESS") or None, log_to_driver=False,
                         include_dashboard=False, configure_logging=False)
        except ConnectionError as exc:
            raise UsageProblem(f"Ray at {address or 'RAY_ADDRESS'}: {_error(exc)}") from None
        _started_ray = True
    return ray


def disconnect_ray() -> None:
    """Stop the Ray connection if `connect_ray` started it (one the caller opened stays open)."""
    global _started_ray
    if _started_ray:
        import ray

        ray.shutdown()
        _started_ray = False


def default_gpus_per_task(device: str) -> float:
    return 1.0 / TASKS_PER_GPU if device == "cuda" else 0.0


def slots(nodes: Sequence[dict], cpus: float, gpus: float) -> int:
    """How many tasks asking for `cpus` CPUs and `gpus` GPUs the nodes ({'CPU': …, 'GPU': …}, Ray's
    resources of each) hold at once. A fraction of a GPU must fit on one GPU, as Ray places it."""
    total = 0
    for r in nodes:
        n = int(r.get("CPU", 0) / cpus + 1e-9) if cpus > 0 else 1 << 30
        if gpus > 0:
            whole = int(r.get("GPU", 0) + 1e-9)
            n = min(n, whole * int(1 / gpus + 1e-9) if gpus < 1 else int(r.get("GPU", 0) / gpus + 1e-9))
        total += n
    return total


def _request(cpus: float, gpus: float) -> str:
    return f"{cpus:g} CPU{'s' * (cpus != 1)}" + (f" and {gpus:g} GPU" if gpus else "")


def _alive_nodes(ray) -> list[dict]:
    return [n.get("Resources", {}) for n in ray.nodes() if n.get("Alive")]


def _feasible(nodes: Sequence[dict], cpus: float, gpus: float) -> int:
    """The tasks the cluster holds at once; a usage error, before any task is submitted, when it can hold
    none (Ray would keep them waiting for resources that never come)."""
    n = slots(nodes, cpus, gpus)
    if n == 0:
        have = "; ".join(f"{r.get('CPU', 0):g} CPUs, {r.get('GPU', 0):g} GPUs" for r in nodes) or "no node alive"
        raise UsageProblem(f"the Ray cluster cannot run a task asking for {_request(cpus, gpus)}: no node has "
                           f"them (its nodes: {have}), so no task would ever start")
    return n


def _facts():
    """Run as a Ray task: what torch sees on the worker (actcli.devices.Facts)."""
    import ray

    return devices.Facts.here(f"on the Ray cluster (node {ray.util.get_node_ip_address()})")


def resolve_on_ray(cfg: Config, address: str | None, gpus_per_task: float | None = None):
    """(cfg with 'auto' device and precision resolved where Ray runs the tasks, what torch sees there:
    devices.Facts). It connects (connect_ray), and runs one small task that asks for what a training task
    will (the config's threads as CPUs; a GPU fraction unless the device is 'cpu' or the cluster has no
    GPU), so `--device auto` finds the cluster's GPUs from a laptop that has none, and `--device cuda`
    is refused where the cluster's torch sees no CUDA. A request no node can meet is refused first."""
    from . import train

    ray = connect_ray(address)
    try:
        nodes = _alive_nodes(ray)
        has_gpu = any(r.get("GPU", 0) > 0 for r in nodes)
        if cfg.device == "cuda" and not has_gpu:
            raise ParameterError("device 'cuda': the Ray cluster has no GPU (its nodes: "
                                 + "; ".join(f"{r.get('CPU', 0):g} CPUs" for r in nodes) + ")", "device")
        gpus = gpus_per_task if gpus_per_task is not None else (
            default_gpus_per_task("cuda") if cfg.device != "cpu" and has_gpu else 0.0)
        _feasible(nodes, cfg.threads, gpus)
        probe = ray.remote(num_cpus=cfg.threads, num_gpus=gpus, max_retries=1)(_facts).remote()
        ready, _ = ray.wait([probe], timeout=PROBE_SECONDS)
        if not ready:
            ray.cancel(probe, force=True)
            raise UsageProblem(f"the Ray cluster ran no task asking for {_request(cfg.threads, gpus)} within "
                               f"{PROBE_SECONDS} s (its resources are held by other work)")
        facts = ray.get(probe)
        return train.resolve(cfg, facts), facts
    except BaseException:
        disconnect_ray()
        raise


def check_on_ray(cfg: Config, gpus_per_task: float | None = None) -> int:
    """On the connected cluster: how many tasks of `cfg` it holds at once; a usage error when none."""
    import ray

    gpus = default_gpus_per_task(cfg.device) if gpus_per_task is None else gpus_per_task
    try:
        return _feasible(_alive_nodes(ray), cfg.threads, gpus)
    except BaseException:
        disconnect_ray()
        raise


class RayWorker:
    """A Ray actor: one worker process, on the GPU Ray gave it, that puts the data on its device once and
    trains the tasks it is handed (Ray's GPU tasks would each start a process: a torch import, a CUDA
    context and the data copied every time). It never fails to start: `ready` says why it could not."""

    def __init__(self, split, cfg: Config, events):
        import ray

        self.cfg, self.events = cfg, events
        gpu_ids = [str(g) for g in ray.get_gpu_ids()]
        self.where = _where(f"ray worker {os.getpid()}", gpu_ids)
        self.error = None
        try:
            gpu = (devices.local_index(gpu_ids[0], os.environ.get("CUDA_VISIBLE_DEVICES"))
                   if cfg.device == "cuda" and gpu_ids else None)
            self.on_device = _set_up(split, cfg, gpu)
        except Exception as exc:
            self.error = _error(exc)

    def ready(self) -> str | None:
        """Why it could not start, or None."""
        return self.error

    def _tell(self, event) -> None:
        try:                  # progress is a courtesy: a lost queue must not fail the task
            self.events.put(event, timeout=5)
        except Exception:
            pass

    def train(self, task) -> dict:
        if self.error:                           # a restart (after its process died) that could not start
            return {FAILED: f"its Ray worker could not start again: {self.error}", BROKEN: True}
        self._tell(("started", self.where, task))
        kind, payload = _attempt(task, self.on_device, self.cfg, lambda p: self._tell(("progress", self.where, p)))
        return payload if kind == "finished" else {FAILED: payload}


# How long the cluster may have no live node that can run a task before the run is given up as lost (a node
# that restarts, or an autoscaler's new one, is waited for this long).
LOST_AFTER = 20.0


def run_ray(todo: Sequence, split, cfg: Config, handler: Handler, address: str | None,
            gpus_per_task: float | None = None, max_retries: int = 2, lost_after: float | None = None) -> dict:
    """The tasks on Ray workers (actors), each asking for the config's threads as CPUs and, on CUDA, a
    fraction of a GPU; as many workers as the cluster holds at once (and no more than the tasks).

    Connects as `connect_ray` does (and stops a connection it started). 'auto' in the config is resolved
    on the cluster (`resolve_on_ray`); a request no node can meet is a usage error before any task is
    submitted. The split goes into the object store once; each worker puts it on its device once. A
    worker that dies (its process, or its node) is restarted, on another node if its own is gone, and its
    task retried `max_retries` times, then the task is reported failed; a task that raises is reported
    failed with its error; a worker that cannot start is said (`handler.notice`) and the others take its
    tasks. A cluster with no live node able to run a task for `lost_after` seconds (default LOST_AFTER),
    or whose head stops answering, raises ClusterLost: the tasks that finished were handed over already.
    Returns what Ray ran on (as the run found it, should the head be lost as the last task ends)."""
    from ray.util.queue import Queue
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    from . import train

    ray = connect_ray(address)
    try:
        if not train.is_resolved(cfg):          # a caller that did not `prepare`: resolved where the tasks run
            cfg, _ = resolve_on_ray(cfg, address, gpus_per_task)
        gpus = default_gpus_per_task(cfg.device) if gpus_per_task is None else gpus_per_task
        at_once = _feasible(_alive_nodes(ray), cfg.threads, gpus)
        # the progress queue (an actor) on the driver's node, holding no CPU, restarted if lost: a lost
        # worker node must not take it along
        here = NodeAffinitySchedulingStrategy(ray.get_runtime_context().get_node_id(), soft=True)
        events = Queue(actor_options={"num_cpus": 0, "max_restarts": -1, "scheduling_strategy": here})
        data = ray.put(split)
        worker = ray.remote(num_cpus=cfg.threads, num_gpus=gpus, max_restarts=max_retries,
                            max_task_retries=max_retries)(RayWorker)
        watch = _Watch(ray, cfg.threads, gpus, LOST_AFTER if lost_after is None else lost_after)
        actors = [worker.remote(data, cfg, events) for _ in range(min(at_once, len(todo)))]
        lost = False
        try:
            _schedule(ray, actors, list(todo), handler, events, watch)
        except ClusterLost:
            lost = True
            raise
        finally:
            for actor in actors if not lost else ():   # done, Ctrl-C or an error: the workers stop
                ray.kill(actor)                       # (a lost cluster cannot be told)
        try:
            alive = watch.alive()
        except ClusterLost:              # lost as the last task ended: the cluster as the run found it
            alive = watch.nodes
        return {"cpus": sum(n.get("Resources", {}).get("CPU", 0) for n in alive),
                "gpus": sum(n.get("Resources", {}).get("GPU", 0) for n in alive), "nodes": len(alive),
                "cpus_per_task": cfg.threads, "gpus_per_task": gpus, "workers": len(actors)}
    finally:
        disconnect_ray()


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


def _schedule(ray, actors: list, todo: list, handler: Handler, events, watch: _Watch) -> None:
    """Hand the tasks to the workers as they come free, until every task has a result. A worker left with
    nothing to do is stopped: a worker restarting after its node was lost may need its place."""
    starting = {actor.ready.remote(): actor for actor in actors}
    idle, busy, reasons = [], {}, []
    while todo or busy:
        while idle and todo:
            actor, task = idle.pop(), todo.pop(0)
            busy[actor.train.remote(task)] = (actor, task)
        if not todo:
            for actor in idle:
                ray.kill(actor)
            idle.clear()
        if not (starting or busy):               # every worker broke or died: nobody is left for these
            why = f"no Ray worker could start: {reasons[0]}" if reasons else "no Ray worker was left to run it"
            for task in todo:
                handler.failed(task, why)
            return
        try:
            ready, _ = ray.wait([*starting, *busy], num_returns=1, timeout=0.2)
            _drain(events, handler)
        except ray.exceptions.RayError as exc:    # the queue's actor or the cluster's head is gone
            raise ClusterLost(f"the Ray cluster stopped answering ({_error(exc)})") from None
        for ref in ready:
            if ref in starting:
                actor = starting.pop(ref)
                try:
                    error = ray.get(ref)
                except ray.exceptions.RayError as exc:     # its process died before it answered
                    watch.knock()
                    error = _error(exc)
                if error:
                    reasons.append(error)
                    _notice(handler, f"a Ray worker could not start: {error}")
                    ray.kill(actor)
                else:
                    idle.append(actor)
                continue
            actor, task = busy.pop(ref)
            try:
                result = ray.get(ref)
            except ray.exceptions.RayTaskError as exc:
                handler.failed(task, _error(exc.cause) if exc.cause else _error(exc))
                idle.append(actor)
            except ray.exceptions.RayError as exc:   # its worker or node lost past its retries: gone,
                watch.knock()                         # unless it is the cluster that is lost
                handler.failed(task, _error(exc))
            else:
                _drain(events, handler)
                if FAILED in result:
                    handler.failed(task, result[FAILED])
                else:
                    handler.finished(task, result)
                if BROKEN in result:
                    ray.kill(actor)
                else:
                    idle.append(actor)
        if starting or busy:
            watch.check()


def _drain(events, handler: Handler) -> None:
    while True:
        try:
            kind, where, payload = events.get_nowait()
        except Exception:  # ray.util.queue.Empty
            return
        if kind == "started":
            handler.started(payload, where)
        elif kind == "progress":
            handler.progress(payload)


__all__ = ["LOST_AFTER", "TASKS_PER_GPU", "Handler", "Plan", "RayWorker", "auto_threads", "check_on_ray", "choose",
           "connect_ray", "cores", "disconnect_ray", "import_ray", "resolve_on_ray", "run_here", "run_processes",
           "run_ray", "slots"]
