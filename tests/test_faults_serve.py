"""The built-in ``flaky-overlord`` under a real ``druid-sim serve`` (uvloop, httptools), and recorded through it.

Its resets must reach clients as dropped connections, on the loop ``serve`` runs, and a recorder in
front of it must record only what the simulated Overlord really answered (its Jetty 500 pages), never
a server's own "Internal Server Error".
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from druid_sim.cassette import load_cassette
from druid_sim.proxy.testing import record_argv, running_recorder
from tests.support.served import Served, served

TASKS = "/druid/indexer/v1/tasks"
REQUESTS = 60  # the scenario resets 1 request in 20 (seeded): a few resets, every time


@pytest.fixture(scope="module")
def flaky() -> Iterator[Served]:
    # 1000 virtual seconds per real second: the scenario's ~300 ms latencies take well under a millisecond.
    with served("--scenario", "flaky-overlord", "--time-scale", "1000", "--no-access-log") as running:
        yield running
        assert running.stop() == 0
        assert running.tracebacks() == []
        assert "Exception in ASGI application" not in running.log()


def outcomes(client: httpx.Client) -> Counter[str]:
    seen: Counter[str] = Counter()
    for _ in range(REQUESTS):
        try:
            response = client.get(TASKS)
        except httpx.TransportError as exc:
            seen[type(exc).__name__] += 1
            continue
        if response.status_code == 500:
            seen["jetty 500" if "HTTP ERROR 500" in response.text else f"other 500: {response.text[:40]}"] += 1
        else:
            seen[str(response.status_code)] += 1
    return seen


def test_flaky_overlord_resets_are_dropped_connections_under_serve(flaky: Served) -> None:
    with httpx.Client(base_url=flaky.url, timeout=10) as client:
        seen = outcomes(client)
    assert seen["ReadError"] >= 1, seen  # the reset: "Connection reset by peer"
    assert not [name for name in seen if name.startswith("other 500")], seen
    assert seen["jetty 500"] >= 1 and seen["200"] >= REQUESTS // 2, seen


def test_a_recorder_in_front_of_flaky_overlord_records_no_fake_500(flaky: Served, tmp_path: Path) -> None:
    cassette = tmp_path / "flaky.jsonl"
    with (
        running_recorder(record_argv(flaky.url, cassette, confdir=tmp_path / "mitmproxy")) as proxy,
        httpx.Client(base_url=proxy.url, timeout=10) as client,
    ):
        seen = outcomes(client)
    assert seen["502"] >= 1, seen  # mitmproxy's answer when the upstream dropped the connection
    recorded = [(i.response.status, i.response.body.raw()) for i in load_cassette(cassette).interactions]
    fake = [body[:60] for status, body in recorded if status == 500 and b"HTTP ERROR 500" not in body]
    assert fake == []
    assert sum(1 for status, _ in recorded if status == 500) >= 1
    assert sum(1 for status, _ in recorded if status == 502) == 0  # mitmproxy's own 502s are not Druid's
