"""Redaction: secrets become stable placeholders before anything is written."""

from __future__ import annotations

import re
from pathlib import Path

import orjson
import pytest

from druid_sim.cassette import (
    Body,
    Cassette,
    CassetteWriter,
    Interaction,
    RedactionRules,
    Redactor,
    Request,
    Response,
    RuleError,
    body_from_bytes,
    load_cassette,
    new_meta,
    new_salt,
)
from druid_sim.cassette.check import _scan_text
from druid_sim.cassette.keys import KEY_ENV, RedactionKeyError
from druid_sim.cassette.redact import recording_redactor
from druid_sim.cassette.secrets import LINEWISE_FROM, PLACEHOLDER_RE


def redactor(*rules: str) -> Redactor:
    return Redactor("test-salt", RedactionRules.from_specs(rules))


def test_same_secret_gets_the_same_placeholder_and_another_salt_another_one() -> None:
    r = redactor()
    assert r.placeholder("hunter2") == r.placeholder("hunter2")
    assert r.placeholder("hunter2") != r.placeholder("hunter3")
    assert Redactor("other-salt").placeholder("hunter2") != r.placeholder("hunter2")
    assert PLACEHOLDER_RE.fullmatch(r.placeholder("hunter2"))


def test_credential_headers_keep_scheme_and_cookie_names() -> None:
    headers = [
        ("Authorization", "Bearer abc.def.ghi"),
        ("Proxy-Authorization", "Basic dXNlcjpwYXNzd29yZA=="),
        ("Cookie", "JSESSIONID=s3ss10n; theme=dark"),
        ("Set-Cookie", "JSESSIONID=s3ss10n; Path=/; HttpOnly"),
        ("X-Druid-Auth-Token", "tok"),
        ("X-Api-Key", "k"),
        ("Content-Type", "application/json"),
        ("WWW-Authenticate", 'Basic realm="druid"'),
    ]
    out = dict(redactor().redact_headers(headers))
    assert out["Authorization"].startswith("Bearer <redacted:")
    assert out["Proxy-Authorization"].startswith("Basic <redacted:")
    assert out["Cookie"].startswith("JSESSIONID=<redacted:") and "; theme=<redacted:" in out["Cookie"]
    assert out["Set-Cookie"].startswith("JSESSIONID=<redacted:") and out["Set-Cookie"].endswith("; Path=/; HttpOnly")
    assert PLACEHOLDER_RE.fullmatch(out["X-Druid-Auth-Token"]) and PLACEHOLDER_RE.fullmatch(out["X-Api-Key"])
    assert out["Content-Type"] == "application/json"
    assert out["WWW-Authenticate"] == 'Basic realm="druid"'
    cookie = out["Cookie"].split(";")[0].split("=")[1]
    assert cookie == out["Set-Cookie"].split(";")[0].split("=")[1]  # same session id, same placeholder
    # a value with "=" in it (Base64 padding) is the value whole: the name ends at the first "=" (RFC 6265)
    padded = redactor().redact_headers([("Cookie", "session=dG9rZW4tMTIz==; theme=dark")])
    assert padded == [
        ("Cookie", f"session={redactor().placeholder('dG9rZW4tMTIz==')}; theme={redactor().placeholder('dark')}")
    ]


def test_credential_query_parameters_and_url_userinfo_are_redacted() -> None:
    r = redactor()
    query = r.redact_query([("state", "running"), ("token", "t0k"), ("X-Amz-Signature", "abc"), ("key", "k")])
    assert query[0] == ("state", "running")
    assert all(PLACEHOLDER_RE.fullmatch(v) for _, v in query[1:])
    url = r.redact_url("https://admin:pw@router:8888/x?password=p&full=1")
    assert url.startswith("https://router:8888/x?password=%3Credacted%3A") and url.endswith("&full=1")


SPEC = {
    "type": "index_parallel",
    "spec": {
        "ioConfig": {
            "inputSource": {
                "type": "s3",
                "properties": {
                    "accessKeyId": {"type": "default", "password": "AKIAIOSFODNN7EXAMPLE"},
                    "secretAccessKey": {"type": "environment", "variable": "AWS_SECRET"},
                },
            },
            "azure": {
                "type": "azure",
                "properties": {
                    "sharedAccessStorageToken": "sv=1&sig=x",
                    "key": "az-key-secret-1",
                    "accountKey": "acct-key-2",
                },
            },
            "database": {
                "type": "mysql",
                "connectorConfig": {
                    "connectURI": "jdbc:mysql://u:url-pw-3@db/x?password=uri-pw-4",
                    "user": "u",
                    "password": "jdbc-pw-5",
                },
            },
            "consumerProperties": {
                "bootstrap.servers": "kafka:9092",
                "sasl.jaas.config": 'PlainLoginModule required username="u" password="kafka-pw-6";',
                "ssl.keystore.password": "ks-pw-7",
                "ssl.truststore.password": "ts-pw-8",
                "ssl.key.password": "kk-pw-9",
            },
            "awsSecretAccessKey": "kinesis-secret",
            "awsAccessKeyId": "kinesis-id",
        },
        "dataSchema": {"dataSource": "wiki", "dimensionsSpec": {"dimensions": ["key", "token_count"]}},
    },
}
SPEC_SECRETS = [
    "AKIAIOSFODNN7EXAMPLE", "sv=1&sig=x", "az-key-secret-1", "acct-key-2", "url-pw-3", "uri-pw-4", "jdbc-pw-5",
    "kafka-pw-6", "ks-pw-7", "ts-pw-8", "kk-pw-9",
    "kinesis-secret", "kinesis-id",
]  # fmt: skip


@pytest.mark.parametrize("compact", [True, False])
def test_secrets_inside_ingestion_specs_are_redacted_and_the_rest_kept(compact: bool) -> None:
    raw = orjson.dumps(SPEC) if compact else orjson.dumps(SPEC, option=orjson.OPT_INDENT_2)
    body = redactor().redact_body(body_from_bytes(raw, "application/json"))
    text = body.raw().decode()
    for secret in SPEC_SECRETS:
        assert secret not in text, secret
    redacted = orjson.loads(text)
    source = redacted["spec"]["ioConfig"]["inputSource"]["properties"]
    assert source["secretAccessKey"] == {"type": "environment", "variable": "AWS_SECRET"}
    assert source["accessKeyId"]["type"] == "default"
    assert redacted["spec"]["ioConfig"]["consumerProperties"]["bootstrap.servers"] == "kafka:9092"
    assert redacted["spec"]["dataSchema"] == SPEC["spec"]["dataSchema"]  # type: ignore[index]
    if not compact:
        assert body.kind == "text" and text.startswith('{\n  "type": "index_parallel"')  # layout kept


def test_secrets_in_text_and_logs_are_redacted() -> None:
    log = (
        "INFO connecting to jdbc:postgresql://druid:Sup3rPass@db:5432/meta\n"
        "DEBUG Authorization: Bearer abcdefghijkl\n"
        "INFO token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZG1pbiJ9.c2lnbmF0dXJlLXNlY3JldA issued\n"
        "INFO aws key AKIAIOSFODNN7EXAMPLE, secretKey=wJalrXUtnFEMI/K7MDENG\n"
        '  "ssl.keystore.password" : "k\\"s",\n'
        "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----\n"
        "INFO task finished: SUCCESS\n"
    )
    out = redactor().redact_text(log)
    for secret in [
        "Sup3rPass",
        "abcdefghijkl",
        "eyJhbGciOiJIUzI1NiJ9",
        "AKIAIOSFODNN7EXAMPLE",
        "wJalrX",
        'k\\"s',
        "MIIEow",
    ]:
        assert secret not in out, secret
    assert out.endswith("INFO task finished: SUCCESS\n")
    assert "jdbc:postgresql://druid:<redacted:" in out


def test_a_secret_seen_in_a_request_is_scrubbed_from_later_echoes() -> None:
    r = redactor()
    request = Request("POST", "/druid/indexer/v1/task", body=body_from_bytes(b'{"password":"Pa55-word-1"}'))
    response = Response(200, body=body_from_bytes(b"log: connecting with Pa55-word-1\n"))
    interaction = r.redact_interaction(Interaction(request, response))
    from druid_sim.cassette.codec import encode_interaction

    line = r.scrub_line(encode_interaction(interaction))
    assert b"Pa55-word-1" not in line
    assert line.count(r.placeholder("Pa55-word-1").encode()) == 2


def test_user_rules_add_headers_json_keys_paths_query_and_regexes() -> None:
    r = redactor("header:X-Tenant", "json:ingestToken2", "json:spec/custom/value", "query:tenant", "regex:sk_live_\\w+")
    assert PLACEHOLDER_RE.fullmatch(r.redact_headers([("X-Tenant", "acme")])[0][1])
    assert PLACEHOLDER_RE.fullmatch(r.redact_query([("tenant", "acme")])[0][1])
    doc = r.redact_json({"ingestToken2": "a", "spec": {"custom": {"value": "b"}}, "value": "c", "note": "sk_live_123"})
    assert PLACEHOLDER_RE.fullmatch(doc["ingestToken2"]) and PLACEHOLDER_RE.fullmatch(doc["spec"]["custom"]["value"])
    assert doc["value"] == "c"
    assert PLACEHOLDER_RE.fullmatch(doc["note"])


def test_a_regex_rule_replaces_its_group_named_secret_else_group_1_else_the_whole_match() -> None:
    """docs/cassettes.md, redaction: ``regex:`` rules replace the group named ``secret``, else group 1, else
    the whole match."""
    r = redactor(r"regex:(tenant|account)=(?P<secret>\w+)", r"regex:build-(\d{6})", r"regex:sk_test_\w+")
    text = r.redact_text("tenant=acme7 build-123456 sk_test_abc")
    assert text == f"tenant={r.placeholder('acme7')} build-{r.placeholder('123456')} {r.placeholder('sk_test_abc')}"


def test_secret_shaped_strings_under_ordinary_keys_are_redacted_in_json() -> None:
    """docs/cassettes.md, redaction: secret-shaped strings anywhere in a JSON body, and what a user's regex rule
    matches, even where no key looks like a credential."""
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.c2lnbmF0dXJlLXg"
    r = redactor()
    assert r.redact_json({"note": f"sent {jwt}", "n": 1}) == {"note": f"sent {r.placeholder(jwt)}", "n": 1}
    user = redactor(r"regex:sk_live_\w+")
    assert user.redact_json({"memo": "sk_live_123"}) == {"memo": user.placeholder("sk_live_123")}


@pytest.mark.parametrize("rule", ["header", "nokind:x", "regex:(", "json:"])
def test_bad_user_rule_says_how_to_write_one(rule: str) -> None:
    with pytest.raises(RuleError, match="redaction rule"):
        RedactionRules.from_specs([rule])


def test_builtin_rules_can_be_switched_off_for_synthetic_traffic() -> None:
    r = Redactor("s", RedactionRules.from_specs([], builtin=False))
    assert r.redact_headers([("Authorization", "Bearer x")]) == [("Authorization", "Bearer x")]


@pytest.mark.parametrize("key", ["auth", "pwd", "pass", "sig", "cookie"])
def test_short_credential_keys_are_redacted_too(key: str) -> None:
    raw = orjson.dumps({"type": "http", "uris": ["https://example.com/a.json"], key: "s3cr3t-value"})
    text = redactor().redact_body(body_from_bytes(raw, "application/json")).raw().decode()
    assert "s3cr3t-value" not in text
    assert "https://example.com/a.json" in text


def test_a_clean_poll_answer_is_left_byte_identical() -> None:
    raw = b'{"task":"t1","status":{"id":"t1","statusCode":"RUNNING","status":"RUNNING","errorMsg":null}}'
    r = redactor()
    for _ in range(3):  # the second and third time come from the clean-body memory
        assert r.redact_body(body_from_bytes(raw, "application/json")).raw() == raw


# -- replaying: the cassette's own redaction applied to a live request (issue 10) ---------------------------

RULES = ("json:ingestToken", "query:tenant", "regex:sk_live_\\w+")


def _submission(token: str, password: str) -> Request:
    spec = {"type": "index", "spec": {"ingestToken": token, "note": f"pw {password} in a note"}, "password": password}
    return Request(
        "POST",
        "/druid/indexer/v1/task",
        [("tenant", "acme"), ("state", "x")],
        [("Authorization", "Basic YWRtaW46czNjcmV0LUFkbTFu"), ("Content-Type", "application/json")],
        body_from_bytes(orjson.dumps(spec), "application/json"),
    )


def _recorded(tmp_path: Path, redactor: Redactor, request: Request) -> Cassette:
    """`request` as the recorder writes it: redacted, then its line scrubbed of echoes."""
    meta = new_meta("http://router:8888", redactor.redaction)
    with CassetteWriter.open(tmp_path / "c.jsonl", "overwrite", meta, line_filter=redactor.scrub_line) as writer:
        writer.append(redactor.redact_interaction(Interaction(request, Response(200))))
    return load_cassette(tmp_path / "c.jsonl")


def test_the_header_holds_rules_and_salt_so_a_replayer_writes_exactly_the_recorded_request(tmp_path: Path) -> None:
    recorder = Redactor(new_salt(), RedactionRules.from_specs(RULES))
    cassette = _recorded(tmp_path, recorder, _submission("tok-1", "Pa55-word-1"))
    assert cassette.meta.redaction is not None and cassette.meta.redaction.rules == RULES
    replayer = Redactor.for_meta(cassette.meta)  # from the file alone: its rules and its salt
    live = replayer.redact_request_as_recorded(_submission("tok-1", "Pa55-word-1"))
    assert live == cassette.interactions[0].request  # the echo in the note included
    assert "Pa55-word-1" not in orjson.dumps(live.body.value).decode()
    other = replayer.redact_request_as_recorded(_submission("tok-2", "Pa55-word-1"))
    assert other.body.value["spec"]["ingestToken"] != live.body.value["spec"]["ingestToken"]


def test_a_redactor_for_another_thread_has_the_key_rules_and_bound_but_none_of_the_memory() -> None:
    """docs/replay.md, saving the journal as a cassette: an export while replaying redacts with the replayed
    cassette's salt (so its placeholders) in a worker thread, with a redactor of its own (`Redactor.same_key`):
    what the serving one remembered is not shared, and the copy remembers no more secrets than it would."""
    serving = Redactor("test-salt", RedactionRules.from_specs(RULES), remember=1)
    serving.placeholder("Pa55-word-1")
    copy = serving.same_key()
    assert (copy.salt, copy.rules, copy.key_id, copy.redaction) == ("test-salt", serving.rules, None, serving.redaction)
    assert copy.redact_json({"ingestToken": "tok-1"}) == serving.redact_json({"ingestToken": "tok-1"})
    assert copy.scrub_line(b"log: with Pa55-word-1") == b"log: with Pa55-word-1"  # none of the serving one's memory
    copy.placeholder("0ther-Pa55-2")
    copy.placeholder("Th1rd-Pa55-3")  # past the bound of 1: not remembered
    assert copy.scrub_line(b"0ther-Pa55-2 Th1rd-Pa55-3") == copy.placeholder("0ther-Pa55-2").encode() + b" Th1rd-Pa55-3"
    assert serving.scrub_line(b"0ther-Pa55-2") == b"0ther-Pa55-2"  # and the serving one learns nothing from it
    kept = Redactor.with_key("k" * 64)
    assert (kept.same_key().key_id, kept.same_key().redaction) == (kept.key_id, kept.redaction)  # named, not stored


def test_a_key_kept_outside_the_cassette_is_named_not_stored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(KEY_ENV, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    key_file = tmp_path / "keys" / "redaction.key"
    recorder = recording_redactor(RedactionRules(), key_file=str(key_file))
    assert key_file.stat().st_mode & 0o777 == 0o600
    ruled = recording_redactor(RedactionRules.from_specs(RULES), key_file=str(key_file))  # the same key, with rules
    assert (ruled.rules.specs, ruled.key_id) == (RULES, recorder.key_id)
    cassette = _recorded(tmp_path, recorder, _submission("tok-1", "Pa55-word-1"))
    header = (tmp_path / "c.jsonl").read_text().split("\n", 1)[0]
    assert '"key_id"' in header and '"salt"' not in header and key_file.read_text().strip() not in header
    recorded = cassette.interactions[0].request
    from_file = Redactor.for_meta(cassette.meta, key_file=str(key_file))
    assert from_file.redact_request_as_recorded(_submission("tok-1", "Pa55-word-1")) == recorded
    monkeypatch.setenv(KEY_ENV, key_file.read_text().strip())  # a CI secret
    assert Redactor.for_meta(cassette.meta).redact_request_as_recorded(_submission("tok-1", "Pa55-word-1")) == recorded
    monkeypatch.setenv(KEY_ENV, "0" * 64)  # another key: said so, with both ids
    with pytest.raises(
        RedactionKeyError, match=r"key id '[0-9a-f]{16}'.*--redaction-key FILE.*DRUID_SIM_REDACTION_KEY"
    ):
        Redactor.for_meta(cassette.meta)


def test_appending_keeps_the_cassettes_rules_and_refuses_others(tmp_path: Path) -> None:
    cassette = _recorded(tmp_path, Redactor(new_salt(), RedactionRules.from_specs(RULES)), _submission("t", "Pa55-1"))
    assert recording_redactor(RedactionRules(), cassette.meta).rules.specs == RULES  # none given: the cassette's
    assert recording_redactor(RedactionRules.from_specs(RULES), cassette.meta).salt == cassette.meta.redaction.salt  # type: ignore[union-attr]
    with pytest.raises(RuleError, match=r"recorded with redaction rules \[json:ingestToken, query:tenant"):
        recording_redactor(RedactionRules.from_specs(["json:other"]), cassette.meta)
    with pytest.raises(RuleError, match="no redaction"):
        recording_redactor(RedactionRules(), new_meta(None, None))


def test_query_strings_for_logs_keep_their_form_with_readable_placeholders() -> None:
    r = redactor()
    plain = "state=running&max=5&datasource=wiki"
    assert r.redact_query_string(plain) is plain
    out = r.redact_query_string("state=running&password=hunter2222&X-Amz-Signature=abc%2Fdef&note=jdbc://u:pw1@db")
    assert out.startswith("state=running&password=<redacted:") and "X-Amz-Signature=<redacted:" in out
    assert "hunter2222" not in out and "abc" not in out and "pw1@" not in out


def test_secret_shaped_text_in_an_ordinary_header_is_redacted() -> None:
    (name, value), kept = redactor().redact_headers([("X-Note", "token=abcdefgh12345678"), ("Accept", "*/*")])
    assert name == "X-Note" and value.startswith("token=<redacted:") and kept == ("Accept", "*/*")


def test_a_long_log_is_searched_line_by_line_and_nothing_is_missed() -> None:
    """Multi-megabyte task logs: only lines with a hint word meet the name patterns (they cost seconds on
    every position otherwise); a private key spanning lines is still found, by the redactor and by check."""
    filler = "2026-01-01T00:00:00,000 INFO [task-runner] org.apache.druid.indexing.common.task.Task - row\n" * 400
    log = (
        "INFO starting with password=Pa55-first-1\n"
        + filler
        + "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAK\n-----END RSA PRIVATE KEY-----\n"
        + filler
        + "INFO jdbc:mysql://druid:Pa55-url-2@db/x ready; token=abcdefgh12345678"
    )
    assert len(log) > LINEWISE_FROM
    out = redactor().redact_text(log)
    for secret in ("Pa55-first-1", "MIIEowIBAAK", "Pa55-url-2", "abcdefgh12345678"):
        assert secret not in out
    assert filler in out and re.search(r"@db/x ready; token=<redacted:[0-9a-f]{12}>$", out)
    kinds = [kind for _, kind, _ in _scan_text(log, "response.body")]
    assert kinds == ["private key", "password in a URL", "credential assignment", "credential assignment"]
    assert list(_scan_text(out, "response.body")) == []


def test_json_cut_at_the_recorders_limit_is_redacted_by_name() -> None:
    cut = (
        '{"spec":{"custom":{"value":"tenant-secret-1"}},"properties":{"key":"azure-secret-2"},'
        '"consumerProperties":{"ssl.key.password":"kafka-secret-3"},"note":"plain words","ingestToken":"tok-secret-4'
    )
    redacted = redactor("json:spec/custom/value").redact_body(Body("text", cut, truncated=50_000_000))
    assert redacted.truncated == 50_000_000 and redacted.kind == "text"
    text = str(redacted.value)
    for secret in ("tenant-secret-1", "azure-secret-2", "kafka-secret-3"):
        assert secret not in text
    assert '"note":"plain words"' in text  # only names that say "secret" lose their values
    assert text.startswith('{"spec":{"custom":{"value":"<redacted:')
    # a cut log is not cut JSON: its text patterns apply, and names are not taken for JSON keys
    log = 'INFO [main] Config - properties {"key":"primary","value":"v1"} loaded\nINFO [main] Main - token=abcdefgh12345678'
    cut_log = redactor("json:spec/custom/value").redact_body(Body("text", log, truncated=50_000_000))
    assert str(cut_log.value).startswith('INFO [main] Config - properties {"key":"primary","value":"v1"} loaded\n')
    assert "abcdefgh12345678" not in str(cut_log.value) and cut_log.truncated == 50_000_000
