"""``/__sim/faults``: list, add, remove and clear faults, through the fault layer's own API."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from simulator.control.errors import not_available


async def list_faults(request: Request) -> Response:
    raise not_available("faults", "simulator.faults")


async def add_faults(request: Request) -> Response:
    raise not_available("faults", "simulator.faults")


async def remove_fault(request: Request) -> Response:
    raise not_available("faults", "simulator.faults")


async def clear_faults(request: Request) -> Response:
    raise not_available("faults", "simulator.faults")
