"""The virtual clock (design.md, "Time: one virtual clock")."""

from __future__ import annotations

import asyncio
import threading

import pytest

from druid_sim.clock import LATEST_MS, MAX_ADVANCE_S, MAX_SCALE, Clock, format_instant, parse_duration, parse_instant


class FakeMonotonic:
    """A hand-driven monotonic source, so scaling can be checked without waiting."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_scaled_clock_runs_scale_times_faster() -> None:
    real = FakeMonotonic()
    clock = Clock(start_ms=0, scale=60, monotonic=real)
    real.now += 10
    assert clock.now_ms() == 600_000


def test_frozen_clock_moves_only_when_advanced() -> None:
    real = FakeMonotonic()
    clock = Clock(start_ms=1000, scale=0, monotonic=real)
    real.now += 50
    assert clock.now_ms() == 1000
    assert clock.advance(2.5) == 3500


def test_changing_scale_never_moves_time_backwards() -> None:
    real = FakeMonotonic()
    clock = Clock(start_ms=0, scale=2, monotonic=real)
    real.now += 5
    clock.set_scale(0)
    assert clock.now_ms() == 10_000
    clock.set_scale(1)
    real.now += 1
    assert clock.now_ms() == 11_000


def test_reset_returns_to_start_and_initial_scale() -> None:
    clock = Clock(start_ms=5, scale=0)
    clock.advance(60)
    clock.set_scale(3)
    clock.reset()
    assert (clock.now_ms(), clock.scale) == (5, 0)


def test_sleep_on_frozen_clock_ends_when_advanced() -> None:
    async def scenario() -> list[str]:
        clock = Clock(start_ms=0, scale=0)
        events: list[str] = []

        async def sleeper() -> None:
            await clock.sleep(30)
            events.append(f"woke at {clock.now_ms()}")

        task = asyncio.create_task(sleeper())
        await asyncio.sleep(0)
        clock.advance(10)
        await asyncio.sleep(0)
        events.append("still asleep" if not task.done() else "woke early")
        clock.advance(25)
        await asyncio.wait_for(task, 1)
        return events

    assert asyncio.run(scenario()) == ["still asleep", "woke at 35000"]


def test_parse_duration_forms() -> None:
    assert parse_duration("250ms") == 0.25
    assert parse_duration("5m") == 300
    assert parse_duration(1.5) == 1.5
    with pytest.raises(ValueError, match="use seconds"):
        parse_duration("soon")


def test_instants_round_trip_in_jodas_format() -> None:
    ms = parse_instant("2023-06-26T21:08:05.217Z")
    assert format_instant(ms) == "2023-06-26T21:08:05.217Z"
    assert parse_instant("2026-01-01") == 1767225600000


def test_scale_and_steps_are_bounded_and_time_stops_at_the_last_iso_instant() -> None:
    real = FakeMonotonic()
    clock = Clock(start_ms=LATEST_MS - 10_000, scale=MAX_SCALE, monotonic=real)
    for bad in (-1, MAX_SCALE * 2, float("nan"), float("inf")):
        with pytest.raises(ValueError, match=r"from 0 \(frozen\) to 1,000,000"):
            clock.set_scale(bad)
    with pytest.raises(ValueError, match="longest step"):
        clock.advance(MAX_ADVANCE_S + 1)
    with pytest.raises(ValueError, match=r"past 9999-12-31T23:59:59\.999Z"):
        clock.check_advance(11)
    real.now += 3600  # an hour at full speed: 114 virtual years later, but no further than the last instant
    assert clock.now_ms() == LATEST_MS
    assert clock.advance(5) == LATEST_MS
    assert format_instant(clock.now_ms()) == "9999-12-31T23:59:59.999Z"


def test_advancing_from_another_thread_wakes_a_sleeper_on_an_idle_event_loop() -> None:
    """Issue 23, item 1: tests and plugin users move the clock from their own thread while the server's
    loop sleeps on it. The loop here has nothing else to do (no timer, no socket), so only a wake-up sent
    through the loop itself ends the sleep; an event set from the test thread would leave it asleep."""
    clock = Clock(start_ms=0, scale=0)
    loop = asyncio.new_event_loop()
    sleeping = threading.Event()
    woke = threading.Event()

    async def sleeper() -> None:
        task = asyncio.ensure_future(clock.sleep(5))
        await asyncio.sleep(0)  # the task has run to its first wait: it is registered on the clock
        sleeping.set()
        await task
        woke.set()

    thread = threading.Thread(target=loop.run_until_complete, args=(sleeper(),), daemon=True)
    thread.start()
    try:
        assert sleeping.wait(10)
        assert clock.advance(5) == 5000
        assert woke.wait(10), "the sleeper was not woken by an advance from another thread"
    finally:
        loop.call_soon_threadsafe(lambda: None)  # unblock a loop the clock failed to wake, so it can end
        thread.join(10)
        loop.close()
