"""The scenario file's schema, as dataclasses, and reading a loaded document into them.

Top-level fields (all optional except ``description``; ``docs/scenarios.md`` documents each):
``name``, ``description``, ``seed``, ``datasources``, ``task_types``, ``workers``,
``queue_max_size``, ``cluster``, ``arrivals``, ``supervisors``, ``behaviours``, ``faults``, ``timeline``,
``security``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from druid_sim.faults.spec import Fault, Trigger, as_base_url, read_fault
from druid_sim.fields import (
    Context,
    Invalid,
    Section,
    as_bool,
    as_choice,
    as_distribution,
    as_duration,
    as_float,
    as_int,
    as_optional_int,
    as_probability,
    as_regex,
    as_size,
    as_str,
    as_str_list,
    section_of,
    type_name,
)
from druid_sim.overlord.behaviour import DEFAULT_ERROR_MESSAGES, BehaviourRule, BehaviourRules, TaskBehaviour
from druid_sim.overlord.supervisors import TROUBLE_KINDS
from druid_sim.security.model import Security
from druid_sim.security.spec import read_security
from druid_sim.util.quoting import shown

#: States a starting task can be in: ``complete`` picks SUCCESS or FAILED from the task's behaviour.
STARTING_STATES = ("complete", "success", "failed", "running", "pending", "waiting")
#: The default task mix (type, weight): what a busy cluster runs.
DEFAULT_TASK_TYPES: tuple[tuple[str, float], ...] = (
    ("index_parallel", 0.34),
    ("index_kafka", 0.22),
    ("compact", 0.16),
    ("kill", 0.10),
    ("query_controller", 0.10),
    ("index", 0.08),
)
TIMELINE_ACTIONS = ("submit", "fail_datasource", "lose_leader", "change_leader")
#: Bounds that keep what ``scenario validate`` accepts cheap to run: every starting or timeline task
#: is built and kept (100,000 take ~300 MB), every worker slot is a heap entry, every fault and
#: behaviour rule is tried on every request, and arrivals keep coming for as long as the clock runs.
MAX_TASKS = 100_000
MAX_CAPACITY = 10_000
MAX_RULES = 1_000
MIN_ARRIVAL_EVERY = 10.0


@dataclass(frozen=True, slots=True)
class StartingTasks:
    """``count`` tasks already in the cluster when the clock starts."""

    count: int
    state: str
    type: str | None = None  # None: drawn from task_types
    datasource: str | None = None  # None: drawn from datasources


@dataclass(frozen=True, slots=True)
class Arrivals:
    """A stream of tasks arriving on their own, about one every ``every`` seconds."""

    every: float
    random: bool = True  # exponential gaps (a Poisson process); False: exactly ``every`` apart
    type: str | None = None
    datasource: str | None = None


@dataclass(frozen=True, slots=True)
class Trouble:
    """A supervisor's scripted trouble: ``kind`` from ``at`` for ``duration`` virtual seconds."""

    kind: str
    at: float
    duration: float


@dataclass(frozen=True, slots=True)
class SupervisorDecl:
    """A Kafka or Kinesis supervisor the cluster runs, already running for ``running_since`` seconds."""

    id: str
    datasource: str
    type: str = "kafka"
    stream: str = ""
    task_count: int = 1
    replicas: int = 1
    task_duration: float = 3600.0
    partitions: int = 0
    messages_per_second: float = 3000.0
    running_since: float = 0.0
    suspended: bool = False
    troubles: tuple[Trouble, ...] = ()


@dataclass(frozen=True, slots=True)
class Burst:
    """A timeline submission burst: ``count`` tasks over ``spread`` seconds from the event's time."""

    count: int
    type: str | None = None
    datasource: str | None = None
    spread: float = 0.0


@dataclass(frozen=True, slots=True)
class FailWindow:
    """Every task of ``datasource`` that ends, or starts running, inside the window fails."""

    datasource: str
    duration: float
    error_msg: str


@dataclass(frozen=True, slots=True)
class TimelineEvent:
    """One thing that happens at ``at`` virtual seconds after the start."""

    at: float
    action: str
    burst: Burst | None = None
    fail: FailWindow | None = None
    fault: Fault | None = None  # lose_leader and change_leader become time-window faults


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    description: str
    source: str = "<built-in>"
    seed: int | None = None
    datasources: tuple[str, ...] = ()  # explicit names; empty: ``datasource_count`` Faker-made ones
    datasource_count: int = 5
    task_types: tuple[tuple[str, float], ...] = DEFAULT_TASK_TYPES
    middle_managers: int = 3
    capacity: int | None = 9
    queue_max_size: int | None = None
    cluster: tuple[StartingTasks, ...] = ()
    arrivals: tuple[Arrivals, ...] = ()  # streams, each on its own
    supervisors: tuple[SupervisorDecl, ...] = ()
    rules: BehaviourRules = field(default_factory=BehaviourRules)
    faults: tuple[Fault, ...] = ()
    timeline: tuple[TimelineEvent, ...] = ()
    security: Security | None = None  # Druid basic security; None: every request is allowed
    document: Mapping[str, Any] = field(default_factory=dict)

    def all_faults(self) -> tuple[Fault, ...]:
        """The scenario's faults, then the faults its timeline's leader events stand for."""
        return self.faults + tuple(event.fault for event in self.timeline if event.fault is not None)


# -- reading --------------------------------------------------------------------------------------


def _as_datasources(value: Any) -> tuple[tuple[str, ...], int]:
    if isinstance(value, list):
        return as_str_list(value), 0
    if isinstance(value, Mapping) and set(value) == {"count"}:
        return (), as_int(1, 50)(value["count"])
    raise Invalid(f"must be a list of names or {{count: N}} for Faker-made names, not {type_name(value)}")


def _as_task_types(value: Any) -> tuple[tuple[str, float], ...]:
    if isinstance(value, list):
        return tuple((name, 1.0) for name in as_str_list(value))
    if isinstance(value, Mapping) and value:
        mix = []
        for name, weight in value.items():
            if not isinstance(name, str) or not name:
                raise Invalid(f"task type names must be strings, not {type_name(name)}")
            mix.append((name, as_float(0.0)(weight)))
        if sum(weight for _, weight in mix) <= 0:
            raise Invalid("at least one task type needs a weight above 0")
        return tuple(mix)
    raise Invalid(f"must be a list of task types or a mapping of type: weight, not {type_name(value)}")


def _read_behaviour(section: Section) -> BehaviourRule:
    defaults = TaskBehaviour()
    match = section.section("match")
    task_type = datasource = None
    id_pattern = None
    if match is not None:
        task_type = match.take("type", as_str, None)
        datasource = match.take("datasource", as_str, None)
        id_pattern = match.take("id", as_regex, None)
        match.finish()
    behaviour = TaskBehaviour(
        waiting=section.take("waiting", as_distribution, defaults.waiting),
        pending=section.take("pending", as_distribution, defaults.pending),
        run=section.take("run", as_distribution, defaults.run),
        failure_probability=section.take("failure_probability", as_probability, 0.0),
        error_messages=section.take("error_messages", as_str_list, DEFAULT_ERROR_MESSAGES),
        log_bytes_per_second=section.take("log_bytes_per_second", as_size, defaults.log_bytes_per_second),
        rows_per_second=section.take("rows_per_second", as_float(0.0, 1e9), defaults.rows_per_second),
    )
    section.finish()
    return BehaviourRule(behaviour, task_type, datasource, id_pattern)


def _read_starting(section: Section) -> StartingTasks:
    tasks = StartingTasks(
        count=section.take("count", as_int(0, 100_000), 0, required=True),
        state=section.take("state", as_choice(*STARTING_STATES), "complete", required=True),
        type=section.take("type", as_str, None),
        datasource=section.take("datasource", as_str, None),
    )
    section.finish()
    return tasks


def _read_arrivals(section: Section) -> Arrivals:
    arrivals = Arrivals(
        every=section.take("every", as_duration, 150.0, required=True),
        random=section.take("random", as_bool, True),
        type=section.take("type", as_str, None),
        datasource=section.take("datasource", as_str, None),
    )
    section.finish()
    if arrivals.every < MIN_ARRIVAL_EVERY:
        section.report(
            "every",
            f"must be at least {MIN_ARRIVAL_EVERY:g}s (one task per {arrivals.every:g}s would be "
            f"{86400 / max(arrivals.every, 1e-3):,.0f} tasks a virtual day, each kept); for a burst use a timeline "
            "submit event",
        )
    return arrivals


def _read_trouble(section: Section) -> Trouble:
    trouble = Trouble(
        kind=section.take("kind", as_choice(*TROUBLE_KINDS), "stream_unreachable", required=True),
        at=section.take("at", as_duration, 0.0, required=True),
        duration=section.take("for", as_duration, 60.0, required=True),
    )
    section.finish()
    return trouble


def _read_supervisor(section: Section) -> SupervisorDecl:
    datasource = section.take("datasource", as_str, "", required=True)
    troubles = []
    for path, line, item in section.items("troubles"):
        entry = section_of(section.ctx, path, line, item)
        if entry is not None:
            troubles.append(_read_trouble(entry))
    decl = SupervisorDecl(
        id=section.take("id", as_str, datasource),
        datasource=datasource,
        type=section.take("type", as_choice("kafka", "kinesis"), "kafka"),
        stream=section.take("stream", as_str, datasource),
        task_count=section.take("task_count", as_int(1, 100), 1),
        replicas=section.take("replicas", as_int(1, 10), 1),
        task_duration=section.take("task_duration", as_duration, 3600.0),
        partitions=section.take("partitions", as_int(0, 1000), 0),
        messages_per_second=section.take("messages_per_second", as_float(0.0, 1e9), 3000.0),
        running_since=section.take("running_since", as_duration, 0.0),
        suspended=section.take("suspended", as_bool, False),
        troubles=tuple(troubles),
    )
    if decl.task_duration < 60:
        section.report("task_duration", "must be at least 1m (a supervisor makes a generation of tasks per duration)")
    section.finish()
    return decl


def _read_event(section: Section, index: int) -> TimelineEvent | None:
    at = section.take("at", as_duration, 0.0, required=True)
    given = [action for action in TIMELINE_ACTIONS if section.has(action)]
    if len(given) != 1:
        section.ctx.report(
            section.line, section.path, f"needs exactly one of {', '.join(TIMELINE_ACTIONS)} (found {len(given)})"
        )
        for action in given:
            section.section(action)
        section.finish()
        return None
    action = given[0]
    args = section.section(action)
    section.finish()
    if args is None:
        return None
    name = f"timeline-{index}-{action}"
    if action == "submit":
        burst = Burst(
            count=args.take("count", as_int(1, 10_000), 1, required=True),
            type=args.take("type", as_str, None),
            datasource=args.take("datasource", as_str, None),
            spread=args.take("spread", as_duration, 0.0),
        )
        args.finish()
        return TimelineEvent(at, action, burst=burst)
    duration = args.take("for", as_duration, 60.0, required=True)
    if action == "fail_datasource":
        fail = FailWindow(
            datasource=args.take("datasource", as_str, "", required=True),
            duration=duration,
            error_msg=args.take("error", as_str, DEFAULT_ERROR_MESSAGES[0]),
        )
        args.finish()
        return TimelineEvent(at, action, fail=fail)
    trigger = Trigger(after=at, until=at + duration)
    if action == "lose_leader":
        answer = args.take("answer", as_choice("router", "overlord"), "router")
        args.finish()
        return TimelineEvent(
            at, action, fault=Fault(name, "no_leader", trigger=trigger, answer=answer, source="timeline")
        )
    to = args.take("to", as_base_url, "http://localhost:8090", required=True)
    args.finish()
    return TimelineEvent(at, action, fault=Fault(name, "redirect", trigger=trigger, to=to, source="timeline"))


def _check_totals(
    top: Section,
    cluster: list[StartingTasks],
    rules: list[BehaviourRule],
    faults: list[Fault],
    timeline: list[TimelineEvent],
) -> None:
    """Bounds on the whole document, where one entry alone is fine but many are not (see MAX_TASKS)."""
    starting = sum(entry.count for entry in cluster)
    if starting > MAX_TASKS:
        top.report("cluster", f"starts {starting:,} tasks; at most {MAX_TASKS:,} in all (lower the counts)")
    bursts = sum(event.burst.count for event in timeline if event.burst is not None)
    if bursts > MAX_TASKS:
        top.report("timeline", f"submits {bursts:,} tasks; at most {MAX_TASKS:,} in all (lower the counts)")
    for key, items in (("behaviours", rules), ("faults", faults), ("timeline", timeline)):
        if len(items) > MAX_RULES:
            top.report(key, f"has {len(items):,} entries; at most {MAX_RULES:,}")


def read_scenario(document: Any, ctx: Context, name: str) -> Scenario | None:
    """The :class:`Scenario` in ``document``; problems go to ``ctx`` (None if it is not a mapping)."""
    if not isinstance(document, Mapping):
        ctx.report(getattr(document, "line", 1), "", f"a scenario is a mapping of fields, not {type_name(document)}")
        return None
    top = Section(ctx, document, "", 1)
    name = top.take("name", as_str, name)
    description = top.take("description", as_str, "", required=True)
    if "\n" in description.strip():
        top.report("description", "must be one line (it is what `druid-sim scenario list` shows)")
    seed = top.take("seed", as_int(0), None)
    no_names: tuple[str, ...] = ()
    datasources, datasource_count = top.take("datasources", _as_datasources, (no_names, 5))
    task_types = top.take("task_types", _as_task_types, DEFAULT_TASK_TYPES)
    middle_managers = 3
    capacity: int | None = 9
    workers = top.section("workers")
    if workers is not None:
        middle_managers = workers.take("middle_managers", as_int(1, 100), 3)
        capacity = workers.take("capacity", as_optional_int(1, MAX_CAPACITY), capacity)
        workers.finish()
    queue_max_size = top.take("queue_max_size", as_optional_int(1), None)
    cluster = []
    for path, line, item in top.items("cluster"):
        entry = section_of(ctx, path, line, item)
        if entry is not None:
            cluster.append(_read_starting(entry))
    arrivals = []
    if isinstance(document.get("arrivals"), list):  # several streams: the Coordinator's compaction, a batch job...
        for path, line, item in top.items("arrivals"):
            entry = section_of(ctx, path, line, item)
            if entry is not None:
                arrivals.append(_read_arrivals(entry))
    else:
        arrivals_section = top.section("arrivals")
        if arrivals_section is not None:
            arrivals.append(_read_arrivals(arrivals_section))
    supervisors: list[SupervisorDecl] = []
    for path, line, item in top.items("supervisors"):
        entry = section_of(ctx, path, line, item)
        if entry is not None:
            decl = _read_supervisor(entry)
            if any(existing.id == decl.id for existing in supervisors):
                ctx.report(line, f"{path}.id", f"another supervisor is called {shown(decl.id)}; ids must be unique")
            supervisors.append(decl)
    rules = []
    for path, line, item in top.items("behaviours"):
        entry = section_of(ctx, path, line, item)
        if entry is not None:
            rules.append(_read_behaviour(entry))
    faults: list[Fault] = []
    for index, (path, line, item) in enumerate(top.items("faults")):
        entry = section_of(ctx, path, line, item)
        fault = read_fault(entry, f"fault-{index + 1}", "scenario") if entry is not None else None
        if fault is not None:
            if any(existing.name == fault.name for existing in faults):
                ctx.report(line, f"{path}.name", f"another fault is called {shown(fault.name)}; names must be unique")
            faults.append(fault)
    timeline = []
    for index, (path, line, item) in enumerate(top.items("timeline")):
        entry = section_of(ctx, path, line, item)
        event = _read_event(entry, index + 1) if entry is not None else None
        if event is not None:
            timeline.append(event)
    security_section = top.section("security")
    security = read_security(security_section) if security_section is not None else None
    _check_totals(top, cluster, rules, faults, timeline)
    top.finish()
    return Scenario(
        name=name,
        description=description.strip(),
        source=ctx.source,
        seed=seed,
        datasources=datasources,
        datasource_count=datasource_count or 5,
        task_types=task_types,
        middle_managers=middle_managers,
        capacity=capacity,
        queue_max_size=queue_max_size,
        cluster=tuple(cluster),
        arrivals=tuple(arrivals),
        supervisors=tuple(supervisors),
        rules=BehaviourRules(tuple(rules)),
        faults=tuple(faults),
        timeline=tuple(sorted(timeline, key=lambda event: event.at)),
        security=security,
        document=document,
    )
