"""The docs tell the truth: they link only files that are in the repository, and docs/results.md's tables
are what its committed run folders say."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RUNS = sorted(p.parent for p in (ROOT / "docs" / "runs").glob("*/config.json"))
DOCS = [ROOT / "README.md", ROOT / "CHANGELOG.md", *sorted((ROOT / "docs").glob("*.md")),
        *(run / "report.md" for run in RUNS)]


def tracked() -> set[Path]:
    try:
        out = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    return {(ROOT / line).resolve() for line in out.splitlines()}


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_links_point_at_tracked_files(doc):
    files = tracked()
    for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", doc.read_text(encoding="utf-8")):
        if re.match(r"[a-z]+://", target):
            continue
        path = (doc.parent / target).resolve()
        assert path in files or (path.is_dir() and any(f.is_relative_to(path) for f in files)), \
            f"{doc.name} links {target}, which git does not track"


def test_results_tables_are_what_the_run_folders_say():
    out = subprocess.run([sys.executable, str(ROOT / "scripts" / "results_doc.py"), "--check"],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


@pytest.mark.parametrize("run", RUNS, ids=lambda p: p.name)
def test_committed_reports_are_what_report_writes(run):
    """Each committed run folder's report.md is what `actcli report FOLDER` would write now."""
    from actcli import experiment
    from actcli.markdown import report_markdown

    head, results = experiment.merge([experiment.RunFolder(run)])
    figures = [name for name in ("curves.png", "gradients.png", "activations.png", "depth.png", "lr.png") if (run / name).is_file()]
    expected = report_markdown(experiment.summarize(head, results), figures)
    assert (run / "report.md").read_text(encoding="utf-8") == expected, f"run `actcli report {run}`"
