"""Every shipped cassette made again by its command is byte for byte the committed one (issue 19).

``make cassettes`` (``cassettes/remake.py``) makes ``cassettes/docs-examples.jsonl`` from the docs page, and
records ``cassettes/demo-recording.jsonl`` (``druid-sim record`` in front of ``druid-sim serve``) and the
example's cassettes (``pytest --druid-sim-record`` in front of another ``druid-sim serve``) from simulators on
a frozen clock; here it does the same ``--into`` copies of the committed files, and any difference fails with
a diff of the lines that changed.
"""

from __future__ import annotations

import difflib
import importlib.util
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent


def _remake() -> Any:
    spec = importlib.util.spec_from_file_location("remake", REPO / "cassettes" / "remake.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _shortened(line: str, other: str, width: int = 160) -> str:
    """``line`` cut to ``width`` characters around where it first differs from ``other``."""
    at = next((i for i, (a, b) in enumerate(zip(line, other, strict=False)) if a != b), min(len(line), len(other)))
    start = max(0, at - width // 2)
    return ("…" if start else "") + line[start : start + width] + ("…" if start + width < len(line) else "")


def readable_diff(committed: Path, made: Path) -> str:
    """A unified diff of two cassettes, each long line cut around its first difference."""
    old, new = committed.read_text().splitlines(), made.read_text().splitlines()
    out: list[str] = []
    for group in difflib.SequenceMatcher(None, old, new).get_grouped_opcodes(0):
        for _tag, i1, i2, j1, j2 in group:
            for n, (a, b) in enumerate(zip(old[i1:i2], new[j1:j2], strict=False)):
                out += [f"line {i1 + n + 1}:", f"- {_shortened(a, b)}", f"+ {_shortened(b, a)}"]
            out += [f"- line {i1 + k + 1}: {line[:160]}" for k, line in enumerate(old[i1:i2][j2 - j1 :])]
            out += [f"+ line {j1 + k + 1}: {line[:160]}" for k, line in enumerate(new[j1:j2][i2 - i1 :])]
    return f"{committed} made again differs:\n" + "\n".join(out[:60])


def test_every_shipped_cassette_made_again_is_byte_identical(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``make cassettes`` (cassettes/remake.py) into copies of the committed files: docs-examples from the docs
    page; demo-recording through ``druid-sim record`` in front of ``druid-sim serve``; the example's three
    cassettes through ``pytest --druid-sim-record`` in front of another ``druid-sim serve``."""
    pairs = _remake().remake(tmp_path)
    capsys.readouterr()
    names = sorted(committed.relative_to(REPO).as_posix() for committed, _made in pairs)
    assert names == [
        "cassettes/demo-recording.jsonl",
        "cassettes/docs-examples.jsonl",
        *sorted(
            f"examples/cassettes/test_recorded_client/{name}.jsonl"
            for name in (
                "test_a_failing_task_raises_with_druids_error_message",
                "test_a_flaky_overlord_in_front_of_the_recording",
                "test_a_quick_task_succeeds",
            )
        ),
    ]
    different = [
        readable_diff(committed, made) for committed, made in pairs if made.read_bytes() != committed.read_bytes()
    ]
    assert not different, "\n\n".join(different)
