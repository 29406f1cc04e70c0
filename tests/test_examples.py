"""The examples run, as a user would run them."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).resolve().parent.parent / "examples").glob("*.py"))


def test_there_are_examples():
    assert EXAMPLES


# What each example must print: numbers the docs quote, or the shape of its report (a regex).
SAYS = {
    "activations_tour.py": [r"∂C/∂b₁ = 0\.25 × 25 × 25 × 25 × 1 = 3906\.25 \(exploding\)",
                            r"by_norm   norm 0\.5000, cosine to the original 1\.0000"],
    "resnet_model.py": [r"9,610 parameters; weight layers 0, 2\.conv1, 2\.conv2, 3\.conv1, 3\.conv2, 6; "
                        r"activations 1, 2\.act1, 2\.act2, 3\.act1, 3\.act2"],
    "seeds_experiment.py": [r"6 tasks trained, 0 already in ", r"relu +\d+\.\d\d% \[",
                            r"sigmoid +\d+\.\d\d% \[.*\] +vs relu: [-+]\d+\.\d\d points, "
                            r"(better|worse|not distinguishable)"],
}


def test_every_example_is_checked():
    assert sorted(SAYS) == [p.name for p in EXAMPLES]


@pytest.mark.parametrize("script", EXAMPLES, ids=lambda p: p.name)
def test_example_runs(script):
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    for pattern in SAYS[script.name]:
        assert re.search(pattern, out.stdout), (pattern, out.stdout)
