"""The replay backend as plain ASGI middleware: recorded answers for recorded requests, the rest to
the app it wraps (the Overlord model) or a 599 that explains the miss.

A hit sends the recorded status, headers and body bytes, prepared when the cassette loaded. ``GET`` and
``HEAD`` requests are remembered by their raw method, path, query and matched headers, so a client
polling the same URL is answered after one dictionary lookup, without reading an (empty) body or
normalising again (nor redacting: the remembered key holds the raw header values, so other credentials
are another key); once a sequence is *settled* (stick-last past its last recorded answer) its answer
is remembered too and the cursor is not consulted any more, until a reset.
"""

from __future__ import annotations

from dataclasses import replace

from druid_sim.actions import StoreUnavailable
from druid_sim.asgi import ASGIApp, Receive, Scope, Send, read_body, replaying
from druid_sim.clock import Clock
from druid_sim.express import ExpressRequest
from druid_sim.replay.answers import Answer
from druid_sim.replay.engine import PLACEHOLDER_START, Replay
from druid_sim.replay.index import Sequence
from druid_sim.replay.misses import MISS_STATUS, PROBLEM_JSON, log_miss, miss_problem
from druid_sim.replay.normalize import Normalized, normalize_live
from druid_sim.replay.options import PROBE_PATHS, LatencyMode, MissMode
from druid_sim.runtime import ANSWERED_BY
from druid_sim.wire import error_page

#: Bodiless requests remembered for the fast path before the memory is cleared.
FAST_PATH_SIZE = 4096
#: Requests remembered with their normalised (redacted) form, so a repeated one (a ``POST /taskStatus``
#: poll, a model-answered poll) is not redacted and normalised again; bodies up to NORMALIZED_BODY bytes.
NORMALIZED_SIZE = 256
NORMALIZED_BODY = 4096

_FastKey = tuple[str, bytes, bytes, tuple[bytes, ...]]
_BODILESS = frozenset({"GET", "HEAD"})


class ReplayApp:
    """ASGI middleware answering from a `Replay`; ``app`` (the model) answers misses in simulate mode."""

    def __init__(self, app: ASGIApp, replay: Replay, clock: Clock) -> None:
        self.app = app
        self.replay = replay
        self.clock = clock
        # The headers a bodiless request is matched on (Authorization): part of the remembered key.
        self._header_names = tuple(name.encode("latin-1") for name in replay.options.rules.bodiless_headers)
        # A live request's normalised form depends on these (Content-Type always: it says what the body is).
        every = dict.fromkeys(("content-type", *replay.options.rules.headers))
        self._all_header_names = tuple(name.encode("latin-1") for name in every)
        self._normalized: dict[tuple[_FastKey, bytes], Normalized] = {}
        self._fast: dict[_FastKey, Sequence] = {}
        self._settled: dict[_FastKey, Answer] = {}
        self._generation = replay.generation
        self._latency = replay.options.latency is LatencyMode.RECORDED
        self._simulate = replay.options.on_miss in (MissMode.SIMULATE, MissMode.FORWARD)  # the app inside answers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            await self._answer(scope, receive, send)
        except StoreUnavailable:  # shared cursors whose database does not answer: as an Overlord without its store
            scope[ANSWERED_BY] = "replay"
            path = (scope.get("raw_path") or scope["path"].encode("utf-8")).decode("latin-1")
            page = error_page(503, path, _accept(scope))
            await page(scope, receive, send)

    async def _answer(self, scope: Scope, receive: Receive, send: Send) -> None:
        method: str = scope["method"]
        raw_path: bytes = scope.get("raw_path") or scope["path"].encode("utf-8")
        query: bytes = scope.get("query_string", b"")
        fast_key: _FastKey | None = None
        if method in _BODILESS:
            fast_key = (method, raw_path, query, self._matched_headers(scope["headers"]))
            answer = self._remembered(fast_key)
            if answer is not None:
                await self._send(scope, send, answer)
                return
        body = await read_body(receive)
        live = self._normalize(method, raw_path, query, scope["headers"], body)
        sequence = self.replay.find(live)
        if sequence is not None:
            if fast_key is not None and not body:
                if len(self._fast) >= FAST_PATH_SIZE:
                    self._fast.clear()
                self._fast[fast_key] = sequence
            answer = self._play(fast_key if not body else None, sequence)
            if answer is not None:
                await self._send(scope, send, answer)
                return
        if self._simulate:
            self.replay.simulated_miss(live)
            await self.app(scope, replaying(body, receive), send)
            return
        if scope["path"] in PROBE_PATHS:  # a health check or readiness probe: the model answers, not a miss
            await self.app(scope, replaying(body, receive), send)
            return
        near = self.replay.explain_miss(live)
        self.replay.note_miss(live, near, "replay")
        log_miss(self.replay.name, live, near, "a 599 error (--on-miss error)")
        scope[ANSWERED_BY] = "replay"
        problem = miss_problem(self.replay.name, live, near)
        headers = [(b"content-type", PROBLEM_JSON), (b"content-length", str(len(problem)).encode())]
        await send({"type": "http.response.start", "status": MISS_STATUS, "headers": headers})
        await send({"type": "http.response.body", "body": problem})

    def express(self, request: ExpressRequest) -> Answer | None:
        """The answer to a plain ``GET`` already remembered by the fast path (`druid_sim.express`).

        Only requests the ASGI way has seen before qualify (their sequence is remembered), so the first
        poll of a URL still goes through normalising and matching; recorded latency needs the clock, so
        with ``--latency recorded`` nothing is express.
        """
        if self._latency or request.method not in _BODILESS:
            return None
        fast_key = (request.method, request.raw_path, request.query, self._matched_headers(request.headers))
        try:
            answer = self._remembered(fast_key)
        except StoreUnavailable:
            return None  # the ASGI way answers the 503
        if answer is not None and self.replay.gives_back and PLACEHOLDER_START in answer.body:
            answer = _with_body(answer, self.replay.give_back(answer.body))
        if answer is not None:
            request.answered_by = "replay"
        return answer  # None (not seen yet, or used up): the ASGI way matches it or explains the miss

    def _remembered(self, fast_key: _FastKey) -> Answer | None:
        """The answer for a bodiless request seen before: its settled answer, or its sequence's next one."""
        if self._generation != self.replay.generation:  # a reset since: forget what was remembered
            self._fast.clear()
            self._settled.clear()
            self._generation = self.replay.generation
        answer = self._settled.get(fast_key)
        if answer is not None:
            self.replay.hits += 1
            return answer
        sequence = self._fast.get(fast_key)
        return None if sequence is None else self._play(fast_key, sequence)

    def _play(self, fast_key: _FastKey | None, sequence: Sequence) -> Answer | None:
        answer = self.replay.play(sequence)
        if answer is not None and fast_key is not None and self.replay.settled(sequence):
            if len(self._settled) >= FAST_PATH_SIZE:
                self._settled.clear()
            self._settled[fast_key] = answer
        return answer

    def _normalize(
        self, method: str, raw_path: bytes, query: bytes, headers: list[tuple[bytes, bytes]], body: bytes
    ) -> Normalized:
        """The live request redacted with the cassette's redactor and normalised, remembered for repeats."""
        if len(body) > NORMALIZED_BODY:
            return normalize_live(method, raw_path, query, headers, body, self.replay.options.rules, self.replay.redact)
        key = ((method, raw_path, query, self._matched_headers(headers, self._all_header_names)), body)
        live = self._normalized.get(key)
        if live is None:
            live = normalize_live(method, raw_path, query, headers, body, self.replay.options.rules, self.replay.redact)
            if len(self._normalized) >= NORMALIZED_SIZE:
                self._normalized.clear()
            self._normalized[key] = live
        return live

    def _matched_headers(
        self, headers: list[tuple[bytes, bytes]], names: tuple[bytes, ...] | None = None
    ) -> tuple[bytes, ...]:
        if names is None:
            names = self._header_names
        if not names:
            return ()
        if len(names) == 1:
            wanted = names[0]
            for name, value in headers:
                if name == wanted:
                    return (value,)
            return (b"",)
        found = dict.fromkeys(names, b"")
        for name, value in headers:
            if name in found:
                found[name] = value
        return tuple(found.values())

    async def _send(self, scope: Scope, send: Send, answer: Answer) -> None:
        if self._latency and answer.elapsed_s > 0:
            await self.clock.sleep(answer.elapsed_s)
        scope[ANSWERED_BY] = "replay"
        if self.replay.gives_back and PLACEHOLDER_START in answer.body:
            answer = _with_body(answer, self.replay.give_back(answer.body))
        await send({"type": "http.response.start", "status": answer.status, "headers": list(answer.headers)})
        if scope["method"] == "HEAD":
            await send({"type": "http.response.body", "body": b""})
        elif answer.chunked and answer.body:
            await send({"type": "http.response.body", "body": answer.body, "more_body": True})
            await send({"type": "http.response.body", "body": b""})
        else:
            await send({"type": "http.response.body", "body": answer.body})


def _accept(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"accept":
            return bytes(value).decode("latin-1")
    return None


def _with_body(answer: Answer, body: bytes) -> Answer:
    """``answer`` with another body (secrets given back), its Content-Length to match; never remembered."""
    if body is answer.body:
        return answer
    length = str(len(body)).encode("ascii")
    headers = tuple((name, length if name == b"content-length" else value) for name, value in answer.headers)
    return replace(answer, headers=headers, body=body)
