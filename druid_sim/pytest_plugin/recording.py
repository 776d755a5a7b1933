"""Recording cassettes from the test suite and replaying them by default, as pytest-recording does for VCR.py.

A test that names a cassette (``@pytest.mark.druid_sim(cassette="x.jsonl")``, or ``cassette=True`` for
``cassettes/<module>/<test>.jsonl`` beside the test file) replays it. ``--druid-sim-record=URL`` (a
Druid Router or Overlord) and ``--druid-sim-record-mode`` decide when it is recorded instead, with
pytest-recording's record modes:

========================  =====================================  ==========================================
mode                      cassette exists                        cassette missing
========================  =====================================  ==========================================
``none`` (the default)    replayed; an unrecorded request        the test fails: record it first
                          fails the test
``once`` (with the URL)   replayed; an unrecorded request        recorded
                          fails the test
``new_episodes``          replayed; what it has no answer for    recorded
                          is recorded and appended
``all`` (``rewrite``)     recorded again from scratch            recorded
========================  =====================================  ==========================================

Unlike VCR.py's ``all``, which keeps the old interactions in the file (unplayed), ``all`` here
rewrites the cassette, as pytest-recording's ``rewrite`` does: both names mean that. A cassette
several tests share is rewritten by the first of them in a session and appended to by the others.
A test records into ``<cassette>.partial``, renamed over the cassette when the test ends (`partial_path`),
so a killed session never leaves a cut-short cassette to be replayed as complete.
This module holds the decisions and the reports; `druid_sim.pytest_plugin` wires them to the fixture.
"""

from __future__ import annotations

import enum
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from druid_sim.cassette import RecordMode

if TYPE_CHECKING:
    from druid_sim.replay.engine import Replay

#: The file suffix of cassettes named after their test.
SUFFIX = ".jsonl"
#: Characters a file name cannot hold on some system, replaced by "-" in default cassette names.
_FORBIDDEN = "<>?%*:|\"'/\\"
#: How many missed requests a strict replay's report shows in full.
SHOWN_MISSES = 10


class RecordingMode(enum.StrEnum):
    """pytest-recording's record modes (``--druid-sim-record-mode``); the table above says what each does."""

    NONE = "none"
    ONCE = "once"
    NEW_EPISODES = "new_episodes"
    ALL = "all"
    REWRITE = "rewrite"

    @property
    def records(self) -> bool:
        return self is not RecordingMode.NONE


class CassetteMissing(Exception):
    """A test's cassette does not exist and the record mode does not record it; the message says how to."""


@dataclass(frozen=True, slots=True)
class Plan:
    """What happens to one test's cassette."""

    path: Path
    replay: bool  # serve what the cassette has (everything else goes to the model, or is recorded)
    record: RecordMode | None  # how the recorder opens the cassette; None: nothing is recorded

    @property
    def recording(self) -> bool:
        return self.record is not None


def partial_path(path: Path) -> Path:
    """Where a test records its cassette until it ends: ``<name>.jsonl.partial`` beside it.

    A recording becomes the cassette (an atomic rename) only when its test ends, so a session killed in
    the middle (SIGKILL, a CI timeout) leaves the cassette as it was (missing, or as before an append)
    and this file behind, which the next run recognises as an interrupted recording.
    """
    return path.with_name(path.name + ".partial")


def interrupted(path: Path) -> bool:
    """True when the last recording into ``path`` did not finish (its ``.partial`` file is left)."""
    return partial_path(path).exists()


def plan_cassette(path: Path, mode: RecordingMode, rewritten: set[Path]) -> Plan:
    """Replay, record or extend ``path`` under ``mode``; ``rewritten`` holds the cassettes this session
    has already recorded from scratch (so a shared cassette is rewritten once, then appended to).

    What an interrupted recording left (`partial_path`) is thrown away when recording, and refused when
    only replaying a cassette that it never became."""
    exists = path.is_file() and path.stat().st_size > 0
    if mode.records and interrupted(path) and path not in rewritten:
        partial_path(path).unlink(missing_ok=True)
    if mode in (RecordingMode.ALL, RecordingMode.REWRITE):
        first = path not in rewritten
        rewritten.add(path)
        return Plan(path, replay=False, record=RecordMode.OVERWRITE if first else RecordMode.APPEND)
    if exists:
        return Plan(path, replay=True, record=RecordMode.APPEND if mode is RecordingMode.NEW_EPISODES else None)
    if mode is RecordingMode.NONE:
        if interrupted(path):
            raise CassetteMissing(
                f"Its recording was interrupted (the session stopped before the test ended; what it recorded is in "
                f"{partial_path(path)}, never replayed): record it again with pytest --druid-sim-record=URL"
            )
        raise CassetteMissing(
            "--druid-sim-record-mode is none (replay only): record it from a Druid cluster with "
            "pytest --druid-sim-record=http://ROUTER:8888 (which records the missing cassettes)"
        )
    return Plan(path, replay=False, record=RecordMode.OVERWRITE)


def unreachable(url: str, timeout: float = 5.0) -> str | None:
    """None if a TCP connection to ``url``'s host and port succeeds, else why not. Checked before each
    recording test, so a cluster that is down never leaves a cassette truncated."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        socket.create_connection((parts.hostname or "", port), timeout=timeout).close()
    except OSError as exc:
        return str(exc) or type(exc).__name__
    return None


# -- where cassettes are ---------------------------------------------------------------------------


def default_cassette_dir(test_file: Path) -> Path:
    """``cassettes/<module>/`` beside the test file, as pytest-recording's ``vcr_cassette_dir``."""
    return test_file.parent / "cassettes" / test_file.stem


def default_cassette_name(test_class: type | None, test_name: str) -> str:
    """``<Class>.<test>`` or ``<test>`` (parameters included), characters a file name cannot hold as "-"."""
    name = f"{test_class.__name__}.{test_name}" if test_class is not None else test_name
    for character in _FORBIDDEN:
        name = name.replace(character, "-")
    return name


def where_to_record(name: str, test_file: Path) -> Path:
    """A cassette named by a test that does not exist yet is recorded relative to the test file."""
    path = Path(name)
    return path if path.is_absolute() else (test_file.parent / path).resolve()


# -- reports ---------------------------------------------------------------------------------------


def replay_problems(replay: Replay, count_misses: bool, count_unused: bool) -> str | None:
    """Why a replayed test fails, or None: requests the cassette had no answer for (``count_misses``: not
    when they were recorded, ``new_episodes``, or answered by the model by the test's choice, hybrid) and,
    in a strict replay (``count_unused``), recorded interactions never played."""
    from druid_sim.replay.engine import format_unused

    parts: list[str] = []
    if count_misses and replay.miss_count:
        parts.append(format_misses(replay))
    if count_unused and replay.unused():
        parts.append(format_unused(replay))
    return "\n".join(parts) if parts else None


def format_misses(replay: Replay) -> str:
    """The requests the cassette had no answer for, each with the nearest recorded requests and what differed."""
    count = replay.miss_count
    lines = [f"druid-sim: {count} request(s) had no answer in {replay.name}:"]
    shown = list(replay.misses)[-SHOWN_MISSES:]
    for miss in shown:
        how = "the replay's 599" if miss["answeredBy"] == "replay" else f"the {miss['answeredBy']}"
        lines.append(f"  {_target(miss['request'])} (answered by {how})")
        nearest = miss.get("nearest")
        if nearest is None:
            continue
        lines += [f"    nearest {_near(near)}" for near in nearest] or ["    nothing recorded is close"]
    if count > len(shown):
        lines.append(f"  ... and {count - len(shown)} more before these")
    return "\n".join(lines)


def _target(request: dict[str, Any]) -> str:
    query = "&".join(f"{key}={value}" for key, value in request.get("query", []))
    return f"{request['method']} {request['path']}" + (f"?{query}" if query else "")


def _near(near: dict[str, Any]) -> str:
    """One nearest recorded request, as the replay's log explains it (``NearMiss.describe``)."""
    from druid_sim.replay.matchers import Difference

    reasons = [
        Difference(d["part"], d.get("name"), d.get("recorded"), d.get("received")).describe()
        for d in near.get("differences", [])
    ]
    if near.get("skipped"):
        reasons.append(f"skipped: {near['skipped']}")
    return f"#{near['interaction']} {_target(near)}: " + ("; ".join(reasons) or "identical")


def recorded_summary(plan: Plan, recorded: int, upstream: str) -> str:
    """What a recording test's report says it wrote."""
    how = {RecordMode.OVERWRITE: "recorded", RecordMode.APPEND: "appended"}.get(plan.record or RecordMode.REFUSE, "")
    return f"druid-sim: {how} {recorded} interaction(s) from {upstream} into {plan.path}"
