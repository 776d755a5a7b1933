"""Finding scenarios: the built-ins (package data, `druid_sim.builtin`) by name, or any file by path; loading them once."""

from __future__ import annotations

from pathlib import Path

from druid_sim.builtin import scenario_dir
from druid_sim.fields import Context, Problem, ScenarioError
from druid_sim.scenario.schema import Scenario, read_scenario
from druid_sim.scenario.source import load_yaml

#: The built-in scenarios shipped with the project (``scenarios/`` in the repository).
SCENARIO_DIR = scenario_dir()
_cache: dict[tuple[str, int], Scenario] = {}
#: The largest scenario file read (PyYAML's pure-Python parser takes about a second per MiB).
MAX_SCENARIO_BYTES = 1024 * 1024


def builtin_names() -> list[str]:
    """Names of the built-in scenarios, sorted."""
    return sorted(path.stem for path in SCENARIO_DIR.glob("*.yaml"))


def resolve(ref: str) -> Path:
    """The file for ``ref``: a built-in's name (``demo``) or a path to a YAML file."""
    builtin = SCENARIO_DIR / f"{ref}.yaml"
    if "/" not in ref and "\\" not in ref and builtin.is_file():
        return builtin
    path = Path(ref)
    if path.is_file():
        return path
    names = ", ".join(builtin_names()) or "(none found)"
    message = f"no built-in scenario or file called {ref!r}; use a path to a YAML file or one of: {names}"
    raise ScenarioError(ref, [Problem(None, "", message)])


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def load_scenario(ref: str) -> Scenario:
    """The validated scenario ``ref`` names; :class:`ScenarioError` lists every problem (file:line: field)."""
    path = resolve(ref)
    source = _display(path)
    try:
        stat = path.stat()
        key = (str(path.resolve()), stat.st_mtime_ns)
        cached = _cache.get(key)
        if cached is not None:
            return cached
        if stat.st_size > MAX_SCENARIO_BYTES:
            message = f"the file is {stat.st_size:,} bytes; a scenario is at most {MAX_SCENARIO_BYTES:,} (1 MiB)"
            raise ScenarioError(source, [Problem(None, "", message)])
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError(
            source, [Problem(None, "", f"cannot read the file: {exc.strerror or type(exc).__name__}")]
        ) from None
    except UnicodeDecodeError as exc:
        problem = f"is not UTF-8 text (a byte at offset {exc.start} is not); save it as UTF-8"
        raise ScenarioError(source, [Problem(None, "", problem)]) from None
    document = load_yaml(text, source)
    ctx = Context(source)
    scenario = read_scenario(document, ctx, path.stem)
    ctx.raise_if_any()
    assert scenario is not None
    _cache[key] = scenario
    return scenario
