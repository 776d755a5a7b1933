"""The dashboard: a live page for demos, served at ``/`` next to the Druid API.

A real Druid Router serves its web console at ``/``; druid-sim serves this page there. It is one
HTML page (a Jinja2 template) and plain JavaScript and CSS files shipped in the package, served by
Starlette's own ``Jinja2Templates`` and ``StaticFiles``: no build step, no CDN, works offline. The page
reads only what any client can read: the public control API (``/__sim/``, with the control token when
one is set) and the Druid endpoints (so faults hit the page like any client; it names itself with
``X-Druid-Sim-Client: druid-sim-dashboard`` so the traffic view can tell its requests apart).

``SimulatorApp`` dispatches to this app before the Druid middleware chain and the control API's token
check, for ``GET``/``HEAD /`` and everything under ``/__sim/ui/``; every other path, ``/`` with other
methods included, stays Druid's (Jetty's 404 for unknown paths).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.staticfiles import PathLike, StaticFiles
from starlette.templating import Jinja2Templates
from starlette.types import Receive, Scope, Send

from druid_sim import __version__
from druid_sim.asgi import ASGIApp
from druid_sim.control.errors import error_response
from druid_sim.journal import journal_of
from druid_sim.runtime import Simulation

#: Where the page's JavaScript, CSS and icon are served from (under the control prefix, never Druid's).
UI_PREFIX = "/__sim/ui"
#: What the page sends as ``X-Druid-Sim-Client`` on its Druid requests (the journal's ``client``).
DASHBOARD_CLIENT = "druid-sim-dashboard"
HERE = Path(__file__).resolve().parent
STATIC_DIR = HERE / "static"
TEMPLATES_DIR = HERE / "templates"


def serves(method: str, path: str) -> bool:
    """Whether a request is the dashboard's: the page at ``/`` (GET, HEAD) or a file under ``/__sim/ui/``."""
    if path == "/":
        return method in ("GET", "HEAD")
    return path.startswith(UI_PREFIX + "/")


def assets_version() -> str:
    """A short digest of the shipped files: asset URLs change when the files do, so no browser keeps an old copy."""
    digest = hashlib.sha256()
    for path in sorted(STATIC_DIR.rglob("*")):
        if path.is_file():
            digest.update(path.relative_to(STATIC_DIR).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


class RevalidatedFiles(StaticFiles):
    """Static files a browser must revalidate (``no-cache``: a 304 by ETag when unchanged).

    Why: the page's modules import each other by plain relative URLs; without this a browser could keep
    an old module for a while after druid-sim is upgraded (heuristic freshness from Last-Modified).
    """

    def file_response(
        self, full_path: PathLike, stat_result: os.stat_result, scope: Scope, status_code: int = 200
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers["cache-control"] = "no-cache"
        return response


class Dashboard:
    """The dashboard as `druid_sim.server.app.SimulatorApp` dispatches to it: which requests it takes, and its app."""

    def __init__(self, simulation: Simulation) -> None:
        self.app = _starlette_app(simulation)

    @staticmethod
    def serves(method: str, path: str) -> bool:
        return serves(method, path)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


def _starlette_app(simulation: Simulation) -> ASGIApp:
    """The dashboard's Starlette app for ``simulation``: the page and its files."""
    templates = Jinja2Templates(directory=TEMPLATES_DIR)
    version = assets_version()

    async def page(request: Request) -> Response:
        context = {
            "version": __version__,
            "druid_version": simulation.druid_version,
            "assets": version,
            "token_required": simulation.config.control_token is not None,
            # The page names its Druid requests with the journal's key, so that no other client can hide
            # from the Traffic view by calling itself the dashboard (`druid_sim.journal.client_of`).
            "client": f"{DASHBOARD_CLIENT}/{journal_of(simulation).page_key.decode('ascii')}",
        }
        response: Response = templates.TemplateResponse(request, "index.html", context)
        response.headers["cache-control"] = "no-cache"
        return response

    async def not_found(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        message = f"no dashboard file at {request.url.path}; the dashboard is at / and its files under {UI_PREFIX}/"
        return error_response(status, message if status == 404 else str(exc))

    return Starlette(
        routes=[
            Route("/", page, methods=["GET", "HEAD"]),
            Mount(UI_PREFIX, app=RevalidatedFiles(directory=STATIC_DIR), name="ui"),
        ],
        exception_handlers={HTTPException: not_found},
    )


__all__ = ["DASHBOARD_CLIENT", "UI_PREFIX", "Dashboard", "serves"]
