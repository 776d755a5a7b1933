"""What one server lets a client take: request sizes, how long it waits for a request, how many connections.

A simulator is pointed at code under test, and code under test misbehaves: it leaks connections, posts
a whole file by mistake, or stops half-way through a request. Like a production server, druid-sim
bounds each of these (`druid_sim.server.guarded_http` enforces them on the connection) and answers the way
Druid's Jetty does. The defaults follow Druid where it has a setting and a careful server where it
has none:

* request head (request line and headers): 8 KiB, Druid's ``druid.server.http.maxRequestHeaderSize``;
  beyond it 431 (414 while still in the request line), as Jetty answers;
* request body: 64 MiB. Druid sets no limit of its own; what it accepts in practice is bounded by its
  metadata store, and 64 MiB is MySQL 8's default ``max_allowed_packet`` (a bigger task payload fails
  to insert). Beyond it 413, refused from ``Content-Length`` before the body is read, or as soon as a
  chunked body passes it;
* a request must arrive whole within 30 s of the connection opening or of its first byte (nginx waits
  60 s for a head; Druid's Jetty only times out idle connections, so a client sending a byte every
  few seconds would hold a connection forever). Then 408, or a silent close if nothing was sent;
* an idle keep-alive connection is closed after 300 s: Druid's ``druid.server.http.maxIdleTime``
  (PT5M). Shorter than a client's pool keeps connections, and a client reusing one races the close;
* 1,000 open connections; a connection beyond that gets 503 for its request, then is closed;
* 128 MiB of submitted task payloads kept for ``GET /task/{id}``: two of the largest bodies, or
  thousands of ordinary specs (`druid_sim.overlord.payloads` says what happens beyond);
* 100,000 complete tasks remembered (about 1.5 KB each), the oldest forgotten first, as Druid's metadata
  cleanup would; and a task queue as long as Druid's ``druid.indexer.queue.maxSize`` allows (unlimited,
  like Druid's default, unless a scenario or ``--queue-max-size`` sets it). With both set, what a
  server holds is bounded whatever its clients do (docs/performance.md, "Memory").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

KIB = 1024
MIB = 1024 * KIB
GIB = 1024 * MIB

#: The largest cassette loaded (--max-cassette-size): memory grows about 3 KB per interaction it holds
#: (docs/cassettes.md), so 256 MiB of ordinary exchanges is on the order of a few hundred MB of memory.
MAX_CASSETTE_SIZE = 256 * MIB

#: Complete tasks the model remembers (--max-complete-tasks); past it the oldest are forgotten.
MAX_COMPLETE_TASKS = 100_000


@dataclass(frozen=True, slots=True)
class ServerLimits:
    """The limits one server enforces (``druid-sim serve`` options of the same names)."""

    max_body_size: int = 64 * MIB  # bytes of a request body (--max-body-size)
    max_header_size: int = 8 * KIB  # bytes of the request line and headers (--max-header-size)
    request_timeout: float = 30.0  # seconds for a whole request to arrive (--request-timeout)
    keep_alive_timeout: float = 300.0  # seconds an idle keep-alive connection stays open (--keep-alive-timeout)
    max_connections: int = 1000  # open connections (--max-connections)
    max_stored_payloads: int = 128 * MIB  # bytes of submitted task payloads kept (--max-stored-payloads)
    max_cassette_size: int = MAX_CASSETTE_SIZE  # bytes of a cassette file loaded (--max-cassette-size)
    max_complete_tasks: int = MAX_COMPLETE_TASKS  # complete tasks remembered (--max-complete-tasks)
    #: Active tasks the queue takes before submits get Druid's 429 (--queue-max-size); None: the scenario's.
    queue_max_size: int | None = None

    def problems(self) -> list[str]:
        """What is wrong with these limits, as option names and fixes (empty when all are usable)."""
        found = []
        if self.max_body_size < 0:
            found.append("--max-body-size cannot be negative (0 refuses every body; default 64MiB)")
        if self.max_header_size < 1 * KIB:
            found.append("--max-header-size must be at least 1KiB (default 8KiB, Druid's)")
        if not self.request_timeout > 0:
            found.append("--request-timeout must be above 0 seconds (default 30)")
        if not self.keep_alive_timeout > 0:
            found.append("--keep-alive-timeout must be above 0 seconds (default 300, Druid's maxIdleTime)")
        if self.max_connections < 1:
            found.append("--max-connections must be at least 1 (default 1000)")
        if self.max_stored_payloads < 0:
            found.append("--max-stored-payloads cannot be negative (default 128MiB)")
        if self.max_cassette_size < 1 * KIB:
            found.append("--max-cassette-size must be at least 1KiB (default 256MiB)")
        if self.max_complete_tasks < 1:
            found.append("--max-complete-tasks must be at least 1 (default 100000)")
        if self.queue_max_size is not None and self.queue_max_size < 1:
            found.append("--queue-max-size must be at least 1 (leave it out for Druid's default, unlimited)")
        return found


#: The units sizes are written in, as in scenario files (KB = 1000 bytes, KiB = 1024).
_UNITS = {"": 1, "B": 1, "KB": 1000, "MB": 1000**2, "GB": 1000**3, "KiB": KIB, "MiB": MIB, "GiB": GIB}
_SIZE = re.compile(r"^\s*(\d+)\s*([A-Za-z]*)\s*$")


def parse_size(text: str) -> int:
    """A byte count as scenario files write sizes: ``65536``, ``64MiB``, ``500KB`` (KB = 1000, KiB = 1024)."""
    match = _SIZE.match(text)
    if match is None or match.group(2) not in _UNITS:
        raise ValueError(f"{text!r} is not a size: write bytes (65536) or a number with a unit (64MiB, 500KB, 1GiB)")
    return int(match.group(1)) * _UNITS[match.group(2)]


def format_size(size: int) -> str:
    """``size`` the way a person reads it back: ``64MiB``, ``8KiB``, ``1500B``."""
    for unit, factor in (("GiB", GIB), ("MiB", MIB), ("KiB", KIB)):
        if size >= factor and size % factor == 0:
            return f"{size // factor}{unit}"
    return f"{size}B"


def find_limits(app: object) -> ServerLimits:
    """The limits the app (or an app it wraps) declares as ``server_limits``; the defaults if none does."""
    for _ in range(8):
        limits = getattr(app, "server_limits", None)
        if isinstance(limits, ServerLimits):
            return limits
        app = getattr(app, "app", None)
        if app is None:
            break
    return ServerLimits()


__all__ = ["MAX_CASSETTE_SIZE", "ServerLimits", "find_limits", "format_size", "parse_size"]
