"""`compare` and `report`: the article's experiment over seeds, and its summary from a run folder.

Both end in `_finish`: the statistics, the table, the figures and the summary files come from the
same code whether the results were just trained or read back from disk.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from ..activations import ARTICLE_ACTIVATIONS
from ..config import (DEFAULT_JOBS, DEFAULT_MLP_DEPTH, DEFAULT_MLP_WIDTH, DEFAULT_SEED, DEFAULT_SELECT,
                      DEFAULT_THREADS, DEFAULTS, INITS, MAX_RATES, MAX_SEED, MAX_THREADS, SELECTIONS)
from ..data import DATASETS
from ..errors import UsageProblem
from ..files import atomic_write, atomic_write_text
from ..jsonout import dumps
from .group import cli
from ._common import DEFINITION, RATES, SEEDS, FiniteFloat, SectionedCommand, console, emit_json, exclusive, json_option, options_for


def _activations(names: str, defines) -> list:
    """--activations (names, defined names, formulas as text) and then the --define'd ones."""
    from ..lookup import split_top_level

    if len({d.name for d in defines}) < len(defines):
        raise click.BadParameter("a name is defined twice", param_hint=["--define"])
    return [t.strip() for t in split_top_level(names) if t.strip()] + list(defines)


class IntListType(click.ParamType):
    """Whole numbers separated by commas: `8,16,32`."""

    name = "N,N,..."

    def convert(self, value, param, ctx):
        if isinstance(value, (tuple, list)):
            return tuple(value)
        items = [s.strip() for s in str(value).split(",")]
        try:
            return tuple(int(s) for s in items)
        except ValueError:
            self.fail(f"{value!r}: expected whole numbers separated by commas, such as 8,16,32", param, ctx)


class JobsType(click.ParamType):
    """`auto` or a whole number ≥ 1."""

    name = "N|auto"

    def convert(self, value, param, ctx):
        if value == "auto" or isinstance(value, int):
            return value
        try:
            jobs = int(value)
        except ValueError:
            self.fail(f"{value!r} is neither 'auto' nor a whole number", param, ctx)
        if jobs < 1:
            self.fail(f"{jobs} is not ≥ 1", param, ctx)
        return jobs


class ThreadsType(JobsType):
    """`auto` or a whole number from 1 to MAX_THREADS."""

    def convert(self, value, param, ctx):
        threads = super().convert(value, param, ctx)
        if threads != "auto" and threads > MAX_THREADS:
            self.fail(f"{threads} is more than {MAX_THREADS}", param, ctx)
        return threads


class Reporter:
    """Progress on stderr: on a terminal a bar for the tasks done and one per running task; elsewhere a
    plain line per epoch; nothing if quiet. It is the experiment's listener (executors.Handler).

    A plain line's `[k/N]` says: this task was the k-th of the N to run to start (N: the tasks this run
    trains, not those the folder already holds). Tasks in parallel each keep their own k."""

    def __init__(self, quiet: bool, folder: Path | None = None):
        from rich.console import Console

        self.quiet = quiet
        self.console = Console(stderr=True)
        self.bar = None
        self.rows: dict = {}                 # a running task → its row
        self.order: dict = {}                # a task → its place in the order tasks started (1, 2, …)
        self.download_row = None
        self.overall = None
        self.total = self.done = 0
        self.folder = folder          # the run folder, named in the resume notice
        if not quiet and self.console.is_terminal:
            from rich.progress import BarColumn, Progress, TextColumn

            self.bar = Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[info]}"),
                                console=self.console, transient=False)
            self.bar.start()

    def notice(self, message: str) -> None:
        if not self.quiet:
            self.console.print(f"[yellow]note:[/] {message}", highlight=False, soft_wrap=True)

    def download(self, name: str, done: int, total: int | None) -> None:
        if self.quiet or done == 0:
            return
        if self.bar is not None:
            if self.download_row is None or self.bar.tasks[self.download_row].description != f"download {name}":
                self.download_row = self.bar.add_task(f"download {name}", total=total, info="")
            self.bar.update(self.download_row, completed=done, info=f"{done / 1e6:.1f} MB")
        elif total and done == total:
            self.console.print(f"downloaded {name} ({done / 1e6:.1f} MB)", highlight=False)

    def planned(self, todo: list, skipped: list) -> None:
        """Told by the experiment before it trains: what will run, what the folder already holds."""
        if skipped:
            self.notice(f"{self.folder}: {len(skipped)} of {len(todo) + len(skipped)} tasks already done; "
                        f"running the other {len(todo)}")
        self.total = total = len(todo)
        if self.bar is not None and total > 1:
            self.overall = self.bar.add_task("tasks", total=total, info=f"0 of {total} done")

    def _count(self, task) -> str:
        """'[k/N] ': the task's place in the order tasks started, of the N this run trains."""
        if self.total <= 1:
            return ""
        k = self.order.setdefault(task, len(self.order) + 1)   # a progress report before its start: now
        return f"[{k}/{self.total}] "

    def started(self, task, where: str) -> None:
        self.order.setdefault(task, len(self.order) + 1)
        if self.bar is not None:
            self.rows[task] = self.bar.add_task(_padded(task), total=None, info=where)

    def progress(self, p) -> None:
        if self.quiet:
            return
        info = f"epoch {p.epoch}/{p.epochs}  loss {p.loss:.4f}  {p.images_per_second:,.0f} img/s  {p.seconds:.0f} s"
        from ..experiment import Task

        key = Task(p.activation, p.seed, p.depth, p.lr)
        if self.bar is not None and key in self.rows:
            steps = p.steps * p.epochs
            self.bar.update(self.rows[key], total=steps, completed=(p.epoch - 1) * p.steps + p.step, info=info)
        elif self.bar is None and p.step == p.steps:
            self.console.print(f"{self._count(key)}{_padded(key)}  {info}", highlight=False)

    def _end(self, task) -> None:
        self.done += 1
        if self.bar is not None:
            row = self.rows.pop(task, None)
            if row is not None:
                self.bar.remove_task(row)
            if self.overall is not None:
                self.bar.update(self.overall, completed=self.done, info=f"{self.done} of {self.total} done")

    def finished(self, task, result: dict) -> None:
        self._end(task)

    def failed(self, task, error: str) -> None:
        self._end(task)
        if not self.quiet:
            self.console.print(f"[red]failed:[/] {task.label}: {error}", highlight=False,
                               soft_wrap=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()


def _padded(task) -> str:
    """The task as a progress line names it, the activation padded so that the lines align."""
    return f"{task.activation:10}{task.label[len(task.activation):]}"


def _finish(doc: dict, out: Path | None, as_json: bool, extra: dict | None = None) -> None:
    """Write the summaries and figures to `out` (when given), then print the document or the table."""
    from ..experiment import chosen, edges_line, rates_axis, summary_csv
    from ..markdown import report_markdown

    if out is not None:
        # the numbers first: a figure that cannot be drawn must not cost the summary
        atomic_write_text(out / "history.json", dumps(doc))
        atomic_write_text(out / "summary.csv", summary_csv(doc))
        figures = _write_figures(out, chosen(doc), doc)
        atomic_write_text(out / "report.md", report_markdown(doc, figures))
    if as_json:
        emit_json({**doc, **(extra or {})})
    else:
        from ..tables import SINGLE_SEED_NOTE, compare_table, grid_table, single_seed

        if doc["results"]:
            console().print(compare_table(doc))
            if single_seed(doc):
                console().print(SINGLE_SEED_NOTE, highlight=False)
            if rates_axis(doc):
                console().print(grid_table(doc))
                if edges_line(doc):
                    console().print(edges_line(doc), highlight=False)


def _write_figures(out: Path, results: list[dict], doc: dict | None = None) -> list[str]:
    """Draw the figures into `out`; the names of those written (not those the results have no data for).
    A deep network's layers are drawn as profiles (actcli.profiles), with depth as an axis, test
    accuracy against depth (from the summary `doc`) too, and with rates as an axis, validation accuracy
    against the rate."""
    from .. import plots, profiles

    deep = profiles.is_deep(results)
    figures = [("curves.png", lambda: plots.curves_figure(results)),
               ("gradients.png", lambda: (profiles.gradient_profile_figure if deep else plots.gradients_figure)(results)),
               ("activations.png",
                lambda: (profiles.activation_profile_figure if deep else plots.activations_figure)(results)),
               ("depth.png", lambda: profiles.depth_figure(doc) if doc else None),
               ("lr.png", lambda: plots.rates_figure(doc) if doc else None)]
    names = []
    for name, draw in figures:
        fig = draw()
        if fig is None:
            continue
        atomic_write(out / name, lambda handle, fig=fig: fig.savefig(handle, format="png", dpi=120))
        names.append(name)
    return names


COMPARE_SECTIONS = {
    "What to compare": ["names", "defines", "seeds", "seed", "baseline", "select"],
    "The network": ["model", "depths", "width", "dropout", "init"],
    "Data": ["dataset", "data_dir", "offline", "limit"],
    "Training": ["epochs", "batch_size", "lrs", "clip_norm", "no_clip", "device", "precision"],
    "Where it runs": ["jobs", "threads", "ray_address", "gpus_per_task"],
    "Output": ["output", "quiet", "as_json"],
}


@cli.command(cls=SectionedCommand, sections=COMPARE_SECTIONS)
@click.option("--activations", "names", default=",".join(ARTICLE_ACTIVATIONS), show_default=True,
              help="Comma list of activations: registry names, names from --define, or formulas in x "
                   "(commas inside brackets belong to the formula: relu,max(0.1*x, x)).")
@click.option("--define", "defines", type=DEFINITION, multiple=True, metavar="NAME=FORMULA",
              help="A formula activation with a name, such as swish17=x*sigmoid(1.702*x); repeatable. "
                   "It is trained too, after --activations.")
@click.option("--model", default=DEFAULTS.model, show_default=True, metavar="cnn|mlp|FILE.py:FUNCTION",
              help="The network: the article's CNN; a deep MLP (--depth, --width, --dropout); or your own, "
                   "FILE.py:FUNCTION or package.module:FUNCTION called as FUNCTION(activation) (see the README).")
@click.option("--depth", "depths", type=IntListType(), metavar="N[,N…]",
              help=f"With --model mlp: hidden layers, one depth or a list (8,16,32: depth becomes an axis of the "
                   f"tasks, compared within each depth). Default {DEFAULT_MLP_DEPTH}.")
@click.option("--width", type=click.IntRange(min=1), help=f"With --model mlp: units per hidden layer "
              f"(default {DEFAULT_MLP_WIDTH}).")
@click.option("--dropout", type=FiniteFloat(min=0, max=1, max_open=True),
              help="With --model mlp: dropout after every hidden layer (default 0; AlphaDropout for SELU).")
@click.option("--init", type=click.Choice(INITS), default=DEFAULTS.init, show_default=True,
              help="Initial weights: auto is the article's (glorot uniform, truncated LeCun normal for SELU); "
                   "critical: the mean-field edge of chaos (actcli depth).")
@click.option("--seeds", type=SEEDS, help="Train every activation once per seed: 0-4, 0,3,7 or 0-2,5. "
              "The same seed gives every activation the same batch order (a paired comparison).")
@click.option("--seed", type=click.IntRange(0, MAX_SEED), help=f"A single seed (default {DEFAULT_SEED}); "
              "the same as --seeds N.")
@click.option("--baseline", help="The activation the others are compared with, paired by seed "
              "(default: the best mean test accuracy).")
@click.option("--dataset", type=click.Choice(DATASETS), default=DEFAULTS.dataset, show_default=True,
              help="mnist: --data-dir, else a download, else the bundled sample; mnist-sample: 5,000 "
                   "real digits shipped with actcli; fashion-mnist: --data-dir or Debian's package.")
@click.option("--data-dir", type=click.Path(file_okay=False), help="Where IDX files are looked for and "
              "downloaded to. Default: $ACTCLI_DATA_DIR, else ~/.cache/actcli.")
@click.option("--offline", is_flag=True, help="Never download (also ACTCLI_OFFLINE=1).")
@click.option("--epochs", type=click.IntRange(min=1), default=DEFAULTS.epochs, show_default=True)
@click.option("--batch-size", type=click.IntRange(min=1), default=DEFAULTS.batch_size, show_default=True)
@click.option("--lr", "lrs", type=RATES, default=f"{DEFAULTS.lr:g}", show_default=True,
              help="Adam's learning rate, or a list (3e-4,1e-3,3e-3: the rate becomes an axis of the tasks, and "
                   f"each activation is reported at its own best rate, chosen on validation). At most {MAX_RATES}.")
@click.option("--select", type=click.Choice(list(SELECTIONS)), default=DEFAULT_SELECT, show_default=True,
              help="With several --lr: choose each activation's rate by the best mean validation accuracy, or "
                   "the lowest validation loss, at the last epoch. The test set takes no part.")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default=DEFAULTS.device,
              show_default=True)
@click.option("--precision", type=click.Choice(["auto", "fp32", "bf16"]), default=DEFAULTS.precision,
              show_default=True, help="auto: bf16 autocast where the CPU or GPU has native bf16, else fp32.")
@click.option("--limit", type=click.IntRange(min=1), help="Use only N training images (quick runs).")
@click.option("--clip-norm", type=FiniteFloat(min=0, min_open=True),
              help=f"Clip the gradient's global norm instead of each value at {DEFAULTS.clip_threshold:g} "
                   "(the article's).")
@click.option("--no-clip", is_flag=True, help="No gradient clipping at all.")
@click.option("--jobs", type=JobsType(), default=DEFAULT_JOBS, show_default=True,
              help="Tasks trained at once, each in a worker process; auto: from the cores, the tasks and the "
                   "device (on CUDA 4 per visible GPU, bounded by the cores; workers go round-robin over the GPUs). "
                   "1: one after another in this process.")
@click.option("--threads", type=ThreadsType(), default=DEFAULT_THREADS, show_default=True,
              help="torch CPU threads per task; auto: the cores ÷ the tasks running at once (at least 1), "
                   "recorded in config.json as the number. Part of the experiment: another count changes the numbers a "
                   "little, so a folder keeps one.")
@click.option("--ray", "ray_address", is_flag=False, flag_value="", default=None, metavar="[ADDRESS]",
              help="Run the tasks with Ray (pip install 'actcli[ray]'): alone, a local Ray instance; "
                   "'auto', host:port or ray://… joins a cluster (also $RAY_ADDRESS).")
@click.option("--gpus-per-task", type=FiniteFloat(min=0, max=1, min_open=True),
              help="With --ray: the GPU fraction a task asks for (default on CUDA 0.25: four share one; a "
                   "cluster that cannot give it is an error before any task).")
@click.option("-o", "--output", type=click.Path(file_okay=False),
              help="The run folder. Default: runs/compare-<timestamp>. Run the same command with the "
                   "same folder again to finish an interrupted run.")
@click.option("-q", "--quiet", is_flag=True, help="No progress output.")
@json_option
def compare(names, defines, model, depths, width, dropout, init, seeds, seed, baseline, select, dataset, data_dir,
            offline, epochs, batch_size, lrs, device, precision, limit, clip_norm, no_clip, jobs, threads, ray_address, gpus_per_task, output, quiet,
            as_json) -> None:
    """Train the article's MNIST CNN (or a deep MLP, or your own model) once per activation and seed,
    and compare them fairly.

    Categorical cross-entropy and real accuracy (the article's binary cross-entropy made every
    curve read ≈ 0.998); validation held out of the training set, the test set used once at the
    end; Adam with clipping by value 0.5, as the article's Adam(clipvalue=0.5). With several seeds
    the table gives each activation's mean test accuracy with its 95% interval, and its paired
    difference to the baseline with a verdict: better, worse, or not distinguishable.

    Each task's result is saved in the run folder the moment it ends; Ctrl-C keeps what finished
    (exit 130), and the same command with the same -o runs only the missing tasks. Writes
    config.json, results/, history.json, summary.csv, report.md, curves.png, gradients.png and
    activations.png.

    \b
    Example:
      actcli compare --epochs 5
      actcli compare --epochs 5 --seeds 0-4 -o runs/five-seeds
      actcli compare --epochs 5 --seeds 0-2 --lr 3e-4,1e-3,3e-3
      actcli compare --activations relu,gelu --define "swish17=x*sigmoid(1.702*x)"
      actcli compare --model mlp --depth 8,16,32 --dataset fashion-mnist --seeds 0-2
      actcli compare --model examples/resnet_model.py:build --activations relu,gelu
      actcli compare --dataset fashion-mnist --activations relu,gelu --epochs 1 --json
    """
    exclusive({"--clip-norm": clip_norm, "--no-clip": no_clip})
    exclusive({"--seeds": seeds, "--seed": seed})
    if gpus_per_task is not None and ray_address is None:
        raise UsageProblem("--gpus-per-task is for --ray")
    out = Path(output or f"runs/compare-{time.strftime('%Y%m%d-%H%M%S')}")
    if out.exists() and not out.is_dir():
        raise UsageProblem(f"--output {str(out)!r} is a file, not a folder")
    from .. import experiment

    with options_for("activations", "model", "depth", "width", "dropout", "init", "baseline", "device", "precision",
                     "ray", "lr"):   # before any work
        planned = experiment.prepare(
            _activations(names, defines), seeds or (DEFAULT_SEED if seed is None else seed,), depths=depths,
            lrs=lrs, baseline=baseline, select=select, definitions={d.name: d.source for d in defines},
            execution=experiment.Execution(jobs=jobs, ray=ray_address is not None, address=ray_address or None,
                                           gpus_per_task=gpus_per_task),
            model=model, width=width, dropout=dropout, init=init, dataset=dataset, epochs=epochs, batch_size=batch_size, device=device, precision=precision,
            clip="none" if no_clip else ("norm" if clip_norm is not None else "value"),
            clip_threshold=clip_norm if clip_norm is not None else DEFAULTS.clip_threshold,
            limit=limit, threads=threads)
    report = Reporter(quiet, out)
    for note in planned.notes:
        report.notice(note)
    try:
        folder, outcome = planned.run(out, report, data_dir, offline=True if offline else None)
    finally:
        report.close()
    doc = planned.summarize(folder)
    _finish(doc, out, as_json, {"run": {**outcome.to_dict(), "output": str(out)}})
    if not as_json and not outcome.lost:
        click.echo(f"{'interrupted: kept' if outcome.interrupted else 'wrote'} {len(doc['results'])} of "
                   f"{len(planned.tasks)} tasks to {out}/")
    if outcome.interrupted:
        sys.exit(130)
    if outcome.lost:
        from ..experiment import Task

        kept = [Task.of(r).label for r in doc["results"]]          # 'relu seed 0', 'relu depth 8 seed 0'
        named = f" ({', '.join(kept[:6])}{', …' if len(kept) > 6 else ''})" if kept else ""
        raise click.ClickException(f"{outcome.lost}: kept {len(kept)} of {len(planned.tasks)} tasks{named} in "
                                   f"{out}/; the same command resumes the other {len(planned.tasks) - len(kept)}")
    if outcome.failed:
        first = next(iter(outcome.failed.items()))
        raise click.ClickException(f"{len(outcome.failed)} of {len(planned.tasks)} tasks failed, the first "
                                   f"{first[0].key}: {first[1]} (the others were saved)")


@cli.command()
@click.argument("folders", nargs=-1, required=True, type=click.Path(exists=True, file_okay=False))
@click.option("--baseline", help="The activation the others are compared with (default: the best mean).")
@click.option("--select", type=click.Choice(list(SELECTIONS)), default=DEFAULT_SELECT, show_default=True,
              help="With several learning rates: choose each activation's by validation accuracy or loss.")
@click.option("-o", "--output", type=click.Path(file_okay=False),
              help="Write the merged run folder here (config.json, results/, summaries, figures). "
                   "Default: the folder itself when one is given; nothing is written for several.")
@json_option
def report(folders, baseline, select, output, as_json) -> None:
    """The table, statistics and figures of finished runs, from their folders, without training.

    Several folders whose configs agree (seeds 0-2 run on one machine, 3-5 on another) are merged;
    folders whose configs differ are an error that names the keys.

    \b
    Example:
      actcli report runs/five-seeds
      actcli report runs/seeds-0-2 runs/seeds-3-5 -o runs/merged --json
    """
    from .. import activations, experiment

    head, results = experiment.merge([experiment.RunFolder(f) for f in folders])
    if baseline is not None and baseline not in {t.activation for t in results}:
        try:
            baseline = activations.get(baseline).name     # an alias of a built-in (swish → silu)
        except UsageProblem:
            pass                                           # summarize says it is not among them
    with options_for("baseline"):
        doc = experiment.summarize(head, results, baseline, select)
    out = Path(output) if output else (Path(folders[0]) if len(folders) == 1 else None)
    if output:
        merged = experiment.RunFolder.open(out, head)
        for task, result in results.items():
            merged.save(task, result)
    _finish(doc, out, as_json)
    if not as_json:
        where = f"; wrote the summaries to {out}/" if out else ""
        click.echo(f"{len(results)} tasks from {len(folders)} folder{'s' * (len(folders) > 1)}{where}")
