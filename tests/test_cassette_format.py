"""The cassette file format: what is written, what loads, and how broken files are reported."""

from __future__ import annotations

import logging
from pathlib import Path

import orjson
import pytest

from druid_sim.cassette import (
    Body,
    CassetteError,
    CassetteExistsError,
    CassetteFormatError,
    CassetteWriter,
    Interaction,
    RecordMode,
    Redaction,
    Request,
    Response,
    body_from_bytes,
    load_cassette,
    new_meta,
)
from druid_sim.cassette.writer import holds_recordings

STATUS = b'{"task":"t1","status":{"id":"t1","statusCode":"RUNNING","duration":-1,"note":"caf\xc3\xa9"}}'


def exchange(path: str = "/druid/indexer/v1/task/t1/status", body: bytes = STATUS, date: str = "d1") -> Interaction:
    return Interaction(
        Request("GET", path, [("a", "1"), ("a", "2")], [("Accept", "application/json")]),
        Response(200, [("Date", date), ("Content-Type", "application/json")], body_from_bytes(body)),
        elapsed_ms=1.5,
        at=0.25,
    )


def write(path: Path, *interactions: Interaction, mode: str = "overwrite") -> None:
    with CassetteWriter.open(path, mode, new_meta("http://router:8888", None)) as writer:
        for interaction in interactions:
            writer.append(interaction)


def test_roundtrip_keeps_request_response_pairs_order_and_timing(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    write(path, exchange(), exchange("/druid/indexer/v1/tasks", b"[]"))
    cassette = load_cassette(path)
    assert cassette.meta.upstream == "http://router:8888"
    assert cassette.meta.format_version == 1
    first, second = cassette.interactions
    assert first.request.query == [("a", "1"), ("a", "2")]
    assert first.response.header("content-type") == "application/json"
    assert first.elapsed_ms == 1.5 and first.at == 0.25
    assert second.request.path == "/druid/indexer/v1/tasks"


def test_compact_json_is_stored_structured_and_raw_gives_exact_bytes() -> None:
    body = body_from_bytes(STATUS, "application/json")
    assert body.kind == "json"
    assert body.raw() == STATUS


@pytest.mark.parametrize(
    "data",
    [b'{"a": 1}', b'{"a":1}\n', b'{"a":1.0e3}', b'{"a":"\\u00e9"}', b'{"a":1,"a":2}', b'{"big":123456789012345678901}'],
)
def test_json_that_would_not_reencode_identically_is_stored_as_text(data: bytes) -> None:
    body = body_from_bytes(data, "application/json")
    assert body.kind == "text"
    assert body.raw() == data


def test_non_utf8_body_is_base64_and_empty_body_is_null(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    write(path, exchange(body=b"\xff\x00\xfe"), exchange(body=b""))
    binary, empty = load_cassette(path).interactions
    assert binary.response.body.kind == "base64" and binary.response.body.raw() == b"\xff\x00\xfe"
    assert empty.response.body.is_empty and empty.response.body.raw() == b""
    assert '"body":null' in path.read_text().splitlines()[2]


def test_consecutive_identical_exchanges_are_stored_once_with_a_count(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    write(path, exchange(date="d1"), exchange(date="d2"), exchange(date="d3"), exchange(body=b"{}"), exchange())
    cassette = load_cassette(path)
    assert [i.count for i in cassette.interactions] == [3, 1, 1]
    assert cassette.exchanges() == 5
    assert len(path.read_text().splitlines()) == 6  # header, 1 + 2 repeat lines, 2 more


def test_refuse_mode_never_touches_an_existing_cassette(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    path.write_text("precious\n")
    with pytest.raises(CassetteExistsError, match="--mode append"):
        CassetteWriter.open(path, RecordMode.REFUSE, new_meta(None, None))
    assert path.read_text() == "precious\n"


def test_append_mode_keeps_the_header_and_drops_a_cut_off_last_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "c.jsonl"
    write(path, exchange())
    header = path.read_text().splitlines()[0]
    with path.open("ab") as f:
        f.write(b'{"request":{"meth')
    with caplog.at_level(logging.WARNING):
        write(path, exchange("/druid/indexer/v1/tasks"), mode="append")
    assert "incomplete last line" in caplog.text
    assert path.read_text().splitlines()[0] == header
    assert [i.request.path for i in load_cassette(path).interactions] == [
        "/druid/indexer/v1/task/t1/status",
        "/druid/indexer/v1/tasks",
    ]


def test_overwrite_mode_replaces_the_cassette(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    write(path, exchange(), exchange("/x", b"[]"))
    write(path, exchange("/y", b"[]"), mode="overwrite")
    assert [i.request.path for i in load_cassette(path).interactions] == ["/y"]


def test_truncated_last_line_loads_the_rest_with_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "c.jsonl"
    write(path, exchange(), exchange("/x", b"[]"))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 20])
    with caplog.at_level(logging.WARNING):
        cassette = load_cassette(path)
    assert len(cassette.interactions) == 1
    assert "c.jsonl:3: the last line is incomplete" in cassette.warnings[0]


def test_malformed_line_in_the_middle_names_file_line_column_and_fix(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    write(path, exchange(), exchange("/x", b"[]"))
    lines = path.read_text().splitlines()
    lines[1] = lines[1].replace('"method"', "method", 1)
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(CassetteFormatError) as error:
        load_cassette(path)
    assert error.value.line == 2 and error.value.column is not None
    assert str(error.value).startswith(f"{path}:2:")
    assert "not valid JSON" in str(error.value) and "Fix or delete that line" in str(error.value)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda o: o["response"].update(status="200"), "response.status: must be an integer, not str"),
        (lambda o: o["response"].update(status=42), "response.status: 42 is not an HTTP status code"),
        (lambda o: o["request"].pop("method"), "request.method: is missing"),
        (lambda o: o["request"].update(headers=[["a", 1]]), "request.headers[0]: must be a [name, value] pair"),
        (lambda o: o["response"].update(body={"xml": "<a/>"}), 'response.body: must have one of "json"'),
        (
            lambda o: o["response"].update(headers=[["X-Trace", "a\x01b"]]),
            "response.headers[0]: the value of 'X-Trace' holds a control character HTTP cannot carry",
        ),
        (
            lambda o: o["response"].update(headers=[["Content-Type", "text/plain"], ["X Trace", "1"]]),
            "response.headers[1]: the header name 'X Trace' is not an HTTP token",
        ),
        (
            lambda o: o["response"]["body"].update(truncated=-1),
            "response.body.truncated: must be the whole body's size in bytes, not -1",
        ),
        (
            lambda o: o["request"].update(body={"text": "abc", "truncated": "big"}),
            "request.body.truncated: must be the whole body's size in bytes, not 'big'",
        ),
    ],
)
def test_wrong_field_is_named_with_its_line(tmp_path: Path, change: object, field: str) -> None:
    path = tmp_path / "c.jsonl"
    write(path, exchange())
    header, line = path.read_bytes().splitlines()
    obj = orjson.loads(line)
    change(obj)  # type: ignore[operator]
    path.write_bytes(header + b"\n" + orjson.dumps(obj) + b"\n")
    with pytest.raises(
        CassetteFormatError, match=r":2: bad interaction: " + field.replace("[", r"\[").replace("]", r"\]")
    ):
        load_cassette(path)


def test_a_body_recorded_cut_keeps_its_truncated_marker_through_the_file(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    log = Body("text", "line 1\nline 2\n", truncated=2_000_000_000)
    nothing_kept = Body(None, None, "gzip", truncated=5_000)
    upload = Interaction(
        Request("POST", "/druid/indexer/v1/task", body=Body("text", '{"type":', truncated=70_000_000)),
        Response(200, body=body_from_bytes(b'{"task":"t1"}')),
    )
    write(path, Interaction(Request("GET", "/log"), Response(200, body=log, chunked=True)), upload)
    write(path, Interaction(Request("GET", "/gz"), Response(200, body=nothing_kept)), mode="append")
    first, second, third = load_cassette(path).interactions
    assert first.response.body == log and first.response.body.raw() == b"line 1\nline 2\n"
    assert second.request.body.truncated == 70_000_000 and second.response.body.truncated is None
    assert third.response.body == nothing_kept and third.response.body.raw() == b""
    assert b'"truncated":2000000000' in path.read_bytes()


def test_unknown_version_empty_file_and_missing_file_are_explained(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    path.write_text('{"druid_sim_cassette": 99}\n')
    with pytest.raises(CassetteFormatError, match="format version 99 is not supported"):
        load_cassette(path)
    path.write_text("")
    with pytest.raises(CassetteFormatError, match="the file is empty"):
        load_cassette(path)
    with pytest.raises(CassetteFormatError, match="does not exist"):
        load_cassette(tmp_path / "missing.jsonl")


def test_yaml_style_object_tags_are_just_invalid_data(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    path.write_text("!!python/object/apply:os.system ['echo pwned']\n")
    with pytest.raises(CassetteFormatError, match=":1:"):
        load_cassette(path)


def test_body_keeps_the_original_content_encoding() -> None:
    body = body_from_bytes(b"[]", "application/json", "gzip")
    assert body == Body("json", [], "gzip")


def test_the_header_keeps_the_redaction_rules_key_id_and_builtin_flag(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    redaction = Redaction("hmac-sha256-48", None, ("json:ingestToken", "query:tenant"), False, "0123456789abcdef")
    with CassetteWriter.open(path, "overwrite", new_meta(None, redaction)):
        pass
    assert load_cassette(path).meta.redaction == redaction
    header = orjson.loads(path.read_bytes().splitlines()[0])
    assert header["redaction"] == {
        "scheme": "hmac-sha256-48",
        "key_id": "0123456789abcdef",
        "rules": ["json:ingestToken", "query:tenant"],
        "builtin": False,
    }


@pytest.mark.parametrize(
    ("redaction", "field"),
    [
        ({"scheme": "hmac-sha256-48"}, "redaction.salt: is missing"),
        ({"scheme": "hmac-sha256-48", "salt": "s", "rules": "json:x"}, "redaction.rules: must be a list"),
        ({"scheme": "hmac-sha256-48", "salt": "s", "builtin": "yes"}, "redaction.builtin: must be true or false"),
    ],
)
def test_a_bad_redaction_header_is_named(tmp_path: Path, redaction: object, field: str) -> None:
    path = tmp_path / "c.jsonl"
    header = {"druid_sim_cassette": 1, "recorded_at": "2026-01-01T00:00:00Z", "recorder": "x", "redaction": redaction}
    path.write_bytes(orjson.dumps(header) + b"\n")
    with pytest.raises(CassetteFormatError, match=r"c\.jsonl:1: bad header: " + field):
        load_cassette(path)


def test_a_cassette_that_recorded_nothing_is_reused_and_anything_else_refused(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    write(path)  # a session that recorded nothing: only the header
    assert not holds_recordings(path)
    with CassetteWriter.open(path, RecordMode.REFUSE, new_meta("http://other:8888", None)) as writer:
        writer.append(exchange())
    cassette = load_cassette(path)
    assert cassette.meta.upstream == "http://other:8888" and len(cassette.interactions) == 1
    assert holds_recordings(path)
    (tmp_path / "notes.jsonl").write_text('{"not": "a cassette header"}\n')
    assert holds_recordings(tmp_path / "notes.jsonl")


def test_a_cassette_being_recorded_cannot_be_opened_by_a_second_recorder(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    with CassetteWriter.open(path, "overwrite", new_meta(None, None)) as first:
        for mode in ("overwrite", "append"):
            with pytest.raises(CassetteError, match="being recorded by another druid-sim record"):
                CassetteWriter.open(path, mode, new_meta(None, None))
        first.append(exchange())
    assert len(load_cassette(path).interactions) == 1  # the refused openers changed nothing
