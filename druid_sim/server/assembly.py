"""Putting the server together: which middlewares wrap the Druid routes, and the control API.

The order matters and is fixed here, innermost first:

1. the Druid handlers (the Overlord model), or, while the pytest plugin records, a ``Forwarder`` to
   the real cluster in their place;
2. replay, when a cassette is loaded: answers recorded requests, hands misses to the model;
3. faults: latency, errors, resets, leader redirects, applied to whatever answers;
4. security: Druid's Basic authentication, before anything else Druid does (the 401s; reference 1.2);
5. the journal: records every Druid request and what answered it (faults and 401s included);
6. the access log.

``/__sim/`` (the control API) is dispatched before all of these, so no fault can touch it; so is the
dashboard (``GET /`` and ``/__sim/ui/``) unless the configuration turns it off, and Druid's web console
(``--web-console``) at the paths the Router serves it from.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from druid_sim.asgi import ASGIApp, Middleware
from druid_sim.control import build_control_app
from druid_sim.druid.web_console import WebConsole, check_console_dir
from druid_sim.faults import install as install_faults
from druid_sim.journal import journal_middleware
from druid_sim.replay.wiring import replay_middlewares
from druid_sim.runtime import Simulation
from druid_sim.security import install as install_security
from druid_sim.server.app import ChainedPages, Pages, SimulatorApp

if TYPE_CHECKING:  # httpx, which the forwarder needs, takes ~0.15 s to import: only when forwarding
    from druid_sim.replay.forward import Forwarder


def druid_middlewares(simulation: Simulation) -> list[Middleware]:
    """The middlewares around the Druid handlers, innermost first."""
    middlewares: list[Middleware] = []
    middlewares.extend(replay_middlewares(simulation))  # innermost: recorded answers, misses to the model
    middlewares.append(install_faults(simulation))  # faults: applied to whatever answers, in every mode
    middlewares.append(install_security(simulation))  # authentication: before faults and leader redirects
    middlewares.append(journal_middleware(simulation))  # outermost: faulted requests are journaled too
    return middlewares


def control_app(simulation: Simulation) -> ASGIApp | None:
    """The ``/__sim/`` control API, if built."""
    return build_control_app(simulation)


def build_app(
    simulation: Simulation,
    access_log: bool | None = None,
    forward: Forwarder | None = None,
    serialize: Middleware | None = None,
) -> SimulatorApp:
    """The whole ASGI application for ``simulation``.

    ``forward``: what no layer answers goes to this upstream instead of the model (the pytest plugin's
    recorder, while a test records from a real cluster); everything in front of it stays as it is.
    ``serialize``: right around the model, a worker's write lock (``serve --workers N --state``,
    `druid_sim.server.serialized`), inside faults so no delay is taken with the lock held.
    """
    middlewares = druid_middlewares(simulation)
    if serialize is not None:
        middlewares.insert(0, serialize)
    if forward is not None:
        middlewares.insert(0, lambda model: forward)  # innermost, in the model's place
    served: list[Pages] = []
    if simulation.config.dashboard:
        from druid_sim.dashboard import Dashboard

        served.append(Dashboard(simulation))
    if simulation.config.web_console is not None:  # Druid's own console, as the Router serves it
        served.append(WebConsole(check_console_dir(simulation.config.web_console)))
    pages = served[0] if len(served) == 1 else ChainedPages(*served) if served else None
    return SimulatorApp(
        simulation,
        control=control_app(simulation),
        middlewares=middlewares,
        access_log=simulation.config.access_log if access_log is None else access_log,
        on_shutdown=[forward.aclose] if forward is not None else [],
        pages=pages,
    )
