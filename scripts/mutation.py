"""Mutation testing of the numeric core with mutmut 3, one group of modules at a time, in a scratch copy.

    pip install 'mutmut>=3'
    python scripts/mutation.py stats        # or: clipping, chain, derive (see GROUPS)

The tree (as committed: `git archive HEAD`) is copied into a temporary folder, mutmut is told which module to
mutate and which tests cover it (so that a run fits this 2-core machine), and each mutant is run against those
tests only. It prints mutmut's count per outcome and the surviving mutants' diffs. A developer's tool, not CI's.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SUPPORT = ["tests/conftest.py", "tests/helpers.py"]
GROUPS = {
    "stats": (["actcli/stats.py"], ["tests/test_stats.py", "tests/test_summary.py"]),
    "clipping": (["actcli/clipping.py"], ["tests/test_clipping.py"]),
    "chain": (["actcli/chain.py"], ["tests/test_chain.py"]),
    "derive": (["actcli/derive.py"], ["tests/test_derive.py"]),
}


def main() -> int:
    names = sys.argv[1:] or list(GROUPS)
    for name in names:
        sources, tests = GROUPS[name]
        with tempfile.TemporaryDirectory(prefix="actcli-mutants-") as tmp:
            subprocess.run(f"git -C {ROOT} archive HEAD | tar -x -C {tmp}", shell=True, check=True)
            listed = lambda paths: "[" + ", ".join(f'"{p}"' for p in paths) + "]"   # noqa: E731
            with open(Path(tmp) / "pyproject.toml", "a", encoding="utf-8") as f:
                f.write(f"\n[tool.mutmut]\npaths_to_mutate = {listed(sources)}\n"
                        f"tests_dir = {listed(tests + SUPPORT)}\n")
            subprocess.run(["mutmut", "run", "--max-children", "1"], cwd=tmp, stdout=subprocess.DEVNULL)
            results = subprocess.run(["mutmut", "results", "--all", "true"], cwd=tmp, capture_output=True,
                                     text=True).stdout.splitlines()
            outcomes: dict[str, int] = {}
            for line in results:
                outcome = line.rpartition(": ")[2].strip()
                outcomes[outcome] = outcomes.get(outcome, 0) + 1
            killed = outcomes.get("killed", 0)
            total = sum(outcomes.values())
            print(f"{name}: {killed} of {total} mutants killed ({100 * killed / max(total, 1):.1f}%); {outcomes}")
            for line in results:
                if line.endswith("survived"):
                    mutant = line.split(":")[0].strip()
                    diff = subprocess.run(["mutmut", "show", mutant], cwd=tmp, capture_output=True, text=True).stdout
                    print(f"  {mutant}: " + " | ".join(d for d in diff.splitlines()
                                                        if d[:1] in "+-" and d[:3] not in ("+++", "---")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
