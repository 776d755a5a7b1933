"""Errors raised by the cassette package.

Every error says which file is at fault, where in it, what is wrong and how to fix it, in the spirit of
VCR.py's `CannotOverwriteExistingCassetteException`: the message is meant to be read by a person who
has just run a command, not by a debugger.
"""

from __future__ import annotations

from pathlib import Path


class CassetteError(Exception):
    """Base class of every cassette problem."""


class CassetteFormatError(CassetteError):
    """A cassette file is not valid: bad JSON, a missing field, a wrong type or an unknown version."""

    def __init__(self, path: str | Path, line: int, problem: str, fix: str, column: int | None = None) -> None:
        self.path = str(path)
        self.line = line
        self.column = column
        self.problem = problem
        self.fix = fix
        where = f"{self.path}:{line}" + (f":{column}" if column is not None else "")
        super().__init__(f"{where}: {problem}. {fix}")


class CassetteExistsError(CassetteError):
    """The cassette already exists and the record mode forbids touching it."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        super().__init__(
            f"{self.path} already exists and record mode 'refuse' does not overwrite cassettes. "
            "Use --mode append to add to it, --mode overwrite to replace it, or choose another --cassette."
        )
