"""druid-sim installed the way users install it: a wheel built from the sdist, in a fresh venv, used elsewhere.

Once per session: ``python -m build`` makes the sdist and then the wheel *from the sdist* (as pip does
with an sdist), with the build backend ``pyproject.toml`` names (build checks that the installed one
satisfies ``build-system.requires``; isolated build environments would triple the cost); the wheel goes
into a new venv in a temporary folder, outside the checkout. Every command then runs from another empty folder with that venv's own ``druid-sim`` and
``python``, so nothing can come from the checkout. No network: the dependencies and the build backend
come from the wheelhouse ``make install`` fills (``.venv/wheelhouse``), with pip's own configuration
switched off. The last test adds the ``record`` extra, after the others have used the venv without
mitmproxy. About 14 s of CPU in all.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from druid_sim.builtin import cassette_names
from druid_sim.cassette import load_cassette
from druid_sim.scenario import builtin_names
from tests.support.live import live_server
from tests.support.process import serve

REPO = Path(__file__).resolve().parent.parent
WHEELHOUSE = Path(sys.prefix) / "wheelhouse"
#: What a clone does not have: version control, virtualenvs, caches and build leftovers.
LEFT_OUT = (".git", ".venv", "venv", "build", "dist", "*.egg-info", "__pycache__", ".*_cache", "results")
VERSION = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]


@dataclass
class Installed:
    """The fresh venv with the wheel in it, and what building it printed."""

    bin: Path
    elsewhere: Path  # an empty folder outside the checkout: every command runs from here
    env: dict[str, str]
    build_log: str
    wheel: Path
    sdist: Path

    def run(self, *argv: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            argv, cwd=self.elsewhere, env=self.env, capture_output=True, text=True, timeout=timeout, check=False
        )

    def druid_sim(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self.run(str(self.bin / "druid-sim"), *args)


def _offline_env() -> dict[str, str]:
    """This environment without the checkout on the path or pip's configuration; pip reads the wheelhouse only."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "PYTHON", "VIRTUAL_ENV"))}
    env.update(
        PIP_CONFIG_FILE=os.devnull,
        PIP_NO_INDEX="1",
        PIP_FIND_LINKS=str(WHEELHOUSE),
        PIP_DISABLE_PIP_VERSION_CHECK="1",
    )
    return env


def _check(argv: list[str], env: dict[str, str], cwd: Path) -> str:
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=240, check=False)
    assert done.returncode == 0, f"{' '.join(argv)} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout + done.stderr


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installed]:
    if not any(WHEELHOUSE.glob("pytest-*.whl")):
        pytest.fail(f"no wheelhouse at {WHEELHOUSE}: `make install` fills it (run it, then this test)", pytrace=False)
    root = tmp_path_factory.mktemp("installed")
    assert not root.resolve().is_relative_to(REPO)
    env = _offline_env()
    source, dist, venv, elsewhere = root / "source", root / "dist", root / "venv", root / "elsewhere"
    elsewhere.mkdir()
    # A copy as a clone has it (links kept): the build writes nothing into the checkout, and no leftover
    # of an earlier build there (build/, *.egg-info/SOURCES.txt) can slip into the sdist.
    shutil.copytree(REPO, source, symlinks=True, ignore=shutil.ignore_patterns(*LEFT_OUT))
    build_log = _check(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(dist), str(source)], env, elsewhere
    )
    (wheel,) = dist.glob("druid_sim-*.whl")
    (sdist,) = dist.glob("druid_sim-*.tar.gz")
    _check([sys.executable, "-m", "venv", "--without-pip", str(venv)], env, elsewhere)
    python = str(venv / "bin" / "python")
    _check(
        [sys.executable, "-m", "pip", "--python", python, "install", "--quiet", "--no-compile", str(wheel), "pytest"],
        env,
        elsewhere,
    )
    yield Installed(venv / "bin", elsewhere, {**env, "PATH": f"{venv / 'bin'}:{env['PATH']}"}, build_log, wheel, sdist)


def test_the_build_is_clean_and_the_wheel_ships_the_data_but_not_the_scripts(installed: Installed) -> None:
    assert not re.search(r"deprecat|package would be ignored", installed.build_log, re.IGNORECASE), installed.build_log
    with zipfile.ZipFile(installed.wheel) as wheel:
        names = set(wheel.namelist())
        metadata = wheel.read(f"druid_sim-{VERSION}.dist-info/METADATA").decode()
    builtin = {name for name in names if name.startswith("druid_sim/builtin/") and not name.endswith("__init__.py")}
    assert builtin == {f"druid_sim/builtin/scenarios/{name}.yaml" for name in builtin_names()} | {
        f"druid_sim/builtin/cassettes/{name}.jsonl" for name in cassette_names()
    }
    assert {f"druid_sim-{VERSION}.dist-info/licenses/{name}" for name in ("LICENSE", "NOTICE")} <= names
    assert {"druid_sim/dashboard/static/dashboard.css", "druid_sim/dashboard/static/js/main.js"} <= names
    assert any(name.startswith("druid_sim/dashboard/templates/") for name in names)
    assert "druid_sim/py.typed" in names and not any(
        name.startswith(("tests/", "bench/", "examples/")) for name in names
    )
    assert "License-Expression: Apache-2.0" in metadata and "Classifier: Framework :: Pytest" in metadata
    with tarfile.open(installed.sdist) as sdist:
        members = {name.split("/", 1)[1] for name in sdist.getnames() if "/" in name}
    assert {
        "LICENSE",
        "NOTICE",
        "Makefile",
        "docs/druid-overlord-behaviour.md",
        "cassettes/make_docs_examples.py",
    } <= members
    assert "druid_sim/builtin/scenarios/demo.yaml" in members and "tests/test_packaging.py" in members


def test_the_command_line_works_from_an_unrelated_folder(installed: Installed) -> None:
    where = installed.run(str(installed.bin / "python"), "-c", "import druid_sim; print(druid_sim.__file__)")
    assert Path(where.stdout.strip()).is_relative_to(installed.bin.parent)  # the venv's copy, not the checkout
    assert installed.druid_sim("--version").stdout.strip() == f"druid-sim {VERSION}"
    listed = installed.druid_sim("scenario", "list")
    assert listed.returncode == 0 and [line.split()[0] for line in listed.stdout.splitlines()] == builtin_names()
    shown = installed.druid_sim("scenario", "show", "demo")
    assert shown.returncode == 0 and shown.stdout.startswith("# demo: ")
    cassettes = installed.druid_sim("cassette", "list")
    assert [line.split()[0] for line in cassettes.stdout.splitlines()] == cassette_names()


def test_serve_with_its_default_scenario_and_with_a_shipped_cassette_by_name(installed: Installed) -> None:
    command = [str(installed.bin / "druid-sim")]
    docs = load_cassette("docs-examples")
    complete = next(i for i in docs.interactions if i.request.path == "/druid/indexer/v1/completeTasks")
    common = {"command": command, "cwd": installed.elsewhere, "env": installed.env}
    with (
        serve("--no-access-log", **common) as (_, demo),
        serve("--no-access-log", "--cassette", "docs-examples", **common) as (_, replay),
    ):
        assert httpx.get(f"{demo}/status/health").json() is True
        assert len(httpx.get(f"{demo}/druid/indexer/v1/tasks").json()) >= 20  # the demo cluster
        page, style = httpx.get(f"{demo}/"), httpx.get(f"{demo}/__sim/ui/dashboard.css")  # the dashboard's data
        assert page.headers["content-type"].startswith("text/html") and style.status_code == 200
        recorded = httpx.get(f"{replay}/druid/indexer/v1/completeTasks")
        healths = [installed.druid_sim("health", "--url", url).stdout for url in (demo, replay)]
    assert recorded.content == complete.response.body.raw()
    assert ", scenario demo, no cassette, " in healths[0]
    assert ", no scenario, cassette docs-examples, " in healths[1]


FOREIGN_TEST = """
import httpx
import pytest


@pytest.mark.druid_sim(scenario="failing-ingestion", seed=7)
def test_a_dag_against_a_built_in_scenario(druid_sim):
    druid_sim.add_fault(kind="error", status=503, when={"first": 1})
    assert httpx.get(f"{druid_sim.url}/druid/indexer/v1/tasks").status_code == 503
    tasks = httpx.get(f"{druid_sim.url}/druid/indexer/v1/tasks").json()
    assert tasks and druid_sim.count("GET", "/druid/indexer/v1/tasks") == 2
"""


def _with_modules_named_like_ours_once_were(project: Path) -> None:
    """A project of its own with a ``proxy.py`` and a ``simulator/`` package (common names, and the two top-level
    imports druid-sim once installed): pytest puts the project's root first on ``sys.path``, so they shadow any
    installed module of the same name. The tests import them, to show they are the project's own."""
    (project / "proxy.py").write_text("OWNER = 'the project'\n")
    (project / "simulator").mkdir()
    (project / "simulator" / "__init__.py").write_text("OWNER = 'the project'\n")
    (project / "conftest.py").write_text(
        "import proxy\nimport simulator\n\nassert proxy.OWNER == simulator.OWNER == 'the project'\n"
    )


def test_a_foreign_project_uses_the_pytest_plugin_and_the_examples_run(installed: Installed) -> None:
    """Issue 21: the plugin works in a project with its own ``proxy.py`` and ``simulator/`` package."""
    # The wheel alone has no mitmproxy (the last test adds it): the examples' recorded cassettes replay without it.
    assert installed.run(str(installed.bin / "python"), "-c", "import mitmproxy").returncode == 1
    project = installed.elsewhere / "project"
    project.mkdir()
    _with_modules_named_like_ours_once_were(project)
    (project / "pytest.ini").write_text("[pytest]\nfilterwarnings = error\n")
    (project / "test_dag.py").write_text(FOREIGN_TEST)
    shutil.copytree(REPO / "examples", project / "examples", ignore=shutil.ignore_patterns("__pycache__"))
    done = subprocess.run(
        [str(installed.bin / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=project,
        env=installed.env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    examples, skipped = 0, 0  # a module of examples that record needs mitmproxy: skipped whole without it
    for path in (REPO / "examples").glob("test_*.py"):
        text = path.read_text()
        if 'importorskip("mitmproxy"' in text:
            skipped += 1
        else:
            examples += sum(1 for line in text.splitlines() if line.startswith("def test_"))
    assert f"{examples + 1} passed, {skipped} skipped" in done.stdout


RECORDED_TEST = """
import pytest


@pytest.mark.druid_sim(cassette=True, strict=True)
def test_recorded(druid_sim):
    assert druid_sim.http.get("/druid/indexer/v1/leader").status_code == 200
    expected = "upstream" if druid_sim.recording else "replay"
    assert [entry["answeredBy"] for entry in druid_sim.journal()] == [expected]
"""


def test_a_foreign_suite_replays_without_mitmproxy_and_records_once_the_record_extra_is_in(
    installed: Installed,
) -> None:
    """Last in this module: it installs the `record` extra into the shared venv, the other tests use it without.

    The wheel alone has no mitmproxy (the test before this one replays the examples' cassettes with
    it so): asking to record says how to install the recorder. With ``druid-sim[record]`` (from the
    wheelhouse too) the suite records from a cluster (a simulator here), the cassette it writes passes
    ``druid-sim cassette check``, and the next run replays it.
    """
    project = installed.elsewhere / "recording"
    project.mkdir()
    _with_modules_named_like_ours_once_were(project)  # the recorder and the replay work beside them (issue 21)
    (project / "pytest.ini").write_text("[pytest]\nfilterwarnings = error\n")
    (project / "test_recorded.py").write_text(RECORDED_TEST)
    cassette = project / "cassettes" / "test_recorded" / "test_recorded.jsonl"

    def pytest_run(*args: str) -> subprocess.CompletedProcess[str]:
        command = [str(installed.bin / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider", *args]
        return subprocess.run(
            command, cwd=project, env=installed.env, capture_output=True, text=True, timeout=120, check=False
        )

    assert installed.run(str(installed.bin / "python"), "-c", "import mitmproxy").returncode == 1
    with live_server() as cluster:
        refused = pytest_run(f"--druid-sim-record={cluster.url}")
        assert refused.returncode == pytest.ExitCode.USAGE_ERROR
        assert "cannot be imported here (No module named 'mitmproxy'). Install the recorder: pip install " in (
            refused.stderr
        )
        pip = [sys.executable, "-m", "pip", "--python", str(installed.bin / "python"), "install", "--quiet"]
        _check([*pip, "--no-compile", f"{installed.wheel}[record]"], installed.env, installed.elsewhere)
        recorded = pytest_run(f"--druid-sim-record={cluster.url}")  # once: the cassette is missing
        assert recorded.returncode == 0, recorded.stdout + recorded.stderr
        assert f"druid-sim: recorded 1 interaction(s) from {cluster.url} into {cassette}" in recorded.stdout
        asked = cluster.simulation.extensions["journal"].total
        assert asked == 1
        checked = installed.druid_sim("cassette", "check", str(cassette))
        assert checked.returncode == 0, checked.stdout + checked.stderr
        replayed = pytest_run("--druid-sim-strict")
        assert replayed.returncode == 0, replayed.stdout + replayed.stderr
        assert cluster.simulation.extensions["journal"].total == asked  # replayed: the cluster was not asked
