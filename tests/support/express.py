"""Which way a request went: counted by the tests, from outside the product (issue 23, item 6).

`CountingProtocol` is ``serve``'s own protocol (the server limits and the express lane) that counts the
requests the express lane answered: a test compares the count before and after its requests to know which
ones skipped the ASGI app. The product keeps no counter for this.
"""

from __future__ import annotations

from druid_sim.server.express_check import HTTP_PROTOCOL, http_protocol
from druid_sim.server.guarded_http import ServerHttpProtocol

#: uvicorn's ``http`` setting for `CountingProtocol` (an import string: uvicorn loads it itself).
COUNTING = "tests.support.express:CountingProtocol"
_answered = [0]


class CountingProtocol(ServerHttpProtocol):
    """``serve``'s protocol, counting express answers (an answer's status line is built just before it is
    written, so the count is there by the time a client has the answer; the lane's own 500 is not one)."""

    _failing = False

    def _write_error(self) -> None:
        self._failing = True
        try:
            super()._write_error()
        finally:
            self._failing = False

    def _status_and_default_headers(self, status: int) -> list[bytes]:
        _answered[0] += not self._failing
        return super()._status_and_default_headers(status)


def express_answered() -> int:
    """How many requests the express lane answered in this process (on servers using `CountingProtocol`)."""
    return _answered[0]


def default_protocol() -> str:
    """What the test servers run by default: `CountingProtocol` where ``serve`` would run the express lane,
    uvicorn's own protocol where it would not (another uvicorn)."""
    return COUNTING if http_protocol() == HTTP_PROTOCOL else http_protocol()
