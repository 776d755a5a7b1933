"""The control API's Starlette application: routes, browser and token checks, JSON 404/405s."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from druid_sim.asgi import ASGIApp
from druid_sim.config import ServeConfig
from druid_sim.control import cluster_routes, core, faults_routes, journal_routes, loading, task_routes
from druid_sim.control.auth import RequireToken
from druid_sim.control.browsers import BrowserGuard
from druid_sim.control.errors import Endpoint, JSONAnswer, answers_json, error_response
from druid_sim.control.files import FileAccess
from druid_sim.control.openapi import control_openapi, druid_openapi
from druid_sim.runtime import Simulation
from druid_sim.state.ledger import ledger_of

PREFIX = "/__sim"


async def openapi_document(request: Request) -> Response:
    """``GET /__sim/openapi.json``: this API, described."""
    return JSONAnswer(control_openapi())


async def druid_openapi_document(request: Request) -> Response:
    """``GET /__sim/druid-openapi.json``: the simulated Druid Tasks API, described (Druid publishes none)."""
    return JSONAnswer(druid_openapi(core.simulation_of(request).druid_version))


#: path under /__sim → {method: endpoint}; one Route per path, so a 405 lists every allowed method.
ROUTES: dict[str, dict[str, Endpoint]] = {
    "/health": {"GET": core.health},
    "/reset": {"POST": core.reset},
    "/clock": {"GET": core.get_clock, "POST": core.post_clock},
    "/cluster": {"GET": cluster_routes.get_cluster},
    "/scenario": {"GET": loading.get_scenario, "POST": loading.load_scenario},
    "/scenarios": {"GET": loading.list_scenarios},
    "/cassette": {"GET": loading.get_cassette, "POST": loading.load_cassette},
    "/cassette/unused": {"GET": loading.unused_interactions},
    "/faults": {
        "GET": faults_routes.list_faults,
        "POST": faults_routes.add_faults,
        "DELETE": faults_routes.clear_faults,
    },
    "/faults/presets": {"GET": faults_routes.list_presets},
    "/faults/presets/{preset}": {"POST": faults_routes.arm_preset},
    "/faults/{name:path}": {"DELETE": faults_routes.remove_fault},
    "/journal": {"GET": journal_routes.get_journal, "DELETE": journal_routes.clear_journal},
    "/journal/count": {"GET": journal_routes.count_journal},
    "/journal/cassette": {"GET": journal_routes.journal_cassette},
    "/journal/{seq}": {"GET": journal_routes.get_entry},
    "/tasks/{id}/log": {"GET": task_routes.task_log_size},
    "/openapi.json": {"GET": openapi_document},
    "/druid-openapi.json": {"GET": druid_openapi_document},
}


def standby_answer(request: Request) -> Response | None:
    """A change asked of a replica that does not lead: 307 to the leader's same call, or 503 while none is
    known, as a standby Overlord answers Druid calls (reference 8.1), so every change goes through the leader."""
    simulation = core.simulation_of(request)
    ledger = ledger_of(simulation)
    if ledger is None or ledger.leading:
        return None
    leader = simulation.leadership.leader_url
    if leader is None:
        return error_response(503, "no leader is known yet (replicas are electing one); retry in a few seconds")
    target = leader + request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return Response(status_code=307, headers={"location": target})


def _route(path: str, endpoints: dict[str, Endpoint]) -> Route:
    by_method = {method: answers_json(endpoint) for method, endpoint in endpoints.items()}
    if "GET" in by_method:
        by_method["HEAD"] = by_method["GET"]

    async def dispatch(request: Request) -> Response:
        if request.method not in ("GET", "HEAD"):
            standby = standby_answer(request)
            if standby is not None:
                return standby
        return await by_method[request.method](request)

    return Route(PREFIX + path, dispatch, methods=list(by_method))


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        message = f"no control API call at {request.url.path}; the calls are listed at {PREFIX}/openapi.json"
    elif exc.status_code == 405:
        allowed = (exc.headers or {}).get("Allow", "")
        message = f"{request.method} is not allowed on {request.url.path}; use {allowed}"
    else:
        message = str(exc.detail)
    return error_response(exc.status_code, message, dict(exc.headers) if exc.headers else None)


def build_control_app(simulation: Simulation) -> ASGIApp:
    """The ``/__sim/`` app for ``simulation``: behind the browser checks, and the token check when configured."""
    config = simulation.config
    app = Starlette(
        routes=[_route(path, endpoints) for path, endpoints in ROUTES.items()],
        exception_handlers={HTTPException: _http_error},
    )
    app.state.simulation = simulation
    app.state.files = FileAccess.at_start(config.data_dirs, _files_given_at_start(config))
    app.state.loading_cassette = False
    token = config.control_token
    guarded: ASGIApp = RequireToken(app, token) if token else app
    return BrowserGuard(guarded, config.host)


def _files_given_at_start(config: ServeConfig) -> list[str | None]:
    """The scenario file (not a built-in's name) and cassette the server started with: always allowed."""
    from druid_sim.scenario import builtin_names

    scenario = config.scenario if config.scenario not in builtin_names() else None
    return [scenario, config.cassette]
