"""A small Druid ingestion client: submit a task, wait for it, shut it down if it takes too long.

The kind of code druid-sim exists to test. It talks to the Overlord (or a Router) Tasks API:

* ``POST /druid/indexer/v1/task`` to submit, ``GET /druid/indexer/v1/task/{id}/status`` to poll,
  ``POST /druid/indexer/v1/task/{id}/shutdown`` when the wait times out;
* every call is retried on 5xx answers and connection errors, with exponential backoff;
* a 307 from a non-leader Overlord is followed (method and body kept) and the leader is remembered;
* on a secured cluster it logs in with HTTP Basic credentials (``auth``), and a 401 or 403 stops it
  at once with Druid's reason (:class:`NotAuthenticated`, :class:`NotAuthorized`): retrying cannot
  fix credentials, and a client that retries them can lock an account or flood the logs.

Time is injectable (``sleep`` and ``clock``) so a test can drive it with druid-sim's virtual clock
and never really wait.

    client = IngestClient("http://localhost:8888", auth=("etl", "secret"))
    status = client.run(spec, timeout=3600)   # the final TaskStatusPlus, or TaskFailed / TaskTimedOut
"""

from __future__ import annotations

import html
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

API = "/druid/indexer/v1"


class IngestError(Exception):
    """Anything that stops an ingestion."""


class DruidUnavailable(IngestError):
    """Druid kept answering 5xx (or could not be reached) after every retry."""


class NotAuthenticated(IngestError):
    """Druid answered 401: no credentials, or credentials it refused. Retrying cannot help."""


class NotAuthorized(IngestError):
    """Druid answered 403: the user may not do this (e.g. no WRITE permission on the datasource)."""


_JETTY_MESSAGE = re.compile(r"<tr><th>MESSAGE:</th><td>(.*?)</td></tr>")


def druid_reason(response: httpx.Response) -> str:
    """What Druid says went wrong, from any of its error shapes: JSON, a Jetty page, or plain text."""
    try:
        body = response.json()
    except ValueError:
        found = _JETTY_MESSAGE.search(response.text)
        return html.unescape(found.group(1)) if found else response.text.strip()[:200]
    if isinstance(body, dict):
        for key in ("errorMessage", "error", "Access-Check-Result"):
            if body.get(key):
                return str(body[key])
    return str(body)[:200]


class TaskFailed(IngestError):
    def __init__(self, task_id: str, status: dict[str, Any]) -> None:
        super().__init__(f"task {task_id} failed: {status.get('errorMsg')}")
        self.task_id = task_id
        self.status = status


class TaskTimedOut(IngestError):
    def __init__(self, task_id: str, waited: float) -> None:
        super().__init__(f"task {task_id} did not finish within {waited:g}s; it was shut down")
        self.task_id = task_id


@dataclass
class IngestClient:
    url: str
    retries: int = 4  # extra attempts per call on 5xx or connection errors
    backoff: float = 0.5  # seconds before the first retry, doubling each time
    poll_interval: float = 5.0
    max_redirects: int = 3
    sleep: Callable[[float], Any] = time.sleep
    clock: Callable[[], float] = time.monotonic
    http: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=10))
    auth: tuple[str, str] | None = None  # (user, password) for a cluster with basic security

    def __post_init__(self) -> None:
        self.url = self.url.rstrip("/")
        if self.auth is not None:
            self.http.auth = self.auth

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> IngestClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- one call, made robust ---------------------------------------------------------------------

    def _call(self, method: str, path: str, body: Any = None) -> httpx.Response:
        delay = self.backoff
        redirects = 0
        attempt = 0
        while True:
            try:
                response = self.http.request(method, self.url + path, json=body)
            except httpx.TransportError as exc:
                problem = f"{type(exc).__name__}: {exc}"
            else:
                if response.status_code == 307 and "location" in response.headers:
                    redirects += 1
                    if redirects > self.max_redirects:
                        raise IngestError(f"more than {self.max_redirects} leader redirects for {method} {path}")
                    leader = urlsplit(response.headers["location"])
                    self.url = f"{leader.scheme}://{leader.netloc}"  # talk to the leader from now on
                    continue
                if response.status_code in (401, 403):
                    raise self._access_error(method, path, response)
                if response.status_code < 500:
                    return response
                problem = f"HTTP {response.status_code}"
            attempt += 1
            if attempt > self.retries:
                raise DruidUnavailable(f"{method} {path} failed {attempt} times; last: {problem}")
            self.sleep(delay)
            delay *= 2

    def _access_error(self, method: str, path: str, response: httpx.Response) -> IngestError:
        user = f"user {self.auth[0]!r}" if self.auth else "no credentials"
        reason = druid_reason(response)
        if response.status_code == 401:
            return NotAuthenticated(
                f"{method} {path}: Druid did not accept {user} (401: {reason}); check the credentials"
            )
        return NotAuthorized(f"{method} {path}: {user} lacks the permission for this (403: {reason})")

    # -- the Tasks API -----------------------------------------------------------------------------

    def submit(self, spec: dict[str, Any]) -> str:
        response = self._call("POST", f"{API}/task", spec)
        if response.status_code != 200:
            raise IngestError(f"Druid refused the task ({response.status_code}): {response.text}")
        return str(response.json()["task"])

    def status(self, task_id: str) -> dict[str, Any]:
        response = self._call("GET", f"{API}/task/{quote(task_id, safe='')}/status")
        if response.status_code != 200:
            raise IngestError(f"cannot read the status of {task_id} ({response.status_code}): {response.text}")
        status: dict[str, Any] = response.json()["status"]
        return status

    def shutdown(self, task_id: str) -> None:
        self._call("POST", f"{API}/task/{quote(task_id, safe='')}/shutdown", {})

    def wait(self, task_id: str, timeout: float) -> dict[str, Any]:
        """Poll until the task completes; shut it down and raise :class:`TaskTimedOut` after ``timeout``."""
        deadline = self.clock() + timeout
        while True:
            status = self.status(task_id)
            if status["status"] == "SUCCESS":
                return status
            if status["status"] == "FAILED":
                raise TaskFailed(task_id, status)
            if self.clock() >= deadline:
                self.shutdown(task_id)
                raise TaskTimedOut(task_id, timeout)
            self.sleep(self.poll_interval)

    def run(self, spec: dict[str, Any], timeout: float = 3600.0) -> dict[str, Any]:
        """Submit ``spec`` and wait for it: the final status, or TaskFailed / TaskTimedOut / DruidUnavailable."""
        return self.wait(self.submit(spec), timeout)
