"""Reading a posted ``WorkerBehaviorConfig`` as Jackson does, and writing it back as Druid serializes it (reference 18.2).

``WorkerBehaviorConfig`` and ``WorkerSelectStrategy`` both have a ``defaultImpl``: a missing or unknown
``type`` is not an error but the default (``DefaultWorkerBehaviorConfig``, ``EqualDistributionWorkerSelectStrategy``).
Unknown properties are ignored. What the constructors refuse becomes Jackson's
``Cannot construct instance of `<class>`, problem: <message>`` (a 400 ``{"error"}``); a value of the wrong
JSON shape is Jackson's mismatch.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from druid_sim.druid.jackson import shape_of
from druid_sim.overlord.worker_select import (
    STRATEGY_KINDS,
    Affinity,
    CategorySpec,
    WorkerSelect,
    java_map_order,
)

SETUP = "org.apache.druid.indexing.overlord.setup"
CONFIG_CLASS = f"{SETUP}.DefaultWorkerBehaviorConfig"
#: The class each strategy type is read into (the type ids of ``WorkerSelectStrategy``'s ``@JsonSubTypes``).
STRATEGY_CLASSES = {
    "equalDistribution": "EqualDistributionWorkerSelectStrategy",
    "equalDistributionWithAffinity": "EqualDistributionWithAffinityWorkerSelectStrategy",
    "equalDistributionWithCategorySpec": "EqualDistributionWithCategorySpecWorkerSelectStrategy",
    "fillCapacity": "FillCapacityWorkerSelectStrategy",
    "fillCapacityWithAffinity": "FillCapacityWithAffinityWorkerSelectStrategy",
    "fillCapacityWithCategorySpec": "FillCapacityWithCategorySpecWorkerSelectStrategy",
    "javascript": "JavaScriptWorkerSelectStrategy",
}
#: A posted autoscaler of any type is a ``NoopAutoScaler`` without the EC2 extension (its ``defaultImpl``),
#: which has no properties: Jackson writes only its type id, the class's simple name.
NOOP_AUTOSCALER = {"type": "NoopAutoScaler"}


class ConfigBodyError(ValueError):
    """Jackson's or a constructor's refusal; ``str()`` is the ``{"error"}`` message."""


def _mismatch(java_type: str, value: Any) -> ConfigBodyError:
    return ConfigBodyError(f"Cannot deserialize value of type `{java_type}` from {shape_of(value)}")


def _problem(java_class: str, message: str) -> ConfigBodyError:
    return ConfigBodyError(f"Cannot construct instance of `{SETUP}.{java_class}`, problem: {message}")


def _boolean(value: Any) -> bool:
    if value is None or isinstance(value, bool):
        return bool(value)
    raise _mismatch("boolean", value)


def _object(value: Any, java_type: str) -> Mapping[str, Any] | None:
    if value is None or isinstance(value, Mapping):
        return value
    raise _mismatch(java_type, value)


def _java_map(items: Mapping[str, Any]) -> str:
    """``AbstractMap.toString()``: ``{a=1, b=2}``."""
    return "{" + ", ".join(f"{key}={_java_value(value)}" for key, value in items.items()) + "}"


def _java_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _java_string(value: Any) -> str | None:
    """A ``String`` element as Jackson reads it: scalars are coerced to their text, null kept, containers refused."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, dict | list):
        raise _mismatch("java.lang.String", value)
    return _java_value(value)


def _task_limits(value: Any) -> dict[str, Any]:
    """``TaskLimits``: served back with both maps (empty when absent); refused as its constructor refuses."""
    given = _object(value, f"{SETUP}.TaskLimits") or {}
    counts = _object(given.get("maxSlotCountByType"), "java.util.Map<java.lang.String,java.lang.Integer>")
    ratios = _object(given.get("maxSlotRatioByType"), "java.util.Map<java.lang.String,java.lang.Double>")
    for count in (counts or {}).values():
        if isinstance(count, bool) or not isinstance(count, int):
            raise _mismatch("java.lang.Integer", count)
    for ratio in (ratios or {}).values():
        if isinstance(ratio, bool) or not isinstance(ratio, int | float):
            raise _mismatch("java.lang.Double", ratio)
    if counts is not None and any(count < 0 for count in counts.values()):
        found = _java_map(counts)
        raise _problem(
            "TaskLimits", f"Max task slot count limit for any type must be greater than zero. Found[{found}]."
        )
    if ratios is not None and any(ratio < 0 or ratio > 1 for ratio in ratios.values()):
        found = "null" if counts is None else _java_map(counts)  # Druid prints the count limits here
        raise _problem("TaskLimits", f"Max task slot ratios should be in the interval of [0, 1]. Found[{found}].")
    return {
        "maxSlotCountByType": dict(counts or {}),
        "maxSlotRatioByType": {key: float(ratio) for key, ratio in (ratios or {}).items()},
    }


def _affinity(value: Any) -> tuple[dict[str, Any] | None, Affinity | None]:
    given = _object(value, f"{SETUP}.AffinityConfig")
    if given is None:
        return None, None
    strong = _boolean(given.get("strong"))
    affinity = _object(given.get("affinity"), "java.util.Map<java.lang.String,java.util.Set<java.lang.String>>")
    if affinity is None:
        raise _problem("AffinityConfig", 'Cannot invoke "java.util.Map.values()" because "affinity" is null')
    served: dict[str, list[str | None]] = {}
    lists: dict[str, tuple[str, ...]] = {}
    for datasource, workers in affinity.items():
        if workers is None:
            raise _problem("AffinityConfig", 'Cannot invoke "java.util.Set.stream()" because "<parameter1>" is null')
        if not isinstance(workers, list):
            raise _mismatch("java.util.HashSet<java.lang.String>", workers)
        unique = list(dict.fromkeys(_java_string(worker) for worker in workers))
        served[datasource] = [unique[index] for index in java_map_order(unique)]  # a HashSet's order
        lists[datasource] = tuple(worker for worker in unique if worker is not None)
    return {"affinity": served, "strong": strong}, Affinity(lists, strong)


def _categories(value: Any) -> tuple[dict[str, Any] | None, CategorySpec | None]:
    given = _object(value, f"{SETUP}.WorkerCategorySpec")
    if given is None:
        return None, None
    strong = _boolean(given.get("strong"))
    category_map = _object(given.get("categoryMap"), "java.util.Map") or {}
    served: dict[str, Any] = {}
    model: dict[str, tuple[str | None, dict[str, str]]] = {}
    for task_type, config in category_map.items():
        entry = _object(config, f"{SETUP}.WorkerCategorySpec$CategoryConfig") or {}
        default = entry.get("defaultCategory")
        if default is not None and not isinstance(default, str):
            raise _mismatch("java.lang.String", default)
        by_datasource = _object(entry.get("categoryAffinity"), "java.util.Map") or {}
        if not all(isinstance(category, str) for category in by_datasource.values()):
            raise _mismatch("java.lang.String", next(v for v in by_datasource.values() if not isinstance(v, str)))
        served[task_type] = {"defaultCategory": default, "categoryAffinity": dict(by_datasource)}
        model[task_type] = (default, dict(by_datasource))
    return {"categoryMap": served, "strong": strong}, CategorySpec(model, strong)


def _strategy(value: Any) -> tuple[dict[str, Any] | None, WorkerSelect]:
    given = _object(value, f"{SETUP}.WorkerSelectStrategy")
    if given is None:
        return None, WorkerSelect()  # a config without a strategy: the task runner uses the default
    type_id = given.get("type")
    if type_id not in STRATEGY_CLASSES:
        type_id = "equalDistribution"  # defaultImpl = EqualDistributionWorkerSelectStrategy
    java_class = STRATEGY_CLASSES[type_id]
    if type_id == "javascript":
        if given.get("function") is None:
            raise _problem(java_class, "function must not be null")
        raise _problem(java_class, "JavaScript is disabled")  # druid.javascript.enabled is false by default
    served: dict[str, Any] = {"type": type_id}
    if type_id.endswith("WithCategorySpec"):
        spec_json, categories = _categories(given.get("workerCategorySpec"))
        served["workerCategorySpec"] = spec_json
        select = WorkerSelect(STRATEGY_KINDS[type_id], categories=categories)
    else:
        affinity_json, affinity = _affinity(given.get("affinityConfig"))
        served["affinityConfig"] = affinity_json
        select = WorkerSelect(STRATEGY_KINDS[type_id], affinity=affinity)
    served["taskLimits"] = _task_limits(given.get("taskLimits"))
    return served, select


def read_worker_config(value: Any) -> tuple[dict[str, Any], WorkerSelect]:
    """A posted body (not None) as Druid stores and serves it, and the strategy the model applies."""
    if not isinstance(value, Mapping):
        raise _mismatch(CONFIG_CLASS, value)
    strategy, select = _strategy(value.get("selectStrategy"))
    scaler = value.get("autoScaler")
    if scaler is not None and not isinstance(scaler, Mapping):
        raise _mismatch("org.apache.druid.indexing.overlord.autoscaling.AutoScaler", scaler)
    served = {"type": "default", "selectStrategy": strategy, "autoScaler": None if scaler is None else NOOP_AUTOSCALER}
    return served, select
