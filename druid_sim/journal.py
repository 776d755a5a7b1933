"""The request journal: a bounded ring of the Druid requests received and what answered them.

Tests use it to check what the code under test sent ("exactly one shutdown, after three polls"), and
people use it to see what a tool is doing. It sits outermost in the Druid middleware chain (after the
fault layer), so requests that a fault answered, delayed or cut off are journaled too.

It is on the hot path of every Druid request, so recording costs a few attribute stores: the raw query
bytes are kept as they came (credential values replaced first, `druid_sim.logsafe`: a query string with
no hint of one is kept after one scan) and decoded only when someone reads the journal, and nothing is encoded
as JSON per request. The ring is a :class:`collections.deque` with ``maxlen``: it never grows past its
size, the oldest entries fall off, and :attr:`Journal.dropped` says how many did.
"""

from __future__ import annotations

import secrets
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from druid_sim.asgi import ASGIApp, Message, Receive, Scope, Send
from druid_sim.clock import Clock, format_instant
from druid_sim.express import ExpressAnswer, ExpressRequest, express_of
from druid_sim.logsafe import LogRedaction, log_redaction
from druid_sim.runtime import ANSWERED_BY, Simulation
from druid_sim.security.access import IDENTITY
from druid_sim.util.regex import glob

#: How many requests the journal keeps unless told otherwise (``--journal-size``).
DEFAULT_JOURNAL_SIZE = 10_000

#: ASGI scope key the fault layer sets to the name of the fault it applied.
FAULT = "druid_sim.fault"

#: The key of the journal in ``Simulation.extensions``.
EXTENSION = "journal"

#: The request header a client may send to name itself in the journal (the dashboard sends
#: ``druid-sim-dashboard``); without it the journal keeps the ``User-Agent``.
CLIENT_HEADER = b"x-druid-sim-client"
#: At most this many characters of a client name are shown.
CLIENT_SHOWN = 200
#: At most this many bytes of each body are shown when the dashboard's Traffic view opens a request (a full
#: task list is ~100 KB; its start says enough). What is kept is the export's (`EXCHANGE_BUDGET`).
BODY_KEPT = 16 * 1024
#: The name the dashboard's own requests are journaled under (its Traffic view hides them by default).
DASHBOARD = b"druid-sim-dashboard"
#: What a request claiming the dashboard's name without the page's key is journaled as, after its name.
NOT_THE_PAGE = b" (not the dashboard page)"


def client_of(headers: Iterable[tuple[bytes, bytes]], page_key: bytes = b"") -> bytes | None:
    """Who sent a request: its ``X-Druid-Sim-Client`` header, else its ``User-Agent`` (raw bytes, or None).

    The dashboard names itself ``druid-sim-dashboard/<page key>`` (the key is in the page it serves) and
    is journaled as ``druid-sim-dashboard``; any other client using that name is journaled with
    `NOT_THE_PAGE` after it, so that no client can hide its requests from the Traffic view by claiming it.
    """
    agent = None
    for name, value in headers:
        if name == CLIENT_HEADER:
            return value if not value.startswith(DASHBOARD) else vouched(value, page_key)
        if name == b"user-agent":
            agent = value
    return agent


#: The largest request or response body an entry keeps for the journal's export as a cassette
#: (`druid_sim.control.journal_export`); an exchange with a larger one (a long task log) is left out of it.
EXCHANGE_BODY_LIMIT = 1024 * 1024
#: How many bytes of exchanges the journal keeps in all for the export (the oldest are let go of first).
EXCHANGE_BUDGET = 32 * 1024 * 1024
#: Methods whose requests carry no body: their ``receive`` is not wrapped.
_BODILESS = frozenset({"GET", "HEAD"})


class Exchange:
    """What the journal's export needs of one exchange: raw headers and body chunks, held in memory only.

    The request may carry credentials: they stay here, in the server's memory like the submitted
    payloads the model keeps, and are redacted before anything is written (`druid_sim.control.journal_export`);
    the journal's own views never show them.
    """

    __slots__ = ("raw_path", "request_body", "request_headers", "response_body", "response_headers", "size")

    def __init__(
        self,
        raw_path: bytes,
        request_headers: list[tuple[bytes, bytes]],
        request_body: list[bytes],
        response_headers: list[tuple[bytes, bytes]],
        response_body: list[bytes],
        size: int,
    ) -> None:
        self.raw_path = raw_path
        self.request_headers = request_headers
        self.request_body = request_body
        self.response_headers = response_headers
        self.response_body = response_body
        self.size = size  # body bytes held, counted against EXCHANGE_BUDGET


def vouched(value: bytes, page_key: bytes) -> bytes:
    """A client name starting with the dashboard's: the page's own without its key, anyone else's marked."""
    signed = DASHBOARD + b"/" + page_key
    if page_key and value.startswith(signed):
        return DASHBOARD + value[len(signed) :]
    return value + NOT_THE_PAGE


class JournalEntry:
    """One received request. Mutable until its response starts: the status arrives after the request."""

    __slots__ = (
        "answered_by",
        "client",
        "exchange",
        "fault",
        "method",
        "path",
        "query",
        "seq",
        "status",
        "time_ms",
        "user",
    )

    def __init__(
        self, seq: int, time_ms: int, method: str, path: str, query: bytes, client: bytes | None = None
    ) -> None:
        self.seq = seq
        self.time_ms = time_ms
        self.method = method
        self.path = path
        self.query = query
        self.client = client  # raw header bytes, decoded only when someone reads the journal
        self.status: int | None = None  # None: no response started (yet, or a fault cut the connection)
        self.answered_by: str | None = None
        self.fault: str | None = None
        self.user: str | None = None  # the user it was made as, on a secured cluster (never a password)
        self.exchange: Exchange | None = None  # for the export as a cassette; None once let go of

    def to_json(self) -> dict[str, Any]:
        """The entry as the control API shows it (built only when someone reads the journal)."""
        return {
            "seq": self.seq,
            "time": format_instant(self.time_ms),
            "timeMillis": self.time_ms,
            "method": self.method,
            "path": self.path,
            "query": self.query.decode("latin-1"),
            "status": self.status,
            "answeredBy": self.answered_by,
            "fault": self.fault,
            "user": self.user,
            "client": self.client_name,
        }

    @property
    def client_name(self) -> str | None:
        """The client as shown: the header's text, cut to ``CLIENT_SHOWN`` characters."""
        return None if self.client is None else self.client[:CLIENT_SHOWN].decode("latin-1")

    def __repr__(self) -> str:
        query = "?" + self.query.decode("latin-1") if self.query else ""
        by = self.answered_by or "-"
        if self.fault:
            by += f" ({self.fault})"
        return f"#{self.seq} {format_instant(self.time_ms)} {self.method} {self.path}{query} -> {self.status or '-'} by {by}"


@dataclass(frozen=True, slots=True)
class JournalFilter:
    """Which entries to select. Every given criterion must hold; None matches anything.

    ``path`` is a glob (``fnmatch``: ``*`` also crosses ``/``), matched against the decoded path.
    """

    method: str | None = None
    path: str | None = None
    status: int | None = None
    answered_by: str | None = None
    fault: str | None = None
    user: str | None = None
    since: int | None = None  # only entries with seq > since
    client: str | None = None  # exact, as ``JournalEntry.client_name`` shows it

    def compile(self) -> Callable[[JournalEntry], bool]:
        method = self.method.upper() if self.method else None
        path = glob(self.path).match if self.path else None  # RE2: linear whatever the glob
        status, answered_by, fault, since = self.status, self.answered_by, self.fault, self.since
        user, client = self.user, self.client

        def matches(entry: JournalEntry) -> bool:
            return (
                (method is None or entry.method == method)
                and (path is None or path(entry.path) is not None)
                and (status is None or entry.status == status)
                and (answered_by is None or entry.answered_by == answered_by)
                and (fault is None or entry.fault == fault)
                and (user is None or entry.user == user)
                and (since is None or entry.seq > since)
                and (client is None or entry.client_name == client)
            )

        return matches


class Journal:
    """The ring itself: append, select, count, clear."""

    def __init__(self, clock: Clock, size: int = DEFAULT_JOURNAL_SIZE, redaction: LogRedaction | None = None) -> None:
        if size < 1:
            raise ValueError(f"the journal size must be at least 1, got {size}; use --journal-size 10000")
        self.clock = clock
        self.redaction = redaction or LogRedaction()  # also what a reader of an Exchange redacts with
        #: What the dashboard page sends after its name (``client_of``), fresh for each server.
        self.page_key = secrets.token_hex(8).encode("ascii")
        self._redact_query = self.redaction.query
        self.size = size
        self._entries: deque[JournalEntry] = deque(maxlen=size)
        self._seq = 0
        self._kept: deque[JournalEntry] = deque(maxlen=size)  # entries holding an exchange, oldest first
        self._kept_bytes = 0

    def record(self, method: str, path: str, query: bytes, client: bytes | None = None) -> JournalEntry:
        """Append an entry for a request just received, stamped with the virtual time (credentials in the
        query replaced by placeholders)."""
        self._seq += 1
        if query:
            query = self._redact_query(query)
        entry = JournalEntry(self._seq, self.clock.now_ms(), method, path, query, client)
        self._entries.append(entry)
        return entry

    def keep(self, entry: JournalEntry, exchange: Exchange) -> None:
        """Hold a finished ``exchange`` for the export, letting go of the oldest past `EXCHANGE_BUDGET`
        bytes or the journal's size."""
        entry.exchange = exchange
        kept = self._kept
        if len(kept) == self.size:  # the oldest falls off as the journal's own ring drops it
            gone = kept[0].exchange
            if gone is not None:
                self._kept_bytes -= gone.size
        kept.append(entry)
        self._kept_bytes += exchange.size
        while self._kept_bytes > EXCHANGE_BUDGET and kept:
            old = kept.popleft()
            if old.exchange is not None:
                self._kept_bytes -= old.exchange.size
                old.exchange = None

    @property
    def total(self) -> int:
        """Requests recorded since the last clear, including those that fell off the ring."""
        return self._seq

    @property
    def dropped(self) -> int:
        """Requests that fell off the ring because it was full."""
        return self._seq - len(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[JournalEntry]:
        return iter(list(self._entries))

    def find(self, seq: int) -> JournalEntry | None:
        """The entry numbered ``seq`` while the ring holds it."""
        if not self._entries:
            return None
        index = seq - self._entries[0].seq  # numbers are consecutive in the ring
        if 0 <= index < len(self._entries):
            return self._entries[index]
        return None

    def select(self, where: JournalFilter | None = None, limit: int | None = None) -> list[JournalEntry]:
        """Matching entries, oldest first; with ``limit``, only the newest ``limit`` of them."""
        if where is not None and where.since is not None:
            only_since = where == JournalFilter(since=where.since)
            entries: Iterable[JournalEntry] = self._newer_than(where.since, limit if only_since else None)
        else:
            entries = list(self._entries)
        if where is not None:
            entries = filter(where.compile(), entries)
        selected = list(entries)
        if limit is not None:
            selected = selected[-limit:] if limit > 0 else []
        return selected

    def _newer_than(self, since: int, most: int | None = None) -> list[JournalEntry]:
        """Entries with ``seq > since`` (only the newest ``most`` of them, if given), oldest first.

        Read from the newest end. Why: a live view polls with ``since`` = the last ``seq`` it saw and a
        ``limit``, so it needs only a few entries; walking the whole ring (10,000 entries) on every poll
        would cost the server milliseconds while clients are busy.
        """
        newer: list[JournalEntry] = []
        for entry in reversed(self._entries):
            if entry.seq <= since or (most is not None and len(newer) >= most):
                break
            newer.append(entry)
        newer.reverse()
        return newer

    def count(self, where: JournalFilter | None = None) -> int:
        if where is None:
            return len(self._entries)
        return sum(1 for _ in filter(where.compile(), list(self._entries)))

    def reset(self) -> None:
        """The ``on_reset`` hook: a reset simulation starts with an empty journal."""
        self.clear()

    def clear(self) -> int:
        """Forget every entry (and restart numbering); returns how many were held."""
        held = len(self._entries)
        self._entries.clear()
        self._kept.clear()
        self._kept_bytes = 0
        self._seq = 0
        return held


class JournalMiddleware:
    """Plain ASGI middleware: journal each request on arrival, then fill in who answered and how.

    The entry is appended before the request is handed on, so a request that a fault hangs shows up at
    once with ``status: null``.
    """

    def __init__(self, app: ASGIApp, journal: Journal) -> None:
        self.app = app
        self.journal = journal
        self._inner = express_of(app)

    def express(self, request: ExpressRequest) -> ExpressAnswer | None:
        """Journal an express answer (`druid_sim.express`) as the ASGI way would have."""
        answer = None if self._inner is None else self._inner(request)
        if answer is not None:
            client = client_of(request.headers, self.journal.page_key)
            entry = self.journal.record(request.method, request.path, request.query, client)
            entry.status = answer.status
            entry.answered_by = request.answered_by
            size = len(answer.body)
            if size <= EXCHANGE_BODY_LIMIT:
                exchange = Exchange(request.raw_path, request.headers, [], list(answer.headers), [answer.body], size)
                self.journal.keep(entry, exchange)
        return answer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        client = client_of(scope["headers"], self.journal.page_key)
        entry = self.journal.record(method, scope["path"], scope["query_string"], client)
        # What the export needs (`Exchange`), gathered as cheaply as the hot path allows: body chunks are
        # referenced, not copied, and past EXCHANGE_BODY_LIMIT bytes nothing more is held.
        request_parts: list[bytes] = []
        response_parts: list[bytes] = []
        response_headers: list[tuple[bytes, bytes]] = []
        held = 0
        complete = False

        inner_receive = receive
        if method not in _BODILESS:

            async def receive_and_keep() -> Message:
                nonlocal held
                message = await receive()
                chunk = message.get("body")
                if chunk and held <= EXCHANGE_BODY_LIMIT:
                    held += len(chunk)
                    request_parts.append(chunk)
                return message

            inner_receive = receive_and_keep

        async def send_and_note(message: Message) -> None:
            nonlocal held, complete, response_headers
            if message["type"] == "http.response.body":
                chunk = message.get("body")
                if chunk and held <= EXCHANGE_BODY_LIMIT:
                    held += len(chunk)
                    response_parts.append(chunk)
                if not message.get("more_body") and held <= EXCHANGE_BODY_LIMIT:
                    complete = True
            elif entry.status is None and message["type"] == "http.response.start":
                entry.status = message["status"]
                entry.answered_by = scope.get(ANSWERED_BY)
                entry.fault = scope.get(FAULT)
                user = scope.get(IDENTITY)
                entry.user = None if user is None else user.name
                response_headers = message.get("headers", response_headers)
            await send(message)

        try:
            await self.app(scope, inner_receive, send_and_note)
            if complete:
                raw_path = scope.get("raw_path") or scope["path"].encode("utf-8")
                exchange = Exchange(raw_path, scope["headers"], request_parts, response_headers, response_parts, held)
                self.journal.keep(entry, exchange)
        finally:
            # A fault may end the exchange without a response (reset, hang cut short): note it anyway.
            if entry.answered_by is None:
                entry.answered_by = scope.get(ANSWERED_BY)
            if entry.fault is None:
                entry.fault = scope.get(FAULT)


def journal_of(simulation: Simulation) -> Journal:
    """The simulation's journal, created (and hooked to reset) on first use."""
    journal = simulation.extensions.get(EXTENSION)
    if journal is None:
        size = getattr(simulation.config, "journal_size", DEFAULT_JOURNAL_SIZE)
        journal = Journal(simulation.clock, size, log_redaction(simulation))
        simulation.extensions[EXTENSION] = journal
        simulation.on_reset.append(journal.reset)
    assert isinstance(journal, Journal)
    return journal


def journal_middleware(simulation: Simulation) -> Callable[[ASGIApp], ASGIApp]:
    """The middleware factory ``druid_sim.server.assembly.druid_middlewares`` lists (outermost of the chain)."""
    journal = journal_of(simulation)
    return lambda app: JournalMiddleware(app, journal)
