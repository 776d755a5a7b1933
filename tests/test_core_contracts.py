"""Contracts of the core that the mutation run (`make mutate`, issue 23) found no test holding.

Each test names the behaviour, not the mutant: a replay body that is empty or starts with white space,
pointers with ``*``, which faults act on every request, the echo of a Basic password, redaction run twice,
the start-up line of a secured cluster. They call the modules directly (fast, exact); the features
themselves have their tests over a real socket in the files named in each docstring.
"""

from __future__ import annotations

import base64
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from druid_sim.cassette import Request, body_from_bytes
from druid_sim.cassette.redact import Redactor
from druid_sim.config import ServeConfig
from druid_sim.faults import FaultSet
from druid_sim.fields import ScenarioError
from druid_sim.replay.matchers import MAX_BODY_FIELDS, Difference, body, path
from druid_sim.replay.normalize import (
    Normalized,
    canonical_body,
    canonical_json,
    live_request,
    normalize_header_value,
    normalize_path,
    normalize_recorded,
)
from druid_sim.replay.options import MatchRules
from druid_sim.runtime import Simulation
from druid_sim.scenario import load_scenario
from druid_sim.security import announcement
from druid_sim.server.assembly import build_app
from druid_sim.simulation import build_simulation
from tests.support.live import START_MS, LiveServer, live_server
from tests.support.replay import exchange, replay_server, write_cassette

TASKS = "/druid/indexer/v1/tasks"


def _simulation(scenario: str | None = None) -> Simulation:
    simulation = build_simulation(ServeConfig(scenario=scenario, time_scale=0, start_ms=START_MS))
    build_app(simulation)  # installs the layers (faults, security) as serve does
    return simulation


# -- replay matching (tests/test_replay_matching.py over HTTP) ------------------------------------------------


def test_an_empty_body_is_no_body_and_json_is_known_by_its_first_non_blank_byte() -> None:
    rules = MatchRules()
    assert canonical_body(b"", "application/json", rules) == (b"", None, False)
    assert canonical_body(b' \n {"b": 1, "a": [2]}', None, rules) == (b'{"a":[2],"b":1}', {"b": 1, "a": [2]}, True)
    assert canonical_body(b"b=1 {", None, rules) == (b"b=1 {", None, False)


def test_ignored_body_pointers_with_a_star_drop_every_key_or_index_they_cross() -> None:
    rules = MatchRules(ignore_body=("/items/*/id", "/tags/*", "/context/*/at", "/spec/0", "/absent/x", "/spec/9"))
    value = {
        "items": [{"id": 1, "x": 2}, {"id": 3, "x": 4}],
        "tags": ["a", "b", "c"],
        "context": {"one": {"at": 1, "keep": True}, "two": {"at": 2}, "three": {"keep": False}},
        "spec": ["first", "second"],
    }
    # a pointer to what this body lacks ("three" has no "at"; no "absent", no 10th spec) leaves it as it is
    assert canonical_json(value, rules) == (
        b'{"context":{"one":{"keep":true},"three":{"keep":false},"two":{}},"items":[{"x":2},{"x":4}],'
        b'"spec":["second"],"tags":[]}'
    )


def _posted(data: bytes, value: Any = None) -> Normalized:
    return Normalized("POST", "/druid/indexer/v1/task", (), (), data, value, value is not None)


def test_a_body_miss_names_each_json_pointer_and_shows_text_bodies_even_when_not_utf8() -> None:
    recorded = _posted(b'{"a":1,"b":{"c":2}}', {"a": 1, "b": {"c": 2}})
    live = _posted(b'{"b":{"c":3},"d~/":4}', {"b": {"c": 3}, "d~/": 4})
    assert body(live, recorded) == [
        Difference("body", "/a", 1, None),
        Difference("body", "/b/c", 2, 3),
        Difference("body", "/d~0~1", None, 4),
    ]
    assert body(_posted(b"caf\xe9 " * 50), _posted(b"tea")) == [
        Difference("body", None, "tea", "caf\ufffd " * 40 + "…")
    ]
    assert body(_posted(b"2", 2), _posted(b"1", 1)) == [Difference("body", "/", 1, 2)]  # the whole document


def test_a_miss_explains_at_most_five_body_fields_then_counts_the_rest() -> None:
    recorded = {f"k{n}": n for n in range(MAX_BODY_FIELDS + 3)}
    found = body(_posted(b"{}", {}), _posted(orjson.dumps(recorded), recorded))
    assert found[:MAX_BODY_FIELDS] == [Difference("body", f"/k{n}", n, None) for n in range(MAX_BODY_FIELDS)]
    assert found[MAX_BODY_FIELDS:] == [Difference("body", "…", "3 more fields differ", None)]
    # bodies that differ only where the cassette's rules ignore: said so, not left empty
    same = {"a": 1}
    assert body(_posted(b'{"a":1,"t":2}', same), _posted(b'{"a":1,"t":1}', same)) == [
        Difference("body", "", "(ignored fields only)", None)
    ]


def test_a_difference_reads_as_the_part_its_name_and_both_values() -> None:
    live = Normalized("GET", "/druid/indexer/v1/tasks", (), (), b"")
    recorded = Normalized("GET", "/druid/indexer/v1/task", (), (), b"")
    (difference,) = path(live, recorded)
    assert difference == Difference("path", None, "/druid/indexer/v1/task", "/druid/indexer/v1/tasks")
    assert difference.describe() == "path: recorded '/druid/indexer/v1/task', received '/druid/indexer/v1/tasks'"
    assert Difference("query", "state", "running", "waiting").describe() == (
        "query state: recorded 'running', received 'waiting'"
    )


def test_paths_compare_decoded_segment_by_segment_without_the_query_or_one_trailing_slash() -> None:
    """docs/replay.md, matching: each segment percent-decoded on its own (bytes that are not UTF-8 as U+FFFD),
    one trailing slash dropped; the query starts at the first ``?`` (RFC 3986)."""
    assert normalize_path("/druid/indexer/v1/tasks/") == "/druid/indexer/v1/tasks"
    assert normalize_path("/") == "/"
    assert normalize_path("/druid/indexer/v1/task/a%3Ab/status/") == "/druid/indexer/v1/task/a:b/status"
    assert normalize_path("/druid/indexer/v1/task/caf%E9/log") == "/druid/indexer/v1/task/caf\ufffd/log"
    assert normalize_path("/druid/indexer/v1/tasks?state=running?") == "/druid/indexer/v1/tasks"
    raw = live_request("GET", b"/druid/indexer/v1/task/caf\xe9/log", b"", [], b"", MatchRules())  # not encoded
    assert raw.path == "/druid/indexer/v1/task/caf\ufffd/log"


def _recorded_post(data: bytes, content_type: str) -> Normalized:
    request = Request("POST", "/druid/indexer/v1/task", [], [("Content-Type", content_type)])
    return normalize_recorded(replace(request, body=body_from_bytes(data, content_type)), MatchRules())


def test_a_recorded_body_is_json_by_its_content_type_or_first_byte_and_bytes_otherwise() -> None:
    """docs/replay.md, matching: JSON is compared canonically (whitespace does not matter), a bare JSON value
    known by its Content-Type; anything else as bytes, and a miss shows it as text."""
    assert _recorded_post(b"42 ", "application/json").key == _recorded_post(b" 42", "application/json").key
    text, other = _recorded_post(b"name=wiki", "text/plain"), _recorded_post(b"name=web", "text/plain")
    assert (text.body, text.body_json, text.is_json) == (b"name=wiki", None, False)
    assert body(other, text) == [Difference("body", None, "name=wiki", "name=web")]


def test_header_values_compare_without_case_or_blanks_around_parameters() -> None:
    assert normalize_header_value(" Application/JSON ;  Charset=UTF-8 ") == "application/json;charset=utf-8"


# -- faults (tests/test_faults_http.py, tests/test_dashboard.py over HTTP) ----------------------------------------


def test_in_force_lists_the_faults_that_could_act_now_and_whether_on_every_request() -> None:
    simulation = _simulation()
    faults: FaultSet = simulation.extensions["faults"]
    for spec in (
        {"name": "always", "kind": "error", "status": 500},
        {"name": "second", "kind": "error", "status": 500, "when": {"nth": 2}},
        {"name": "each", "kind": "error", "status": 500, "when": {"every": 1}},
        {"name": "every-other", "kind": "error", "status": 500, "when": {"every": 2}},
        {"name": "first-three", "kind": "error", "status": 500, "when": {"first": 3}},
        {"name": "coin", "kind": "error", "status": 500, "when": {"probability": 0.5}},
        {"name": "elsewhere", "kind": "error", "status": 500, "routes": ["/druid/indexer/v1/task"]},
        {"name": "later", "kind": "error", "status": 500, "when": {"after": "60s"}},
    ):
        faults.add(spec)
    now = [(fault.name, always) for fault, always in faults.in_force("GET", TASKS)]
    expected = [
        ("always", True),
        ("second", False),
        ("each", True),
        ("every-other", False),
        ("first-three", False),
        ("coin", False),
    ]
    assert now == expected
    assert [fault.name for fault, _ in faults.in_force("POST", "/druid/indexer/v1/task")][-1] == "elsewhere"
    simulation.clock.advance(60)
    assert [(fault.name, always) for fault, always in faults.in_force("GET", TASKS)] == [*expected, ("later", True)]
    faults.add({"name": "posts", "kind": "error", "status": 500, "methods": ["POST"]})
    faults.add({"name": "gets", "kind": "error", "status": 500, "methods": ["GET"]})
    assert [fault.name for fault, _ in faults.in_force("GET", TASKS)][-2:] == ["later", "gets"]  # its methods count


def test_a_second_fault_of_the_same_name_is_refused_naming_the_field_and_the_fix() -> None:
    faults: FaultSet = _simulation().extensions["faults"]
    added = faults.add({"kind": "error", "status": 500})
    assert (added.name, added.source) == ("fault-1", "api")
    with pytest.raises(ScenarioError) as caught:
        faults.add({"name": "fault-1", "kind": "reset"})
    assert (
        str(caught.value) == "fault: name: a fault named 'fault-1' exists already; remove it first or pick another name"
    )
    with pytest.raises(ScenarioError) as caught:
        faults.add({"kind": "nope"})
    assert str(caught.value).startswith("fault: kind: must be one of")


# -- redaction (tests/test_redact.py) ----------------------------------------------------------------------------


def test_a_basic_password_is_remembered_whole_so_its_echoes_are_scrubbed() -> None:
    """The password is everything after the first colon (RFC 7617): one with colons is caught whole."""
    for scheme in ("Basic", "basic", "BASIC"):
        redactor = Redactor("salt")
        token = base64.b64encode(b"admin:pa:ss-word-1").decode()
        (header,) = redactor.redact_headers([("Authorization", f"{scheme} {token}")])
        assert header[1].startswith(f"{scheme} <redacted:")
        scrubbed = redactor.scrub_line(b'{"log":"login as admin with pa:ss-word-1 failed"}')
        assert b"pa:ss-word-1" not in scrubbed and b"ss-word-1" not in scrubbed, (scheme, scrubbed)
        assert (
            scrubbed == b'{"log":"login as admin with ' + redactor.placeholder("pa:ss-word-1").encode() + b' failed"}'
        )


@pytest.mark.parametrize(
    "text",
    [
        "token=abc123secretvalue password=hunter2",
        "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.e30.c2lnbmF0dXJl",
        "jdbc:postgresql://db/druid?user=druid&password=s3cr3t-pw",
    ],
)
def test_redacting_twice_changes_nothing_the_second_time(text: str) -> None:
    """A placeholder is never taken for a secret: a cassette redacted again (``cassette redact``) keeps them."""
    redactor = Redactor("salt")
    once = redactor.redact_text(text)
    assert once != text and "<redacted:" in once
    assert redactor.redact_text(once) == once
    again: Any = redactor.redact_json({"note": once, "password": once.split("=")[-1]})
    assert again["note"] == once


# -- security (tests/test_security.py over HTTP) ------------------------------------------------------------------


def test_serve_announces_a_secured_cluster_with_its_users_and_open_paths_and_nothing_otherwise() -> None:
    assert announcement(_simulation("secured-cluster")) == (
        "druid-sim: basic security on (users: admin, viewer): HTTP Basic credentials needed everywhere but "
        "/status/health and /druid/indexer/v1/isLeader (docs/security.md)"
    )
    assert announcement(_simulation()) is None


def _security_problems(tmp_path: Path, users_and_roles: str) -> list[str]:
    path = tmp_path / "secured.yaml"
    path.write_text(f"description: x\nsecurity:\n{users_and_roles}")
    with pytest.raises(ScenarioError) as caught:
        load_scenario(str(path))
    return [line.split(": ", 1)[1] for line in str(caught.value).splitlines()]


def test_security_refuses_an_empty_user_name_and_incomplete_permissions(tmp_path: Path) -> None:
    """tests/test_scenario_validation.py has the common mistakes; these are the edges of each rule."""
    assert _security_problems(tmp_path, "  users:\n    '': {password: pw-123456}\n") == [
        "security.users.: a user name must be a non-empty string"
    ]
    roles = (
        "  users:\n    admin: {password: pw-123456, roles: [r]}\n  roles:\n    r:\n"
        "      - {resource: {name: x}, action: READ}\n"
        "      - {resource: {type: STATE}, action: READ}\n"
        "      - {resource: {type: STATE, name: x}}\n"
    )
    assert _security_problems(tmp_path, roles) == [
        "security.roles.r[0].resource.type: is required",
        "security.roles.r[1].resource.name: is required",
        "security.roles.r[2].action: is required",
    ]
    unknown_type = (
        "  users:\n    admin: {password: pw-123456, roles: [r]}\n  roles:\n    r:\n"
        "      - {resource: {type: qqqq, name: x}, action: READ}\n"
    )
    assert _security_problems(tmp_path, unknown_type) == [  # nothing close: no "did you mean"
        "security.roles.r[0].resource.type: must be one of DATASOURCE, VIEW, CONFIG, STATE, SYSTEM_TABLE, "
        "QUERY_CONTEXT, EXTERNAL, not 'qqqq'"
    ]
    far = "  users:\n    admin: {password: pw-123456, roles: [zzzzqqq]}\n  roles:\n    admin: []\n"
    assert _security_problems(tmp_path, far) == [
        "security.users.admin.roles: unknown role 'zzzzqqq'; roles defined under security.roles: admin"
    ]


def test_security_without_roles_gives_users_no_permission(tmp_path: Path) -> None:
    path = tmp_path / "secured.yaml"
    path.write_text("description: x\nsecurity:\n  users:\n    admin: {password: pw-123456}\n")
    security = load_scenario(str(path)).security
    assert security is not None and security.describe() == {"users": [{"name": "admin", "roles": []}], "roles": {}}


def test_refused_basic_credentials_get_the_401_page_in_the_form_accept_asks_and_java_base64_rules() -> None:
    """docs/security.md 3: credentials Druid refuses (here, Base64 with characters Java's decoder rejects,
    which Python's lenient decoder would skip) get Jetty's 401 page, as JSON when the client accepts JSON."""
    good = base64.b64encode(b"admin:admin-password").decode()
    config = ServeConfig(scenario="secured-cluster", time_scale=0, start_ms=START_MS)
    with live_server(config) as server, httpx.Client(base_url=server.url, timeout=10) as client:
        assert client.get(TASKS, headers={"Authorization": f"Basic {good}"}).status_code == 200
        broken = {"Authorization": f"Basic {good[:4]}!!!!{good[4:]}", "Accept": "application/json"}
        refused = client.get(TASKS, headers=broken)
        assert (refused.status_code, refused.headers["content-type"]) == (401, "application/json")
        assert refused.json() == {"url": TASKS, "status": "401", "message": "Unauthorized", "servlet": "default"}
        as_html = client.get(TASKS, headers={"Authorization": f"Basic {good[:4]}!!!!{good[4:]}"})
        assert as_html.status_code == 401 and as_html.text.startswith("<html>")
        stranger = base64.b64encode(b"nobody:admin-password").decode()
        unknown = client.get(TASKS, headers={"Authorization": f"Basic {stranger}", "Accept": "application/json"})
        assert (unknown.status_code, unknown.json()["message"]) == (401, "Unauthorized")  # JSON, as asked


# -- the Overlord model (tests/test_task_logs.py over HTTP) -----------------------------------------------------


def test_a_parallel_task_log_names_the_input_split_of_every_sub_task(client: httpx.Client, server: LiveServer) -> None:
    """Druid's ``ParallelIndexPhaseRunner`` logs each sub-task's spec with its input split (a cloud object)."""
    tuning = {"type": "index_parallel", "maxNumConcurrentSubTasks": 2}  # 1 would run it in sequential mode
    spec = {"type": "index_parallel", "spec": {"dataSchema": {"dataSource": "wiki"}, "tuningConfig": tuning}}
    task_id = client.post(f"{TASKS[:-1]}", json=spec).json()["task"]
    server.clock.advance(3600)
    log = client.get(f"/druid/indexer/v1/task/{task_id}/log").text
    splits = re.findall(r"Submit a new task for spec\[\S+\] and inputSplit\[(.*)\]$", log, re.MULTILINE)
    assert splits and all(
        re.fullmatch(r"InputSplit\{split=\[CloudObjectLocation\{.*\.json\.gz'\}\]\}", s) for s in splits
    )


def test_a_task_seen_running_in_a_cassette_is_seeded_as_running(tmp_path: Path) -> None:
    """docs/replay.md: tasks a cassette shows are seeded into the model; one polled RUNNING stays listed
    as running (``/runningTasks``) at the recording's end."""
    task = "index_parallel_wiki_abcdefgh_2026-01-01T00:00:00.000Z"
    location = {"host": "mm", "port": 8100, "tlsPort": -1}
    status = {"task": task, "status": {"id": task, "status": "RUNNING", "statusCode": "RUNNING", "location": location}}
    cassette = write_cassette(
        tmp_path / "seed.jsonl", [exchange("GET", f"/druid/indexer/v1/task/{task}/status", 200, status)]
    )
    # hybrid replay, by name: the list was not recorded, the model seeded from the cassette answers it
    with (
        replay_server(cassette, replay_on_miss="simulate") as server,
        httpx.Client(base_url=server.url, timeout=10) as client,
    ):
        running = client.get("/druid/indexer/v1/runningTasks").json()
    assert [entry["id"] for entry in running] == [task]
