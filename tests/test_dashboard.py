"""The dashboard's server side over a real socket: the page at ``/`` and its files, Druid's paths left as they
were, and the control-API calls the page is built on (``/__sim/cluster``, ``/__sim/scenarios``, fault
presets, the journal's ``client``). The page itself, in a browser, is ``test_dashboard_browser.py``.
"""

from __future__ import annotations

import contextlib
import re
from collections import Counter

import httpx
import pytest

from druid_sim.clock import Clock
from druid_sim.config import ServeConfig
from druid_sim.dashboard import DASHBOARD_CLIENT, STATIC_DIR, UI_PREFIX
from druid_sim.journal import Journal, JournalFilter
from druid_sim.scenario import builtin_names
from tests.support.credentials import SECRETS, SPEC
from tests.support.live import START_MS, LiveServer, live_server

V1 = "/druid/indexer/v1"
STATES = ("waiting", "pending", "running", "success", "failed")


def derived_state(task: dict[str, str]) -> str:
    """The state a client shows (reference 4): the runner's while RUNNING, else the status."""
    code = task["statusCode"]
    return (task["runnerStatusCode"] if code == "RUNNING" else code).lower()


# -- the page and its files ---------------------------------------------------------------------------


def test_the_page_is_served_at_root_with_every_file_it_loads(client: httpx.Client) -> None:
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert page.headers["cache-control"] == "no-cache"
    html = page.text
    assert "druid-sim" in html and "Druid 35.0.0" in html
    assert re.search(f'data-client="{DASHBOARD_CLIENT}/[0-9a-f]{{16}}"', html) and 'data-token-required="false"' in html
    referenced = re.findall(r'(?:src|href)="(__sim/ui/[^"?]+)\?v=[0-9a-f]{12}"', html)
    assert {"__sim/ui/js/main.js", "__sim/ui/dashboard.css", "__sim/ui/favicon.svg"} <= set(referenced)
    modules = {f"js/{name}" for name in re.findall(r'from "\./([a-z]+\.js)"', (STATIC_DIR / "js/main.js").read_text())}
    assert modules, "main.js imports the views"
    types = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}
    for path in {name.removeprefix("__sim/ui/") for name in referenced} | modules:
        answer = client.get(f"{UI_PREFIX}/{path}")
        assert answer.status_code == 200, path
        assert answer.headers["content-type"].startswith(types[path[path.rindex(".") :]]), path
        assert answer.headers["cache-control"] == "no-cache"
    assert client.head("/").status_code == 200


def test_the_page_works_offline_nothing_is_fetched_from_elsewhere() -> None:
    """Every file is in the package; none loads a script, style, font or image from another host."""
    remote = re.compile(
        r"""(?:src|href)\s*=\s*["']?(?:https?:)?//|url\(\s*["']?(?:https?:)?//|from\s+["'](?:https?:)?//|@import"""
    )
    shipped = [*STATIC_DIR.rglob("*.*"), *(STATIC_DIR.parent / "templates").glob("*.html")]
    assert len(shipped) >= 10
    for path in shipped:
        assert not remote.search(path.read_text()), path


def test_static_files_are_revalidated_by_etag(client: httpx.Client) -> None:
    first = client.get(f"{UI_PREFIX}/js/api.js")
    again = client.get(f"{UI_PREFIX}/js/api.js", headers={"if-none-match": first.headers["etag"]})
    assert again.status_code == 304


def test_druid_keeps_every_other_path_and_unknown_files_get_a_clear_404(client: httpx.Client) -> None:
    posted = client.post("/")  # only GET and HEAD / are the page's: a Druid client gets Jetty's 404 (reference 1.1)
    assert posted.status_code == 404 and posted.headers["content-type"] == "text/html;charset=iso-8859-1"
    assert "HTTP ERROR 404" in posted.text
    assert client.get("/console.html").status_code == 404
    assert client.get("/status").json()["version"] == "35.0.0"
    missing = client.get(f"{UI_PREFIX}/nope.js")
    assert missing.status_code == 404 and "no dashboard file" in missing.json()["message"]
    assert client.get(f"{UI_PREFIX}/../../simulator/app.py").status_code == 404


def test_loading_the_page_is_not_a_druid_request(client: httpx.Client) -> None:
    client.get("/")
    client.get(f"{UI_PREFIX}/js/main.js")
    client.post("/")
    journal = client.get("/__sim/journal").json()
    assert [(entry["method"], entry["path"]) for entry in journal["entries"]] == [("POST", "/")]


def test_without_the_dashboard_root_is_druids_404() -> None:
    config = ServeConfig(scenario=None, time_scale=0, start_ms=START_MS, dashboard=False)
    with live_server(config) as server, httpx.Client(base_url=server.url) as client:
        root = client.get("/")
        assert root.status_code == 404 and "HTTP ERROR 404" in root.text
        assert client.get(f"{UI_PREFIX}/js/main.js").status_code == 404


def test_with_a_token_the_page_loads_and_its_data_needs_the_token() -> None:
    config = ServeConfig(scenario=None, time_scale=0, start_ms=START_MS, control_token="s3cret")
    with live_server(config) as server, httpx.Client(base_url=server.url) as client:
        page = client.get("/")
        assert page.status_code == 200 and 'data-token-required="true"' in page.text
        assert client.get(f"{UI_PREFIX}/js/main.js").status_code == 200
        assert client.get("/__sim/cluster").status_code == 401
        assert client.get("/__sim/cluster", headers={"authorization": "Bearer s3cret"}).status_code == 200


# -- /__sim/cluster ---------------------------------------------------------------------------------------


def test_cluster_counts_agree_with_the_task_list_as_the_clock_moves(client: httpx.Client) -> None:
    client.post("/__sim/scenario", json={"scenario": "demo"})
    for step in ["0s", "20s", "2m", "10m", "1h", "23h"]:
        client.post("/__sim/clock", json={"advance": step})
        listed = Counter(derived_state(task) for task in client.get(f"{V1}/tasks").json())
        cluster = client.get("/__sim/cluster").json()
        assert cluster["tasks"] == {state: listed[state] for state in STATES}, step
        assert cluster["queue"]["length"] == listed["waiting"] + listed["pending"]
        assert cluster["queue"]["active"] == listed["waiting"] + listed["pending"] + listed["running"]


def test_cluster_shows_worker_slots_the_queue_and_its_limit(client: httpx.Client) -> None:
    client.post("/__sim/scenario", json={"scenario": "queue-full"})  # 1 MiddleManager, 2 slots, queue of 10
    cluster = client.get("/__sim/cluster").json()
    running = sorted(task["id"] for task in client.get(f"{V1}/tasks", params={"state": "running"}).json())
    assert cluster["time"] == "2026-01-01T00:00:00.000Z" and cluster["timeMillis"] == START_MS
    assert cluster["tasks"] == {"waiting": 8, "pending": 0, "running": 2, "success": 0, "failed": 0}
    assert cluster["queue"] == {"length": 8, "active": 10, "maxSize": 10}
    workers = cluster["workers"]
    assert (workers["capacity"], workers["used"], len(workers["middleManagers"])) == (2, 2, 1)
    manager = workers["middleManagers"][0]
    assert manager["capacity"] == 2 and sorted(manager["runningTasks"]) == running
    assert all(task["location"]["host"] == manager["host"] for task in client.get(f"{V1}/runningTasks").json())


def test_cluster_spreads_slots_over_middle_managers_and_an_empty_cluster_is_idle(client: httpx.Client) -> None:
    workers = client.get("/__sim/cluster").json()["workers"]
    assert workers["capacity"] == 9 and workers["used"] == 0
    assert [manager["capacity"] for manager in workers["middleManagers"]] == [3, 3, 3]


def test_cluster_leader_follows_faults_without_using_up_their_triggers(
    client: httpx.Client, server: LiveServer
) -> None:
    def leader() -> dict[str, object]:
        answer: dict[str, object] = client.get("/__sim/cluster").json()["leader"]
        return answer

    assert leader() == {
        "url": server.simulation.leadership.self_url,
        "state": "leading",
        "fault": None,
        "intermittent": False,
    }
    client.post("/__sim/faults", json={"name": "once", "kind": "no_leader", "when": {"first": 1}})
    for _ in range(3):
        assert leader() == {"url": None, "state": "none", "fault": "once", "intermittent": True}
    assert client.get("/__sim/faults").json()["faults"][0]["seen"] == 0  # looking is not a request
    assert client.get(f"{V1}/tasks").status_code == 503  # the first real request still meets it
    client.request("DELETE", "/__sim/faults", json={})
    client.post("/__sim/faults", json={"name": "down", "kind": "error", "status": 500})
    client.post("/__sim/faults", json={"name": "moved", "kind": "redirect", "to": "http://overlord-2:8090"})
    assert leader()["state"] == "leading"  # every request is answered 500 before the redirect is reached
    client.request("DELETE", "/__sim/faults/down", json={})
    assert leader() == {
        "url": "http://overlord-2:8090",
        "state": "redirecting",
        "fault": "moved",
        "intermittent": False,
    }


def test_cluster_leader_when_the_simulation_is_told_it_does_not_lead(client: httpx.Client, server: LiveServer) -> None:
    server.simulation.leadership.leader_url = "http://overlord-3:8090"
    leader = client.get("/__sim/cluster").json()["leader"]
    assert leader == {
        "url": "http://overlord-3:8090",
        "state": "redirecting",
        "fault": "leadership",
        "intermittent": False,
    }


# -- fault presets -----------------------------------------------------------------------------------------


def test_presets_are_listed_with_the_faults_they_add(client: httpx.Client) -> None:
    presets = client.get("/__sim/faults/presets").json()["presets"]
    assert [preset["name"] for preset in presets] == [
        "flaky-overlord",
        "leader-failover",
        "queue-full",
        "slow-responses",
    ]
    assert all(preset["title"] and preset["description"] and preset["faults"] for preset in presets)
    kinds = {preset["name"]: [fault["kind"] for fault in preset["faults"]] for preset in presets}
    assert kinds == {
        "flaky-overlord": ["error", "reset"],
        "leader-failover": ["no_leader", "redirect"],
        "queue-full": ["queue_full"],
        "slow-responses": ["latency"],
    }
    assert client.get("/__sim/faults").json()["faults"] == []  # listing arms nothing


def test_arming_a_preset_adds_its_faults_and_arming_again_replaces_them(client: httpx.Client) -> None:
    added = client.post("/__sim/faults/presets/flaky-overlord", json={}).json()
    assert added["preset"] == "flaky-overlord"
    assert [(f["name"], f["source"]) for f in added["added"]] == [
        ("flaky-overlord:errors", "preset:flaky-overlord"),
        ("flaky-overlord:resets", "preset:flaky-overlord"),
    ]
    for _ in range(5):
        with contextlib.suppress(httpx.TransportError):  # a reset: what the preset is for
            client.get(f"{V1}/tasks")
    assert client.get("/__sim/faults").json()["faults"][0]["seen"] == 5
    client.post("/__sim/faults/presets/flaky-overlord", json={})
    faults = client.get("/__sim/faults").json()["faults"]
    assert [(f["name"], f["seen"]) for f in faults] == [("flaky-overlord:errors", 0), ("flaky-overlord:resets", 0)]
    assert client.request("DELETE", "/__sim/faults/flaky-overlord:errors", json={}).json() == {
        "removed": "flaky-overlord:errors"
    }
    unknown = client.post("/__sim/faults/presets/chaos", json={})
    assert (
        unknown.status_code == 404
        and "flaky-overlord, leader-failover, queue-full, slow-responses" in unknown.json()["message"]
    )


def test_queue_full_preset_refuses_submissions_with_druids_429(client: httpx.Client) -> None:
    client.post("/__sim/faults/presets/queue-full", json={})
    refused = client.post(f"{V1}/task", json={"type": "index_parallel", "spec": {"dataSchema": {"dataSource": "w"}}})
    assert refused.status_code == 429 and refused.json()["category"] == "CAPACITY_EXCEEDED"
    assert client.get(f"{V1}/tasks").status_code == 200  # only submissions are refused


def test_leader_failover_preset_starts_now_then_hands_over_then_ends(client: httpx.Client) -> None:
    client.post("/__sim/clock", json={"advance": "10m"})  # windows are relative to when it is armed
    client.post("/__sim/faults/presets/leader-failover", json={})
    unable = client.get(f"{V1}/tasks")
    assert unable.status_code == 503 and "Unable to determine destination" in unable.json()["error"]
    client.post("/__sim/clock", json={"advance": "30s"})
    moved = client.get(f"{V1}/tasks")
    assert moved.status_code == 307
    assert moved.headers["location"] == "http://druid-overlord-2.internal:8090/druid/indexer/v1/tasks"
    assert client.get("/__sim/cluster").json()["leader"]["url"] == "http://druid-overlord-2.internal:8090"
    client.post("/__sim/clock", json={"advance": "210s"})
    assert client.get(f"{V1}/tasks").status_code == 200
    assert client.get("/__sim/cluster").json()["leader"]["state"] == "leading"


def test_slow_responses_preset_delays_answers_on_the_virtual_clock(client: httpx.Client, server: LiveServer) -> None:
    client.post("/__sim/faults/presets/slow-responses", json={})
    client.post("/__sim/clock", json={"scale": 1000})  # a second of virtual time is a millisecond
    started = server.clock.now_ms()
    assert client.get(f"{V1}/tasks").status_code == 200
    assert server.clock.now_ms() - started >= 100  # lognormal around 1 s, never below a tenth of it here


# -- scenarios and the journal's client ---------------------------------------------------------------------


def test_scenarios_lists_every_built_in_with_its_description(client: httpx.Client) -> None:
    listed = client.get("/__sim/scenarios").json()
    assert listed["current"] is None
    assert [scenario["name"] for scenario in listed["scenarios"]] == builtin_names()
    assert all(scenario["description"] for scenario in listed["scenarios"])
    client.post("/__sim/scenario", json={"scenario": "slow-tasks"})
    assert client.get("/__sim/scenarios").json()["current"] == "slow-tasks"


def _page_client(client: httpx.Client) -> str:
    """What the served page sends as X-Druid-Sim-Client: the dashboard's name with the page's key."""
    found = re.search(r'data-client="([^"]+)"', client.get("/").text)
    assert found is not None
    return found.group(1)


def test_journal_names_each_requests_client_and_filters_by_it(client: httpx.Client) -> None:
    client.get(f"{V1}/tasks", headers={"x-druid-sim-client": _page_client(client), "user-agent": "HeadlessChrome"})
    client.get(f"{V1}/tasks", headers={"user-agent": "airflow/2.9 (+druid provider)"})
    entries = client.get("/__sim/journal").json()["entries"]
    assert [entry["client"] for entry in entries] == [DASHBOARD_CLIENT, "airflow/2.9 (+druid provider)"]
    only = client.get("/__sim/journal", params={"client": DASHBOARD_CLIENT}).json()
    assert [entry["seq"] for entry in only["entries"]] == [1]
    grouped = client.get("/__sim/journal/count", params={"groupBy": "client"}).json()["groups"]
    assert grouped == {DASHBOARD_CLIENT: 1, "airflow/2.9 (+druid provider)": 1}
    client.get(f"{V1}/tasks", headers={"x-druid-sim-client": "x" * 5000})
    assert len(client.get("/__sim/journal", params={"since": 2}).json()["entries"][0]["client"]) == 200


@pytest.mark.parametrize("since", [0, 1, 3, 6, 7, 8, 20])
def test_journal_since_reads_from_the_newest_end_with_the_same_result(since: int) -> None:
    journal = Journal(Clock(START_MS, 0), size=5)
    for number in range(8):
        journal.record("GET" if number % 2 else "POST", f"/p/{number}", b"")
    fast = journal.select(JournalFilter(since=since))
    walked = [entry for entry in journal if entry.seq > since]
    assert [entry.seq for entry in fast] == [entry.seq for entry in walked]
    both = journal.select(JournalFilter(since=since, method="GET"), limit=1)
    assert [entry.seq for entry in both] == [entry.seq for entry in walked if entry.method == "GET"][-1:]
    newest = journal.select(JournalFilter(since=since), limit=2)
    assert [entry.seq for entry in newest] == [entry.seq for entry in walked][-2:]


# -- what the Traffic view and the log pane read -----------------------------------------------------------


def test_a_journal_entry_shows_headers_and_bodies_with_credentials_redacted(client: httpx.Client) -> None:
    submitted = client.post(f"{V1}/task", json=SPEC, auth=("admin", "hunter2"), headers={"x-note": "demo"})
    seq = client.get("/__sim/journal").json()["entries"][-1]["seq"]
    detail = client.get(f"/__sim/journal/{seq}")
    assert detail.status_code == 200
    shown = detail.json()
    assert shown["entry"]["method"] == "POST" and shown["entry"]["status"] == 200
    request, response = shown["request"], shown["response"]
    headers = dict(request["headers"])
    assert headers["x-note"] == "demo" and headers["authorization"].startswith("Basic <redacted:")
    assert request["bodyBytes"] == int(headers["content-length"]) and not request["truncated"]
    assert '"dataSource": "wiki"' in request["body"]
    assert not [name for name, secret in SECRETS.items() if secret in detail.text]
    assert "hunter2" not in detail.text and "YWRtaW46aHVudGVyMg" not in detail.text  # base64 of admin:hunter2
    assert dict(response["headers"])["content-type"] == "application/json"
    assert response["body"] == '{\n  "task": "' + submitted.json()["task"] + '"\n}'

    listed = client.get(f"{V1}/tasks")  # a big answer: its start is kept, and the size said
    big = client.get(f"/__sim/journal/{seq + 1}").json()["response"]
    assert big["bodyBytes"] == len(listed.content) and big["bodyKept"] == min(len(listed.content), 16 * 1024)
    assert big["truncated"] == (len(listed.content) > 16 * 1024)

    assert client.get("/__sim/journal/999").status_code == 404
    assert client.get("/__sim/journal/first").status_code == 400


def test_a_request_too_big_to_keep_has_no_details_but_its_line(client: httpx.Client) -> None:
    """The journal keeps headers and bodies up to 1 MiB a body (what the export and the Traffic view show)."""
    for _ in range(5):
        client.get(f"{V1}/leader")
    big = client.post(
        f"{V1}/task", content=b"{" + b" " * (1024 * 1024 + 10) + b"}", headers={"Content-Type": "application/json"}
    )
    seq = client.get("/__sim/journal", params={"method": "POST"}).json()["entries"][-1]["seq"]
    assert big.status_code in (200, 400, 413)
    assert client.get(f"/__sim/journal/{seq}").json()["message"].startswith(f"request #{seq} is not kept in detail")
    assert client.get(f"/__sim/journal/{seq - 1}").status_code == 200
    assert client.get("/__sim/journal/count").json() == {"count": 6}  # its one-line entry stays


def test_a_tasks_log_size_is_read_from_the_model_without_a_druid_request(client: httpx.Client) -> None:
    task = client.post(f"{V1}/task", json={"type": "index", "spec": {"dataSchema": {"dataSource": "w"}}}).json()["task"]
    assert client.get(f"/__sim/tasks/{task}/log").json() == {
        "task": task,
        "exists": False,
        "bytes": 0,
        "growing": False,
    }
    client.post("/__sim/clock", json={"advance": "2m"})
    size = client.get(f"/__sim/tasks/{task}/log").json()
    assert size["exists"] and size["bytes"] == len(client.get(f"{V1}/task/{task}/log").content)
    assert client.get("/__sim/journal/count", params={"path": "*/log"}).json() == {"count": 1}  # only the GET above
    assert client.get("/__sim/tasks/nope/log").status_code == 404


def test_a_client_calling_itself_the_dashboard_is_not_hidden_from_the_traffic_view(client: httpx.Client) -> None:
    """Issue 22 item 12: the Traffic view hides the page's own polls (client ``druid-sim-dashboard``); a client
    sending that name without the key in the served page is journaled under another name, so it stays shown."""
    page = _page_client(client)
    client.get(f"{V1}/tasks", headers={"x-druid-sim-client": DASHBOARD_CLIENT})
    client.get(f"{V1}/tasks", headers={"x-druid-sim-client": f"{DASHBOARD_CLIENT}/0123456789abcdef presenter"})
    client.get(f"{V1}/tasks", headers={"x-druid-sim-client": f"{page} presenter"})
    entries = client.get("/__sim/journal").json()["entries"]
    assert [entry["client"] for entry in entries] == [
        f"{DASHBOARD_CLIENT} (not the dashboard page)",
        f"{DASHBOARD_CLIENT}/0123456789abcdef presenter (not the dashboard page)",
        f"{DASHBOARD_CLIENT} presenter",
    ]
