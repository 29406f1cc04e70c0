"""Mutation testing of the numeric core with mutmut 3, one group of modules at a time, in a scratch copy.

    pip install 'mutmut==3.8.*'
    python scripts/mutation.py stats clipping           # groups: see GROUPS, or --help
    python scripts/mutation.py theory --jobs 2 --only 'actcli.theory.x_*_moment*'

The tree as committed (`git archive HEAD`; with --worktree, the working tree's tracked and untracked files) is
copied into a temporary folder, mutmut is told which module to mutate and which tests cover it (so that a run fits
this 2-core machine), and each mutant is run against the tests that reach its function. Before each test, every
functools cache in actcli is cleared: a value cached by the unmutated code would otherwise hide a mutant (mutmut
does not mutate a decorated function itself, only what it calls). It prints the score (a mutant whose tests time out
counts as killed: the mutation made the code loop), the time taken, and the diff of every mutant not killed.
A developer's tool, not CI's.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# the two tests that train a network with a formula take 15 s of the 30 that a surviving formula mutant costs; they
# test compare's workers and files, and a mutant that only they would catch shows up as a survivor
FORMULA_TESTS = ["tests/test_formula.py", "tests/test_cli_formula.py",
                 "--deselect", "tests/test_cli_formula.py::test_formulas_train_in_compare",
                 "--deselect", "tests/test_cli_formula.py::test_a_diverging_formula_is_marked"]
GROUPS = {
    "stats": (["actcli/stats.py"], ["tests/test_stats.py", "tests/test_summary.py", "tests/test_rates.py"]),
    "clipping": (["actcli/clipping.py"], ["tests/test_clipping.py"]),
    "chain": (["actcli/chain.py"], ["tests/test_chain.py"]),
    "derive": (["actcli/derive.py"], ["tests/test_derive.py"]),
    "activations": (["actcli/activations.py"], ["tests/test_activations.py", "tests/test_derive.py"]),
    "theory": (["actcli/theory.py"], ["tests/test_theory.py"]),
    **{f"formula.{name}": ([f"actcli/formula/{name}.py"], FORMULA_TESTS)
       for name in ("symbols", "grammar", "compile", "differentiate", "properties", "activation")},
}
# mutmut's timeout is a limit on CPU time, every thread counted: BLAS and torch threads spinning beside a test (two
# per process here) would cross it with the code unmutated, and the mutant would count as a timeout it did not earn
ONE_THREAD = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
KILLED = ("killed", "timeout")      # a timeout: the mutant made the tests loop or crawl, so they caught it
CLEAR_CACHES = '''

@pytest.fixture(autouse=True)
def _clear_actcli_caches():
    """Added by scripts/mutation.py: a value cached by the unmutated code must not hide a mutant."""
    import sys as _sys
    for name, module in list(_sys.modules.items()):
        if name.startswith("actcli"):
            for value in list(vars(module).values()):
                if callable(getattr(value, "cache_clear", None)):
                    value.cache_clear()
    yield
'''


def copy_tree(into: Path, worktree: bool) -> None:
    """HEAD's files, or the working tree's (tracked and untracked, not ignored, not deleted, no mutants/ of an
    earlier mutmut run), into `into`."""
    if worktree:
        listed = subprocess.run(["git", "-C", str(ROOT), "ls-files", "-z", "--cached", "--others",
                                 "--exclude-standard"], stdout=subprocess.PIPE, check=True).stdout.split(b"\0")
        files = b"\0".join(f for f in listed
                           if f and not f.startswith(b"mutants/") and (ROOT / f.decode()).exists())
        packed = subprocess.run(["tar", "-C", str(ROOT), "--null", "-T", "-", "-c", "-f", "-"], input=files,
                                stdout=subprocess.PIPE, check=True).stdout
    else:
        packed = subprocess.run(["git", "-C", str(ROOT), "archive", "HEAD"], stdout=subprocess.PIPE,
                                check=True).stdout
    subprocess.run(["tar", "-x", "-f", "-", "-C", str(into)], input=packed, check=True)


def configure(tree: Path, sources: list[str], tests: list[str], timeout: float) -> None:
    listed = lambda paths: "[" + ", ".join(f'"{p}"' for p in paths) + "]"   # noqa: E731
    with open(tree / "pyproject.toml", "a", encoding="utf-8") as f:
        # the whole package is copied (a package of one module would not import the rest); only `sources` mutated
        f.write(f"\n[tool.mutmut]\nsource_paths = [\"actcli\"]\nonly_mutate = {listed(sources)}\n"
                f"pytest_add_cli_args_test_selection = {listed(tests)}\n"
                f"timeout_multiplier = {timeout}\n"
                # mutmut's default forks each mutant from the process that ran the tests; once a test has trained
                # (torch.set_num_threads(2), a parallel copy), the child inherits a dead OpenMP pool and hangs in
                # its first parallel op, a "timeout" the mutant did not earn. The fork server forks from a process
                # that has only collected the tests.
                f'process_isolation = "forkserver"\n')
    conftest = tree / "tests" / "conftest.py"
    conftest.write_text(conftest.read_text(encoding="utf-8") + CLEAR_CACHES, encoding="utf-8")   # it imports pytest


def runner_errors(tree: Path) -> list[str]:
    """The mutants whose tests mutmut could not run at all (exit code 255: pytest refused its arguments, e.g. a
    test id that pytest escapes), which mutmut 3.8 reports as timeouts."""
    found = []
    for meta in (tree / "mutants").rglob("*.meta"):
        codes = json.loads(meta.read_text(encoding="utf-8")).get("exit_code_by_key", {})
        found += [name for name, code in codes.items() if code == 255]
    return found


def run_group(name: str, mutmut: str, args: argparse.Namespace) -> None:
    sources, tests = GROUPS[name]
    tree = Path(tempfile.mkdtemp(prefix=f"actcli-mutants-{name}-"))
    try:
        copy_tree(tree, args.worktree)
        configure(tree, sources, tests, args.timeout)
        started = time.monotonic()
        ran = subprocess.run([mutmut, "run", "--max-children", str(args.jobs), *args.only], cwd=tree, env=ONE_THREAD,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        took = time.monotonic() - started
        results = subprocess.run([mutmut, "results", "--all", "true"], cwd=tree, capture_output=True,
                                 text=True).stdout.splitlines()
        outcomes: dict[str, list[str]] = {}
        for line in results:
            mutant, _, outcome = line.rpartition(": ")
            if mutant.strip():
                outcomes.setdefault(outcome.strip(), []).append(mutant.strip())
        errors = set(runner_errors(tree))
        if errors:      # mutmut files these under "timeout"; they are not
            outcomes["timeout"] = [m for m in outcomes.get("timeout", []) if m not in errors]
            outcomes["error"] = sorted(errors)
        run = {k: v for k, v in outcomes.items() if k != "not checked" and v}
        tail = "\n".join(ran.stdout.splitlines()[-15:])
        if not run:     # the tests failed unmutated, or --only matched nothing
            raise SystemExit(f"{name}: mutmut ran no mutant (exit code {ran.returncode}); it said:\n{tail}")
        if ran.returncode != 0:
            print(f"{name}: mutmut stopped early (exit code {ran.returncode}): the score is of the mutants it ran")
        killed = sum(len(run.get(k, [])) for k in KILLED)
        total = sum(len(v) for v in run.values())
        counts = ", ".join(f"{k} {len(v)}" for k, v in sorted(outcomes.items()))
        print(f"{name}: {killed} of {total} mutants killed ({100 * killed / max(total, 1):.1f}%) "
              f"in {took:.0f} s; {counts}", flush=True)
        unkilled = [m for outcome, ms in sorted(run.items()) if outcome not in KILLED for m in ms]
        for mutant in unkilled:         # survived, no tests, suspicious, segfault, …: each with its diff
            diff = subprocess.run([mutmut, "show", mutant], cwd=tree, capture_output=True, text=True).stdout
            print(f"  {mutant}: " + " | ".join(d.strip() for d in diff.splitlines()
                                                if d[:1] in "+-" and d[:3] not in ("+++", "---")), flush=True)
    finally:
        if args.keep:
            print(f"{name}: the scratch copy is kept in {tree}")
        else:
            shutil.rmtree(tree, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("groups", nargs="*", metavar="GROUP", help=f"default: all; one of {', '.join(GROUPS)}")
    parser.add_argument("--worktree", action="store_true", help="mutate the working tree, not HEAD")
    parser.add_argument("--keep", action="store_true", help="keep the scratch copy (to rerun or browse it)")
    parser.add_argument("--jobs", type=int, default=1, help="mutants run at once (default 1)")
    parser.add_argument("--timeout", type=float, default=3.0, metavar="FACTOR",
                        help="a mutant whose tests take FACTOR times their unmutated time (+1 s) is killed as a "
                             "timeout (default 3; mutmut's own is 15, which lets a looping mutant of theory.py "
                             "hold a core for 8 minutes)")
    parser.add_argument("--only", action="append", default=[], metavar="PATTERN",
                        help="run only the mutants mutmut names so, e.g. 'actcli.theory.x_*_moment*'")
    args = parser.parse_args()
    unknown = [g for g in args.groups if g not in GROUPS]
    if unknown:
        parser.error(f"no group {unknown[0]!r}; the groups are {', '.join(GROUPS)}")
    mutmut = shutil.which("mutmut", path=str(Path(sys.executable).parent)) or shutil.which("mutmut")
    if mutmut is None:
        parser.exit(1, "mutation.py: mutmut is not installed here: pip install 'mutmut==3.8.*'\n")
    for name in args.groups or list(GROUPS):
        run_group(name, mutmut, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
