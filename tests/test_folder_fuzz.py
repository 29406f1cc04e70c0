"""Damaged run folders under hypothesis: whatever happens to the files, `report` and a `compare` resume
either work and give the same numbers, or print one line and exit 1; never a traceback, and the files of
the folder are never rewritten.

One valid folder is trained once for the module (mnist-sample, 200 images, one epoch, relu and elu). Each
example copies it and damages one to three of its files: a value of another JSON type (never a number for
a number, nor a number for a null: those are valid files with other numbers), a key dropped (from a record,
not from a map of layers) or added, a
value nested (once, or deeper than the parser goes), the text truncated, two files swapped, or the same
document written otherwise (indented, keys sorted: that one must read the same). The figures
are not drawn (they are not what is tested, and they cost half a second each). 200 examples in about 15 s on two cores.
"""

import json
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from helpers import one_line_error

TRAINING = ["--dataset", "mnist-sample", "--limit", "200", "--epochs", "1", "--activations", "relu,elu",
            "--seeds", "0", "--jobs", "1", "-q", "--json"]


@pytest.fixture(scope="module")
def valid(tmp_path_factory):
    """(the valid folder, the numbers `report --json` gives for it), with the figures left out."""
    from click.testing import CliRunner

    from actcli.cli import cli

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("actcli.cli.compare._write_figures", lambda out, results: [])
        folder = tmp_path_factory.mktemp("valid") / "run"
        trained = CliRunner().invoke(cli, ["compare", *TRAINING, "-o", str(folder)], catch_exceptions=False)
        assert trained.exit_code == 0, trained.stderr
        yield folder, numbers(json.loads(trained.stdout))


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


@pytest.fixture(scope="module")
def texts(valid):
    folder, _ = valid
    return {str(p.relative_to(folder)): p.read_text() for p in [folder / "config.json",
                                                               *sorted((folder / "results").glob("*.json"))]}


@pytest.fixture(scope="module")
def no_figures():
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("actcli.cli.compare._write_figures", lambda out, results: [])
        yield


@settings(max_examples=200)
@given(data=st.data())
def test_a_damaged_folder_works_the_same_or_is_one_line(valid, texts, no_figures, data):
    from click.testing import CliRunner

    from actcli.cli import cli

    _, want = valid
    files, done = data.draw(damaged(texts))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "run"
        (folder / "results").mkdir(parents=True)
        for name, text in files.items():
            (folder / name).write_text(text)
        kept = {p: b for p, b in snapshot(folder).items() if str(p) in files}
        for args in (["report", str(folder), "--json"], ["compare", *TRAINING, "-o", str(folder)]):
            result = CliRunner().invoke(cli, args, catch_exceptions=False)
            event(f"{args[0]}: exit {result.exit_code}")
            if result.exit_code == 0:
                assert numbers(json.loads(result.stdout)) == want, done
            elif result.exit_code == 2:          # a valid config that is another experiment (limit: null)
                assert "holds a run with another config" in one_line_error(result, code=2), done
            else:
                one_line_error(result, code=1)
            assert {p: b for p, b in snapshot(folder).items() if str(p) in files} == kept, done
