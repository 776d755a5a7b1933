"""Druid's own web console, served from a build of it as the Router serves it (``--web-console PATH``).

The Router serves the console's files at the root of its port: ``/unified-console.html``, its
``console-config.js``, ``favicon.png``, and the ``public/`` and ``assets/`` folders. druid-sim serves
the same files at the same paths (its own dashboard keeps ``/``), so the console's calls to
``/druid/indexer/v1/...`` and ``/status`` reach the simulated Overlord, as they reach a real one
through the Router. A build of Druid's ``web-console`` (or the files of a distribution's web-console
jar) is what the folder holds.
"""

from __future__ import annotations

from pathlib import Path

from starlette.exceptions import HTTPException
from starlette.staticfiles import StaticFiles

from druid_sim.asgi import Receive, Scope, Send
from druid_sim.wire import error_page

CONSOLE_PAGE = "unified-console.html"
FILES = frozenset({"/" + CONSOLE_PAGE, "/console-config.js", "/favicon.png"})
FOLDERS = ("/public/", "/assets/")


class WebConsoleError(ValueError):
    """The folder is not a build of the console; ``str()`` says what to point at instead."""


def check_console_dir(path: str) -> Path:
    """The folder, if it holds a console build (its ``unified-console.html``); `WebConsoleError` otherwise."""
    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise WebConsoleError(f"--web-console {path}: no such folder; give the folder of a web-console build")
    if not (folder / CONSOLE_PAGE).is_file():
        raise WebConsoleError(
            f"--web-console {path}: no {CONSOLE_PAGE} in it; give the folder of a build of Druid's web-console "
            f"(the one with {CONSOLE_PAGE}, public/ and assets/)"
        )
    return folder


class WebConsole:
    """Pages (`druid_sim.server.app.Pages`) serving a console build's files, GET and HEAD only."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.files = StaticFiles(directory=folder)

    @staticmethod
    def serves(method: str, path: str) -> bool:
        if method not in ("GET", "HEAD"):
            return False
        return path in FILES or path.startswith(FOLDERS)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The file, or Jetty's error page (404 for a file the build does not have), as the Router answers."""
        try:
            await self.files(scope, receive, send)
        except HTTPException as exc:
            accept = next((value.decode("latin-1") for key, value in scope["headers"] if key == b"accept"), None)
            await error_page(exc.status_code, scope["path"], accept)(scope, receive, send)
