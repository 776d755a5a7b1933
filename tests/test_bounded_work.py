"""Bounded work over a real socket (a ``druid-sim serve`` process, serve's own settings).

* The clock's scale and steps are bounded, and a refused call changes nothing.
* A jump of ten years costs what a jump of two days does: the server answers at once afterwards
  (``druid_sim.scenario.model``: planned arrivals older than the catch-up window are skipped).
* A cassette is loaded off the event loop: the server answers while a big one loads, and a second load
  meanwhile is refused (409) instead of doubling the work.
"""

from __future__ import annotations

import threading
from pathlib import Path

import httpx
import orjson

from tests.support.process import serve

V1 = "/druid/indexer/v1"


def test_clock_bounds_and_a_ten_year_jump() -> None:
    with serve("--scenario", "demo", "--time-scale", "0", "--no-access-log") as (process, url):
        before = httpx.get(f"{url}/__sim/clock").json()
        for body in ({"scale": 1e300}, {"scale": 60, "advance": "36501d"}, {"to": "9999-12-31T00:00:00Z"}):
            refused = httpx.post(f"{url}/__sim/clock", json=body)
            assert refused.status_code == 422 and refused.json()["error"] == "invalid", body
            assert httpx.get(f"{url}/__sim/clock").json() == before, body  # nothing changed
        jumped = httpx.post(f"{url}/__sim/clock", json={"advance": "3650d"}, timeout=10)
        assert jumped.status_code == 200 and jumped.json()["nowMillis"] == before["nowMillis"] + 3650 * 86_400_000
        tasks = httpx.get(f"{url}{V1}/tasks", timeout=10).json()  # the last day's arrivals, nothing older
        assert tasks and {task["statusCode"] for task in tasks} >= {"SUCCESS"}
        newest = max(task["createdTime"] for task in tasks)
        assert newest.startswith(str(int(jumped.json()["now"][:4])))
        assert httpx.get(f"{url}/status/health").status_code == 200
        process.terminate()
        _, err = process.communicate(timeout=10)
    assert "Traceback" not in err


def _big_cassette(path: Path, interactions: int) -> Path:
    """``interactions`` status polls of distinct tasks: each becomes a seeded model task too."""
    lines = [orjson.dumps({"druid_sim_cassette": 1, "recorded_at": "2026-01-01T00:00:00.000Z", "upstream": None})]
    for n in range(interactions):
        task_id = f"index_parallel_wiki_{n:08d}_2026-01-01T00:00:00.000Z"
        status = {"id": task_id, "status": "RUNNING", "location": {"host": "mm", "port": 8100, "tlsPort": -1}}
        lines.append(
            orjson.dumps(
                {
                    "request": {"method": "GET", "path": f"{V1}/task/{task_id}/status"},
                    "response": {"status": 200, "body": {"json": {"task": task_id, "status": status}}},
                    "at": n / 100,
                }
            )
        )
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def test_a_big_cassette_loads_while_the_server_keeps_answering(tmp_path: Path) -> None:
    _big_cassette(tmp_path / "big.jsonl", 10_000)
    with serve("--no-access-log", "--on-miss", "simulate", cwd=tmp_path) as (process, url):
        loaded: list[httpx.Response] = []
        loading = threading.Thread(
            target=lambda: loaded.append(
                httpx.post(f"{url}/__sim/cassette", json={"cassette": "big.jsonl"}, timeout=120)
            )
        )
        loading.start()
        answered_meanwhile = 0
        second: httpx.Response | None = None
        while loading.is_alive():
            health = httpx.get(f"{url}/status/health", timeout=10)
            if loading.is_alive():  # answered while the load was still going on
                answered_meanwhile += health.status_code == 200
                if second is None:
                    second = httpx.post(f"{url}/__sim/cassette", json={"cassette": "big.jsonl"}, timeout=10)
        loading.join()
        assert answered_meanwhile >= 1
        assert second is not None
        # The second load may reach the server first (the thread's request is not sent at once): then the
        # first gets the 409. Either way one load is answered 200 and a concurrent one 409 or, after it, 200.
        answers = sorted([loaded[0], second], key=lambda answer: answer.status_code)
        assert answers[0].status_code == 200, answers[0].text
        assert answers[0].json()["interactions"] == 10_000
        assert answers[1].status_code in (409, 200)
        if answers[1].status_code == 409:
            assert "another cassette is being loaded" in answers[1].json()["message"]
        poll = httpx.get(f"{url}{V1}/task/index_parallel_wiki_00000007_2026-01-01T00:00:00.000Z/status")
        assert poll.json()["status"]["status"] == "RUNNING"  # replayed
        seeded = httpx.get(f"{url}{V1}/runningTasks").json()  # not recorded: the model, seeded from it
        assert len(seeded) >= 10_000  # (and the demo cluster's running tasks)
        process.terminate()
        _, err = process.communicate(timeout=10)
    assert "Traceback" not in err
