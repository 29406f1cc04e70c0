"""Assertions shared by the CLI tests."""


def one_line_error(result, code=2):
    """Bad input: the given exit code, one line on stderr, no traceback, nothing on stdout."""
    assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr)
    err = result.stderr.strip()
    assert err.startswith("Error: ") and "\n" not in err, err
    assert "Traceback" not in result.stderr
    return err


class Record:
    """An executors.Handler that keeps what it is told: tasks done, errors by task, notices, where each started."""

    def __init__(self):
        self.done, self.errors, self.notices, self.where = [], {}, [], []

    def started(self, task, where):
        self.where.append(where)

    def progress(self, p):
        pass

    def finished(self, task, result):
        self.done.append(task)

    def failed(self, task, error):
        self.errors[task] = error

    def notice(self, text):
        self.notices.append(text)


TIMINGS = frozenset({"seconds", "images_per_second"})


def without_timings(result):
    """A task's result without its timings, the only numbers that differ between two runs of it."""
    return {**{k: v for k, v in result.items() if k not in TIMINGS},
            "epochs": [{k: v for k, v in e.items() if k not in TIMINGS} for e in result["epochs"]]}


def write_mnist_like(folder, n_train=300, n_test=100, seed=0, gz=True):
    """Four small IDX files of learnable synthetic digits (class c lights up row block c)."""
    import numpy as np

    from actcli.idx import write_idx

    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    suffix = ".gz" if gz else ""
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        y = rng.integers(0, 10, n).astype(np.uint8)
        x = rng.integers(0, 60, (n, 28, 28)).astype(np.uint8)
        for i, c in enumerate(y):
            x[i, 2 + 2 * c: 4 + 2 * c, 4:24] = 255
        write_idx(folder / f"{prefix}-images-idx3-ubyte{suffix}", x)
        write_idx(folder / f"{prefix}-labels-idx1-ubyte{suffix}", y)
    return folder


def interrupt_training(monkeypatch, at_call=2):
    """Make the `at_call`-th task's training raise KeyboardInterrupt, as a Ctrl-C in it would."""
    from actcli import train

    real, calls = train.train, []

    def train_or_interrupt(*args, **kwargs):
        calls.append(args[0])
        if len(calls) == at_call:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(train, "train", train_or_interrupt)


def dying_worker(*worker_args):
    """A worker process that dies (exit code 3) on any task of the activation 'elu', as a crash or the
    kernel's OOM killer would end it; it trains the others as the real worker does."""
    import os

    from actcli import executors, train

    original = train.train

    def train_or_die(name, *args, **kwargs):
        if name == "elu":
            os._exit(3)
        return original(name, *args, **kwargs)

    train.train = train_or_die
    executors._worker(*worker_args)


def worker_out_of_memory_on_gpu_1(*worker_args):
    """A worker process whose start fails on GPU 1 as CUDA running out of memory would end it (the
    placement is its last argument); on any other it trains as the real worker does."""
    from actcli import devices, executors

    def prepare_or_fail(device, gpu):
        if gpu == 1:
            raise RuntimeError("CUDA error: out of memory")

    devices.prepare_process = prepare_or_fail
    executors._worker(*worker_args)


def disk_full(monkeypatch, room=0, where=lambda tmp: True):
    """Make actcli.files' atomic writes meet a full disk, as write(2) does: the first `room` bytes are
    written, then ENOSPC. Only for the temporary files whose path satisfies `where` (Linux: the path
    comes from /proc/self/fd)."""
    import errno
    import io
    import os
    import types

    from actcli import files

    class NearlyFull(io.FileIO):
        left = room

        def write(self, data):
            if self.left <= 0:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            n = super().write(memoryview(data)[:self.left])   # a short write, as the disk fills
            self.left -= n
            return n

    def fdopen(fd, mode="r", *args, **kwargs):
        if "w" in mode and where(os.readlink(f"/proc/self/fd/{fd}")):
            return io.BufferedWriter(NearlyFull(fd, "wb"))
        return os.fdopen(fd, mode, *args, **kwargs)

    patched = types.ModuleType("os")
    patched.__dict__.update(vars(os), fdopen=fdopen)
    monkeypatch.setattr(files, "os", patched)


def plain_id(text):
    """A test id in printable ASCII without backslashes: pytest escapes any other character in a node id, and
    mutmut 3.8 cannot then run the test by its id (scripts/mutation.py)."""
    return "".join(c if " " <= c <= "~" and c != "\\" else "?" for c in text)
