"""Typed errors raised by the core. The CLI turns them into one-line messages and exit codes."""

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
    """A parameter that the activation does not have, or a value it cannot take."""


class DataError(ActcliError):
    """A data file that is missing, broken or does not match what it claims to hold."""
