"""What an open dashboard costs the Druid routes (issue 13, "Performance"), measured two ways in one run.

1. **The server's CPU an open page uses**: with no other load, a headless Chromium (Debian's, driven by
   Playwright) keeps the dashboard open on ``druid-sim serve --scenario demo`` (real time, so it has
   something to follow) for ``BENCH_DURATION`` seconds on each view; the server's CPU time over that
   span, per second, is what the page takes away from Druid clients (and the page's Druid requests per
   second, from the journal).
2. **wrk with and without the page**: ``GET /task/{id}/status`` at 1 and 32 connections and the demo's
   full ``GET /tasks`` at 1, while the browser shows the dashboard of *this* server (Tasks view, a running
   task's log open), the same dashboard of *another*, idle server (the browser's own CPU, without its
   requests), or nothing. Every (state, case) pair runs once per repetition, the order rotated, and
   medians are compared. Gated: this server's page / another server's page ≥ 0.90× (what the page's
   requests cost the Druid routes); shown: this server's page / no page (what a browser on the same two
   CPUs costs too, as on a presenter's laptop), and another server's page / no page, which differ only
   in the browser's CPU: the noise yardstick of the run.

Gated too: the page takes at most 10 ms of server CPU per second (1% of one CPU) on any view.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import orjson

from bench.common import (
    BenchError,
    Case,
    Server,
    ServerGroup,
    cpu_seconds,
    druid_sim_argv,
    duration_s,
    free_port,
    machine_note,
    markdown_table,
    ratio,
    repetitions,
    require_wrk,
    run_wrk,
    verdict,
    write_results,
)
from bench.simulator import PREFIX, _fetch, _pick_status_path
from tests.support.browser import CHROMIUM_ARGS, chromium_path

TARGET = 0.90
#: What an open page may take from the server: 1% of one CPU (10 ms of CPU per second).
PAGE_CPU_MS_PER_S = 10.0
STATES = ("none", "elsewhere", "here")
VIEWS = ("tasks", "cluster", "traffic")
SETTLE_S = 1.5  # after changing the page: let it load and refresh once before wrk starts


@contextmanager
def headless_page() -> Iterator[Any]:
    """A Playwright page in the system's Chromium; BenchError saying how to get either when missing."""
    try:
        from playwright.sync_api import sync_playwright
    except ModuleNotFoundError:
        raise BenchError("Playwright is not installed: pip install -e '.[browser]' (make install does)") from None
    executable = chromium_path()
    if executable is None:
        raise BenchError("no Chromium: apt-get install chromium (Debian's package; make test installs it as root)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser.new_page(viewport={"width": 1440, "height": 900})
        finally:
            browser.close()


def show(page: Any, url: str | None, view: str = "tasks", running_task: str | None = None) -> None:
    """Show nothing (``url`` None), or the dashboard of the server at ``url`` on ``view``."""
    if url is None:
        page.goto("about:blank")
        return
    page.goto(f"{url}/#{view}")
    if view == "tasks" and running_task is not None:
        page.click(f'#tasks-table tbody tr[data-task-id="{running_task}"]')
        page.click("#detail-tabs button[data-pane=log]")
    time.sleep(SETTLE_S)


def _count(server: Server, query: str) -> int:
    return int(orjson.loads(_fetch(server, f"/__sim/journal/count?{query}"))["count"])


def page_cost(page: Any, server: Server, running_task: str, seconds: int) -> list[tuple[str, float, float]]:
    """Server CPU ms per second, and the page's Druid requests per second, with the page open on each view."""
    rows: list[tuple[str, float, float]] = []
    show(page, None)
    time.sleep(1)
    before = cpu_seconds(server.pid)
    time.sleep(seconds)
    rows.append(("no page", (cpu_seconds(server.pid) - before) * 1000 / seconds, 0.0))
    for view in VIEWS:
        show(page, server.url, view, running_task)
        requests = _count(server, "client=druid-sim-dashboard")
        before = cpu_seconds(server.pid)
        time.sleep(seconds)
        used = (cpu_seconds(server.pid) - before) * 1000 / seconds
        rows.append(
            (f"page on the {view} view", used, (_count(server, "client=druid-sim-dashboard") - requests) / seconds)
        )
    show(page, None)
    return rows


def run() -> tuple[str, bool]:
    require_wrk()
    count, seconds = repetitions(), duration_s()
    with ServerGroup() as group, headless_page() as page:
        port = free_port()
        demo = group.start(
            "simulator", druid_sim_argv("serve", "--no-access-log", "--scenario", "demo", "--port", str(port)), port
        )
        port = free_port()
        other = group.start(
            "elsewhere", druid_sim_argv("serve", "--no-access-log", "--scenario", "demo", "--port", str(port)), port
        )
        status_path = _pick_status_path(demo)
        running = orjson.loads(_fetch(demo, f"{PREFIX}/tasks?state=running"))
        if not running:
            raise BenchError("the demo cluster has no running task to open in the page")
        task = running[0]["id"]
        print("server CPU with the page open, no other load…", file=sys.stderr, flush=True)
        costs = page_cost(page, demo, task, max(seconds, 10))
        list_body = _fetch(demo, f"{PREFIX}/tasks")
        cases = {
            "status_1": ("status, c=1", demo.url + status_path, 1),
            "status_32": ("status, c=32", demo.url + status_path, 32),
            "list_1": (f"full /tasks ({len(list_body) // 1024} KB), c=1", demo.url + f"{PREFIX}/tasks", 1),
        }
        results = {
            (state, key): Case(f"{name}, page {state}", url, conns, pid=demo.pid)
            for state in STATES
            for key, (name, url, conns) in cases.items()
        }
        pairs = list(results)
        print(f"interleaved wrk series: {len(pairs)} runs × {count}…", file=sys.stderr, flush=True)
        current = None
        for rep in range(count):
            shift = (rep * len(cases)) % len(pairs)
            for state, key in [*pairs[shift:], *pairs[:shift]]:
                if state != current:
                    url = {"none": None, "elsewhere": other.url, "here": demo.url}[state]
                    show(page, url, "tasks", task if state == "here" else None)
                    current = state
                case = results[(state, key)]
                outcome = run_wrk(case.url, case.connections, server_pid=case.pid)
                case.results.append(outcome)
                print(
                    f"  [{rep + 1}/{count}] {case.name:<44} {outcome.requests_per_s:>9,.0f} req/s  "
                    f"p99 {outcome.p99_ms:.3f} ms",
                    file=sys.stderr,
                    flush=True,
                )

    rows, targets, shown = [], [], []
    for key, (name, _, _) in cases.items():
        none, elsewhere, here = (results[(state, key)] for state in STATES)
        measured = ratio(here.rps, elsewhere.rps)
        targets.append((f"{name}: page of this server / page of another", measured, measured >= TARGET))
        shown.append([f"{name}: page of this server / no page", f"{ratio(here.rps, none.rps):.2f}×"])
        shown.append(
            [f"{name}: page of another server / no page (noise yardstick)", f"{ratio(elsewhere.rps, none.rps):.2f}×"]
        )
        for case in (none, elsewhere, here):
            rows.append([case.name, case.rps, case.rps_min, case.p50_ms, case.p99_ms, case.cpu_us, case.errors])
    idle = costs[0][1]
    for view, used, _ in costs[1:]:
        extra = used - idle
        targets.append((f"server CPU an open {view} takes, ms per s", extra, extra <= PAGE_CPU_MS_PER_S))
    errors = sum(case.errors for case in results.values())
    report = [
        "# bench dashboard",
        "",
        machine_note(),
        "",
        "## Targets (issue 13, Performance: the Druid routes stay within noise with a page open and updating)",
        "",
        markdown_table(
            ["what", "measured", "target", "verdict"],
            [
                [what, f"{value:.1f} ms/s", f"≤ {PAGE_CPU_MS_PER_S:.0f} ms/s", verdict(passed)]
                if what.startswith("server CPU")
                else [what, f"{value:.2f}×", f"≥ {TARGET:.2f}×", verdict(passed)]
                for what, value, passed in targets
            ],
        ),
        "",
        "Not gated (the browser's own CPU on the same two CPUs as the server and wrk):",
        "",
        markdown_table(["what", "measured"], shown),
        "",
        "## Server CPU an open page uses (no other load)",
        "",
        markdown_table(["browser", "server CPU ms per s", "the page's Druid requests per s"], costs),
        "",
        "## wrk series (medians; min req/s as a floor)",
        "",
        markdown_table(["case", "req/s", "min req/s", "p50 ms", "p99 ms", "server CPU µs/req", "errors"], rows),
        "",
        f"- {count} repetitions of {seconds} s runs, each (page state, case) pair once per repetition, order rotated",
        "- page states: `none` = about:blank; `elsewhere` = the dashboard of another, idle druid-sim (Tasks view);"
        " `here` = the dashboard of the measured server (Tasks view, a running task's log open)",
    ]
    if errors:
        report.append(f"- **{errors} wrk errors or non-2xx answers**: the figures above are suspect")
    passed = all(ok for _, _, ok in targets) and errors == 0
    return "\n".join(report), passed


def main() -> int:
    """``python -m bench dashboard``: run the series, print and save the report; 1 if a target was missed."""
    report, passed = run()
    write_results("dashboard", report)
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
