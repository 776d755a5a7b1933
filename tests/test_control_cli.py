"""``druid-sim health|reset|clock|faults|journal|unused|load`` against a running server."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from druid_sim.cli import main
from tests.support.live import LiveServer


def sim(server: LiveServer, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main([argv[0], *argv[1:], "--url", server.url])
    out, err = capsys.readouterr()
    return code, out, err


def test_clock_commands(server: LiveServer, capsys: pytest.CaptureFixture[str]) -> None:
    assert sim(server, capsys, "clock") == (0, "2026-01-01T00:00:00.000Z (frozen)\n", "")
    assert sim(server, capsys, "clock", "advance", "5m")[1] == "2026-01-01T00:05:00.000Z (frozen)\n"
    assert sim(server, capsys, "clock", "scale", "60")[1].endswith("(running x60)\n")
    code, _, err = sim(server, capsys, "clock", "advance", "soon")
    assert code == 1 and "not a duration" in err and "(HTTP 422)" in err


def test_faults_and_journal_commands(
    server: LiveServer, client: httpx.Client, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    faults = tmp_path / "faults.yaml"
    faults.write_text("faults:\n  - {name: down, kind: error, status: 503, when: {first: 1}}\n")
    assert sim(server, capsys, "faults", "add", str(faults))[0] == 0
    assert sim(server, capsys, "faults", "list")[1].startswith("down: error (seen 0, fired 0)")
    client.get("/druid/indexer/v1/tasks")
    client.get("/druid/indexer/v1/task/x/status")
    out = sim(server, capsys, "journal", "--path", "/druid/indexer/v1/tasks")[1]
    assert out.split() == [
        "1",
        "2026-01-01T00:00:00.000Z",
        "GET",
        "/druid/indexer/v1/tasks",
        "->",
        "503",
        "by",
        "fault",
        "(down)",
    ]
    assert sim(server, capsys, "journal", "--count", "--status", "404")[1] == "1\n"
    assert json.loads(sim(server, capsys, "journal", "--group-by", "status")[1]) == {"503": 1, "404": 1}
    assert sim(server, capsys, "journal", "--clear")[1] == "cleared 2 entries\n"
    code, _, err = sim(server, capsys, "faults", "add", '{"kind": "bogus"}')
    assert code == 1 and "kind: must be one of" in err
    assert sim(server, capsys, "faults", "clear")[1] == "cleared 1 fault(s)\n"


def test_health_reset_and_load_say_what_is_served_and_that_the_clock_went_back(
    server: LiveServer, capsys: pytest.CaptureFixture[str]
) -> None:
    health = sim(server, capsys, "health")[1]
    assert ", no scenario, no cassette, clock 2026-01-01T00:00:00.000Z (frozen), journal 0/10000" in health
    sim(server, capsys, "clock", "advance", "90m")
    code, out, _ = sim(server, capsys, "reset")
    assert code == 0 and out.startswith("back to the start: tasks, faults, journal and replay cursors; ")
    assert "the clock went back from 2026-01-01T01:30:00.000Z to its start, 2026-01-01T00:00:00.000Z" in out
    code, out, _ = sim(server, capsys, "load", "--cassette", "docs-examples")
    assert code == 0 and out.startswith("loaded cassette ") and "docs-examples.jsonl\nthe simulation was reset; " in out
    assert "docs-examples.jsonl, clock" in sim(server, capsys, "health")[1]
    code, out, _ = sim(server, capsys, "load", "--scenario", "slow-tasks")
    assert code == 0 and out.startswith("loaded scenario slow-tasks: Tasks take 10 to 40 minutes")
    assert "; the clock is at its start, 2026-01-01T00:00:00.000Z" in out  # it had not moved: nothing went back


@pytest.mark.parametrize(
    ("seconds", "said"), [(0, "0s"), (42, "42s"), (192, "3m12s"), (7500, "2h5m"), (277_200, "3d5h"), (3600, "1h")]
)
def test_how_far_behind_the_wall_clock_is_said(seconds: int, said: str) -> None:
    from druid_sim.commands.control import _span

    assert _span(seconds) == said


def test_an_unreachable_server_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["health", "--url", "http://127.0.0.1:9"]) == 1
    assert "is 'druid-sim serve' running there?" in capsys.readouterr().err
