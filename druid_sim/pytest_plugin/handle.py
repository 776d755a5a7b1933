"""The handle a test gets from the ``druid_sim`` fixture: the URL, an HTTP client, the clock, faults and journal."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import httpx
import orjson

from druid_sim.client import JournalEntry, SimControl, tls_context
from druid_sim.clock import parse_duration, parse_instant
from druid_sim.pytest_plugin.recording import Plan, interrupted, partial_path, replay_problems
from druid_sim.pytest_plugin.servers import SimServer
from druid_sim.runtime import Simulation

if TYPE_CHECKING:
    from druid_sim.proxy.embedded import EmbeddedRecorder

#: How many journal entries a failed test's report shows.
TAIL = 25
#: A small, valid task spec for ``submit`` when the test gives none.
DEFAULT_TASK: dict[str, Any] = {
    "type": "index_parallel",
    "spec": {
        "dataSchema": {"dataSource": "wikipedia", "timestampSpec": {"column": "time", "format": "iso"}},
        "ioConfig": {"type": "index_parallel", "inputSource": {"type": "inline", "data": "{}"}},
    },
}


class NotWhileRecording(Exception):
    """A ``druid_sim`` call that only makes sense against the simulator, made while the test records."""


class DruidSim:
    """A running simulator for one test: its URL, an HTTP client, and handles on clock, faults, journal.

    While the test records (:attr:`recording`), Druid requests that no fault answers go to the real
    cluster and into the cassette; time is the cluster's real time (``advance`` waits), and calls that
    would change the model (``submit``) or stop the clock (``freeze``) raise :class:`NotWhileRecording`.
    """

    def __init__(self, server: SimServer, cassette: str | None = None, plan: Plan | None = None) -> None:
        self.server = server
        self.url = server.url
        #: The cassette replayed (None: none, or one being recorded from scratch).
        self.cassette = cassette
        #: What happens to the test's cassette (None: the test has none).
        self.plan = plan
        #: The session's recorder, while the test records into its cassette.
        self.recorder: EmbeddedRecorder | None = None
        #: While recording a cluster that is druid-sim on a frozen clock: its control API (its clock is moved).
        self.cluster: SimControl | None = None
        #: Interactions recorded into the cassette, once the test is over.
        self.recorded = 0
        #: The control API client (everything below goes through it, as a test in another process would).
        self.control = SimControl(server.url)
        #: An httpx client for the Druid API, based at :attr:`url`.
        self.http = httpx.Client(base_url=server.url, timeout=10, verify=tls_context())

    @property
    def recording(self) -> bool:
        """True when the test records its cassette from a real cluster (``--druid-sim-record``)."""
        return self.plan is not None and self.plan.recording

    @property
    def simulation(self) -> Simulation:
        """The simulation itself, for reading the model directly (change it through the methods here)."""
        return self.server.simulation

    def close(self) -> None:
        self.control.close()
        self.http.close()

    def _not_while_recording(self, call: str, instead: str) -> None:
        if self.recording:
            raise NotWhileRecording(f"druid_sim.{call} cannot be used while the test records a real cluster: {instead}")

    # -- state -------------------------------------------------------------------------------------

    def reset(self) -> None:
        """Back to the configuration's start, with the test's cassette: tasks, clock, faults, replay
        cursors, journal (see `SimServer.use_cassette`)."""
        self.server.use_cassette(self.cassette)
        self.control.reset()

    def submit(self, spec: dict[str, Any] | None = None, **fields: Any) -> str:
        """Put a task straight into the model (no HTTP: not journaled, never faulted) and return its id.

        ``spec`` is a ``POST /task`` body (a small ``index_parallel`` spec by default); ``fields`` are
        merged into it (``id="my-task"``). To submit through the Druid API, use ``self.http.post``.
        """
        from druid_sim.druid.submission import SubmissionError, parse_submission
        from druid_sim.overlord.overlord import DuplicateTaskError

        self._not_while_recording("submit", "the model does not answer; submit with druid_sim.http.post instead")
        body = orjson.dumps({**(spec or DEFAULT_TASK), **fields})

        def submit() -> str:
            from druid_sim import actions
            from druid_sim.actions import record

            submission = parse_submission(body)
            task = self.simulation.overlord.submit(submission)
            record(self.simulation, actions.submitted(task, submission))  # kept, with state=, as POST /task keeps it
            return task.id

        try:
            return self.server.call(submit)
        except SubmissionError as exc:
            raise ValueError(f"Druid would refuse this task: {exc.message}") from None
        except DuplicateTaskError as exc:
            raise ValueError(f"a task with id {exc.args[0]!r} exists already; pick another id") from None

    def restart(self) -> None:
        """Stop the server and start it again on the same URL, as after a crash and a restart: with
        ``state=`` (a store, docs/state.md) it comes back with everything the test did; without, from its
        configuration's start. Clients see their connections closed, as with a real restart."""
        self.server.restart()

    def set_leader(self, leader_url: str | None) -> None:
        """Make this Overlord a non-leader that redirects (307) to ``leader_url``; None makes it lead again."""

        def change() -> None:
            self.simulation.leadership.leader_url = leader_url

        self.server.call(change)

    # -- clock -------------------------------------------------------------------------------------

    def now(self) -> str:
        """The virtual time, as Druid writes it."""
        return self.control.clock()["now"]

    def now_seconds(self) -> float:
        """The virtual time in seconds since the epoch (a ``clock`` for code that takes one)."""
        return self.control.clock()["nowMillis"] / 1000.0

    def advance(self, duration: str | float) -> str:
        """Move virtual time forward (seconds, or ``"250ms"``, ``"5m"``, ``"2h"``); returns the new time.

        While recording, the cluster's time is real: this waits that long (a client's ``sleep``); unless the
        cluster is druid-sim on a frozen clock, whose clock it moves, with this server's.
        """
        if self.recording and self.cluster is None:
            time.sleep(parse_duration(duration))
            return self.now()
        if self.cluster is not None:
            self.cluster.advance(duration)
        return self.control.advance(duration)["now"]

    def advance_to(self, instant: str) -> str:
        if self.recording and self.cluster is None:
            time.sleep(max(0.0, parse_instant(instant) / 1000.0 - self.now_seconds()))
            return self.now()
        if self.cluster is not None:
            self.cluster.advance_to(instant)
        return self.control.advance_to(instant)["now"]

    def freeze(self) -> None:
        self._not_while_recording("freeze", "a real cluster's clock cannot be stopped")
        self.control.freeze()

    def set_scale(self, scale: float) -> None:
        """Virtual seconds per real second from now on (0 freezes)."""
        self._not_while_recording("set_scale", "a real cluster's clock runs at its own pace")
        self.control.set_scale(scale)

    # -- faults ------------------------------------------------------------------------------------

    def add_fault(self, spec: dict[str, Any] | None = None, **fields: Any) -> dict[str, Any]:
        """Add a fault in the scenario-file shape: ``add_fault(kind="error", status=503, when={"first": 2})``."""
        return self.control.add_fault({**(spec or {}), **fields})[0]

    def faults(self) -> list[dict[str, Any]]:
        return self.control.faults()

    def remove_fault(self, name: str) -> None:
        self.control.remove_fault(name)

    def clear_faults(self) -> int:
        return self.control.clear_faults()

    # -- journal -----------------------------------------------------------------------------------

    def journal(self, method: str | None = None, path: str | None = None, **filters: Any) -> list[JournalEntry]:
        """Druid requests received, oldest first (``path`` is a glob; also status, answered_by, fault, user)."""
        return self.control.journal(method, path, **filters)

    def count(self, method: str | None = None, path: str | None = None, **filters: Any) -> int:
        return self.control.count(method, path, **filters)

    def clear_journal(self) -> int:
        return self.control.clear_journal()

    def journal_tail(self, n: int = TAIL) -> str:
        """The last ``n`` requests, one line each (what a failed test's report shows)."""
        journal = self.server.simulation.extensions.get("journal")
        if journal is None:
            return "(no journal)"
        entries = journal.select(limit=n)
        if not entries:
            return "(no Druid requests were received)"
        header = f"last {len(entries)} of {journal.total} Druid requests (virtual time; status; answered by):"
        return "\n".join([header, *(repr(entry) for entry in entries)])

    # -- replay failures ---------------------------------------------------------------------------

    def replay_problems(self) -> str | None:
        """Why the replayed test fails: requests the cassette had no answer for (VCR.py's record modes
        none and once; not when they were recorded, or answered by the model because the test asked for
        ``on_miss="simulate"``), and in a strict replay recorded interactions never played and a last
        recording that was interrupted; None when there is nothing to say."""
        if self.plan is None or not self.plan.replay:
            return None
        replay = self.simulation.extensions.get("replay")
        if replay is None:
            return None
        options = self.server.options
        count_misses = not self.recording and not options.hybrid
        problems = self.server.call(lambda: replay_problems(replay, count_misses, options.strict))
        if options.strict and interrupted(self.plan.path):
            note = (
                f"druid-sim: the last recording into {self.plan.path} was interrupted (the session stopped before "
                f"its test ended; {partial_path(self.plan.path).name} is what it left): record it again with "
                "--druid-sim-record=URL, or delete that file to replay the cassette as it is"
            )
            problems = note if problems is None else f"{note}\n{problems}"
        return problems


__all__ = ["DruidSim", "NotWhileRecording"]
