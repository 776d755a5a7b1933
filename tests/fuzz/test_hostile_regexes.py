"""Hostile regular expressions everywhere a user may give one (issue 22, item 4), over a real socket.

Catastrophic-backtracking patterns (``(a+)+$`` and its kin, and hypothesis's nestings of groups and
quantifiers) and patterns only a backtracking engine runs (backreferences, lookarounds, possessive
quantifiers) go into a fault's ``routes`` posted to the control API, a scenario's ``match.id`` and a
security role's resource name loaded through ``POST /__sim/scenario``, and a cassette's ``regex:``
redaction rule loaded through ``POST /__sim/cassette``. Each is either accepted and then matched
against text made to make it backtrack, answering at once (the client's timeout would fail the test
otherwise), or refused with the control API's one-line 422, never a 500 or a traceback.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import httpx
import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from druid_sim.util.jsonenc import allow_deep_walks
from tests.fuzz.test_loader_properties import PROPERTY_SETTINGS
from tests.support.live import LiveServer
from tests.support.replay import cassette_with_rule

# The replay's redactor raises the recursion limit on its first JSON walk, in the server's thread; raised
# now, before hypothesis runs, it is not changed during an example (which hypothesis warns about).
allow_deep_walks()

V1 = "/druid/indexer/v1"
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "5"))
SETTINGS = settings(PROPERTY_SETTINGS, max_examples=EXAMPLES)
#: Known catastrophic patterns (each takes seconds to hours in a backtracking engine on VICTIM), and
#: patterns only a backtracking engine can run.
CLASSICS = [
    "(a+)+$",
    "(a|a)*$",
    "(a|aa)+$",
    "(.*a){12}$",
    "^(a?){25}a{25}$",
    "(\\w+\\s?)+$",
    "([a-z]+)*=",
    "(x+x+)+y",
    "(a)\\1",
    "(?=a)a",
    "(?<!b)a",
    "a*+b",
    "(?>a+)b",
    "a\\Z",
    "\\p{Alpha}+",
    "(",
]
VICTIM = "a" * 40 + "!"
_ATOMS = st.sampled_from(["a", "a?", ".", "\\w", "[ab]", "a*", "\\1", "(?=a)", "a++", "(?:a|aa)"])
generated = st.recursive(
    _ATOMS,
    lambda inner: st.one_of(
        st.tuples(inner, st.sampled_from(["+", "*", "?", "{2,}", "{3}", "+?"])).map(lambda p: f"({p[0]}){p[1]}"),
        st.tuples(inner, inner).map(lambda p: p[0] + p[1]),
        st.tuples(inner, inner).map(lambda p: f"(?:{p[0]}|{p[1]})"),
    ),
    max_leaves=6,
).map(lambda body: body + "$")
patterns = st.one_of(st.sampled_from(CLASSICS), generated)


def _accepted_or_refused(answer: httpx.Response) -> bool:
    """200, or the control API's 422 with one line per problem; never a 500."""
    if answer.status_code == 422:
        body = answer.json()
        lines = [problem["message"] for problem in body.get("problems", [])] or [body["message"]]
        return all("\n" not in line for line in lines) and "Traceback" not in answer.text
    return answer.status_code == 200


@SETTINGS
@given(pattern=patterns)
def test_a_hostile_fault_route_is_refused_or_matched_at_once(server: LiveServer, pattern: str) -> None:
    with httpx.Client(base_url=server.url, timeout=10) as client:
        client.delete("/__sim/faults", headers={"Content-Type": "application/json"})
        fault = {"kind": "error", "status": 503, "routes": [f"^{V1}/task/{pattern}"]}
        added = client.post("/__sim/faults", json=fault)
        assert _accepted_or_refused(added), added.text
        assert client.get(f"{V1}/task/{VICTIM}/status").status_code in (404, 503)
        assert client.get("/status/health").status_code == 200


@SETTINGS
@given(pattern=patterns)
def test_a_hostile_scenario_pattern_is_refused_or_matched_at_once(server: LiveServer, pattern: str) -> None:
    folder = Path(tempfile.gettempdir())  # a folder the test server's control API may load from
    quoted = orjson.dumps(pattern).decode()  # a JSON string is a YAML string
    scenario = folder / f"druid-sim-hostile-{os.getpid()}.yaml"
    scenario.write_text(
        "description: hostile patterns\n"
        f"behaviours:\n  - match: {{id: {quoted}}}\n    failure_probability: 1\n"
        "security:\n  users:\n    w: {password: w-password, roles: [w]}\n"
        f"  roles:\n    w:\n      - {{resource: {{type: DATASOURCE, name: {quoted}}}, action: WRITE}}\n"
    )
    try:
        with httpx.Client(base_url=server.url, timeout=10) as client:
            loaded = client.post("/__sim/scenario", json={"scenario": str(scenario)})
            assert _accepted_or_refused(loaded), loaded.text
            spec = {"type": "index_parallel", "id": VICTIM, "spec": {"dataSchema": {"dataSource": VICTIM}}}
            submitted = client.post(f"{V1}/task", json=spec, auth=("w", "w-password"))
            assert submitted.status_code in (200, 403), submitted.text
    finally:
        scenario.unlink()
        with httpx.Client(base_url=server.url, timeout=10) as client:
            client.post("/__sim/scenario", json={"scenario": None})


@SETTINGS
@given(pattern=patterns)
def test_a_hostile_redaction_rule_is_refused_or_runs_at_once(server: LiveServer, pattern: str) -> None:
    cassette = cassette_with_rule(Path(tempfile.gettempdir()) / f"druid-sim-hostile-{os.getpid()}.jsonl", pattern)
    try:
        with httpx.Client(base_url=server.url, timeout=10) as client:
            loaded = client.post("/__sim/cassette", json={"cassette": str(cassette)})
            assert _accepted_or_refused(loaded), loaded.text
            answer = client.post(f"{V1}/taskStatus", json=[VICTIM])
            assert answer.status_code in (200, 599)  # answered at once: the model's, or a strict replay's miss
    finally:
        cassette.unlink()
        with httpx.Client(base_url=server.url, timeout=10) as client:
            client.post("/__sim/cassette", json={"cassette": None})
