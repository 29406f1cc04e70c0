"""Pieces shared by the commands: parameter types, the --json switch, output."""

from __future__ import annotations

import contextlib
import math
from pathlib import Path
from typing import Mapping

import click

from .. import activations, lookup
from ..errors import ParameterError, UsageProblem
from ..jsonout import NON_FINITE, dumps


class ActivationType(click.ParamType):
    """A registry name (the closest suggested when it is not one) or a formula in x."""

    name = "activation"

    def convert(self, value, param, ctx):
        if isinstance(value, activations.Activation):
            return value
        try:
            return lookup.resolve(value)
        except UsageProblem as exc:   # an unknown name, or a formula that is not one (FormulaError)
            self.fail(str(exc), param, ctx)


class DefinitionType(click.ParamType):
    """`NAME=FORMULA`: a formula activation with a name of its own."""

    name = "NAME=FORMULA"

    def convert(self, value, param, ctx):
        if isinstance(value, activations.Activation):
            return value
        name, eq, formula = str(value).partition("=")
        name = name.strip()
        if not eq or not name or not formula.strip():
            self.fail(f"{value!r}: write NAME=FORMULA, such as swish17=x*sigmoid(1.702*x)", param, ctx)
        if not all(c.isalnum() or c in "-_." for c in name):
            self.fail(f"{name!r}: a name has letters, digits, '-', '_' and '.' only", param, ctx)
        try:
            activations.get(name)
            self.fail(f"{name!r} is a built-in activation; choose another name", param, ctx)
        except UsageProblem:
            pass
        if name.lower() in NON_FINITE:
            self.fail(f"{name!r} reads as a number in JSON; choose another name", param, ctx)
        try:
            from ..formula import from_formula

            return from_formula(formula, name=name)
        except UsageProblem as exc:
            self.fail(str(exc), param, ctx)


class FloatListType(click.ParamType):
    """Finite numbers separated by commas: `1,2.5,-3`."""

    name = "x,x,..."

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        items = [s.strip() for s in str(value).split(",")]
        if not any(items):
            self.fail("expected one or more numbers separated by commas, got nothing", param, ctx)
        out = []
        for item in items:
            if not item:
                self.fail(f"{value!r} has an empty item: write numbers separated by single commas", param, ctx)
            out.append(FINITE.convert(item, param, ctx))      # each item as any float option takes it
        return tuple(out)


class FiniteFloat(click.FloatRange):
    """A finite number, within click's FloatRange bounds when given: the type of every float option.

    NaN is refused first: it compares false with every bound, so a range check alone lets it through."""

    name = "float"

    def convert(self, value, param, ctx):
        x = click.FLOAT.convert(value, param, ctx)
        if not math.isfinite(x):
            self.fail(f"{value if isinstance(value, str) else x} is not a finite number", param, ctx)
        return super().convert(x, param, ctx)

    def _describe_range(self) -> str:  # nothing to add to the help when there are no bounds
        return "" if self.min is None and self.max is None else super()._describe_range()


class ParsedType(click.ParamType):
    """A list the core parses from text (seeds, learning rates): its UsageProblem becomes the option's."""

    def __init__(self, name: str, parse_name: str):
        self.name, self.parse_name = name, parse_name

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        from .. import experiment

        try:
            return getattr(experiment, self.parse_name)(value)
        except UsageProblem as exc:
            self.fail(str(exc), param, ctx)


FINITE = FiniteFloat()
ACTIVATION = ActivationType()
DEFINITION = DefinitionType()
FLOATS = FloatListType()
SEEDS = ParsedType("seeds", "parse_seeds")            # 0-4, 0,3,7 or 0-2,5
RATES = ParsedType("lr[,lr…]", "parse_rates")        # 3e-4,1e-3,3e-3

json_option = click.option("--json", "as_json", is_flag=True,
                           help="Print one JSON document and nothing else (inf and nan as strings).")


def exclusive(options: Mapping[str, object]) -> None:
    """A usage error when more than one of `options` ({"--a": a, "--b": b}) was given; an option is
    given unless its value is None or False (a flag left off)."""
    given = [flag for flag, value in options.items() if value is not None and value is not False]
    if len(given) > 1:
        raise UsageProblem(f"give {' or '.join(given)}, not both" if len(given) == 2
                           else f"give only one of {', '.join(given)}")


@contextlib.contextmanager
def options_for(*params: str):
    """Inside, a core ParameterError about one of `params` becomes click's usage error naming its
    option, `--PARAM` (the core names parameters as the API does; only the CLI knows the options)."""
    try:
        yield
    except ParameterError as exc:
        if exc.param not in params:
            raise
        raise click.BadParameter(str(exc), param_hint=[f"--{exc.param}"]) from exc


def emit_json(doc) -> None:
    click.echo(dumps(doc))


def writable_file(path: str, suffixes: tuple[str, ...], param_hint: str) -> Path:
    """An output path whose folder exists and whose extension we can write; else a usage error."""
    out = Path(path)
    if out.suffix.lower().lstrip(".") not in suffixes:
        raise click.BadParameter(f"{path!r}: the format comes from the extension; use one of "
                                 + ", ".join("." + s for s in suffixes), param_hint=[param_hint])
    if not out.parent.is_dir():
        problem = f"{str(out.parent)!r} is not a folder" if out.parent.exists() else \
            f"folder {str(out.parent)!r} does not exist"
        raise click.BadParameter(problem, param_hint=[param_hint])
    return out


class SectionedCommand(click.Command):
    """A command whose --help lists its options in named sections ({title: [parameter names]}), in the
    order given; options in no section come last, under "Other options"."""

    def __init__(self, *args, sections: Mapping[str, list[str]] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.sections = dict(sections or {})

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = {p.name: p.get_help_record(ctx) for p in self.get_params(ctx)}
        placed = {name for names in self.sections.values() for name in names}
        groups = [(title, [rows[n] for n in names if rows.get(n)]) for title, names in self.sections.items()]
        groups.append(("Other options", [r for n, r in rows.items() if n not in placed and r]))
        for title, records in groups:
            if records:
                with formatter.section(title):
                    formatter.write_dl(records)


def console():
    from rich.console import Console

    return Console()
