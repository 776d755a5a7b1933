"""The scenarios and cassettes shipped with druid-sim, found as package data wherever it is installed.

In the repository they live where people look for them, in the top-level ``scenarios/`` and
``cassettes/`` folders. ``druid_sim/builtin/scenarios`` and ``druid_sim/builtin/cassettes`` are
symlinks to those folders: an editable install reads them in place, while building an sdist or a
wheel follows the links and ships copies inside the package (``pyproject.toml``'s package-data takes
``*.yaml`` and ``*.jsonl`` only, so the scripts beside the cassettes stay in the repository). Code
finds them through :mod:`importlib.resources`, never through a path relative to the checkout, so a
wheel installed anywhere finds them too.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

#: The suffix of every cassette file; a shipped cassette may be named with or without it.
CASSETTE_SUFFIX = ".jsonl"


def _folder(name: str) -> Path:
    """A folder of package data as a real path (pip installs packages unpacked, so it always is one)."""
    folder = files(__name__) / name
    if not isinstance(folder, Path):  # a zipped install (zipimport): not something pip produces
        raise RuntimeError(f"druid-sim's {name} are inside an archive ({folder}); install druid-sim with pip")
    return folder


def scenario_dir() -> Path:
    """The folder of the built-in scenarios (``demo.yaml``, ``slow-tasks.yaml``, ...)."""
    return _folder("scenarios")


def cassette_dir() -> Path:
    """The folder of the shipped cassettes (``demo-recording.jsonl``, ``docs-examples.jsonl``)."""
    return _folder("cassettes")


def cassette_names() -> list[str]:
    """Names of the shipped cassettes (file names without ``.jsonl``), sorted."""
    return sorted(path.stem for path in cassette_dir().glob(f"*{CASSETTE_SUFFIX}"))


def shipped_cassette(ref: str) -> Path | None:
    """The shipped cassette ``ref`` names (``docs-examples`` or ``docs-examples.jsonl``), or None."""
    if "/" in ref or "\\" in ref or not ref.strip("."):
        return None
    name = ref if ref.endswith(CASSETTE_SUFFIX) else ref + CASSETTE_SUFFIX
    path = cassette_dir() / name
    return path if path.is_file() else None


__all__ = ["CASSETTE_SUFFIX", "cassette_dir", "cassette_names", "scenario_dir", "shipped_cassette"]
