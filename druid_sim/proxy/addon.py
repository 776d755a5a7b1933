"""The druid-sim recorder: a mitmproxy addon that writes faithful, secret-free cassettes.

    mitmdump -s druid_sim/proxy/addon.py --mode reverse:http://ROUTER:8888@8889 --set cassette=run.jsonl

or, with the same options and a friendlier front, `druid-sim record --upstream URL --cassette FILE`.
Every finished exchange whose path matches `record_path_filter` is redacted, then appended to the
cassette and flushed, so nothing is lost if the proxy dies. Forward-proxy mode (`--mode regular`) works
too. Options are described by their help text (`mitmdump -s druid_sim/proxy/addon.py --options`).
"""

from __future__ import annotations

import logging
import re
import sys
import time
from collections.abc import Awaitable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

if __package__ in (None, ""):  # loaded by `mitmdump -s` from a checkout that is not pip-installed
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mitmproxy import ctx, exceptions, http

from druid_sim.cassette import (
    CassetteError,
    CassetteWriter,
    Interaction,
    RecordMode,
    RedactionRules,
    Redactor,
    RuleError,
    new_meta,
)
from druid_sim.cassette.again import KeptTimings, again
from druid_sim.cassette.keys import RedactionKeyError
from druid_sim.cassette.redact import recording_redactor
from druid_sim.cassette.writer import existing_meta, holds_recordings
from druid_sim.limits import format_size, parse_size
from druid_sim.proxy.bodies import DEFAULT_MAX_RECORDED_BODY, BodyTee, should_stream
from druid_sim.proxy.capture import REQUEST_TEE_KEY, TEE_KEY, flow_to_interaction
from druid_sim.proxy.deadline import DEFAULT_UPSTREAM_TIMEOUT, TIMED_OUT, UpstreamDeadline
from druid_sim.proxy.upstream import UpstreamGuard, reverse_upstream

logger = logging.getLogger(__name__)

DEFAULT_PATH_FILTER = r"^/(?:druid/indexer/v1|status)(?:/|$)"
DEFAULT_STREAM_THRESHOLD = 1024 * 1024
PROGRESS_INTERVAL_S = 1.0


class Recorder:
    """Writes each matching exchange to the cassette as soon as its response has been read.

    It also passes hooks to its `UpstreamGuard` (clear 502s for a down upstream) and `UpstreamDeadline`
    (a 504 for a hung one) rather than registering them as addons of their own: mitmproxy would
    dispatch every event to those too.
    """

    def __init__(self, fixed_cassette: bool = True) -> None:
        #: True: record into the `cassette` option from start to end. False: no cassette until
        #: `open_cassette` names one (the pytest plugin's recorder: one proxy, a cassette per test).
        self.fixed_cassette = fixed_cassette
        self.guard = UpstreamGuard()
        self.deadline = UpstreamDeadline()
        self.writer: CassetteWriter | None = None
        self.redactor: Redactor | None = None
        self.recorded = 0
        self._upstream: str | None = None  # the reverse-mode upstream, once running
        self._redaction_key: str | None = None  # the redaction_key option (a key file), if set
        self._upstream_name: str | None = None  # the upstream_name option: the upstream as cassettes name it
        self._host_as: tuple[str, str] | None = None  # (the upstream's Host, the name's), when they differ
        self._opened_at = 0.0  # when the current cassette was opened (time.time())
        self._path_filter = re.compile(DEFAULT_PATH_FILTER)
        self._rules = RedactionRules()
        self._last_progress = 0.0
        # Options are read once in `configure`: every `ctx.options.X` deep-copies the value.
        self._stream_threshold = DEFAULT_STREAM_THRESHOLD
        self._body_limit = DEFAULT_MAX_RECORDED_BODY

    def load(self, loader: object) -> None:
        add = loader.add_option  # type: ignore[attr-defined]
        add("cassette", str, "", "Cassette file to record into (JSON Lines, see docs/cassettes.md). Required.")
        add(
            "cassette_mode",
            str,
            RecordMode.REFUSE.value,
            "What to do if the cassette exists: 'refuse' (default, never touch it), 'append' (add to it, reusing "
            "its redaction salt so placeholders stay stable) or 'overwrite'.",
            choices=[m.value for m in RecordMode],
        )
        add(
            "record_path_filter",
            str,
            DEFAULT_PATH_FILTER,
            "Regular expression on the request path (without query); only matching exchanges are recorded. "
            "Everything is still proxied. The default records the Tasks API and /status.",
        )
        add(
            "redact_rules",
            Sequence[str],
            [],
            "Extra redaction rules, KIND:VALUE with KIND header, query, json (a key, or a/b/key for a path) or "
            "regex (group 'secret' or 1 is replaced). Added to the built-in rules.",
        )
        add(
            "redact_builtin",
            bool,
            True,
            "Apply the built-in redaction rules (credential headers, URL credentials, secrets in ingestion "
            "specs and logs). Turning this off writes secrets to disk; only do it for synthetic traffic.",
        )
        add(
            "redaction_key",
            str,
            "",
            "Key file for placeholders kept outside the cassette (created if missing); empty: a random salt stored "
            "in the cassette header, unless $DRUID_SIM_REDACTION_KEY holds a key. See docs/cassettes.md.",
        )
        add(
            "upstream_name",
            str,
            "",
            "The reverse-mode upstream's URL as the cassette records it (its header and each request's Host header), "
            "when the recorder reaches the cluster at another address (a port-forward, a tunnel); empty: the "
            "upstream itself.",
        )
        add(
            "record_stream_threshold",
            int,
            DEFAULT_STREAM_THRESHOLD,
            "Stream (pass on as they arrive, keeping only what is recorded) bodies larger than this many bytes, "
            "and every body of unknown length; smaller ones are read whole first.",
        )
        add(
            "max_recorded_body",
            str,
            format_size(DEFAULT_MAX_RECORDED_BODY),
            "Bytes of each request and response body written to the cassette (e.g. 8MiB, 500KB). A longer body "
            "is still passed on whole, and recorded cut, marked truncated with its full size.",
        )
        add(
            "upstream_timeout",
            str,  # mitmproxy options have no float type; seconds, e.g. "60" or "0.5"
            f"{DEFAULT_UPSTREAM_TIMEOUT:g}",
            "Seconds to wait for the upstream's response headers, and then between two pieces of its body (or "
            "for it to read more of an upload); then "
            "the client gets a 504 naming the upstream (or, once the body has begun, a closed connection) and "
            "nothing is recorded. 0 waits as long as mitmproxy does (ten minutes of inactivity).",
        )

    def configure(self, updated: set[str]) -> None:
        self.guard.configure(updated)
        if "record_stream_threshold" in updated:
            self._stream_threshold = ctx.options.record_stream_threshold
        if "max_recorded_body" in updated:
            self._body_limit = _size(ctx.options.max_recorded_body)
        if "upstream_timeout" in updated:
            self.deadline.seconds = _seconds(ctx.options.upstream_timeout)
        if "record_path_filter" in updated:
            try:
                self._path_filter = re.compile(ctx.options.record_path_filter)
            except re.error as exc:
                raise options_error(f"record_path_filter is not a valid regular expression: {exc}") from exc
        if "redaction_key" in updated:
            self._redaction_key = ctx.options.redaction_key or None
        if "upstream_name" in updated:
            self._upstream_name = ctx.options.upstream_name.rstrip("/") or None
            self._host_as = None
            if self._upstream is not None:
                self._name_hosts()
        if "redact_rules" in updated or "redact_builtin" in updated:
            try:
                self._rules = RedactionRules.from_specs(ctx.options.redact_rules, ctx.options.redact_builtin)
            except RuleError as exc:
                raise options_error(str(exc)) from exc
        if self.fixed_cassette and ("cassette" in updated or "cassette_mode" in updated):
            path = ctx.options.cassette
            if not path:
                raise options_error("set the cassette to record into: --set cassette=FILE")
            if ctx.options.cassette_mode == RecordMode.REFUSE and holds_recordings(path) and self.writer is None:
                raise options_error(
                    f"{path} already exists and cassette_mode 'refuse' does not overwrite cassettes. Use "
                    "--set cassette_mode=append to add to it, cassette_mode=overwrite to replace it, or another file."
                )

    def running(self) -> None:
        if self.writer is not None:
            return
        self.guard.running()
        upstream = reverse_upstream()
        self._upstream = upstream[0] if upstream else None
        self._name_hosts()
        if not self.fixed_cassette:
            return
        path, mode = ctx.options.cassette, ctx.options.cassette_mode
        try:
            writer = self.open_cassette(path, mode)
        except (CassetteError, RuleError, RedactionKeyError, OSError) as exc:
            logger.error("cannot record into %s: %s", path, exc)
            ctx.master.shutdown()  # type: ignore[no-untyped-call]
            return
        if getattr(ctx.options, "flow_detail", 1) == 0:
            # `mitmdump --set flow_detail=0`: with per-flow output off, the per-connection chatter would
            # drown the running count; warnings and errors still show (`druid-sim record` quiets it itself).
            logging.getLogger("mitmproxy.proxy.server").setLevel(logging.WARNING)
        listen = _listen_urls()
        target = writer.meta.upstream or "whatever host each client asks for (forward proxy)"
        urls = ", ".join(listen)
        hint = f"point Druid clients at {urls}" if upstream else f"set HTTP_PROXY={urls}"
        logger.info("druid-sim: recording %s into %s; %s", target, writer.path, hint)

    def open_cassette(
        self,
        path: str | Path,
        mode: RecordMode | str,
        again_from: str | Path | None = None,
        kept: KeptTimings | None = None,
    ) -> CassetteWriter:
        """Record from now on into ``path`` (``mode``: refuse, append or overwrite), closing any cassette
        being recorded; raises `CassetteError`, `RuleError`, `RedactionKeyError` or OSError. Appending
        keeps the cassette's own redaction (rules and salt). Overwriting a cassette recorded from the same
        upstream with the same redaction records it again (`druid_sim.cassette.again`): its header, and the
        timings of the exchanges that did not change, are kept; ``again_from`` names that cassette when it
        is not ``path`` itself (the pytest plugin records into a file beside it). ``kept``, appending, goes on
        pairing with the timings an earlier recording again began with (the writer's `kept`: a cassette
        several tests share, recorded again test by test). Call it on the proxy's event loop."""
        self.close_cassette()
        upstream = self._upstream_name or self._upstream
        earlier = None
        if RecordMode(mode) is RecordMode.OVERWRITE:
            earlier = again(again_from or path, upstream, self._rules, self._redaction_key)
        if earlier is not None:
            redactor, meta, kept = earlier.redactor, earlier.meta, earlier.timings
        else:
            redactor = recording_redactor(self._rules, existing_meta(path, mode), self._redaction_key)
            url = redactor.redact_url(upstream) if upstream else None
            meta = new_meta(url, redactor.redaction)
            kept = kept if RecordMode(mode) is RecordMode.APPEND else None
        writer = CassetteWriter.open(path, mode, meta, line_filter=redactor.scrub_line, kept=kept)
        self.writer, self.redactor = writer, redactor
        self.recorded = 0
        # With cassettes switched while running, an exchange that began before this one opened is not its own.
        self._opened_at = 0.0 if self.fixed_cassette else time.time()
        return writer

    def _name_hosts(self) -> None:
        """With ``upstream_name``, the Host header mitmproxy sends the upstream is recorded as the name's."""
        if self._upstream is None or self._upstream_name is None:
            self._host_as = None
            return
        sent, named = urlsplit(self._upstream), urlsplit(self._upstream_name)
        self._host_as = None if sent.netloc == named.netloc else (sent.netloc.lower(), named.netloc)

    def close_cassette(self) -> int:
        """Stop recording (the file is closed; every finished exchange is in it); how many were recorded."""
        writer, self.writer = self.writer, None
        if writer is not None:
            writer.close()
        return self.recorded

    def server_connect(self, data: Any) -> Awaitable[None] | None:
        return self.guard.server_connect(data)

    def server_connect_error(self, data: Any) -> None:
        self.guard.server_connect_error(data)

    def requestheaders(self, flow: http.HTTPFlow) -> None:
        """A large upload (a huge spec) is streamed to the upstream, never held whole; see `_stream`."""
        request = flow.request
        if request.stream is True or (not request.stream and should_stream(request, self._stream_threshold)):
            request.stream = self._stream(flow, REQUEST_TEE_KEY)
            self.deadline.requestheaders(flow)

    def request(self, flow: http.HTTPFlow) -> None:
        self.deadline.request(flow)

    def responseheaders(self, flow: http.HTTPFlow) -> None:
        """A large or open-ended answer (a task log) is streamed to the client; its body gets an idle deadline."""
        response = flow.response
        if response is not None:
            if response.stream is True or (not response.stream and should_stream(response, self._stream_threshold)):
                response.stream = self._stream(flow, TEE_KEY)
            elif response.stream and self.writer is not None and self._wanted(flow):
                logger.warning(
                    "response to %s is already streamed by another addon; its body may be lost", flow.request.path
                )
        self.deadline.responseheaders(flow)

    def _stream(self, flow: http.HTTPFlow, key: str) -> BodyTee:
        """The `BodyTee` a body is streamed through: it keeps up to ``max_recorded_body`` bytes of a body the
        cassette records (under ``key`` in the flow's metadata) and none of any other, and counts them all
        (the idle deadline watches that count)."""
        if self.writer is None or not self._wanted(flow):
            return BodyTee(0)
        tee = BodyTee(self._body_limit)
        flow.metadata[key] = tee
        return tee

    def response(self, flow: http.HTTPFlow) -> None:
        self.deadline.response(flow)
        writer, redactor = self.writer, self.redactor
        if writer is None or redactor is None or flow.response is None or not self._wanted(flow):
            return
        if flow.request.timestamp_start < self._opened_at:
            return  # began before this cassette was opened: it belonged to the one before (or to none)
        interaction = flow_to_interaction(flow, writer.at(flow.request.timestamp_start), self._body_limit)
        if self._host_as is not None:
            interaction = _host_renamed(interaction, *self._host_as)
        if interaction.request.body.truncated is not None or interaction.response.body.truncated is not None:
            _say_truncated(interaction)
        writer.append(redactor.redact_interaction(interaction))
        self.recorded += 1
        now = time.monotonic()
        if now - self._last_progress >= PROGRESS_INTERVAL_S:
            self._last_progress = now
            self._progress(flow)

    def _progress(self, flow: http.HTTPFlow) -> None:
        """The running count, at most once per PROGRESS_INTERVAL_S (never per exchange)."""
        status = flow.response.status_code if flow.response is not None else 0
        logger.info(
            "druid-sim: %d interaction(s) recorded (last: %s %s → %d)",
            self.recorded,
            flow.request.method,
            flow.request.path.partition("?")[0],
            status,
        )

    def error(self, flow: http.HTTPFlow) -> None:
        self.deadline.error(flow)
        for key in (REQUEST_TEE_KEY, TEE_KEY):
            tee = flow.metadata.pop(key, None)
            if tee is not None:
                tee.close()
        if self._wanted(flow) and not flow.metadata.get(TIMED_OUT):  # a timeout was reported as it happened
            logger.warning("not recorded: %s %s failed: %s", flow.request.method, flow.request.path, flow.error)

    def done(self) -> None:
        if self.writer is not None:
            path = self.writer.path
            logger.info("druid-sim: %d interaction(s) recorded in %s", self.close_cassette(), path)

    def _wanted(self, flow: http.HTTPFlow) -> bool:
        return self._path_filter.search(flow.request.path.partition("?")[0]) is not None


def _host_renamed(interaction: Interaction, sent: str, named: str) -> Interaction:
    """The interaction with its request's Host header ``sent`` (the upstream's) recorded as ``named``."""
    request = interaction.request
    headers = [(k, named) if k.lower() == "host" and v.lower() == sent else (k, v) for k, v in request.headers]
    return replace(interaction, request=replace(request, headers=headers))


def _say_truncated(interaction: Interaction) -> None:
    """One log line per exchange with a body recorded cut: a careful operator wants to know."""
    request = interaction.request
    for which, body in (("request", request.body), ("response", interaction.response.body)):
        if body.truncated is not None:
            logger.warning(
                "%s %s: %s body of %s bytes passed on whole, recorded cut to its first %s (--max-recorded-body)",
                request.method,
                request.path,
                which,
                f"{body.truncated:,}",
                f"{len(body.raw()):,}",
            )


def options_error(message: str) -> Exception:
    """mitmproxy's OptionsError (untyped upstream); raised from `configure` it stops mitmdump with `message`."""
    error: Exception = exceptions.OptionsError(message)  # type: ignore[no-untyped-call]
    return error


def _seconds(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not seconds >= 0:
        raise options_error(f"upstream_timeout {value!r}: give seconds, e.g. 60 or 0.5 (0: no deadline)")
    return seconds


def _size(value: str) -> int:
    try:
        return parse_size(value)
    except ValueError:
        raise options_error(f"max_recorded_body {value!r}: give bytes or a size, e.g. 8MiB or 500KB") from None


def _listen_urls() -> list[str]:
    try:
        addrs = ctx.master.addons.get("proxyserver").listen_addrs()  # type: ignore[no-untyped-call]
    except AttributeError:
        return []
    return [f"http://{a[0]}:{a[1]}" if ":" not in a[0] else f"http://[{a[0]}]:{a[1]}" for a in addrs]


addons = [Recorder()]
