"""The recorder inside another program: mitmproxy in a daemon thread with its own event loop.

The pytest plugin records cassettes from the test process itself (``pytest --druid-sim-record=URL``).
It runs one `EmbeddedRecorder` per session: a `RecordingMaster` in reverse mode to the cluster, on a
free loopback port, with the same Recorder addon (and so the same redaction) as ``druid-sim record``,
and points it at one cassette per test (`record_into`, then `finish`). Starting mitmproxy costs a
quarter of a second or more (it loads its CA key twice, even for plain HTTP), which is why it starts
once and only the cassette changes between tests.

mitmproxy keeps the running master in module globals (``mitmproxy.ctx``): run one at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from mitmproxy import exceptions, options

from druid_sim.cassette import RecordMode
from druid_sim.cassette.again import KeptTimings
from druid_sim.limits import format_size
from druid_sim.proxy.addon import Recorder
from druid_sim.proxy.launcher import check_max_recorded_body, check_upstream
from druid_sim.proxy.master import RecordingMaster

T = TypeVar("T")

#: How long mitmproxy may take to listen before the recorder gives up.
STARTUP_TIMEOUT_S = 20.0


class RecorderStartError(Exception):
    """The embedded recorder could not start; the message says why."""


class EmbeddedRecorder:
    """mitmproxy recording ``upstream``, at :attr:`url`, until :meth:`stop`; a cassette at a time."""

    def __init__(
        self,
        upstream: str,
        confdir: str | Path,
        insecure: bool = False,
        max_recorded_body: str | None = None,
        upstream_name: str | None = None,
    ) -> None:
        """``max_recorded_body``: bytes of each body kept in the cassettes (a size such as ``8MiB``; None: the
        recorder's default); a longer body is passed on whole and recorded cut, marked truncated.
        ``upstream_name``: the upstream's URL as the cassettes record it (None: ``upstream``)."""
        self.upstream = check_upstream(upstream)  # LaunchError with the fix
        self.url = ""
        self._settings: dict[str, Any] = {
            "mode": [f"reverse:{self.upstream}"],
            "listen_host": "127.0.0.1",
            "listen_port": 0,
            "confdir": str(confdir),
            "connection_strategy": "lazy",
            "ssl_insecure": insecure,
        }
        if upstream_name is not None:
            self._settings["upstream_name"] = check_upstream(upstream_name, "--druid-sim-record-upstream-name")
        if max_recorded_body is not None:
            self._settings["max_recorded_body"] = format_size(check_max_recorded_body(max_recorded_body))
        self._master: RecordingMaster | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._error: str | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"druid-sim recorder for {self.upstream}", daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._error is not None:
            self.stop()
            raise RecorderStartError(self._error)

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except Exception as exc:  # anything mitmproxy raises while starting or running: say so, never hang
            self._error = self._error or f"mitmproxy stopped: {type(exc).__name__}: {exc}"
        finally:
            self._ready.set()

    async def _serve(self) -> None:
        opts = options.Options()
        master = RecordingMaster(opts, Recorder(fixed_cassette=False), embedded=True)
        self._master, self._loop = master, asyncio.get_running_loop()
        try:
            opts.update(**self._settings)  # type: ignore[no-untyped-call]
        except exceptions.OptionsError as exc:
            self._error = f"mitmproxy refused its options: {exc}"
            self._ready.set()
            return
        running = asyncio.create_task(master.run())
        proxyserver = master.addons.get("proxyserver")  # type: ignore[no-untyped-call]
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while not proxyserver.listen_addrs() and not running.done() and time.monotonic() < deadline:
            await asyncio.sleep(0.005)
        addresses = proxyserver.listen_addrs()
        if addresses:
            host, port = addresses[0][:2]
            self.url = f"http://{host}:{port}"
        else:
            self._error = "mitmproxy did not start listening on 127.0.0.1 (its log above says why)"
            master.shutdown()  # type: ignore[no-untyped-call]
        self._ready.set()
        try:
            await running
        finally:
            # mitmproxy's shutdown leaves its listening sockets open (nothing stops the servers when it is done),
            # for the loop's end to drop unclosed: a recorder stopped in a running program closes them.
            with contextlib.suppress(Exception):
                await proxyserver.servers.update([])

    def _call(self, function: Callable[[], T]) -> T:
        """Run ``function`` on the proxy's event loop (where the recorder's hooks run) and return its result."""
        assert self._loop is not None

        async def run() -> T:
            return function()

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(timeout=30)

    @property
    def recorder(self) -> Recorder:
        assert self._master is not None
        return self._master.recorder

    def record_into(
        self,
        cassette: str | Path,
        mode: RecordMode,
        again_from: str | Path | None = None,
        kept: KeptTimings | None = None,
    ) -> KeptTimings | None:
        """Record every exchange from now on into ``cassette`` (``mode``: overwrite or append); raises
        `CassetteError` or OSError if it cannot be opened. ``again_from``: the cassette this recording
        records again (its header and unchanged timings are kept: `Recorder.open_cassette`); ``kept``:
        appending, the timings such a recording began with. Returns the timings this one keeps, if any."""
        return self._call(lambda: self.recorder.open_cassette(cassette, mode, again_from, kept).kept)

    @property
    def recorded(self) -> int:
        """Interactions recorded into the current cassette so far."""
        return self._call(lambda: self.recorder.recorded)

    def finish(self) -> int:
        """Close the cassette being recorded (every finished exchange is in it); how many were recorded."""
        return self._call(self.recorder.close_cassette)

    def stop(self) -> None:
        """Shut mitmproxy down (an open cassette is closed) and wait for its thread."""
        if self._master is not None and self._loop is not None and not self._loop.is_closed():
            self._master.shutdown()  # type: ignore[no-untyped-call]
        self._thread.join(timeout=10)
