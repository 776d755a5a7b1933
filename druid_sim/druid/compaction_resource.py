"""``OverlordCompactionResource``: the compaction calls the Coordinator and the web console make (reference 16.1).

The cluster compaction config is kept in the model (`druid_sim.overlord.segments`), so what one call
posts the next one reads, and ``isSupervisorEnabled`` follows its ``useSupervisors``. No datasource has
a compaction config of its own, so the per-datasource lists are empty.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from druid_sim.druid.answers import BodyError, config_filter, json_body, legacy_error, mismatch
from druid_sim.overlord.segments import DEFAULT_COMPACTION_CONFIG, metadata_of
from druid_sim.runtime import Simulation
from druid_sim.wire import DruidRequest, DruidResponse, json_response

CLUSTER_CONFIG = "org.apache.druid.server.coordinator.ClusterCompactionConfig"
ENGINES = ("native", "msq")
ENGINE_CLASS = "org.apache.druid.indexer.CompactionEngine"


async def get_is_supervisor_enabled(sim: Simulation, request: DruidRequest) -> DruidResponse:
    """16.1 ``GET /compaction/isSupervisorEnabled``: ``true`` or ``false`` (``ConfigResourceFilter``)."""
    refused = config_filter(request)
    if refused is not None:
        return refused
    enabled = bool(metadata_of(sim.overlord).compaction_config["useSupervisors"])
    return json_response(b"true" if enabled else b"false")


async def get_cluster_config(sim: Simulation, request: DruidRequest) -> DruidResponse:
    """16.1 ``GET /compaction/config/cluster``: the ``ClusterCompactionConfig`` in force."""
    refused = config_filter(request)
    if refused is not None:
        return refused
    return json_response(orjson.dumps(metadata_of(sim.overlord).compaction_config))


def _field(value: Mapping[str, Any], name: str, kinds: tuple[type, ...], java: str) -> Any:
    given = value.get(name)
    if given is None:
        return DEFAULT_COMPACTION_CONFIG[name]
    if isinstance(given, bool) != (bool in kinds) or not isinstance(given, kinds):
        raise BodyError(mismatch(java, given))
    return given


def read_cluster_config(value: Any) -> dict[str, Any]:
    """A posted ``ClusterCompactionConfig``: absent fields take their defaults (the whole config is replaced)."""
    if not isinstance(value, Mapping):
        raise BodyError(mismatch(CLUSTER_CONFIG, value))
    engine = value.get("engine") or "native"
    if not isinstance(engine, str):
        raise BodyError(mismatch(ENGINE_CLASS, engine))
    if engine.lower() not in ENGINES:
        message = (
            f'Cannot deserialize value of type `{ENGINE_CLASS}` from String "{engine}": '
            "not one of the values accepted for Enum class: [native, msq]"
        )
        raise BodyError(legacy_error(message, 400))
    policy = value.get("compactionPolicy") or DEFAULT_COMPACTION_CONFIG["compactionPolicy"]
    if not isinstance(policy, Mapping):
        raise BodyError(mismatch("org.apache.druid.server.compaction.CompactionCandidateSearchPolicy", policy))
    return {
        "compactionTaskSlotRatio": float(_field(value, "compactionTaskSlotRatio", (int, float), "java.lang.Double")),
        "maxCompactionTaskSlots": _field(value, "maxCompactionTaskSlots", (int,), "java.lang.Integer"),
        "compactionPolicy": dict(policy),
        "useSupervisors": _field(value, "useSupervisors", (bool,), "java.lang.Boolean"),
        "engine": engine.lower(),
    }


async def post_cluster_config(sim: Simulation, request: DruidRequest) -> DruidResponse:
    """16.1 ``POST /compaction/config/cluster``: replace the config, ``{"success": true}``."""
    refused = config_filter(request)
    if refused is not None:
        return refused
    try:
        value = await json_body(request)
        config = read_cluster_config(value if value is not None else {})
    except BodyError as exc:
        return exc.response
    metadata_of(sim.overlord).compaction_config = config
    return json_response(b'{"success":true}')


async def get_datasource_configs(sim: Simulation, request: DruidRequest) -> DruidResponse:
    """16.1 ``GET /compaction/config/datasources``: ``{"compactionConfigs": []}``."""
    return json_response(b'{"compactionConfigs":[]}')


async def get_compaction_status(sim: Simulation, request: DruidRequest) -> DruidResponse:
    """16.1 ``GET /compaction/status/datasources``: ``{"latestStatus": []}`` (no auto-compaction snapshot)."""
    return json_response(b'{"latestStatus":[]}')
