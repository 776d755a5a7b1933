"""The shipped scenarios and cassettes: package data found through importlib.resources, by name.

The files live in the top-level ``scenarios/`` and ``cassettes/`` folders; ``druid_sim/builtin`` links
to them, so that a wheel ships them (tests/test_packaging.py installs one and uses them).
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from druid_sim.builtin import cassette_dir, cassette_names, scenario_dir, shipped_cassette
from druid_sim.cassette import CassetteFormatError, load_cassette, resolve_cassette
from druid_sim.cli import main
from tests.support.served import serve

REPO = Path(__file__).resolve().parent.parent


def test_the_package_data_is_the_top_level_folders() -> None:
    assert scenario_dir().resolve() == REPO / "scenarios"
    shipped = {path.name: path.resolve() for path in cassette_dir().iterdir()}
    in_repo = {path.name: path for path in (REPO / "cassettes").glob("*.jsonl")}
    assert shipped == in_repo, (
        "every cassette in cassettes/ is shipped through a link in druid_sim/builtin/cassettes: "
        "cd druid_sim/builtin/cassettes && ln -s ../../../cassettes/NAME.jsonl ."
    )


def test_a_shipped_cassette_is_found_by_name_with_or_without_its_suffix() -> None:
    assert cassette_names() == ["demo-recording", "docs-examples"]
    docs = cassette_dir() / "docs-examples.jsonl"
    assert shipped_cassette("docs-examples") == shipped_cassette("docs-examples.jsonl") == docs
    for not_shipped in ("nope", "../cassettes/docs-examples", "cassettes/docs-examples.jsonl", "", ".."):
        assert shipped_cassette(not_shipped) is None, not_shipped


def test_a_file_of_your_own_wins_over_a_shipped_cassette_of_the_same_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert resolve_cassette("docs-examples.jsonl") == cassette_dir() / "docs-examples.jsonl"
    (tmp_path / "docs-examples.jsonl").write_bytes((REPO / "cassettes" / "demo-recording.jsonl").read_bytes())
    assert resolve_cassette("docs-examples.jsonl") == Path("docs-examples.jsonl")
    assert resolve_cassette("docs-examples") == cassette_dir() / "docs-examples.jsonl"


def test_a_missing_cassette_names_the_shipped_ones(tmp_path: Path) -> None:
    with pytest.raises(CassetteFormatError, match="name a shipped one: demo-recording, docs-examples"):
        load_cassette(tmp_path / "nope.jsonl")


def test_cassette_list_shows_each_shipped_cassette(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cassette", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == ["demo-recording", "docs-examples"]
    docs = load_cassette("docs-examples")
    assert f"{len(docs.interactions)} interactions recorded {docs.meta.recorded_at[:10]} from " in lines[1]


def test_serve_replays_a_shipped_cassette_by_name_from_any_folder(tmp_path: Path) -> None:
    docs = load_cassette("docs-examples")
    complete = next(i for i in docs.interactions if i.request.path == "/druid/indexer/v1/completeTasks")
    with serve("--cassette", "docs-examples", "--on-miss", "error", "--no-access-log", cwd=tmp_path) as (_, url):
        answer = httpx.get(f"{url}/druid/indexer/v1/completeTasks")
        described = httpx.get(f"{url}/__sim/cassette").json()
    assert (answer.status_code, answer.content) == (200, complete.response.body.raw())
    assert described["cassette"].endswith("docs-examples.jsonl")
