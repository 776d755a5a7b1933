"""Is uvicorn's ``HttpToolsProtocol`` still the one the express lane was written against? Asked once at start.

The express lane (`druid_sim.server.express_http`) and the server limits (`druid_sim.server.guarded_http`) subclass
uvicorn's httptools protocol, which is not public API: they override its parser and connection callbacks
and read a few dozen of the protocol's attributes. ``pyproject.toml``
holds uvicorn to the minor versions this was tested with, but an install can still meet another one (a
user's own pin, a patched build). Rather than fail there, or misbehave on the wire, ``druid-sim serve``
and the test servers ask :func:`http_protocol` which protocol to give uvicorn: ours when every name it
relies on is where it expects, otherwise uvicorn's own ``httptools`` protocol (answers are the same; the
fast path for replayed polls and the ``--max-*`` / ``--*-timeout`` limits are gone) with one WARNING
saying what differs.

The check reads uvicorn's code, it does not run it: the attributes a class sets are the ``STORE_ATTR``
names in its methods' bytecode, so nothing is instantiated and no socket is opened.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import logging
from collections.abc import Iterable, Mapping
from typing import Any

from druid_sim.util.introspect import stored_attributes

logger = logging.getLogger("druid_sim.express")

#: uvicorn's ``http`` setting: httptools with the server limits (`druid_sim.server.guarded_http`) and the express
#: lane (`druid_sim.server.express_http`); by import path, so uvicorn loads it in every worker.
HTTP_PROTOCOL = "druid_sim.server.guarded_http:ServerHttpProtocol"
#: uvicorn's own protocol, the fallback when the installed uvicorn is not the one the express lane knows.
STOCK_PROTOCOL = "httptools"
#: The module the express lane imports from, and the names it takes there.
IMPL_MODULE = "uvicorn.protocols.http.httptools_impl"
MODULE_NAMES = ("HttpToolsProtocol", "HEADER_RE", "HEADER_VALUE_RE", "STATUS_LINE", "RequestResponseCycle")
#: ``HttpToolsProtocol.__init__``'s parameters, which the subclass passes on.
INIT_PARAMETERS = ("config", "server_state", "app_state", "_loop")
#: Methods of the protocol the subclasses (the express lane, the server limits) override or call.
METHODS = (
    "connection_made",
    "connection_lost",
    "data_received",
    "on_headers_complete",
    "on_body",
    "on_message_complete",
    "_start_asgi_task",
    "_unset_keepalive_if_required",
    "_should_upgrade",
    "_unsupported_upgrade_warning",
    "handle_websocket_upgrade",
    "send_400_response",
    "timeout_keep_alive_handler",
)
#: Attributes the protocol sets on itself that the subclass reads.
ATTRIBUTES = (
    "app",
    "connections",
    "logger",
    "scope",
    "loop",
    "parser",
    "transport",
    "flow",
    "url",
    "headers",
    "client",
    "expect_100_continue",
    "pipeline",
    "cycle",
    "server_state",
    "timeout_keep_alive",
    "timeout_keep_alive_task",
)
#: Attributes of the objects behind those attributes: (class in the module's namespace, attributes).
NESTED_ATTRIBUTES = (
    # self.cycle
    ("RequestResponseCycle", ("response_complete", "response_started", "disconnected", "message_event", "scope")),
    ("FlowControl", ("write_paused",)),  # self.flow (and its resume_reading)
    ("ServerState", ("default_headers", "total_requests")),  # self.server_state
)
#: Methods of httptools' parser (``self.parser``) the subclass calls.
PARSER_METHODS = ("get_method", "get_http_version", "should_keep_alive", "should_upgrade")


def check_express(impl: Any = None) -> list[str]:
    """What in uvicorn's httptools module (``impl``; by default the installed one) differs from what the
    express lane expects; an empty list when it can be used."""
    if impl is None:
        try:
            impl = importlib.import_module(IMPL_MODULE)
        except ImportError as exc:
            return [f"{IMPL_MODULE} cannot be imported ({exc})"]
    problems = [f"{IMPL_MODULE} has no {name}" for name in MODULE_NAMES if not hasattr(impl, name)]
    if problems:
        return problems
    status_line = impl.STATUS_LINE
    if not isinstance(status_line, Mapping) or not bytes(status_line.get(200, b"")).startswith(b"HTTP/1.1 200 "):
        problems.append("STATUS_LINE is no longer a status code → status line mapping")
    protocol = impl.HttpToolsProtocol
    try:
        parameters = list(inspect.signature(protocol.__init__).parameters)[1:]
    except (TypeError, ValueError):
        parameters = []
    if parameters[: len(INIT_PARAMETERS)] != list(INIT_PARAMETERS):
        problems.append(
            f"HttpToolsProtocol.__init__ takes ({', '.join(parameters)}), not ({', '.join(INIT_PARAMETERS)})"
        )
    problems += _missing(protocol, "HttpToolsProtocol", METHODS)
    problems += _unset(protocol, "HttpToolsProtocol", ATTRIBUTES)
    for class_name, attributes in NESTED_ATTRIBUTES:
        nested = getattr(impl, class_name, None)
        if not isinstance(nested, type):
            problems.append(f"{IMPL_MODULE} has no {class_name}")
        else:
            problems += _unset(nested, class_name, attributes)
    parser = getattr(getattr(impl, "httptools", None), "HttpRequestParser", None)
    if parser is None:
        problems.append(f"{IMPL_MODULE} no longer uses httptools.HttpRequestParser")
    else:
        problems += _missing(parser, "HttpRequestParser", PARSER_METHODS)
    return problems


def _missing(cls: type, label: str, names: Iterable[str]) -> list[str]:
    return [f"{label} has no method {name}" for name in names if not callable(getattr(cls, name, None))]


def _unset(cls: type, label: str, names: Iterable[str]) -> list[str]:
    stored = stored_attributes(cls)
    return [f"{label} no longer sets self.{name}" for name in names if name not in stored]


@functools.cache
def http_protocol() -> str:
    """uvicorn's ``http`` setting for this process: `choose_protocol` for the installed uvicorn, once."""
    return choose_protocol()


def choose_protocol(impl: Any = None) -> str:
    """The express lane if ``impl`` (uvicorn's httptools module by default) passes `check_express`,
    else uvicorn's own protocol, after one WARNING naming what differs."""
    problems = check_express(impl)
    if not problems:
        return HTTP_PROTOCOL
    import uvicorn

    logger.warning(
        "uvicorn %s differs from what druid-sim's express lane and limits expect (%s); serving with uvicorn's "
        "own httptools protocol instead (same answers; replayed polls lose the fast path, and request size, "
        "time and connection limits are not enforced)",
        uvicorn.__version__,
        "; ".join(problems),
    )
    return STOCK_PROTOCOL


__all__ = ["HTTP_PROTOCOL", "STOCK_PROTOCOL", "check_express", "choose_protocol", "http_protocol", "stored_attributes"]
