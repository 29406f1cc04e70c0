"""Damaged run folders under hypothesis: whatever happens to the files, `report` and a `compare` resume
either work and give the same numbers, or print one line and exit 1; never a traceback, and the files of
the folder are never rewritten.

Three valid folders, trained once for the module (mnist-sample, 200 images, one epoch): the CNN with relu
and elu, the same folder as an actcli of schema 1 wrote it (no "schema", none of the keys added since),
and the deep MLP at depths 1 and 2. Each example copies one and damages one to three of its files: a
value of another JSON type (never a number for a number, nor a number for a null: those are valid files
with other numbers), a key dropped (from a record, not from a map of layers) or added, a value nested
(once, or deeper than the parser goes), the text truncated, two files swapped, or the same document
written otherwise (indented, keys sorted: that one must read the same). The figures are not drawn (they
are not what is tested, and they cost half a second each). 200 examples a folder; the file takes about
20 s on two cores, 8 s of it training.

Because a number is never put where a number was, the fuzz test cannot see a range check gone missing:
`test_every_number_out_of_its_range_is_named_and_in_it_is_read` puts values in and out of each number's
range, written by hand here, into every number of the files.
"""

import json
import math
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from helpers import one_line_error

TRAINING = ["--dataset", "mnist-sample", "--limit", "200", "--epochs", "1", "--activations", "relu,elu",
            "--seeds", "0", "--jobs", "1", "-q", "--json"]
# the deep MLP, depth an axis: its results have a depth, its config a width and a dropout
MLP = [*TRAINING, "--activations", "relu", "--model", "mlp", "--depth", "1,2", "--width", "8", "--dropout", "0.25"]


def train(args, tmp_path_factory):
    """(a valid folder trained by `compare ARGS`, the numbers `compare --json` gave), the figures left out."""
    from click.testing import CliRunner

    from actcli.cli import cli

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("actcli.cli.compare._write_figures", lambda out, results, doc=None: [])
        folder = tmp_path_factory.mktemp("valid") / "run"
        trained = CliRunner().invoke(cli, ["compare", *args, "-o", str(folder)], catch_exceptions=False)
        assert trained.exit_code == 0, trained.stderr
        return folder, numbers(json.loads(trained.stdout))


@pytest.fixture(scope="module")
def valid(tmp_path_factory):
    return train(TRAINING, tmp_path_factory)


@pytest.fixture(scope="module")
def valid_mlp(tmp_path_factory):
    return train(MLP, tmp_path_factory)


def numbers(doc):
    return {"results": doc["results"], "statistics": doc["statistics"]}


def kind(value):
    """A JSON value's kind as actcli reads it: "nan", "inf" and "-inf" are numbers."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)) or value in ("nan", "inf", "-inf"):
        return "number"
    return {str: "text", list: "list", dict: "object", type(None): "null"}[type(value)]


OTHERS = [None, True, False, "ninety", "", "nan", [], {}, [1], {"x": 1}, 0.5, 7, -1, 1e308, 2**70]
JUNK = ["junk", None, [], [1, 2], True]          # for an added key: never valid where a number is
# Maps whose keys are data (the model's layers, the formulas' names, the versions): a layer dropped from
# one leaves a valid result with other numbers, so keys are dropped from records only.
MAPS = {("grad_norms",), ("activations",), ("activations_at_init",), ("definitions",), ("versions",)}


def nodes(doc, path=()):
    """Every (path, value) below `doc`."""
    items = doc.items() if isinstance(doc, dict) else enumerate(doc) if isinstance(doc, list) else ()
    for key, value in items:
        yield path + (key,), value
        yield from nodes(value, path + (key,))


def at(doc, path):
    for key in path:
        doc = doc[key]
    return doc


@st.composite
def damaged(draw, texts):
    """`texts` ({file: text}) with one to three files damaged; also what was done, for the failure report."""
    texts, done = dict(texts), []
    for _ in range(draw(st.integers(1, 3))):
        name = draw(st.sampled_from(sorted(texts)))
        how = draw(st.sampled_from(["retype", "drop", "add", "nest", "deep", "truncate", "swap", "reformat"]))
        event(how)
        if how == "truncate":
            texts[name] = texts[name][:draw(st.integers(0, max(0, len(texts[name]) - 1)))]
            done.append((how, name, len(texts[name])))
            continue
        if how == "swap":
            other = draw(st.sampled_from(sorted(texts)))
            texts[name], texts[other] = texts[other], texts[name]
            done.append((how, name, other))
            continue
        try:
            doc = json.loads(texts[name])
        except (ValueError, RecursionError):   # damaged already: damage it as text
            doc = None
        places = list(nodes(doc))
        objects = [p for p, v in [((), doc), *places] if isinstance(v, dict)]
        droppable = [p for p in objects if at(doc, p) and p[-1:] not in MAPS]
        if not {"add": objects, "drop": droppable}.get(how, places):
            texts[name] += draw(st.sampled_from(["}", "]", ",", '"x"', "\x00"]))
            done.append(("append", name))
            continue
        if how == "reformat":                  # the same document, written otherwise: it must read the same
            texts[name] = json.dumps(doc, indent=draw(st.sampled_from([None, 1, "\t"])), sort_keys=True)
            done.append((how, name))
            continue
        if how == "add":
            path = draw(st.sampled_from(objects))
            at(doc, path)["junk"] = draw(st.sampled_from(JUNK))
        elif how == "drop":
            path = draw(st.sampled_from(droppable))
            del at(doc, path)[draw(st.sampled_from(sorted(at(doc, path))))]
        else:
            path, value = draw(st.sampled_from(places))
            if how == "retype":
                new = draw(st.sampled_from([o for o in OTHERS if kind(o) != kind(value)
                                            and {kind(o), kind(value)} != {"number", "null"}]))
            elif how == "nest":
                new = draw(st.sampled_from([[value], {"value": value}]))
            else:
                new = "DEEP"
            at(doc, path[:-1])[path[-1]] = new
        text = json.dumps(doc, indent=2)
        texts[name] = text.replace('"DEEP"', "[" * 5000 + "]" * 5000)
        done.append((how, name, path))
    return texts, done


def snapshot(folder: Path) -> dict:
    return {p.relative_to(folder): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def texts(folder):
    return {str(p.relative_to(folder)): p.read_text() for p in [folder / "config.json",
                                                               *sorted((folder / "results").glob("*.json"))]}


# What an actcli wrote before the run-folder schema had a number (schema 1: no "schema" in config.json, and
# none of the keys added since), written here by hand.
LATER = {"config.json": ("model", "width", "dropout", "init", "model_hash", "threads", "definitions",
                         "monotonic_formulas"), "results": ("threads", "pool_first", "activations_at_init")}


def as_schema_1(name, text):
    doc = json.loads(text)
    if name == "config.json":
        doc.pop("schema")
        doc["config"] = {k: v for k, v in doc["config"].items() if k not in LATER["config.json"]}
    else:
        doc = {k: v for k, v in doc.items() if k not in LATER["results"]}
    return json.dumps(doc, indent=2)


def write(folder: Path, files: dict) -> Path:
    (folder / "results").mkdir(parents=True)
    for name, text in files.items():
        (folder / name).write_text(text)
    return folder


@pytest.fixture(scope="module")
def folders(valid, valid_mlp, no_figures, tmp_path_factory):
    """{name: (the folder's texts, the numbers report --json gives for them, the compare that resumes it)}:
    the valid CNN folder, the same as an actcli of schema 1 wrote it (which reads with the same statistics),
    and the MLP's."""
    from click.testing import CliRunner

    from actcli.cli import cli

    old = {name: as_schema_1(name, text) for name, text in texts(valid[0]).items()}
    folder = write(tmp_path_factory.mktemp("old") / "run", old)
    report = CliRunner().invoke(cli, ["report", str(folder), "--json"], catch_exceptions=False)
    assert report.exit_code == 0, report.stderr
    read = numbers(json.loads(report.stdout))
    assert [without_init(p) for p in read["statistics"]["activations"]] == \
        [without_init(p) for p in valid[1]["statistics"]["activations"]]
    return {"cnn": (texts(valid[0]), valid[1], TRAINING), "cnn, schema 1": (old, read, TRAINING),
            "mlp": (texts(valid_mlp[0]), valid_mlp[1], MLP)}


def without_init(p):
    return {**p, "means": {k: v for k, v in p["means"].items() if k != "activations_at_init"}}


@pytest.fixture(scope="module")
def no_figures():
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("actcli.cli.compare._write_figures", lambda out, results, doc=None: [])
        yield


@pytest.mark.parametrize("which", ["cnn", "cnn, schema 1", "mlp"])
@settings(max_examples=200)
@given(data=st.data())
def test_a_damaged_folder_works_the_same_or_is_one_line(folders, no_figures, which, data):
    from click.testing import CliRunner

    from actcli.cli import cli

    original, want, training = folders[which]
    files, done = data.draw(damaged(original))
    with tempfile.TemporaryDirectory() as tmp:
        folder = write(Path(tmp) / "run", files)
        kept = {p: b for p, b in snapshot(folder).items() if str(p) in files}
        for args in (["report", str(folder), "--json"], ["compare", *training, "-o", str(folder)]):
            result = CliRunner().invoke(cli, args, catch_exceptions=False)
            event(f"{args[0]}: exit {result.exit_code}")
            if result.exit_code == 0:
                assert numbers(json.loads(result.stdout)) == want, done
            elif result.exit_code == 2:          # a valid config that is another experiment (limit: null)
                assert "holds a run with another config" in one_line_error(result, code=2), done
            else:
                one_line_error(result, code=1)
            assert {p: b for p, b in snapshot(folder).items() if str(p) in files} == kept, done


# ---------------------------------------------------------------------------------------------
# Every number against its range. The fuzz test above never puts a number where a number was (a valid
# file with other numbers is no damage), so it cannot see a range check gone missing; this test can.
# The ranges are written here by hand, from what each number means, not read from actcli.records.
# ---------------------------------------------------------------------------------------------

INF = float("inf")
# field → (low, high, whole number, may be nan or ±inf (each still within [low, high]), may be null)
ABOVE_0 = math.nextafter(0, 1)     # a learning rate is > 0
RANGES = {
    "seed": (0, 2**64 - 1, True, False, False), "depth": (1, 1000, True, False, True),
    "lr": (ABOVE_0, INF, False, False, False),
    "test_accuracy": (0, 1, False, False, False), "test_loss": (0, INF, False, True, False),
    "best_val_accuracy": (0, 1, False, True, False), "diverged_epoch": (1, INF, True, False, True),
    "threads": (1, INF, True, False, False), "seconds": (0, INF, False, False, False),
    "images_per_second": (0, INF, False, True, False),
    "epoch": (1, INF, True, False, False), "train_loss": (0, INF, False, True, False),
    "val_loss": (0, INF, False, True, False), "train_accuracy": (0, 1, False, False, False),
    "val_accuracy": (0, 1, False, False, False), "grad_norms.*": (0, INF, False, True, False),
    "mean": (-INF, INF, False, True, False), "std": (0, INF, False, True, False),
    "activations.*.dead_fraction": (0, 1, False, False, False), "dead_fraction": (0, 1, False, True, False),
    # config.json
    "config.epochs": (1, INF, True, False, False), "config.batch_size": (1, INF, True, False, False),
    "config.lr": (ABOVE_0, INF, False, False, False), "config.clip_threshold": (0, INF, False, False, False),
    "config.limit": (1, INF, True, False, True), "config.val_fraction": (0, 1, False, False, False),
    "config.threads": (1, 256, True, False, False), "config.eval_batch_size": (1, INF, True, False, False),
    "config.log_every": (1, INF, True, False, False), "config.width": (1, 16_384, True, False, True),
    "config.dropout": (0, 1, False, False, True),
    "dataset.train": (0, INF, True, False, False), "dataset.val": (0, INF, True, False, False),
    "dataset.test": (0, INF, True, False, False),
}
PROBES = [-1, -0.5, 0, 0.5, 1, 1.5, 2, 1000, 1001, 16_385, 2**64, "nan", "inf", "-inf", None]


def range_of(path):
    """The RANGES entry of a number at `path` (keys and indices in its file)."""
    keys = [k for k in path if isinstance(k, str)]
    if len(keys) >= 3 and keys[-3] in ("activations", "activations_at_init"):   # a layer's statistic
        return RANGES["activations.*.dead_fraction"] if keys[-1] == "dead_fraction" else RANGES[keys[-1]]
    if len(keys) >= 2 and keys[-2] == "grad_norms":
        return RANGES["grad_norms.*"]
    if keys[0] in ("config", "dataset"):
        return RANGES[".".join(keys[:2])]
    return RANGES[keys[-1]]


def admissible(value, low, high, whole, non_finite, nullable):
    if value is None:
        return nullable
    if isinstance(value, str):
        value = float(value)
        return not whole and non_finite and (value != value or low <= value <= high)
    if whole and not isinstance(value, int):
        return False
    return low <= value <= high


def numbers_in(doc, path=()):
    """(path, value) of every number in `doc`, and of every null where a number may be."""
    for key, value in (doc.items() if isinstance(doc, dict) else enumerate(doc) if isinstance(doc, list) else ()):
        here = (*path, key)
        if key == "schema":               # its own test: test_experiment.test_schema_versions
            continue
        if kind(value) == "number" or (value is None and key in ("limit", "diverged_epoch", "width", "dropout")):
            yield here, value
        else:
            yield from numbers_in(value, here)


@pytest.mark.parametrize("which", ["cnn", "mlp"])
def test_every_number_out_of_its_range_is_named_and_in_it_is_read(valid, valid_mlp, which, tmp_path):
    import copy

    from actcli.errors import DataError
    from actcli.experiment import RunFolder

    source = (valid if which == "cnn" else valid_mlp)[0]
    files = ["config.json", sorted(p.name for p in (source / "results").glob("*-d2-*.json" if which == "mlp"
                                                                            else "*.json"))[0]]
    files[1] = f"results/{files[1]}"
    seen = set()
    for name in files:
        doc = json.loads((source / name).read_text())
        for path, was in numbers_in(doc):
            seen.add(path[-1] if isinstance(path[-1], str) else path[-2])
            bounds = range_of(path)
            if which == "mlp" and path[-1] in ("width", "dropout"):      # the MLP has both
                bounds = (*bounds[:4], False)
            for probe in PROBES:
                damaged_doc = copy.deepcopy(doc)
                at(damaged_doc, path[:-1])[path[-1]] = probe
                folder = tmp_path / "run"
                shutil.rmtree(folder, ignore_errors=True)
                shutil.copytree(source, folder)
                (folder / name).write_text(json.dumps(damaged_doc))
                retasked = path[0] in ("seed", "depth", "lr") and probe != was   # the file holds another task
                try:
                    RunFolder(folder).read()
                except DataError as exc:
                    message = str(exc)
                    if admissible(probe, *bounds):
                        assert retasked and "not what its name says" in message, (name, path, probe, message)
                    else:
                        field = "".join(f"[{k}]" if isinstance(k, int) else f".{k}" for k in path).lstrip(".")
                        assert message.startswith(f"{folder / name}: {field}: "), (message, field, probe)
                else:
                    assert admissible(probe, *bounds) and not retasked, (name, path, probe)
    assert {"test_accuracy", "val_accuracy", "dead_fraction", "mean", "std", "epochs", "train"} <= seen
    if which == "mlp":
        assert {"depth", "width", "dropout"} <= seen
