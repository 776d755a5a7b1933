"""Turning a ``POST /task`` body into a :class:`Submission`, failing the way Druid does (reference 2.11).

Jackson's errors are what a client sees: mapping problems become ``400 {"error": "<first line>"}``,
while a JSON syntax error or a null body is an unmapped exception and becomes a 500 error page.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

from druid_sim.druid.jackson import DEPTH_EXCEPTION, DEPTH_MESSAGE, deep_point, map_mismatch, too_deep
from druid_sim.overlord.ids import invalid_id_reason
from druid_sim.overlord.overlord import Submission

TASK_INTERFACE = "org.apache.druid.indexing.common.task.Task"

#: Task type ids Druid knows (core plus the extensions a quickstart loads) and their classes.
TASK_CLASSES: dict[str, str] = {
    "archive": "org.apache.druid.indexing.common.task.ArchiveTask",
    "compact": "org.apache.druid.indexing.common.task.CompactionTask",
    "index": "org.apache.druid.indexing.common.task.IndexTask",
    "index_hadoop": "org.apache.druid.indexing.common.task.HadoopIndexTask",
    "index_kafka": "org.apache.druid.indexing.kafka.KafkaIndexTask",
    "index_kinesis": "org.apache.druid.indexing.kinesis.KinesisIndexTask",
    "index_parallel": "org.apache.druid.indexing.common.task.batch.parallel.ParallelIndexSupervisorTask",
    "index_realtime_appenderator": "org.apache.druid.indexing.common.task.AppenderatorDriverRealtimeIndexTask",
    "kill": "org.apache.druid.indexing.common.task.KillUnusedSegmentsTask",
    "move": "org.apache.druid.indexing.common.task.MoveTask",
    "noop": "org.apache.druid.indexing.common.task.NoopTask",
    "partial_dimension_cardinality": "org.apache.druid.indexing.common.task.batch.parallel.PartialDimensionCardinalityTask",
    "partial_dimension_distribution": "org.apache.druid.indexing.common.task.batch.parallel.PartialDimensionDistributionTask",
    "partial_generic_segment_merge": "org.apache.druid.indexing.common.task.batch.parallel.PartialGenericSegmentMergeTask",
    "partial_index_generate": "org.apache.druid.indexing.common.task.batch.parallel.PartialHashSegmentGenerateTask",
    "partial_range_index_generate": "org.apache.druid.indexing.common.task.batch.parallel.PartialRangeSegmentGenerateTask",
    "query_controller": "org.apache.druid.msq.indexing.MSQControllerTask",
    "query_worker": "org.apache.druid.msq.indexing.MSQWorkerTask",
    "restore": "org.apache.druid.indexing.common.task.RestoreTask",
    "single_phase_sub_task": "org.apache.druid.indexing.common.task.batch.parallel.SinglePhaseSubTask",
}
#: Types whose data source lives in ``spec.dataSchema.dataSource`` (``spec`` may be ``ingestionSpec``).
SPEC_TYPES = frozenset({"index", "index_parallel", "index_hadoop", "single_phase_sub_task"})
#: Streaming types carry ``dataSchema`` at the top level.
STREAM_TYPES = frozenset({"index_kafka", "index_kinesis", "index_realtime_appenderator"})
#: Types that embed the interval in their auto id.
INTERVAL_TYPES = frozenset({"kill", "archive", "move", "restore"})
#: Task properties bound to a constructor parameter (``@JsonCreator``): Jackson wraps an error read
#: inside one into a ``JsonMappingException`` (400), while an error inside an unknown property it
#: skips, or before the type id, escapes unmapped (500). The ones the simulator reads.
BOUND_PROPERTIES = frozenset(
    {
        "id",
        "groupId",
        "resource",
        "dataSource",
        "context",
        "spec",
        "ingestionSpec",
        "dataSchema",
        "ioConfig",
        "tuningConfig",
        "interval",
    }
)


class SubmissionError(Exception):
    """A body Druid rejects. ``status`` 400 answers ``{"error": message}``; 500 answers an error page."""

    def __init__(self, status: int, message: str, exception: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.exception = exception  # the Java exception class shown on a 500 page


class TooDeepError(SubmissionError):
    """A body nested deeper than Jackson reads (``StreamReadConstraints``, reference 1.1)."""

    def __init__(self) -> None:
        super().__init__(500, DEPTH_MESSAGE, DEPTH_EXCEPTION)


def _mapping_error(message: str) -> SubmissionError:
    """A ``JsonMappingException``: ``CustomExceptionMapper`` answers the first line of its message."""
    return SubmissionError(400, message.split("\n", 1)[0])


def _construct_error(task_type: str, problem: str) -> SubmissionError:
    return _mapping_error(f"Cannot construct instance of `{TASK_CLASSES[task_type]}`, problem: {problem}")


def _json_type_name(value: Any) -> str:
    if isinstance(value, list):
        return "Array value (token `JsonToken.START_ARRAY`)"
    if isinstance(value, str):
        return f"String value ('{value}')"
    if isinstance(value, bool):
        return (
            "Boolean value (token `JsonToken.VALUE_TRUE`)" if value else "Boolean value (token `JsonToken.VALUE_FALSE`)"
        )
    if isinstance(value, int):
        return f"Integer value ({value})"
    return f"Floating-point value ({value})"


def parse_json_body(body: bytes) -> Any:
    """Parse a request body as Jackson would: a 500 SubmissionError on a syntax error, TooDeepError past
    Jackson's nesting limit."""
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        if str(exc).startswith("depth limit exceeded"):
            raise TooDeepError() from None
        if "surrogate" in str(exc):
            value = _with_lone_surrogates(body)
            if value is not None:
                return value
        raise SubmissionError(
            500,
            f"Unexpected character or end-of-input in request body: {exc}",
            "com.fasterxml.jackson.core.JsonParseException",
        ) from None
    if too_deep(body, value):
        raise TooDeepError()
    return value


def _with_lone_surrogates(body: bytes) -> Any:
    """A body orjson refuses only for a lone surrogate escape (``"\\ud800"``), read as Jackson reads it.

    Jackson accepts an unpaired ``\\uD800`` in a string (a Java string may hold one); UTF-8 cannot, so
    each becomes ``?``, as Java's UTF-8 encoder writes one out. None when the body is broken otherwise.
    """
    try:
        text = json.dumps(json.loads(body), ensure_ascii=False)
    except (ValueError, RecursionError):
        return None
    try:
        value = orjson.loads(text.encode("utf-8", "replace"))
    except orjson.JSONDecodeError:
        return None
    if too_deep(body, value):
        raise TooDeepError()
    return value


def _too_deep_task(body: bytes) -> SubmissionError:
    """What a ``Task`` body too deep to read becomes, by where Jackson was when it hit the limit."""
    point = deep_point(body)
    if point.top == b"[":
        return _mapping_error(
            f"Cannot deserialize value of type `{TASK_INTERFACE}` from Array value (token `JsonToken.START_ARRAY`)"
        )
    if point.type_id is not None and point.type_id not in TASK_CLASSES:
        return _unknown_type(point.type_id)
    if point.type_id is not None and point.key in BOUND_PROPERTIES:
        return _mapping_error(DEPTH_MESSAGE)
    return TooDeepError()


def _unknown_type(task_type: Any) -> SubmissionError:
    known = ", ".join(sorted(TASK_CLASSES))
    return _mapping_error(
        "Please make sure to load all the necessary extensions and jars with type "
        f"'{task_type}' on 'druid/overlord' service. Could not resolve type id '{task_type}' as a subtype "
        f"of `{TASK_INTERFACE}` known type ids = [{known}]"
    )


def _datasource(task_type: str, payload: dict[str, Any]) -> Any:
    if task_type in SPEC_TYPES:
        spec = payload.get("spec", payload.get("ingestionSpec"))
        if not isinstance(spec, dict):
            accessor = "getDataSchema()"
            owner = "org.apache.druid.indexing.common.task.batch.parallel.ParallelIndexIngestionSpec"
            if task_type == "index":
                owner = "org.apache.druid.indexing.common.task.IndexTask$IndexIngestionSpec"
            raise _construct_error(task_type, f'Cannot invoke "{owner}.{accessor}" because "ingestionSchema" is null')
        schema = spec.get("dataSchema")
        return schema.get("dataSource") if isinstance(schema, dict) else None
    if task_type in STREAM_TYPES:
        schema = payload.get("dataSchema")
        return schema.get("dataSource") if isinstance(schema, dict) else None
    if task_type == "noop":
        return payload.get("dataSource") or "none"
    if task_type == "query_controller":
        spec = payload.get("spec")
        destination = spec.get("destination") if isinstance(spec, dict) else None
        if isinstance(destination, dict) and destination.get("dataSource"):
            return destination["dataSource"]
        return payload.get("dataSource") or "__query_select"
    return payload.get("dataSource")


def _interval(payload: dict[str, Any]) -> tuple[str, str] | None:
    interval = payload.get("interval")
    if isinstance(interval, str) and "/" in interval:
        start, end = interval.split("/", 1)
        return start, end
    return None


def parse_submission(body: bytes) -> Submission:
    """Validate a ``POST /task`` body (content type already checked) and return the submission."""
    if not body.strip():
        raise SubmissionError(
            500,
            'Cannot invoke "org.apache.druid.indexing.common.task.Task.getId()" because "task" is null',
            "java.lang.NullPointerException",
        )
    try:
        value = parse_json_body(body)
    except TooDeepError:
        raise _too_deep_task(body) from None
    if value is None:
        raise SubmissionError(
            500,
            'Cannot invoke "org.apache.druid.indexing.common.task.Task.getId()" because "task" is null',
            "java.lang.NullPointerException",
        )
    if not isinstance(value, dict):
        raise _mapping_error(f"Cannot deserialize value of type `{TASK_INTERFACE}` from {_json_type_name(value)}")
    task_type = value.get("type")
    if task_type is None:
        raise _mapping_error(
            f"Could not resolve subtype of [simple type, class {TASK_INTERFACE}]: missing type id property 'type'"
        )
    if not isinstance(task_type, str) or task_type not in TASK_CLASSES:
        raise _unknown_type(task_type)
    # Properties are read before the constructor runs, so a context of the wrong shape is reported
    # before anything the constructor checks (id, dataSource, spec).
    mismatch = map_mismatch(value.get("context"))
    if mismatch is not None:
        raise _mapping_error(mismatch)
    task_id = value.get("id")
    if task_id is not None:
        if not isinstance(task_id, str):
            task_id = str(task_id)
        reason = invalid_id_reason(task_id)
        if reason is not None:
            raise _construct_error(task_type, f"Invalid value for field [task ID]: {reason}")
    datasource = _datasource(task_type, value)
    if datasource is None or datasource == "":
        raise _construct_error(task_type, "Invalid value for field [dataSource]: must not be null")
    if not isinstance(datasource, str):
        datasource = str(datasource)
    reason = invalid_id_reason(datasource)
    if reason is not None:
        raise _construct_error(task_type, f"Invalid value for field [dataSource]: {reason}")
    group_id = value.get("groupId")
    return Submission(
        type=task_type,
        datasource=datasource,
        payload=value,
        id=task_id,
        group_id=group_id if isinstance(group_id, str) and group_id else None,
        interval=_interval(value) if task_type in INTERVAL_TYPES else None,
    )
