"""Reading a ``POST /supervisor`` body into a supervisor spec, failing as Jackson and Druid do (reference 15.1).

Jackson reads a ``SupervisorSpec`` by its ``type``; a Kafka or Kinesis spec's constructors check what
they need (``dataSchema``, ``ioConfig``, the topic or stream, Kafka's ``bootstrap.servers``) and a
failed check becomes ``400 {"error": "Cannot construct instance of `<class>`, problem: <message>"}``.
The spec is then served back as Druid serializes it: type id, ``id``, ``spec``, the deprecated
top-level copies, ``context`` and ``suspended``, with ``ioConfig``'s defaults filled in.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from druid_sim.druid.jackson import map_mismatch, shape_of
from druid_sim.druid.submission import SubmissionError
from druid_sim.overlord.ids import invalid_id_reason
from druid_sim.overlord.supervisors import StreamSupervisorSpec, served_document

SPEC_INTERFACE = "org.apache.druid.indexing.overlord.supervisor.SupervisorSpec"
#: ``SupervisorSpec`` type ids in a cluster with the Kafka, Kinesis and MSQ extensions.
KNOWN_TYPES = ("NoopSupervisorSpec", "autocompact", "kafka", "kinesis", "scheduled_batch")
SPEC_CLASSES = {
    "kafka": "org.apache.druid.indexing.kafka.supervisor.KafkaSupervisorSpec",
    "kinesis": "org.apache.druid.indexing.kinesis.supervisor.KinesisSupervisorSpec",
}
IO_CLASSES = {
    "kafka": "org.apache.druid.indexing.kafka.supervisor.KafkaSupervisorIOConfig",
    "kinesis": "org.apache.druid.indexing.kinesis.supervisor.KinesisSupervisorIOConfig",
}
DATA_SCHEMA_CLASS = "org.apache.druid.segment.indexing.DataSchema"
NULL_SPEC = 'Cannot invoke "org.apache.druid.indexing.overlord.supervisor.SupervisorSpec.getDataSources()" because "spec" is null'
_DURATION = re.compile(r"^PT?(?:(\d+)D)?T?(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?$", re.IGNORECASE)


def _problem(java_class: str, problem: str) -> SubmissionError:
    return SubmissionError(400, f"Cannot construct instance of `{java_class}`, problem: {problem}")


def duration_ms(text: Any) -> int | None:
    """A Joda period or duration as ``ioConfig`` reads ``taskDuration`` (``PT1H``, ``PT3600S``, ``P1D``)."""
    if not isinstance(text, str):
        return None
    match = _DURATION.match(text.strip())
    if match is None or not any(match.groups()) or not text.upper().startswith("P"):
        return None
    days, hours, minutes, seconds = match.groups()
    total = int(days or 0) * 86400 + int(hours or 0) * 3600 + int(minutes or 0) * 60 + float(seconds or 0)
    return int(total * 1000)


def _count(value: Any, default: int, io_class: str, name: str) -> int:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise _problem(io_class, f"{name} must be a positive integer, not [{value}]")
    return value


def _object(holder: Mapping[str, Any], key: str, java_type: str) -> Mapping[str, Any] | None:
    """An object property as Jackson reads it: absent or null is None; anything but an object is its 400."""
    value = holder.get(key)
    if value is None or isinstance(value, Mapping):
        return value
    raise SubmissionError(400, f"Cannot deserialize value of type `{java_type}` from {shape_of(value)}")


def _ingestion(spec_type: str, value: Mapping[str, Any]) -> Mapping[str, Any]:
    prefix = SPEC_CLASSES[spec_type].rsplit("Spec", 1)[0]
    ingestion = _object(value, "spec", f"{prefix}IngestionSpec") or value
    for key, java_type in (
        ("dataSchema", DATA_SCHEMA_CLASS),
        ("ioConfig", IO_CLASSES[spec_type]),
        ("tuningConfig", f"{prefix}TuningConfig"),
    ):
        if _object(ingestion, key, java_type) is None and key != "tuningConfig":
            raise _problem(SPEC_CLASSES[spec_type], key)
    mismatch = map_mismatch(value.get("context"))
    if mismatch is not None:
        raise SubmissionError(400, mismatch)
    return ingestion


def _stream(spec_type: str, io_config: Mapping[str, Any]) -> str:
    io_class = IO_CLASSES[spec_type]
    if spec_type == "kinesis":
        stream = io_config.get("stream")
        if not isinstance(stream, str) or not stream:
            raise _problem(io_class, "stream cannot be null")
        return stream
    consumer = _object(io_config, "consumerProperties", "java.util.Map<java.lang.String,java.lang.Object>")
    if consumer is None:
        raise _problem(io_class, "consumerProperties")
    if consumer.get("bootstrap.servers") is None:
        raise _problem(io_class, "consumerProperties must contain entry for [bootstrap.servers]")
    topic, pattern = io_config.get("topic"), io_config.get("topicPattern")
    if topic is None and pattern is None:
        raise _problem(io_class, "Either topic or topicPattern must be specified")
    if topic is not None and pattern is not None:
        raise _problem(io_class, f"Only one of topic [{topic}] or topicPattern [{pattern}] must be specified")
    return str(topic if topic is not None else pattern)


def parse_supervisor_spec(value: Any) -> StreamSupervisorSpec:
    """A Kafka or Kinesis spec from a parsed body; `SubmissionError` with Druid's answer otherwise."""
    if value is None:
        raise SubmissionError(500, NULL_SPEC, "java.lang.NullPointerException")
    if not isinstance(value, Mapping):
        raise SubmissionError(400, f"Cannot deserialize value of type `{SPEC_INTERFACE}` from {shape_of(value)}")
    spec_type = value.get("type")
    if spec_type is None:
        raise SubmissionError(
            400, f"Could not resolve subtype of [simple type, class {SPEC_INTERFACE}]: missing type id property 'type'"
        )
    if spec_type not in KNOWN_TYPES:
        raise SubmissionError(
            400,
            "Please make sure to load all the necessary extensions and jars with type "
            f"'{spec_type}' on 'druid/overlord' service. Could not resolve type id '{spec_type}' as a subtype "
            f"of `{SPEC_INTERFACE}` known type ids = [{', '.join(KNOWN_TYPES)}]",
        )
    if spec_type not in SPEC_CLASSES:
        raise SubmissionError(
            400,
            f"druid-sim models Kafka and Kinesis supervisors only; a [{spec_type}] supervisor is not simulated "
            "(submit a spec of type kafka or kinesis)",
        )
    ingestion = _ingestion(spec_type, value)
    datasource = ingestion["dataSchema"].get("dataSource")
    if not isinstance(datasource, str) or not datasource:
        raise _problem(DATA_SCHEMA_CLASS, "Invalid value for field [dataSource]: must not be null")
    reason = invalid_id_reason(datasource)
    if reason is not None:
        raise _problem(DATA_SCHEMA_CLASS, f"Invalid value for field [dataSource]: {reason}")
    io_config = ingestion["ioConfig"]
    stream = _stream(spec_type, io_config)
    io_class = IO_CLASSES[spec_type]
    task_count = _count(io_config.get("taskCount"), 1, io_class, "taskCount")
    replicas = _count(io_config.get("replicas"), 1, io_class, "replicas")
    given_duration = io_config.get("taskDuration", "PT1H")
    task_duration = duration_ms(given_duration)
    if task_duration is None or task_duration < 1000:
        raise _problem(io_class, f'Invalid format: "{given_duration}"')
    supervisor_id = value.get("id")
    supervisor_id = supervisor_id if isinstance(supervisor_id, str) and supervisor_id else datasource
    return StreamSupervisorSpec(
        id=supervisor_id,
        type=spec_type,
        datasource=datasource,
        stream=stream,
        task_count=task_count,
        replicas=replicas,
        task_duration_ms=task_duration,
        document=served_document(spec_type, supervisor_id, ingestion, value),
        suspended=value.get("suspended") is True,
    )
