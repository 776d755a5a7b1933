"""Capacity soak: the demo at x60 under submits and shutdowns, worker slots and memory sampled (issue 22).

``druid-sim serve --scenario demo --time-scale 60`` gets ``CAPACITY_CLIENTS`` keep-alive clients for
``CAPACITY_SECONDS`` (default 120; the issue's soak is 1200): each submits tasks of the demo's types, shuts
down one of its own now and then and one running task every few submits, and polls the lists. A sampler
reads ``/__sim/cluster`` twice a second: every MiddleManager must stay within its slots at every sample
(target: 0 samples over), and no task may be PENDING past the assignment delay while a slot is free. It
also samples the server's RSS and the tasks the model holds, for the memory per task a soak shows.

Memory is flat only once every store the server bounds is full: the complete-task history
(``--max-complete-tasks``), the queue (``--queue-max-size``, Druid's ``druid.indexer.queue.maxSize``; these
clients submit several times what 9 slots run, so without a limit the queue grows as a real Overlord's
would) and the journal (``--journal-size`` entries, 32 MiB of exchanges). The soak sets the history to
``CAPACITY_MAX_COMPLETE`` (default 5,000) and the queue to ``CAPACITY_QUEUE`` (default 300) so that warm-up
(the history full) comes within the first minutes; with the defaults (100,000 complete tasks) the same
plateau comes after about 150 MB more. Warm-up ends at the first sample where the model holds the
history's limit; the figures after it are the RSS range and its slope (least squares, MB per minute).

``CAPACITY_SECONDS=1200 python -m bench capacity``
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any

import httpx

from bench.common import machine_note, markdown_table, serving, write_results
from druid_sim.clock import parse_instant
from druid_sim.overlord.workers import MAX_ASSIGNMENT_DELAY_MS

D = "/druid/indexer/v1"
SCALE = 60
BODIES: tuple[dict[str, Any], ...] = (
    {"type": "index_parallel", "spec": {"dataSchema": {"dataSource": "wikipedia"}}},
    {"type": "compact", "dataSource": "orders", "ioConfig": {"type": "compact"}},
    {"type": "index", "spec": {"dataSchema": {"dataSource": "clickstream_events"}}},
    {"type": "query_controller", "dataSource": "orders"},
)


def _seconds() -> int:
    return int(os.environ.get("CAPACITY_SECONDS", "120"))


def _max_complete() -> int:
    return int(os.environ.get("CAPACITY_MAX_COMPLETE", "5000"))


def _queue() -> int:
    return int(os.environ.get("CAPACITY_QUEUE", "300"))


def _slope(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of ``(seconds, MB)`` points, in MB per minute (0 for fewer than two)."""
    if len(points) < 2:
        return 0.0
    mean_t = sum(t for t, _ in points) / len(points)
    mean_m = sum(m for _, m in points) / len(points)
    spread = sum((t - mean_t) ** 2 for t, _ in points)
    return 60 * sum((t - mean_t) * (m - mean_m) for t, m in points) / spread if spread else 0.0


def _client(url: str, stop: float, number: int, sent: list[int]) -> None:
    with httpx.Client(base_url=url, timeout=30) as client:
        step = 0
        while time.monotonic() < stop:
            answer = client.post(f"{D}/task", json=BODIES[(number + step) % len(BODIES)])
            if answer.status_code == 200 and step % 3 == 2:
                client.post(f"{D}/task/{answer.json()['task']}/shutdown")
            if step % 5 == 4:
                running = client.get(f"{D}/runningTasks").json()
                if running:
                    client.post(f"{D}/task/{running[step % len(running)]['id']}/shutdown")
            client.get(f"{D}/tasks")
            step += 1
            sent[number] += 1


def _problems(client: httpx.Client) -> tuple[list[str], dict[str, Any]]:
    """What one sample of ``/__sim/cluster`` and the pending list finds wrong, and the cluster it read.

    The two reads are apart in real time, so at x60 a task may have become PENDING (or a slot freed)
    between them: the pending check allows the assignment delay plus that gap in virtual time.
    """
    pending = client.get(f"{D}/pendingTasks").json()
    read_at = time.monotonic()
    cluster: dict[str, Any] = client.get("/__sim/cluster").json()
    gap_ms = (time.monotonic() - read_at) * 1000 * SCALE
    found = [
        f"{m['host']} {m['used']}/{m['capacity']}"
        for m in cluster["workers"]["middleManagers"]
        if m["capacity"] is not None and m["used"] > m["capacity"]
    ]
    free = (cluster["workers"]["capacity"] or 0) - cluster["workers"]["used"]
    if free > 0:
        now = cluster["timeMillis"]
        for task in pending:
            if parse_instant(task["queueInsertionTime"]) < now - MAX_ASSIGNMENT_DELAY_MS - gap_ms - 1000:
                found.append(f"{task['id']} PENDING beside {free} free slots")
    return found, cluster


def main() -> int:
    seconds, max_complete, queue = _seconds(), _max_complete(), _queue()
    bounds = ("--max-complete-tasks", str(max_complete), "--queue-max-size", str(queue))
    with serving("capacity", "--scenario", "demo", "--time-scale", str(SCALE), *bounds) as server:
        began = time.monotonic()
        stop = began + seconds
        sent = [0] * 4
        clients = [threading.Thread(target=_client, args=(server.url, stop, n, sent)) for n in range(len(sent))]
        for thread in clients:
            thread.start()
        samples = 0
        over: list[str] = []
        rss = [(0.0, server.rss_mb())]
        warm_at: float | None = None
        with httpx.Client(base_url=server.url, timeout=30) as sampler:
            while time.monotonic() < stop:
                found, cluster = _problems(sampler)
                over += found
                samples += 1
                at = time.monotonic() - began
                rss.append((at, server.rss_mb()))
                held = sum(cluster["tasks"].values())
                if warm_at is None and held >= max_complete:
                    warm_at = at
                time.sleep(0.5)  # real time between samples: the load runs meanwhile
        for thread in clients:
            thread.join()
    warm = [(t, m) for t, m in rss if warm_at is not None and t >= warm_at]
    after = [m for _, m in warm]
    rows = [
        [
            seconds,
            sum(sent),
            samples,
            len(over),
            "not reached" if warm_at is None else f"{warm_at:.0f} s",
            f"{rss[0][1]:.0f} / {after[0] if after else rss[-1][1]:.0f} / {rss[-1][1]:.0f} MB",
            f"{min(after):.0f}–{max(after):.0f} MB" if after else "-",
            f"{_slope(warm):+.2f}" if warm else "-",
        ]
    ]
    table = markdown_table(
        [
            "seconds",
            "client rounds",
            "samples",
            "samples breaking a rule",
            "warm-up ends",
            "RSS start / warm / end",
            "RSS after warm-up",
            "slope after warm-up (MB/min)",
        ],
        rows,
    )
    detail = "\n".join(f"* {problem}" for problem in over[:20])
    note = f"`druid-sim serve --scenario demo --time-scale {SCALE} {' '.join(bounds)}`, 4 clients."
    write_results("capacity", f"# bench capacity\n\n{machine_note()}\n\n{note}\n\n{table}\n\n{detail}\n")
    return 0 if not over else 1


if __name__ == "__main__":
    raise SystemExit(main())
