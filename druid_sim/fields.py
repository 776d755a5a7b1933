"""Reading a scenario (or a fault posted to the control API) field by field, with errors that point at it.

Every value is read through a :class:`Section`, which knows the dotted field path and, when the data
came from a YAML file, the line of each key. A bad value is recorded as a :class:`Problem` and reading
goes on with a default, so one run of ``druid-sim scenario validate`` reports every mistake at once.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from druid_sim.clock import parse_duration
from druid_sim.overlord.behaviour import Distribution
from druid_sim.util.quoting import quoting, shown, shown_name
from druid_sim.util.regex import Regex, RegexRefused

T = TypeVar("T")


class Invalid(ValueError):
    """A value that cannot be used; the message says what is allowed."""


class LineDict(dict[Any, Any]):
    """A mapping loaded from YAML: ``line`` of the mapping and ``lines[key]`` of each key."""

    line: int | None = None

    def __init__(self) -> None:
        super().__init__()
        self.lines: dict[Any, int] = {}


class LineList(list[Any]):
    """A sequence loaded from YAML: ``line`` of the sequence and ``lines[i]`` of each item."""

    line: int | None = None

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[int] = []


@dataclass(frozen=True, slots=True)
class Problem:
    """One mistake: where (line may be unknown), which field, and what to do about it."""

    line: int | None
    field: str
    message: str

    def render(self, source: str) -> str:
        place = f"{source}:{self.line}" if self.line is not None else source
        return f"{place}: {self.field or '(top level)'}: {self.message}"


class ScenarioError(Exception):
    """A scenario (or fault spec) that cannot be used, with every problem found in it."""

    def __init__(self, source: str, problems: list[Problem]) -> None:
        self.source = source
        self.problems = problems
        super().__init__(self.render())

    def render(self) -> str:
        return "\n".join(problem.render(self.source) for problem in self.problems)

    def as_json(self) -> list[dict[str, Any]]:
        """The problems as the control API reports them."""
        return [{"source": self.source, "line": p.line, "field": p.field, "message": p.message} for p in self.problems]


@dataclass
class Context:
    """Collects problems while one document is read."""

    source: str
    problems: list[Problem] = field(default_factory=list)

    def report(self, line: int | None, path: str, message: str) -> None:
        self.problems.append(Problem(line, path, message))

    def raise_if_any(self) -> None:
        if self.problems:
            ordered = sorted(self.problems, key=lambda problem: problem.line or 0)
            raise ScenarioError(self.source, ordered)


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else str(key)


def type_name(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    names = {bool: "a boolean", int: "a number", float: "a number", str: "a string"}
    for kind, name in names.items():
        if type(value) is kind:
            return f"{name} ({shown(value)})" if quoting() else name
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__


class Section:
    """A mapping being read: take known keys, then :meth:`finish` reports the unknown ones."""

    def __init__(self, ctx: Context, data: Mapping[Any, Any], path: str = "", line: int | None = None) -> None:
        self.ctx = ctx
        self.data = data
        self.path = path
        self.line = getattr(data, "line", None) or line
        self._taken: set[Any] = set()

    def line_of(self, key: Any) -> int | None:
        lines: dict[Any, int] = getattr(self.data, "lines", {})
        return lines.get(key, self.line)

    def has(self, key: str) -> bool:
        return key in self.data

    #: True for a mapping whose keys are names chosen by the file (security's users and roles), not fields:
    #: they are hidden from paths like any value (`druid_sim.util.quoting`).
    keys_are_names = False

    def field(self, key: str) -> str:
        return _join(self.path, shown_name(key) if self.keys_are_names else key)

    def report(self, key: str, message: str) -> None:
        self._taken.add(key)
        self.ctx.report(self.line_of(key), self.field(key), message)

    def take(self, key: str, parse: Callable[[Any], T], default: T, required: bool = False) -> T:
        """``parse(value)`` of ``key``; a missing key gives ``default`` (or a problem if required)."""
        self._taken.add(key)
        if key not in self.data:
            if required:
                self.ctx.report(self.line, self.field(key), "is required")
            return default
        try:
            return parse(self.data[key])
        except Invalid as exc:
            self.ctx.report(self.line_of(key), self.field(key), str(exc))
            return default

    def section(self, key: str) -> Section | None:
        """The mapping under ``key`` as a section, None when absent (a problem when not a mapping)."""
        self._taken.add(key)
        value = self.data.get(key)
        if value is None:
            return None
        if not isinstance(value, Mapping):
            self.ctx.report(
                self.line_of(key), self.field(key), f"must be a mapping (key: value), not {type_name(value)}"
            )
            return None
        return Section(self.ctx, value, self.field(key), self.line_of(key))

    def items(self, key: str) -> Iterator[tuple[str, int | None, Any]]:
        """(field path, line, item) for each item of the list under ``key``."""
        self._taken.add(key)
        value = self.data.get(key)
        if value is None:
            return
        if not isinstance(value, list):
            self.ctx.report(self.line_of(key), self.field(key), f"must be a list (- item), not {type_name(value)}")
            return
        lines: list[int] = getattr(value, "lines", [])
        for index, item in enumerate(value):
            line = lines[index] if index < len(lines) else self.line_of(key)
            yield _join(self.field(key), index), line, item

    def finish(self) -> None:
        """Report keys nobody asked for, with the closest known key as a suggestion."""
        known = [key for key in self._taken if isinstance(key, str)]
        for key in self.data:
            if key in self._taken:
                continue
            close = difflib.get_close_matches(str(key), known, n=1, cutoff=0.6)
            hint = f"; did you mean '{close[0]}'?" if close else f"; allowed here: {', '.join(sorted(known))}"
            self.ctx.report(self.line_of(key), self.field(shown_name(key)), f"unknown field{hint}")


def section_of(ctx: Context, path: str, line: int | None, value: Any) -> Section | None:
    """A list item (or any value) that must be a mapping, as a section; None after reporting if not."""
    if not isinstance(value, Mapping):
        ctx.report(line, path, f"must be a mapping (key: value), not {type_name(value)}")
        return None
    return Section(ctx, value, path, line)


# -- value parsers: each raises Invalid with what is allowed ----------------------------------------


def as_str(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise Invalid(f"must be a non-empty string, not {type_name(value)}")
    return value


def as_bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise Invalid(f"must be true or false, not {type_name(value)}")
    return value


#: The largest whole number a field takes when it sets no bound of its own: a Java ``long``, what Druid
#: and every JSON encoder here (orjson: 64 bits) can carry.
LONG_MAX = 2**63 - 1
#: The longest duration a scenario or fault may give (365 days): a plan's instants stay printable dates.
MAX_DURATION_SECONDS = 365 * 86400.0


def as_int(low: int | None = None, high: int | None = None) -> Callable[[Any], int]:
    def parse(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise Invalid(f"must be a whole number, not {type_name(value)}")
        if low is not None and value < low:
            raise Invalid(f"must be at least {low}, not {shown(value)}")
        top = LONG_MAX if high is None else high
        if value > top:
            raise Invalid(f"must be at most {top:,}, not {shown(value)}")
        if value < -LONG_MAX - 1:
            raise Invalid(f"must be at least {-LONG_MAX - 1:,}, not {shown(value)}")
        return value

    return parse


def as_optional_int(low: int, high: int | None = None) -> Callable[[Any], int | None]:
    whole = as_int(low, high)

    def parse(value: Any) -> int | None:
        return None if value is None else whole(value)

    return parse


def _finite(value: float) -> None:
    """Invalid for NaN, infinities and whole numbers too big for a float (YAML has ``.nan`` and ``.inf``)."""
    try:
        finite = math.isfinite(value)
    except OverflowError:
        finite = False
    if not finite:
        raise Invalid(f"must be a finite number, not {shown(value)[:40]}")


def as_float(low: float | None = None, high: float | None = None) -> Callable[[Any], float]:
    def parse(value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise Invalid(f"must be a number, not {type_name(value)}")
        _finite(value)
        if low is not None and value < low:
            raise Invalid(f"must be at least {low:g}, not {shown(value)}")
        if high is not None and value > high:
            raise Invalid(f"must be at most {high:g}, not {shown(value)}")
        return float(value)

    return parse


def as_probability(value: Any) -> float:
    return as_float(0.0, 1.0)(value)


def as_duration(value: Any) -> float:
    """Seconds: ``30``, ``1.5``, ``"250ms"``, ``"5m"``, ``"2h"``, ``"1d"``."""
    if value is None or isinstance(value, bool | list | dict):
        raise Invalid(f"must be a duration such as 30s, 250ms, 5m or 2h, not {type_name(value)}")
    try:
        seconds = parse_duration(value)
    except ValueError as exc:
        raise Invalid(str(exc)) from None
    except OverflowError:
        raise Invalid(f"must be at most 365d, not {shown(value)[:40]}") from None
    _finite(seconds)
    if seconds > MAX_DURATION_SECONDS:
        raise Invalid(f"must be at most 365d, not {shown(value)}")
    return seconds


_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|KiB|MiB|GiB)?\s*$")
#: The largest size a field takes (1 GiB): enough for a log growing a gigabyte a second.
MAX_SIZE = float(1024**3)
_SIZE_UNITS = {None: 1, "B": 1, "KB": 1000, "MB": 1000**2, "GB": 1000**3, "KiB": 1024, "MiB": 1024**2, "GiB": 1024**3}


def as_size(value: Any) -> float:
    """Bytes: a number, or ``"500KB"``, ``"2MiB"`` (B, KB, MB, GB, KiB, MiB, GiB)."""
    if isinstance(value, bool):
        raise Invalid(f"must be a size such as 4096, 500KB or 2MiB, not {type_name(value)}")
    if isinstance(value, int | float):
        if value < 0:
            raise Invalid(f"cannot be negative: {shown(value)}")
        _finite(value)
        size = float(value)
    else:
        match = _SIZE.match(str(value)) if isinstance(value, str) else None
        if not match:
            raise Invalid(
                f"must be a size such as 4096, 500KB or 2MiB (B, KB, MB, GB, KiB, MiB, GiB), not {shown(value)}"
            )
        size = float(match.group(1)) * _SIZE_UNITS[match.group(2)]
    _finite(size)
    if size > MAX_SIZE:
        raise Invalid(f"must be at most 1GiB, not {shown(value)}")
    return size


def as_str_list(value: Any) -> tuple[str, ...]:
    """A string or a list of non-empty strings."""
    if isinstance(value, str) and value:
        return (value,)
    if not isinstance(value, list) or not value or not all(isinstance(item, str) and item for item in value):
        raise Invalid(f"must be a string or a list of strings, not {type_name(value)}")
    return tuple(value)


def as_regex(value: Any) -> Regex:
    """A regular expression, compiled for RE2 so that matching it is linear (``util/regex.py``)."""
    text = as_str(value)
    try:
        return Regex(text)
    except RegexRefused as exc:
        raise Invalid(str(exc)) from None


def as_choice(*choices: str) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        if value not in choices:
            close = difflib.get_close_matches(str(value), choices, n=1, cutoff=0.5)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise Invalid(f"must be one of {', '.join(choices)}, not {shown(value)}{hint}")
        return str(value)

    return parse


DISTRIBUTION_HELP = (
    "use a duration (45s), {fixed: 45s}, {uniform: [10s, 2m]} or {lognormal: {median: 4m, sigma: 0.5, cap: 20m}}"
)


def as_distribution(value: Any) -> Distribution:
    """A duration distribution: a plain duration (fixed), ``{fixed}``, ``{uniform: [low, high]}``, ``{lognormal}``."""
    if isinstance(value, int | float | str) and not isinstance(value, bool):
        return Distribution.fixed(as_duration(value))
    if not isinstance(value, Mapping) or len(value) != 1:
        raise Invalid(f"not a distribution: {type_name(value)}; {DISTRIBUTION_HELP}")
    ((kind, args),) = value.items()
    if kind == "fixed":
        return Distribution.fixed(as_duration(args))
    if kind == "uniform":
        if not isinstance(args, list) or len(args) != 2:
            raise Invalid(f"uniform takes [low, high], e.g. {{uniform: [10s, 2m]}}, not {type_name(args)}")
        low, high = as_duration(args[0]), as_duration(args[1])
        if low > high:
            raise Invalid(f"uniform needs low <= high, got [{shown(args[0])}, {shown(args[1])}]")
        return Distribution(kind="uniform", low=low, high=high)
    if kind == "lognormal":
        if not isinstance(args, Mapping) or "median" not in args:
            raise Invalid("lognormal takes {median: 4m, sigma: 0.5, cap: 20m} (median required; sigma 0.5 by default)")
        unknown = sorted(set(args) - {"median", "sigma", "cap"})
        if unknown:
            raise Invalid(f"lognormal takes median, sigma and cap, not {', '.join(map(shown_name, unknown))}")
        median = as_duration(args["median"])
        sigma = as_float(0.0, 5.0)(args.get("sigma", 0.5))
        cap = None if args.get("cap") is None else as_duration(args["cap"])
        return Distribution(kind="lognormal", median=median, sigma=sigma, cap=cap)
    close = difflib.get_close_matches(str(kind), ["fixed", "uniform", "lognormal"], n=1, cutoff=0.5)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    raise Invalid(f"unknown distribution {shown(kind)}{hint}; {DISTRIBUTION_HELP}")


def describe_distribution(dist: Distribution) -> Any:
    """The distribution back in scenario-file form (for ``scenario show`` and the control API)."""
    if dist.kind == "fixed":
        return f"{dist.value:g}s"
    if dist.kind == "uniform":
        return {"uniform": [f"{dist.low:g}s", f"{dist.high:g}s"]}
    shape: dict[str, Any] = {"median": f"{dist.median:g}s", "sigma": dist.sigma}
    if dist.cap is not None:
        shape["cap"] = f"{dist.cap:g}s"
    return {"lognormal": shape}
