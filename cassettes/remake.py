"""Make every shipped cassette again, as each was made: ``make cassettes``.

Usage::

    .venv/bin/python cassettes/remake.py                 # in place: cassettes/*.jsonl, examples/cassettes/
    .venv/bin/python cassettes/remake.py --into DIR      # copies of them in DIR, each made again over itself

Each is made the way its own command makes it, and recording the same flow against the same cluster
again gives the same bytes (issue 19), so after a change the diff shows what the change did:

* ``cassettes/docs-examples.jsonl``: the sample exchanges of Druid's Tasks API page, written by
  ``cassettes/make_docs_examples.py`` (no recording);
* ``cassettes/demo-recording.jsonl``: ``cassettes/record_demo.py``, a client driven through every
  endpoint by ``druid-sim record`` in front of ``druid-sim serve --scenario demo --seed 7
  --start-time 2026-01-01T00:00:00Z --time-scale 0``;
* ``examples/cassettes/test_recorded_client/*.jsonl``: ``pytest examples/test_recorded_client.py
  --druid-sim-record=URL --druid-sim-record-mode=all --druid-sim-record-upstream-name=http://localhost:8888``
  against ``druid-sim serve --scenario examples/ingest-scenario.yaml --start-time 2026-01-01T00:00:00Z
  --time-scale 0``, a frozen simulator whose clock the tests move (``druid_sim.advance``).

``--into DIR`` writes ``DIR/docs-examples.jsonl``, ``DIR/demo-recording.jsonl`` and
``DIR/examples/cassettes/test_recorded_client/*.jsonl`` (the example's test files are copied beside
them, so pytest records there), each first a copy of the committed file: what
``tests/test_stable_cassettes.py`` compares with the committed ones.
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
EXAMPLES = REPO / "examples"
#: The example's test and what it imports, copied with ``--into`` so that pytest records beside the copy.
EXAMPLE_FILES = ("__init__.py", "ingest_client.py", "test_ingest_client.py", "test_recorded_client.py")
RECORDED_CLIENT = Path("examples") / "cassettes" / "test_recorded_client"
#: The cluster the example records from, as its cassettes name it (`druid-sim serve`'s default address).
UPSTREAM_NAME = "http://localhost:8888"
EXAMPLE_SERVE = [
    "--scenario",
    str(EXAMPLES / "ingest-scenario.yaml"),
    "--start-time",
    "2026-01-01T00:00:00Z",
    "--time-scale",
    "0",
    "--advertise-url",
    UPSTREAM_NAME,
]


def _script(name: str) -> ModuleType:
    """One of the scripts beside this one (they are scripts, not a package)."""
    spec = importlib.util.spec_from_file_location(name, HERE / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def docs_examples(output: Path) -> None:
    """``cassettes/make_docs_examples.py`` from the copy of Druid's page in ``docs/``."""
    if _script("make_docs_examples").main([str(REPO / "docs" / "druid-tasks-api.md"), str(output)]) != 0:
        raise SystemExit("make_docs_examples.py failed")


def demo_recording(output: Path) -> None:
    """``cassettes/record_demo.py``: the demo simulator recorded through ``druid-sim record``."""
    if _script("record_demo").main([str(output)]) != 0:
        raise SystemExit("record_demo.py failed")


def recorded_client(examples: Path) -> None:
    """The cassettes of ``examples/test_recorded_client.py`` (the folder ``examples``), recorded again by pytest."""
    with _script("record_demo").simulator(*EXAMPLE_SERVE) as url:
        command = [sys.executable, "-m", "pytest", str(examples / "test_recorded_client.py")]
        command += ["-c", str(REPO / "pyproject.toml"), "-p", "no:cacheprovider", "-q"]
        command += [f"--druid-sim-record={url}", "--druid-sim-record-mode=all"]
        command += [f"--druid-sim-record-upstream-name={UPSTREAM_NAME}"]
        result = subprocess.run(command, cwd=examples.parent, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"recording {examples / 'test_recorded_client.py'} failed:\n{result.stdout}{result.stderr}")


def into(folder: Path) -> list[tuple[Path, Path]]:
    """Copy the committed cassettes (and the example's test files) into ``folder``; (committed, copy) pairs."""
    pairs = [(HERE / name, folder / name) for name in ("docs-examples.jsonl", "demo-recording.jsonl")]
    pairs += [(path, folder / RECORDED_CLIENT / path.name) for path in sorted((REPO / RECORDED_CLIENT).glob("*.jsonl"))]
    (folder / RECORDED_CLIENT).mkdir(parents=True, exist_ok=True)
    for name in EXAMPLE_FILES:
        shutil.copyfile(EXAMPLES / name, folder / "examples" / name)
    for committed, copy in pairs:
        shutil.copyfile(committed, copy)
    return pairs


def remake(folder: Path | None = None) -> list[tuple[Path, Path]]:
    """Make every shipped cassette again, in place or (``folder``) in copies there; (committed, made) pairs."""
    if folder is None:
        pairs = [(path, path) for path in (HERE / "docs-examples.jsonl", HERE / "demo-recording.jsonl")]
        pairs += [(path, path) for path in sorted((REPO / RECORDED_CLIENT).glob("*.jsonl"))]
        base = REPO
    else:
        pairs, base = into(folder), folder
    docs_examples(pairs[0][1])
    demo_recording(pairs[1][1])
    recorded_client(base / "examples")
    return pairs


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--into", type=Path, metavar="DIR", help="make copies in DIR instead of in place")
    args = parser.parse_args(argv)
    for _committed, made in remake(args.into):
        print(f"made {made}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
