"""Commands that need neither torch nor matplotlib must not import them (start-up time); nor pydantic, which
only the commands that read run folders need."""

import json
import subprocess
import sys

import pytest

PROBE = """
import sys
from actcli.cli import cli
try:
    cli.main({args!r}, prog_name="actcli")
except SystemExit:
    pass
print("\\nMODULES", sorted(m for m in ("torch", "matplotlib", "sympy", "pydantic") if m in sys.modules))
"""


def loaded(*args):
    out = subprocess.run([sys.executable, "-c", PROBE.format(args=list(args))], capture_output=True,
                         text=True, check=True, cwd=None).stdout
    return json.loads(out.rsplit("MODULES", 1)[1].replace("'", '"'))


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
