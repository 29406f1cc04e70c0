"""actcli: a command-line laboratory for neural-network activation functions."""

from .activations import NAMES, REGISTRY, Activation, get

__all__ = ["Activation", "NAMES", "REGISTRY", "get", "__version__"]


def __getattr__(name: str):
    # The version lives in the package metadata; reading it costs ~30 ms, so only when asked.
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("actcli")
        except PackageNotFoundError:  # a source tree that was never installed
            return "0+unknown"
    raise AttributeError(f"module 'actcli' has no attribute {name!r}")
