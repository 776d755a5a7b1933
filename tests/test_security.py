"""A secured cluster (the ``secured-cluster`` scenario) over a real socket: Druid's 401s, 403s and filtered lists.

Each test names the Druid source it follows; ``docs/security.md`` has the rule with its section, and
the behaviour reference's section 1.2 (authentication before everything) and 2.1 (list filtering).
The scenario is loaded through the control API, as a test of another process would.
"""

from __future__ import annotations

import base64
import json
import signal
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.live import LiveServer

V1 = "/druid/indexer/v1"
ADMIN = ("admin", "admin-password")
VIEWER = ("viewer", "viewer-password")
SPEC: dict[str, Any] = {"type": "index_parallel", "spec": {"dataSchema": {"dataSource": "wikipedia"}}}
#: PreResponseAuthorizationCheckFilter.handleUnauthenticatedRequest, serialized by DefaultObjectMapper.
CHALLENGE = b'{"error":"Unauthorized request","errorMessage":null,"errorClass":null,"host":"127.0.0.1"}'
#: ForbiddenException through its mapper, with Access.DEFAULT_ERROR_MESSAGE (AbstractAuthConfigurationTest).
FORBIDDEN = b'{"Access-Check-Result":"Unauthorized"}'


@pytest.fixture
def secured(server: LiveServer, client: httpx.Client) -> LiveServer:
    loaded = client.post("/__sim/scenario", json={"scenario": "secured-cluster"})
    assert loaded.status_code == 200, loaded.text
    return server


def basic(text: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(text.encode()).decode()}


def tasks_as(client: httpx.Client, auth: tuple[str, str], path: str = "/tasks", **params: Any) -> list[dict[str, Any]]:
    response = client.get(V1 + path, params=params, auth=auth)
    assert response.status_code == 200, response.text
    tasks: list[dict[str, Any]] = response.json()
    return tasks


def task_of(client: httpx.Client, datasource: str) -> str:
    task_id: str = tasks_as(client, ADMIN, datasource=datasource)[0]["id"]
    return task_id


def assert_challenge(response: httpx.Response) -> None:
    """PreResponseAuthorizationCheckFilter: 401, WWW-Authenticate: Basic, Druid's JSON (docs/security.md 3.1)."""
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Basic"
    assert response.headers["content-type"] == "application/json;charset=utf-8"
    assert response.content == CHALLENGE


def assert_refused(response: httpx.Response, message: str = "Unauthorized") -> None:
    """BasicHTTPAuthenticator's sendError(401[, message]): a Jetty page without a challenge (docs/security.md 3)."""
    assert response.status_code == 401
    assert "www-authenticate" not in response.headers
    assert response.headers["content-type"] == "text/html;charset=iso-8859-1"
    assert f"<tr><th>MESSAGE:</th><td>{message}</td></tr>" in response.text


def assert_forbidden(response: httpx.Response) -> None:
    assert response.status_code == 403
    assert response.headers["content-type"] == "application/json"
    assert response.content == FORBIDDEN


# -- authentication (BasicHTTPAuthenticator, PreResponseAuthorizationCheckFilter; reference 1.2) ----------


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/tasks"), ("GET", "/task/any/status"), ("POST", "/task"), ("GET", "/no-such-path"), ("DELETE", "/tasks")],
)
def test_without_credentials_every_secured_path_answers_the_401_challenge(
    secured: LiveServer, client: httpx.Client, method: str, path: str
) -> None:
    # authentication runs before routing: unknown paths and wrong methods get the 401 too, not 404/405
    assert_challenge(client.request(method, V1 + path))


@pytest.mark.parametrize("authorization", ["Bearer abc", "basic YWRtaW46YWRtaW4tcGFzc3dvcmQ=", "Basic", "Digest x"])
def test_a_header_that_is_not_basic_credentials_is_no_credentials(
    secured: LiveServer, client: httpx.Client, authorization: str
) -> None:
    # BasicAuthUtils.getEncodedUserSecretFromHttpReq: "Basic " (case-sensitive), 7 characters at least
    assert_challenge(client.get(f"{V1}/tasks", headers={"Authorization": authorization}))


def test_a_wrong_password_gets_the_refused_login_page_naming_the_user(
    secured: LiveServer, client: httpx.Client
) -> None:
    # BasicHTTPAuthenticator: BasicSecurityAuthenticationException -> sendError(401, "User authentication failed ...")
    response = client.get(f"{V1}/tasks", auth=("admin", "not-the-password"))
    assert_refused(response, "User authentication failed username[admin].")
    assert "not-the-password" not in response.text


@pytest.mark.parametrize(
    "headers",
    [
        basic("nobody:whatever"),  # unknown user: MetadataStoreCredentialsValidator returns null
        basic("admin"),  # no ':' -> one part
        basic("admin:"),  # Java's split drops the trailing empty part -> one part
        basic("admin:admin-password:x"),  # three parts
        {"Authorization": "Basic not*base64"},  # decodeUserSecret fails
        {"Authorization": "Basic YWRtaW4=x"},  # padding in the middle
    ],
)
def test_credentials_druid_cannot_use_get_the_plain_unauthorized_page(
    secured: LiveServer, client: httpx.Client, headers: dict[str, str]
) -> None:
    assert_refused(client.get(f"{V1}/tasks", headers=headers))


def test_a_malicious_user_name_is_not_echoed(secured: LiveServer, client: httpx.Client) -> None:
    # AbstractAuthConfigurationTest.verifyMaliciousUser: unknown user -> MESSAGE Unauthorized, name absent
    response = client.get("/status", auth=("<script>alert('hello')</script>", "noPass"))
    assert_refused(response)
    assert "<script>" not in response.text


def test_credentials_are_decoded_as_java_does(secured: LiveServer, client: httpx.Client) -> None:
    unpadded = "Basic " + base64.b64encode(b"admin:admin-password").decode().rstrip("=")
    assert client.get(f"{V1}/tasks", headers={"Authorization": unpadded}).status_code == 200  # padding optional
    # String.split(":") drops trailing empty strings: "admin:admin-password:" is user admin, password admin-password
    assert client.get(f"{V1}/tasks", headers=basic("admin:admin-password:")).status_code == 200


@pytest.mark.parametrize("path", ["/status/health", f"{V1}/isLeader"])
def test_unsecured_paths_answer_without_and_despite_wrong_credentials(
    secured: LiveServer, client: httpx.Client, path: str
) -> None:
    # CliOverlord.UNSECURED_PATHS, UnsecuredResourceFilter + AuthenticationWrappingFilter
    assert client.get(path).status_code == 200
    assert client.get(path, auth=("admin", "wrong")).status_code == 200
    assert_challenge(client.get(path + "/"))  # a servlet path spec: only the exact path is open


def test_authentication_comes_before_the_leader_redirect(secured: LiveServer, client: httpx.Client) -> None:
    # reference 8.1: the authentication chain precedes RedirectFilter
    secured.simulation.leadership.leader_url = "http://overlord-2:8090"
    assert_challenge(client.get(f"{V1}/tasks"))
    redirected = client.get(f"{V1}/tasks", auth=VIEWER)
    assert redirected.status_code == 307 and redirected.headers["location"] == "http://overlord-2:8090" + f"{V1}/tasks"


def test_401s_and_403s_are_journaled_as_answered_by_security_and_requests_with_their_user(
    secured: LiveServer, client: httpx.Client
) -> None:
    client.get(f"{V1}/tasks")
    client.get(f"{V1}/tasks", auth=VIEWER)
    client.get(f"{V1}/tasks", auth=("viewer", "wrong"))
    assert_forbidden(client.post(f"{V1}/task", json=SPEC, auth=VIEWER))
    assert client.get(f"{V1}/tasks", params={"datasource": "payroll"}, auth=VIEWER).status_code == 403
    assert client.post(f"{V1}/task/nothing_here/shutdown", json={}, auth=VIEWER).status_code == 404
    entries = client.get("/__sim/journal").json()["entries"]
    assert [(e["status"], e["answeredBy"], e["user"]) for e in entries] == [
        (401, "security", None),
        (200, "model", "viewer"),
        (401, "security", None),
        (403, "security", "viewer"),  # a denial: the permissions answered, not the model
        (403, "security", "viewer"),
        (404, "model", "viewer"),  # Druid looks the task up before it checks the permission
    ]
    assert client.get("/__sim/journal/count", params={"user": "viewer"}).json() == {"count": 4}
    assert client.get("/__sim/journal/count", params={"answeredBy": "security"}).json() == {"count": 4}


# -- authorization: lists (OverlordResource.securedTaskStatusPlus; reference 2.1 step 9) --------------------


@pytest.mark.parametrize("path", ["/tasks", "/completeTasks", "/runningTasks", "/waitingTasks"])
def test_lists_silently_drop_the_tasks_of_datasources_the_user_may_not_read(
    secured: LiveServer, client: httpx.Client, path: str
) -> None:
    everything = tasks_as(client, ADMIN, path)
    visible = tasks_as(client, VIEWER, path)
    assert visible == [task for task in everything if task["dataSource"] != "payroll"]


def test_the_list_is_filtered_after_max_so_a_user_can_get_fewer(secured: LiveServer, client: httpx.Client) -> None:
    newest = tasks_as(client, ADMIN, state="complete", max=4)
    assert "payroll" in {task["dataSource"] for task in newest}  # the scenario's payroll tasks are recent enough
    assert tasks_as(client, VIEWER, state="complete", max=4) == [t for t in newest if t["dataSource"] != "payroll"]


def test_a_datasource_the_user_may_not_read_is_a_plain_text_403(secured: LiveServer, client: httpx.Client) -> None:
    # OverlordResource.getTasks: WebApplicationException, text/plain "Access-Check-Result: <message>"
    response = client.get(f"{V1}/tasks", params={"datasource": "payroll"}, auth=VIEWER)
    assert response.status_code == 403
    assert response.headers["content-type"] == "text/plain"
    assert response.text == "Access-Check-Result: Unauthorized"
    # the state check comes first
    assert client.get(f"{V1}/tasks", params={"datasource": "payroll", "state": "x"}, auth=VIEWER).status_code == 400
    assert all(t["dataSource"] == "orders" for t in tasks_as(client, VIEWER, datasource="orders"))


# -- authorization: one task (TaskResourceFilter) ----------------------------------------------------------


@pytest.mark.parametrize("suffix", ["", "/status", "/log", "/reports", "/segments"])
def test_reading_a_task_of_a_hidden_datasource_is_403_after_the_404_for_unknown_ids(
    secured: LiveServer, client: httpx.Client, suffix: str
) -> None:
    payroll = task_of(client, "payroll")
    assert_forbidden(client.get(f"{V1}/task/{payroll}{suffix}", auth=VIEWER))
    unknown = client.get(f"{V1}/task/no-such-task{suffix}", auth=VIEWER)
    assert (unknown.status_code, unknown.text) == (404, "Cannot find any task with id: [no-such-task]")
    assert client.get(f"{V1}/task/{task_of(client, 'orders')}/status", auth=VIEWER).status_code == 200


def test_the_task_filter_runs_before_query_parameters_are_converted(secured: LiveServer, client: httpx.Client) -> None:
    # Jersey runs resource filters before it converts @QueryParam values (a bad long is a 404 page after them)
    payroll = task_of(client, "payroll")
    assert_forbidden(client.get(f"{V1}/task/{payroll}/log", params={"offset": "abc"}, auth=VIEWER))
    unknown = client.get(f"{V1}/task/no-such-task/log", params={"offset": "abc"}, auth=VIEWER)
    assert unknown.text == "Cannot find any task with id: [no-such-task]"
    orders = client.get(f"{V1}/task/{task_of(client, 'orders')}/log", params={"offset": "abc"}, auth=VIEWER)
    assert orders.status_code == 404 and orders.headers["content-type"].startswith("text/html")


def test_shutting_a_task_down_needs_write_on_its_datasource(secured: LiveServer, client: httpx.Client) -> None:
    # TaskResourceFilter with AbstractResourceFilter.getAction: POST -> WRITE
    wikipedia = task_of(client, "wikipedia")
    assert_forbidden(client.post(f"{V1}/task/{wikipedia}/shutdown", json={}, auth=VIEWER))
    assert client.post(f"{V1}/task/{wikipedia}/shutdown", json={}, auth=ADMIN).json() == {"task": wikipedia}


# -- authorization: submission and the rest (OverlordResource, DatasourceResourceFilter, StateResourceFilter) --


def test_submitting_needs_write_on_the_tasks_datasource_checked_after_the_body(
    secured: LiveServer, client: httpx.Client
) -> None:
    # OverlordResource.taskPost: the body is read first (400 for a bad one), then getNeededResourceActionsForTask
    assert_forbidden(client.post(f"{V1}/task", json=SPEC, auth=VIEWER))
    assert client.post(f"{V1}/task", json={}, auth=VIEWER).status_code == 400
    assert client.post(f"{V1}/task", content=b"{}", auth=VIEWER).status_code == 415
    assert client.get(f"{V1}/tasks", params={"state": "waiting"}, auth=ADMIN).json()[-1]["dataSource"] == "wikipedia"
    submitted = client.post(f"{V1}/task", json=SPEC, auth=ADMIN)
    assert submitted.status_code == 200 and "task" in submitted.json()


def test_shutdown_all_tasks_needs_write_even_when_there_is_nothing_to_shut_down(
    secured: LiveServer, client: httpx.Client
) -> None:
    # DatasourceResourceFilter runs before the handler's 404 for a datasource without active tasks
    assert_forbidden(client.post(f"{V1}/datasources/nothing_here/shutdownAllTasks", auth=VIEWER))
    assert client.post(f"{V1}/datasources/nothing_here/shutdownAllTasks", auth=ADMIN).status_code == 404


def test_task_status_needs_state_write_because_it_is_a_post(secured: LiveServer, client: httpx.Client) -> None:
    # StateResourceFilter + getAction(POST) = WRITE, before any body check (415 for a missing content type)
    assert_forbidden(client.post(f"{V1}/taskStatus", json=["a"], auth=VIEWER))
    assert_forbidden(client.post(f"{V1}/taskStatus", content=b"[]", auth=VIEWER))
    assert client.post(f"{V1}/taskStatus", json=["a"], auth=ADMIN).json() == {}


def test_leader_and_status_need_state_read(secured: LiveServer, client: httpx.Client) -> None:
    assert client.get(f"{V1}/leader", auth=VIEWER).text == secured.url
    assert client.get("/status", auth=VIEWER).json()["version"] == "35.0.0"


def test_deleting_pending_segments_needs_read_and_write_after_the_interval_is_parsed(
    secured: LiveServer, client: httpx.Client
) -> None:
    # OverlordResource.killPendingSegments: Intervals.of first (500 page), then READ + WRITE
    path = f"{V1}/pendingSegments/wikipedia"
    assert client.delete(path, params={"interval": "nonsense"}, auth=VIEWER).status_code == 500
    assert_forbidden(client.delete(path, params={"interval": "2000-01-01/2000-01-02"}, auth=VIEWER))
    assert client.delete(path, params={"interval": "2000-01-01/2000-01-02"}, auth=ADMIN).json() == {"numDeleted": 0}


ROLELESS = """
description: a user without roles, and one who may only write
datasources: [wikipedia]
cluster: [{count: 2, state: complete}]
security:
  users:
    nobody: {password: pw}
    writer: {password: pw, roles: [writer]}
  roles:
    writer: [{resource: {type: DATASOURCE, name: "wiki.*"}, action: WRITE}]
"""


def test_a_user_without_roles_may_do_nothing_and_write_does_not_imply_read(
    server: LiveServer, client: httpx.Client, tmp_path: Path
) -> None:
    # BasicRoleBasedAuthorizer: no roles -> denied; a permission matches one action and the whole name
    scenario = tmp_path / "roleless.yaml"
    scenario.write_text(ROLELESS)
    assert client.post("/__sim/scenario", json={"scenario": str(scenario)}).status_code == 200
    for user in ("nobody", "writer"):
        assert_forbidden(client.get("/status", auth=(user, "pw")))
        assert tasks_as(client, (user, "pw")) == []
    assert_forbidden(client.post(f"{V1}/task", json=SPEC, auth=("nobody", "pw")))
    assert client.post(f"{V1}/task", json=SPEC, auth=("writer", "pw")).status_code == 200


# -- the control API and turning security off -----------------------------------------------------------


def test_the_control_api_shows_users_and_roles_never_passwords(secured: LiveServer, client: httpx.Client) -> None:
    described = client.get("/__sim/scenario").json()
    assert described["security"]["users"] == [
        {"name": "admin", "roles": ["admin"]},
        {"name": "viewer", "roles": ["read_only"]},
    ]
    assert described["security"]["roles"]["read_only"][0] == {
        "resource": {"name": "wikipedia|orders|clickstream", "type": "DATASOURCE"},
        "action": "READ",
    }
    assert "password" not in client.get("/__sim/scenario").text


def test_loading_a_scenario_without_security_turns_it_off(secured: LiveServer, client: httpx.Client) -> None:
    assert client.get(f"{V1}/tasks").status_code == 401
    assert client.post("/__sim/scenario", json={"scenario": None}).status_code == 200
    assert client.get(f"{V1}/tasks").json() == []


# -- faults with Druid's security answers (docs/security.md 5) -----------------------------------------------


def test_an_unauthorized_fault_answers_druids_401_even_without_security(
    server: LiveServer, client: httpx.Client
) -> None:
    faults = "/__sim/faults"
    client.post(faults, json={"kind": "unauthorized", "when": {"first": 1}, "routes": [f"{V1}/task*"]})
    assert_challenge(client.get(f"{V1}/tasks"))
    assert client.get(f"{V1}/tasks").status_code == 200
    client.post(faults, json={"kind": "unauthorized", "answer": "rejected", "user": "etl", "when": {"first": 1}})
    assert_refused(client.get(f"{V1}/tasks"), "User authentication failed username[etl].")
    client.post(faults, json={"kind": "forbidden", "when": {"first": 1}})
    assert client.get("/status/health").status_code == 200  # never on an unsecured path
    assert_forbidden(client.get(f"{V1}/tasks"))


# -- as users run it: druid-sim serve's own settings (uvloop, httptools, access log) --------------------------


def test_serve_secured_cluster_authenticates_and_never_logs_a_password() -> None:
    from tests.test_serve_cli import serve

    with serve("--scenario", "secured-cluster", "--time-scale", "0") as (process, url):
        assert_challenge_from(httpx.get(f"{url}{V1}/tasks"), url)
        assert httpx.get(f"{url}{V1}/tasks", auth=("viewer", "wrong-one")).status_code == 401
        visible = httpx.get(f"{url}{V1}/tasks", auth=VIEWER).json()
        assert visible and "payroll" not in {task["dataSource"] for task in visible}
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=15)
    assert "basic security on (users: admin, viewer)" in out
    assert "Traceback" not in err
    assert f'"GET {V1}/tasks" 401' in err and f'"GET {V1}/tasks" 200' in err
    assert "viewer-password" not in err and "wrong-one" not in err


def assert_challenge_from(response: httpx.Response, url: str) -> None:
    """The challenge names the host the server was started on (DruidNode.getDefaultHost stands for it)."""
    assert response.status_code == 401 and response.headers["www-authenticate"] == "Basic"
    assert response.json() == {
        "error": "Unauthorized request",
        "errorMessage": None,
        "errorClass": None,
        "host": "127.0.0.1",
    }
    assert url.startswith("http://127.0.0.1:")


# -- replaying a cassette on a secured cluster: no express answers around authentication -------------------


def test_a_replayed_answer_is_never_served_to_a_request_without_credentials(tmp_path: Path) -> None:
    from druid_sim.config import ServeConfig
    from tests.support.live import START_MS, live_server
    from tests.support.replay import exchange, write_cassette

    recorded = [{"id": "t1", "dataSource": "wikipedia"}]
    cassette = write_cassette(tmp_path / "c.jsonl", [exchange("GET", f"{V1}/completeTasks", 200, recorded)])
    config = ServeConfig(cassette=str(cassette), scenario="secured-cluster", start_ms=START_MS, time_scale=0)
    with live_server(config) as server, httpx.Client(base_url=server.url) as http:
        for _ in range(2):  # the second GET is one the express lane would answer from memory
            assert http.get(f"{V1}/completeTasks", auth=VIEWER).json() == recorded
            assert_challenge(http.get(f"{V1}/completeTasks"))


def test_a_non_leader_still_checks_state_read_on_the_leader_path_it_answers_itself(
    server: LiveServer, client: httpx.Client, tmp_path: Path
) -> None:
    # reference 8.1: /leader is served locally, through Jersey and so StateResourceFilter
    scenario = tmp_path / "roleless.yaml"
    scenario.write_text(ROLELESS)
    client.post("/__sim/scenario", json={"scenario": str(scenario)})
    server.simulation.leadership.leader_url = "http://overlord-2:8090"
    assert_forbidden(client.get(f"{V1}/leader", auth=("nobody", "pw")))
    assert client.get(f"{V1}/isLeader", auth=("nobody", "pw")).status_code == 404  # unsecured: {"leader":false}


def test_the_druid_openapi_document_describes_the_401_and_403(client: httpx.Client) -> None:
    document = client.get("/__sim/druid-openapi.json").json()
    assert document["components"]["securitySchemes"] == {"basic": {"type": "http", "scheme": "basic"}}
    paths = document["paths"]
    assert set(paths[f"{V1}/task"]["post"]["responses"]) >= {"401", "403"}
    assert "403" not in paths[f"{V1}/completeTasks"]["get"]["responses"]  # filtered, never refused
    assert (
        paths["/status/health"]["get"]["security"] == [{}] and "401" not in paths["/status/health"]["get"]["responses"]
    )


def test_the_journal_command_filters_and_shows_the_user(
    secured: LiveServer, client: httpx.Client, capsys: pytest.CaptureFixture[str]
) -> None:
    from druid_sim.cli import main

    client.get(f"{V1}/tasks", auth=VIEWER)
    client.get(f"{V1}/tasks", auth=ADMIN)
    client.get(f"{V1}/tasks")
    assert main(["journal", "--user", "viewer", "--url", secured.url]) == 0
    (line,) = capsys.readouterr().out.splitlines()
    assert line.endswith(f"GET    {V1}/tasks -> 200 by model as viewer")
    assert main(["journal", "--group-by", "user", "--url", secured.url]) == 0
    assert json.loads(capsys.readouterr().out) == {"viewer": 1, "admin": 1, "None": 1}
