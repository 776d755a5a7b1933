"""Property tests: whatever a cassette or scenario file holds, the loader gives a loaded object or its own
error naming the file and line, never another exception, and what loads also runs.

Inputs are valid files mutated by hypothesis (a field replaced by arbitrary JSON or YAML values, lines
dropped, repeated or cut) and arbitrary text. ``FUZZ_EXAMPLES`` scales the number of examples
(``make fuzz`` raises it); ``make test`` replays the same derandomised examples every time.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import orjson
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from druid_sim.cassette import CassetteFormatError, parse_cassette
from druid_sim.clock import Clock
from druid_sim.fields import Context
from druid_sim.overlord.overlord import TaskQuery
from druid_sim.replay.answers import Answer
from druid_sim.scenario import ScenarioError
from druid_sim.scenario.model import build_overlord
from druid_sim.scenario.schema import read_scenario
from druid_sim.scenario.source import load_yaml

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "5")) * 20
PROPERTY_SETTINGS = settings(
    max_examples=EXAMPLES,
    derandomize=os.environ.get("FUZZ_RANDOM", "") == "",
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
START_MS = 1767225600000

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)

# -- cassettes --------------------------------------------------------------------------------------------

HEADER: dict[str, Any] = {
    "druid_sim_cassette": 1,
    "recorded_at": "2026-01-01T00:00:00.000Z",
    "upstream": "http://router:8888",
    "recorder": "test",
}
INTERACTION: dict[str, Any] = {
    "request": {
        "method": "GET",
        "path": "/druid/indexer/v1/task/t1/status",
        "query": [["a", "b"]],
        "headers": [["Accept", "application/json"]],
        "body": None,
    },
    "response": {
        "status": 200,
        "headers": [["Content-Type", "application/json"]],
        "body": {"json": {"task": "t1", "status": {"statusCode": "RUNNING"}}},
    },
    "elapsed_ms": 2.5,
    "at": 1.0,
}
FIELDS = [
    ("request", "method"),
    ("request", "path"),
    ("request", "query"),
    ("request", "headers"),
    ("request", "body"),
    ("response", "status"),
    ("response", "headers"),
    ("response", "body"),
    ("response", "chunked"),
    ("elapsed_ms",),
    ("at",),
]
special_values = st.sampled_from(
    [
        {"text": "x"},
        {"base64": "!!"},
        {"base64": "YWJj"},
        {"json": []},
        {"text": "x", "truncated": 10},  # bodies the recorder cut at --max-recorded-body, and broken markers
        {"text": "", "encoding": "gzip", "truncated": 0},
        {"base64": "YWJj", "truncated": 10**30},
        {"json": {}, "truncated": -5},
        {"text": "x", "truncated": True},
        {"truncated": 3},
        [["", "v"]],
        [["X A", "v"]],
        [["X", "a\nb"]],
        204,
        304,
        101,
        "HEAD",
        -1,
        10**12,
    ]
)


@st.composite
def mutated_interaction(draw: st.DrawFn) -> str:
    line = orjson.loads(orjson.dumps(INTERACTION))
    for _ in range(draw(st.integers(min_value=0, max_value=3))):
        *parents, leaf = draw(st.sampled_from(FIELDS))
        target = line
        for key in parents:
            target = target[key]
        target[leaf] = draw(json_values | special_values)
    return json.dumps(line)  # orjson cannot write the integers past 64 bits drawn here


cassette_lines = st.lists(
    mutated_interaction()
    | st.builds(lambda n: orjson.dumps({"repeat": n, "at": 2.0}).decode(), st.integers(-2, 2**40))
    | st.text(max_size=30),
    max_size=5,
)


@PROPERTY_SETTINGS
@given(lines=cassette_lines, cut=st.integers(min_value=0, max_value=20))
def test_a_mutated_cassette_loads_and_replays_or_names_file_and_line(lines: list[str], cut: int) -> None:
    path = Path("fuzzed.jsonl")
    data = "\n".join([orjson.dumps(HEADER).decode(), *lines]).encode()
    data = data[: len(data) - cut] if cut < len(data) else data
    try:
        cassette = parse_cassette(data, path)
    except CassetteFormatError as exc:
        assert str(exc).startswith(f"{path}:")
        assert exc.fix
        return
    for position, interaction in enumerate(cassette.interactions):
        answer = Answer.from_interaction(interaction, position)
        assert answer.status >= 200
        if answer.status in (204, 304) or interaction.request.method == "HEAD":
            assert answer.body == b""


@PROPERTY_SETTINGS
@given(data=st.binary(max_size=200))
def test_arbitrary_bytes_are_a_cassette_or_a_located_error(data: bytes) -> None:
    path = Path("random.jsonl")
    try:
        parse_cassette(data, path)
    except CassetteFormatError as exc:
        assert str(exc).startswith(f"{path}:")


# -- scenarios ------------------------------------------------------------------------------------------------

SCENARIO: dict[str, Any] = {
    "description": "fuzzed",
    "seed": 3,
    "datasources": ["wikipedia", "orders"],
    "workers": {"middle_managers": 2, "capacity": 4},
    "cluster": [{"count": 3, "state": "complete"}, {"count": 2, "state": "running"}, {"count": 1, "state": "waiting"}],
    "arrivals": {"every": "30s"},
    "behaviours": [{"match": {"type": "index"}, "run": {"uniform": ["10s", "1m"]}, "failure_probability": 0.5}],
    "faults": [{"kind": "error", "status": 503, "when": {"every": 3}}],
    "timeline": [{"at": "1m", "submit": {"count": 2, "spread": "10s"}}, {"at": "2m", "lose_leader": {"for": "30s"}}],
}
SCENARIO_KEYS = [
    ("seed",),
    ("datasources",),
    ("workers", "capacity"),
    ("workers", "middle_managers"),
    ("cluster",),
    ("arrivals", "every"),
    ("arrivals", "random"),
    ("behaviours",),
    ("faults",),
    ("timeline",),
    ("queue_max_size",),
    ("task_types",),
]
yaml_specials = st.sampled_from(
    [float("nan"), float("inf"), -1, 0, 10**20, "1ms", "365d", "366d", "1.0e+300", [1, 2], {"a": [1]}, None]
)


def _run(text: str, source: str) -> None:
    try:
        document = load_yaml(text, source)
        ctx = Context(source)
        scenario = read_scenario(document, ctx, "fuzzed")
        ctx.raise_if_any()
    except ScenarioError as exc:
        assert all(problem.render(source).startswith(source) for problem in exc.problems)
        return
    assert scenario is not None
    clock = Clock(START_MS, scale=0)
    overlord = build_overlord(scenario, clock, scenario.seed or 0)
    overlord.list_tasks(TaskQuery())
    clock.advance(3600)
    overlord.list_tasks(TaskQuery())
    for task in list(overlord.tasks.values())[:5]:
        task.status_response(task.phase_at(overlord.now()))


@PROPERTY_SETTINGS
@given(changes=st.lists(st.tuples(st.sampled_from(SCENARIO_KEYS), json_values | yaml_specials), max_size=3))
def test_a_mutated_scenario_validates_and_runs_or_names_file_and_line(
    changes: list[tuple[tuple[str, ...], Any]],
) -> None:
    document = orjson.loads(orjson.dumps(SCENARIO))
    for (*parents, leaf), value in changes:
        target = document
        for key in parents:
            target = target.setdefault(key, {}) if isinstance(target.get(key), dict) else {}
        target[leaf] = value
    _run(yaml.safe_dump(document, allow_unicode=True), "fuzzed.yaml")


@PROPERTY_SETTINGS
@given(text=st.text(alphabet=st.sampled_from(list("ab:-[]{}&*!?|>'\"#,.\n 0123456789")), max_size=80))
def test_arbitrary_text_is_a_scenario_or_a_located_error(text: str) -> None:
    _run("description: x\n" + text, "text.yaml")
