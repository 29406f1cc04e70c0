"""The devices a task trains on: what torch sees (here, or where Ray runs the tasks), which GPU a worker
takes, and the settings that make a CUDA task give the same numbers every time.

Nothing here needs a GPU to be tested: every question goes through `torch.cuda`, which the tests fake.

- Placement: worker i of n takes GPU i mod (the visible GPUs), and calls `torch.cuda.set_device` on it before
  any CUDA work (`prepare_process`), so that eight GPUs are eight GPUs, not GPU 0 eight times.
- Determinism (`configure`, for every CUDA task): cuDNN autotuning off (it picks kernels by timing, and four
  processes sharing a GPU time differently), deterministic cuDNN and torch algorithms (an op with no
  deterministic kernel fails with torch's message naming it, rather than give other numbers), cuBLAS's fixed
  workspace, and TF32 off (cuDNN convolutions default to TF32 on Ampere and later: fp32 would not be fp32).
- bf16 counts only where it is native: `torch.cuda.is_bf16_supported()` also says yes on a V100 or T4, where it
  is emulated.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass

# Small CNNs at batch 128 leave a GPU mostly idle: this many share one.
TASKS_PER_GPU = 4
# What deterministic cuBLAS needs (CUDA ≥ 10.2): a fixed workspace, set before the process's first cuBLAS call.
CUBLAS_WORKSPACE = ":4096:8"
# Measurements only (benchmarks/gpu.py prices determinism): False lets cuDNN autotune as before.
DETERMINISTIC = True


def gpu_count() -> int:
    """The CUDA devices this process sees (0 without CUDA)."""
    import torch

    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def placement(workers: int, gpus: int) -> tuple[int, ...]:
    """The GPU of each of `workers` workers, round-robin over `gpus` devices: (0, 1, …, gpus−1, 0, 1, …)."""
    return tuple(i % gpus for i in range(workers)) if gpus > 0 else ()


def local_index(gpu_id, visible: str | None) -> int:
    """The torch device index of the GPU a scheduler (Ray) assigned as `gpu_id`, in a process whose
    CUDA_VISIBLE_DEVICES is `visible`: its position there (Ray narrows the variable to the GPUs it
    assigned), else the id itself."""
    if visible:
        ids = [v.strip() for v in visible.split(",")]
        if str(gpu_id) in ids:
            return ids.index(str(gpu_id))
    return int(gpu_id)


def prepare_process(device: str, gpu: int | None = None) -> None:
    """In a process about to train on `device`, before any CUDA work: cuBLAS's deterministic workspace
    (read when its first handle is made) and the process's GPU."""
    if device != "cuda":
        return
    import torch

    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", CUBLAS_WORKSPACE)
    if gpu is not None:
        torch.cuda.set_device(gpu)


def configure(device: str, precision: str) -> None:
    """The settings for one CUDA task (torch's are per process, so every task sets them): the same
    seed gives the same numbers, and fp32 is IEEE fp32 (TF32 off; under bf16 autocast the few ops that
    stay in fp32 stay fp32 too). On CPU nothing changes: its kernels are deterministic already."""
    if device != "cuda":
        return
    import torch

    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", CUBLAS_WORKSPACE)
    torch.backends.cudnn.benchmark = not DETERMINISTIC
    torch.backends.cudnn.deterministic = DETERMINISTIC
    torch.use_deterministic_algorithms(DETERMINISTIC)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False


def native_bf16(device: str) -> bool:
    """Whether bf16 arithmetic runs in hardware: Ampere+ GPUs (compute capability ≥ 8; emulation does not
    count); AVX-512 BF16 or AMX CPUs.

    Without it, torch still accepts bf16 but emulates it (here, on a CPU: 0.3 GFLOP/s against fp32's
    166), so 'auto' must not pick it."""
    import torch

    if device == "cuda":
        try:
            return torch.cuda.is_bf16_supported(including_emulation=False)
        except TypeError:   # torch before 2.3 has no including_emulation: ask for the capability itself
            return torch.cuda.is_available() and torch.cuda.get_device_capability()[0] >= 8
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):  # private API; fall back on the CPU's own flags
        try:
            flags = open("/proc/cpuinfo").read()
        except OSError:
            return False
        return "avx512_bf16" in flags or "amx_bf16" in flags


def cuda_versions() -> dict:
    """What a CUDA run records beside torch's version: the GPU's name (the names, where the visible GPUs
    differ), the CUDA torch was built with and cuDNN's version."""
    import torch

    names = list(dict.fromkeys(torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())))
    cudnn = torch.backends.cudnn.version()
    return {"gpu": ", ".join(names) or None, "cuda": torch.version.cuda,
            "cudnn": None if cudnn is None else str(cudnn)}


def versions(device: str) -> dict:
    """What a run here records: torch's version, and on CUDA the GPU, CUDA and cuDNN (a CPU run: none of them)."""
    import torch

    return {"torch": torch.__version__, **(cuda_versions() if device == "cuda" else {})}


@dataclass(frozen=True)
class Facts:
    """What torch sees in the process that will train: here, or on a Ray worker (`where` says which)."""

    cuda: bool
    gpus: int
    bf16_cpu: bool
    bf16_cuda: bool
    torch: str
    versions_cuda: dict       # cuda_versions() where there is CUDA, else {}
    where: str = "here"

    @classmethod
    def here(cls, where: str = "here") -> Facts:
        import torch

        cuda = torch.cuda.is_available()
        return cls(cuda=cuda, gpus=gpu_count(), bf16_cpu=native_bf16("cpu"), bf16_cuda=cuda and native_bf16("cuda"),
                   torch=torch.__version__, versions_cuda=cuda_versions() if cuda else {}, where=where)

    def native_bf16(self, device: str) -> bool:
        return self.bf16_cuda if device == "cuda" else self.bf16_cpu

    def versions(self, device: str) -> dict:
        """As `versions`, for the process these facts describe."""
        return {"torch": self.torch, **(self.versions_cuda if device == "cuda" else {})}

    def to_dict(self) -> dict:
        return asdict(self)
