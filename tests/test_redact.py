"""Redaction: secrets become stable placeholders before anything is written."""

from __future__ import annotations

import orjson
import pytest

from simulator.cassette import (
    Interaction,
    RedactionRules,
    Redactor,
    Request,
    Response,
    RuleError,
    body_from_bytes,
)
from simulator.cassette.secrets import PLACEHOLDER_RE


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
    from simulator.cassette.codec import encode_interaction

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
