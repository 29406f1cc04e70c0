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
    (["derive", "relu", "--at", "abc"], "'abc' is not a number"),
    (["derive", "relu", "--at", "nan"], "not a finite number"),
    (["derive", "relu", "--at", ""], "got nothing"),
    (["derive", "relu", "--alpha", "0.1"], "relu has no α"),
    (["plot", "relu", "elu", "--alpha", "0.1"], "relu has no α"),
    (["plot", "relu", "--range", "5", "-5"], "LO < HI"),
    (["plot", "relu", "--range", "0", "inf"], "LO < HI"),
    (["plot", "relu", "-o", "no/such/folder/x.png"], "does not exist"),
    (["plot", "relu", "-o", "x.gif"], "extension"),
    (["plot"], "Missing argument"),
])
def test_bad_input_is_one_line_and_exit_2(invoke, tmp_path, monkeypatch, args, says):
    monkeypatch.chdir(tmp_path)
    err = one_line_error(invoke(*args))
    assert list(tmp_path.iterdir()) == []  # nothing written, not even half a file
    assert says in err


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
