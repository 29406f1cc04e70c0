"""Regenerate the tables of docs/results.md from the committed run folders under docs/runs/.

    python scripts/results_doc.py            # rewrite docs/results.md in place
    python scripts/results_doc.py --check    # exit 1 if it is not what the run folders say

Every block between `<!-- report FOLDER [FOLDER …] -->` and `<!-- end report -->` is replaced by the
tables that `actcli report FOLDER …` computes and puts in its report.md (the same library code), the
per-layer tables included; the prose around them is kept.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

from actcli import experiment
from actcli.markdown import (depth_markdown, describe_run, grid_section, inside_the_network, seeds_table,
                             statistics_table)

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "results.md"
BLOCK = re.compile(r"(<!-- report (?P<folders>[^>]+?) -->\n)(?P<body>.*?)(<!-- end report -->)", re.S)


def tables(folders: list[str]) -> str:
    head, results = experiment.merge([experiment.RunFolder(ROOT / f) for f in folders])
    doc = experiment.summarize(head, results)
    grid = "\n".join(grid_section(doc)).strip()          # with learning rates as an axis
    return "\n\n".join([describe_run(doc), statistics_table(doc), *([grid] if grid else []),
                        "Test accuracy (%) by seed:", seeds_table(doc), inside_the_network(doc).strip()]) + "\n"


DEPTH_BLOCK = re.compile(r"(<!-- depth (?P<files>[^>]+?) -->\n)(?P<body>.*?)(<!-- end depth -->)", re.S)


def depth_tables(files: list[str]) -> str:
    """The table of `actcli depth --json` documents committed under docs/runs/."""
    return depth_markdown(json.loads((ROOT / f).read_text(encoding="utf-8")) for f in files) + "\n"


def regenerate(text: str) -> str:
    text = BLOCK.sub(lambda m: m[1] + tables(m["folders"].split()) + m[4], text)
    return DEPTH_BLOCK.sub(lambda m: m[1] + depth_tables(m["files"].split()) + m[4], text)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only check that the doc is up to date")
    args = parser.parse_args()
    old = DOC.read_text(encoding="utf-8")
    new = regenerate(old)
    if args.check:
        if new != old:
            print(f"{DOC.relative_to(ROOT)} is not what its run folders say: run scripts/results_doc.py")
            return 1
        return 0
    DOC.write_text(new, encoding="utf-8")
    print(f"rewrote {len(BLOCK.findall(old))} tables in {DOC.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
