"""`druid-sim cassette show` and `check`: summaries, and exit codes that fail CI on secrets."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from druid_sim.cassette import (
    CassetteWriter,
    Interaction,
    Redactor,
    Request,
    Response,
    body_from_bytes,
    new_meta,
    new_salt,
)
from druid_sim.cli import main
from druid_sim.commands.cassette import EXIT_CLEAN, EXIT_INVALID, EXIT_SECRETS


def make(path: Path, *interactions: Interaction) -> Path:
    with CassetteWriter.open(path, "overwrite", new_meta("http://router:8888", None)) as writer:
        for interaction in interactions:
            writer.append(interaction)
    return path


def submit(task: str, spec: bytes = b'{"type":"index"}', headers: list[tuple[str, str]] | None = None) -> Interaction:
    return Interaction(
        Request("POST", "/druid/indexer/v1/task", headers=headers or [], body=body_from_bytes(spec)),
        Response(200, body=body_from_bytes(b'{"task":"%s"}' % task.encode())),
        at=1.0,
    )


def status(task: str, at: float) -> Interaction:
    return Interaction(
        Request("GET", f"/druid/indexer/v1/task/{task}/status"),
        Response(200, body=body_from_bytes(b'{"task":"%s","status":{"statusCode":"RUNNING"}}' % task.encode())),
        at=at,
    )


def test_show_summarises_endpoints_tasks_and_time_span(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = make(tmp_path / "c.jsonl", submit("t1"), status("t1", 2.0), status("t1", 3.0), status("t1", 11.0))
    assert main(["cassette", "show", str(path)]) == 0
    out = capsys.readouterr().out
    assert "2 interactions (4 exchanges counting repeats), spanning 10.0 s" in out
    assert "GET /druid/indexer/v1/task/{taskId}/status       3" in out
    assert "POST /druid/indexer/v1/task" in out and "    t1" in out


def test_check_passes_a_clean_cassette(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = make(tmp_path / "c.jsonl", submit("t1", headers=[("Authorization", "Bearer <redacted:0123456789ab>")]))
    assert main(["cassette", "check", str(path)]) == EXIT_CLEAN
    assert "nothing secret-looking" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("headers", "spec", "kind"),
    [
        ([("Authorization", "Bearer abc")], b"{}", "credential header"),
        ([], b'{"spec":{"properties":{"secretAccessKey":"wJalrXUtnFEMI"}}}', "credential field"),
        ([], b'{"note":"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZG1pbiJ9.c2lnbmF0dXJlLXNlY3JldA"}', "JSON web token"),
        ([], b'{"note":"AKIAIOSFODNN7EXAMPLE"}', "AWS access key id"),
        ([], b'{"session":{"key":"8f3kQ9zL2mX7pR4tV1wY6bN0cD5hJ"}}', "high-entropy value"),
        ([], b"connect with jdbc:mysql://u:pw@db/x", "password in a URL"),
    ],
)
def test_check_fails_naming_the_place_of_a_secret(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], headers: list[tuple[str, str]], spec: bytes, kind: str
) -> None:
    path = make(tmp_path / "c.jsonl", status("t0", 0.5), submit("t1", spec, headers))
    assert main(["cassette", "check", str(path)]) == EXIT_SECRETS
    out = capsys.readouterr().out
    assert "interaction 2, request." in out and kind in out


def test_check_exits_2_with_file_and_line_for_a_broken_cassette(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = make(tmp_path / "c.jsonl", submit("t1"))
    path.write_text(path.read_text() + "{not json}\n")
    assert main(["cassette", "check", str(path)]) == EXIT_INVALID
    assert f"{path}:3:" in capsys.readouterr().err


def test_show_counts_tasks_seen_only_in_list_and_task_status_answers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    listed = Interaction(
        Request("GET", "/druid/indexer/v1/runningTasks"),
        Response(200, body=body_from_bytes(b'[{"id":"kafka_a","statusCode":"RUNNING"},{"id":"kafka_b"}]')),
    )
    statuses = Interaction(
        Request("POST", "/druid/indexer/v1/taskStatus", body=body_from_bytes(b'["kafka_c"]')),
        Response(200, body=body_from_bytes(b'{"kafka_c":{"id":"kafka_c","status":"SUCCESS"}}')),
    )
    path = make(tmp_path / "lists.jsonl", listed, statuses)
    assert main(["cassette", "show", str(path)]) == 0
    out = capsys.readouterr().out
    assert "tasks seen (3):\n    kafka_a\n    kafka_b\n    kafka_c" in out


SHAPES = [
    "Authorization: Basic YWRtaW46czNjcmV0LUFkbTFu",
    "Authorization=Bearer abc.def.ghi",
    "password=hunter2222 and token=abcdefgh12345678",
    '"ssl.key.password" : "hunter2222"',
    "jdbc:mysql://user:pa55word!@db:3306/x",
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZG1pbiJ9.c2lnbmF0dXJlLXNlY3JldA",
    "AKIAIOSFODNN7EXAMPLE",
    "-----BEGIN RSA PRIVATE KEY-----\nMIIabc\n-----END RSA PRIVATE KEY-----",
    'sasl.jaas.config=PlainLoginModule required username="u" password="kafka-s3cret-99";',
]


def test_check_never_flags_the_recorders_own_placeholders_and_still_flags_what_it_missed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    redactor = Redactor(new_salt())

    def carrying(text: str) -> Interaction:
        spec = {"note": text, "password": text, "cfg": {"apiKey": text, "ssl.key.password": text}}
        return Interaction(
            Request("POST", "/druid/indexer/v1/task", [("note", text), ("token", text)], [("X-Note", text)],
                    body_from_bytes(orjson.dumps(spec))),
            Response(200, [("Set-Cookie", f"sid={text}; Path=/")], body_from_bytes(text.encode(), "text/plain")),
        )  # fmt: skip

    path = tmp_path / "recorded.jsonl"
    with CassetteWriter.open(
        path, "overwrite", new_meta(None, redactor.redaction), line_filter=redactor.scrub_line
    ) as w:
        for text in SHAPES:
            w.append(redactor.redact_interaction(carrying(text)))
    assert main(["cassette", "check", str(path)]) == EXIT_CLEAN, capsys.readouterr().out
    leaked = make(tmp_path / "leaked.jsonl", carrying(SHAPES[0]))
    assert main(["cassette", "check", str(leaked)]) == EXIT_SECRETS
