"""Shared fixtures: a real server per test on a free port, and an HTTP client for it."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.support.live import LiveServer, live_server


@pytest.fixture
def server() -> Iterator[LiveServer]:
    """An empty cluster (no demo tasks) with a frozen clock at 2026-01-01T00:00:00Z."""
    with live_server() as live:
        yield live


@pytest.fixture
def client(server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=10) as http:
        yield http
