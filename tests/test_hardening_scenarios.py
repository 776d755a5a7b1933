"""What ``scenario validate`` accepts, ``serve`` runs with bounded work; the rest is refused with file:line: field.

Refusals are checked through ``scenario validate``, ``serve --scenario`` (a real process) and
``POST /__sim/scenario`` over a real socket; the values just inside every bound are loaded into a
running server whose clock is then moved on, and its log must stay free of tracebacks.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from druid_sim.cli import main
from tests.support.served import START, Served, served

REFUSED: dict[str, tuple[str, str]] = {
    # name: (scenario text, "line: field: words of the message")
    "unhashable key": ("description: x\n[a, b]: 1\n", ":2: (top level): a key must be a name, not a list"),
    "mapping as a key": ("description: x\n? {a: 1}\n: 2\n", ":2: (top level): a key must be a name"),
    "deep nesting": (
        "description: x\nfaults: " + "[" * 5000 + "]" * 5000 + "\n",
        ":2: (top level): nested more than 64",
    ),
    "alias bomb": (
        "description: x\na0: &a0 [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\n"
        + "".join(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]\n" for i in range(1, 7)),
        ":6: (top level): stands for more than 100,000 values",
    ),
    "every nan": ("description: x\narrivals: {every: .nan}\n", ":2: arrivals.every: must be a finite number, not nan"),
    "every inf": ("description: x\narrivals: {every: .inf}\n", ":2: arrivals.every: must be a finite number, not inf"),
    "every 1ms": ("description: x\narrivals: {every: 1ms}\n", ":2: arrivals.every: must be at least 10s"),
    "huge seed": (
        "description: x\nseed: 99999999999999999999\n",
        ":2: seed: must be at most 9,223,372,036,854,775,807",
    ),
    "huge capacity": (
        "description: x\nworkers: {capacity: 100000000}\n",
        ":2: workers.capacity: must be at most 10,000",
    ),
    "run for ages": ("description: x\nbehaviours:\n  - run: 1.0e+300\n", ":3: behaviours[0].run: must be at most 365d"),
    "huge integer duration": (
        "description: x\nbehaviours:\n  - run: " + "9" * 400 + "\n",
        ":3: behaviours[0].run: must be at most 365d",
    ),
    "log rate nan": (
        "description: x\nbehaviours:\n  - log_bytes_per_second: .nan\n",
        ":3: behaviours[0].log_bytes_per_second: must be a finite number",
    ),
    "rows rate inf": (
        "description: x\nbehaviours:\n  - rows_per_second: .inf\n",
        ":3: behaviours[0].rows_per_second: must be a finite number",
    ),
    "too many starting tasks": (
        "description: x\ncluster:\n" + "  - {count: 60000, state: complete}\n" * 2,
        ": cluster: starts 120,000 tasks; at most 100,000",
    ),
    "too many timeline tasks": (
        "description: x\ntimeline:\n" + "".join(f"  - {{at: {i}s, submit: {{count: 10000}}}}\n" for i in range(11)),
        ": timeline: submits 110,000 tasks; at most 100,000",
    ),
    "fault seed past a long": (
        "description: x\nfaults:\n  - {kind: error, when: {probability: 0.5, seed: 99999999999999999999}}\n",
        "seed: must be at most 9,223,372,036,854,775,807",
    ),
}


def write(folder: Path, text: str) -> Path:
    path = folder / "scenario.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_validate_refuses_with_file_line_field_and_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str
) -> None:
    text, expected = REFUSED[case]
    path = write(tmp_path, text)
    assert main(["scenario", "validate", str(path)]) == 1
    output = capsys.readouterr()
    assert expected in output.out + output.err
    assert str(path) in output.out + output.err


def test_a_scenario_file_past_one_mib_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "description: x\n" + "# padding\n" * 120_000)
    assert main(["scenario", "validate", str(path)]) == 1
    assert "a scenario is at most 1,048,576 (1 MiB)" in capsys.readouterr().err


def test_serve_refuses_an_invalid_scenario_with_exit_2_and_no_traceback(tmp_path: Path) -> None:
    path = write(tmp_path, REFUSED["unhashable key"][0])
    result = subprocess.run(
        [sys.executable, "-m", "druid_sim", "serve", "--port", "0", "--scenario", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert f"{path}:2: (top level): a key must be a name" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_serve_refuses_a_seed_past_a_long() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "druid_sim", "serve", "--port", "0", "--seed", "99999999999999999999"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "--seed: must be between 0 and 9223372036854775807" in result.stderr


# -- over a real socket: refused at run time, and the edges of every bound run ---------------------------------


@pytest.fixture(scope="module")
def _served() -> Iterator[Served]:
    # the control API may load files from where pytest's tmp_path lives
    args = ("--time-scale", "0", "--start-time", START, "--no-access-log", "--data-dir", tempfile.gettempdir())
    with served(*args) as process:
        yield process


@pytest.fixture
def server(_served: Served) -> Iterator[Served]:
    """The module's server, its log checked for tracebacks after each test (issue 23, item 2): every
    test checks what its own requests wrote, whether it runs alone, with ``-k`` or in any order."""
    with _served.no_traceback():
        yield _served


@pytest.mark.parametrize("case", ["unhashable key", "every nan", "huge capacity", "alias bomb"])
def test_loading_a_refused_scenario_at_run_time_is_422(server: Served, tmp_path: Path, case: str) -> None:
    text, expected = REFUSED[case]
    path = write(tmp_path, text)
    with httpx.Client(base_url=server.url, timeout=30) as client:
        answer = client.post("/__sim/scenario", json={"scenario": str(path)})
        assert answer.status_code == 422
        assert expected.split(", not ")[0] in answer.text  # the control API never quotes the file's values
        assert client.get("/__sim/scenario").json()["name"] == "demo"  # nothing changed


EDGES = """\
description: every bound at its limit
seed: 9223372036854775807
workers: {middle_managers: 100, capacity: 10000}
cluster:
  - {count: 2000, state: complete}
  - {count: 200, state: running}
  - {count: 50, state: waiting}
arrivals: {every: 10s, random: false}
behaviours:
  - run: 365d
    waiting: {uniform: [0s, 365d]}
    log_bytes_per_second: 1GiB
    rows_per_second: 1000000000
timeline:
  - {at: 365d, submit: {count: 10000, spread: 365d}}
  - {at: 1h, fail_datasource: {datasource: wikipedia, for: 365d}}
faults:
  - {kind: latency, delay: 365d, when: {probability: 0.0, seed: 9223372036854775807}}
"""


def test_a_scenario_at_every_bound_runs_and_answers(server: Served, tmp_path: Path) -> None:
    path = write(tmp_path, EDGES)
    with httpx.Client(base_url=server.url, timeout=60) as client:
        assert client.post("/__sim/scenario", json={"scenario": str(path)}).status_code == 200
        for step in ("1h", "6h"):
            assert client.post("/__sim/clock", json={"advance": step}).status_code == 200
            tasks = client.get("/druid/indexer/v1/tasks")
            assert tasks.status_code == 200
            assert len(tasks.json()) > 2000
            task_id = tasks.json()[0]["id"]
            assert client.get(f"/druid/indexer/v1/task/{task_id}/status").status_code == 200
            assert client.get(f"/druid/indexer/v1/task/{task_id}/reports").status_code in (200, 404)
            log = client.get(f"/druid/indexer/v1/task/{task_id}/log", params={"offset": -1000})
            assert log.status_code in (200, 404)
        client.post("/__sim/scenario", json={"scenario": "demo"})
