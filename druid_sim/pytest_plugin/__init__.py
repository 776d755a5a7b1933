"""pytest plugin: a real druid-sim server for each test that asks for the ``druid_sim`` fixture.

Installed with the package (entry point ``pytest11``), so any project can write::

    @pytest.mark.druid_sim(scenario="demo", seed=7)
    def test_my_dag_survives_a_flaky_overlord(druid_sim):
        druid_sim.add_fault(kind="error", status=503, when={"first": 2})
        run_my_dag(druid_url=druid_sim.url)
        assert druid_sim.count(method="POST", path="/druid/indexer/v1/task") == 1

How it stays under a second per test: servers are started once per session for each distinct
configuration (scenario, cassette, seed, time scale, start), each in its own thread on a free loopback
port (the real stack on ``druid-sim serve``'s settings: uvicorn, uvloop, httptools, a real socket), and
put back to the configuration's start (``/__sim/reset``: tasks, clock, faults, replay cursors, journal)
before every test. A test that needs
a server of its own asks for ``fresh=True``; that one is stopped right after the test. All servers
stop at the end of the session. When a test fails, its report gets a section with the journal's tail.

The clock is manual by default (``time_scale=0``, 2026-01-01T00:00:00Z): a test moves it with
``druid_sim.advance("5m")`` instead of sleeping.

Cassettes: a test that names one (``cassette="x.jsonl"``, or ``cassette=True`` for
``cassettes/<module>/<test>.jsonl``) replays it, on a server shared with the tests of the same other
options (the cassette is switched at the reset). ``pytest --druid-sim-record=URL`` records it instead,
from a real cluster, under pytest-recording's record modes (`druid_sim.pytest_plugin.recording`): the test then
gets a server (shared by the recording tests of the same options) running on real time, whose
innermost layer forwards to an embedded mitmproxy recorder (`druid_sim.proxy.embedded`, one per session, which
switches cassettes between tests) in front of the cluster, so the journal, faults and a cassette
being extended work as in any test. A replayed test that sent a request the cassette had no answer for
fails (it gets the 599 that explains the miss), as in VCR.py, unless it asked for ``on_miss="simulate"``
(the model answers: hybrid); ``strict=True`` (or ``--druid-sim-strict``) also fails one that left a
recorded interaction unplayed. The marker takes ``druid-sim serve``'s matching options (``ignore=``,
``match_on=``, ``sequence=``, ``latency=``: `druid_sim.replay.options.MatchOptions`).
"""

from __future__ import annotations

from druid_sim.pytest_plugin.fixture import (
    druid_sim,
    druid_sim_cassette_dir,
    druid_sim_cassette_name,
    druid_sim_options,
    druid_sim_record_mode,
    druid_sim_servers,
    pytest_runtest_call,
    pytest_runtest_makereport,
    pytest_terminal_summary,
)
from druid_sim.pytest_plugin.handle import DruidSim, NotWhileRecording
from druid_sim.pytest_plugin.options import RecordSettings, SimOptions, pytest_addoption, pytest_configure
from druid_sim.pytest_plugin.servers import SimServer, SimServers

__all__ = [
    "DruidSim",
    "NotWhileRecording",
    "RecordSettings",
    "SimOptions",
    "SimServer",
    "SimServers",
    "druid_sim",
    "druid_sim_cassette_dir",
    "druid_sim_cassette_name",
    "druid_sim_options",
    "druid_sim_record_mode",
    "druid_sim_servers",
    "pytest_addoption",
    "pytest_configure",
    "pytest_runtest_call",
    "pytest_runtest_makereport",
    "pytest_terminal_summary",
]
