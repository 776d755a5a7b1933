"""The recorder's hook dispatch (`druid_sim.proxy.master.HookTable`): mitmproxy's semantics, fewer calls.

Driven directly, with tiny addons defined here: which hooks run, in which order, and what an addon's
exception or `AddonHalt` does. (Every live recorder test also runs through it, over real sockets.)
"""

from __future__ import annotations

import asyncio
import logging
import warnings
from collections.abc import Callable, Coroutine
from typing import Any

import pytest

with warnings.catch_warnings():
    # mitmproxy.addons imports ldap3 (for proxyauth), which uses a name pyasn1 has deprecated.
    warnings.simplefilter("ignore", DeprecationWarning)
    from mitmproxy import exceptions, hooks, master, options
    from mitmproxy.proxy.layers.http import HttpRequestHook
    from mitmproxy.test import tflow

    from druid_sim.proxy.master import HookTable

Calls = list[str]


class Running:
    """Notes each `running` hook it gets."""

    def __init__(self, name: str, calls: Calls) -> None:
        self.name, self.calls = name, calls

    def running(self) -> None:
        self.calls.append(self.name)


class AsyncRunning(Running):
    async def running(self) -> None:  # type: ignore[override]
        await asyncio.sleep(0)
        self.calls.append(self.name)


class Raising(Running):
    def __init__(self, name: str, calls: Calls, error: BaseException) -> None:
        super().__init__(name, calls)
        self.error = error

    def running(self) -> None:
        super().running()
        raise self.error


class Silent:
    """An addon without a `running` hook."""

    name = "silent"


def with_table(test: Callable[[HookTable], Coroutine[Any, Any, None]]) -> None:
    """Run `test` with a HookTable on a bare mitmproxy Master (both need a running event loop)."""

    async def main() -> None:
        owner = master.Master(options.Options())
        try:
            await test(HookTable(owner))
        finally:
            owner._legacy_log_events.uninstall()

    asyncio.run(main())


def test_hooks_run_in_chain_order_sync_and_async_and_addons_without_the_hook_are_skipped() -> None:
    calls: Calls = []

    async def check(table: HookTable) -> None:
        table.add(Running("a", calls), Silent(), AsyncRunning("b", calls), Running("c", calls))
        await table.trigger_event(hooks.RunningHook())

    with_table(check)
    assert calls == ["a", "b", "c"]


def test_an_addon_added_later_gets_the_next_events() -> None:
    calls: Calls = []

    async def check(table: HookTable) -> None:
        table.add(Running("a", calls))
        await table.trigger_event(hooks.RunningHook())
        table.add(Running("late", calls))
        await table.trigger_event(hooks.RunningHook())

    with_table(check)
    assert calls == ["a", "a", "late"]


def test_an_addon_error_is_logged_and_the_following_hooks_still_run(caplog: pytest.LogCaptureFixture) -> None:
    calls: Calls = []

    async def check(table: HookTable) -> None:
        table.add(Raising("broken", calls, RuntimeError("disk full")), Running("after", calls))
        with caplog.at_level(logging.ERROR):
            await table.trigger_event(hooks.RunningHook())

    with_table(check)
    assert calls == ["broken", "after"]
    assert "Addon error: disk full" in caplog.text


def test_addon_halt_stops_the_event() -> None:
    calls: Calls = []

    async def check(table: HookTable) -> None:
        table.add(Raising("halt", calls, exceptions.AddonHalt()), Running("never", calls))
        await table.trigger_event(hooks.RunningHook())

    with_table(check)
    assert calls == ["halt"]


def test_an_options_error_reaches_the_caller() -> None:
    async def check(table: HookTable) -> None:
        table.add(Raising("bad option", [], exceptions.OptionsError("no such cassette mode")))
        with pytest.raises(exceptions.OptionsError, match="no such cassette mode"):
            await table.trigger_event(hooks.RunningHook())

    with_table(check)


def test_a_flow_event_is_followed_by_update_as_in_mitmproxy() -> None:
    calls: Calls = []

    class Updating:
        def request(self, flow: Any) -> None:
            calls.append("request")

        def update(self, flows: list[Any]) -> None:
            calls.append(f"update of {len(flows)} flow(s)")

    async def check(table: HookTable) -> None:
        table.add(Updating())
        await table.handle_lifecycle(HttpRequestHook(tflow.tflow()))

    with_table(check)
    assert calls == ["request", "update of 1 flow(s)"]
