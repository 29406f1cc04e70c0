"""The CUDA path's logic, tested without a GPU: torch.cuda is faked where a test needs a GPU to be there.

Placement over the GPUs, the settings that make CUDA deterministic, the bf16 choice, the versions a CUDA
run records, the worker start-up errors, the shared split. (Ray's side: tests/test_ray_gpus.py.)"""

import os
import pickle
from collections import Counter

import numpy as np
import pytest
import torch

from actcli import devices, executors, experiment, train
from actcli.config import Config
from actcli.errors import ParameterError, UsageProblem
from actcli.experiment import Execution, RunFolder, Task
from actcli.shared import SharedSplit

from helpers import Record

CFG = Config(epochs=1, device="cpu", precision="fp32", threads=1)


@pytest.fixture
def gpus(monkeypatch):
    """A fake machine with `n` GPUs (compute capability 9.0, native bf16): gpus(n)."""
    def make(n, bf16_emulated_only=False, name="NVIDIA H200"):
        monkeypatch.setattr(torch.cuda, "is_available", lambda: n > 0)
        monkeypatch.setattr(torch.cuda, "device_count", lambda: n)
        monkeypatch.setattr(torch.cuda, "get_device_name", lambda i=None: name)
        monkeypatch.setattr(torch.cuda, "is_bf16_supported",
                            lambda including_emulation=True: including_emulation or not bf16_emulated_only)
        monkeypatch.setattr(torch.version, "cuda", "12.8")
        monkeypatch.setattr(torch.backends.cudnn, "version", lambda: 91002)
    return make


# ---- every GPU used --------------------------------------------------------------------------

@pytest.mark.parametrize("jobs, tasks, threads, n_cores, n_gpus, expected_jobs", [
    ("auto", 100, 1, 64, 8, 32),    # 4 per GPU on all eight
    ("auto", 100, 1, 16, 8, 16),    # bounded by the cores that launch the kernels
    ("auto", 100, 4, 16, 2, 4),     # 4-thread tasks: 16 cores hold 4
    ("auto", 3, 1, 64, 8, 3),       # never more than the tasks
    (32, 100, 1, 4, 8, 32),         # --jobs N is honoured, spread as auto is
    (5, 100, 1, 16, 2, 5),
])
def test_workers_go_round_robin_over_every_gpu(jobs, tasks, threads, n_cores, n_gpus, expected_jobs):
    plan = executors.choose(jobs, tasks, "cuda", threads, n_cores, gpus=n_gpus)
    assert plan.jobs == expected_jobs and len(plan.gpus) == plan.jobs
    assert list(plan.gpus) == [i % n_gpus for i in range(plan.jobs)]
    per_gpu = Counter(plan.gpus)
    assert set(per_gpu) == set(range(min(n_gpus, plan.jobs)))            # every GPU that can have one has one
    assert max(per_gpu.values()) - min(per_gpu.values()) <= 1            # and none has two more than another


def test_the_gpu_count_is_torch_s(gpus):
    gpus(3)
    assert executors.choose("auto", 100, "cuda", 1, n_cores=64).gpus == (0, 1, 2) * 4
    assert executors.choose("auto", 100, "cpu", 1, n_cores=64).gpus == ()     # a CPU run places nothing


def test_auto_threads_and_choose_agree_on_cuda():
    for n_gpus in (1, 2, 8):
        for n_cores in (2, 4, 16, 64):
            for tasks in range(1, 41):
                threads = executors.auto_threads("auto", tasks, "cuda", n_cores, gpus=n_gpus)
                plan = executors.choose("auto", tasks, "cuda", threads, n_cores, gpus=n_gpus)
                assert plan.jobs == min(tasks, n_cores, 4 * n_gpus), (n_gpus, n_cores, tasks)
                assert plan.jobs * threads <= n_cores


def test_a_cuda_run_hands_each_worker_its_gpu(gpus, monkeypatch, tmp_path, tiny_split):
    """experiment.run on a (fake) 2-GPU machine: the workers' GPUs are the plan's, and say so."""
    gpus(2)
    seen = {}
    monkeypatch.setattr(executors, "run_processes",
                        lambda todo, split, cfg, handler, jobs, gpus=(): seen.update(jobs=jobs, gpus=gpus))
    monkeypatch.setattr(executors, "run_here", lambda todo, split, cfg, handler, gpu=None: seen.update(gpu=gpu))
    monkeypatch.setattr(executors, "cores", lambda: 16)
    split, info = tiny_split
    cuda = Config(epochs=1, device="cuda", precision="fp32", threads=1)
    tasks = [Task(a, s) for s in range(3) for a in ("relu", "elu")]
    folder = RunFolder.open(tmp_path / "run", experiment.header(cuda, info))
    outcome = experiment.run(tasks, folder, split, cuda, execution=Execution())
    assert seen == {"jobs": 6, "gpus": (0, 1, 0, 1, 0, 1)}
    assert outcome.execution == {"executor": "processes", "jobs": 6, "threads": 1, "gpus": [0, 1, 0, 1, 0, 1]}
    experiment.run(tasks, folder, split, cuda, execution=Execution(jobs=1))
    assert seen["gpu"] == 0


def test_a_worker_takes_its_gpu_before_any_cuda_work(monkeypatch, tiny_split):
    calls = []
    monkeypatch.setenv("CUBLAS_WORKSPACE_CONFIG", "")
    monkeypatch.delenv("CUBLAS_WORKSPACE_CONFIG")         # restored (unset) after the test
    monkeypatch.setattr(torch.cuda, "set_device",
                        lambda i: calls.append(("set_device", i, os.environ.get("CUBLAS_WORKSPACE_CONFIG"))))
    monkeypatch.setattr(train, "DeviceData", lambda split, device: calls.append(("data", device)))
    executors._set_up(tiny_split[0], Config(device="cuda", threads=1), gpu=3)
    assert calls == [("set_device", 3, ":4096:8"), ("data", "cuda")]


def test_local_gpu_index_under_cuda_visible_devices():
    assert devices.local_index("1", "1") == 0             # Ray narrowed the process to its GPU
    assert devices.local_index(3, "2,3") == 1
    assert devices.local_index("GPU-5a1b", "GPU-9f00,GPU-5a1b") == 1
    assert devices.local_index(2, None) == 2              # nothing narrowed: the id is the index


# ---- deterministic CUDA, fp32 that is fp32 -----------------------------------------------------

@pytest.fixture
def torch_flags(monkeypatch):
    """Restores torch's process-wide settings after a test that changes them."""
    saved = (torch.backends.cudnn.benchmark, torch.backends.cudnn.deterministic,
             torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled(),
             torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32)
    monkeypatch.setenv("CUBLAS_WORKSPACE_CONFIG", "")
    monkeypatch.delenv("CUBLAS_WORKSPACE_CONFIG")
    yield
    (torch.backends.cudnn.benchmark, torch.backends.cudnn.deterministic, algorithms, warn_only,
     torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32) = saved
    torch.use_deterministic_algorithms(algorithms, warn_only=warn_only)


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_a_cuda_task_is_deterministic_and_fp32_is_not_tf32(torch_flags, precision):
    torch.backends.cudnn.benchmark = True                 # as an earlier version of the trainer left them
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = True
    devices.configure("cuda", precision)
    assert torch.backends.cudnn.benchmark is False and torch.backends.cudnn.deterministic is True
    assert torch.are_deterministic_algorithms_enabled() and not torch.is_deterministic_algorithms_warn_only_enabled()
    assert os.environ["CUBLAS_WORKSPACE_CONFIG"] == ":4096:8"
    assert torch.backends.cudnn.allow_tf32 is False and torch.backends.cuda.matmul.allow_tf32 is False


def test_a_cpu_task_leaves_torch_s_settings_alone(torch_flags):
    torch.backends.cudnn.benchmark = True
    devices.configure("cpu", "fp32")
    assert torch.backends.cudnn.benchmark is True and not torch.are_deterministic_algorithms_enabled()
    assert "CUBLAS_WORKSPACE_CONFIG" not in os.environ


def test_every_task_configures_its_device(monkeypatch, tiny_split):
    seen = []
    monkeypatch.setattr(devices, "configure", lambda device, precision: seen.append((device, precision)))
    train.train("relu", train.DeviceData(tiny_split[0], "cpu"), CFG)
    assert seen == [("cpu", "fp32")]


@pytest.mark.parametrize("emulated_only, expected", [(True, "fp32"), (False, "bf16")])
def test_auto_precision_takes_bf16_only_where_it_is_native(gpus, emulated_only, expected):
    gpus(1, bf16_emulated_only=emulated_only)             # a V100 or T4 emulates bf16; an A100 has it
    assert train.resolve_precision("auto", "cuda") == expected
    assert train.resolve(Config(device="auto", precision="auto")).precision == expected


@pytest.mark.parametrize("capability, native", [((7, 0), False), ((8, 0), True)])
def test_bf16_on_a_torch_without_including_emulation(monkeypatch, capability, native):
    def old_is_bf16_supported():                           # torch < 2.3 takes no argument
        return True

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", old_is_bf16_supported)
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: capability)
    assert devices.native_bf16("cuda") is native


# ---- what a run records ---------------------------------------------------------------------

def test_a_cuda_run_records_the_gpu_cuda_and_cudnn(gpus):
    gpus(2)
    planned = experiment.prepare(["relu"], dataset="mnist-sample", device="auto", epochs=1)
    assert planned.config.device == "cuda" and planned.config.precision == "bf16"
    assert planned.versions == {"actcli": planned.versions["actcli"], "torch": torch.__version__,
                                "gpu": "NVIDIA H200", "cuda": "12.8", "cudnn": "91002"}


def test_a_cpu_run_records_none_of_them(gpus):
    gpus(2)                                               # a GPU machine told --device cpu
    planned = experiment.prepare(["relu"], dataset="mnist-sample", device="cpu", epochs=1)
    assert set(planned.versions) == {"actcli", "torch"}   # as the committed docs/runs folders


def test_the_report_names_the_gpu():
    from actcli.markdown import config_table

    doc = {"dataset": {"name": "mnist", "source": "x", "train": 1, "val": 1, "test": 1}, "config": {},
           "versions": {"torch": "2.13.0", "gpu": "NVIDIA H200", "cuda": "12.8", "cudnn": "91002"}}
    assert config_table(doc).splitlines()[3:] == ["| torch version | 2.13.0 |", "| GPU | NVIDIA H200 |",
                                                  "| cuda version | 12.8 |", "| cudnn version | 91002 |"]


def test_resolved_where_the_tasks_run_not_here():
    """What a Ray worker reported decides, whatever this machine has (tests/test_ray_gpus.py gets it from Ray)."""
    there = devices.Facts(cuda=True, gpus=4, bf16_cpu=False, bf16_cuda=True, torch="2.13.0+cu128",
                          versions_cuda={"gpu": "NVIDIA A100", "cuda": "12.8", "cudnn": "91002"},
                          where="on the Ray cluster (node 10.0.0.7)")
    cfg = train.resolve(Config(device="auto", precision="auto"), there)
    assert (cfg.device, cfg.precision) == ("cuda", "bf16")
    assert there.versions("cuda")["gpu"] == "NVIDIA A100" and there.versions("cpu") == {"torch": "2.13.0+cu128"}
    cpu_only = devices.Facts(False, 0, False, False, "2.13.0+cpu", {}, "on the Ray cluster (node 10.0.0.8)")
    assert train.resolve(Config(device="auto", precision="auto"), cpu_only).device == "cpu"
    with pytest.raises(ParameterError, match=r"no CUDA device on the Ray cluster \(node 10\.0\.0\.8\)"):
        train.resolve(Config(device="cuda"), cpu_only)


# ---- the rest -------------------------------------------------------------------------------

def test_images_per_second_leaves_out_the_first_epoch():
    def epoch(i, rate):
        return train.Epoch(i, 0, 0, 0, 0, 1.0, rate, {}, {}, 0.0)

    assert train.Result("relu", epochs=[epoch(1, 100.0), epoch(2, 200.0), epoch(3, 400.0)]).images_per_second == 300
    assert train.Result("relu", epochs=[epoch(1, 100.0)]).images_per_second == 100   # the only one: its own


def test_the_probe_measures_under_the_training_autocast(monkeypatch, tiny_split):
    from actcli import networks
    from actcli.lookup import resolve

    inside = []
    real = train._slopes
    monkeypatch.setattr(train, "_slopes", lambda m, z: inside.append(torch.is_autocast_enabled("cpu")) or real(m, z))
    model = networks.build(resolve("gelu"), Config())
    x = torch.from_numpy(tiny_split[0].val_x[:8])
    train.measure_layers(model, x, "cpu", "bf16")
    assert inside == [True, True, True]
    inside.clear()
    train.measure_layers(model, x, "cpu", "fp32")
    assert inside == [False, False, False]


def test_workers_map_one_shared_split(tiny_split):
    split = tiny_split[0]
    with SharedSplit(split) as shared:
        handed = pickle.dumps(shared.handle)
        assert len(handed) < 2_000 < len(pickle.dumps(split))      # a name and a layout, not the images
        attached = pickle.loads(handed).attach()
        for name in ("train_x", "train_y", "val_x", "val_y", "test_x", "test_y"):
            assert np.array_equal(getattr(attached, name), getattr(split, name))
            assert getattr(attached, name).dtype == getattr(split, name).dtype
        on_cpu = train.DeviceData(attached, "cpu")
        assert np.shares_memory(on_cpu.train_x.numpy(), attached.train_x)   # used where it lies, not copied
        name = shared.handle.name
    from multiprocessing import shared_memory

    with pytest.raises(FileNotFoundError):
        shared_memory.SharedMemory(name=name)                          # closed and unlinked


def test_the_split_is_shared_only_where_dev_shm_has_room_for_it(monkeypatch, tiny_split):
    from actcli import shared

    split = tiny_split[0]
    need = shared.nbytes(split)
    assert need >= sum(getattr(split, f).nbytes for f in ("train_x", "train_y", "val_x", "val_y", "test_x", "test_y"))

    def free(n):
        return lambda path: os.statvfs_result((4096, 4096, 1 << 20, n // 4096, n // 4096, 0, 0, 0, 0, 255))

    monkeypatch.setattr(shared.os, "statvfs", free(need + shared.SPARE + 4096))
    assert shared.fits(split)
    monkeypatch.setattr(shared.os, "statvfs", free(need))            # a container's small /dev/shm
    assert not shared.fits(split)
    record = Record()
    executors.run_processes([Task("relu", 0)], split, CFG, record, jobs=1)
    assert record.done == [Task("relu", 0)] and "/dev/shm has no room for the data" in record.notices[0]


def test_a_worker_that_cannot_start_says_why(tiny_split):
    """A GPU that does not exist (here: torch has no CUDA at all) fails every worker's start: the tasks fail
    with the workers' own error, not 'worker process died'."""
    record = Record()
    tasks = [Task("relu", 0), Task("elu", 0), Task("gelu", 0)]
    executors.run_processes(tasks, tiny_split[0], Config(epochs=1, device="cuda", precision="fp32", threads=1),
                            record, jobs=2, gpus=(98, 99))
    assert not record.done and sorted(record.errors) == sorted(tasks)
    assert all(e.startswith("no worker process could start: ") for e in record.errors.values())
    why = {e.removeprefix("no worker process could start: ") for e in record.errors.values()}
    assert len(why) == 1 and why != {""}
    text = next(iter(why))                                # torch's own words, whatever this machine has
    assert len(record.notices) == 2 and all(f"could not start: {text}" in n for n in record.notices)
    assert any("on GPU 98" in n for n in record.notices) and any("on GPU 99" in n for n in record.notices)


def test_the_others_take_the_tasks_of_a_worker_that_cannot_start(tiny_split):
    from helpers import worker_out_of_memory_on_gpu_1

    record = Record()
    tasks = [Task("relu", 0), Task("elu", 0), Task("relu", 1)]
    executors.run_processes(tasks, tiny_split[0], CFG, record, jobs=2, worker=worker_out_of_memory_on_gpu_1,
                            gpus=(0, 1))
    assert sorted(record.done) == sorted(tasks) and not record.errors
    assert len(record.notices) == 1 and "on GPU 1 could not start: RuntimeError: CUDA error: out of memory" \
        in record.notices[0]
    assert all(w.endswith("on GPU 0") for w in record.where)


def test_an_unsatisfiable_request_is_counted_as_ray_places_it():
    node = {"CPU": 16, "GPU": 2}
    assert executors.slots([node], 1, 0.25) == 8
    assert executors.slots([node], 1, 0.3) == 6           # 3 on each GPU: a fraction never spans two
    assert executors.slots([node], 4, 0.25) == 4          # the CPUs run out first
    assert executors.slots([node], 1, 1) == 2
    assert executors.slots([{"CPU": 2}], 1, 0.5) == 0     # no GPU: never
    assert executors.slots([{"CPU": 2}], 1, 0) == 2
    assert executors.slots([{"CPU": 2}, {"CPU": 8, "GPU": 1}], 2, 0.5) == 2
    with pytest.raises(UsageProblem, match=r"cannot run a task asking for 1 CPU and 0.5 GPU: no node has them "
                                           r"\(its nodes: 2 CPUs, 0 GPUs\)"):
        executors._feasible([{"CPU": 2}], 1, 0.5)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_the_same_seed_gives_the_same_numbers_on_cuda(tiny_split):
    from helpers import without_timings

    cfg = train.resolve(Config(epochs=2, device="cuda", threads=1))
    a, b = (train.train("relu", train.DeviceData(tiny_split[0], "cuda"), cfg, 3).to_dict() for _ in range(2))
    assert without_timings(a) == without_timings(b)
