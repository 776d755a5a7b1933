"""Explaining a miss: the nearest recorded requests, what differed, and why a candidate was skipped.

The same explanation is logged and, with ``--on-miss error``, served as the body of a 599 response in
``application/problem+json`` (RFC 9457) form, so a test that fails on a miss shows at once whether the
client sent another query key, another body field, or polled more often than the recording did.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from druid_sim.replay.index import ReplayIndex, Sequence
from druid_sim.replay.matchers import Difference, explain
from druid_sim.replay.normalize import Key, Normalized

logger = logging.getLogger("druid_sim.replay")

#: The status of a miss in ``--on-miss error`` mode: outside anything Druid or a proxy sends.
MISS_STATUS = 599
PROBLEM_JSON = b"application/problem+json"
NEAREST = 3


@dataclass(frozen=True, slots=True)
class NearMiss:
    """A recorded request close to the live one."""

    sequence: Sequence
    request: Normalized
    differences: list[Difference]
    distance: int
    skipped: str | None  # why an otherwise matching sequence did not answer

    def as_json(self) -> dict[str, Any]:
        request = self.request
        out: dict[str, Any] = {
            "interaction": self.sequence.first,
            "method": request.method,
            "path": request.path,
            "query": [list(pair) for pair in request.query],
            "differences": [d.as_json() for d in self.differences],
        }
        if self.skipped is not None:
            out["skipped"] = self.skipped
        return out

    def describe(self) -> str:
        request = self.request
        target = request.path + ("?" + "&".join(f"{k}={v}" for k, v in request.query) if request.query else "")
        reasons = [d.describe() for d in self.differences]
        if self.skipped:
            reasons.append(f"skipped: {self.skipped}")
        return f"#{self.sequence.first} {request.method} {target}: " + ("; ".join(reasons) or "identical")


def nearest(
    index: ReplayIndex, live: Normalized, skipped: Callable[[Sequence], str | None], limit: int = NEAREST
) -> list[NearMiss]:
    """The ``limit`` recorded requests closest to ``live``, closest first."""
    found: list[NearMiss] = []
    for sequence in index.candidates(live.method, live.path):
        recorded = index.request(sequence)
        differences, distance = explain(live, recorded)
        reason = skipped(sequence) if not differences else None
        found.append(NearMiss(sequence, recorded, differences, distance, reason))
    found.sort(key=lambda near: (near.distance, near.sequence.slot))
    return found[:limit]


def miss_token(key: Key) -> int:
    """A hash of a missed request's key that every worker computes alike (``hash()`` is salted per process),
    so the workers of one server agree on which misses were logged (`CursorStore.claim`)."""
    return int.from_bytes(hashlib.blake2b(repr(key).encode("utf-8", "backslashreplace"), digest_size=8).digest())


def request_json(live: Normalized) -> dict[str, Any]:
    out: dict[str, Any] = {"method": live.method, "path": live.path, "query": [list(p) for p in live.query]}
    if live.headers:
        out["headers"] = [list(h) for h in live.headers]
    if live.body:
        out["body"] = live.body_json if live.is_json else live.body[:500].decode("utf-8", "replace")
    return out


def _other_credentials(near: list[NearMiss]) -> list[Difference]:
    """The credential differences of the nearest candidate, if that is all that sets it apart."""
    if not near or not near[0].differences or not all(d.secret for d in near[0].differences):
        return []
    return near[0].differences


def miss_problem(cassette: str, live: Normalized, near: list[NearMiss]) -> bytes:
    """The problem+json body of an ``--on-miss error`` answer."""
    secrets = _other_credentials(near)
    if secrets:
        where = ", ".join(f"{d.part} {d.name}" for d in secrets)
        flags = " ".join(f"--ignore {d.part}:{d.name}" for d in secrets)
        fix = (
            f"It matches a recorded request except for credentials ({where}): the client sent other secrets than "
            "were recorded (both are shown only as placeholders). Send the recorded credentials, or leave them out "
            f"of matching with {flags}."
        )
    elif any(n.skipped for n in near):
        fix = (
            "The request was recorded but its recorded answers are used up: replay with --sequence stick-last "
            "(the default) or cycle, or record the extra requests."
        )
    else:
        fix = (
            "Record this request (druid-sim record), make the client send what was recorded, ignore the differing "
            "part with --ignore query:KEY / header:NAME / body:/pointer, or serve misses from the model with "
            "--on-miss simulate."
        )
    problem = {
        "type": "docs/replay.md#misses",
        "title": "Request not found in the cassette",
        "status": MISS_STATUS,
        "detail": f"{live.method} {live.path} matches no recorded interaction with an answer left. {fix}",
        "cassette": cassette,
        "request": request_json(live),
        "nearest": [n.as_json() for n in near],
    }
    return orjson.dumps(problem)


def _target(live: Normalized) -> str:
    return live.path + ("?" + "&".join(f"{k}={v}" for k, v in live.query) if live.query else "")


def log_miss(cassette: str, live: Normalized, near: list[NearMiss], answered_by: str) -> None:
    lines = [f"replay miss in {cassette}: {live.method} {_target(live)} (answered by {answered_by})"]
    lines += [f"  nearest {n.describe()}" for n in near] or ["  nothing recorded is close"]
    logger.warning("%s", "\n".join(lines))


def log_simulated_miss(cassette: str, live: Normalized, near: list[NearMiss], forwarded: bool = False) -> None:
    """One WARNING line for a request the model answers instead of the cassette (``forwarded``: the
    cluster, and the recorder appends it), with the nearest reason."""
    reason = f"nearest {near[0].describe()}" if near else "nothing recorded is close"
    who = "the cluster answers it and it is recorded (new_episodes)" if forwarded else "the model answers it"
    logger.warning(
        "replay miss: %s %s is not in %s, %s (--on-miss %s); %s",
        live.method,
        _target(live),
        cassette,
        who,
        "forward" if forwarded else "simulate",
        reason,
    )
