"""One small function per matcher, in the style of VCR.py's ``matchers.py``.

Each matcher compares one part of a live request with a recorded one and returns the differences it
found (an empty list means that part matches), so a miss can be explained part by part: which method,
which path, which query key, which header, which JSON body field (by JSON pointer).

Both sides are redacted by then (the cassette's requests when recorded, the live one by the replay with
the cassette's own redactor), so a difference in a credential is between two placeholders: it is
reported as "a different secret", and no value is ever shown in clear.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from druid_sim.replay.normalize import Normalized
from druid_sim.replay.options import CREDENTIAL_HEADERS

#: How many body fields one explanation lists before saying "and N more".
MAX_BODY_FIELDS = 5
_PLACEHOLDER = "<redacted:"
#: What an explanation says about two different secrets.
DIFFERENT_SECRET = "a different secret than recorded (placeholders shown, never the values)"


@dataclass(frozen=True, slots=True)
class Difference:
    """One way a recorded request differs from the live one."""

    part: str  # method | path | query | header | body
    name: str | None  # query key, header name or JSON pointer
    recorded: Any
    received: Any

    @property
    def secret(self) -> bool:
        """True when both sides hold a redaction placeholder: the client sent another credential."""
        return _has_placeholder(self.recorded) and _has_placeholder(self.received)

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"part": self.part}
        if self.name is not None:
            out["name"] = self.name
        out["recorded"] = self.recorded
        out["received"] = self.received
        if self.secret:
            out["secret"] = DIFFERENT_SECRET
        return out

    def describe(self) -> str:
        where = f"{self.part} {self.name}" if self.name is not None else self.part
        if self.secret:
            return f"{where}: {DIFFERENT_SECRET}"
        return f"{where}: recorded {_short(self.recorded)}, received {_short(self.received)}"


def _has_placeholder(value: Any) -> bool:
    return isinstance(value, str) and _PLACEHOLDER in value


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def method(live: Normalized, recorded: Normalized) -> list[Difference]:
    if live.method == recorded.method:
        return []
    return [Difference("method", None, recorded.method, live.method)]


def path(live: Normalized, recorded: Normalized) -> list[Difference]:
    if live.path == recorded.path:
        return []
    return [Difference("path", None, recorded.path, live.path)]


def query(live: Normalized, recorded: Normalized) -> list[Difference]:
    if live.query == recorded.query:
        return []
    ours, theirs = Counter(live.query), Counter(recorded.query)
    keys = sorted({k for k, _ in (ours - theirs).elements()} | {k for k, _ in (theirs - ours).elements()})
    out = []
    for key in keys:
        got = [v for k, v in live.query if k == key]
        had = [v for k, v in recorded.query if k == key]
        out.append(Difference("query", key, _one(had), _one(got)))
    return out


def _one(values: list[str]) -> str | list[str] | None:
    if not values:
        return None
    return values[0] if len(values) == 1 else values


def headers(live: Normalized, recorded: Normalized) -> list[Difference]:
    if live.headers == recorded.headers:
        return []
    ours, theirs = dict(live.headers), dict(recorded.headers)
    return [
        Difference("header", name, theirs.get(name), ours.get(name))
        for name in sorted(set(ours) | set(theirs))
        if ours.get(name) != theirs.get(name) and not (name in CREDENTIAL_HEADERS and name not in theirs)
    ]


def body(live: Normalized, recorded: Normalized) -> list[Difference]:
    if live.body == recorded.body:
        return []
    if live.is_json and recorded.is_json:
        found: list[Difference] = []
        _diff_json(recorded.body_json, live.body_json, "", found)
        if len(found) > MAX_BODY_FIELDS:
            extra = len(found) - MAX_BODY_FIELDS
            found = [*found[:MAX_BODY_FIELDS], Difference("body", "…", f"{extra} more fields differ", None)]
        return found or [Difference("body", "", "(ignored fields only)", None)]
    return [Difference("body", None, _text(recorded.body), _text(live.body))]


def _text(data: bytes) -> str:
    text = data[:200].decode("utf-8", "replace")
    return text + ("…" if len(data) > 200 else "")


def _escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def _diff_json(recorded: Any, received: Any, pointer: str, out: list[Difference]) -> None:
    """Collect the JSON pointers where two documents differ (missing on one side = None)."""
    if len(out) > MAX_BODY_FIELDS:
        return
    if isinstance(recorded, dict) and isinstance(received, dict):
        for key in list(recorded) + [k for k in received if k not in recorded]:
            where = f"{pointer}/{_escape(str(key))}"
            if key not in received:
                out.append(Difference("body", where, recorded[key], None))
            elif key not in recorded:
                out.append(Difference("body", where, None, received[key]))
            else:
                _diff_json(recorded[key], received[key], where, out)
        return
    if isinstance(recorded, list) and isinstance(received, list) and len(recorded) == len(received):
        for index, (a, b) in enumerate(zip(recorded, received, strict=True)):
            _diff_json(a, b, f"{pointer}/{index}", out)
        return
    if recorded != received or type(recorded) is not type(received):
        out.append(Difference("body", pointer or "/", recorded, received))


Matcher = Callable[[Normalized, Normalized], list[Difference]]

#: Every matcher, in the order a person reads a request; weights rank near misses.
MATCHERS: tuple[tuple[Matcher, int], ...] = ((method, 8), (path, 8), (query, 2), (headers, 2), (body, 1))


def explain(live: Normalized, recorded: Normalized) -> tuple[list[Difference], int]:
    """Every difference between a live and a recorded request, and a distance (0 = identical)."""
    found: list[Difference] = []
    distance = 0
    for matcher, weight in MATCHERS:
        differences = matcher(live, recorded)
        found.extend(differences)
        distance += weight * len(differences)
    return found, distance
