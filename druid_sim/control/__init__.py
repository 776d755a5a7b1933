"""The ``/__sim/`` control API: health, reset, clock, scenario, cassette, faults, journal, OpenAPI.

JSON in and out, served by Starlette. ``SimulatorApp`` dispatches ``/__sim`` before the Druid
middleware chain, so no fault ever touches it. See ``docs/control-api.md``.
"""

from druid_sim.control.app import build_control_app
from druid_sim.control.auth import TokenDecision, decide_control_token, is_loopback

__all__ = ["TokenDecision", "build_control_app", "decide_control_token", "is_loopback"]
