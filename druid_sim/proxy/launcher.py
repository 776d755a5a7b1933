"""`druid-sim record`: check the arguments, then run mitmproxy with the recorder in this process.

The proxy runs in-process (`druid_sim.proxy.master`) rather than as `mitmdump -s druid_sim/proxy/addon.py`: mitmdump's
own addon chain, not the recording, was most of the recorder's cost per request (issue 3), and a
master built here carries only the addons a recorder needs. The process is still the proxy itself, so
SIGINT/SIGTERM close the cassette cleanly (exit 0), a SIGKILL cannot orphan a child, and the Recorder
prints where to point clients and a running count of recorded interactions.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from druid_sim.cassette import RecordMode, RedactionRules, RuleError
from druid_sim.cassette.writer import holds_recordings
from druid_sim.limits import format_size, parse_size
from druid_sim.proxy.bodies import DEFAULT_MAX_RECORDED_BODY
from druid_sim.server.serving import listen_error, listening_socket


class LaunchError(Exception):
    """Bad arguments for `druid-sim record`; the message says how to fix them."""


@dataclass(frozen=True)
class RecordOptions:
    """What `druid-sim record` was asked to do."""

    cassette: str
    upstream: str | None = None
    listen: str = "127.0.0.1:8889"
    mode: str = RecordMode.REFUSE.value
    proxy_mode: str = "reverse"
    path_filter: str | None = None
    redact_rules: list[str] = field(default_factory=list)
    redact_builtin: bool = True
    insecure: bool = False
    confdir: str | None = None
    upstream_timeout: float = 60.0
    max_recorded_body: str = format_size(DEFAULT_MAX_RECORDED_BODY)  # bytes of each body kept in the cassette
    redaction_key: str | None = None  # a key file kept outside the cassette (created if missing)
    upstream_name: str | None = None  # the upstream's URL as the cassette records it (header and Host)


def parse_listen(listen: str) -> tuple[str, int]:
    """`HOST:PORT` (or `:PORT`, or `PORT`) → (host, port)."""
    host, sep, port = listen.rpartition(":")
    if not sep:
        host, port = "127.0.0.1", listen
    host = host.strip("[]") or "127.0.0.1"
    if not port.isdigit() or not 0 <= int(port) <= 65535:
        raise LaunchError(f"--listen {listen!r}: expected HOST:PORT, e.g. 127.0.0.1:8889 (port 0 picks a free one)")
    return host, int(port)


def check_upstream(upstream: str, flag: str = "--upstream") -> str:
    """Validate the upstream URL for reverse mode (``flag``: the option that gave it, for the message)."""
    parts = urlsplit(upstream)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise LaunchError(f"{flag} {upstream!r}: expected the Druid Router or Overlord URL, e.g. http://localhost:8888")
    if parts.username or parts.password:
        raise LaunchError(f"{flag} must not carry credentials; clients send their own Authorization header")
    return upstream.rstrip("/")


def check_max_recorded_body(value: str, flag: str = "--max-recorded-body") -> int:
    """The byte count of a ``--max-recorded-body`` value (``flag``: the option that gave it, for the message)."""
    try:
        return parse_size(value)
    except ValueError:
        raise LaunchError(
            f"{flag} {value!r}: give the bytes of each body to keep in the cassette, e.g. 8MiB, 500KB or 0 "
            f"(default {format_size(DEFAULT_MAX_RECORDED_BODY)})"
        ) from None


def recorder_settings(options: RecordOptions) -> dict[str, Any]:
    """The mitmproxy option values for `options` (raises LaunchError on bad input)."""
    try:
        RecordMode(options.mode)
    except ValueError:
        raise LaunchError(f"--mode {options.mode!r}: use refuse, append or overwrite") from None
    try:
        RedactionRules.from_specs(options.redact_rules)
    except RuleError as exc:
        raise LaunchError(str(exc)) from None
    cassette = Path(options.cassette)
    if options.mode == RecordMode.REFUSE and holds_recordings(cassette):
        raise LaunchError(
            f"{cassette} already exists and --mode refuse (the default) never overwrites a cassette. Use --mode append "
            "to add to it, --mode overwrite to replace it, or choose another --cassette"
        )
    host, port = parse_listen(options.listen)
    if not options.upstream_timeout >= 0:
        raise LaunchError(f"--upstream-timeout {options.upstream_timeout:g}: give seconds, e.g. 60 (0: no deadline)")
    max_recorded_body = check_max_recorded_body(options.max_recorded_body)
    if options.proxy_mode == "regular":
        mode = "regular"
    elif options.upstream is None:
        raise LaunchError("--upstream URL is required in reverse mode (or use --proxy-mode regular)")
    else:
        mode = f"reverse:{check_upstream(options.upstream)}"
    if options.upstream_name is not None and (options.proxy_mode == "regular" or options.upstream is None):
        raise LaunchError("--upstream-name renames --upstream in the cassette: it needs reverse mode and --upstream")
    settings: dict[str, Any] = {
        "mode": [mode],
        "listen_host": host,
        "listen_port": port,
        "cassette": str(cassette),
        "cassette_mode": options.mode,
        "connection_strategy": "lazy",
        "redact_rules": list(options.redact_rules),
        "redact_builtin": options.redact_builtin,
        "ssl_insecure": options.insecure,
        "upstream_timeout": f"{options.upstream_timeout:g}",
        "max_recorded_body": format_size(max_recorded_body),
    }
    if options.path_filter is not None:
        settings["record_path_filter"] = options.path_filter
    if options.redaction_key is not None:
        settings["redaction_key"] = options.redaction_key
    if options.upstream_name is not None:
        settings["upstream_name"] = check_upstream(options.upstream_name, "--upstream-name")
    if options.confdir:
        settings["confdir"] = options.confdir
    return settings


def run_recorder(options: RecordOptions) -> int:
    """Record until SIGINT/SIGTERM (exit 0); 2 if the arguments are wrong, 1 if mitmproxy cannot start."""
    try:
        settings = recorder_settings(options)
    except LaunchError as exc:
        print(f"druid-sim record: {exc}", file=sys.stderr)
        return 2
    try:
        from druid_sim.proxy.master import run_master
    except ImportError as exc:
        print(
            f"druid-sim record: mitmproxy is not installed ({exc}); install the recorder with: "
            "pip install 'druid-sim[record]'",
            file=sys.stderr,
        )
        return 2
    host, port = settings["listen_host"], settings["listen_port"]
    try:  # a port in use, said before anything starts (mitmproxy's own hint names an option record lacks)
        listening_socket(host, port).close()
    except OSError as exc:
        print(
            f"druid-sim record: {listen_error(host, port, exc)} with --listen HOST:PORT (0 picks a free one)",
            file=sys.stderr,
        )
        return 1
    target = options.upstream if options.proxy_mode != "regular" else "any host (forward proxy)"
    print(f"druid-sim record: starting mitmproxy, recording {target} into {options.cassette}", file=sys.stderr)
    return run_master(settings)
