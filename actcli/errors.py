"""Typed errors raised by the core. The CLI turns them into one-line messages and exit codes.

The rule for messages: the core is a library, so its messages name things as the library's API
does (`alpha`, `layers`, `threshold`), never as a command line spells them (`--alpha`). The CLI
layer says which option was at fault: where it converts a core error it adds the option's name
(click's `param_hint`), using `ParameterError.param` when the core says which parameter it was.
"""

from __future__ import annotations


class ActcliError(Exception):
    """Base class: something the user can fix; never a bug."""


class UsageProblem(ActcliError):
    """Bad input (a name, a parameter, a range): the CLI exits 2, as for any usage error."""


class UnknownActivationError(UsageProblem):
    def __init__(self, name: str, suggestions: list[str], choices: list[str]):
        self.name, self.suggestions, self.choices = name, suggestions, choices
        hint = f"; did you mean {' or '.join(repr(s) for s in suggestions)}?" if suggestions else ""
        super().__init__(f"unknown activation {name!r}{hint} (choices: {', '.join(choices)})")

    def __reduce__(self):  # picklable, so that it can travel back from a worker process
        return type(self), (self.name, self.suggestions, self.choices)


class ParameterError(UsageProblem):
    """A parameter that does not exist, or a value it cannot take. `param` is its name in the API
    (`alpha`, `weights`), or None; the CLI maps it to its option."""

    def __init__(self, message: str, param: str | None = None):
        super().__init__(message)
        self.param = param

    def __reduce__(self):
        return type(self), (str(self), self.param)


class DataError(ActcliError):
    """A data file that is missing, broken or does not match what it claims to hold."""


class ClusterLost(ActcliError):
    """The Ray cluster running the tasks was lost mid-run: its nodes, its head, or the way to it. What
    finished is saved; the same run resumes the rest."""
