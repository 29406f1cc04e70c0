"""Your own network: `FILE.py:FUNCTION` or `package.module:FUNCTION`, called once per task as
`FUNCTION(activation)`.

`activation` is a zero-argument callable that returns a fresh torch module of the task's activation
(a built-in or a formula alike). The function returns an nn.Module mapping N×1×28×28 images in [0, 1]
to N×10 logits. `check` tries the contract on one batch before any task starts; the per-layer numbers
come from every Linear and Conv layer (by module name) and from the modules the function got from
`activation()`.

The spec travels as text (workers and Ray nodes import it themselves); `fingerprint` hashes the file's
contents, so that a run folder knows when its model changed.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import sys
from pathlib import Path
from typing import Callable

import torch
import torch.nn as nn

from .activations import Activation
from .errors import ParameterError

WEIGHTED = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)


def _fail(spec: str, reason: str):
    raise ParameterError(f"model {spec!r}: {reason}", "model")


def _source(spec: str) -> tuple[str, str]:
    where, colon, function = spec.rpartition(":")
    if not colon or not where or not function:
        _fail(spec, "write FILE.py:FUNCTION or package.module:FUNCTION")
    if not function.isidentifier():
        _fail(spec, f"{function!r} is not a function name")
    return where, function


def _path(where: str) -> Path | None:
    """The file of a FILE.py spec, or None for a module name."""
    return Path(where).resolve() if where.endswith(".py") or "/" in where or "\\" in where else None


def load(spec: str) -> Callable:
    """The factory function of `spec`; a usage error (ParameterError 'model') naming what went wrong."""
    where, function = _source(spec)
    path = _path(where)
    try:
        if path is not None:
            if not path.is_file():
                _fail(spec, f"no file {str(path)!r}")
            name = "actcli_user_model_" + hashlib.sha1(str(path).encode()).hexdigest()[:12]
            module = sys.modules.get(name)
            if module is None:
                loader = importlib.util.spec_from_file_location(name, path)
                module = importlib.util.module_from_spec(loader)
                sys.modules[name] = module     # dataclasses and pickling look themselves up here
                try:
                    loader.loader.exec_module(module)
                except BaseException:
                    sys.modules.pop(name, None)
                    raise
        else:
            module = importlib.import_module(where)
    except ParameterError:
        raise
    except (Exception, SystemExit) as exc:      # the user's module failed to import: say how, in one line
        _fail(spec, f"importing it failed: {type(exc).__name__}: {' '.join(str(exc).split())}")
    factory = getattr(module, function, None)
    if not callable(factory):
        _fail(spec, f"{where} has no function {function!r}")
    return factory


def fingerprint(spec: str) -> str:
    """sha256 of the file behind the spec (a module's own file for package.module)."""
    where, _ = _source(spec)
    path = _path(where)
    if path is None:
        found = importlib.util.find_spec(where.split(".")[0]) and importlib.util.find_spec(where)
        if found is None or not found.origin or not Path(found.origin).is_file():
            _fail(spec, f"no module {where!r}")
        path = Path(found.origin)
    if not path.is_file():
        _fail(spec, f"no file {str(path)!r}")
    return hashlib.sha256(path.read_bytes()).hexdigest()


class UserNetwork(nn.Module):
    """The user's module, with the per-layer names the probes read: `weight_layers` (every Linear and
    Conv, by its module name) and `activations` (the modules made by `activation()`, by module name)."""

    pool_first = False

    def __init__(self, spec: str, activation: Activation):
        super().__init__()
        made: list[nn.Module] = []

        def fresh() -> nn.Module:
            m = activation.torch_module()          # never in place: we do not know how it is used
            made.append(m)
            return m

        try:
            net = load(spec)(fresh)
        except ParameterError:
            raise
        except Exception as exc:
            _fail(spec, f"calling it raised {type(exc).__name__}: {' '.join(str(exc).split())}")
        if not isinstance(net, nn.Module):
            _fail(spec, f"it returned {type(net).__name__}, not a torch.nn.Module")
        self.net = net
        names = {id(m): n for n, m in net.named_modules() if n}
        self._weights = [n for n, m in net.named_modules() if n and isinstance(m, WEIGHTED)]
        self._acts = [names[id(m)] for m in made if id(m) in names]

    @property
    def weight_layers(self) -> dict[str, nn.Module]:
        modules = dict(self.net.named_modules())
        return {n: modules[n] for n in self._weights}

    @property
    def activations(self) -> dict[str, nn.Module]:
        modules = dict(self.net.named_modules())
        return {n: modules[n] for n in self._acts}

    def forward(self, x: torch.Tensor, textbook_order: bool = False) -> torch.Tensor:
        return self.net(x)


def check(spec: str, activation: Activation) -> None:
    """The contract on one batch of two images, before any task starts: a module with parameters
    that maps N×1×28×28 to N×10 finite logits."""
    torch.manual_seed(0)
    model = UserNetwork(spec, activation)
    if not any(True for _ in model.parameters()):
        _fail(spec, "the network has no parameters to train")
    x = torch.rand(2, 1, 28, 28)
    try:
        with torch.no_grad():
            y = model.eval()(x)
    except Exception as exc:
        _fail(spec, f"a batch of 2×1×28×28 images failed in it: {type(exc).__name__}: {' '.join(str(exc).split())}")
    if not isinstance(y, torch.Tensor) or tuple(y.shape) != (2, 10):
        shape = tuple(y.shape) if isinstance(y, torch.Tensor) else type(y).__name__
        _fail(spec, f"2 images gave {shape}, not logits of shape (2, 10)")
    if not torch.isfinite(y).all():
        _fail(spec, "2 images gave logits that are not finite")
    if not model.weight_layers:
        _fail(spec, "the network has no Linear or Conv layer to measure")
