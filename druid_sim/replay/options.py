"""What a replay can be told: sequence policy, what to do on a miss, latency, and what to ignore.

Each choice is a ``StrEnum`` (the CLI's spelling is the value) and ``MatchRules`` says which parts of a
request take part in matching. ``--ignore KIND:NAME`` options are parsed here so the CLI, the test
fixtures and the control API share one parser and one error message.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TypeVar


class SequencePolicy(enum.StrEnum):
    """What identical requests recorded several times replay once their recorded run is played.

    ``stick-last`` keeps answering with the last response (a poll that saw SUCCESS keeps seeing it);
    ``cycle`` starts again from the first; ``exhaust`` treats further requests as misses.
    """

    STICK_LAST = "stick-last"
    CYCLE = "cycle"
    EXHAUST = "exhaust"


class MissMode(enum.StrEnum):
    """Who answers a request the cassette has no (more) answer for."""

    ERROR = "error"  # a 599 problem+json naming the nearest recorded requests (the default: VCR.py's none)
    SIMULATE = "simulate"  # the Overlord model, seeded with the tasks the cassette saw (hybrid, by name)
    #: The real cluster: ``serve --on-miss forward --upstream URL`` (spy mode; ``--record-new`` appends what
    #: it forwards), and the pytest plugin's recording tests (through its recorder, ``new_episodes``).
    FORWARD = "forward"


class LatencyMode(enum.StrEnum):
    """How long a replayed answer takes: at once, or the upstream's recorded time on the virtual clock."""

    NONE = "none"
    RECORDED = "recorded"


#: The request headers that change what the Overlord answers: Content-Type (415 on POST) and
#: Authorization (who is asking, on a secured cluster: compared by the cassette's placeholders, so the
#: same credentials match and others do not; ``--ignore header:authorization`` leaves them out).
DEFAULT_MATCH_HEADERS: tuple[str, ...] = ("content-type", "authorization")
#: Headers that only describe a body: they take no part in matching a request that has none.
BODY_HEADERS = frozenset({"content-type", "content-length", "content-encoding"})
#: Credentials: a request recorded without them (an unsecured cluster, a hand-written cassette) matches
#: whatever the client sends now; one recorded with them needs the same ones.
CREDENTIAL_HEADERS = frozenset({"authorization"})

_IGNORE_KINDS = ("query", "header", "body")
_E = TypeVar("_E", bound=enum.StrEnum)


class IgnoreSpecError(ValueError):
    """An ``--ignore`` value that cannot be understood."""


@dataclass(frozen=True, slots=True)
class MatchRules:
    """Which parts of a request are compared.

    Method, path and the query multiset always are, minus ``ignore_query`` keys. Of the headers, only
    ``match_headers`` minus ``ignore_headers`` are (names lower case), and of a request without a body
    not those that only describe one (`BODY_HEADERS`). JSON bodies are compared
    canonically (key order and whitespace do not matter) after removing ``ignore_body`` JSON pointers
    (RFC 6901; a ``*`` segment matches every key or index).
    """

    ignore_query: frozenset[str] = frozenset()
    ignore_headers: frozenset[str] = frozenset()
    ignore_body: tuple[str, ...] = ()
    match_headers: tuple[str, ...] = DEFAULT_MATCH_HEADERS

    headers: tuple[str, ...] = field(init=False)  # the header names that take part in matching
    bodiless_headers: tuple[str, ...] = field(init=False)  # the same, for a request without a body

    def __post_init__(self) -> None:
        names = tuple(name for name in self.match_headers if name not in self.ignore_headers)
        object.__setattr__(self, "headers", names)
        object.__setattr__(self, "bodiless_headers", tuple(name for name in names if name not in BODY_HEADERS))

    @classmethod
    def from_specs(cls, specs: Iterable[str], match_headers: Iterable[str] = DEFAULT_MATCH_HEADERS) -> MatchRules:
        """Build rules from ``query:KEY``, ``header:NAME`` and ``body:/json/pointer`` strings."""
        query: set[str] = set()
        headers: set[str] = set()
        body: list[str] = []
        for spec in specs:
            kind, sep, name = spec.partition(":")
            if not sep or kind not in _IGNORE_KINDS or not name:
                raise IgnoreSpecError(
                    f"cannot read ignore rule {spec!r}: use query:KEY, header:NAME or body:/json/pointer "
                    "(for example query:_, header:content-type, body:/context/priority)"
                )
            if kind == "query":
                query.add(name)
            elif kind == "header":
                headers.add(name.lower())
            else:
                if not name.startswith("/"):
                    raise IgnoreSpecError(f"body pointer {name!r} must start with '/' (RFC 6901), e.g. body:/context")
                body.append(name)
        return cls(frozenset(query), frozenset(headers), tuple(body), tuple(h.lower() for h in match_headers))


#: Requests a container health check or a readiness probe sends: a replay answers them from the model
#: when the cassette has no answer, whatever ``--on-miss`` says (a strict replay must still pass its probes).
PROBE_PATHS = frozenset(
    {
        "/status",
        "/status/health",
        "/status/selfDiscovered",
        "/status/selfDiscovered/status",
        "/druid/indexer/v1/isLeader",
    }
)


@dataclass(frozen=True, slots=True)
class MatchOptions:
    """How a cassette is matched and played: what the pytest marker and ``druid-sim serve`` share.

    ``ignore``: ``query:KEY``, ``header:NAME``, ``body:/json/pointer`` left out of matching (``--ignore``);
    ``match_on``: ``header:NAME`` headers that take part in matching besides Content-Type and
    Authorization (``--match-on``); ``sequence`` and ``latency`` as `SequencePolicy` and `LatencyMode`.
    `checked` refuses a bad value with the one message both the CLI and the marker show.
    """

    ignore: tuple[str, ...] = ()
    match_on: tuple[str, ...] = ()
    sequence: str = SequencePolicy.STICK_LAST.value
    latency: str = LatencyMode.NONE.value

    def rules(self) -> MatchRules:
        """The `MatchRules` these options give; raises `IgnoreSpecError` naming a bad value."""
        return MatchRules.from_specs(self.ignore, (*DEFAULT_MATCH_HEADERS, *match_on_headers(self.match_on)))

    def checked(self) -> MatchOptions:
        """These options, every value checked (raises `IgnoreSpecError` with the value, the choices and an example)."""
        self.rules()
        choice(SequencePolicy, self.sequence, "sequence")
        choice(LatencyMode, self.latency, "latency")
        return self


def match_on_headers(specs: Iterable[str]) -> tuple[str, ...]:
    """The header names of ``match_on`` specs (``header:X-Tenant``), lower case."""
    names: list[str] = []
    for spec in specs:
        kind, sep, name = spec.partition(":")
        if kind != "header" or not sep or not name.strip():
            raise IgnoreSpecError(
                f"cannot read match-on rule {spec!r}: use header:NAME (for example header:x-tenant); method, path, "
                "query and body always take part in matching"
            )
        names.append(name.strip().lower())
    return tuple(names)


def choice(kind: type[_E], value: str, option: str) -> _E:
    """``value`` as one of ``kind``'s members; raises `IgnoreSpecError` naming the option and the choices."""
    try:
        return kind(value)
    except ValueError:
        choices = ", ".join(member.value for member in kind)
        raise IgnoreSpecError(f"{option} {value!r} is not one of: {choices}") from None
