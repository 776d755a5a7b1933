"""A loaded cassette ready to answer: its index, its sequence cursors, its options and its misses.

`Replay` has no HTTP in it (that is `app.ReplayApp`); the control API reads `unused()`, `misses` and
`describe()` from the instance kept in ``simulation.extensions["replay"]``.

A replay owns the cassette's redactor (`Redactor.for_meta`: the rules and salt of its header), which
turns each live request into what the recorder would have written before it is matched: a client
sending the credentials it was recorded with matches, one sending others misses. A cassette recorded
without redaction gets a redactor with the built-in rules and a fresh salt, applied to its recorded
requests too, so matching is unchanged and no explanation ever shows a secret in clear.
"""

from __future__ import annotations

import logging
import re
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from druid_sim.cassette import (
    Cassette,
    CassetteError,
    CassetteFormatError,
    Redactor,
    Request,
    RuleError,
    load_cassette,
    new_salt,
)
from druid_sim.cassette.keys import RedactionKeyError
from druid_sim.cassette.redact import secret_pairs
from druid_sim.limits import MAX_CASSETTE_SIZE
from druid_sim.overlord.overlord import Overlord
from druid_sim.overlord.task import Task
from druid_sim.replay.answers import Answer
from druid_sim.replay.cursors import CursorStore, MemoryCursors, take
from druid_sim.replay.index import ReplayIndex, Sequence
from druid_sim.replay.misses import NearMiss, log_simulated_miss, miss_token, nearest, request_json
from druid_sim.replay.normalize import Normalized
from druid_sim.replay.options import LatencyMode, MatchRules, MissMode, SequencePolicy
from druid_sim.replay.seed import Observations, cassette_end_ms, observe, seed_overlord, seed_tasks
from druid_sim.replay.spy import ForwardLog
from druid_sim.replay.supervisor_seed import seed_supervisors
from druid_sim.replay.worker_seed import seed_worker_config

logger = logging.getLogger("druid_sim.replay")

#: How many recent misses `Replay.misses` keeps for the control API.
MISS_HISTORY = 200
#: How many distinct secrets a replay's redactor remembers to catch their echoes (a client sends a few).
REMEMBERED_SECRETS = 1024
#: How every placeholder starts (`Redactor.placeholder`): an answer without it has nothing to give back.
PLACEHOLDER_START = b"<redacted:"
PLACEHOLDER = re.compile(r"(<redacted:[0-9a-f]+>)")
#: A value with more placeholders than this is not searched for the secrets behind them.
MAX_PLACEHOLDERS_PER_VALUE = 8


@dataclass(frozen=True, slots=True)
class ReplayOptions:
    """How a cassette is replayed (``druid-sim serve --cassette FILE ...``)."""

    sequence: SequencePolicy = SequencePolicy.STICK_LAST
    on_miss: MissMode = MissMode.SIMULATE
    latency: LatencyMode = LatencyMode.NONE
    rules: MatchRules = field(default_factory=MatchRules)
    #: The key file of a cassette whose redaction key is kept outside it (None: env var, default file).
    redaction_key: str | None = None
    #: The largest cassette file loaded (``--max-cassette-size``); a larger one is refused before it is read.
    max_cassette_size: int = MAX_CASSETTE_SIZE


def cassette_redactor(cassette: Cassette, key_file: str | None = None) -> Redactor:
    """The redactor the cassette was recorded with; raises `CassetteError` naming the file and the fix."""
    if cassette.meta.redaction is None:
        return Redactor(new_salt(), remember=REMEMBERED_SECRETS)
    try:
        return Redactor.for_meta(cassette.meta, key_file=key_file, remember=REMEMBERED_SECRETS)
    except RuleError as exc:
        raise CassetteFormatError(
            cassette.path, 1, f"bad header: redaction: {exc}", "Fix that rule in the header or re-record the cassette"
        ) from None
    except RedactionKeyError as exc:
        raise CassetteError(f"{cassette.path}: {exc}") from None


class Replay:
    """The replay engine for one cassette."""

    def __init__(self, cassette: Cassette, options: ReplayOptions | None = None, cursors: CursorStore | None = None):
        self.cassette = cassette
        self.options = options or ReplayOptions()
        self.redactor = cassette_redactor(cassette, self.options.redaction_key)
        #: Secrets live requests sent, by the placeholder the cassette has for them (see `give_back`).
        self._given: dict[bytes, bytes] = {}
        #: Puts a live request in the shape the recorder wrote: the cassette's own redaction.
        self.redact: Callable[[Request], Request] = self._redact_and_remember
        recorded_in_clear = cassette.meta.redaction is None
        self.index = ReplayIndex.build(cassette, self.options.rules, redact=self.redact if recorded_in_clear else None)
        self.cursors: CursorStore = cursors or MemoryCursors(len(self.index.sequences))
        self._observations: Observations | None = None
        self.hits = 0
        self.misses: deque[dict[str, Any]] = deque(maxlen=MISS_HISTORY)
        self.miss_count = 0
        #: Bumped by `reset`, so caches of settled answers (`ReplayApp`) know to start again.
        self.generation = 0
        #: Spy mode (``--on-miss forward`` in ``serve``): what was forwarded, and the cassette it is appended to.
        self.forward_log: ForwardLog | None = None

    def _redact_and_remember(self, request: Request) -> Request:
        """`Redactor.redact_live_request` (a placeholder the client sent itself matches nothing recorded),
        remembering which secret each placeholder in the body stood for."""
        redacted = self.redactor.redact_live_request(request)
        if request.body.kind == "json" and redacted.body.kind == "json" and redacted.body != request.body:
            for original, placeholders in secret_pairs(request.body.value, redacted.body.value):
                if isinstance(original, str):
                    for placeholder, secret in secrets_behind(original, placeholders):
                        if len(self._given) >= REMEMBERED_SECRETS:
                            self._given.clear()
                        self._given[placeholder.encode("ascii")] = orjson.dumps(secret)[1:-1]
        return redacted

    @property
    def gives_back(self) -> bool:
        """True once a client sent a secret whose placeholder a recorded answer may hold."""
        return bool(self._given)

    def give_back(self, body: bytes) -> bytes:
        """``body`` with each placeholder of a secret a client sent replaced by that secret (as JSON text).

        A client that submitted a task with its S3 key reads the payload back (``GET /task/{id}``) as a
        live cluster answers it, with its own key in it, instead of the cassette's placeholder. The
        secret comes from memory only (what this server received, bounded, forgotten at a reset): it is
        never written, logged or journaled, and a client that never sent it gets the placeholder.
        """
        if not self._given or PLACEHOLDER_START not in body:
            return body
        for placeholder, secret in self._given.items():
            if placeholder in body:
                body = body.replace(placeholder, secret)
        return body

    @classmethod
    def load(cls, path: str | Path, options: ReplayOptions | None = None) -> Replay:
        """Load and index a cassette; raises `CassetteFormatError` with file, line and fix."""
        return cls(load_cassette(path, (options or ReplayOptions()).max_cassette_size), options)

    @property
    def name(self) -> str:
        return str(self.cassette.path)

    @property
    def observations(self) -> Observations:
        if self._observations is None:
            self._observations = observe(self.cassette)
        return self._observations

    # -- answering -------------------------------------------------------------------------------

    def find(self, request: Normalized) -> Sequence | None:
        """The recorded sequence ``request`` matches: the same request, or the same recorded without credentials."""
        sequence = self.index.by_key.get(request.key)
        if sequence is None and request.headers:
            anonymous = request.without_credentials()
            if anonymous is not None:
                sequence = self.index.by_key.get(anonymous)
        return sequence

    def play(self, sequence: Sequence) -> Answer | None:
        """The next answer of ``sequence`` under the sequence policy, or None if it is used up."""
        plays = sequence.plays
        position = take(self.cursors, sequence.slot, len(plays), self.options.sequence)
        if position is None:
            return None
        self.hits += 1
        return self.index.answer(plays[position])

    def settled(self, sequence: Sequence) -> bool:
        """True when every further play of ``sequence`` gives the same answer (until a reset).

        Never with cursors shared by replicas: another replica's reset would not be seen here."""
        if self.cursors.shared:
            return False
        length = len(sequence.plays)
        policy = self.options.sequence
        if policy is SequencePolicy.STICK_LAST:
            return self.cursors.get(sequence.slot) >= length
        return policy is SequencePolicy.CYCLE and length == 1

    def skipped(self, sequence: Sequence) -> str | None:
        """Why a sequence that matches cannot answer (only ``exhaust`` ever runs out)."""
        if self.options.sequence is not SequencePolicy.EXHAUST:
            return None
        length = len(sequence.plays)
        if self.cursors.get(sequence.slot) >= length:
            return f"its sequence is used up: all {length} recorded answers were played (--sequence exhaust)"
        return None

    def explain_miss(self, request: Normalized) -> list[NearMiss]:
        return nearest(self.index, request, self.skipped)

    def simulated_miss(self, request: Normalized) -> None:
        """A miss the model answers (or, ``--on-miss forward``, the cluster, and it is recorded): counted,
        kept, and logged once per distinct request with its reason."""
        forwarded = self.options.on_miss is MissMode.FORWARD
        near: list[NearMiss] | None = None
        if self.cursors.claim(miss_token(request.key)):  # once for the whole server, whichever worker meets it
            near = self.explain_miss(request)
            log_simulated_miss(self.name, request, near, forwarded)
        self.note_miss(request, near, "upstream" if forwarded else "model")

    def note_miss(self, request: Normalized, near: list[NearMiss] | None, answered_by: str) -> None:
        self.miss_count += 1
        entry: dict[str, Any] = {"request": request_json(request), "answeredBy": answered_by}
        if near is not None:
            entry["nearest"] = [n.as_json() for n in near]
        self.misses.append(entry)

    # -- the model and resets --------------------------------------------------------------------

    def end_ms(self) -> int:
        """Where the virtual clock should start so the model agrees with the recording."""
        return cassette_end_ms(self.cassette, self.observations)

    def seed(self, overlord: Overlord, tasks: list[Task] | None = None) -> int:
        """Put every task the cassette saw into the model, in its last observed state.

        ``tasks``: the ones `seed_tasks` built beforehand (off the event loop), used instead of building them.
        """
        seed_worker_config(overlord, self.cassette)  # tasks are placed as the recorded config says
        seed_supervisors(overlord, self.cassette)  # the recorded supervisors run on in the model
        if tasks is None:
            return seed_overlord(overlord, self.cassette, self.observations)
        return overlord.add_all(tasks)

    def seed_tasks(self) -> list[Task]:
        """The model tasks `seed` would add, built now: pure work, safe in a worker thread."""
        return seed_tasks(self.cassette, self.observations)

    def reset(self) -> None:
        """Every sequence back to its first answer; counters and misses cleared."""
        self.cursors.reset()
        self.generation += 1
        self.hits = 0
        self.miss_count = 0
        self.misses.clear()
        self._given.clear()

    # -- reporting -------------------------------------------------------------------------------

    def unused(self) -> list[dict[str, Any]]:
        """Recorded interactions never played, and those played fewer times than recorded."""
        out: list[dict[str, Any]] = []
        interactions = self.cassette.interactions
        counts = self.cursors.counts(len(self.index.sequences))
        for sequence in self.index.sequences:
            for position, played in sequence.played(counts[sequence.slot]).items():
                recorded = interactions[position].count
                if played < recorded:
                    request = interactions[position].request
                    out.append(
                        {
                            "interaction": position,
                            "method": request.method,
                            "path": request.path,
                            "query": [list(pair) for pair in request.query],
                            "status": interactions[position].response.status,
                            "recorded": recorded,
                            "played": played,
                        }
                    )
        out.sort(key=lambda item: item["interaction"])
        return out

    def describe(self) -> dict[str, Any]:
        """The replay as the control API shows it."""
        return {
            "cassette": self.name,
            "recordedAt": self.cassette.meta.recorded_at,
            "upstream": self.cassette.meta.upstream,
            "interactions": len(self.cassette.interactions),
            "sequences": len(self.index.sequences),
            "sequence": str(self.options.sequence),
            "onMiss": str(self.options.on_miss),
            "latency": str(self.options.latency),
            "hits": self.hits,
            "misses": self.miss_count,
            "unused": len(self.unused()),
            "cursors": self.cursors.describe(),
            "missed": list(self.misses),
            "forwarded": None
            if self.forward_log is None
            else {
                **self.forward_log.describe(),
                "recent": list(self.forward_log.recent),
            },
            "redaction": describe_redaction(self.cassette),
            "warnings": list(self.cassette.warnings),
        }


def secrets_behind(original: str, redacted: str) -> list[tuple[str, str]]:
    """(placeholder, secret) pairs: which part of ``original`` each placeholder in ``redacted`` replaced.

    A whole value (``"password": "<redacted:...>"``) or a part of one (a JAAS config whose password
    alone was replaced): the text around the placeholders is matched literally, so nothing else is taken
    for a secret.
    """
    pieces = PLACEHOLDER.split(redacted)
    if len(pieces) == 1:
        return []
    literals, placeholders = pieces[0::2], pieces[1::2]
    if len(placeholders) > MAX_PLACEHOLDERS_PER_VALUE:
        return []
    match = re.fullmatch("(.+?)".join(re.escape(text) for text in literals), original, re.DOTALL)
    if match is None:
        return []
    return list(zip(placeholders, match.groups(), strict=True))


def describe_redaction(cassette: Cassette) -> dict[str, Any]:
    """How live requests are redacted before matching, as ``/__sim/cassette`` shows it."""
    redaction = cassette.meta.redaction
    if redaction is None:
        return {"key": "none: recorded without redaction (live requests and recorded ones get the built-in rules)"}
    key = "salt in the cassette header" if redaction.salt is not None else f"kept outside (key id {redaction.key_id})"
    return {"key": key, "builtinRules": redaction.builtin, "rules": list(redaction.rules)}


def format_banner(replay: Replay) -> str:
    """What ``serve`` says when it starts replaying: which cassette, how big, and who answers misses."""
    cassette = replay.cassette
    meta = cassette.meta
    source = f" from {meta.upstream}" if meta.upstream else ""
    if replay.options.on_miss is MissMode.SIMULATE:
        misses = "requests it has no answer for are answered by the model, each logged once as a WARNING"
    elif replay.options.on_miss is MissMode.FORWARD and replay.forward_log is not None:
        recorded = ", and appended to the cassette (--record-new)" if replay.forward_log.record_new else ""
        misses = f"requests it has no answer for are forwarded to the upstream{recorded}"
    else:
        misses = "requests it has no answer for get a 599 naming the nearest recorded ones"
    return (
        f"druid-sim: replaying {replay.name}: {len(cassette.interactions)} interactions "
        f"({cassette.exchanges()} exchanges) recorded {meta.recorded_at}{source}; {misses} (--on-miss "
        f"{replay.options.on_miss})"
    )


def format_totals(replay: Replay, counted: bool = True, listed: bool = False) -> str:
    """What ``serve`` says when it stops: hits, misses and unused interactions.

    ``counted`` False: hits and misses were counted in worker processes, so only what was left unused
    (read from the shared cursors) is reported; ``listed``: ``--report-unused`` lists them next.
    """
    unused = len(replay.unused())
    total = len(replay.cassette.interactions)
    hint = " (--report-unused lists them)" if unused and not listed else ""
    played = f"{replay.hits} hits, {replay.miss_count} misses, " if counted else ""
    if counted and replay.forward_log is not None:
        log = replay.forward_log
        played += f"{log.count} forwarded" + (
            f" ({log.recorded} appended to the cassette), " if log.record_new else ", "
        )
    return f"druid-sim: {replay.name}: {played}{unused} of {total} recorded interactions not (fully) played{hint}"


def format_unused(replay: Replay) -> str:
    """The report ``--report-unused`` prints when the server stops."""
    unused = replay.unused()
    if not unused:
        return f"druid-sim: every recorded interaction in {replay.name} was played"
    lines = [f"druid-sim: {len(unused)} recorded interactions in {replay.name} were not (fully) played:"]
    for item in unused:
        query = "&".join(f"{k}={v}" for k, v in item["query"])
        target = item["path"] + (f"?{query}" if query else "")
        lines.append(
            f"  #{item['interaction']} {item['method']} {target} -> {item['status']}"
            f" (played {item['played']} of {item['recorded']})"
        )
    return "\n".join(lines)
