"""``OverlordResource``'s lock endpoints: ``POST /lockedIntervals/v2`` and ``POST /activeLocks`` (reference 14).

Both read a ``List<LockFilterPolicy>`` and answer from the locks the model's tasks hold now
(`druid_sim.overlord.locks`). Both sit behind ``StateResourceFilter``; being POSTs, they need STATE WRITE.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from druid_sim.druid.answers import BodyError, json_body, legacy_error, mismatch
from druid_sim.druid.intervals import IntervalError, parse_interval
from druid_sim.overlord.locks import LockFilter, lockbox_of
from druid_sim.runtime import Simulation
from druid_sim.security.access import state_filter
from druid_sim.wire import JSON, DruidRequest, DruidResponse, error_page, json_response, text_response

POLICY_LIST = "java.util.List<org.apache.druid.metadata.LockFilterPolicy>"
POLICY = "org.apache.druid.metadata.LockFilterPolicy"


class _Refused(Exception):
    def __init__(self, response: DruidResponse) -> None:
        super().__init__(response.status)
        self.response = response


def _policy(request: DruidRequest, item: Any) -> LockFilter:
    """One ``LockFilterPolicy`` as Jackson reads it: a missing priority is 0, intervals are Joda intervals."""
    if item is None:
        return LockFilter(None)
    if not isinstance(item, Mapping):
        raise _Refused(mismatch(POLICY, item))
    datasource = item.get("datasource")
    priority = item.get("priority", 0)
    if priority is None:
        priority = 0
    if isinstance(priority, bool) or not isinstance(priority, int | str):
        raise _Refused(mismatch("int", priority))
    try:
        priority = int(priority)
    except ValueError:
        raise _Refused(legacy_error(f'Cannot deserialize value of type `int` from String "{priority}"', 400)) from None
    intervals = item.get("intervals")
    windows: tuple[tuple[int, int], ...] | None = None
    if intervals is not None:
        if not isinstance(intervals, list):
            raise _Refused(mismatch("java.util.ArrayList<org.joda.time.Interval>", intervals))
        parsed = []
        for text in intervals:
            try:
                parsed.append(parse_interval(str(text)))
            except IntervalError as exc:
                raise _Refused(
                    error_page(500, request.path, request.header(b"accept"), str(exc), exc.exception)
                ) from None
        windows = tuple(parsed)
    return LockFilter(datasource if isinstance(datasource, str) else None, priority, windows)


async def _filters(request: DruidRequest) -> list[LockFilter] | DruidResponse:
    denied = state_filter(request.scope, request.method)
    if denied is not None:
        return denied
    try:
        body = await json_body(request)
        if body is not None and not isinstance(body, list):
            return mismatch(POLICY_LIST, body)
        if not body:
            return text_response("No filter provided", 400, JSON)
        return [_policy(request, item) for item in body]
    except (BodyError, _Refused) as exc:
        return exc.response


async def post_locked_intervals(sim: Simulation, request: DruidRequest) -> DruidResponse:
    """14.2 ``POST /lockedIntervals/v2``: ``{datasource: [interval, ...]}`` for the datasources with locks."""
    filters = await _filters(request)
    if isinstance(filters, DruidResponse):
        return filters
    overlord = sim.overlord
    return json_response(orjson.dumps(lockbox_of(overlord).locked_intervals(filters, overlord.now())))


async def post_active_locks(sim: Simulation, request: DruidRequest) -> DruidResponse:
    """14.3 ``POST /activeLocks``: ``{"datasourceToLocks": {datasource: [TaskLock, ...]}}``."""
    filters = await _filters(request)
    if isinstance(filters, DruidResponse):
        return filters
    overlord = sim.overlord
    locks = lockbox_of(overlord).active_locks(filters, overlord.now())
    return json_response(orjson.dumps({"datasourceToLocks": locks}))
