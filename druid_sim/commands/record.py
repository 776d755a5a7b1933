"""`druid-sim record`: put a recording mitmproxy in front of a Druid Router/Overlord.

mitmproxy (and the `proxy` package) is imported only when the command runs, so `simulator` never
imports it at module import time and `druid-sim --help` works without the `record` extra.
"""

from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: Any) -> None:
    """Add the `record` subcommand."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "record",
        help="record Tasks-API traffic through mitmproxy into a cassette",
        description=(
            "Start mitmproxy as a reverse proxy in front of UPSTREAM (or as a forward proxy) and append every "
            "Tasks-API exchange to a cassette, with credentials redacted before anything is written. "
            "Stop with Ctrl-C; every finished interaction is already on disk."
        ),
    )
    parser.add_argument("--upstream", metavar="URL", help="Druid Router or Overlord, e.g. http://localhost:8888")
    parser.add_argument(
        "--upstream-name",
        metavar="URL",
        help="the cluster's URL as the cassette records it (its header's upstream and each request's Host), when "
        "the recorder reaches it at another address: a port-forward, a tunnel, a simulator on a free port. "
        "Recording again then keeps the cassette's header whatever port the cluster had (default: --upstream)",
    )
    parser.add_argument(
        "--listen", default="127.0.0.1:8889", metavar="HOST:PORT", help="where clients connect (default %(default)s)"
    )
    parser.add_argument("--cassette", required=True, metavar="FILE", help="cassette to write (JSON Lines)")
    parser.add_argument(
        "--mode",
        choices=["refuse", "append", "overwrite"],
        default="refuse",
        help="if the cassette exists: refuse (default), append to it, or overwrite it (one recorded from the same "
        "upstream is recorded again: its header, salt included, and the timings of unchanged exchanges are kept)",
    )
    parser.add_argument(
        "--proxy-mode",
        choices=["reverse", "regular"],
        default="reverse",
        help="reverse proxy to --upstream (default), or a forward proxy for clients that honour HTTP_PROXY",
    )
    parser.add_argument(
        "--path-filter", metavar="REGEX", help="record only paths matching REGEX (default: the Tasks API and /status)"
    )
    parser.add_argument(
        "--redact-rule",
        action="append",
        default=[],
        metavar="KIND:VALUE",
        help="extra redaction: header:NAME, query:NAME, json:KEY or json:a/b/key, regex:PATTERN (repeatable)",
    )
    parser.add_argument(
        "--no-default-redaction",
        action="store_true",
        help="do not apply the built-in redaction rules (writes secrets to disk; synthetic traffic only)",
    )
    parser.add_argument(
        "--redaction-key",
        nargs="?",
        const="",
        default=None,
        metavar="FILE",
        help="make placeholders with a key kept outside the cassette, in FILE (created if missing; default "
        "~/.config/druid-sim/redaction.key), instead of a salt stored in it: placeholders of short passwords "
        "cannot then be guessed from the cassette alone, but replaying needs the key (see docs/cassettes.md). "
        "$DRUID_SIM_REDACTION_KEY, if set, is used the same way",
    )
    parser.add_argument("--insecure", action="store_true", help="accept an HTTPS upstream's self-signed certificate")
    parser.add_argument(
        "--upstream-timeout",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="how long to wait for the upstream's response headers, and then between two pieces of its body "
        "(or for it to read more of an upload), "
        "before answering the client 504 naming it (or, once the body has begun, closing the client's "
        "connection) and recording nothing (default 60, nginx's proxy_read_timeout; 0 waits as long as "
        "mitmproxy does)",
    )
    parser.add_argument(
        "--max-recorded-body",
        default="8MiB",
        metavar="SIZE",
        help="bytes of each request and response body written to the cassette (default %(default)s; e.g. 500KB, "
        "64MiB). A longer body is still passed on whole, and recorded cut at a line or word boundary, marked "
        "truncated with its full size (see docs/cassettes.md)",
    )
    parser.add_argument("--confdir", metavar="DIR", help="mitmproxy configuration/CA directory (default ~/.mitmproxy)")
    parser.set_defaults(func=run)


def _key_file(value: str | None) -> str | None:
    """``--redaction-key`` alone means the default key file."""
    if value is None:
        return None
    from druid_sim.cassette.keys import default_key_file

    return value or str(default_key_file())


def run(args: argparse.Namespace) -> int:
    """Validate the arguments and record until interrupted (mitmproxy runs in this process)."""
    from druid_sim.proxy.launcher import RecordOptions, run_recorder

    return run_recorder(
        RecordOptions(
            cassette=args.cassette,
            upstream=args.upstream,
            listen=args.listen,
            mode=args.mode,
            proxy_mode=args.proxy_mode,
            path_filter=args.path_filter,
            redact_rules=list(args.redact_rule),
            redact_builtin=not args.no_default_redaction,
            insecure=args.insecure,
            confdir=args.confdir,
            upstream_timeout=args.upstream_timeout,
            max_recorded_body=args.max_recorded_body,
            redaction_key=_key_file(args.redaction_key),
            upstream_name=args.upstream_name,
        )
    )
