"""Which files the control API may open: the built-ins, files in the allowed folders, and the ones given at start.

``POST /__sim/scenario`` and ``POST /__sim/cassette`` take a path from whoever can reach the control
API, which on loopback is any local user and any program they run. Left unchecked that reads any file
the server can (``/etc/passwd``, SSH keys). So a path given through the control API must resolve,
symlinks and ``..`` followed, to a file with the right suffix inside one of the allowed folders: the
``--data-dir`` folders given to ``serve`` (the pytest plugin's ``data_dirs``), else the working
directory the server started in. The files given at start (``--scenario FILE``, ``--cassette FILE``)
were the user's own choice and stay allowed. A relative path is looked up in each folder in turn.

A refused path gets the same answer whether it is missing, outside the folders or of another kind, so
the answer never tells whether a file exists.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

#: What each kind of file must end with to be opened through the control API.
SCENARIO_SUFFIXES = (".yaml", ".yml")
CASSETTE_SUFFIXES = (".jsonl", ".json")


@dataclass(frozen=True, slots=True)
class FileAccess:
    """The allowed folders and the files given at start, all resolved."""

    folders: tuple[Path, ...]
    given: frozenset[Path]

    @classmethod
    def at_start(cls, data_dirs: Sequence[str], given: Iterable[str | None]) -> FileAccess:
        """The access rules for a server starting now: ``data_dirs``, else the current working directory."""
        folders = tuple(Path(folder).resolve() for folder in (data_dirs or [os.getcwd()]))
        started_with = frozenset(path for ref in given if ref and (path := _resolved(Path(ref))) is not None)
        return cls(folders, started_with)

    def find(self, ref: str, suffixes: tuple[str, ...]) -> Path | None:
        """The file ``ref`` names, resolved, if the control API may open it; None otherwise (for any reason)."""
        if "\0" in ref:
            return None
        given = Path(ref)
        candidates = [given] if given.is_absolute() else [folder / given for folder in self.folders]
        for candidate in candidates:
            path = _resolved(candidate)
            if path is None:
                continue
            if path in self.given:
                return path
            if path.suffix.lower() in suffixes and any(path.is_relative_to(folder) for folder in self.folders):
                return path
        return None

    def describe(self, suffixes: tuple[str, ...]) -> str:
        """Where the allowed files are, for messages: ``.yaml or .yml files in /a, /b``."""
        kinds = " or ".join(suffixes)
        return f"{kinds} files in {', '.join(str(folder) for folder in self.folders)}"


def _resolved(path: Path) -> Path | None:
    """``path`` with symlinks and ``..`` resolved, if it is an existing regular file."""
    try:
        resolved = path.resolve(strict=True)
        return resolved if resolved.is_file() else None
    except (OSError, RuntimeError, ValueError):
        return None
