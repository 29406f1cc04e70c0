import os

import pytest
from hypothesis import HealthCheck, settings

# Hypothesis profiles (pick one with `python -m pytest --hypothesis-profile=NAME`).
# - "repeatable", the default, and what CI runs: derandomize=True draws the same examples on every
#   machine and every run, so a clean clone can never fail at random on code nobody touched (a random
#   search once reached softplus' z > 20 in 1 run of 8). No example database, no deadline (the machines
#   are shared and noisy: a timing failure says nothing about correctness).
# - "explore": fresh random examples, 2,000 per test. Run it before a release or after touching the
#   maths, and turn anything it finds into an explicit example or a fix.
settings.register_profile("repeatable", derandomize=True, database=None, deadline=None, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("explore", max_examples=2000, deadline=None, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("repeatable")

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


@pytest.fixture(scope="module")
def tiny_split(tmp_path_factory):
    """(split, dataset description) of a few hundred learnable synthetic digits, as compare loads them."""
    from actcli import experiment
    from actcli.config import Config

    from helpers import write_mnist_like

    folder = write_mnist_like(tmp_path_factory.mktemp("tiny"), n_train=300, n_test=100)
    return experiment.load_data(Config(dataset="mnist"), folder, offline=True)
