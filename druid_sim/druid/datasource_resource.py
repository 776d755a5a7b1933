"""``OverlordDataSourcesResource``: marking segments used or unused (reference 16.2).

Every call sits behind ``DatasourceResourceFilter`` (READ for GET, WRITE otherwise) and answers a
``SegmentUpdateResponse``, ``{"numChangedSegments": n}``, counted on the model's segment flags
(`druid_sim.overlord.segments`): what one call changes, the next one sees.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

import orjson

from druid_sim.druid.answers import BodyError, json_body, mismatch
from druid_sim.druid.intervals import IntervalError, parse_interval
from druid_sim.overlord.segments import metadata_of
from druid_sim.runtime import Simulation
from druid_sim.security.access import datasource_filter
from druid_sim.wire import JSON, DruidRequest, DruidResponse, error_page, json_response, text_response

FILTER_CLASS = "org.apache.druid.server.http.SegmentsToUpdateFilter"
INVALID_PAYLOAD = (
    "Invalid request payload. Specify either 'interval' or 'segmentIds', but not both."
    " Optionally, include 'versions' only when 'interval' is provided."
)


def _changed(count: int) -> DruidResponse:
    return json_response(orjson.dumps({"numChangedSegments": count}))


async def mark_all(sim: Simulation, request: DruidRequest) -> DruidResponse:
    """16.2 ``POST /datasources/{ds}`` (all non-overshadowed used) and ``DELETE`` (all unused)."""
    datasource = request.params[0]
    refused = datasource_filter(request.scope, request.method, datasource)
    if refused is not None:
        return refused
    if request.method == "POST":
        try:
            await json_body(request)  # @Consumes(application/json): 415 otherwise
        except BodyError as exc:
            return exc.response
    return _changed(metadata_of(sim.overlord).mark_all(datasource, used=request.method == "POST"))


def _read_filter(request: DruidRequest, value: Any) -> tuple[tuple[int, int] | None, list[str] | None, list[str]]:
    """``SegmentsToUpdateFilter``: (interval, versions, segment ids); `BodyError` for Druid's 400s."""
    if not isinstance(value, Mapping):
        raise BodyError(text_response(INVALID_PAYLOAD, 400, JSON) if value is None else mismatch(FILTER_CLASS, value))
    interval_text, ids, versions = value.get("interval"), value.get("segmentIds"), value.get("versions")
    if (interval_text is None) == (ids is None) or (versions is not None and interval_text is None):
        raise BodyError(text_response(INVALID_PAYLOAD, 400, JSON))
    interval = None
    if interval_text is not None:
        try:
            interval = parse_interval(str(interval_text))
        except IntervalError as exc:
            raise BodyError(error_page(500, request.path, request.header(b"accept"), str(exc), exc.exception)) from None
    if ids is not None and not isinstance(ids, list):
        raise BodyError(mismatch("java.util.HashSet<java.lang.String>", ids))
    if versions is not None and not isinstance(versions, list):
        raise BodyError(mismatch("java.util.ArrayList<java.lang.String>", versions))
    return interval, [str(v) for v in versions] if versions is not None else None, [str(i) for i in ids or []]


async def mark_filtered(sim: Simulation, request: DruidRequest) -> DruidResponse:
    """16.2 ``POST /datasources/{ds}/markUsed`` and ``/markUnused``: by interval (and versions) or by ids."""
    datasource = request.params[0]
    refused = datasource_filter(request.scope, request.method, datasource)
    if refused is not None:
        return refused
    used = request.path.rstrip("/").endswith("markUsed")
    try:
        interval, versions, ids = _read_filter(request, await json_body(request))
    except BodyError as exc:
        return exc.response
    metadata = metadata_of(sim.overlord)
    if interval is not None:
        return _changed(metadata.mark_interval(datasource, interval[0], interval[1], versions, used))
    return _changed(metadata.mark_ids(datasource, ids, used))


async def mark_one(sim: Simulation, request: DruidRequest) -> DruidResponse:
    """16.2 ``POST`` / ``DELETE /datasources/{ds}/segments/{segmentId}``: 1 if its flag changed, else 0."""
    datasource, segment_id = request.params[0], request.params[1]
    refused = datasource_filter(request.scope, request.method, datasource)
    if refused is not None:
        return refused
    metadata = metadata_of(sim.overlord)
    if not metadata.is_segment_id(datasource, segment_id):
        message = f"Could not parse Segment ID[{html.escape(segment_id)}] for DataSource[{html.escape(datasource)}]"
        return text_response(message, 400, JSON)
    return _changed(metadata.mark_ids(datasource, [segment_id], used=request.method == "POST"))
