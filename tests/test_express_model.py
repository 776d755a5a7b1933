"""The model on the express lane: a plain ``GET`` the simulator answers from uvicorn's parser callback.

The express lane (docs/performance.md) now takes the model's own answers too: the Druid handler runs to
its end without an event loop, and ``GET /task/{id}/status`` answers are remembered until the task's
phase or the model's version changes. Each test talks raw HTTP/1.1 to a real server on the demo scenario:
a keep-alive ``GET`` goes the express lane, the same ``GET`` with ``Connection: close`` goes uvicorn's ASGI
cycle, and the two must be the same bytes (reference section 1: status line, headers, body; only the date
may differ) whatever came before: clock steps (phases change), submissions and shutdowns (plans change),
resets (a new model), faults and a lost leadership (the lane steps aside).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from druid_sim.config import ServeConfig
from tests.support.express import default_protocol, express_answered
from tests.support.live import START_MS, LiveServer, live_server
from tests.test_express_lane import DATE, Connection, request

V1 = "/druid/indexer/v1"
SPEC = {"type": "index_parallel", "spec": {"dataSchema": {"dataSource": "wikipedia"}}}


@pytest.fixture(scope="module")
def demo() -> Iterator[LiveServer]:
    config = ServeConfig(scenario="demo", time_scale=0, start_ms=START_MS, access_log=False)
    with live_server(config, http=default_protocol()) as server:
        yield server


def the_asgi_way(server: LiveServer, target: str) -> bytes:
    """``GET target`` on a connection of its own that asks to be closed: never the express lane."""
    conn = Connection(server.url)
    try:
        conn.send(request("GET", target, "Connection: close"))
        return conn.response()
    finally:
        conn.sock.close()


def same(first: bytes, second: bytes) -> bool:
    strip = [DATE.sub(b"", answer).replace(b"\r\nconnection: close", b"") for answer in (first, second)]
    return strip[0] == strip[1]


move = st.one_of(
    st.tuples(st.just("advance"), st.sampled_from(("1s", "20s", "5m", "1h", "3d"))),
    st.tuples(st.just("submit")),
    st.tuples(st.just("shutdown"), st.integers(0, 20)),
    st.tuples(st.just("fault")),
    st.tuples(st.just("reset")),
    st.tuples(st.just("poll"), st.integers(0, 20)),
)


def make(client: httpx.Client, ids: list[str], step: tuple[Any, ...]) -> None:
    kind = step[0]
    if kind == "advance":
        assert client.post("/__sim/clock", json={"advance": step[1]}).status_code == 200
    elif kind == "submit":
        ids.append(client.post(f"{V1}/task", json=SPEC).json()["task"])
    elif kind == "shutdown" and ids:
        client.post(f"{V1}/task/{ids[step[1] % len(ids)]}/shutdown")
    elif kind == "fault":
        faults = client.get("/__sim/faults").json()
        if faults:
            assert client.delete("/__sim/faults").status_code == 200
        else:
            fault = {"name": "busy", "kind": "error", "status": 503, "routes": [f"{V1}/task/*/status"], "first": 1}
            assert client.post("/__sim/faults", json=fault).status_code == 200
    elif kind == "reset":
        assert client.post("/__sim/reset", json={}).status_code == 200


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(move, min_size=1, max_size=12))
def test_an_express_answer_of_the_model_is_what_the_asgi_way_writes_whatever_came_before(
    demo: LiveServer, steps: list[tuple[Any, ...]]
) -> None:
    with httpx.Client(base_url=demo.url) as client:
        assert client.post("/__sim/reset", json={}).status_code == 200
        client.delete("/__sim/faults")
        listed = client.get(f"{V1}/tasks").json()
        ids = [*(task["id"] for task in listed[:6]), "index_never_submitted"]
        conn = Connection(demo.url)
        try:
            for step in steps:
                make(client, ids, step)
                for task_id in {*ids[-4:], *ids[:2]}:
                    target = f"{V1}/task/{task_id}/status"
                    before = express_answered()
                    twice = [conn.get(target), conn.get(target)]  # the second one from what was remembered
                    if not client.get("/__sim/faults").json():  # (a fault in force sends them the ASGI way)
                        assert express_answered() - before == 2
                    plain = the_asgi_way(demo, target)
                    assert same(twice[0], plain) and same(twice[1], plain), (step, task_id)
                for target in (f"{V1}/runningTasks", f"{V1}/tasks?state=complete&max=5", "/status/health"):
                    assert same(conn.get(target), the_asgi_way(demo, target)), (step, target)
        finally:
            conn.sock.close()


def test_a_status_poll_takes_the_express_lane_and_follows_the_task_through_its_phases(demo: LiveServer) -> None:
    """Reference 2.7: WAITING/PENDING/RUNNING then SUCCESS, each phase read on the express lane."""
    with httpx.Client(base_url=demo.url) as client:
        assert client.post("/__sim/reset", json={}).status_code == 200
        task_id = client.post(f"{V1}/task", json=SPEC).json()["task"]
        conn = Connection(demo.url)
        seen = []
        try:
            before = express_answered()
            for _ in range(40):
                answer = conn.get(f"{V1}/task/{task_id}/status")
                status = orjson.loads(answer.split(b"\r\n\r\n", 1)[1])["status"]
                if not seen or seen[-1] != status["statusCode"]:
                    seen.append(status["statusCode"])
                assert client.post("/__sim/clock", json={"advance": "30s"}).status_code == 200
            assert express_answered() - before == 40  # every poll on the express lane
        finally:
            conn.sock.close()
    assert seen[0] == "RUNNING" and seen[-1] in ("SUCCESS", "FAILED")


def test_a_streamed_log_and_a_post_still_go_the_asgi_way(demo: LiveServer) -> None:
    with httpx.Client(base_url=demo.url) as client:
        task_id = client.get(f"{V1}/tasks?state=complete").json()[0]["id"]
    conn = Connection(demo.url)
    try:
        before = express_answered()
        log = conn.get(f"{V1}/task/{task_id}/log")
        assert b"transfer-encoding: chunked" in log
        conn.send(request("POST", f"{V1}/taskStatus", "Content-Type: application/json", body=orjson.dumps([task_id])))
        assert conn.response().startswith(b"HTTP/1.1 200 OK")
        assert express_answered() == before
    finally:
        conn.sock.close()


def test_the_express_lane_answers_byte_for_byte_on_a_raw_socket(demo: LiveServer) -> None:
    """One example, spelled out: uvicorn's status line and date, then Druid's content type and length."""
    with httpx.Client(base_url=demo.url) as client:
        task_id = client.get(f"{V1}/tasks?state=complete").json()[0]["id"]
    conn = Connection(demo.url)
    try:
        first = conn.get(f"{V1}/task/{task_id}/status")
        before = express_answered()
        again = conn.get(f"{V1}/task/{task_id}/status")
        assert express_answered() == before + 1
    finally:
        conn.sock.close()
    assert DATE.sub(b"", again) == DATE.sub(b"", first)
    head, body = again.split(b"\r\n\r\n", 1)
    assert head.startswith(b"HTTP/1.1 200 OK\r\ndate: ")
    assert head.endswith(b"\r\ncontent-type: application/json\r\ncontent-length: " + str(len(body)).encode())
    assert orjson.loads(body)["task"] == task_id
