"""What a fault is: its kind, the requests it targets, when it triggers, and its parameters.

One :class:`Fault` is built from the same dict shape wherever it comes from: a scenario file's
``faults:`` list, a timeline event, or a fault posted to the control API. :func:`parse_fault` reads
that shape and reports every mistake with the field it concerns (and the line, from a file).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from druid_sim.fields import (
    Context,
    Invalid,
    ScenarioError,
    Section,
    as_choice,
    as_distribution,
    as_duration,
    as_float,
    as_int,
    as_probability,
    as_str,
    as_str_list,
    describe_distribution,
)
from druid_sim.overlord.behaviour import Distribution
from druid_sim.util.quoting import shown
from druid_sim.util.regex import Regex, RegexRefused, glob

#: Every fault kind, and what it does to a request it fires on.
KINDS: dict[str, str] = {
    "latency": "wait (virtual time) before answering normally",
    "error": "answer an HTTP error with Druid's own body for that case",
    "reset": "reset the TCP connection (RST) without answering",
    "empty": "close the connection without answering",
    "truncate": "announce the full Content-Length, send part of the body, close",
    "slow_body": "send the body a little at a time (virtual time)",
    "hang": "never answer; wait until the client gives up",
    "redirect": "answer as a non-leader Overlord: 307 to the leader",
    "no_leader": "answer as if no Overlord leader is known: 503",
    "queue_full": "reject task submissions: 429 CAPACITY_EXCEEDED",
    "unauthorized": "answer as a secured cluster refusing the credentials: 401",
    "forbidden": "answer as a secured cluster denying the permission: 403",
}
#: What an ``unauthorized`` fault answers: Druid's 401 without usable credentials, or a refused login.
UNAUTHORIZED_ANSWERS = ("challenge", "rejected")
#: What a ``forbidden`` fault answers: the ``ForbiddenException`` JSON, or ``GET /tasks?datasource=``'s text.
FORBIDDEN_ANSWERS = ("json", "text")
#: Paths a secured Druid never authenticates (``CliOverlord.UNSECURED_PATHS``): no 401 or 403 there.
_UNSECURED = ("/druid/indexer/v1/isLeader", "/status/health")
#: Error bodies an ``error`` fault can answer with (reference section 7).
BODIES = ("jetty", "legacy", "druid", "text", "router")
METHODS = ("GET", "POST", "DELETE", "PUT", "HEAD", "OPTIONS", "PATCH")
_CATEGORIES = {
    400: "INVALID_INPUT",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    409: "CONFLICT",
    429: "CAPACITY_EXCEEDED",
    500: "RUNTIME_FAILURE",
    501: "UNSUPPORTED",
    503: "SERVICE_UNAVAILABLE",
    504: "TIMEOUT",
}
#: The submission endpoint, which ``queue_full`` targets unless told otherwise.
SUBMIT_ROUTE = "^/druid/indexer/v1/task/?$"
_ONE_SECOND = Distribution(kind="fixed", value=1.0)


@dataclass(frozen=True, slots=True)
class Trigger:
    """When a fault fires on a request it targets. Every condition given must hold.

    The time window is checked first, in virtual seconds since the clock's start; the request
    counters (``nth``, ``first``, ``every``) count targeted requests inside the window, from 1.
    """

    nth: int | None = None
    first: int | None = None
    every: int | None = None
    probability: float | None = None
    after: float | None = None  # seconds since the clock started
    until: float | None = None
    seed: int = 0

    def in_window(self, elapsed_s: float) -> bool:
        if self.after is not None and elapsed_s < self.after:
            return False
        return self.until is None or elapsed_s < self.until

    def counts_fire(self, count: int) -> bool:
        if self.nth is not None and count != self.nth:
            return False
        if self.first is not None and count > self.first:
            return False
        return self.every is None or count % self.every == 0

    def as_json(self) -> dict[str, Any]:
        shape: dict[str, Any] = {}
        for key in ("nth", "first", "every", "probability"):
            value = getattr(self, key)
            if value is not None:
                shape[key] = value
        if self.after is not None or self.until is not None:
            shape["between"] = [f"{self.after or 0:g}s", None if self.until is None else f"{self.until:g}s"]
        if self.seed:
            shape["seed"] = self.seed
        return shape


@dataclass(frozen=True, slots=True)
class Route:
    """A path glob (``/druid/indexer/v1/task/*/status``) or, starting with ``^``, a regular expression."""

    text: str
    pattern: Regex  # RE2: a client's path never makes it backtrack

    @classmethod
    def parse(cls, text: str) -> Route:
        try:
            return cls(text, Regex(text) if text.startswith("^") else glob(text))
        except RegexRefused as exc:
            raise Invalid(str(exc)) from None

    def matches(self, path: str) -> bool:
        return self.pattern.match(path) is not None


@dataclass(frozen=True, slots=True)
class Fault:
    """One fault. Kind-specific parameters are ignored by the other kinds."""

    name: str
    kind: str
    routes: tuple[Route, ...] = ()  # empty: every Druid route
    methods: tuple[str, ...] = ()  # empty: every method
    trigger: Trigger = field(default_factory=Trigger)
    delay: Distribution = _ONE_SECOND  # latency
    status: int = 500  # error
    body: str = "jetty"  # error
    message: str | None = None  # error
    error_code: str = "general"  # error, body druid
    persona: str = "OPERATOR"
    category: str | None = None
    exception: str | None = None  # error, body jetty: the "Caused by" shown on the page
    to: str = "http://localhost:8090"  # redirect: the leader's base URL
    answer: str = (
        "router"  # no_leader: Router or Overlord; unauthorized: challenge or rejected; forbidden: json or text
    )
    user: str | None = None  # unauthorized, answer rejected: the user whose password was wrong
    max_size: int = 100  # queue_full: the druid.indexer.queue.maxSize in the message
    keep: float = 0.5  # truncate: fraction of the body sent before closing
    rate: float = 1024.0  # slow_body: bytes per virtual second
    chunk: int = 256  # slow_body: bytes per write
    source: str = "api"  # where it came from: "scenario", "timeline" or "api"

    def targets(self, method: str, path: str) -> bool:
        if self.methods and method not in self.methods:
            return False
        if self.kind in ("redirect", "no_leader") and (path == "/status" or path.startswith("/status/")):
            return False  # served locally by every Overlord, and by the Router itself (reference 8)
        if self.kind in ("unauthorized", "forbidden") and path in _UNSECURED:
            return False  # never authenticated nor authorized by Druid (docs/security.md section 2)
        return not self.routes or any(route.matches(path) for route in self.routes)

    def druid_category(self) -> str:
        return self.category or _CATEGORIES.get(self.status, "UNCATEGORIZED")

    def as_json(self) -> dict[str, Any]:
        """The fault in the shape :func:`parse_fault` reads (for listing and ``scenario show``)."""
        shape: dict[str, Any] = {"name": self.name, "kind": self.kind}
        if self.routes:
            shape["routes"] = [route.text for route in self.routes]
        if self.methods:
            shape["methods"] = list(self.methods)
        trigger = self.trigger.as_json()
        if trigger:
            shape["when"] = trigger
        if self.kind == "latency":
            shape["delay"] = describe_distribution(self.delay)
        elif self.kind == "error":
            shape.update(status=self.status, body=self.body)
            if self.message is not None:
                shape["message"] = self.message
            if self.body == "druid":
                shape.update(error_code=self.error_code, persona=self.persona, category=self.druid_category())
            if self.exception is not None:
                shape["exception"] = self.exception
        elif self.kind == "redirect":
            shape["to"] = self.to
        elif self.kind in ("no_leader", "forbidden"):
            shape["answer"] = self.answer
        elif self.kind == "unauthorized":
            shape["answer"] = self.answer
            if self.user is not None:
                shape["user"] = self.user
        elif self.kind == "queue_full":
            shape["max_size"] = self.max_size
        elif self.kind == "truncate":
            shape["keep"] = self.keep
        elif self.kind == "slow_body":
            shape.update(rate=self.rate, chunk=self.chunk)
        shape["source"] = self.source
        return shape


def _as_methods(value: Any) -> tuple[str, ...]:
    methods = tuple(method.upper() for method in as_str_list(value))
    for method in methods:
        if method not in METHODS:
            raise Invalid(f"unknown HTTP method {shown(method)}; use {', '.join(METHODS)}")
    return methods


def _as_routes(value: Any) -> tuple[Route, ...]:
    routes = as_str_list(value)
    for route in routes:
        if not route.startswith(("/", "^", "*")):
            raise Invalid(f"a route is a path glob starting with / (or a regex starting with ^), not {shown(route)}")
    return tuple(Route.parse(route) for route in routes)


def as_base_url(value: Any) -> str:
    url = as_str(value).rstrip("/")
    if not re.match(r"^https?://[^/\s]+$", url):
        raise Invalid(
            f"must be a base URL such as http://overlord-2:8090 (scheme, host, port; no path), not {shown(value)}"
        )
    return url


def _as_window(value: Any) -> tuple[float, float | None]:
    if not isinstance(value, list) or len(value) != 2:
        raise Invalid("takes [start, end] in virtual time since the start, e.g. [30s, 90s] (end may be null)")
    start = as_duration(value[0])
    end = None if value[1] is None else as_duration(value[1])
    if end is not None and end <= start:
        raise Invalid(f"the window must end after it starts: [{shown(value[0])}, {shown(value[1])}]")
    return start, end


def read_trigger(section: Section | None) -> Trigger:
    if section is None:
        return Trigger()
    nth = section.take("nth", as_int(1), None)
    first = section.take("first", as_int(1), None)
    every = section.take("every", as_int(1), None)
    probability = section.take("probability", as_probability, None)
    after: float | None = section.take("after", as_duration, None)
    until: float | None = section.take("until", as_duration, None)
    if section.has("between"):
        after, until = section.take("between", _as_window, (after, until))
    seed = section.take("seed", as_int(), 0)
    section.finish()
    return Trigger(nth, first, every, probability, after, until, seed)


def read_fault(section: Section, default_name: str, source: str) -> Fault | None:
    """A fault from its mapping; None (with problems recorded) when it cannot be built."""
    kind = section.take("kind", as_choice(*KINDS), "", required=True)
    name = section.take("name", as_str, default_name)
    no_methods: tuple[str, ...] = ()
    methods = section.take("methods", _as_methods, no_methods)
    default_routes: tuple[Route, ...] = (Route.parse(SUBMIT_ROUTE),) if kind == "queue_full" else ()
    routes = section.take("routes", _as_routes, default_routes)
    if kind == "queue_full" and not methods:
        methods = ("POST",)
    trigger = read_trigger(section.section("when"))
    params: dict[str, Any] = {}
    if kind == "latency":
        params["delay"] = section.take("delay", as_distribution, Distribution.fixed(1.0), required=True)
    elif kind == "error":
        status = section.take("status", as_int(400, 599), 500)
        params["status"] = status
        params["body"] = section.take("body", as_choice(*BODIES), "jetty")
        params["message"] = section.take("message", as_str, None)
        params["error_code"] = section.take("error_code", as_str, "general")
        params["persona"] = section.take("persona", as_choice("USER", "ADMIN", "OPERATOR", "DEVELOPER"), "OPERATOR")
        params["category"] = section.take("category", as_str, None)
        params["exception"] = section.take("exception", as_str, None)
    elif kind == "redirect":
        params["to"] = section.take("to", as_base_url, "http://localhost:8090", required=True)
    elif kind == "no_leader":
        params["answer"] = section.take("answer", as_choice("router", "overlord"), "router")
    elif kind == "unauthorized":
        params["answer"] = section.take("answer", as_choice(*UNAUTHORIZED_ANSWERS), "challenge")
        params["user"] = section.take("user", as_str, None)
    elif kind == "forbidden":
        params["answer"] = section.take("answer", as_choice(*FORBIDDEN_ANSWERS), "json")
    elif kind == "queue_full":
        params["max_size"] = section.take("max_size", as_int(0), 100)
    elif kind == "truncate":
        params["keep"] = section.take("keep", as_float(0.0, 0.99), 0.5)
    elif kind == "slow_body":
        params["rate"] = section.take("rate", as_float(1.0), 1024.0)
        params["chunk"] = section.take("chunk", as_int(1), 256)
    section.take("source", as_str, source)  # accepted back from as_json(), not trusted
    section.finish()
    if not kind:
        return None
    return Fault(name=name, kind=kind, routes=routes, methods=methods, trigger=trigger, source=source, **params)


def parse_fault(spec: Mapping[str, Any], default_name: str = "fault", source: str = "api") -> Fault:
    """A fault from a dict (the control API's JSON); :class:`ScenarioError` lists what is wrong."""
    ctx = Context("fault")
    if not isinstance(spec, Mapping):
        ctx.report(None, "", 'a fault is a JSON object such as {"kind": "latency", "delay": "2s"}')
        ctx.raise_if_any()
    fault = read_fault(Section(ctx, spec), default_name, source)
    ctx.raise_if_any()
    if fault is None:  # pragma: no cover - a missing kind is always reported
        raise ScenarioError("fault", [])
    return fault
