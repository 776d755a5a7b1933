"""The one virtual clock that every timestamp and every simulated delay comes from.

Three ways to run it, all the same object:

* real time: ``scale=1`` (the default);
* scaled real time: ``scale=60`` plays a ten-minute task in ten seconds;
* manual: ``scale=0`` freezes it; time then moves only through :meth:`Clock.advance`.

Nothing else in ``druid_sim/`` reads the wall clock or sleeps for simulated behaviour, so the same
scenario, seed and clock steps always give the same responses.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

from druid_sim.util.quoting import shown

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}

#: The fastest the clock may run: a virtual day passes in 86 ms of real time, so anything a test could
#: want to watch unfold (a month in under 3 s) fits, while virtual time stays a float with sub-millisecond
#: resolution (a server left at full speed for three real days reaches `LATEST_MS` and stays there).
MAX_SCALE = 1_000_000.0
#: The longest single step (``advance``): 100 years, more than any retention, look-back or task
#: lifetime worth testing; anything longer is a typo. Such a jump costs bounded work (the model keeps
#: a bounded history and skips planned arrivals it would forget at once, ``druid_sim.scenario.model``).
MAX_ADVANCE_S = 36_500 * 86_400.0
#: The clock never passes 9999-12-31T23:59:59.999Z, the last instant with the four-digit year that
#: ISO-8601 timestamps, task ids and Druid's interval parameters are written with.
LATEST_MS = 253_402_300_799_999


def parse_duration(value: str | float | int) -> float:
    """Seconds in ``value``: a number of seconds, or a string such as ``"250ms"``, ``"5m"``, ``"2h"``.

    Raises ValueError with the accepted forms when the value is not understood.
    """
    if isinstance(value, bool):
        raise ValueError(f"expected a duration, got {shown(value)}")
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError(f"a duration cannot be negative: {shown(value)}")
        return float(value)
    match = _DURATION.match(str(value))
    if not match:
        raise ValueError(
            f"not a duration: {shown(value)}; use seconds (30, 1.5) or a number with ms, s, m, h or d (250ms, 5m)"
        )
    return float(match.group(1)) * _UNIT_SECONDS[match.group(2)]


def parse_instant(value: str) -> int:
    """Milliseconds since the epoch for an ISO-8601 instant (``2026-01-01T00:00:00Z``); naive means UTC."""
    text = value.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"not an ISO-8601 instant: {value!r}; use e.g. 2026-01-01T00:00:00Z") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp() * 1000)


def wall_clock_ms() -> int:
    """The real wall clock in epoch milliseconds: used once, to place a clock's start when none is given."""
    return int(time.time() * 1000)


class Clock:
    """Virtual time in epoch milliseconds, derived from a monotonic anchor, a scale and manual steps.

    ``now_ms = anchor_virtual + (monotonic() - anchor_real) * 1000 * scale``. Changing the scale or
    advancing re-anchors, so virtual time never jumps backwards. Async waiters are woken whenever the
    clock is changed, so a delay on a frozen clock ends exactly when a test advances past it.

    Thread-safe: a test (or the pytest plugin's user) may move the clock from its own thread while the
    server's event loop sleeps on it. The anchors change under a lock, and a waiter on another thread's
    loop is woken through that loop (``call_soon_threadsafe``): an ``asyncio.Event`` set from a foreign
    thread would wake nobody until that loop next woke for some other reason.
    """

    def __init__(
        self,
        start_ms: int | None = None,
        scale: float = 1.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        check_scale(scale)
        self._monotonic = monotonic
        self._start_ms = wall_clock_ms() if start_ms is None else int(start_ms)
        self._initial_scale = float(scale)
        self._anchor_real = monotonic()
        self._anchor_virtual = float(self._start_ms)
        self._scale = float(scale)
        self._lock = threading.Lock()
        #: One event per event loop with a sleeper on it, replaced after every change.
        self._changed: dict[asyncio.AbstractEventLoop, asyncio.Event] = {}
        #: The latest virtual time this process may see (None: no limit). Set by a worker of ``serve
        #: --workers N --state``: its time, and so what a look catches up to and every time it answers with,
        #: never passes the time the next stored action may be stamped at (`druid_sim.state.fence`), so no
        #: action is ever applied before something a worker already showed. On the clock, as the clock
        #: outlives resets and snapshots.
        self.horizon: Callable[[], int] | None = None

    @property
    def scale(self) -> float:
        """How many virtual seconds pass per real second; 0 means frozen."""
        return self._scale

    @property
    def frozen(self) -> bool:
        return self._scale == 0

    @property
    def start_ms(self) -> int:
        """Where this clock started (and where :meth:`reset` puts it back)."""
        return self._start_ms

    def now_ms(self) -> int:
        """The current virtual time in epoch milliseconds (never past `LATEST_MS`, nor the `horizon`)."""
        with self._lock:
            now = int(self._now())
        horizon = self.horizon
        return now if horizon is None else min(now, horizon())

    def raw_now_ms(self) -> int:
        """`now_ms` without the `horizon`: where this process's clock stands (the fence moves up to it)."""
        with self._lock:
            return int(self._now())

    def _now(self) -> float:
        if self._scale == 0:
            return self._anchor_virtual
        return min(self._anchor_virtual + (self._monotonic() - self._anchor_real) * 1000.0 * self._scale, LATEST_MS)

    def _rebase(self) -> None:
        now = self._now()
        self._anchor_real = self._monotonic()
        self._anchor_virtual = now

    def check_advance(self, seconds: float) -> None:
        """Raise ValueError (saying the limit) unless ``advance(seconds)`` is allowed now."""
        _check_step(seconds)
        if self.now_ms() + seconds * 1000.0 > LATEST_MS:
            raise ValueError(
                f"{seconds:g}s would take the clock past {format_instant(LATEST_MS)}, the last instant "
                "ISO-8601 timestamps can write; advance by less"
            )

    def advance(self, seconds: float) -> int:
        """Move virtual time forward by ``seconds`` (any mode, at most `LATEST_MS`) and return the new time."""
        _check_step(seconds)
        with self._lock:
            self._rebase()
            self._anchor_virtual = min(self._anchor_virtual + seconds * 1000.0, LATEST_MS)
            now = int(self._now())
        self._notify()
        return now

    def advance_to(self, ms: int) -> None:
        """Move virtual time forward to exactly ``ms`` (nothing if it is there already): rebuilding a model
        from a store replays each action at the very millisecond it happened (`druid_sim.state`)."""
        self._rebase()
        self._anchor_virtual = max(self._anchor_virtual, float(min(ms, LATEST_MS)))
        self._notify()

    def move_to(self, ms: int) -> None:
        """Put virtual time at exactly ``ms``, even before where it stands: only for a worker of ``serve
        --workers`` applying another worker's stored action at the millisecond it was stamped
        (`druid_sim.state.shared`); nothing a client sees ever moves the clock back."""
        with self._lock:
            self._rebase()
            self._anchor_virtual = float(min(ms, LATEST_MS))
        self._notify()

    def set_scale(self, scale: float) -> None:
        """Change the speed from now on (0 freezes), without moving the current virtual time."""
        check_scale(scale)
        with self._lock:
            self._rebase()
            self._scale = float(scale)
        self._notify()

    def freeze(self) -> None:
        self.set_scale(0)

    def reset(self) -> None:
        """Back to the start time and the initial scale."""
        with self._lock:
            self._anchor_real = self._monotonic()
            self._anchor_virtual = float(self._start_ms)
            self._scale = self._initial_scale
        self._notify()

    def _notify(self) -> None:
        """Wake every sleeper, each on its own event loop."""
        with self._lock:
            changed, self._changed = self._changed, {}
        try:
            current: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            current = None
        for loop, event in changed.items():
            if loop is current:
                event.set()
            else:
                with contextlib.suppress(RuntimeError):  # that loop has closed: nobody is left to wake
                    loop.call_soon_threadsafe(event.set)

    async def sleep(self, seconds: float) -> None:
        """Wait until ``seconds`` of virtual time have passed.

        On a running clock this sleeps the scaled real time; on a frozen clock it waits for
        :meth:`advance`. Either way it re-checks after every clock change.
        """
        if seconds <= 0:
            return
        loop = asyncio.get_running_loop()
        deadline = self.now_ms() + seconds * 1000.0
        while True:
            with self._lock:
                remaining_ms = deadline - self._now()
                if remaining_ms <= 0:
                    return
                event = self._changed.get(loop)
                if event is None:
                    event = self._changed[loop] = asyncio.Event()
                timeout = None if self._scale == 0 else remaining_ms / 1000.0 / self._scale
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), timeout)

    def describe(self) -> dict[str, object]:
        """The clock as the control API shows it."""
        now = self.now_ms()
        return {"now": format_instant(now), "nowMillis": now, "scale": self._scale, "frozen": self.frozen}


def _check_step(seconds: float) -> None:
    if not 0 <= seconds <= MAX_ADVANCE_S:
        if seconds < 0:
            raise ValueError("the clock only moves forward; advance by a positive duration")
        raise ValueError(
            f"{seconds:g}s is longer than the longest step, {MAX_ADVANCE_S / 86400:.0f} days (100 years); "
            "advance in smaller steps"
        )


def check_scale(scale: float) -> None:
    """Raise ValueError (saying the range) unless ``scale`` is a speed the clock can run at."""
    if isinstance(scale, bool) or not isinstance(scale, int | float) or not 0 <= scale <= MAX_SCALE:
        raise ValueError(
            f"a time scale is a number of virtual seconds per real second from 0 (frozen) to {MAX_SCALE:,.0f} "
            f"(a day in 86 ms), not {scale!r}"
        )


def format_instant(ms: int) -> str:
    """Joda's ``DateTime.toString()`` in UTC, as Druid writes it: ``2023-06-26T21:08:05.217Z``."""
    seconds, millis = divmod(int(ms), 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{millis:03d}Z"
