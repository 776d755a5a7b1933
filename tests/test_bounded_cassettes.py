"""Cassettes are loaded line by line within ``--max-cassette-size`` (issue 22, item 5), over a real socket.

A 1 GB one-line cassette used to take 4 GB of memory and a 10 M-line one to end in a MemoryError
traceback. Now a file over the limit is refused from its size before a byte is read, a stream with
no size (a pipe) after reading the limit and no more, and the refusal is one line naming the file and
the flag: by ``serve``, by ``POST /__sim/cassette`` (nothing changes), by ``cassette show``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from druid_sim.cassette import CassetteFormatError, load_cassette
from druid_sim.config import ServeConfig
from druid_sim.limits import GIB, KIB, MIB, ServerLimits
from tests.support.live import START_MS, live_server
from tests.support.replay import exchange, write_cassette

V1 = "/druid/indexer/v1"
HEADER = b'{"druid_sim_cassette":1,"recorded_at":"2026-01-01T00:00:00.000Z"}\n'


def _sparse(path: Path, size: int) -> Path:
    """A file of ``size`` bytes that takes no disk: a header, then one line that never ends."""
    with path.open("wb") as file:
        file.write(HEADER + b'{"request":"')
        file.truncate(size)
    return path


def _small(tmp_path: Path, polls: int) -> Path:
    polls_ = [exchange("GET", f"{V1}/task/t{n}/status", 200, {"task": f"t{n}"}) for n in range(polls)]
    return write_cassette(tmp_path / f"small{polls}.jsonl", polls_)


def test_serve_refuses_a_cassette_over_the_limit_in_one_line_before_reading_it(tmp_path: Path) -> None:
    huge = _sparse(tmp_path / "huge.jsonl", 1 * GIB)
    done = subprocess.run(
        [sys.executable, "-m", "druid_sim", "serve", "--port", "0", "--cassette", str(huge)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0 and "Traceback" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if str(huge) in line]
    assert len(lines) == 1, done.stderr
    assert "the file is 1GiB: a cassette may be at most 256MiB (--max-cassette-size)" in lines[0]
    assert "Start the server with a larger --max-cassette-size" in lines[0]


def test_the_control_api_refuses_a_cassette_over_the_servers_limit_and_changes_nothing(tmp_path: Path) -> None:
    config = ServeConfig(
        scenario=None,
        time_scale=0,
        start_ms=START_MS,
        data_dirs=(str(tmp_path),),
        limits=replace(ServerLimits(), max_cassette_size=64 * KIB),
    )
    fits, too_big = _small(tmp_path, 5), _small(tmp_path, 400)
    assert os.path.getsize(too_big) > 64 * KIB > os.path.getsize(fits)
    with live_server(config) as server, httpx.Client(base_url=server.url, timeout=30) as client:
        assert client.post("/__sim/cassette", json={"cassette": str(fits)}).status_code == 200
        refused = client.post("/__sim/cassette", json={"cassette": str(too_big)})
        assert refused.status_code == 422
        assert "a cassette may be at most 64KiB (--max-cassette-size)" in refused.json()["message"]
        assert client.get("/__sim/cassette").json()["cassette"] == str(fits)  # still the one that fitted
        assert client.get(f"{V1}/task/t1/status").json() == {"task": "t1"}


def test_cassette_show_takes_the_flag_too(tmp_path: Path) -> None:
    cassette = _small(tmp_path, 400)
    argv = [sys.executable, "-m", "druid_sim", "cassette", "show", str(cassette)]
    refused = subprocess.run([*argv, "--max-cassette-size", "16KiB"], capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2 and "at most 16KiB (--max-cassette-size)" in refused.stderr
    shown = subprocess.run([*argv, "--max-cassette-size", "1MiB"], capture_output=True, text=True, timeout=60)
    assert shown.returncode == 0 and "400" in shown.stdout


def test_a_stream_without_a_size_is_refused_after_the_limit_not_read_whole(tmp_path: Path) -> None:
    """A pipe that never ends: the loader stops after the limit (plus one byte), one line in memory at most."""
    fifo = tmp_path / "endless.pipe"  # not *.jsonl: the suite's end-of-session cassette check would open it
    os.mkfifo(fifo)
    written = [0]

    def endless() -> None:
        try:
            with fifo.open("wb") as pipe:
                pipe.write(HEADER + b'{"request":"')
                while written[0] < 64 * MIB:  # a bound for the test's sake: far past the limit
                    pipe.write(b"a" * 65536)
                    written[0] += 65536
        except BrokenPipeError:
            pass

    writer = threading.Thread(target=endless, daemon=True)
    writer.start()
    with pytest.raises(CassetteFormatError) as refused:
        load_cassette(fifo, max_size=1 * MIB)
    writer.join(timeout=30)
    fifo.unlink()
    assert "the file is larger (read up to this line): a cassette may be at most 1MiB" in str(refused.value)
    assert refused.value.line == 2
    assert written[0] < 4 * MIB  # the writer was cut off soon after the limit: nothing read whole
