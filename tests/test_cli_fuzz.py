"""The whole CLI under hypothesis: whatever the command line and the file system, one way to fail.

Hypothesis draws a command and its option values (numbers of every kind: nan, inf, 1e400, huge,
negative; empty and odd strings; comma lists with gaps; output paths that do not exist, cannot be
made or written, or whose parent is a file) and runs it through the real `actcli` group. Whatever
happens: no traceback and no Python warning; exit 0, 1 or 2; a non-zero exit prints exactly one
`Error:` line on stderr and leaves the example's folder as it was; a float option given nan, inf or
1e400 is a usage error (exit 2); `--json` prints nothing or one JSON document; no temporary file is
ever left behind. `depth` mostly runs its theory alone. Training gets tiny limits (64 images, one epoch, one task) and few examples; the
file takes about 20 s on two cores. `--hypothesis-profile=explore` draws 20 times as many.
"""

import contextlib
import json
import math
import os
import shutil
import stat
import tempfile
import warnings
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from hypothesis import event, example, given, settings
from hypothesis import strategies as st

from actcli.activations import ALIASES, NAMES
from actcli.cli import cli

ROOT = os.geteuid() == 0   # chmod does not stop root: for root, `ro` is writable, and /proc and a parent that
                           # is a file are the places that cannot be written (tests/test_cli_functions.py
                           # refuses a write as a read-only folder does, by monkeypatch)

# --- values: each strategy draws a fine value five times in six, so that commands get past their
# --- parsing often enough to reach the core and the file system -------------------------------------

def mix(good, bad):
    """A good value five times in six, else one from `bad` (which may be good too)."""
    return st.sampled_from([True] * 5 + [False]).flatmap(lambda fine: good if fine else bad)


def option(flag, values, absent=2):
    """The option left out (`absent` times in absent + 1), or given a drawn value."""
    return st.sampled_from([False] * absent + [True]).flatmap(
        lambda given: values.map(lambda v: (flag, v)) if given else st.just(()))


def switch(flag):
    return st.sampled_from([(), (flag,)])


ODD = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=10)  # argv holds no NUL
SPECIAL_NUMBERS = ["nan", "NaN", "-nan", "inf", "-inf", "+inf", "Infinity", "1e400", "-1e400", "1e-400",
                   "1.7976931348623157e308", "-1e308", "5e-324", "1e300", "-0", "9" * 400, "-" + "9" * 30,
                   "", " ", "1_000", "0x10", "½", "١٢", "abc", "1e", ".", "-"]
GOOD_NUMBERS = st.one_of(st.floats(-10, 10).map(repr), st.sampled_from(["0", "1", "0.5", "-2", "100", "1e-3"]))
NON_FINITE = ["nan", "-nan", "NaN", "inf", "-inf", "Infinity", "1e400", "-1e400", "9" * 400]
BAD_NUMBERS = st.one_of(st.sampled_from(NON_FINITE), st.floats(allow_nan=True, allow_infinity=True).map(repr),
                        st.integers().map(str), st.sampled_from(SPECIAL_NUMBERS), ODD)
NUMBERS = mix(GOOD_NUMBERS, BAD_NUMBERS)
POSITIVE = mix(st.floats(1e-3, 10).map(repr), BAD_NUMBERS)     # for options that take numbers > 0
INTEGERS = mix(st.integers(1, 8).map(str), st.one_of(
    st.integers().map(str), st.sampled_from(["0", "-1", "1000", "1001", "9" * 30, "1.5", "nan", "", "x"]), ODD))
LISTS = mix(st.lists(GOOD_NUMBERS, min_size=1, max_size=4).map(",".join), st.one_of(
    st.lists(st.one_of(NUMBERS, st.just("")), max_size=5).map(",".join),
    st.sampled_from(["1,,2", ",", "", "1,", ",1", " , ", "1;2", "1 2"])))
NAME_LIKE = mix(st.sampled_from([*NAMES, "swish", "x*tanh(softplus(x))", "max(0.1*x, x)", "exp(x)"]), st.one_of(
    st.sampled_from([*ALIASES, "gelo", "RELU", "leaky_relu", "x/0", "log(-1-x**2)", "x**1000", "1/x", "sin(",
                     "x +", "", " ", "-", "☃", "x" * 300]), ODD))

# Output places, relative to the example's folder (set up by `example_folder`); {ext} is filled in.
FILE_PLACES = ["out.{ext}", "missing/sub/out.{ext}", "afile/out.{ext}", "adir.{ext}", "/proc/actcli-fuzz.{ext}",
               "ro/out.{ext}", "", "☃ ü\t.{ext}", "afile"]
FOLDER_PLACES = ["run", "missing/run", "afile", "afile/run", "/proc/actcli-fuzz-run", "ro/run", "adir.png", ""]
EXTENSIONS = ["png", "svg", "pdf", "PNG", "gif", ""]

JUNK = st.sampled_from([()] * 12 + [("--nope",), ("extra",), ("--json", "--json"), ("--",)])


def command(name, *parts):
    """argv: the command, then its parts (each a tuple of tokens) in a drawn order."""
    return st.tuples(*parts, JUNK).flatmap(st.permutations).map(lambda ps: [name] + [t for p in ps for t in p])


file_place = st.tuples(st.sampled_from(FILE_PLACES), st.sampled_from(EXTENSIONS)).map(
    lambda pe: pe[0].format(ext=pe[1]))
ranges = mix(st.tuples(st.floats(-1e3, 1e3), st.floats(1e-3, 1e3)).map(lambda lw: (repr(lw[0]), repr(lw[0] + lw[1]))),
             st.tuples(NUMBERS, NUMBERS))

list_args = command("list", switch("--json"))
derive_args = command("derive", NAME_LIKE.map(lambda n: (n,)), option("--at", LISTS), option("--alpha", NUMBERS),
                      switch("--check"), switch("--latex"), switch("--json"),
                      st.sampled_from([(), (), (), ("--properties",)]))


def chain_parts():
    return (option("--activation", NAME_LIKE), option("--alpha", NUMBERS, absent=4), option("--layers", INTEGERS),
            option("--weights", mix(GOOD_NUMBERS, LISTS)), option("--biases", mix(st.just("centered"), LISTS)),
            option("--input", NUMBERS), option("--dcda", NUMBERS, absent=4), option("--target", NUMBERS),
            option("--lr", NUMBERS), switch("--json"))


chain_args = command("chain", *chain_parts(), option("--steps", INTEGERS), option("--clip-value", POSITIVE),
                     option("--clip-norm", POSITIVE))
clip_args = command("clip", *chain_parts(), option("--grad", LISTS), option("--threshold", POSITIVE),
                    option("--mode", mix(st.sampled_from(["value", "norm", "both"]), st.sampled_from(["sideways"]))))
plot_args = command("plot", st.lists(NAME_LIKE, min_size=1, max_size=3).map(tuple), option("-o", file_place, absent=1),
                    option("--range", ranges).map(lambda t: t[:1] + t[1] if t else ()),
                    option("--alpha", NUMBERS, absent=4), switch("--no-derivative"), switch("--dark"),
                    switch("--json"), st.sampled_from([(), (), (), ("--show",)]))


def choice(good, bad):
    return mix(st.sampled_from(good), st.sampled_from(bad))


# compare: every value either breaks the command line or trains one tiny task (64 images, one epoch).
compare_args = command(
    "compare", st.just(("-q", "--limit", "64", "--epochs", "1", "--dataset", "mnist-sample", "--activations", "relu")),
    option("--activations", mix(st.sampled_from(["relu", "relu,", "relu,relu", "swish", "max(0.1*x, x)"]),
                                st.one_of(st.sampled_from([",", "", "gelo", "sin(", "☃"]), ODD))),
    option("--define", choice(["a=x"], ["relu=x", "=x", "x", "nan=x", "b=x+"]), absent=4),
    option("--seeds", choice(["0", "3"], ["1-0", "", "a", "0,0", "0-99999", "18446744073709551616"]), absent=4),
    option("--seed", choice(["1", "18446744073709551615"], ["-1", "18446744073709551616", "x", ""]), absent=4),
    option("--dataset", choice(["mnist-sample"], ["cifar", "", "mnist-samples"]), absent=4),
    option("--data-dir", choice(["missing"], ["afile", "/proc/actcli-fuzz-data/sub"]), absent=4),
    option("--epochs", choice(["1"], ["0", "-1", "x", "", "1e400"]), absent=4),
    option("--batch-size", INTEGERS, absent=4), option("--lr", POSITIVE, absent=4),
    option("--clip-norm", POSITIVE, absent=4), st.sampled_from([(), (), (), ("--no-clip",)]),
    option("--limit", choice(["64", "8"], ["0", "-5", "x", "nan"]), absent=4),
    option("--jobs", choice(["1"], ["0", "-1", "x", ""]), absent=4),
    option("--threads", choice(["1"], ["0", "x"]), absent=4),
    option("--device", choice(["cpu", "auto"], ["cuda", "tpu", ""]), absent=4),
    option("--precision", choice(["fp32", "auto"], ["x", ""]), absent=4),
    option("--baseline", choice(["relu"], ["gelo", "elu", ""]), absent=4),
    option("--gpus-per-task", NUMBERS, absent=6),
    option("-o", st.sampled_from(FOLDER_PLACES), absent=1), switch("--json"),
).map(lambda argv: argv if "--jobs" in argv else argv + ["--jobs", "1"])     # never worker processes


# depth: theory alone mostly (numpy and scipy, fast); a measured run is cut to 3 layers of 8 units and 4 images
depth_args = command(
    "depth", st.lists(NAME_LIKE, max_size=2).map(tuple), option("--depth", INTEGERS), option("--width", INTEGERS),
    option("--init", choice(["glorot", "he", "lecun", "critical"], ["", "kaiming", "GLOROT"]), absent=1),
    option("--sigma-w2", POSITIVE), option("--sigma-b2", mix(st.floats(0, 3).map(repr), BAD_NUMBERS)),
    option("--batch", INTEGERS, absent=4), option("--seeds", choice(["0", "0-1"], ["1-0", "", "a"]), absent=4),
    option("--dataset", choice(["mnist-sample"], ["cifar", ""]), absent=6),
    st.sampled_from([("--theory-only",)] * 4 + [()]), st.sampled_from([()] * 6 + [("--phase",)]),
    option("-o", file_place, absent=1), switch("--json"),
).map(lambda argv: argv if "--theory-only" in argv else argv + ["--depth", "3", "--width", "8", "--batch", "4"])


def with_a_non_finite_number(args):
    """`args` and then one of its command's float options given nan, inf, 1e400… (click keeps an option's
    last value): every float option of every command, found from the command itself, meets them."""
    def poison(argv):
        options = [p for p in cli.commands[argv[0]].params
                   if isinstance(p, click.Option) and isinstance(p.type, click.types.FloatParamType)]

        def add(drawn):
            option, bad, good, bad_first = drawn
            values = [bad] if option.nargs == 1 else ([bad, good] if bad_first else [good, bad])
            return argv + [option.opts[-1], *values]
        return st.tuples(st.sampled_from(options), st.sampled_from(NON_FINITE), GOOD_NUMBERS, st.booleans()).map(add)
    return args.flatmap(poison)


REPORT_FOLDERS = ["good", "good", "good", "missing", "afile", "adir.png", "broken", "/proc/actcli-fuzz-run", "",
                  "☃"]
report_args = command("report", st.lists(st.sampled_from(REPORT_FOLDERS), min_size=1, max_size=2).map(tuple),
                      option("--baseline", mix(st.sampled_from(["relu", "swish"]), st.one_of(
                          st.sampled_from(["gelo", ""]), ODD))),
                      option("-o", st.sampled_from(FOLDER_PLACES)), switch("--json"))


# --- the example's folder, and what must hold -------------------------------------------------------

@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz")


@pytest.fixture(scope="module")
def a_run(root):
    """A finished run folder to report on (one tiny task)."""
    out = root / "a-run"
    result = CliRunner().invoke(cli, ["compare", "--dataset", "mnist-sample", "--activations", "relu", "--limit",
                                      "64", "--epochs", "1", "--jobs", "1", "-q", "-o", str(out)],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    return out


@contextlib.contextmanager
def example_folder(root, a_run=None):
    """A fresh folder, the current one while the command runs, holding the places the strategies name:
    a file `afile`, empty folders `adir.<ext>`, a read-only folder `ro`; with `a_run`, two copies of that
    run folder: `good`, and `broken` with a results file that is not JSON."""
    here = Path(tempfile.mkdtemp(dir=root))
    (here / "afile").write_text("a file, not a folder")
    for ext in EXTENSIONS:
        (here / f"adir.{ext}").mkdir(exist_ok=True)
    (here / "ro").mkdir(mode=0o555)
    if a_run is not None:
        shutil.copytree(a_run, here / "good")
        shutil.copytree(a_run, here / "broken")
        next((here / "broken" / "results").glob("*.json")).write_text("{not json")
    before = os.getcwd()
    try:
        os.chdir(here)                      # (contextlib.chdir is Python ≥ 3.11; actcli supports 3.10)
        yield here
    finally:
        os.chdir(before)
        (here / "ro").chmod(stat.S_IRWXU)
        shutil.rmtree(here)


def tree(folder: Path) -> dict:
    return {str(p.relative_to(folder)): (p.is_dir(), p.stat().st_size) for p in folder.rglob("*")}


def non_finite_numbers(argv) -> list[str]:
    """The float options to which `argv` gives a number that is not finite (nan, inf, 1e400)."""
    command = cli.commands.get(argv[0])
    if command is None:
        return []
    floats = {flag: p for p in command.params if isinstance(p, click.Option)
              and isinstance(p.type, click.types.FloatParamType) for flag in p.opts}
    tokens = argv[1:argv.index("--")] if "--" in argv else argv[1:]
    found = []
    for i, token in enumerate(tokens):
        if token in floats:
            for value in tokens[i + 1:i + 1 + floats[token].nargs]:
                with contextlib.suppress(ValueError):
                    if not math.isfinite(float(value)):
                        found.append(token)
    return found


def run_and_check(argv, here):
    before = tree(here)
    with warnings.catch_warnings(record=True) as warned:     # a warning is more lines on a real stderr
        warnings.simplefilter("always")
        for quiet in (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning):
            warnings.simplefilter("ignore", quiet)            # as Python's default filters do outside tests
        result = CliRunner().invoke(cli, argv, catch_exceptions=False)   # an exception fails the test
    out, err, code = result.stdout, result.stderr, result.exit_code
    event(f"{argv[0]}: exit {code}")      # --hypothesis-show-statistics: how the examples ended
    shown = f"argv={argv!r}\nexit={code}\nstdout={out[-2000:]!r}\nstderr={err[-2000:]!r}"
    assert code in (0, 1, 2), shown
    assert "Traceback" not in out + err, shown
    assert not warned, shown + "\nwarnings: " + "; ".join(f"{w.filename}:{w.lineno}: {w.message}" for w in warned)
    if code != 0:
        lines = err.strip("\n").split("\n")
        assert len(lines) == 1 and lines[0].startswith("Error: ") and lines[0].strip() != "Error:", shown
        assert tree(here) == before, shown                             # nothing left behind on failure
    if non_finite_numbers(argv):
        assert code == 2, shown + "\na float option took a number that is not finite"
    if "--json" in argv and out.strip():
        json.loads(out)                                                # one document, nothing else
    assert not [p for p in here.rglob("*.part")], shown                # never a temporary file left
    return result


def examples(n):
    """`n` examples; under the "explore" profile (conftest.py) as many times more as it asks for."""
    return n * max(1, settings.default.max_examples // 100)


@settings(max_examples=examples(150))
@given(st.one_of(list_args, derive_args, chain_args, clip_args,
                 *map(with_a_non_finite_number, (derive_args, chain_args, clip_args))))
def test_fuzz_list_derive_chain_clip(root, argv):
    with example_folder(root) as here:
        run_and_check(argv, here)


@settings(max_examples=examples(40))
@given(st.one_of(plot_args, with_a_non_finite_number(plot_args)))
@example(["plot", "exp(x)", "--range", "0.0", "825.0"])   # found by "explore": f up to 1e308 broke matplotlib
@example(["plot", "relu", "-o", "/proc/actcli-fuzz.png"])  # the file system refuses: drawn too rarely to count on
def test_fuzz_plot(root, argv):
    with example_folder(root) as here:
        run_and_check(argv, here)


@settings(max_examples=examples(24))
@given(st.one_of(compare_args, with_a_non_finite_number(compare_args)))
def test_fuzz_compare(root, argv):
    with example_folder(root) as here:
        run_and_check(argv, here)


@settings(max_examples=examples(40), deadline=None)
@given(st.one_of(depth_args, with_a_non_finite_number(depth_args)))
@example(["depth", "exp(x**2)", "--sigma-w2", "1", "--theory-only", "-o", "out.png"])  # an infinite expectation
@example(["depth", "relu", "tanh", "--phase", "--theory-only", "-o", "out.svg"])
def test_fuzz_depth(root, argv):
    with example_folder(root) as here:
        run_and_check(argv, here)


@settings(max_examples=examples(25))
@given(report_args)
def test_fuzz_report(root, a_run, argv):
    with example_folder(root, a_run) as here:
        run_and_check(argv, here)


def test_the_places_are_what_their_names_say(root):
    with example_folder(root) as here:
        assert (here / "afile").is_file() and (here / "adir.png").is_dir()
        assert ROOT or not os.access(here / "ro", os.W_OK)
