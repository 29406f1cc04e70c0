"""The Markdown tables' cells: numbers as written, nothing that rounds to 0 shown as -0.00."""

import math

from actcli.markdown import _cell, _interval


def test_cells():
    assert _cell(-0.5, ".2f") == "-0.50" and _cell(0.004, ".2f") == "0.00" and _cell(-0.004, ".2f") == "0.00"
    assert _cell(-0.004, "+.2f") == "+0.00" and _cell(0.3, "+.2f") == "+0.30"
    assert _cell(math.nan, ".2f") == _cell(None, ".2f") == "—"
    assert _cell(12345.6, ",.0f") == "12,346"


def test_an_interval_whose_bound_rounds_to_zero():
    assert _interval({"n": 3, "mean": 0.2, "ci_low": -0.001, "ci_high": 0.4}, "+.2f") == "+0.20 [+0.00, +0.40]"
