"""`list`, `plot`, `derive` through click's CliRunner."""

import json

import numpy as np
import pytest

from actcli import NAMES, __version__
from actcli.cli import cli

from helpers import one_line_error


def test_every_command_has_help_with_an_example(invoke):
    assert set(cli.commands) >= {"list", "plot", "derive", "chain", "clip"}
    for name in cli.commands:
        result = invoke(name, "--help")
        assert result.exit_code == 0
        assert "Example:" in result.stdout and f"actcli {name}" in result.stdout, name
    assert "Example:" in invoke("--help").stdout


def test_every_command_has_json(invoke):
    for name, command in cli.commands.items():
        assert "--json" in {opt for p in command.params for opt in p.opts}, name


def test_every_float_option_of_every_command_is_one_finite_type():
    import click

    from actcli.cli._common import FiniteFloat

    floats = [(name, p.name, p.type) for name, command in cli.commands.items() for p in command.params
              if isinstance(p.type, click.types.FloatParamType)]
    assert len(floats) >= 15
    assert [(name, param) for name, param, kind in floats if not isinstance(kind, FiniteFloat)] == []


def test_no_command_shows_the_help(invoke):
    result = invoke()
    assert result.exit_code == 0 and result.stdout.startswith("Usage: actcli")
    assert "Error" not in result.stdout + result.stderr


def test_version_from_metadata(invoke):
    assert invoke("--version").stdout.strip().endswith(__version__)


def test_list_table_and_json(invoke):
    table = invoke("list")
    assert table.exit_code == 0
    for name in NAMES:
        assert name in table.stdout
    doc = json.loads(invoke("list", "--json").stdout)
    assert [d["name"] for d in doc] == list(NAMES)
    assert doc[NAMES.index("selu")]["params"]["alpha"] == 1.6732632423543772


@pytest.mark.parametrize("columns", [80, 120])
def test_list_fits_the_terminal_two_lines_an_activation_nothing_cut(invoke, columns):
    from actcli import activations

    out = invoke("list", env={"COLUMNS": str(columns)}).stdout
    lines = out.splitlines()
    assert max(len(line.rstrip()) for line in lines) <= columns
    assert "…" not in out
    starts = [i for i, line in enumerate(lines) for name in NAMES if line.split()[:1] == [name]]
    assert len(starts) == len(NAMES)
    ends = starts[1:] + [next(i for i in range(starts[-1], len(lines)) if not lines[i].strip())]
    assert max(b - a for a, b in zip(starts, ends)) <= 2          # each activation on at most two lines
    words = out.split()
    for name in NAMES:   # every word of each formula and range is there, whole
        d = activations.get(name).describe()
        assert all(w in words for w in (d["formula"].split(" = ", 1)[-1].split() + d["output_range"].split())), name
    assert "f′" not in out.split("ZMS:")[0]        # the derivative is on the card
    assert "actcli list NAME" in " ".join(words)


def test_list_name_shows_the_card(invoke):
    out = invoke("list", "selu", env={"COLUMNS": "80"}).stdout
    assert "SELU′(x) = λ if x > 0 else λαeˣ" in out and "alpha = 1.6732632423543772" in out
    assert "lam = 1.0507009873554805" in out and "AlphaDropout" in out
    for key in ("zero-centred", "monotonic", "smooth at 0", "saturates", "range"):
        assert key in out
    assert max(len(line.rstrip()) for line in out.splitlines()) <= 80
    assert json.loads(invoke("list", "swish", "--json").stdout)["name"] == "silu"   # an alias
    wide = invoke("list", "--wide", env={"COLUMNS": "80"}).stdout
    assert all(f"{name}: " in wide for name in NAMES) and wide.count("f′(x)") == len(NAMES)
    assert invoke("list", "nope").exit_code == 2


def test_derive_json_shape(invoke):
    doc = json.loads(invoke("derive", "gelu", "--at", "-1,0,2", "--json").stdout)
    assert set(doc) >= {"activation", "params", "formula", "derivative", "points"}
    assert [p["x"] for p in doc["points"]] == [-1.0, 0.0, 2.0]
    assert doc["points"][1] == {"x": 0.0, "f": 0.0, "df": 0.5}


def test_derive_check_json(invoke):
    result = invoke("derive", "selu", "--check", "--json")
    assert result.exit_code == 0
    doc = json.loads(result.stdout)
    assert doc["max_abs_error"] < 1e-12 and doc["passed"]
    assert {"df_autograd", "df_numeric"} <= set(doc["points"][0])


def test_derive_check_exits_1_when_the_derivative_is_wrong(invoke, monkeypatch):
    import dataclasses

    from actcli import activations

    elu = activations.REGISTRY["elu"]
    wrong = dataclasses.replace(elu, df_=lambda x, alpha: 1.01 * elu.df_(x, alpha))
    monkeypatch.setitem(activations.REGISTRY, "elu", wrong)
    result = invoke("derive", "elu", "--check")
    assert result.exit_code == 1
    assert "DISAGREES" in result.stdout


def test_derive_text_shows_formulas_and_gelu_tanh_error(invoke):
    out = invoke("derive", "gelu-tanh").stdout
    assert "0.044715" in out and "largest error against exact gelu" in out and "2.70" in out
    latex = invoke("derive", "gelu", "--latex").stdout
    assert r"\Phi" in latex


def test_derive_alpha(invoke):
    doc = json.loads(invoke("derive", "leaky-relu", "--alpha", "0.1", "--at", "-1", "--json").stdout)
    assert doc["params"] == {"alpha": 0.1} and doc["points"][0]["df"] == 0.1


@pytest.mark.parametrize("args, says", [
    (["derive", "gelo"], "did you mean 'gelu'?"),
    (["plot", "rellu"], "did you mean 'relu'?"),
    (["derive", "relu", "--at", "abc"], "'abc' is not a valid float"),
    (["derive", "relu", "--at", "1,nan"], "'--at': nan is not a finite number"),
    (["derive", "relu", "--at", "nan"], "not a finite number"),
    (["derive", "relu", "--at", ""], "got nothing"),
    (["derive", "relu", "--alpha", "0.1"], "'--alpha': relu has no parameter 'alpha'"),
    (["plot", "elu", "relu", "--alpha", "0.1"], "'--alpha': relu has no parameter 'alpha'"),
    (["plot", "relu", "--alpha", "nan"], "nan is not a finite number"),
    (["plot", "relu", "--range", "5", "-5"], "LO < HI"),
    (["plot", "relu", "--range", "0", "inf"], "inf is not a finite number"),
    (["plot", "relu", "--range", "nan", "1"], "nan is not a finite number"),
    (["plot", "relu", "--range", "-1e308", "1e308"], "not in the range"),
    (["plot", "relu", "--range", "1", "1"], "LO < HI"),
    (["plot", "exp(x)", "--range", "0", "825"], "exp(x) reaches 1.35e+308 on [0, 825], beyond the ±1e+300"),
    (["plot", "relu", "-o", "no/such/folder/x.png"], "does not exist"),
    (["plot", "relu", "-o", "x.gif"], "extension"),
    (["plot"], "Missing argument"),
])
def test_bad_input_is_one_line_and_exit_2(invoke, tmp_path, monkeypatch, args, says):
    monkeypatch.chdir(tmp_path)
    err = one_line_error(invoke(*args))
    assert list(tmp_path.iterdir()) == []  # nothing written, not even half a file
    assert says in err


def test_derive_check_failing_is_one_error_line_after_the_table(invoke):
    result = invoke("derive", "gelu-tanh", "--check", "--at", "1,1e300")   # torch's tanh GELU: nan at 1e300
    assert result.exit_code == 1 and "DISAGREES" in result.stdout
    assert "at 1 of 2 points (the first x = 1e+300" in one_line_error(result, code=1)


def test_plot_into_a_folder_that_is_a_file_is_a_usage_error(invoke, tmp_path):
    (tmp_path / "file").write_text("")
    assert "is not a folder" in one_line_error(invoke("plot", "relu", "-o", tmp_path / "file" / "x.png"))
    assert [p.name for p in tmp_path.iterdir()] == ["file"]


def unwritable_places(tmp_path):
    """Output paths that cannot be written, each with a word of the reason: a folder that is an existing
    folder (the name taken), a place under /proc (as root too), and, unless we are root (whom chmod
    does not stop), a read-only folder."""
    import os

    (tmp_path / "taken.png").mkdir()
    places = [(tmp_path / "taken.png", "Is a directory"), ("/proc/actcli-test.png", "No such file")]
    if os.geteuid() != 0:
        (tmp_path / "ro").mkdir(mode=0o555)
        places.append((tmp_path / "ro" / "x.png", "Permission denied"))
    return places


def test_plot_into_an_unwritable_place_is_one_line_exit_1_and_leaves_nothing(invoke, tmp_path):
    for path, reason in unwritable_places(tmp_path):
        before = sorted(tmp_path.rglob("*"))
        err = one_line_error(invoke("plot", "relu", "-o", path, "--json"), code=1)
        assert err == f"Error: {path}: {reason}" or err.startswith(f"Error: {path}: {reason}"), err
        assert sorted(tmp_path.rglob("*")) == before                     # no temporary file left


def test_plot_permission_denied_is_one_line(invoke, tmp_path, monkeypatch):
    import errno
    import tempfile

    def refuse(suffix=None, prefix=None, dir=None, text=False):   # as a folder without write permission does
        raise PermissionError(errno.EACCES, "Permission denied", f"{dir}/{prefix}k2j4_x9a{suffix}")

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    err = one_line_error(invoke("plot", "relu", "-o", tmp_path / "x.png"), code=1)
    assert err == f"Error: {tmp_path / 'x.png'}: Permission denied"


@pytest.mark.parametrize("suffix", ["png", "svg", "pdf"])
def test_plot_on_a_full_disk_is_one_line_and_leaves_no_partial_file(invoke, tmp_path, monkeypatch, suffix):
    from helpers import disk_full

    disk_full(monkeypatch, room=1000)           # a kilobyte is written, then the disk is full
    out = tmp_path / f"x.{suffix}"
    result = invoke("plot", "relu", "-o", out, "--json")
    assert one_line_error(result, code=1) == f"Error: {out}: No space left on device"
    assert result.stdout == "" and list(tmp_path.iterdir()) == []


def decode_png(path):
    import matplotlib.image as mpimg

    return mpimg.imread(path)


@pytest.mark.parametrize("name", NAMES)
def test_plot_writes_a_real_image_for_every_activation(invoke, tmp_path, name):
    out = tmp_path / f"{name}.png"
    result = invoke("plot", name, "-o", out)
    assert result.exit_code == 0 and result.stdout.strip() == str(out)
    pixels = decode_png(out)
    assert pixels.shape[0] > 200 and pixels.shape[1] > 400
    assert pixels[..., :3].std() > 0.05  # not a blank canvas
    # the curve: some pixels are strongly coloured (the line), not only greys
    rgb = pixels[..., :3]
    assert (rgb.max(axis=-1) - rgb.min(axis=-1)).max() > 0.3


def test_plot_default_name_formats_and_json(invoke, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert invoke("plot", "gelu").stdout.strip() == "gelu.png"
    doc = json.loads(invoke("plot", "relu", "elu", "selu", "-o", "cmp.svg", "--range", "-4", "2",
                            "--json").stdout)
    assert doc["path"] == "cmp.svg" and doc["range"] == [-4.0, 2.0]
    assert doc["activations"] == ["relu", "elu", "selu"]
    assert open("cmp.svg").read().lstrip().startswith("<?xml")
    invoke("plot", "elu", "--alpha", "0.5", "--no-derivative", "--dark", "-o", "e.pdf")
    assert open("e.pdf", "rb").read(5) == b"%PDF-"


def test_dark_style_is_dark(invoke, tmp_path):
    invoke("plot", "gelu", "--dark", "-o", tmp_path / "d.png")
    invoke("plot", "gelu", "-o", tmp_path / "l.png")
    dark, light = decode_png(tmp_path / "d.png"), decode_png(tmp_path / "l.png")
    assert np.median(dark[..., :3]) < 0.3 < np.median(light[..., :3])


def test_show_without_display_still_writes(invoke, tmp_path):
    result = invoke("plot", "relu", "-o", tmp_path / "r.png", "--show")
    assert result.exit_code == 0 and (tmp_path / "r.png").exists()
    assert "no display" in result.stderr
