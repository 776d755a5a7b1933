"""What ``druid-sim serve`` was asked to run: the options the CLI, the test fixtures and the control API share.

Building a simulation from them is `druid_sim.simulation`'s job, one layer up.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from druid_sim.limits import ServerLimits


@dataclass(frozen=True, slots=True)
class ServeConfig:
    """Options shared by the CLI, the test fixtures and the control API's reset."""

    host: str = "127.0.0.1"
    port: int = 8888
    seed: int = 0
    time_scale: float = 1.0
    start_ms: int | None = None
    scenario: str | None = "demo"
    cassette: str | None = None
    access_log: bool = True
    control_token: str | None = None  # Bearer token the /__sim/ control API requires (None: open)
    journal_size: int = 10_000  # how many requests the journal keeps
    replay_on_miss: str = "error"  # replay: who answers an unrecorded request (simulate | error | forward)
    replay_latency: str = "none"  # replay: none | recorded (the upstream's time, on the virtual clock)
    replay_sequence: str = "stick-last"  # replay: stick-last | cycle | exhaust
    replay_ignore: tuple[str, ...] = ()  # replay: query:KEY, header:NAME, body:/json/pointer left out of matching
    replay_match_on: tuple[str, ...] = ()  # replay: header:NAME taking part in matching besides the defaults
    replay_upstream: str | None = None  # replay --on-miss forward: the real cluster misses go to
    replay_record_new: bool = False  # replay --on-miss forward: append what is forwarded to the cassette
    report_unused: bool = False  # replay: list never-played interactions when the server stops
    replay_redaction_key: str | None = None  # replay: key file of a cassette redacted with a key kept outside it
    workers: int = 1  # uvicorn worker processes (more than one: replay only, sequence cursors in a shared file)
    limits: ServerLimits = field(default_factory=ServerLimits)  # sizes, timeouts, connections (druid_sim.limits)
    dashboard: bool = True  # serve the dashboard page at / (and its files under /__sim/ui/)
    web_console: str | None = None  # a build of Druid's web console, served at /unified-console.html
    data_dirs: tuple[str, ...] = ()  # folders the control API may load files from (empty: the working directory)
    state: str | None = None  # the state store: an SQLite file or a postgresql:// URL (None: in memory only)
    advertise_url: str | None = None  # the URL other replicas redirect to (default self_url)

    @property
    def self_url(self) -> str:
        host = "localhost" if self.host in ("0.0.0.0", "::") else self.host
        return f"http://{host}:{self.port}"

    @property
    def advertised_url(self) -> str:
        """Where clients reach this server: what ``/leader`` says and other replicas redirect to."""
        return self.advertise_url or self.self_url
