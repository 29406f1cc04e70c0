"""`compare` beyond the article's CNN: the deep MLP, a user's model, depth as an axis of the tasks."""

import csv
import json
import math

import pytest
import torch

from actcli import activations as A
from actcli.experiment import Task
from actcli.mlp import MLP, flops_per_image, parameters
from actcli.usermodel import UserNetwork, check

from helpers import one_line_error, write_mnist_like

EXAMPLE = "examples/resnet_model.py:build"


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    return write_mnist_like(tmp_path_factory.mktemp("mnist"), n_train=200, n_test=60)


def compare(invoke, tiny_dir, out, *args):
    return invoke("compare", "--data-dir", tiny_dir, "--epochs", "1", "--jobs", "1", "--threads", "1",
                  "--precision", "fp32", "-o", out, *args)


# ---- the MLP ---------------------------------------------------------------------------------------

def test_the_mlp_has_depth_hidden_layers_of_width_units():
    torch.manual_seed(0)
    net = MLP(A.get("relu"), depth=5, width=32)
    assert list(net.weight_layers) == ["fc1", "fc2", "fc3", "fc4", "fc5", "out"]
    assert list(net.activations) == ["fc1", "fc2", "fc3", "fc4", "fc5"]
    assert [tuple(m.weight.shape) for m in net.weight_layers.values()] == \
        [(32, 784), (32, 32), (32, 32), (32, 32), (32, 32), (10, 32)]
    assert sum(p.numel() for p in net.parameters()) == parameters(5, 32)
    assert net(torch.rand(3, 1, 28, 28)).shape == (3, 10)
    # by hand: 784·32 + 4·32·32 + 32·10 multiply-adds
    assert flops_per_image(5, 32) == 2 * (784 * 32 + 4 * 32 * 32 + 32 * 10)


@pytest.mark.parametrize("name, init, std", [
    ("relu", "auto", None),                        # glorot uniform: U(±√(6/(fan_in + fan_out)))
    ("selu", "auto", 1.0),                         # truncated LeCun normal: std √(1/fan_in)
    ("relu", "he", math.sqrt(2.0)),                # N(0, 2/fan_in)
    ("tanh", "lecun", 1.0),
])
def test_the_mlp_starts_as_its_init_says(name, init, std):
    torch.manual_seed(0)
    w = MLP(A.get(name), depth=3, width=512, init=init).fc2.weight.detach()
    if std is None:
        bound = math.sqrt(6.0 / (512 + 512))
        assert w.abs().max() <= bound and w.abs().max() > 0.99 * bound
        assert w.std().item() == pytest.approx(bound / math.sqrt(3), rel=0.01)
    else:
        assert w.std().item() == pytest.approx(std / math.sqrt(512), rel=0.02)
    assert all((m.bias == 0).all() for m in MLP(A.get(name), depth=2, width=8, init=init).weight_layers.values())


def test_selu_gets_alpha_dropout_and_the_others_plain_dropout():
    assert MLP(A.get("selu"), 2, 8, dropout=0.25).drop.alpha is True
    assert MLP(A.get("relu"), 2, 8, dropout=0.25).drop.alpha is False


# ---- depth as an axis --------------------------------------------------------------------------------

def test_depth_is_an_axis_of_the_tasks(invoke, tiny_dir, tmp_path):
    out = tmp_path / "deep"
    result = compare(invoke, tiny_dir, out, "--model", "mlp", "--depth", "2,3", "--width", "16",
                     "--activations", "relu,tanh", "--seeds", "0-1", "--json")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    keys = sorted(p.stem for p in (out / "results").glob("*.json"))
    assert keys == sorted(f"{a}-d{d}-seed{s}" for a in ("relu", "tanh") for d in (2, 3) for s in (0, 1))
    r = json.loads((out / "results" / "relu-d3-seed1.json").read_text())
    assert r["depth"] == 3 and list(r["epochs"][0]["grad_norms"]) == ["fc1", "fc2", "fc3", "out"]
    assert list(r["activations_at_init"]) == ["fc1", "fc2", "fc3"]
    per = doc["statistics"]["activations"]
    assert [(p["depth"], p["activation"] in ("relu", "tanh")) for p in per] == [(2, True)] * 2 + [(3, True)] * 2
    # the paired comparison is made within a depth: each depth has its baseline, the best there
    for depth in (2, 3):
        here = [p for p in per if p["depth"] == depth]
        best = max(here, key=lambda p: p["test_accuracy_points"]["mean"])["activation"]
        assert doc["statistics"]["baselines"][str(depth)] == best
        other = next(p for p in here if p["activation"] != best)
        mine = {s: json.loads((out / "results" / f"{other['activation']}-d{depth}-seed{s}.json").read_text())
                ["test_accuracy"] for s in (0, 1)}
        theirs = {s: json.loads((out / "results" / f"{best}-d{depth}-seed{s}.json").read_text())
                  ["test_accuracy"] for s in (0, 1)}
        assert other["vs_baseline"]["mean"] == pytest.approx(50 * sum(mine[s] - theirs[s] for s in (0, 1)))
    rows = list(csv.DictReader((out / "summary.csv").open()))
    assert {row["depth"] for row in rows} == {"2", "3"}
    report = (out / "report.md").read_text()
    assert "| depth | activation | seeds |" in report and "MLP of width 16" in report
    assert {"curves.png", "gradients.png", "activations.png", "depth.png"} <= {p.name for p in out.iterdir()}
    # resumed: nothing to do, the same numbers
    again = compare(invoke, tiny_dir, out, "--model", "mlp", "--depth", "2,3", "--width", "16",
                    "--activations", "relu,tanh", "--seeds", "0-1", "--json")
    assert json.loads(again.stdout)["run"]["skipped"] == 8
    assert json.loads(again.stdout)["statistics"] == doc["statistics"]


def test_a_task_with_a_depth_names_its_file_and_reads_back():
    t = Task("relu", 2, 16)
    assert t.key == "relu-d16-seed2" and Task("relu", 2).key == "relu-seed2"
    assert Task.of({"activation": "relu", "seed": 2, "depth": 16}) == t
    assert Task.of({"activation": "relu", "seed": 2}) == Task("relu", 2)


def test_a_folder_of_another_depth_axis_or_width_is_refused(invoke, tiny_dir, tmp_path):
    out = tmp_path / "w"
    assert compare(invoke, tiny_dir, out, "--model", "mlp", "--depth", "2", "--width", "8",
                   "--activations", "relu").exit_code == 0
    err = one_line_error(compare(invoke, tiny_dir, out, "--model", "mlp", "--depth", "2", "--width", "9",
                                 "--activations", "relu"))
    assert "width (8 ≠ 9)" in err
    # another depth joins the same folder: depth is a task axis, not part of the config
    assert compare(invoke, tiny_dir, out, "--model", "mlp", "--depth", "3", "--width", "8",
                   "--activations", "relu").exit_code == 0


def test_depth_figures_are_profiles_and_accuracy_against_depth():
    from actcli import profiles

    def result(depth, seed, grads):
        layers = [f"fc{i}" for i in range(1, depth + 1)]
        epoch = {"grad_norms": dict(zip([*layers, "out"], grads, strict=True)), "val_accuracy": 0.5,
                 "activations": {k: {"mean": 0.1, "std": 1.0, "dead_fraction": 0.0} for k in layers}}
        return {"activation": "relu", "seed": seed, "depth": depth, "epochs": [epoch],
                "activations_at_init": epoch["activations"]}

    results = [result(2, 0, [1e-3, 1e-2, 1e-1]), result(2, 1, [3e-3, 1e-2, 1e-1]), result(4, 0, [1e-5] * 5)]
    assert profiles.is_deep(results)
    fig = profiles.gradient_profile_figure(results)
    ax = fig.axes[0]
    assert ax.get_yscale() == "log" and ax.get_title() == "relu"
    lines = [line for line in ax.get_lines()]
    assert list(lines[0].get_xdata()) == [1, 2, 3] and lines[0].get_ydata()[0] == pytest.approx(2e-3)
    assert list(lines[1].get_xdata()) == [1, 2, 3, 4, 5]
    doc = {"statistics": {"activations": [
        {"activation": "relu", "depth": d, "seeds": [0, 1],
         "test_accuracy_points": {"mean": m, "ci_low": m - 1, "ci_high": m + 1, "n": 2}}
        for d, m in ((8, 90.0), (16, 80.0), (32, 40.0))]}}
    fig = profiles.depth_figure(doc)
    (line,) = fig.axes[0].get_lines()
    assert list(line.get_xdata()) == [8, 16, 32] and list(line.get_ydata()) == [90.0, 80.0, 40.0]
    assert fig.axes[0].get_xscale() == "log"
    assert profiles.depth_figure({"statistics": {"activations": doc["statistics"]["activations"][:1]}}) is None


# ---- your own model --------------------------------------------------------------------------------

def test_a_user_model_trains_and_is_measured_by_its_layer_names(invoke, tiny_dir, tmp_path):
    out = tmp_path / "user"
    result = compare(invoke, tiny_dir, out, "--model", EXAMPLE, "--activations", "relu,x*tanh(x)", "--json")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["config"]["model"] == EXAMPLE and len(doc["config"]["model_hash"]) == 64
    r = doc["results"][0]
    assert list(r["epochs"][0]["grad_norms"]) == ["0", "2.conv1", "2.conv2", "3.conv1", "3.conv2", "6"]
    assert list(r["epochs"][0]["activations"]) == ["1", "2.act1", "2.act2", "3.act1", "3.act2"]


def test_worker_processes_import_the_model_themselves(invoke, tiny_dir, tmp_path):
    result = invoke("compare", "--data-dir", tiny_dir, "--epochs", "1", "--jobs", "2", "--threads", "1",
                    "--precision", "fp32", "-o", tmp_path / "p", "--model", EXAMPLE, "--activations", "relu,elu",
                    "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["run"]["execution"]["executor"] == "processes"


def test_a_changed_model_file_is_not_resumed(invoke, tiny_dir, tmp_path):
    model = tmp_path / "net.py"
    model.write_text("import torch.nn as nn\n"
                     "def build(activation):\n"
                     "    return nn.Sequential(nn.Flatten(), nn.Linear(784, 16), activation(), nn.Linear(16, 10))\n")
    out = tmp_path / "o"
    assert compare(invoke, tiny_dir, out, "--model", f"{model}:build", "--activations", "relu").exit_code == 0
    model.write_text(model.read_text().replace("16", "17"))
    err = one_line_error(compare(invoke, tiny_dir, out, "--model", f"{model}:build", "--activations", "relu"))
    assert "model_hash" in err


BROKEN = {
    "raises.py": "def build(activation):\n    raise RuntimeError('no GPU for me')\n",
    "nothing.py": "def build(activation):\n    return None\n",
    "shape.py": "import torch.nn as nn\ndef build(activation):\n    return nn.Sequential(nn.Flatten(), nn.Linear(784, 7))\n",
    "noparams.py": "import torch.nn as nn\ndef build(activation):\n    return nn.Sequential(nn.Flatten(), "
                   "nn.Identity())\n",
    "nonfinite.py": "import torch, torch.nn as nn\nclass N(nn.Module):\n    def __init__(self):\n"
                    "        super().__init__(); self.l = nn.Linear(784, 10)\n"
                    "    def forward(self, x):\n        return self.l(x.flatten(1)) / 0.0\n"
                    "def build(activation):\n    return N()\n",
    "syntax.py": "def build(activation:\n",
    "importerror.py": "import no_such_package_here\n",
}


@pytest.mark.parametrize("args, says", [
    (["--model", "mlp", "--depth", "0"], "depth 0 is outside 1..1000"),
    (["--model", "mlp", "--depth", "1001"], "depth 1001 is outside 1..1000"),
    (["--model", "mlp", "--depth", "8,8"], "a depth is given twice"),
    (["--model", "mlp", "--depth", "8,x"], "expected whole numbers"),
    (["--model", "mlp", "--width", "0"], "x>=1"),
    (["--model", "mlp", "--depth", "1000", "--width", "16384"], "needs about"),
    (["--depth", "8"], "Invalid value for '--depth': the article's CNN has its own depth"),
    (["--width", "64"], "Invalid value for '--width': the article's CNN has its own width"),
    (["--dropout", "0.1"], "Invalid value for '--dropout': the article's CNN has its own dropout"),
    (["--model", "mlp", "--dropout", "1"], "0<=x<1"),
    (["--model", "nocolon"], "write FILE.py:FUNCTION or package.module:FUNCTION"),
    (["--model", "/no/such/file.py:build"], "no file '/no/such/file.py'"),
    (["--model", "no_such_module_xyz:build"], "importing it failed: ModuleNotFoundError"),
    (["--model", "examples/resnet_model.py:nope"], "has no function 'nope'"),
    (["--model", EXAMPLE, "--depth", "4"], "your model sets its own depth"),
])
def test_bad_networks_are_one_line_before_any_work(invoke, tiny_dir, tmp_path, args, says):
    err = one_line_error(compare(invoke, tiny_dir, tmp_path / "never", *args))
    assert says in err
    assert not (tmp_path / "never").exists()


@pytest.mark.parametrize("name, says", [
    ("raises.py", "calling it raised RuntimeError: no GPU for me"),
    ("nothing.py", "it returned NoneType, not a torch.nn.Module"),
    ("shape.py", "2 images gave (2, 7), not logits of shape (2, 10)"),
    ("noparams.py", "the network has no parameters to train"),
    ("nonfinite.py", "logits that are not finite"),
    ("syntax.py", "importing it failed: SyntaxError"),
    ("importerror.py", "importing it failed: ModuleNotFoundError: No module named 'no_such_package_here'"),
])
def test_a_factory_that_breaks_the_contract_is_one_line(invoke, tiny_dir, tmp_path, name, says):
    path = tmp_path / name
    path.write_text(BROKEN[name])
    err = one_line_error(compare(invoke, tiny_dir, tmp_path / "never", "--model", f"{path}:build"))
    assert err.startswith(f"Error: Invalid value for '--model': model '{path}:build': ") and says in err
    assert not (tmp_path / "never").exists()


def test_the_contract_check_finds_the_activation_modules():
    net = UserNetwork(EXAMPLE, A.get("gelu"))
    assert all(isinstance(m, torch.nn.GELU) for m in net.activations.values()) and len(net.activations) == 5
    check(EXAMPLE, A.get("gelu"))


def test_compare_help_lists_every_option_in_a_section(invoke):
    from actcli.cli.compare import COMPARE_SECTIONS, compare

    placed = [n for names in COMPARE_SECTIONS.values() for n in names]
    assert sorted(placed) == sorted(p.name for p in compare.params)     # a new option must be placed
    text = invoke("compare", "--help").stdout
    assert text.index("The network:") < text.index("  --depth N[,N") < text.index("Data:") < text.index("  --limit")
