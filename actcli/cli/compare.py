"""`compare`: the article's experiment, the CNN trained once per activation."""

from __future__ import annotations

import csv
import io
import sys
import time
from pathlib import Path

import click

from ..activations import ARTICLE_ACTIVATIONS
from ..data import DATASETS
from ..errors import UsageProblem
from ..files import atomic_write, atomic_write_text
from ..jsonout import dumps
from . import cli
from ._common import ACTIVATIONS, emit_json, json_option

SUMMARY_FIELDS = ("activation", "test_accuracy", "test_loss", "best_val_accuracy", "diverged", "diverged_epoch",
                  "epochs", "seconds", "images_per_second", "grad_norm_first", "grad_norm_last", "dead_fraction")


class Reporter:
    """Progress on stderr: a rich bar on a terminal, a plain line per epoch elsewhere, nothing if quiet."""

    def __init__(self, quiet: bool):
        from rich.console import Console

        self.quiet = quiet
        self.console = Console(stderr=True)
        self.bar = None
        self.task = None
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
            if self.task is None or self.bar.tasks[self.task].description != f"download {name}":
                self.task = self.bar.add_task(f"download {name}", total=total, info="")
            self.bar.update(self.task, completed=done, info=f"{done / 1e6:.1f} MB")
        elif total and done == total:
            self.console.print(f"downloaded {name} ({done / 1e6:.1f} MB)", highlight=False)

    def __call__(self, p) -> None:
        if self.quiet:
            return
        info = f"loss {p.loss:.4f}  {p.images_per_second:,.0f} img/s  {p.seconds:.0f} s"
        title = f"{p.activation:10} epoch {p.epoch}/{p.epochs}"
        if self.bar is not None:
            if self.task is None or self.bar.tasks[self.task].description != title:
                self.task = self.bar.add_task(title, total=p.steps, info=info)
            self.bar.update(self.task, completed=p.step, info=info)
        elif p.step == p.steps:
            self.console.print(f"{title}  {info}", highlight=False)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()


def summary_csv(results: list[dict]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=SUMMARY_FIELDS, lineterminator="\n")
    writer.writeheader()
    for r in results:
        last = r["epochs"][-1] if r["epochs"] else {}
        writer.writerow({**{k: r[k] for k in SUMMARY_FIELDS if k in r}, "epochs": len(r["epochs"]),
                         **{k: last.get(k) for k in ("grad_norm_first", "grad_norm_last", "dead_fraction")}})
    return buffer.getvalue()


def write_figures(out: Path, results: list[dict]) -> None:
    from ..plots import curves_figure

    for name, metric, ylabel in (("accuracy.png", "val_accuracy", "validation accuracy"),
                                 ("loss.png", "val_loss", "validation loss (cross-entropy)")):
        fig = curves_figure(results, metric, ylabel, f"{ylabel} per epoch")
        atomic_write(out / name, lambda handle, fig=fig: fig.savefig(handle, format="png", dpi=120))


@cli.command()
@click.option("--activations", "names", type=ACTIVATIONS, default=",".join(ARTICLE_ACTIVATIONS),
              show_default=True, help="Comma list of activations, trained one after another.")
@click.option("--dataset", type=click.Choice(DATASETS), default="mnist", show_default=True,
              help="mnist: --data-dir, else a download, else the bundled sample; mnist-sample: 5,000 "
                   "real digits shipped with actcli; fashion-mnist: --data-dir or Debian's package.")
@click.option("--data-dir", type=click.Path(file_okay=False), help="Where IDX files are looked for and "
              "downloaded to. Default: $ACTCLI_DATA_DIR, else ~/.cache/actcli.")
@click.option("--offline", is_flag=True, help="Never download (also ACTCLI_OFFLINE=1).")
@click.option("--epochs", type=click.IntRange(min=1), default=5, show_default=True)
@click.option("--batch-size", type=click.IntRange(min=1), default=128, show_default=True)
@click.option("--lr", type=click.FloatRange(min=0, min_open=True), default=1e-3, show_default=True,
              help="Adam's learning rate.")
@click.option("--seed", type=int, default=0, show_default=True,
              help="The same seed gives every activation the same batch order (a paired comparison).")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True)
@click.option("--precision", type=click.Choice(["auto", "fp32", "bf16"]), default="auto", show_default=True,
              help="auto: bf16 autocast where the CPU or GPU has native bf16, else fp32.")
@click.option("--limit", type=click.IntRange(min=1), help="Use only N training images (quick runs).")
@click.option("--clip-norm", type=click.FloatRange(min=0, min_open=True),
              help="Clip the gradient's global norm instead of each value at 0.5 (the article's).")
@click.option("--no-clip", is_flag=True, help="No gradient clipping at all.")
@click.option("-o", "--output", type=click.Path(file_okay=False),
              help="Folder for the figures and results. Default: runs/compare-<timestamp>.")
@click.option("-q", "--quiet", is_flag=True, help="No progress output.")
@json_option
def compare(names, dataset, data_dir, offline, epochs, batch_size, lr, seed, device, precision, limit,
            clip_norm, no_clip, output, quiet, as_json) -> None:
    """Train the article's MNIST CNN once per activation and compare them.

    Categorical cross-entropy and real accuracy (the article's binary cross-entropy made every
    curve read ≈ 0.998); validation held out of the training set, the test set used once at the
    end; Adam with clipping by value 0.5, as the article's Adam(clipvalue=0.5). Writes
    accuracy.png, loss.png, history.json, summary.csv and config.json to the output folder.
    Ctrl-C keeps the activations that finished (exit 130).

    \b
    Example:
      actcli compare --epochs 5
      actcli compare --dataset fashion-mnist --activations relu,gelu --epochs 1 --json
    """
    if clip_norm is not None and no_clip:
        raise UsageProblem("give --clip-norm or --no-clip, not both")
    from torch import __version__ as torch_version

    from .. import __version__
    from .. import data as datasets
    from .. import train as training

    device = training.resolve_device(device)          # usage errors before any work
    precision_used = training.resolve_precision(precision, device)
    out = Path(output or f"runs/compare-{time.strftime('%Y%m%d-%H%M%S')}")
    if out.exists() and not out.is_dir():
        raise UsageProblem(f"--output {str(out)!r} is a file, not a folder")
    config = training.Config(
        activations=tuple(a.name for a in names), dataset=dataset, epochs=epochs, batch_size=batch_size, lr=lr,
        clip="none" if no_clip else ("norm" if clip_norm is not None else "value"),
        clip_threshold=clip_norm if clip_norm is not None else 0.5, seed=seed, device=device,
        precision=precision_used, limit=limit)

    report = Reporter(quiet)
    if precision_used == "bf16" and not training.native_bf16(device):
        report.notice(f"this {device} has no native bf16: it is emulated and far slower than fp32")
    try:
        loaded = datasets.load(dataset, data_dir, offline=True if offline else None,
                               progress=report.download, notice=report.notice)
        split = datasets.split(loaded, config.val_fraction, limit, seed=0)
        info = {"name": loaded.name, "requested": dataset, "source": loaded.source, **split.sizes()}
        out.mkdir(parents=True, exist_ok=True)
        atomic_write_text(out / "config.json", dumps({"config": config.to_dict(), "dataset": info,
                                                      "actcli": __version__, "torch": torch_version}))
        on_device = training.DeviceData(split, device)
        results = []
        doc = {"config": config.to_dict(), "dataset": info, "results": results, "interrupted": False,
               "output": str(out)}
        try:
            for name in config.activations:
                results.append(training.train(name, on_device, config, device, precision_used, report).to_dict())
                atomic_write_text(out / "history.json", dumps(doc))
                atomic_write_text(out / "summary.csv", summary_csv(results))
        except KeyboardInterrupt:
            doc["interrupted"] = True
    finally:
        report.close()
    interrupted = doc["interrupted"]
    if results:
        write_figures(out, results)
    if as_json:
        emit_json(doc)
    else:
        from ..tables import compare_table
        from ._common import console

        if results:
            console().print(compare_table(results, info))
        click.echo(f"{'interrupted: kept' if interrupted else 'wrote'} {len(results)} of "
                   f"{len(config.activations)} activations to {out}/")
    if interrupted:
        sys.exit(130)
