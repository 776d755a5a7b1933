"""`druid-sim record`: check the arguments, then become `mitmdump` with the recorder addon.

The launcher replaces itself with mitmdump (`os.execv`) instead of supervising a child: signals reach
mitmproxy directly (SIGINT/SIGTERM close the cassette cleanly), a SIGKILL cannot orphan a proxy, and
mitmdump running as its own process is the interface mitmproxy's maintainers treat as stable. The addon
prints where to point clients and a running count of recorded interactions.
"""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from simulator.cassette import RecordMode, RedactionRules, RuleError

ADDON_PATH = Path(__file__).resolve().parent / "addon.py"


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
    extra: list[str] = field(default_factory=list)


def parse_listen(listen: str) -> tuple[str, int]:
    """`HOST:PORT` (or `:PORT`, or `PORT`) → (host, port)."""
    host, sep, port = listen.rpartition(":")
    if not sep:
        host, port = "127.0.0.1", listen
    host = host.strip("[]") or "127.0.0.1"
    if not port.isdigit() or not 0 <= int(port) <= 65535:
        raise LaunchError(f"--listen {listen!r}: expected HOST:PORT, e.g. 127.0.0.1:8889 (port 0 picks a free one)")
    return host, int(port)


def check_upstream(upstream: str) -> str:
    """Validate the upstream URL for reverse mode."""
    parts = urlsplit(upstream)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise LaunchError(
            f"--upstream {upstream!r}: expected the Druid Router or Overlord URL, e.g. http://localhost:8888"
        )
    if parts.username or parts.password:
        raise LaunchError("--upstream must not carry credentials; clients send their own Authorization header")
    return upstream.rstrip("/")


def find_mitmdump() -> str:
    """The mitmdump next to this Python, else on PATH."""
    sibling = Path(sys.executable).parent / "mitmdump"
    if sibling.exists():
        return str(sibling)
    found = shutil.which("mitmdump")
    if found is None:
        raise LaunchError("mitmdump is not installed; install the recorder with: pip install 'druid-sim[record]'")
    return found


def build_argv(options: RecordOptions, mitmdump: str = "mitmdump") -> list[str]:
    """The mitmdump command line for `options` (raises LaunchError on bad input)."""
    try:
        RecordMode(options.mode)
    except ValueError:
        raise LaunchError(f"--mode {options.mode!r}: use refuse, append or overwrite") from None
    try:
        RedactionRules.from_specs(options.redact_rules)
    except RuleError as exc:
        raise LaunchError(str(exc)) from None
    cassette = Path(options.cassette)
    if options.mode == RecordMode.REFUSE and cassette.exists() and cassette.stat().st_size > 0:
        raise LaunchError(
            f"{cassette} already exists and --mode refuse (the default) never overwrites a cassette. Use --mode append "
            "to add to it, --mode overwrite to replace it, or choose another --cassette"
        )
    host, port = parse_listen(options.listen)
    if options.proxy_mode == "regular":
        mode = "regular"
    elif options.upstream is None:
        raise LaunchError("--upstream URL is required in reverse mode (or use --proxy-mode regular)")
    else:
        mode = f"reverse:{check_upstream(options.upstream)}"
    argv = [
        mitmdump,
        "--mode",
        mode,
        "--listen-host",
        host,
        "--listen-port",
        str(port),
        "-s",
        str(ADDON_PATH),
        "--set",
        f"cassette={cassette}",
        "--set",
        f"cassette_mode={options.mode}",
        "--set",
        "connection_strategy=lazy",
        "--set",
        "flow_detail=0",
    ]
    if options.path_filter is not None:
        argv += ["--set", f"record_path_filter={options.path_filter}"]
    for rule in options.redact_rules:
        argv += ["--set", f"redact_rules={rule}"]
    if not options.redact_builtin:
        argv += ["--set", "redact_builtin=false"]
    if options.insecure:
        argv += ["--set", "ssl_insecure=true"]
    if options.confdir:
        argv += ["--set", f"confdir={options.confdir}"]
    return argv + options.extra


def exec_mitmdump(options: RecordOptions) -> int:
    """Replace this process with mitmdump; returns only (with 2) if the arguments are wrong."""
    try:
        argv = build_argv(options, find_mitmdump())
    except LaunchError as exc:
        print(f"druid-sim record: {exc}", file=sys.stderr)
        return 2
    target = options.upstream if options.proxy_mode != "regular" else "any host (forward proxy)"
    print(f"druid-sim record: starting mitmproxy, recording {target} into {options.cassette}", file=sys.stderr)
    sys.stderr.flush()
    sys.stdout.flush()
    os.execv(argv[0], argv)
    return 0  # pragma: no cover  (execv does not return)
