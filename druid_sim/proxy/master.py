"""The mitmproxy master that `druid-sim record` runs in-process, with only the addons a recorder needs.

Why not `mitmdump -s druid_sim/proxy/addon.py`: mitmproxy hands every event (four per proxied request, each
followed by an `update` event) to every addon in its chain, whether or not the addon has a hook for
it. mitmdump's chain holds ~36 addons, and a script sits behind two wrapper addons, so that dispatch,
not the recording, was most of the recorder's cost over bare mitmdump (issue 3). `RecordingMaster`
keeps only these, in mitmdump's order:

* `TermLog`: mitmproxy's log on the terminal ("listening at", warnings, errors);
* `Core`: validation of mitmproxy's own options (`--set` style options from config.yaml);
* `Block`: refuses clients from public IP addresses (`block_global`), as mitmdump does: a recorder
  started with `--listen 0.0.0.0:8889` on a machine with a public address is not an open proxy;
* `DisableH2C`: strips `Upgrade: h2c` and kills prior-knowledge HTTP/2 on plain HTTP, which mitmproxy
  cannot proxy; without it such a client breaks mid-connection instead of getting HTTP/1.1;
* `Proxyserver`, `NextLayer`, `TlsConfig`: the proxy itself, reverse and regular modes, HTTPS to
  clients and upstreams (`ssl_insecure`, the CA in `confdir`);
* `ErrorCheck`: exits with status 1 when start-up logged an error (a port in use, a bad option);
* the `Recorder`, which also guards the upstream (`druid_sim.proxy.upstream`).

Dropped, because a recording proxy has no use for them and each one costs every event a dispatch:
`Dumper` (per-flow output; `druid-sim record` ran it with `flow_detail=0` anyway), `KeepServing` and
`ReadFileStdin` (they only act on replays and flow files; without them the master keeps serving until
SIGINT/SIGTERM, which is what `keepserving` means for a recorder), `ScriptLoader` (no `-s` scripts),
the flow-rewriting addons (`anticache`, `anticomp`, `blocklist`, `map_local`/`map_remote`,
`modify_body`/`modify_headers`, `sticky*`, `upstream_auth`, `proxyauth`, `update_alt_svc`: Druid sends
no Alt-Svc), server and client replay,
`save`/`savehar` (`-w`/HAR files: the cassette is the recording), the UI helpers (`browser`,
`command_history`, `comment`, `cut`, `export`), `onboarding` (the mitm.it certificate page: the CA is
`confdir/mitmproxy-ca-cert.pem`), and the DNS-only `dns_resolver` and `strip_dns_https_records`.
Anyone who needs one of those can run `mitmdump -s druid_sim/proxy/addon.py` with any mitmproxy option.

`HookTable` is the other half of the saving: it dispatches an event only to the addons that define
a hook for it, with mitmproxy's error handling (an addon's exception is logged, `AddonHalt` stops
the event, `OptionsError` propagates).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import os
import signal
import sys
from collections.abc import Callable, Mapping
from typing import Any

from mitmproxy import addonmanager, exceptions, flow, hooks, master, options, optmanager
from mitmproxy.addons import (
    block,
    core,
    disable_h2c,
    errorcheck,
    next_layer,
    proxyserver,
    termlog,
    tlsconfig,
)

from druid_sim.proxy.addon import Recorder, options_error

logger = logging.getLogger(__name__)

#: The hooks of one event, in chain order.
Hooks = list[Callable[..., Any]]


class HookTable(addonmanager.AddonManager):  # type: ignore[misc]  # mitmproxy is untyped
    """mitmproxy's AddonManager, but each event goes only to the addons with a hook for it.

    The upstream manager walks the whole chain for every event (a generator per addon, a context
    manager per addon, a `getattr` per addon); this one looks the hooks up once per event name and
    forgets them whenever an addon is added or removed.
    """

    def __init__(self, owner: master.Master) -> None:
        super().__init__(owner)  # type: ignore[no-untyped-call]
        self._hooks: dict[str, Hooks] = {}

    def register(self, addon: object) -> object:
        self._hooks.clear()
        return super().register(addon)  # type: ignore[no-untyped-call]

    def remove(self, addon: object) -> None:
        self._hooks.clear()
        super().remove(addon)  # type: ignore[no-untyped-call]

    def _hooks_for(self, name: str) -> Hooks:
        found = self._hooks.get(name)
        if found is None:
            found = [
                func
                for top in self.chain
                for addon in addonmanager.traverse([top])  # type: ignore[no-untyped-call]
                if callable(func := getattr(addon, name, None))
            ]
            self._hooks[name] = found
        return found

    async def handle_lifecycle(self, event: hooks.Hook) -> None:
        """The event, then `update` for its flow, as upstream; but no `update` at all when no addon has it."""
        args = event.args()
        await self._dispatch(self._hooks_for(event.name), args)
        if isinstance(args[0], flow.Flow) and (update := self._hooks_for("update")):
            await self._dispatch(update, [[args[0]]])

    async def trigger_event(self, event: hooks.Hook) -> None:
        found = self._hooks_for(event.name)
        if found:
            await self._dispatch(found, event.args())

    @staticmethod
    async def _dispatch(found: Hooks, args: list[Any]) -> None:
        for func in found:
            try:
                result = func(*args)
                if result is not None and inspect.isawaitable(result):
                    await result
            except exceptions.AddonHalt:
                return
            except exceptions.OptionsError:
                raise
            except Exception as exc:
                logger.error(f"Addon error: {exc}", exc_info=exc)


def recorder_addons(recorder: Recorder, error_check: bool = True) -> list[object]:
    """The addon chain of a recording proxy (after TermLog); the module docstring says why these.

    ``error_check`` False leaves out `ErrorCheck`, whose answer to a start-up error is `sys.exit`: a
    proxy running inside another program (the pytest plugin's) reports its errors to that program.
    """
    addons: list[object] = [
        core.Core(),
        block.Block(),
        disable_h2c.DisableH2C(),
        proxyserver.Proxyserver(),  # type: ignore[no-untyped-call]
        next_layer.NextLayer(),
        tlsconfig.TlsConfig(),
    ]
    if error_check:
        addons.append(errorcheck.ErrorCheck())
    return [*addons, recorder]


class RecordingMaster(master.Master):  # type: ignore[misc]  # mitmproxy is untyped
    """A mitmproxy master running the recorder; build it inside a running event loop.

    ``embedded`` True: a proxy inside another program, which keeps the terminal and the process to
    itself: no TermLog (mitmproxy's messages go to the standard `logging` module only) and no
    ErrorCheck (see `recorder_addons`).
    """

    def __init__(self, opts: options.Options, recorder: Recorder | None = None, embedded: bool = False) -> None:
        super().__init__(opts, with_termlog=False)
        opts.changed.disconnect(self.addons._configure_all)
        self.addons = HookTable(self)
        if not embedded:
            self._termlog_addon = termlog.TermLog()
            self.addons.add(self._termlog_addon)  # type: ignore[no-untyped-call]
        self.recorder = recorder or Recorder()
        self.addons.add(*recorder_addons(self.recorder, error_check=not embedded))  # type: ignore[no-untyped-call]


def _configure_logging() -> None:
    """As mitmdump does, minus the root logger at DEBUG: TermLog shows INFO and up, so a debug call
    (mitmproxy makes some per connection) returns at once instead of building a record nobody prints."""
    logging.getLogger().setLevel(logging.INFO)
    for name in ("tornado", "asyncio", "hpack", "quic"):
        logging.getLogger(name).setLevel(logging.WARNING)
    # The recorder prints a running count; mitmproxy's per-connection chatter would drown it.
    logging.getLogger("mitmproxy.proxy.server").setLevel(logging.WARNING)
    logging.getLogger("mitmproxy.addons.proxyserver").addFilter(listen_hint)


def _load_config(opts: options.Options) -> None:
    """`confdir/config.yaml` as mitmdump reads it; options of addons this master leaves out are ignored."""
    for name in ("config.yaml", "config.yml"):
        path = os.path.join(opts.confdir, name)
        try:
            optmanager.load_paths(opts, path)
        except TypeError as exc:  # a value of the wrong type, which mitmproxy leaves untranslated
            raise options_error(f"Error reading {path}: {exc}") from None
    if opts.deferred:
        logger.warning(
            "druid-sim record ignores these options from %s/config.yaml (their addons are not loaded): %s",
            opts.confdir,
            ", ".join(sorted(opts.deferred)),
        )
        opts.deferred.clear()


def _quiet_cancelled_connections(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """Python 3.11's asyncio reports a client connection's task cancelled at shutdown as an unhandled
    exception, with a traceback (its ``StreamReaderProtocol`` callback asks a cancelled task for its
    exception; 3.12 checks first). Stopping the proxy while a client hangs up is no error."""
    if isinstance(context.get("exception"), asyncio.CancelledError):
        return
    loop.default_exception_handler(context)


async def serve(settings: Mapping[str, Any]) -> int:
    """Run a RecordingMaster with these option values until it is shut down; the exit status."""
    _configure_logging()
    opts = options.Options()
    recording = RecordingMaster(opts)
    try:
        if "confdir" in settings:
            opts.update(confdir=settings["confdir"])  # type: ignore[no-untyped-call]
        _load_config(opts)
        opts.update(**settings)  # type: ignore[no-untyped-call]
    except exceptions.OptionsError as exc:
        print(f"druid-sim record: {exc}", file=sys.stderr)
        return 2
    if opts.termlog_verbosity == "debug":  # asked for in config.yaml
        logging.getLogger().setLevel(logging.DEBUG)
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(_quiet_cancelled_connections)
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, recording.shutdown)
    # A client that goes away mid-write must not kill the proxy (mitmproxy issue 6744).
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    await recording.run()
    return 0


def listen_hint(record: logging.LogRecord) -> bool:
    """mitmproxy answers a port in use with "Try ... `--mode reverse:URL@PORT`", an option `druid-sim record`
    does not have: point at ``--listen`` instead."""
    message = record.getMessage()
    if "Try specifying a different port by using `--mode" in message:
        record.msg = (
            message.split("\nTry specifying")[0] + "\nChoose another port with --listen HOST:PORT (0 picks a free one)."
        )
        record.args = ()
    return True


def run_master(settings: Mapping[str, Any]) -> int:
    """`serve` on a fresh event loop; what `druid-sim record` calls."""
    return asyncio.run(serve(settings))
