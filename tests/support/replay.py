"""Helpers for replay tests: cassettes written through the cassette writer, and replay servers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson

from druid_sim.asgi import ASGIApp
from druid_sim.cassette import (
    CassetteWriter,
    Interaction,
    RecordMode,
    RedactionRules,
    Redactor,
    Request,
    Response,
    body_from_bytes,
    load_cassette,
    new_meta,
)
from druid_sim.config import ServeConfig
from druid_sim.replay.seed import cassette_end_ms
from druid_sim.runtime import Simulation
from tests.support.live import LiveServer, live_server


def exchange(
    method: str,
    path: str,
    status: int,
    body: Any = None,
    *,
    query: list[tuple[str, str]] | None = None,
    request_body: Any = None,
    request_headers: list[tuple[str, str]] | None = None,
    content_type: str = "application/json",
    elapsed_ms: float = 5.0,
    at: float = 0.0,
) -> Interaction:
    """One recorded exchange; JSON-able bodies are encoded compactly, bytes/str kept as they are."""
    req_bytes = _bytes(request_body)
    headers = list(request_headers or [])
    if request_body is not None and not any(k.lower() == "content-type" for k, _ in headers):
        headers.append(("Content-Type", "application/json"))
    resp_bytes = _bytes(body)
    return Interaction(
        Request(method, path, list(query or []), headers, body_from_bytes(req_bytes)),
        Response(status, [("Content-Type", content_type)], body_from_bytes(resp_bytes, content_type)),
        elapsed_ms=elapsed_ms,
        at=at,
    )


def _bytes(value: Any) -> bytes:
    if value is None:
        return b""
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode()
    return orjson.dumps(value)


def write_cassette(path: Path, interactions: list[Interaction], upstream: str = "http://druid.example:8888") -> Path:
    """Write ``interactions`` through the cassette writer (repeats collapse the way the recorder's do)."""
    with CassetteWriter.open(path, RecordMode.OVERWRITE, new_meta(upstream, None)) as writer:
        for interaction in interactions:
            writer.append(interaction)
    return path


def cassette_with_rule(path: Path, rule: str) -> Path:
    """A cassette whose header carries the user rule ``regex:RULE``, written by hand (the writer refuses a
    rule that does not compile): one ``POST /taskStatus`` exchange."""
    redactor = Redactor("0" * 32, RedactionRules.from_specs(["regex:placeholder"]))
    with CassetteWriter.open(
        path, RecordMode.OVERWRITE, new_meta("http://druid.example:8888", redactor.redaction)
    ) as w:
        w.append(exchange("POST", "/druid/indexer/v1/taskStatus", 200, {}, request_body=["x"]))
    lines = path.read_bytes().splitlines()
    header = orjson.loads(lines[0])
    header["redaction"]["rules"] = [f"regex:{rule}"]
    path.write_bytes(b"\n".join([orjson.dumps(header), *lines[1:]]) + b"\n")
    return path


@contextmanager
def replay_server(
    cassette: Path | str,
    app_factory: Callable[[Simulation], ASGIApp] | None = None,
    http: str | None = None,
    **options: Any,
) -> Iterator[LiveServer]:
    """A real server replaying ``cassette``, frozen at the recording's end unless ``start_ms`` is given."""
    options.setdefault("start_ms", cassette_end_ms(load_cassette(cassette)))
    options.setdefault("time_scale", 0)
    config = ServeConfig(cassette=str(cassette), scenario=None, **options)
    with live_server(config, app_factory, http) as server:
        yield server
