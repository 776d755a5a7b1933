"""A small typed client for the ``/__sim/`` control API, on httpx.

The ``druid-sim`` control subcommands and the pytest plugin use it; tests and scripts can too::

    with SimControl("http://127.0.0.1:8888") as sim:
        sim.freeze()
        sim.advance("5m")
        sim.add_fault({"kind": "error", "status": 503, "when": {"first": 2}})
        assert sim.count(method="POST", path="/druid/indexer/v1/task") == 1

Every failed call raises :class:`SimControlError` carrying the server's message (which says how to
fix the call), or a message saying the server cannot be reached.
"""

from __future__ import annotations

import functools
import os
from types import TracebackType
from typing import TYPE_CHECKING, Any, NamedTuple, NotRequired, TypedDict

if TYPE_CHECKING:
    import ssl

    import httpx

#: Where ``druid-sim serve`` listens by default (the Druid Router's quickstart port).
DEFAULT_URL = "http://127.0.0.1:8888"
#: Environment variables the client reads when no URL or token is given.
URL_ENV = "DRUID_SIM_URL"
TOKEN_ENV = "DRUID_SIM_CONTROL_TOKEN"


class JournalEntry(TypedDict):
    """One journaled Druid request, as ``GET /__sim/journal`` returns it."""

    seq: int
    time: str
    timeMillis: int
    method: str
    path: str
    query: str
    status: int | None
    answeredBy: str | None
    fault: str | None
    user: str | None


class Clock(TypedDict):
    now: str
    nowMillis: int
    scale: float
    frozen: bool
    startMillis: int
    #: After a reset or a load: where the clock stood before it went back to its start.
    rewoundFrom: NotRequired[str]


class Exported(NamedTuple):
    """A journal exported as a cassette: its bytes, how many exchanges, what was left out (``reason=count, ...``)."""

    cassette: bytes
    exported: int
    skipped: str


class SimControlError(Exception):
    """A control call that failed: the HTTP status (0 when unreachable) and the server's message."""

    def __init__(self, status: int, message: str, problems: list[dict[str, Any]] | None = None) -> None:
        super().__init__(f"{message} (HTTP {status})" if status else message)
        self.status = status
        self.message = message
        self.problems = problems or []


@functools.cache
def tls_context() -> ssl.SSLContext:
    """One TLS context (system CAs, verification on) for every httpx client druid-sim makes.

    httpx builds a context per client when given none, and loading the CA bundle is what costs:
    about 100 ms on a busy 2-vCPU machine, twice per test for the pytest fixture's two clients,
    although they only ever talk plain HTTP to loopback. A context is safe to share.
    """
    import httpx

    return httpx.create_ssl_context()


class SimControl:
    """The control API of one druid-sim server."""

    def __init__(self, url: str | None = None, token: str | None = None, timeout: float = 10.0) -> None:
        self.url = (url or os.environ.get(URL_ENV) or DEFAULT_URL).rstrip("/")
        token = token if token is not None else os.environ.get(TOKEN_ENV)
        headers = {"authorization": f"Bearer {token}"} if token else {}
        import httpx  # here, not at module level: `druid-sim serve` imports this module for its CLI only

        self._http: httpx.Client = httpx.Client(
            base_url=self.url, headers=headers, timeout=timeout, verify=tls_context()
        )

    # -- plumbing --------------------------------------------------------------------------------

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> SimControl:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()

    def _call(self, method: str, path: str, *, json: Any = None, params: dict[str, Any] | None = None) -> Any:
        import httpx

        query = {key: value for key, value in (params or {}).items() if value is not None}
        # Changes must say they are JSON even without a body: the server refuses anything a web page could send.
        headers = {"content-type": "application/json"} if method != "GET" and json is None else None
        try:
            response = self._http.request(method, "/__sim" + path, json=json, params=query, headers=headers)
        except httpx.TransportError as exc:
            raise SimControlError(
                0, f"cannot reach druid-sim at {self.url} ({exc}); is 'druid-sim serve' running there? (--url)"
            ) from None
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.is_success and body is not None:
            return body
        if isinstance(body, dict) and "message" in body:
            raise SimControlError(response.status_code, str(body["message"]), body.get("problems"))
        raise SimControlError(
            response.status_code, f"{self.url} did not answer as druid-sim does: {response.text[:200]!r}"
        )

    # -- health and reset ------------------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", "/health")
        return result

    def reset(self) -> Clock:
        """Back to the scenario's start: tasks, clock, faults, replay cursors, journal."""
        result: Clock = self._call("POST", "/reset")["clock"]
        return result

    # -- clock -----------------------------------------------------------------------------------

    def clock(self) -> Clock:
        result: Clock = self._call("GET", "/clock")
        return result

    def _clock(self, **change: Any) -> Clock:
        result: Clock = self._call("POST", "/clock", json=change)
        return result

    def advance(self, duration: str | float) -> Clock:
        """Move virtual time forward: seconds, or ``"250ms"``, ``"5m"``, ``"2h"``."""
        return self._clock(advance=duration)

    def advance_to(self, instant: str) -> Clock:
        """Move virtual time forward to an ISO-8601 instant."""
        return self._clock(to=instant)

    def freeze(self) -> Clock:
        return self._clock(freeze=True)

    def set_scale(self, scale: float) -> Clock:
        """Virtual seconds per real second from now on (0 freezes)."""
        return self._clock(scale=scale)

    # -- faults ----------------------------------------------------------------------------------

    def faults(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._call("GET", "/faults")["faults"]
        return result

    def add_fault(self, spec: dict[str, Any] | list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Add one fault or several (all or nothing), in the scenario-file shape; returns them as stored."""
        result: list[dict[str, Any]] = self._call("POST", "/faults", json=spec)["added"]
        return result

    def remove_fault(self, name: str) -> None:
        self._call("DELETE", f"/faults/{name}")

    def clear_faults(self) -> int:
        result: int = self._call("DELETE", "/faults")["cleared"]
        return result

    # -- journal ---------------------------------------------------------------------------------

    @staticmethod
    def _filters(
        method: str | None,
        path: str | None,
        status: int | None,
        answered_by: str | None,
        fault: str | None,
        since: int | None,
        user: str | None = None,
    ) -> dict[str, Any]:
        return {
            "method": method,
            "path": path,
            "status": status,
            "answeredBy": answered_by,
            "fault": fault,
            "user": user,
            "since": since,
        }

    def journal(
        self,
        method: str | None = None,
        path: str | None = None,
        *,
        status: int | None = None,
        answered_by: str | None = None,
        fault: str | None = None,
        user: str | None = None,
        since: int | None = None,
        limit: int | None = None,
    ) -> list[JournalEntry]:
        """Journaled Druid requests, oldest first; ``path`` is a glob (``*`` also crosses ``/``)."""
        params = self._filters(method, path, status, answered_by, fault, since, user)
        result: list[JournalEntry] = self._call("GET", "/journal", params={**params, "limit": limit})["entries"]
        return result

    def count(
        self,
        method: str | None = None,
        path: str | None = None,
        *,
        status: int | None = None,
        answered_by: str | None = None,
        fault: str | None = None,
        user: str | None = None,
        since: int | None = None,
    ) -> int:
        """How many journaled requests match."""
        params = self._filters(method, path, status, answered_by, fault, since, user)
        result: int = self._call("GET", "/journal/count", params=params)["count"]
        return result

    def count_by(self, group: str, method: str | None = None, path: str | None = None) -> dict[str, int]:
        """Matching requests counted per ``method``, ``path``, ``status``, ``answeredBy``, ``fault`` or ``user``."""
        params = {"method": method, "path": path, "groupBy": group}
        result: dict[str, int] = self._call("GET", "/journal/count", params=params)["groups"]
        return result

    def journal_cassette(
        self,
        method: str | None = None,
        path: str | None = None,
        *,
        status: int | None = None,
        answered_by: str | None = None,
        user: str | None = None,
        since: int | None = None,
    ) -> Exported:
        """The journal's exchanges as a cassette (``GET /__sim/journal/cassette``), redacted as a recording is."""
        import httpx

        filters = self._filters(method, path, status, answered_by, None, since, user)
        params = {key: value for key, value in filters.items() if value is not None}
        try:
            response = self._http.get("/__sim/journal/cassette", params=params)
        except httpx.TransportError as exc:
            raise SimControlError(
                0, f"cannot reach druid-sim at {self.url} ({exc}); is 'druid-sim serve' running there?"
            ) from None
        if not response.is_success:
            try:
                message = str(response.json()["message"])
            except (ValueError, KeyError, TypeError):
                message = f"{self.url} did not answer as druid-sim does: {response.text[:200]!r}"
            raise SimControlError(response.status_code, message)
        return Exported(
            response.content,
            int(response.headers.get("x-druid-sim-exported", "0")),
            response.headers.get("x-druid-sim-skipped", "none"),
        )

    def clear_journal(self) -> int:
        result: int = self._call("DELETE", "/journal")["cleared"]
        return result

    # -- scenario and cassette -------------------------------------------------------------------

    def scenario(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", "/scenario")
        return result

    def load_scenario(self, scenario: str) -> dict[str, Any]:
        """Load a built-in scenario by name, or a scenario file (a path on the server's machine)."""
        result: dict[str, Any] = self._call("POST", "/scenario", json={"scenario": scenario})
        return result

    def cassette(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", "/cassette")
        return result

    def load_cassette(self, cassette: str) -> dict[str, Any]:
        """Replay another cassette (a path on the server's machine)."""
        result: dict[str, Any] = self._call("POST", "/cassette", json={"cassette": cassette})
        return result

    def unused(self) -> list[dict[str, Any]]:
        """Recorded interactions not played yet (or played fewer times than recorded)."""
        result: list[dict[str, Any]] = self._call("GET", "/cassette/unused")["unused"]
        return result
