"""The README's set-up commands are the ones CI runs."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def setup_commands():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Set up", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.+?)\n```", section)


def test_exactly_two_set_up_commands():
    main, tests = setup_commands()
    assert "actcli compare" in main and "torch==2.13.0" in main
    assert "pytest" in tests and "torch==2.13.0" in tests


def test_ci_runs_the_readme_test_command():
    _, tests = setup_commands()
    assert tests in (ROOT / ".ci" / "run").read_text()


def test_torch_is_not_pinned_in_pyproject():
    assert "torch==" not in (ROOT / "pyproject.toml").read_text()
