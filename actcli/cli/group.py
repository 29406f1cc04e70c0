"""The `actcli` command group, and the one place where errors become messages and exit codes.

Every error the user can cause ends as one line on stderr: `Error: …`, exit 2 for usage errors
and 1 for the rest (a file that cannot be read or written among them). The core raises typed errors
(actcli.errors); they are translated here.
"""

from __future__ import annotations

import sys

import click

from ..errors import ActcliError, UsageProblem

# click ≥ 8.2 raises this for a group called without a command; older clicks print the help themselves.
NO_ARGS_IS_HELP = getattr(click.exceptions, "NoArgsIsHelpError", ())


class ActcliGroup(click.Group):
    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except UsageProblem as exc:
            raise click.UsageError(str(exc)) from exc
        except ActcliError as exc:
            raise click.ClickException(str(exc)) from exc
        except OSError as exc:       # a file that cannot be read or written: its name and the reason
            where = f"{exc.filename}: " if exc.filename else ""
            raise click.ClickException(f"{where}{exc.strerror or exc}") from exc

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except NO_ARGS_IS_HELP as exc:  # plain `actcli`: the help, as for --help
            click.echo(exc.format_message())
            sys.exit(0)
        except click.ClickException as exc:
            # One line, not click's usage block: the message already says what is wrong.
            click.echo(f"Error: {exc.format_message()}", err=True)
            sys.exit(exc.exit_code)
        except click.Abort:
            click.echo("Aborted.", err=True)
            sys.exit(130)
        sys.exit(code if isinstance(code, int) else 0)


@click.group("actcli", cls=ActcliGroup, context_settings={"help_option_names": ["-h", "--help"],
                                                 "max_content_width": 100})
@click.version_option(None, "-V", "--version", package_name="actcli", prog_name="actcli")
def cli() -> None:
    """A laboratory for neural-network activation functions.

    Plot and derive them, watch gradients vanish or explode in Nielsen's chain, clip them, and
    train the article's MNIST CNN once per activation.

    \b
    Example:
      actcli list
      actcli derive gelu --check
    """
