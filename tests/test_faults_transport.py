"""The connection faults' reach into uvicorn (druid_sim/faults/transport.py): checked at start-up, with a
fallback when a uvicorn keeps its connections elsewhere (issue 23, item 4), as the express lane does."""

from __future__ import annotations

import logging
import types

import httpx
import pytest

from druid_sim.asgi import Receive, Scope, Send
from druid_sim.faults.answers import break_connection
from druid_sim.faults.transport import check_transport, connection_reachable
from druid_sim.server.threaded import ThreadedServer


def test_the_installed_uvicorn_keeps_its_connections_where_the_faults_look() -> None:
    assert check_transport() == []
    assert connection_reachable() is True


def test_a_uvicorn_whose_cycle_hides_its_transport_is_named_with_what_differs() -> None:
    class RequestResponseCycle:  # a later uvicorn's cycle, say: the transport behind another name
        def __init__(self) -> None:
            self.connection = object()

        async def send(self, message: object) -> None: ...

    later = types.ModuleType("uvicorn.protocols.http.later_impl")
    later.RequestResponseCycle = RequestResponseCycle  # type: ignore[attr-defined]
    gone = types.ModuleType("uvicorn.protocols.http.gone_impl")
    assert check_transport((later, gone)) == [
        "uvicorn.protocols.http.later_impl.RequestResponseCycle has no method run_asgi",
        "uvicorn.protocols.http.later_impl.RequestResponseCycle no longer sets self.transport",
        "uvicorn.protocols.http.gone_impl.RequestResponseCycle is gone",
    ]


@pytest.mark.parametrize("kind", ["reset", "empty"])
def test_without_the_transport_the_fallback_still_breaks_the_answer_over_a_real_socket(
    kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The fallback's client sees a broken answer (never a complete response it could trust), and the
    server logs one line, no traceback."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await break_connection(kind, send, receive, reachable=False)

    server = ThreadedServer(app, name="fallback")
    try:
        with caplog.at_level(logging.ERROR), pytest.raises(httpx.RemoteProtocolError):
            httpx.get(f"{server.url}/druid/indexer/v1/tasks", timeout=10)
    finally:
        server.stop()
    assert [r.exc_info for r in caplog.records if r.exc_info] == []
