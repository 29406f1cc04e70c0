"""Commands that need neither torch nor matplotlib must not import them (start-up time); nor pydantic, which
only the commands that read run folders need."""

import json
import subprocess
import sys

import pytest

PROBE = """
import sys
from actcli.cli import cli
code = 0
try:
    cli.main({args!r}, prog_name="actcli")
except SystemExit as exc:
    code = exc.code or 0
print("\\nMODULES", sorted(m for m in ("torch", "matplotlib", "sympy", "pydantic") if m in sys.modules))
print("EXIT", code)
"""


def loaded(*args, exit_code=0):
    """The heavy modules `actcli ARGS…` imported, in a fresh process; the command must also have exited
    with `exit_code` (a command that fails at its first line imports nothing, and proves nothing)."""
    out = subprocess.run([sys.executable, "-c", PROBE.format(args=list(args))], capture_output=True,
                         text=True, check=True, cwd=None).stdout
    modules, code = out.rsplit("MODULES", 1)[1].split("EXIT")
    assert int(code) == exit_code, f"actcli {' '.join(args)} exited {code.strip()}: {out[-500:]}"
    return json.loads(modules.replace("'", '"'))


@pytest.mark.parametrize("args", [["--help"], ["list"], ["derive", "gelu"], ["derive", "gelu-tanh"],
                                  ["chain", "--weights", "100"], ["clip"], ["chain", "--help"]])
def test_light_commands_import_neither_torch_nor_matplotlib(args):
    assert loaded(*args) == []          # nor sympy (built-in names never need it), nor pydantic


def test_a_formula_imports_sympy_but_not_torch():
    assert loaded("derive", "x*tanh(softplus(x))") == ["sympy"]


def test_plot_imports_matplotlib_but_not_torch(tmp_path):
    assert loaded("plot", "gelu", "-o", str(tmp_path / "g.png")) == ["matplotlib"]


def test_derive_check_does_import_torch():  # the probe can tell
    assert "torch" in loaded("derive", "relu", "--check")


def test_python_dash_m():
    out = subprocess.run([sys.executable, "-m", "actcli", "--version"], capture_output=True, text=True)
    assert out.returncode == 0 and "actcli" in out.stdout


def test_report_needs_no_torch(tmp_path):
    """report re-renders stored results: matplotlib for the figures, never torch."""
    from pathlib import Path

    run = Path(__file__).resolve().parent.parent / "docs" / "runs" / "mnist-sample-5ep"
    modules = loaded("report", str(run), "-o", str(tmp_path / "r"), "--json")
    assert "torch" not in modules and "pydantic" in modules     # the probe sees the schema's import


def test_the_probe_fails_a_command_that_fails():
    """`chain --weights bogus` stops at its first line: it imports nothing because it does nothing."""
    with pytest.raises(AssertionError, match="exited 2"):
        loaded("chain", "--weights", "bogus")
    assert loaded("chain", "--weights", "bogus", exit_code=2) == []


def test_depth_theory_only_needs_no_torch():
    """`depth --theory-only` is numpy and scipy: it must not pay torch's import (a measured run does)."""
    assert loaded("depth", "--theory-only", "--depth", "10") == []
    assert "torch" in loaded("depth", "relu", "--depth", "2", "--width", "8", "--batch", "4", "--seeds", "0")
