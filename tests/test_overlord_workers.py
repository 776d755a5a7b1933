"""Conformance of the Overlord's dynamic worker config and of enabling MiddleManagers, over a real socket.

Each test names the section of ``docs/druid-overlord-behaviour.md`` it checks (section 18). The server
starts empty (three MiddleManagers of three slots each) with a frozen clock at 2026-01-01T00:00:00Z.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from tests.support.live import LiveServer
from tests.support.replay import exchange, replay_server, write_cassette
from tests.support.served import served

V1 = "/druid/indexer/v1"
START = "2026-01-01T00:00:00.000Z"
EMPTY_LIMITS = {"maxSlotCountByType": {}, "maxSlotRatioByType": {}}
AUDIT = {"X-Druid-Author": "ops", "X-Druid-Comment": "fill first"}
SETUP = "org.apache.druid.indexing.overlord.setup"


def load(datasource: str) -> dict[str, Any]:
    return {"type": "index_parallel", "spec": {"dataSchema": {"dataSource": datasource}}}


def submit(client: httpx.Client, datasource: str = "wiki") -> str:
    response = client.post(f"{V1}/task", json=load(datasource))
    assert response.status_code == 200, response.text
    task_id: str = response.json()["task"]
    return task_id


def hosts(client: httpx.Client) -> list[str]:
    """The MiddleManagers as ``/workers`` names them (``host:port``), in its order."""
    return [worker["worker"]["host"] for worker in client.get(f"{V1}/workers").json()]


def running_per_host(client: httpx.Client) -> dict[str, list[str]]:
    return {worker["worker"]["host"]: worker["runningTasks"] for worker in client.get(f"{V1}/workers").json()}


def post_config(client: httpx.Client, body: Any, headers: dict[str, str] | None = None) -> httpx.Response:
    return client.post(f"{V1}/worker", json=body, headers=headers or {})


def test_18_1_no_config_until_one_is_posted_is_an_empty_200(client: httpx.Client) -> None:
    """Reference 18.1: the config supplier's default is null, ``Response.ok(null)``: no body, no content type."""
    response = client.get(f"{V1}/worker")
    assert response.status_code == 200
    assert response.content == b""
    assert "content-type" not in response.headers


def test_18_2_a_posted_config_is_served_back_as_druid_serializes_it(client: httpx.Client) -> None:
    """Reference 18.2: 200 with no entity; GET answers the ``DefaultWorkerBehaviorConfig`` with defaults filled."""
    posted = post_config(client, {"selectStrategy": {"type": "fillCapacity"}, "unknown": 1}, AUDIT)
    assert (posted.status_code, posted.content, posted.headers.get("content-type")) == (200, b"", None)
    served = client.get(f"{V1}/worker")
    assert served.headers["content-type"] == "application/json"
    assert served.content == (
        b'{"type":"default","selectStrategy":{"type":"fillCapacity","affinityConfig":null,'
        b'"taskLimits":{"maxSlotCountByType":{},"maxSlotRatioByType":{}}},"autoScaler":null}'
    )


def test_18_2_defaults_stand_in_for_missing_or_unknown_types(client: httpx.Client) -> None:
    """Reference 18.2: both types have a ``defaultImpl``; an autoscaler is a NoopAutoScaler without the EC2 extension."""
    post_config(client, {"type": "other", "selectStrategy": {"type": "roundRobin"}, "autoScaler": {"type": "ec2"}})
    assert client.get(f"{V1}/worker").json() == {
        "type": "default",
        "selectStrategy": {"type": "equalDistribution", "affinityConfig": None, "taskLimits": EMPTY_LIMITS},
        "autoScaler": {"type": "NoopAutoScaler"},
    }
    post_config(client, {})
    assert client.get(f"{V1}/worker").json() == {"type": "default", "selectStrategy": None, "autoScaler": None}


def test_18_2_affinity_and_limits_are_served_as_read(client: httpx.Client) -> None:
    """Reference 18.2: an affinity list is a ``HashSet`` (Java's hash order, duplicates gone), ratios are doubles."""
    body = {
        "selectStrategy": {
            "type": "equalDistributionWithAffinity",
            "affinityConfig": {"affinity": {"wiki": ["b:8091", "x:8091", "a:8091", "b:8091"]}, "strong": True},
            "taskLimits": {"maxSlotCountByType": {"kill": 2}, "maxSlotRatioByType": {"compact": 1}},
        }
    }
    post_config(client, body)
    strategy = client.get(f"{V1}/worker").json()["selectStrategy"]
    # String.hashCode() spread over 16 buckets: "x:8091" lands in 3, "a:8091" in 8, "b:8091" in 14
    assert strategy == {
        "type": "equalDistributionWithAffinity",
        "affinityConfig": {"affinity": {"wiki": ["x:8091", "a:8091", "b:8091"]}, "strong": True},
        "taskLimits": {"maxSlotCountByType": {"kill": 2}, "maxSlotRatioByType": {"compact": 1.0}},
    }


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            {"selectStrategy": {"type": "javascript", "function": "function (config, workers, task) {}"}},
            f"Cannot construct instance of `{SETUP}.JavaScriptWorkerSelectStrategy`, problem: JavaScript is disabled",
        ),
        (
            {"selectStrategy": {"type": "fillCapacity", "affinityConfig": {"strong": True}}},
            f"Cannot construct instance of `{SETUP}.AffinityConfig`, problem: "
            'Cannot invoke "java.util.Map.values()" because "affinity" is null',
        ),
        (
            {"selectStrategy": {"taskLimits": {"maxSlotCountByType": {"kill": -1, "index": 3}}}},
            f"Cannot construct instance of `{SETUP}.TaskLimits`, problem: "
            "Max task slot count limit for any type must be greater than zero. Found[{kill=-1, index=3}].",
        ),
        (
            {"selectStrategy": {"taskLimits": {"maxSlotRatioByType": {"kill": 1.5}}}},  # Druid prints the counts
            f"Cannot construct instance of `{SETUP}.TaskLimits`, problem: "
            "Max task slot ratios should be in the interval of [0, 1]. Found[null].",
        ),
        (
            [],
            f"Cannot deserialize value of type `{SETUP}.DefaultWorkerBehaviorConfig` "
            "from Array value (token `JsonToken.START_ARRAY`)",
        ),
    ],
)
def test_18_2_what_the_constructors_refuse_is_a_400_and_nothing_changes(
    client: httpx.Client, body: Any, message: str
) -> None:
    """Reference 18.2: Jackson wraps a constructor's exception; the config and its history stay as they were."""
    refused = post_config(client, body)
    assert (refused.status_code, refused.json()) == (400, {"error": message})
    assert client.get(f"{V1}/worker").content == b""
    assert client.get(f"{V1}/worker/history").json() == []


def test_18_2_an_empty_body_is_the_null_pointer_and_a_form_is_415(client: httpx.Client) -> None:
    """Reference 18.2: Jersey hands null to ``JacksonConfigManager.set``; ``@Consumes`` refuses other media."""
    empty = client.post(f"{V1}/worker", content=b"", headers={"Content-Type": "application/json"})
    assert empty.status_code == 500
    npe = 'java.lang.NullPointerException: Cannot invoke "Object.getClass()" because "newValue" is null'
    assert npe in html.unescape(empty.text)
    form = client.post(f"{V1}/worker", content=b"a=b", headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert form.status_code == 415


def test_18_3_history_lists_audit_entries_as_the_audit_table_gives_them_back(
    server: LiveServer, client: httpx.Client
) -> None:
    """Reference 18.3: ``AuditEntry`` with the author, comment, identity and address, the payload as a string."""
    post_config(client, {"selectStrategy": {"type": "fillCapacity"}}, AUDIT)
    server.clock.advance(60)
    post_config(client, {"selectStrategy": {"type": "equalDistribution"}})
    first = {
        "key": "worker.config",
        "type": "worker.config",
        "auditInfo": {"author": "ops", "identity": "allowAll", "comment": "fill first", "ip": "127.0.0.1"},
        "request": None,
        "payload": (
            '{"type":"default","selectStrategy":{"type":"fillCapacity","affinityConfig":null,'
            '"taskLimits":{"maxSlotCountByType":{},"maxSlotRatioByType":{}}},"autoScaler":null}'
        ),
        "auditTime": START,
    }
    history = client.get(f"{V1}/worker/history").json()
    assert [entry["auditTime"] for entry in history] == [START, "2026-01-01T00:01:00.000Z"]  # oldest first
    assert history[0] == first
    assert history[1]["auditInfo"] == {"author": "", "identity": "allowAll", "comment": "", "ip": "127.0.0.1"}
    newest = client.get(f"{V1}/worker/history", params={"count": 1}).json()
    assert [entry["auditTime"] for entry in newest] == ["2026-01-01T00:01:00.000Z"]  # count: newest first
    within = client.get(f"{V1}/worker/history", params={"interval": "2025-12-31/2026-01-01T00:00:30Z", "count": 9})
    assert within.json() == [first]  # with an interval, count is not used
    server.clock.advance(8 * 24 * 3600)
    assert client.get(f"{V1}/worker/history").json() == []  # the default interval is the last week
    assert len(client.get(f"{V1}/worker/history", params={"count": 5}).json()) == 2


def test_18_3_bad_count_and_interval_are_answered_as_druid_does(client: httpx.Client) -> None:
    """Reference 18.3: count below 1 is the audit manager's 400, not an Integer JAX-RS's 404, a bad interval a 500."""
    zero = client.get(f"{V1}/worker/history", params={"count": 0})
    assert (zero.status_code, zero.json()) == (400, {"error": "Limit must be greater than zero!"})
    assert client.get(f"{V1}/worker/history", params={"count": "ten"}).status_code == 404
    underscore = client.get(f"{V1}/worker/history", params={"interval": "2026-01-01_2026-01-02"})
    assert underscore.status_code == 500
    assert (
        "Invalid interval[2026-01-01_2026-01-02]: [Format requires a '/' separator: 2026-01-01_2026-01-02]"
        in html.unescape(underscore.text)
    )


def test_18_5_equal_distribution_spreads_tasks_and_fill_capacity_fills_a_worker_first(
    server: LiveServer, client: httpx.Client
) -> None:
    """Reference 18.5: the most free slots (Druid's default) against the most used."""
    for _ in range(3):
        submit(client)
    server.clock.advance(20)
    assert sorted(len(ids) for ids in running_per_host(client).values()) == [1, 1, 1]
    client.post("/__sim/reset", json={})
    post_config(client, {"selectStrategy": {"type": "fillCapacity"}})
    for _ in range(4):
        submit(client)
    server.clock.advance(20)
    assert sorted(len(ids) for ids in running_per_host(client).values()) == [0, 1, 3]


def test_18_5_strong_affinity_keeps_a_datasource_on_its_workers_and_others_off_them(
    server: LiveServer, client: httpx.Client
) -> None:
    """Reference 18.5: ``WorkerSelectUtils.selectWorker`` with a strong ``affinityConfig``."""
    first, *others = hosts(client)
    affinity = {"affinity": {"wiki": [first]}, "strong": True}
    post_config(client, {"selectStrategy": {"type": "equalDistributionWithAffinity", "affinityConfig": affinity}})
    wiki = [submit(client, "wiki") for _ in range(4)]
    orders = [submit(client, "orders") for _ in range(2)]
    server.clock.advance(20)
    running = running_per_host(client)
    assert len(running[first]) == 3 and set(running[first]) < set(wiki)  # three slots, four tasks
    assert {task_id for host in others for task_id in running[host]} == set(orders)
    pending = [task["id"] for task in client.get(f"{V1}/pendingTasks").json()]
    assert pending == [task_id for task_id in wiki if task_id not in running[first]]


def test_18_5_weak_affinity_spills_over_to_workers_in_no_list(server: LiveServer, client: httpx.Client) -> None:
    """Reference 18.5: without ``strong``, a task whose workers are full takes a worker of no affinity list."""
    first, *others = hosts(client)
    post_config(client, {"selectStrategy": {"affinityConfig": {"affinity": {"wiki": [first]}}}})
    wiki = [submit(client, "wiki") for _ in range(5)]
    server.clock.advance(20)
    running = running_per_host(client)
    assert set(running[first]) | {task_id for host in others for task_id in running[host]} == set(wiki)
    assert len(running[first]) == 3


def test_18_5_a_changed_strategy_places_the_tasks_not_yet_running(server: LiveServer, client: httpx.Client) -> None:
    """Reference 18.5: the task runner reads the config at each assignment; what runs stays where it is."""
    strong = {
        "type": "fillCapacityWithAffinity",
        "affinityConfig": {"affinity": {"wiki": ["gone:8091"]}, "strong": True},
    }
    post_config(client, {"selectStrategy": strong})
    task_id = submit(client)
    server.clock.advance(600)
    assert [task["id"] for task in client.get(f"{V1}/pendingTasks").json()] == [task_id]  # no worker it may use
    post_config(client, {"selectStrategy": {"type": "fillCapacity"}})
    server.clock.advance(5)
    assert [task["id"] for task in client.get(f"{V1}/runningTasks").json()] == [task_id]


def test_18_4_a_disabled_middle_manager_keeps_its_tasks_gets_none_and_shows_an_empty_version(
    server: LiveServer, client: httpx.Client
) -> None:
    """Reference 18.4: ``POST /worker/{host}/disable`` through the Overlord; ``/workers`` shows version ""."""
    post_config(client, {"selectStrategy": {"type": "fillCapacity"}})
    running = submit(client)
    server.clock.advance(20)
    busy = next(host for host, ids in running_per_host(client).items() if ids == [running])
    answer = client.post(f"{V1}/worker/{busy}/disable")
    assert (answer.status_code, answer.json()) == (200, {busy: "disabled"})
    later = [submit(client) for _ in range(2)]
    server.clock.advance(4)  # out of the queue and on a worker, while the first still runs
    workers = {worker["worker"]["host"]: worker for worker in client.get(f"{V1}/workers").json()}
    assert workers[busy]["worker"]["version"] == "" and workers[busy]["runningTasks"] == [running]
    assert sorted(task_id for host, w in workers.items() if host != busy for task_id in w["runningTasks"]) == sorted(
        later
    )
    assert client.get(f"{V1}/totalWorkerCapacity").json()["currentClusterCapacity"] == 9  # disabled still counts
    enabled = client.post(f"{V1}/worker/{busy}/enable")
    assert (enabled.status_code, enabled.json()) == (200, {busy: "enabled"})
    assert {w["worker"]["host"]: w["worker"]["version"] for w in client.get(f"{V1}/workers").json()}[busy] == "0"


def test_18_4_disabling_every_middle_manager_leaves_new_tasks_pending_until_one_is_enabled(
    server: LiveServer, client: httpx.Client
) -> None:
    """Reference 18.4: no worker is eligible while all are disabled; enabling one hands the task over."""
    every = hosts(client)
    for host in every:
        assert client.post(f"{V1}/worker/{host}/disable").status_code == 200
    task_id = submit(client)
    server.clock.advance(300)
    assert [task["id"] for task in client.get(f"{V1}/pendingTasks").json()] == [task_id]
    client.post(f"{V1}/worker/{every[1]}/enable")
    server.clock.advance(5)
    assert running_per_host(client)[every[1]] == [task_id]


def test_18_4_an_unknown_worker_is_the_overlords_500(client: httpx.Client) -> None:
    """Reference 18.4: ``WorkerTaskRunnerQueryAdapter`` finds no such worker; the handler answers the message."""
    answer = client.post(f"{V1}/worker/nowhere:8091/disable")
    assert (answer.status_code, answer.json()) == (500, {"error": "Worker on host nowhere:8091 does not exists"})


def test_18_4_a_middle_manager_answers_its_own_paths_when_addressed_by_its_host(client: httpx.Client) -> None:
    """Reference 18.4: the MiddleManager's ``WorkerResource``; the simulator knows which by the Host header."""
    host = hosts(client)[2]
    header = {"Host": host}
    assert client.get("/druid/worker/v1/enabled", headers=header).json() == {host: True}
    assert client.post("/druid/worker/v1/disable", headers=header).json() == {host: "disabled"}
    assert client.get("/druid/worker/v1/enabled", headers=header).json() == {host: False}
    assert {w["worker"]["host"]: w["worker"]["version"] for w in client.get(f"{V1}/workers").json()}[host] == ""
    assert client.post("/druid/worker/v1/enable", headers=header).json() == {host: "enabled"}
    assert client.get("/druid/worker/v1/enabled").status_code == 404  # the Overlord serves no such path


def test_18_4_the_cluster_view_says_which_middle_managers_are_enabled(client: httpx.Client) -> None:
    """Reference 18.4: what ``/workers`` shows as version "" the control API's cluster view calls disabled."""
    host = hosts(client)[0]
    client.post(f"{V1}/worker/{host}/disable")
    managers = client.get("/__sim/cluster").json()["workers"]["middleManagers"]
    assert [manager["enabled"] for manager in managers] == [f"{m['host']}:8091" != host for m in managers]


# -- who may: ConfigResourceFilter and StateResourceFilter (docs/security.md 4.3) ------------------------

ADMIN = ("admin", "admin-password")
VIEWER = ("viewer", "viewer-password")
FORBIDDEN = b'{"Access-Check-Result":"Unauthorized"}'


@pytest.fixture
def secured(server: LiveServer, client: httpx.Client) -> LiveServer:
    assert client.post("/__sim/scenario", json={"scenario": "secured-cluster"}).status_code == 200
    return server


def test_18_1_worker_config_needs_config_read_and_write_and_the_audit_names_the_user(
    secured: LiveServer, client: httpx.Client
) -> None:
    """Reference 18.1 - 18.3 and docs/security.md 4.3: ``ConfigResourceFilter``, CONFIG READ for GET, WRITE for
    POST; the viewer has neither. The audit's identity is the authenticated user."""
    for method, path in (("GET", "/worker"), ("GET", "/worker/history"), ("POST", "/worker")):
        refused = client.request(method, V1 + path, json={}, auth=VIEWER)
        assert (refused.status_code, refused.content) == (403, FORBIDDEN)
    assert client.post(f"{V1}/worker", json={}, auth=ADMIN).status_code == 200
    history = client.get(f"{V1}/worker/history", auth=ADMIN).json()
    assert [entry["auditInfo"]["identity"] for entry in history] == ["admin"]


def test_18_4_enabling_a_worker_needs_state_write(secured: LiveServer, client: httpx.Client) -> None:
    """Reference 18.4 and docs/security.md 4.3: ``StateResourceFilter`` on a POST wants STATE WRITE; the
    MiddleManager's own disable wants CONFIG WRITE, its ``enabled`` STATE READ."""
    host = hosts_as(client, ADMIN)[0]
    refused = client.post(f"{V1}/worker/{host}/disable", auth=VIEWER)
    assert (refused.status_code, refused.content) == (403, FORBIDDEN)
    assert client.post("/druid/worker/v1/disable", headers={"Host": host}, auth=VIEWER).status_code == 403
    assert client.get("/druid/worker/v1/enabled", headers={"Host": host}, auth=VIEWER).json() == {host: True}
    assert client.post(f"{V1}/worker/{host}/disable", auth=ADMIN).json() == {host: "disabled"}


def hosts_as(client: httpx.Client, auth: tuple[str, str]) -> list[str]:
    return [worker["worker"]["host"] for worker in client.get(f"{V1}/workers", auth=auth).json()]


# -- the fault layer, the state store, record and replay ---------------------------------------------


def test_18_2_a_fault_answers_the_worker_config_calls_like_any_other(client: httpx.Client) -> None:
    """Reference 18.2: a fault named for ``/worker`` answers it instead of the model, which stays unchanged."""
    fault = {"name": "no-config", "kind": "error", "status": 503, "routes": [f"^{V1}/worker$"], "methods": ["POST"]}
    assert client.post("/__sim/faults", json=fault).status_code == 200
    assert post_config(client, {"selectStrategy": {"type": "fillCapacity"}}).status_code == 503
    assert client.get(f"{V1}/worker/history").json() == []  # another route: not faulted, and nothing audited
    client.delete("/__sim/faults/no-config", headers={"Content-Type": "application/json"})
    assert client.get(f"{V1}/worker").content == b""


def test_18_2_worker_config_history_and_disabled_workers_survive_a_restart(tmp_path: Path) -> None:
    """Reference 18.2 - 18.4 with ``serve --state``: the config, its audit (author, identity, address) and the
    disabled MiddleManager come back as they were."""
    state = str(tmp_path / "state.db")
    args = ("--state", state, "--start-time", START, "--time-scale", "0", "--no-access-log")
    with served(*args) as first, httpx.Client(base_url=first.url) as client:
        post_config(client, {"selectStrategy": {"type": "fillCapacity"}}, AUDIT)
        disabled = hosts(client)[1]
        client.post("/druid/worker/v1/disable", headers={"Host": disabled})
        before = [client.get(f"{V1}/{path}").content for path in ("worker", "worker/history", "workers")]
    with served("--state", state, "--no-access-log") as again, httpx.Client(base_url=again.url) as client:
        after = [client.get(f"{V1}/{path}").content for path in ("worker", "worker/history", "workers")]
        assert after == before
        assert orjson.loads(after[1])[0]["auditInfo"] == {
            "author": "ops",
            "identity": "allowAll",
            "comment": "fill first",
            "ip": "127.0.0.1",
        }


def test_18_1_recorded_worker_config_calls_replay_and_a_hybrid_replay_applies_the_recorded_strategy(
    tmp_path: Path,
) -> None:
    """Reference 18.1 - 18.3 and 18.5: recorded answers come back as recorded; on a miss the model places tasks by the
    strategy the recording posted (fill capacity: one MiddleManager fills first)."""
    fill = {"type": "default", "selectStrategy": {"type": "fillCapacity"}, "autoScaler": None}
    history = [{"key": "worker.config", "type": "worker.config", "payload": "{}", "auditTime": START}]
    cassette = write_cassette(
        tmp_path / "workers.jsonl",
        [
            exchange("POST", f"{V1}/worker", 200, b"", request_body=fill, at=0.0),
            exchange("GET", f"{V1}/worker/history", 200, history, query=[("count", "100")], at=1.0),
        ],
    )
    with replay_server(cassette, replay_on_miss="simulate") as server, httpx.Client(base_url=server.url) as client:
        assert client.get(f"{V1}/worker/history", params={"count": 100}).json() == history
        served_config = client.get(f"{V1}/worker").json()  # a miss: the model's, seeded from the POST
        assert served_config["selectStrategy"]["type"] == "fillCapacity"
        for _ in range(3):
            submit(client)
        server.clock.advance(20)
        assert sorted(len(ids) for ids in running_per_host(client).values()) == [0, 0, 3]
