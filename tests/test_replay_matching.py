"""Matching (docs/replay.md "Matching"): one normalisation for recorded and live requests, ignore rules,
recorded latency on the virtual clock, and sequence cursors shared by several server processes."""

from __future__ import annotations

import threading
from pathlib import Path

import httpx
import orjson
import pytest

from druid_sim.cassette import CassetteWriter, RedactionRules, Redactor, new_meta, new_salt
from druid_sim.config import ServeConfig
from druid_sim.replay.cursors import FileCursors
from druid_sim.replay.engine import Replay
from druid_sim.replay.wiring import install_replay, replay_options
from tests.support.live import live_server
from tests.support.replay import exchange, replay_server, write_cassette

V1 = "/druid/indexer/v1"
TASK = "index_parallel_wiki_abcdefgh_2026-01-01T00:00:00.000Z"


@pytest.fixture
def cassette(tmp_path: Path) -> Path:
    return write_cassette(
        tmp_path / "matching.jsonl",
        [
            exchange("GET", f"{V1}/task/{TASK}/status", 200, {"task": TASK, "status": None}, elapsed_ms=2000),
            exchange("GET", f"{V1}/tasks", 200, [], query=[("state", "complete"), ("datasource", "wiki")]),
            exchange(
                "POST",
                f"{V1}/task",
                200,
                {"task": TASK},
                request_body={
                    "type": "index_parallel",
                    "spec": {"dataSchema": {"dataSource": "wiki"}},
                    "context": {"priority": 50},
                },
            ),
            exchange("POST", f"{V1}/task/{TASK}/shutdown", 200, {"task": TASK}),
            exchange("POST", f"{V1}/task/{TASK}/shutdown", 200, {"task": TASK}),
        ],
    )


def test_percent_encoded_path_segments_and_a_trailing_slash_match_the_recorded_path(cassette: Path) -> None:
    encoded = TASK.replace(":", "%3A")
    with replay_server(cassette, replay_on_miss="error") as server, httpx.Client(base_url=server.url) as client:
        response = client.get(f"{V1}/task/{encoded}/status/")
    assert response.status_code == 200
    assert response.json()["task"] == TASK


def test_query_order_does_not_matter_but_every_pair_does(cassette: Path) -> None:
    with replay_server(cassette, replay_on_miss="error") as server, httpx.Client(base_url=server.url) as client:
        swapped = client.get(f"{V1}/tasks?datasource=wiki&state=complete")
        repeated = client.get(f"{V1}/tasks?datasource=wiki&state=complete&state=complete")
    assert swapped.status_code == 200
    assert repeated.status_code == 599


def test_json_bodies_match_whatever_their_key_order_and_whitespace(cassette: Path) -> None:
    body = (
        b'{ "context": {"priority": 50},\n "spec": {"dataSchema": {"dataSource": "wiki"}}, "type": "index_parallel" }'
    )
    with replay_server(cassette, replay_on_miss="error") as server, httpx.Client(base_url=server.url) as client:
        response = client.post(f"{V1}/task", content=body, headers={"Content-Type": "application/json"})
    assert (response.status_code, response.json()) == (200, {"task": TASK})


def test_ignored_body_pointer_query_key_and_header_are_left_out_of_matching(cassette: Path) -> None:
    body = {"type": "index_parallel", "spec": {"dataSchema": {"dataSource": "wiki"}}, "context": {"priority": 90}}
    ignore = ("body:/context/priority", "query:_", "header:content-type")
    with (
        replay_server(cassette, replay_on_miss="error", replay_ignore=ignore) as server,
        httpx.Client(base_url=server.url) as client,
    ):
        submitted = client.post(f"{V1}/task", json=body)
        busted = client.get(f"{V1}/tasks", params={"state": "complete", "datasource": "wiki", "_": "1700000000"})
        text_type = client.post(f"{V1}/task/{TASK}/shutdown", headers={"Content-Type": "text/plain"})
    assert [submitted.status_code, busted.status_code, text_type.status_code] == [200, 200, 200]


def test_a_bad_ignore_rule_is_refused_with_the_accepted_forms() -> None:
    with pytest.raises(ValueError, match=r"query:KEY, header:NAME or body:/json/pointer"):
        replay_options(ServeConfig(replay_ignore=("cookie:session",)))


def test_recorded_latency_waits_the_upstream_time_on_the_virtual_clock(cassette: Path) -> None:
    with replay_server(cassette, replay_latency="recorded") as server, httpx.Client(base_url=server.url) as client:
        result: list[int] = []
        thread = threading.Thread(target=lambda: result.append(client.get(f"{V1}/task/{TASK}/status").status_code))
        thread.start()
        thread.join(timeout=0.3)
        assert thread.is_alive(), "answered before the recorded 2 s passed on the frozen clock"
        server.clock.advance(2)
        thread.join(timeout=5)
    assert result == [200]


def test_without_latency_a_frozen_clock_does_not_delay_answers(cassette: Path) -> None:
    with replay_server(cassette) as server, httpx.Client(base_url=server.url, timeout=2) as client:
        assert client.get(f"{V1}/task/{TASK}/status").status_code == 200


def test_two_servers_sharing_file_cursors_play_one_sequence_between_them(cassette: Path, tmp_path: Path) -> None:
    """What several worker processes would do: one cursor file, each server its own Replay."""
    cursor_file = tmp_path / "cursors.bin"
    config = ServeConfig(
        cassette=str(cassette), scenario=None, time_scale=0, replay_sequence="exhaust", replay_on_miss="error"
    )

    def factory(create: bool):  # type: ignore[no-untyped-def]
        def build(simulation):  # type: ignore[no-untyped-def]
            from druid_sim.server.assembly import build_app

            replay = Replay.load(cassette, replay_options(config))
            replay.cursors = FileCursors(cursor_file, len(replay.index.sequences), create=create)
            install_replay(simulation, replay)
            return build_app(simulation, access_log=False)

        return build

    shutdown = f"{V1}/task/{TASK}/shutdown"
    with (
        live_server(config, app_factory=factory(True)) as first,
        live_server(config, app_factory=factory(False)) as second,
        httpx.Client() as client,
    ):
        codes = [
            client.post(first.url + shutdown).status_code,
            client.post(second.url + shutdown).status_code,
            client.post(first.url + shutdown).status_code,
        ]
    assert codes == [200, 200, 599]  # two recorded answers, shared: the third request finds none left


def test_a_header_that_describes_a_body_does_not_count_on_a_request_without_one(cassette: Path) -> None:
    with replay_server(cassette, replay_on_miss="error") as server, httpx.Client(base_url=server.url) as client:
        # A client that sends Content-Type on every request: the recorded GET and bodiless POST had none.
        typed = {"Content-Type": "application/json"}
        assert client.get(f"{V1}/task/{TASK}/status", headers=typed).status_code == 200
        assert client.post(f"{V1}/task/{TASK}/shutdown", headers=typed).status_code == 200
        # With a body it still counts: the Overlord answers 415 to the wrong media type.
        spec = {"type": "index_parallel", "spec": {"dataSchema": {"dataSource": "wiki"}}, "context": {"priority": 50}}
        wrong = client.post(f"{V1}/task", content=orjson.dumps(spec), headers={"Content-Type": "text/plain"})
    assert wrong.status_code == 599
    assert wrong.json()["nearest"][0]["differences"] == [
        {"part": "header", "name": "content-type", "recorded": "application/json", "received": "text/plain"}
    ]


def test_the_cassettes_own_rules_redact_live_requests_before_matching(tmp_path: Path) -> None:
    """A `--redact-rule` given when recording is in the header, so replay redacts the same field."""
    redactor = Redactor(new_salt(), RedactionRules.from_specs(["json:ingestToken"]))
    submitted = exchange(
        "POST", f"{V1}/task", 200, {"task": TASK}, request_body={"type": "index", "ingestToken": "tok-first-1"}
    )
    path = tmp_path / "rules.jsonl"
    with CassetteWriter.open(path, "overwrite", new_meta(None, redactor.redaction)) as writer:
        writer.append(redactor.redact_interaction(submitted))
    with replay_server(path, replay_on_miss="error") as server, httpx.Client(base_url=server.url) as client:
        same = client.post(f"{V1}/task", json={"type": "index", "ingestToken": "tok-first-1"})
        other = client.post(f"{V1}/task", json={"type": "index", "ingestToken": "tok-second-2"})
    assert same.status_code == 200 and same.json() == {"task": TASK}
    assert other.status_code == 599 and "tok-second-2" not in other.text
    (difference,) = other.json()["nearest"][0]["differences"]
    assert difference["name"] == "/ingestToken" and "different secret" in difference["secret"]


def test_a_cassette_recorded_without_redaction_still_matches_and_never_explains_in_clear(tmp_path: Path) -> None:
    path = write_cassette(
        tmp_path / "clear.jsonl",
        [exchange("GET", f"{V1}/tasks", 200, [], query=[("state", "running"), ("password", "hunter2222")])],
    )
    with replay_server(path, replay_on_miss="error") as server, httpx.Client(base_url=server.url) as client:
        same = client.get(f"{V1}/tasks", params={"state": "running", "password": "hunter2222"})
        other = client.get(f"{V1}/tasks", params={"state": "running", "password": "hunter3333"})
    assert same.status_code == 200
    assert other.status_code == 599
    assert "hunter2222" not in other.text and "hunter3333" not in other.text
    assert other.json()["nearest"][0]["differences"][0]["name"] == "password"


def test_credentials_matter_only_where_the_recording_had_them(tmp_path: Path) -> None:
    """Recorded on an unsecured cluster (no Authorization): any credentials match. Recorded with them: the same
    ones only, and a request without any misses, as a secured cluster would turn it away."""
    redactor = Redactor(new_salt())
    basic = [("Authorization", "Basic YWRtaW46czNjcmV0LUFkbTFu")]  # admin:s3cret-Adm1n
    path = tmp_path / "mixed.jsonl"
    with CassetteWriter.open(path, "overwrite", new_meta(None, redactor.redaction)) as writer:
        writer.append(redactor.redact_interaction(exchange("GET", f"{V1}/tasks", 200, [])))
        writer.append(redactor.redact_interaction(exchange("GET", f"{V1}/leader", 200, "x", request_headers=basic)))
    with replay_server(path, replay_on_miss="error") as server, httpx.Client(base_url=server.url) as client:
        assert client.get(f"{V1}/tasks", auth=("anyone", "anything")).status_code == 200
        assert client.get(f"{V1}/leader", auth=("admin", "s3cret-Adm1n")).status_code == 200
        wrong = client.get(f"{V1}/leader", auth=("admin", "other"))
        none = client.get(f"{V1}/leader")
    assert wrong.status_code == none.status_code == 599
    assert [d["name"] for d in wrong.json()["nearest"][0]["differences"]] == ["authorization"]
    (missing,) = none.json()["nearest"][0]["differences"]
    assert missing["name"] == "authorization" and missing["received"] is None
