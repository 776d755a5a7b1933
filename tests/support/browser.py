"""Starting Debian's Chromium headless on this kind of machine, for the dashboard's browser tests and bench."""

from __future__ import annotations

import os
import shutil

#: As the machine notes say Chromium must start here: no sandbox (root), no GPU, and none of the
#: background networking that a closed network answers by refusing connections many at a time. Playwright
#: gives every launch a fresh profile (``--user-data-dir``) of its own.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str | None:
    """``DRUID_SIM_CHROMIUM``, else ``chromium`` (Debian) or ``chromium-browser`` on the PATH, else None."""
    given = os.environ.get("DRUID_SIM_CHROMIUM")
    if given:
        return given
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None
