"""Druid's web console (Overlord mode) against druid-sim: its files served as the Router serves them, and
every call its home page, Supervisors and Tasks views make on load answered as Druid answers them; its
"Overlord dynamic config" dialog driven in a real browser (Playwright and Chromium, as the dashboard's).

The console build lives outside the repository: ``$DRUID_SIM_WEB_CONSOLE``, else ``shared/druid-web-console/``
beside the checkout (where the project's CI puts it); tests that need it skip with the reason when it is
absent, as in a plain clone.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from druid_sim.config import ServeConfig
from tests.support.browser import CHROMIUM_ARGS, chromium_path
from tests.support.live import START_MS, live_server

CONSOLE = Path(
    os.environ.get("DRUID_SIM_WEB_CONSOLE")
    or Path(__file__).resolve().parents[1].parent / "shared" / "druid-web-console"
)
needs_console = pytest.mark.skipif(
    not (CONSOLE / "unified-console.html").is_file(),
    reason=f"no build of Druid's web console at {CONSOLE} (a clone alone does not have one)",
)
V1 = "/druid/indexer/v1"
DEMO = ServeConfig(scenario="demo", time_scale=0, start_ms=START_MS)


@needs_console
def test_the_console_is_served_at_the_routers_paths_and_the_dashboard_keeps_the_root() -> None:
    """Reference 17: ``/unified-console.html``, ``console-config.js``, ``public/`` as the Router serves them."""
    with live_server(replace(DEMO, web_console=str(CONSOLE))) as live, httpx.Client(base_url=live.url) as client:
        page = client.get("/unified-console.html")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        script = next((CONSOLE / "public").glob("web-console-*.js")).name
        assert client.get(f"/public/{script}").status_code == 200
        assert client.get("/console-config.js").status_code == 200
        assert "druid-sim" in client.get("/").text  # the dashboard stays at /
        assert client.get("/public/nope.js").status_code == 404
        assert client.get(f"{V1}/isLeader").json() == {"leader": True}


def test_a_folder_without_a_console_build_is_refused_in_one_line(tmp_path: Path) -> None:
    """``--web-console`` names the fix when the folder holds no ``unified-console.html``."""
    result = subprocess.run(
        [sys.executable, "-m", "druid_sim", "serve", "--web-console", str(tmp_path), "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"druid-sim serve: --web-console {tmp_path}: no unified-console.html in it; give the folder of a build of "
        "Druid's web-console (the one with unified-console.html, public/ and assets/)"
    ]


def test_every_overlord_call_of_the_consoles_home_supervisors_and_tasks_views_succeeds() -> None:
    """Reference 9.2 and 13-16: the calls the console makes in Overlord mode, on the demo, all answer 2xx JSON."""
    with live_server(DEMO) as live, httpx.Client(base_url=live.url) as client:
        assert client.get("/status", params={"capabilities": ""}).status_code == 200
        assert client.get(f"{V1}/isLeader", params={"capabilities": ""}).status_code == 200
        supervisors = client.get(f"{V1}/supervisor", params={"full": ""}).json()
        assert {s["id"] for s in supervisors} == {"clickstream_events", "kafka_metrics"}
        calls = [
            f"{V1}/totalWorkerCapacity",
            f"{V1}/workers",
            f"{V1}/tasks",
            f"{V1}/tasks?state=running",
            f"{V1}/compaction/config/datasources",
            f"{V1}/compaction/status/datasources",
            f"{V1}/compaction/config/cluster",
            f"{V1}/supervisor/history",
        ]
        for supervisor in supervisors:
            base = f"{V1}/supervisor/{supervisor['id']}"
            calls += [base, f"{base}/status", f"{base}/stats", f"{base}/history?count=100"]
        for path in calls:
            response = client.get(path)
            assert response.status_code == 200, (path, response.text[:200])
            assert response.headers["content-type"] == "application/json"
            response.json()
        kafka = [task for task in client.get(f"{V1}/tasks").json() if task["type"] == "index_kafka"]
        running = {task["id"] for task in kafka if task["runnerStatusCode"] == "RUNNING"}
        reported = {
            task["id"]
            for supervisor in supervisors
            for task in client.get(f"{V1}/supervisor/{supervisor['id']}/status").json()["payload"]["activeTasks"]
        }
        assert running <= reported  # every running Kafka task belongs to a supervisor
        for action in ("suspend", "resume", "reset", "terminate"):
            response = client.post(f"{V1}/supervisor/kafka_metrics/{action}", json={})
            assert response.status_code == 200, (action, response.text)


@needs_console
def test_the_consoles_overlord_dynamic_config_dialog_loads_and_saves_with_its_audit_headers() -> None:
    """Reference 18.6: the dialog's calls (``/worker/history?count=100``, ``/worker``, ``POST /worker`` with
    ``X-Druid-Author: console`` and the comment typed) in a real browser, and the Services view's own refusal
    in Overlord mode (it needs SQL or the Coordinator, so its Disable and Enable are out of reach there)."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed: `make install`")
    executable = chromium_path()
    if executable is None:
        pytest.skip("no Chromium to drive: install Debian's chromium or point DRUID_SIM_CHROMIUM at one")
    calls: list[tuple[str, str, int, str | None]] = []
    with live_server(replace(DEMO, web_console=str(CONSOLE))) as live, sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page()
            page.on(
                "response",
                lambda answer: calls.append(
                    (
                        answer.request.method,
                        answer.url.removeprefix(live.url),
                        answer.status,
                        answer.request.headers.get("x-druid-author"),
                    )
                ),
            )
            page.goto(f"{live.url}/unified-console.html")
            page.get_by_text("Overlord mode").wait_for()
            page.locator("button").nth(2).click()  # the header's settings menu
            page.get_by_text("Overlord dynamic config").click()
            dialog = page.locator("[role=dialog]")
            dialog.locator("button", has_text="Next").click()
            dialog.locator("input").fill("from the console")
            dialog.locator("button", has_text="Save").click()
            page.get_by_text("Saved overlord dynamic config").wait_for()
            page.goto(f"{live.url}/unified-console.html#services")
            page.get_by_text("must have SQL or coordinator access").wait_for()
        finally:
            browser.close()
        history = httpx.get(f"{live.url}{V1}/worker/history").json()
    worker_calls = [call for call in calls if call[1].startswith(f"{V1}/worker")]
    assert worker_calls == [
        ("GET", f"{V1}/worker/history?count=100", 200, None),
        ("GET", f"{V1}/worker", 200, None),
        ("POST", f"{V1}/worker", 200, "console"),
    ]
    assert [(entry["auditInfo"]["author"], entry["auditInfo"]["comment"]) for entry in history] == [
        ("console", "from the console")
    ]
    assert history[0]["payload"] == '{"type":"default","selectStrategy":null,"autoScaler":null}'  # an untouched form
