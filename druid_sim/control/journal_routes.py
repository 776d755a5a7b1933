"""``/__sim/journal``: read, filter, count and clear the requests the Druid API received."""

from __future__ import annotations

from collections import Counter
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from druid_sim.control.core import simulation_of
from druid_sim.control.errors import ControlError, JSONAnswer
from druid_sim.journal import BODY_KEPT, EXCHANGE_BODY_LIMIT, Exchange, Journal, JournalEntry, JournalFilter, journal_of
from druid_sim.logsafe import LogRedaction
from druid_sim.security.viewer import viewer_of
from druid_sim.util.regex import RegexRefused, glob

FILTER_PARAMS = {"method", "path", "status", "answeredBy", "fault", "user", "since", "client"}
GROUPS = {"method", "path", "status", "answeredBy", "fault", "user", "client"}


def _int(params: dict[str, str], name: str, minimum: int) -> int | None:
    value = params.get(name)
    if value is None:
        return None
    try:
        number = int(value)
    except ValueError:
        raise ControlError(400, f"{name} must be an integer, not {value!r}") from None
    if number < minimum:
        raise ControlError(400, f"{name} must be at least {minimum}, not {number}")
    return number


def parse_filter(request: Request, extra: set[str]) -> tuple[JournalFilter, dict[str, str]]:
    """The filter from the query string; unknown parameters are refused so a typo cannot match everything."""
    params = dict(request.query_params)
    unknown = sorted(set(params) - FILTER_PARAMS - extra)
    if unknown:
        accepted = ", ".join(sorted(FILTER_PARAMS | extra))
        raise ControlError(422, f"unknown query parameter(s) {', '.join(unknown)}; this call accepts {accepted}")
    if params.get("path"):
        try:
            glob(params["path"])
        except RegexRefused as exc:
            raise ControlError(400, f"path {exc}") from None
    where = JournalFilter(
        method=params.get("method") or None,
        path=params.get("path") or None,
        status=_int(params, "status", 0),
        answered_by=params.get("answeredBy") or None,
        fault=params.get("fault") or None,
        user=params.get("user") or None,
        since=_int(params, "since", 0),
        client=params.get("client") or None,
    )
    return where, params


def _summary(journal: Journal) -> dict[str, Any]:
    return {"size": journal.size, "held": len(journal), "total": journal.total, "dropped": journal.dropped}


async def get_journal(request: Request) -> Response:
    """``GET /__sim/journal?method=&path=&status=&answeredBy=&fault=&user=&since=&client=&limit=``: oldest first."""
    journal = journal_of(simulation_of(request))
    where, params = parse_filter(request, {"limit"})
    limit = _int(params, "limit", 0)
    entries = journal.select(where, limit)
    viewer = viewer_of(simulation_of(request), request.headers)
    if viewer is not None:  # the dashboard of a signed-in Druid user: its own requests only
        entries = [entry for entry in entries if viewer.made(entry.user)]
    body = {**_summary(journal), "count": len(entries), "entries": [entry.to_json() for entry in entries]}
    return JSONAnswer(body)


def _group_key(entry: JournalEntry, group: str) -> str:
    if group == "method":
        return entry.method
    if group == "path":
        return entry.path
    if group == "status":
        return str(entry.status)
    if group == "answeredBy":
        return str(entry.answered_by)
    if group == "user":
        return str(entry.user)
    if group == "client":
        return str(entry.client_name)
    return str(entry.fault)


async def count_journal(request: Request) -> Response:
    """``GET /__sim/journal/count?...&groupBy=path``: how many requests match, optionally per group."""
    journal = journal_of(simulation_of(request))
    where, params = parse_filter(request, {"groupBy"})
    group = params.get("groupBy")
    if group is None:
        return JSONAnswer({"count": journal.count(where)})
    if group not in GROUPS:
        raise ControlError(422, f"groupBy must be one of {', '.join(sorted(GROUPS))}, not {group!r}")
    entries = journal.select(where)
    groups = Counter(_group_key(entry, group) for entry in entries)
    return JSONAnswer({"count": len(entries), "groupBy": group, "groups": dict(groups.most_common())})


async def clear_journal(request: Request) -> Response:
    """``DELETE /__sim/journal``: forget every entry."""
    journal = journal_of(simulation_of(request))
    return JSONAnswer({"cleared": journal.clear()})


async def journal_cassette(request: Request) -> Response:
    """``GET /__sim/journal/cassette?method=&path=&...``: the matching exchanges as a cassette (JSON Lines),
    redacted as a recording is; ``X-Druid-Sim-Exported`` and ``X-Druid-Sim-Skipped`` say how many went in
    and what was left out (`druid_sim.control.journal_export`)."""
    from druid_sim.control.journal_export import export_cassette

    simulation = simulation_of(request)
    journal = journal_of(simulation)
    where, _ = parse_filter(request, set())
    replay = simulation.extensions.get("replay")
    redactor = None if replay is None else replay.redactor.same_key()  # the cassette's placeholders, its own memo
    entries = journal.select(where)
    exported = await run_in_threadpool(export_cassette, entries, journal_source(simulation), redactor)
    skipped = ", ".join(f"{reason}={count}" for reason, count in sorted(exported.skipped.items()))
    return Response(
        exported.cassette,
        media_type="application/x-ndjson",
        headers={
            "X-Druid-Sim-Exported": str(exported.exported),
            "X-Druid-Sim-Skipped": skipped or "none",
            "Content-Disposition": 'attachment; filename="druid-sim-journal.jsonl"',
        },
    )


def journal_source(simulation: Any) -> str:
    """What the exported cassette's header names as where it was recorded: this server and what it ran."""
    config = simulation.config
    if config.cassette is not None and config.replay_on_miss == "forward":
        what = f"cassette {config.cassette}, misses forwarded to {config.replay_upstream}"
    elif config.cassette is not None:
        what = f"cassette {config.cassette}"
    else:
        what = f"scenario {config.scenario or 'none'}, seed {config.seed}"
    return f"druid-sim journal ({what})"


def _content_type(headers: list[tuple[bytes, bytes]] | None) -> str:
    for name, value in headers or ():
        if name.lower() == b"content-type":
            return value.decode("latin-1").lower()
    return ""


def _side(redaction: LogRedaction, headers: list[tuple[bytes, bytes]] | None, parts: list[bytes]) -> dict[str, Any]:
    """One side of an exchange as shown: headers and the first `BODY_KEPT` bytes of the body redacted, and how
    much of the body that is."""
    size = sum(len(part) for part in parts)
    body = b"".join(parts)[:BODY_KEPT]
    content_type = _content_type(headers)
    binary = bool(body) and not content_type.startswith(("text/", "application/json")) and b"\x00" in body
    return {
        "headers": None if headers is None else [list(pair) for pair in redaction.headers(headers)],
        "body": None if binary else redaction.body(body, content_type),
        "bodyBytes": size,
        "bodyKept": len(body),
        "truncated": size > len(body),
    }


async def get_entry(request: Request) -> Response:
    """``GET /__sim/journal/{seq}``: one request with its headers and body and its answer's (credentials redacted).

    Headers and bodies are kept for the newest requests only (within the journal's `EXCHANGE_BUDGET`, bodies up to
    `EXCHANGE_BODY_LIMIT`); another answers 404 saying so, as does a number the journal no longer holds.
    """
    journal = journal_of(simulation_of(request))
    try:
        seq = int(request.path_params["seq"])
    except ValueError:
        raise ControlError(
            400, f"a journal entry is named by its seq, a number, not {request.path_params['seq']!r}"
        ) from None
    entry = journal.find(seq)
    if entry is None:
        raise ControlError(404, f"the journal holds no request #{seq} (it holds {len(journal)} of {journal.total})")
    exchange: Exchange | None = entry.exchange
    if exchange is None:
        raise ControlError(
            404,
            f"request #{seq} is not kept in detail: its body was over {EXCHANGE_BODY_LIMIT:,} bytes, or newer "
            "requests took the room the journal keeps headers and bodies in",
        )
    redaction = journal.redaction
    return JSONAnswer(
        {
            "entry": entry.to_json(),
            "bodyKeptAtMost": BODY_KEPT,
            "request": _side(redaction, exchange.request_headers, exchange.request_body),
            "response": _side(redaction, exchange.response_headers, exchange.response_body),
        }
    )
