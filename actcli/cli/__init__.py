"""The command line: the `actcli` group (group.py) and its commands, one module per family.

    group       the click group; every error becomes one line on stderr and an exit code
    _common     parameter types, --json, output helpers shared by the commands
    functions   list, plot, derive
    gradients   chain, clip
    compare     compare, report
    depth       depth: signal propagation, in theory and measured

Each command module registers its commands on the group when imported; this package imports them all.
"""

from . import compare, depth, functions, gradients
from .group import cli

main = cli.main

__all__ = ["cli", "main", "compare", "depth", "functions", "gradients"]
