"""``druid-sim serve --cassette FILE --workers 2`` as a user runs it: two worker processes sharing the
replay's sequence cursors (docs/replay.md "More than one worker"), over real sockets."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from druid_sim.cli import main
from tests.support.replay import exchange, write_cassette
from tests.support.served import served

V1 = "/druid/indexer/v1"
TASK = "index_parallel_wiki_abcdefgh_2026-01-01T00:00:00.000Z"
STATUS = f"{V1}/task/{TASK}/status"
POLLS = 12


def _status(state: str) -> object:
    return {"task": TASK, "status": {"id": TASK, "status": state, "statusCode": state}}


def _request(port: int, method: str, path: str) -> tuple[int, dict[str, str], bytes]:
    """One request on a fresh connection, so the kernel may hand it to either worker."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=3)
    try:
        connection.request(method, path, headers={"Connection": "close"})
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def _polls_per_worker(port: int) -> dict[str, int]:
    """How many Druid requests each worker answered: its journal, told apart by X-Druid-Sim-Worker."""
    counts: dict[str, int] = {}
    for _ in range(100):
        status, headers, body = _request(port, "GET", "/__sim/journal/count")
        assert status == 200
        counts[headers["x-druid-sim-worker"]] = json.loads(body)["count"]
        if len(counts) == 2:
            break
    return counts


def _gone(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return True
    return False


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], int, Path]]:
    cassette = write_cassette(
        tmp_path / "poll.jsonl",
        [exchange("GET", STATUS, 200, _status(state)) for state in ("RUNNING", "RUNNING", "SUCCESS")],
    )
    temp = tmp_path / "tmp"
    temp.mkdir()
    druid_sim = Path(sys.executable).with_name("druid-sim")
    args = ["--cassette", str(cassette), "--workers", "2", "--on-miss", "error", "--no-access-log"]
    with served(*args, command=[str(druid_sim)], env={**os.environ, "TMPDIR": str(temp)}) as running:
        process, port = running.process, int(running.url.rsplit(":", 1)[1])
        deadline = time.monotonic() + 30  # liveness, not speed: a loaded 2-core machine starts workers slowly
        workers: set[str] = set()
        while len(workers) < 2:  # both workers up: each has answered /__sim/health
            try:
                status, headers, _ = _request(port, "GET", "/__sim/health")
                if status == 200:
                    workers.add(headers["x-druid-sim-worker"])
            except OSError:
                time.sleep(0.05)
            assert process.poll() is None, "druid-sim serve --workers 2 exited before listening"
            assert time.monotonic() < deadline, f"druid-sim serve --workers 2 did not start 2 workers: {workers}"
        yield process, port, temp


def test_two_workers_play_one_sequence_in_recorded_order_and_stop_on_ctrl_c(
    server: tuple[subprocess.Popen[bytes], int, Path],
) -> None:
    process, port, temp = server
    assert len(list(temp.glob("druid-sim-cursors-*"))) == 1

    states: list[str] = []
    counts: dict[str, int] = {}
    while len(states) < POLLS * 10:  # until both workers have answered some polls (almost always the first batch)
        for _ in range(POLLS):
            status, _, body = _request(port, "GET", STATUS)
            assert status == 200
            states.append(json.loads(body)["status"]["status"])
        counts = _polls_per_worker(port)
        if len(counts) == 2 and all(counts.values()):
            break
    # Recorded order, then the last answer sticks. Were the cursors not shared, the first poll a second
    # worker answered would start its own sequence over (a third RUNNING).
    assert states == ["RUNNING", "RUNNING"] + ["SUCCESS"] * (len(states) - 2)
    assert sum(counts.values()) == len(states)
    assert len(counts) == 2 and all(counts.values()), f"one worker answered every poll: {counts}"

    # Changes through /__sim/ would reach one worker only: refused, with the reason.
    status, _, body = _request(port, "POST", "/__sim/reset")
    assert status == 409
    error = json.loads(body)
    assert error["error"] == "conflict" and "--workers 2" in error["message"]
    assert json.loads(_request(port, "GET", STATUS)[2])["status"]["status"] == "SUCCESS"

    # Ctrl-C (SIGINT to the whole process group, as a terminal sends it) stops every process.
    os.killpg(process.pid, signal.SIGINT)
    assert process.wait(timeout=15) == 0
    deadline = time.monotonic() + 10
    while not _gone(process.pid):
        assert time.monotonic() < deadline, "worker processes outlived Ctrl-C"
        time.sleep(0.05)
    assert list(temp.glob("druid-sim-cursors-*")) == []


def test_more_than_one_worker_needs_a_cassette_or_a_state_store(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--workers", "2", "--port", "1"]) == 2
    assert (
        "--workers above 1 needs --state FILE (the workers share the simulated cluster through it) or --cassette"
        in (capsys.readouterr().err)
    )


def test_workers_must_be_positive(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--workers", "0", "--port", "1"]) == 2
    assert "--workers must be at least 1" in capsys.readouterr().err


def test_with_two_workers_a_miss_the_model_answers_is_logged_once(tmp_path: Path) -> None:
    """Issue 22 item 12: each worker used to log a distinct miss once, so ``--workers 2`` logged it twice;
    the workers now claim it in the cursor file they share."""
    cassette = write_cassette(tmp_path / "poll.jsonl", [exchange("GET", STATUS, 200, _status("RUNNING"))])
    druid_sim = Path(sys.executable).with_name("druid-sim")
    args = ["--cassette", str(cassette), "--workers", "2", "--on-miss", "simulate", "--no-access-log"]
    missed = f"{V1}/task/never_recorded/status"
    with served(*args, command=[str(druid_sim)]) as running:
        port = int(running.url.rsplit(":", 1)[1])
        deadline = time.monotonic() + 30  # liveness, not speed
        met: dict[str, int] = {}
        while len(met) < 2 or not all(met.values()):  # until both workers have met the miss (their journals)
            try:
                assert _request(port, "GET", missed)[0] == 404
                _, headers, body = _request(port, "GET", f"/__sim/journal/count?path={missed}")
                met[headers["x-druid-sim-worker"]] = json.loads(body)["count"]
            except OSError:
                time.sleep(0.05)
            assert running.poll() is None and time.monotonic() < deadline, f"workers met: {met}"
        running.stop()
        log = running.stderr()
    warnings = [line for line in log.splitlines() if line.startswith(f"replay miss: GET {missed} ")]
    assert len(warnings) == 1, warnings
