"""Stopping ``druid-sim serve`` promptly: SIGTERM (or Ctrl-C) ends it within a second, whatever it is doing.

uvicorn's own shutdown is graceful and unbounded: it waits for every open request to finish (a ``hang``
fault never does) and only notices the signal when the event loop is free (a long computation on the
loop, or a thread holding the GIL, delays it indefinitely). A supervisor sending SIGTERM (systemd, a
container runtime, a test harness) must not have to wait for that, so two deadlines back it up:

1. `EXIT_S` after the signal, if the process is still alive (a request still open, or the loop busy),
   a watchdog thread ends it with ``os._exit(128 + signal)``, the status a shell reports for a process
   killed by that signal, after saying so on stderr. Open connections are closed by the kernel, as a
   client of a killed server would see; cancelling the requests instead would make uvicorn log a
   traceback for each and answer them 500;
2. `HARD_STOP_S`: if not even that thread could run (a C call holding the GIL, such as parsing a huge
   document), the kernel ends the process: an interval timer delivers SIGALRM, whose default action
   terminates it without any Python code running.

An idle server stops at once, as before (uvicorn then re-raises the signal, so SIGTERM still ends the
process with SIGTERM's status).

With ``--workers N``, uvicorn's supervisor passes the signal on to the workers (it looks every half
second) and then waits for them without limit; `PromptSupervisor` gives them `WORKER_GRACE_S` and then
kills the ones still running, so the whole group stops within a second too.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from types import FrameType
from typing import Any

import uvicorn

EXIT_S = 0.8
HARD_STOP_S = 0.95
WORKER_GRACE_S = 0.3


class PromptServer(uvicorn.Server):
    """A uvicorn server that arms the exit deadlines at the first SIGTERM or SIGINT."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.stopped = threading.Event()  # set once the server has stopped: the deadlines are off
        self._armed = False

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        super().handle_exit(sig, frame)
        if self._armed:
            return
        self._armed = True
        signal.signal(signal.SIGALRM, signal.SIG_DFL)
        signal.setitimer(signal.ITIMER_REAL, HARD_STOP_S)
        threading.Thread(target=self._exit_late, args=(sig,), name="druid-sim exit deadline", daemon=True).start()

    def _exit_late(self, sig: int) -> None:
        if self.stopped.wait(EXIT_S):
            return
        name = signal.Signals(sig).name
        print(f"druid-sim: still busy {EXIT_S} s after {name}; stopping now", file=sys.stderr, flush=True)
        os._exit(128 + sig)


class Terminated(Exception):
    """SIGTERM arrived: raised from its handler once uvicorn has stopped and re-raised the signal."""


def _terminated(sig: int, frame: FrameType | None) -> None:
    raise Terminated(sig)


def end_as_terminated() -> None:
    """End the process as SIGTERM would have (its status), once what a stop prints has been printed."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.raise_signal(signal.SIGTERM)


def serve(app: Any, sock: socket.socket, settings: dict[str, Any], on_stop: Callable[[], None] | None = None) -> bool:
    """Run ``app`` on the listening ``sock`` with uvicorn ``settings`` until a signal stops it; False if it
    never started.

    What ``uvicorn.run`` does for one process, with `PromptServer` in place of uvicorn's server. ``serve``
    binds the socket itself, before it announces where it listens (`druid_sim.server.serving.listening_socket`).

    ``on_stop`` runs once the server has stopped, whichever signal stopped it: uvicorn re-raises the signal
    it caught, and SIGTERM's default action would end the process before a replay's summary is printed,
    so SIGTERM is turned into `Terminated` here, ``on_stop`` runs, and then the process ends as SIGTERM
    ends it (its exit status), as SIGINT's summary is printed and then the shell sees the interrupt.
    """
    server = PromptServer(uvicorn.Config(app, **settings))
    previous = signal.signal(signal.SIGTERM, _terminated)
    terminated = False
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:
        pass
    except Terminated:
        terminated = True
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)  # stopped in time: no deadline left to fire
        server.stopped.set()
        signal.signal(signal.SIGTERM, previous)
    if server.started and on_stop is not None:
        on_stop()
    if terminated:
        end_as_terminated()
    return server.started


def serve_workers(app: str, sock: socket.socket, workers: int, settings: dict[str, Any]) -> None:
    """Run ``workers`` processes of the app factory ``app`` on the listening ``sock`` with uvicorn ``settings``
    until a signal stops them."""
    from uvicorn.supervisors.multiprocess import Multiprocess

    class PromptSupervisor(Multiprocess):
        def join_all(self) -> None:
            deadline = time.monotonic() + WORKER_GRACE_S
            for worker in self.processes:
                worker.process.join(max(0.0, deadline - time.monotonic()))
            for worker in self.processes:
                if worker.process.exitcode is None:  # still busy: a request that hangs, a long computation
                    worker.kill()
                    worker.process.join()

    from druid_sim.server.workers import PARENT_ENV

    os.environ[PARENT_ENV] = str(os.getpid())  # each worker ends when this process does (`die_with_parent`)
    config = uvicorn.Config(app, factory=True, workers=workers, **settings)
    PromptSupervisor(config, sockets=[sock]).run()
