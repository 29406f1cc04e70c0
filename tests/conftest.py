import os

import pytest

# Tests never download, and never open windows.
os.environ["ACTCLI_OFFLINE"] = "1"
os.environ["MPLBACKEND"] = "Agg"


@pytest.fixture
def runner():
    from click.testing import CliRunner

    return CliRunner()


@pytest.fixture
def invoke(runner):
    """Run `actcli ARGS…` in-process; returns click's Result (exit_code, stdout, stderr)."""
    from actcli.cli import cli

    def run(*args, **kwargs):
        return runner.invoke(cli, [str(a) for a in args], catch_exceptions=False, **kwargs)

    return run
