"""``/__sim/journal``: read, filter, count and clear the requests the Druid API received."""

from __future__ import annotations

from collections import Counter
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from druid_sim.control.core import simulation_of
from druid_sim.control.errors import ControlError, JSONAnswer
from druid_sim.journal import Journal, JournalEntry, JournalFilter, journal_of

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
