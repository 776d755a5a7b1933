"""Scenario and cassette: what is loaded, loading another, and the recorded interactions not yet used.

The scenario engine (``simulator.scenario``) and the replayer (``simulator.replay``) own the loading
and the bookkeeping; this module only translates between them and JSON. While one of them is missing
from the build, its calls answer 501 naming what is missing.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from simulator.control.core import simulation_of
from simulator.control.errors import JSONAnswer, not_available


async def get_scenario(request: Request) -> Response:
    """``GET /__sim/scenario``: the scenario the simulation starts from."""
    simulation = simulation_of(request)
    return JSONAnswer({"scenario": simulation.config.scenario, "seed": simulation.config.seed})


async def load_scenario(request: Request) -> Response:
    """``POST /__sim/scenario`` ``{"scenario": NAME|FILE}``."""
    raise not_available("loading a scenario at run time", "simulator.scenario")


async def get_cassette(request: Request) -> Response:
    """``GET /__sim/cassette``: the cassette replayed, if any."""
    simulation = simulation_of(request)
    return JSONAnswer({"cassette": simulation.config.cassette})


async def load_cassette(request: Request) -> Response:
    """``POST /__sim/cassette`` ``{"cassette": FILE}``."""
    raise not_available("loading a cassette at run time", "simulator.replay")


async def unused_interactions(request: Request) -> Response:
    """``GET /__sim/cassette/unused``: recorded interactions no request has matched yet."""
    raise not_available("listing unused recorded interactions", "simulator.replay")
