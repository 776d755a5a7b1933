"""Shared machinery for the benchmarks: servers in their own process groups, wrk, RSS, medians, tables.

Why it looks like this (see ``docs/performance.md``): on a shared 2-vCPU machine the
same configuration varies by about ±30% from run to run, so absolute req/s mean little. Every bench
therefore measures its subject *and* a ceiling in the same run, interleaves them over at least three
repetitions, and gates on the ratio of medians. Every server runs with the settings of
``druid-sim serve``: uvicorn, uvloop, httptools, no access log, one worker.

Typical use from a bench module::

    with ServerGroup() as group:
        sim = group.start("simulator", simulator_argv(port), port)
        ceiling = group.start("ceiling", bare_route_argv(port2, path, body_file), port2)
        results = interleave([Case("sim", sim.url + path, 32), Case("bare", ceiling.url + path, 32)])
    print(markdown_table(...))

Knobs shared by every bench (environment variables): ``BENCH_DURATION`` (seconds per wrk run,
default 5), ``BENCH_REPETITIONS`` (default 3).

``python -m bench.common bare --port N --path /p --body-file F [--content-type T]`` runs the ceiling:
a bare Starlette app with one route returning the file's bytes.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import TracebackType

BENCH_DIR = Path(__file__).resolve().parent
RESULTS_DIR = BENCH_DIR / "results"
REPO_DIR = BENCH_DIR.parent

#: The server settings of ``druid-sim serve`` (the ceiling of this stack): keep every bench server on them.
UVICORN_SETTINGS: dict[str, object] = {
    "loop": "uvloop",
    "http": "httptools",
    "access_log": False,
    "server_header": False,
    "log_level": "warning",
    "lifespan": "on",
    "workers": 1,
}

WRK_INSTALL_HINT = (
    "wrk is not installed; the benchmarks need it as their HTTP load generator.\n"
    "Install it with:  sudo apt-get install -y wrk   (Debian/Ubuntu)\n"
    "               or: brew install wrk             (macOS)\n"
    "then run `make bench` again."
)


class BenchError(Exception):
    """A benchmark could not run (missing tool, server that never came up); the message says how to fix it."""


def duration_s() -> int:
    """Seconds per wrk run (``BENCH_DURATION``, default 5)."""
    return _env_int("BENCH_DURATION", 5)


def repetitions() -> int:
    """How many interleaved repetitions (``BENCH_REPETITIONS``, default 3, at least 1)."""
    return max(1, _env_int("BENCH_REPETITIONS", 3))


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BenchError(f"{name}={raw!r} is not a whole number; unset it or give e.g. {name}={default}") from None
    if value <= 0:
        raise BenchError(f"{name}={raw!r} must be positive; unset it or give e.g. {name}={default}")
    return value


# -- servers --------------------------------------------------------------------------------------------


def free_port() -> int:
    """A loopback port nobody is listening on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def python_argv(*args: str) -> list[str]:
    """Run the venv's Python (the one running the bench) with ``args``, e.g. ``("-m", "bench.common", ...)``."""
    return [sys.executable, *args]


def druid_sim_argv(*args: str) -> list[str]:
    """The ``druid-sim`` console script next to this Python (falls back to ``python -m druid_sim``)."""
    script = Path(sys.executable).with_name("druid-sim")
    if script.exists():
        return [str(script), *args]
    return [sys.executable, "-m", "druid_sim", *args]


def bare_route_argv(port: int, path: str, body_file: Path, content_type: str = "application/json") -> list[str]:
    """The ceiling server: a bare Starlette route answering ``path`` with the bytes of ``body_file``."""
    return python_argv(
        "-m",
        "bench.common",
        "bare",
        "--port",
        str(port),
        "--path",
        path,
        "--body-file",
        str(body_file),
        "--content-type",
        content_type,
    )


@dataclass
class Server:
    """One server process, leading its own process group (so stopping it stops its children too)."""

    name: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path
    started_at: float
    ready_after_s: float | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        return self.process.pid

    def rss_mb(self) -> float:
        """Resident memory of the server process, from ``/proc/<pid>/status`` (VmRSS), in MiB."""
        return rss_mb(self.pid)

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        """SIGTERM to the process group, SIGKILL after 5 s; never leaves a process behind."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)
        # Children that outlived the leader (none expected) go with the group too.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)


@contextlib.contextmanager
def serving(name: str, *args: str) -> Iterator[Server]:
    """``druid-sim serve ARGS --no-access-log`` on a free port, once it answers; stopped at the end."""
    port = free_port()
    log = Path(tempfile.mkdtemp(prefix=f"bench-{name}-")) / "serve.log"
    argv = druid_sim_argv("serve", *args, "--port", str(port), "--no-access-log")
    server = Server(name, port, spawn(argv, log), log, time.perf_counter())
    try:
        wait_ready(server, "/status/health")
        yield server
    finally:
        server.stop()


def _stat(pid: int | str) -> list[str]:
    """The fields of ``/proc/<pid>/stat`` after the command name (field 3, the state, comes first)."""
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().rsplit(")", 1)[1].split()


def group_processes(pgid: int) -> list[int]:
    """Every process in process group ``pgid``: a server started by `spawn` and its workers."""
    found: list[int] = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                if int(_stat(entry)[2]) == pgid:  # field 5: the process group
                    found.append(int(entry))
    return found


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds used so far by ``pid`` and the rest of its process group (workers).

    Fields 14 and 15 of ``/proc/<pid>/stat``, summed over the group's processes.
    """
    total = 0
    for member in group_processes(pid) or [pid]:
        try:
            fields = _stat(member)
        except FileNotFoundError:
            if member == pid:
                raise BenchError(f"process {pid} is gone; cannot read its CPU time") from None
            continue  # a worker that ended meanwhile
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    """VmRSS of ``pid`` in MiB (Linux ``/proc``)."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except FileNotFoundError:
        raise BenchError(f"process {pid} is gone; cannot read its memory") from None
    raise BenchError(f"/proc/{pid}/status has no VmRSS line (is this Linux?)")


def spawn(argv: Sequence[str], log_path: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """Start ``argv`` in a new session (its own process group), output to ``log_path``."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "wb") as log:
        return subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=REPO_DIR,
            env={**os.environ, **(env or {})},
            start_new_session=True,
        )


def http_get(url: str, timeout: float = 5.0) -> tuple[int, bytes]:
    """One GET with the standard library (no client start-up cost); returns status and body."""
    match = re.match(r"http://([^:/]+):(\d+)(/.*)?$", url)
    if match is None:
        raise BenchError(f"not a plain http://host:port/path URL: {url}")
    connection = http.client.HTTPConnection(match.group(1), int(match.group(2)), timeout=timeout)
    try:
        connection.request("GET", match.group(3) or "/")
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def wait_ready(server: Server, path: str, timeout_s: float = 30.0, poll_s: float = 0.002) -> float:
    """Poll ``path`` until it answers 200; returns seconds since the process was spawned."""
    deadline = server.started_at + timeout_s
    url = server.url + path
    while time.perf_counter() < deadline:
        if server.process.poll() is not None:
            raise BenchError(
                f"server {server.name!r} exited with code {server.process.returncode} before answering {path}; "
                f"its output ({server.log_path}):\n{server.log_tail()}"
            )
        try:
            status, _ = http_get(url, timeout=1.0)
        except OSError:
            time.sleep(poll_s)
            continue
        if status == 200:
            server.ready_after_s = time.perf_counter() - server.started_at
            return server.ready_after_s
        time.sleep(poll_s)
    raise BenchError(
        f"server {server.name!r} did not answer 200 on {url} within {timeout_s:.0f} s; "
        f"its output ({server.log_path}):\n{server.log_tail()}"
    )


class ServerGroup:
    """Starts servers and guarantees every one is stopped on exit, error or Ctrl-C included."""

    def __init__(self) -> None:
        self.servers: list[Server] = []

    def start(
        self,
        name: str,
        argv: Sequence[str],
        port: int,
        ready_path: str = "/status/health",
        timeout_s: float = 60.0,
        env: dict[str, str] | None = None,
    ) -> Server:
        """Spawn ``argv`` (which must listen on ``port``) and wait until ``ready_path`` answers 200."""
        log_path = RESULTS_DIR / "logs" / f"{name}-{port}.log"
        started = time.perf_counter()
        process = spawn(argv, log_path, env)
        server = Server(name, port, process, log_path, started)
        self.servers.append(server)
        wait_ready(server, ready_path, timeout_s)
        return server

    def stop(self, server: Server) -> None:
        server.stop()
        if server in self.servers:
            self.servers.remove(server)

    def stop_all(self) -> None:
        while self.servers:
            self.servers.pop().stop()

    def __enter__(self) -> ServerGroup:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop_all()


# -- wrk --------------------------------------------------------------------------------------------------


def require_wrk() -> str:
    """The path of ``wrk``, or a BenchError that says how to install it."""
    path = shutil.which("wrk")
    if path is None:
        raise BenchError(WRK_INSTALL_HINT)
    return path


@dataclass(frozen=True)
class WrkResult:
    """What one wrk run measured."""

    requests_per_s: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int  # socket errors (connect, read, write, timeout) plus non-2xx/3xx answers
    bytes_per_s: float = 0.0
    #: Server CPU (user + system) per request in µs, when the server's pid was given; NaN otherwise.
    cpu_us_per_request: float = float("nan")


_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}
_SIZE = {"B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3}


def _ms(value: str, unit: str) -> float:
    return float(value) * _UNITS_MS[unit]


def parse_wrk(output: str) -> WrkResult:
    """Parse ``wrk --latency`` output; raises BenchError quoting the output when it is not understood."""
    rate = re.search(r"^Requests/sec:\s+([\d.]+)", output, re.M)
    p50 = re.search(r"^\s+50%\s+([\d.]+)(us|ms|s|m)\b", output, re.M)
    p99 = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s|m)\b", output, re.M)
    total = re.search(r"^\s+(\d+) requests in", output, re.M)
    if rate is None or p50 is None or p99 is None or total is None:
        raise BenchError(f"could not read wrk's output (was --latency given?):\n{output}")
    errors = 0
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    if socket_errors:
        errors += sum(int(group) for group in socket_errors.groups())
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if non_2xx:
        errors += int(non_2xx.group(1))
    transfer = re.search(r"^Transfer/sec:\s+([\d.]+)(B|KB|MB|GB)", output, re.M)
    return WrkResult(
        requests_per_s=float(rate.group(1)),
        p50_ms=_ms(*p50.groups()),
        p99_ms=_ms(*p99.groups()),
        requests=int(total.group(1)),
        errors=errors,
        bytes_per_s=float(transfer.group(1)) * _SIZE[transfer.group(2)] if transfer else 0.0,
    )


def process_group_threads(pgid: int) -> list[int]:
    """Every thread of every process in process group ``pgid`` (a server and its workers), from ``/proc``."""
    threads: list[int] = []
    for pid in group_processes(pgid):
        with contextlib.suppress(OSError):  # a process that ended while we looked
            threads += [int(tid) for tid in os.listdir(f"/proc/{pid}/task")]
    return threads


@contextlib.contextmanager
def on_cpu(pgid: int | None, cpu: int | None) -> Iterator[None]:
    """Run a server's whole process group on one CPU for the duration, then on every CPU again.

    Why: at one connection a request's round trip on this VM is dominated by waking the other vCPU
    (client on one, server on the other, each halted while it waits: ~150 µs per round trip, measured),
    which hides what the servers themselves cost and makes the result depend on where the scheduler
    happened to put them. With client and server on the same CPU the round trip is the server's work.
    """
    if pgid is None or cpu is None:
        yield
        return
    every = os.sched_getaffinity(0)
    for tid in process_group_threads(pgid):
        with contextlib.suppress(OSError):
            os.sched_setaffinity(tid, {cpu})
    try:
        yield
    finally:
        for tid in process_group_threads(pgid):
            with contextlib.suppress(OSError):
                os.sched_setaffinity(tid, every)


def run_wrk(
    url: str,
    connections: int,
    duration: int | None = None,
    threads: int | None = None,
    script: Path | None = None,
    timeout_s: int = 10,
    server_pid: int | None = None,
    cpu: int | None = None,
) -> WrkResult:
    """One bounded wrk run against ``url`` with ``connections`` keep-alive connections.

    With ``server_pid``, also the server's CPU time per request (a second view on cost that does not
    depend on how much CPU wrk and the neighbours left over, though it drifts with the vCPU's speed).
    With ``cpu`` (and ``server_pid``), wrk and every thread of the server's process group run on that
    one CPU (`on_cpu`).
    """
    wrk = require_wrk()
    seconds = duration or duration_s()
    threads = threads or min(connections, 2)
    argv = [wrk, f"-t{threads}", f"-c{connections}", f"-d{seconds}s", f"--timeout={timeout_s}s", "--latency"]
    if script is not None:
        argv += ["-s", str(script)]
    argv.append(url)
    pin = None if cpu is None else lambda: os.sched_setaffinity(0, {cpu})
    cpu_before = cpu_seconds(server_pid) if server_pid is not None else 0.0
    try:
        with on_cpu(server_pid, cpu):
            done = subprocess.run(
                argv, capture_output=True, text=True, timeout=seconds + timeout_s + 30, check=False, preexec_fn=pin
            )
    except subprocess.TimeoutExpired:
        raise BenchError(f"wrk did not finish: {' '.join(argv)}") from None
    if done.returncode != 0:
        raise BenchError(f"wrk failed ({done.returncode}): {' '.join(argv)}\n{done.stdout}{done.stderr}")
    result = parse_wrk(done.stdout)
    if server_pid is not None and result.requests:
        used = cpu_seconds(server_pid) - cpu_before
        result = replace(result, cpu_us_per_request=used / result.requests * 1e6)
    return result


# -- interleaving and summaries ---------------------------------------------------------------------------


@dataclass
class Case:
    """One load configuration: a URL under ``connections`` connections (optionally with a Lua script)."""

    name: str
    url: str
    connections: int
    script: Path | None = None
    #: The server's pid, to measure its CPU per request (``Server.pid``).
    pid: int | None = None
    #: Run wrk and the server (its whole process group, found from ``pid``) on this one CPU.
    cpu: int | None = None
    results: list[WrkResult] = field(default_factory=list)

    def median(self, attribute: Callable[[WrkResult], float]) -> float:
        return statistics.median(attribute(result) for result in self.results)

    @property
    def rps(self) -> float:
        return self.median(lambda r: r.requests_per_s)

    @property
    def rps_min(self) -> float:
        return min(result.requests_per_s for result in self.results)

    @property
    def p50_ms(self) -> float:
        return self.median(lambda r: r.p50_ms)

    @property
    def p99_ms(self) -> float:
        return self.median(lambda r: r.p99_ms)

    @property
    def cpu_us(self) -> float:
        """Median server CPU µs per request (NaN when no pid was given)."""
        return self.median(lambda r: r.cpu_us_per_request)

    @property
    def errors(self) -> int:
        return sum(result.errors for result in self.results)


def interleave(cases: Sequence[Case], reps: int | None = None, progress: bool = True) -> Sequence[Case]:
    """Run every case once per repetition, rotating the order each time, so drift hits all of them alike."""
    count = reps or repetitions()
    for rep in range(count):
        shift = rep % len(cases)
        for case in [*cases[shift:], *cases[:shift]]:
            result = run_wrk(case.url, case.connections, script=case.script, server_pid=case.pid, cpu=case.cpu)
            case.results.append(result)
            if progress:
                print(
                    f"  [{rep + 1}/{count}] {case.name:<44} {result.requests_per_s:>9,.0f} req/s  "
                    f"p50 {result.p50_ms:.3f} ms  p99 {result.p99_ms:.3f} ms",
                    file=sys.stderr,
                    flush=True,
                )
    return cases


def ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator else float("nan")


def verdict(passed: bool) -> str:
    return "PASS" if passed else "FAIL"


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A GitHub markdown table; numbers are right-aligned."""
    for row in rows:
        if len(row) != len(headers):
            raise ValueError(f"table row has {len(row)} cells for {len(headers)} headers ({list(headers)}): {row}")
    text_rows = [[_cell(value) for value in row] for row in rows]
    align = ["--:" if rows and isinstance(rows[0][index], int | float) else "---" for index in range(len(headers))]
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join(align) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in text_rows]
    return "\n".join(lines)


def _cell(value: object) -> str:
    if isinstance(value, float):
        if value != value:  # nan
            return "n/a"
        if abs(value) >= 100:
            return f"{value:,.0f}"
        if abs(value) >= 10:
            return f"{value:.1f}"
        return f"{value:.3g}" if abs(value) < 1 else f"{value:.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def machine_note() -> str:
    """One line on where the figures come from, for the results file."""
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (
        f"{time.strftime('%Y-%m-%d %H:%M:%S %Z')}, {os.cpu_count()} CPUs, load {load:.2f}, "
        f"Python {sys.version.split()[0]}, wrk runs of {duration_s()} s × {repetitions()} interleaved repetitions"
    )


def write_results(name: str, markdown: str) -> Path:
    """Print ``markdown`` and save it as ``bench/results/<name>.md`` (git-ignored)."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}.md"
    path.write_text(markdown.rstrip() + "\n")
    print(markdown.rstrip())
    print(f"\n(saved to {path.relative_to(REPO_DIR)})")
    return path


@contextlib.contextmanager
def timed() -> Iterator[Callable[[], float]]:
    """``with timed() as elapsed: ...; elapsed()`` → seconds."""
    started = time.perf_counter()
    end: list[float] = []
    yield lambda: (end[0] if end else time.perf_counter()) - started
    end.append(time.perf_counter())


# -- the ceiling server -------------------------------------------------------------------------------------


def serve_bare(port: int, path: str, body: bytes, content_type: str) -> None:
    """A bare Starlette app with one route returning ``body``, on the bench server settings."""
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    async def fixed(request: Request) -> Response:
        return Response(body, media_type=content_type)

    async def health(request: Request) -> Response:
        return Response(b"true", media_type="application/json")

    app = Starlette(routes=[Route(path, fixed), Route("/status/health", health)])
    settings = {key: value for key, value in UVICORN_SETTINGS.items() if key != "workers"}
    uvicorn.run(app, host="127.0.0.1", port=port, **settings)  # type: ignore[arg-type]


def _cli(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.common", description="bench helper servers")
    sub = parser.add_subparsers(dest="command", required=True)
    bare = sub.add_parser("bare", help="a bare Starlette route returning a file's bytes (the ceiling)")
    bare.add_argument("--port", type=int, required=True)
    bare.add_argument("--path", required=True)
    bare.add_argument("--body-file", type=Path, required=True)
    bare.add_argument("--content-type", default="application/json")
    args = parser.parse_args(argv)
    try:
        body = args.body_file.read_bytes()
    except OSError as exc:
        parser.error(f"cannot read --body-file {args.body_file}: {exc.strerror}")
    serve_bare(args.port, args.path, body, args.content_type)
    return 0


if __name__ == "__main__":
    sys.exit(_cli())
