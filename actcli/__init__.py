"""actcli: a command-line laboratory for neural-network activation functions."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("actcli")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

from .activations import NAMES, REGISTRY, Activation, get  # noqa: E402

__all__ = ["Activation", "NAMES", "REGISTRY", "get", "__version__"]
