"""Cassettes: the recorded exchanges with a Druid Overlord, their file format, redaction and checks.

This package never imports mitmproxy: the recorder (`druid_sim/proxy/`) writes cassettes through it and the
replay engine reads them through it. The format is described in `docs/cassettes.md`.

Reading::

    cassette = load_cassette("cassettes/demo-recording.jsonl")   # or a shipped one by name: "demo-recording"
    for interaction in cassette.interactions:
        interaction.request.method, interaction.request.path, interaction.request.query
        interaction.response.status, interaction.response.body.raw()   # exact upstream bytes
        interaction.count                                               # identical repeats in a row

Writing::

    redactor = Redactor(new_salt())
    with CassetteWriter.open(path, RecordMode.REFUSE, new_meta(upstream, redactor.redaction),
                             line_filter=redactor.scrub_line) as writer:
        writer.append(redactor.redact_interaction(interaction))
"""

from druid_sim.cassette.body import body_from_bytes
from druid_sim.cassette.check import Finding, find_secrets
from druid_sim.cassette.errors import CassetteError, CassetteExistsError, CassetteFormatError
from druid_sim.cassette.loader import load_cassette, parse_cassette, read_meta, resolve_cassette
from druid_sim.cassette.model import (
    EMPTY_BODY,
    FORMAT_VERSION,
    Body,
    Cassette,
    CassetteMeta,
    Interaction,
    Pair,
    Redaction,
    Request,
    Response,
)
from druid_sim.cassette.redact import RedactionRules, Redactor, RuleError, new_salt
from druid_sim.cassette.summary import Summary, summarize
from druid_sim.cassette.writer import CassetteWriter, RecordMode, new_meta

__all__ = [
    "EMPTY_BODY",
    "FORMAT_VERSION",
    "Body",
    "Cassette",
    "CassetteError",
    "CassetteExistsError",
    "CassetteFormatError",
    "CassetteMeta",
    "CassetteWriter",
    "Finding",
    "Interaction",
    "Pair",
    "RecordMode",
    "Redaction",
    "RedactionRules",
    "Redactor",
    "Request",
    "Response",
    "RuleError",
    "Summary",
    "body_from_bytes",
    "find_secrets",
    "load_cassette",
    "new_meta",
    "new_salt",
    "parse_cassette",
    "read_meta",
    "resolve_cassette",
    "summarize",
]
