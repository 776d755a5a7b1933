"""User-supplied regular expressions cannot stall the server (issue 22, item 4), over a real socket.

Every pattern a user gives (a fault's ``routes``, a scenario's ``match.id``, a security role's
resource names, a cassette's ``regex:`` redaction rules, the journal's path glob) runs on RE2, which
never backtracks. ``(a+)+$`` against ``'a' * n + '!'`` takes 2^n steps in Python's ``re``: with n = 40
a backtracking server would not answer within the client's timeout, so each test below fails (times
out) without the fix. What RE2 cannot run (backreferences, lookarounds) is refused when the file or
the call is read, with a message that says how to write the pattern instead.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.support.live import LiveServer
from tests.support.replay import cassette_with_rule, replay_server

V1 = "/druid/indexer/v1"
#: Catastrophic for a backtracking engine: (a+)+ tries every way of splitting the a's before failing.
EVIL = "(a+)+$"
VICTIM = "a" * 40 + "!"


def _scenario(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "hostile.yaml"
    path.write_text("description: hostile patterns\n" + text)
    return path


def test_a_fault_route_regex_is_linear(server: LiveServer, client: httpx.Client) -> None:
    added = client.post("/__sim/faults", json={"kind": "error", "status": 503, "routes": [f"^{V1}/task/{EVIL}"]})
    assert added.status_code == 200, added.text
    answer = client.get(f"{V1}/task/{VICTIM}/status")  # no match: the route ends in '!'
    assert answer.status_code == 404
    assert client.get(f"{V1}/task/{'a' * 40}/status").status_code == 404  # '/status' follows: still no match
    assert client.get(f"{V1}/task/aaaa").status_code == 503


def test_a_fault_route_glob_is_linear(server: LiveServer, client: httpx.Client) -> None:
    """fnmatch's globs are matched by RE2 too: ``*a*a*a*...`` is polynomial in a backtracking engine."""
    added = client.post("/__sim/faults", json={"kind": "error", "status": 503, "routes": ["*a" * 12 + "b"]})
    assert added.status_code == 200, added.text
    assert client.get(f"{V1}/task/{'a' * 3000}").status_code == 404
    assert client.get(f"{V1}/task/{'a' * 12}b").status_code == 503


@pytest.mark.parametrize(
    ("route", "what"),
    [("^/druid/(a)\\1", "a backreference"), ("^/druid/(?!status)", "a lookaround"), ("^/(a", "missing )")],
)
def test_a_fault_route_re2_cannot_run_is_refused_with_the_fix(
    server: LiveServer, client: httpx.Client, route: str, what: str
) -> None:
    refused = client.post("/__sim/faults", json={"kind": "error", "status": 503, "routes": [route]})
    assert refused.status_code == 422
    problem = refused.json()["problems"][0]
    assert problem["field"].startswith("routes") and what in problem["message"], problem
    assert client.get("/__sim/faults").json()["faults"] == []  # nothing added


def test_a_scenario_match_id_is_linear_and_what_re2_cannot_run_is_refused(
    server: LiveServer, client: httpx.Client, tmp_path: Path
) -> None:
    hostile = _scenario(tmp_path, f"behaviours:\n  - match: {{id: '{EVIL}'}}\n    failure_probability: 1\n")
    assert client.post("/__sim/scenario", json={"scenario": str(hostile)}).status_code == 200
    spec = {"type": "index_parallel", "id": VICTIM, "spec": {"dataSchema": {"dataSource": "wiki"}}}
    submitted = client.post(f"{V1}/task", json=spec)
    assert submitted.status_code == 200 and submitted.json() == {"task": VICTIM}

    refused = _scenario(tmp_path, "behaviours:\n  - match: {id: '(?<=index_)kafka'}\n    failure_probability: 1\n")
    answer = client.post("/__sim/scenario", json={"scenario": str(refused)})
    assert answer.status_code == 422
    problem = answer.json()["problems"][0]
    assert problem["line"] == 3 and problem["field"] == "behaviours[0].match.id"
    assert "a lookaround" in problem["message"] and "linear time" in problem["message"]


def test_scenario_validate_names_the_file_line_field_and_fix(tmp_path: Path) -> None:
    path = _scenario(tmp_path, "behaviours:\n  - match: {id: '(kafka)_\\1'}\n")
    run = subprocess.run(
        [sys.executable, "-m", "druid_sim", "scenario", "validate", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode != 0
    line = next(line for line in run.stdout.splitlines() + run.stderr.splitlines() if "match.id" in line)
    assert f"{path}:3: behaviours[0].match.id: uses a backreference" in line
    assert "spell out the repeated text" in line and "Traceback" not in run.stderr


def _secured(tmp_path: Path, name: str) -> Path:
    return _scenario(
        tmp_path,
        "security:\n"
        "  users:\n"
        "    writer: {password: writer-password, roles: [writer]}\n"
        "  roles:\n"
        "    writer:\n"
        f"      - {{resource: {{type: DATASOURCE, name: '{name}'}}, action: WRITE}}\n",
    )


def test_a_security_resource_name_is_linear(server: LiveServer, client: httpx.Client, tmp_path: Path) -> None:
    """Druid matches a resource name pattern against the whole name (docs/security.md); RE2 does it linearly."""
    assert client.post("/__sim/scenario", json={"scenario": str(_secured(tmp_path, "(a+)+b"))}).status_code == 200
    spec = {"type": "index_parallel", "spec": {"dataSchema": {"dataSource": "a" * 40}}}
    refused = client.post(f"{V1}/task", json=spec, auth=("writer", "writer-password"))
    assert refused.status_code == 403
    spec["spec"]["dataSchema"]["dataSource"] = "aab"  # type: ignore[index]
    assert client.post(f"{V1}/task", json=spec, auth=("writer", "writer-password")).status_code == 200


def test_a_java_only_security_name_is_refused_at_load(server: LiveServer, client: httpx.Client, tmp_path: Path) -> None:
    answer = client.post("/__sim/scenario", json={"scenario": str(_secured(tmp_path, "wiki(?!pedia).*"))})
    assert answer.status_code == 422
    problem = answer.json()["problems"][0]
    assert problem["field"].endswith("[0].resource.name") and problem["line"] == 7
    assert "a lookaround" in problem["message"]


def test_a_cassette_redaction_rule_is_linear_on_live_requests(tmp_path: Path) -> None:
    """A replay redacts each live request with the cassette's rules before matching it (docs/replay.md)."""
    cassette = cassette_with_rule(tmp_path / "shared.jsonl", EVIL)
    hybrid = replay_server(cassette, replay_on_miss="simulate")  # a miss goes on to the model
    with hybrid as live, httpx.Client(base_url=live.url, timeout=10) as client:
        answer = client.post(
            f"{V1}/taskStatus", content=json.dumps([VICTIM]), headers={"Content-Type": "application/json"}
        )
        assert answer.status_code in (200, 404, 500)  # answered at all: the rule ran in linear time
        assert client.get("/status/health").status_code == 200


def test_a_cassette_redaction_rule_re2_cannot_run_is_refused_at_load(
    server: LiveServer, client: httpx.Client, tmp_path: Path
) -> None:
    cassette = cassette_with_rule(tmp_path / "refused.jsonl", "(sk_)[a-z]+\\1")
    answer = client.post("/__sim/cassette", json={"cassette": str(cassette)})
    assert answer.status_code == 422, answer.text
    assert "backreference" in answer.text and "Traceback" not in answer.text


def test_the_journal_path_glob_is_linear(server: LiveServer, client: httpx.Client) -> None:
    client.get(f"{V1}/task/{'a' * 3000}")
    found = client.get("/__sim/journal/count", params={"path": "*a" * 15 + "b"})
    assert found.status_code == 200 and found.json() == {"count": 0}
