"""A snapshot of the model: everything a rebuilt model holds after the stored actions up to one ``seq``.

Restarting from a snapshot loads it into a fresh simulation and applies only the actions after it, so
100,000 stored tasks come back in seconds instead of replaying every submission. The snapshot must give
exactly the model a full replay gives, so it is taken of a model that only ever applied stored actions
(the snapshotter's, `druid_sim.state.snapshotter`, which follows the log as a standby does), and it
holds the model's whole object graph, not a summary of it: the tasks and their plans, the worker slots,
the random generators' states, the scenario's planned arrivals and timeline, the supervisors, segments.

The form is JSON (orjson), not pickle: a store could be copied from elsewhere, and decoding a pickle
runs whatever code it names. Decoding here makes only the model's own classes (`ALLOWED`), fills
their fields, and nothing else; an unknown type is refused (encoding one: the snapshot is not taken,
and restarts replay the log as before). The configuration a snapshot was taken under (the scenario
as loaded, the behaviour rules, the clock) is not in it: it comes from the store's settings, as in a
full replay, and the snapshot refers to it by name.

Caches are left out (the answers' encodings, the list and census caches, the lock box): they are
remade on demand from what is kept and never change an answer.
"""

from __future__ import annotations

import collections
import enum
import gc
import random
import sys
from collections.abc import Callable
from dataclasses import replace
from types import MethodType
from typing import Any

import orjson

from druid_sim.clock import Clock
from druid_sim.overlord.behaviour import BehaviourRule, BehaviourRules, Distribution, TaskBehaviour
from druid_sim.overlord.capacity import WorkerState
from druid_sim.overlord.fakes import FakePools
from druid_sim.overlord.overlord import Overlord, TaskQuery
from druid_sim.overlord.payloads import PayloadStore
from druid_sim.overlord.segments import Segment, SegmentMetadata
from druid_sim.overlord.stream import Partitions
from druid_sim.overlord.supervisors import (
    ExceptionEvent,
    Generation,
    HistoryEntry,
    StreamSupervisorSpec,
    StreamTrouble,
    Supervisor,
    SupervisorManager,
)
from druid_sim.overlord.task import Location, Phase, Plan, Task
from druid_sim.overlord.worker_config import AuditEntry, WorkerConfig
from druid_sim.overlord.worker_select import Affinity, CategorySpec, WorkerSelect
from druid_sim.overlord.workers import WorkerPool
from druid_sim.runtime import Simulation
from druid_sim.scenario.model import ArrivalStreams, PlannedArrivals, ScenarioOverlord, ScenarioWorld, TimelineBursts
from druid_sim.scenario.schema import Arrivals, Burst
from druid_sim.simulation import reset_simulation

#: Bumped whenever what a snapshot holds changes meaning: a snapshot of another format is not used.
#: 2: the model catches up by the stored actions alone (``Overlord.skip_on_read``, stored jumps).
FORMAT = 2
#: A snapshot is these bytes, the length of its JSON document (8 bytes, big-endian), the document, and
#: the tasks' payloads one after another (the document says where each ends).
MAGIC = b"druid-sim snapshot\n"


class SnapshotError(Exception):
    """A model holding something a snapshot cannot carry, or a snapshot that cannot be used."""


def _qualified(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


#: The classes a snapshot may hold, by qualified name: decoding makes these and nothing else.
ALLOWED: dict[str, type] = {
    _qualified(cls): cls
    for cls in (
        Overlord,
        ScenarioOverlord,
        WorkerPool,
        WorkerSelect,
        Affinity,
        CategorySpec,
        WorkerConfig,
        AuditEntry,
        PayloadStore,
        Location,
        ScenarioWorld,
        ArrivalStreams,
        PlannedArrivals,
        TimelineBursts,
        Arrivals,
        Burst,
        FakePools,
        BehaviourRules,
        BehaviourRule,
        TaskBehaviour,
        Distribution,
        SupervisorManager,
        Supervisor,
        Generation,
        HistoryEntry,
        StreamSupervisorSpec,
        StreamTrouble,
        ExceptionEvent,
        Partitions,
        SegmentMetadata,
        Segment,
        WorkerState,
        TaskQuery,
    )
}
ENUMS: dict[str, type[enum.Enum]] = {_qualified(Phase): Phase}
#: Fields that are caches: left out, and given these values (or made by these calls) when decoded.
TRANSIENT: dict[type, dict[str, Callable[[], Any]]] = {
    Overlord: {"_lists": dict, "_census": lambda: None},
    ScenarioOverlord: {"_lists": dict, "_census": lambda: None},
}
#: ``Overlord.extras`` entries that are caches, remade on first use.
TRANSIENT_EXTRAS = frozenset({"locks"})
_TASK = "@T"
_FIELDS_CACHE: dict[type, tuple[str, ...]] = {}


def _fields(cls: type) -> tuple[str, ...]:
    """The attributes an instance of ``cls`` keeps in slots (every class of its MRO), in a fixed order."""
    found = _FIELDS_CACHE.get(cls)
    if found is None:
        names: list[str] = []
        for klass in reversed(cls.__mro__):
            slots = klass.__dict__.get("__slots__", ())
            for name in (slots,) if isinstance(slots, str) else slots:
                if name not in ("__dict__", "__weakref__") and name not in names:
                    names.append(name)
        found = _FIELDS_CACHE[cls] = tuple(names)
    return found


_PLAN_FIELDS = (
    "pending_at",
    "running_at",
    "end_at",
    "outcome",
    "error_msg",
    "location",
    "shutdown_at",
    "log_bytes_per_second",
    "rows_per_second",
    "ready_at",
    "run_ms",
    "slot",
)
_PHASES = {phase.value: phase for phase in Phase}


class Encoder:
    """Turns the model's object graph into JSON-ready values, each object once (later uses refer to it)."""

    def __init__(self, externals: dict[int, str]) -> None:
        self.externals = externals
        self.memo: dict[int, int] = {}
        self.keep: list[Any] = []  # what the memo's ids belong to, alive until encoding ends
        #: The tasks' payloads, one after the other, kept beside the JSON (JSON inside a JSON string is
        #: escaped and unescaped byte by byte: most of a snapshot, and most of the time to read it).
        self.blob: list[bytes] = []

    def value(self, obj: Any) -> Any:
        if obj is None or isinstance(obj, bool | int | float | str):
            return obj
        kind = type(obj)
        if kind is list:
            return [self.value(item) for item in obj]
        external = self.externals.get(id(obj))
        if external is not None:
            return {"@x": external}
        known = self.memo.get(id(obj))
        if known is not None:
            return {"@r": known}
        if kind is Task:
            return self._task(obj)
        if kind is tuple:
            return {"@t": [self.value(item) for item in obj]}
        if kind is dict:
            if all(type(key) is str for key in obj):
                return {"@m": {key: self.value(item) for key, item in obj.items()}}
            return {"@d": [[self.value(key), self.value(item)] for key, item in obj.items()]}
        if kind is bytes:
            return {"@b": obj.decode("latin-1")}
        if kind is set or kind is frozenset:
            items = sorted(obj) if all(type(item) is str for item in obj) else list(obj)
            return {"@s" if kind is set else "@f": [self.value(item) for item in items]}
        if kind is collections.deque:
            return {"@q": [self.value(item) for item in obj]}
        if kind is random.Random:
            return {"@rng": self.value(obj.getstate())}
        if isinstance(obj, enum.Enum):
            return {"@e": _qualified(kind), "v": obj.value}
        if isinstance(obj, MethodType):
            return {"@meth": obj.__func__.__name__, "self": self.value(obj.__self__)}
        name = _qualified(kind)
        if ALLOWED.get(name) is not kind:
            raise SnapshotError(f"the model holds a {name}, which a snapshot cannot carry")
        number = self._remember(obj)
        transient = TRANSIENT.get(kind, {})
        names = _fields(kind) or tuple(vars(obj))
        state = {field: self.value(self._field(obj, field)) for field in names if field not in transient}
        return {"@o": name, "n": number, "v": state}

    @staticmethod
    def _field(obj: Any, field: str) -> Any:
        value = getattr(obj, field)
        if field == "extras" and isinstance(obj, Overlord):
            return {key: extra for key, extra in value.items() if key not in TRANSIENT_EXTRAS}
        return value

    def _remember(self, obj: Any) -> int:
        number = len(self.memo)
        self.memo[id(obj)] = number
        self.keep.append(obj)
        return number

    def _payload(self, payload: bytes) -> int:
        """``payload``'s number in the blob."""
        self.blob.append(payload)
        return len(self.blob) - 1

    def _task(self, task: Task) -> Any:
        number = self._remember(task)
        plan = task.plan
        return {
            _TASK: number,
            "v": [
                task.id,
                task.group_id,
                task.type,
                task.datasource,
                task.created_ms,
                self._payload(task.payload_json),
                task.seq,
                task.seed,
                task.payload_kept,
                [
                    plan.pending_at,
                    plan.running_at,
                    plan.end_at,
                    plan.outcome.value,
                    plan.error_msg,
                    self.value(plan.location),
                    plan.shutdown_at,
                    plan.log_bytes_per_second,
                    plan.rows_per_second,
                    plan.ready_at,
                    plan.run_ms,
                    plan.slot,
                ],
            ],
        }


class Decoder:
    """The inverse of `Encoder`: makes only `ALLOWED` classes, `ENUMS` and the builtin containers."""

    def __init__(
        self, externals: dict[str, Any], blob: bytes = b"", ends: list[int] | None = None, offset: int = 0
    ) -> None:
        """``blob``: the payloads one after the other from ``offset`` on; ``ends``: where each ends, from there."""
        self.externals = externals
        self.memo: dict[int, Any] = {}
        self.blob = blob
        #: Where each payload starts and ends in ``blob``, by its number.
        self.ends = [offset + end for end in ends or []] if offset else (ends or [])
        self.starts = [offset, *self.ends[:-1]]

    def value(self, data: Any) -> Any:
        if type(data) is list:
            return [self.value(item) for item in data]
        if type(data) is not dict:
            return data
        if "@r" in data:
            return self.memo[data["@r"]]
        if _TASK in data:
            return self._task(data)
        if "@m" in data:
            return {key: self.value(item) for key, item in data["@m"].items()}
        if "@t" in data:
            return tuple(self.value(item) for item in data["@t"])
        if "@d" in data:
            return {self.value(key): self.value(item) for key, item in data["@d"]}
        if "@b" in data:
            return data["@b"].encode("latin-1")
        if "@o" in data:
            return self._object(data)
        if "@s" in data:
            return {self.value(item) for item in data["@s"]}
        if "@f" in data:
            return frozenset(self.value(item) for item in data["@f"])
        if "@q" in data:
            return collections.deque(self.value(item) for item in data["@q"])
        if "@rng" in data:
            generator = random.Random()
            generator.setstate(self.value(data["@rng"]))
            return generator
        if "@e" in data:
            enum_class = ENUMS.get(data["@e"])
            if enum_class is None:
                raise SnapshotError(f"a snapshot names {data['@e']}, which is not one of the model's")
            return enum_class(data["v"])
        if "@meth" in data:
            owner = self.value(data["self"])
            method = getattr(owner, data["@meth"], None)
            if not isinstance(method, MethodType):
                raise SnapshotError(f"a snapshot names {data['@meth']}, which is no method of {type(owner).__name__}")
            return method
        if "@x" in data:
            if data["@x"] not in self.externals:
                raise SnapshotError(f"a snapshot refers to {data['@x']}, which this model does not have")
            return self.externals[data["@x"]]
        raise SnapshotError(f"a snapshot holds {sorted(data)[:3]}, which is none of its forms")

    def _object(self, data: dict[str, Any]) -> Any:
        cls = ALLOWED.get(data["@o"])
        if cls is None:
            raise SnapshotError(f"a snapshot names {data['@o']}, which is not one of the model's classes")
        obj: Any = object.__new__(cls)
        self.memo[data["n"]] = obj
        state = data["v"]
        for field, value in state.items():
            object.__setattr__(obj, field, self.value(value))
        for field, make in TRANSIENT.get(cls, {}).items():
            object.__setattr__(obj, field, make())
        return obj

    def _task(self, data: dict[str, Any]) -> Task:
        (task_id, group_id, kind, datasource, created_ms, payload, seq, seed, kept, plan_values) = data["v"]
        pending_at, running_at, end_at, outcome, error, location, shutdown_at, log_rate, row_rate, ready, run, slot = (
            plan_values
        )
        plan = Plan(
            pending_at,
            running_at,
            end_at,
            _PHASES[outcome],
            error,
            self.value(location),
            shutdown_at,
            log_rate,
            row_rate,
            ready,
            run,
            slot,
        )
        task = Task(
            task_id,
            group_id,
            sys.intern(kind),
            sys.intern(datasource),
            created_ms,
            plan,
            self.blob[self.starts[payload] : self.ends[payload]],
            seq,
            seed,
            payload_kept=kept,
        )
        self.memo[data[_TASK]] = task
        return task


def _externals(simulation: Simulation) -> dict[str, Any]:
    """The configuration a snapshot refers to by name: it comes from the settings, not from the snapshot."""
    found: dict[str, Any] = {"clock": simulation.clock, "rules": simulation.overlord.rules}
    if simulation.scenario is not None:
        found["scenario"] = simulation.scenario
    return found


def encode(simulation: Simulation, seq: int, epoch: int, anchor: tuple[int, int, float]) -> bytes:
    """The snapshot of ``simulation`` (whose clock is frozen at its last applied action, ``seq``).

    ``epoch``: the seq of the first action of the log it belongs to (after the last reset), so a snapshot
    from before a reset is never used. Raises `SnapshotError` when the model holds something it cannot carry.
    """
    encoder = Encoder({id(value): name for name, value in _externals(simulation).items()})
    from druid_sim.faults.state import EXTENSION as FAULTS
    from druid_sim.faults.state import FaultSet

    faults = simulation.extensions.get(FAULTS)
    fault_list: list[dict[str, Any]] | None = None
    if isinstance(faults, FaultSet):
        base = {id(fault) for fault in faults._base}
        fault_list = [
            {"base": fault.name} if id(fault) in base else {"spec": fault.as_json()} for fault in faults.list()
        ]
    document = {
        "format": FORMAT,
        "seq": seq,
        "epoch": epoch,
        "anchor": list(anchor),
        "clock": simulation.clock.now_ms(),
        "scenario": simulation.config.scenario,
        "budget": simulation.overlord.payloads.budget,
        "faults": fault_list,
        "overlord": encoder.value(simulation.overlord),
    }
    ends: list[int] = []
    end = 0
    for payload in encoder.blob:
        end += len(payload)
        ends.append(end)
    document["payloadEnds"] = ends
    text = orjson.dumps(document)
    return MAGIC + len(text).to_bytes(8, "big") + text + b"".join(encoder.blob)


def header(data: bytes) -> dict[str, Any]:
    """A snapshot's document, as data (the model is made from it by `restore`)."""
    if not data.startswith(MAGIC) or len(data) < len(MAGIC) + 8:
        raise SnapshotError("not a druid-sim snapshot")
    size = int.from_bytes(data[len(MAGIC) : len(MAGIC) + 8], "big")
    start = len(MAGIC) + 8
    # Read in place (a memoryview, and the payloads left where they are): no copies of ~100 MB.
    document: dict[str, Any] = orjson.loads(memoryview(data)[start : start + size])
    if document.get("format") != FORMAT:
        raise SnapshotError(f"a snapshot of format {document.get('format')}, not {FORMAT}")
    ends = document["payloadEnds"]
    if (ends[-1] if ends else 0) != len(data) - start - size:
        raise SnapshotError("a snapshot whose payloads are cut short")
    document["payloadBlob"] = data
    document["payloadOffset"] = start + size
    return document


def restore(simulation: Simulation, document: dict[str, Any]) -> None:
    """Make ``simulation`` the model ``document`` (from `header`) holds, its clock frozen where it stood."""
    config = simulation.config
    if document["budget"] != config.limits.max_stored_payloads:
        raise SnapshotError(
            f"a snapshot taken with --max-stored-payloads {document['budget']}, not {config.limits.max_stored_payloads}"
        )
    simulation.config = replace(config, scenario=document["scenario"])
    reset_simulation(simulation)
    clock: Clock = simulation.clock
    clock.freeze()
    clock.advance_to(document["clock"])
    enabled = gc.isenabled()
    gc.disable()  # hundreds of thousands of objects made at once, none of them garbage
    try:
        decoder = Decoder(
            _externals(simulation), document["payloadBlob"], document["payloadEnds"], document["payloadOffset"]
        )
        overlord = decoder.value(document["overlord"])
    finally:
        if enabled:
            gc.enable()
    if not isinstance(overlord, Overlord):
        raise SnapshotError("a snapshot whose model is no Overlord")
    simulation.overlord = overlord
    _restore_faults(simulation, document["faults"])


def load(simulation: Simulation, data: bytes) -> dict[str, Any]:
    """`restore` ``simulation`` from the snapshot ``data``; its document (`header`).

    The cyclic GC is off throughout, and what was made is frozen (`gc.freeze`) once restored, as the
    cassette loader does: decoding the document and the model makes millions of containers, none of
    them garbage, and each collection while they are young would walk them all (with 100,000 tasks
    about 0.2 s in ``orjson.loads`` and as much again in the collections after the restore)."""
    enabled = gc.isenabled()
    gc.disable()
    restored = False
    try:
        document = header(data)
        restore(simulation, document)
        restored = True
    finally:
        if enabled:
            if restored:
                gc.freeze()
            gc.enable()
    return document


def _restore_faults(simulation: Simulation, saved: list[dict[str, Any]] | None) -> None:
    from druid_sim.faults.spec import parse_fault
    from druid_sim.faults.state import EXTENSION as FAULTS
    from druid_sim.faults.state import FaultSet

    faults = simulation.extensions.get(FAULTS)
    if not isinstance(faults, FaultSet) or saved is None:
        return
    base = {fault.name: fault for fault in faults._base}
    faults.clear()
    for entry in saved:
        if "base" in entry:
            faults.add_fault(base[entry["base"]])
        else:
            spec = entry["spec"]
            faults.add_fault(parse_fault(spec, default_name=spec["name"], source=spec.get("source", "api")))
