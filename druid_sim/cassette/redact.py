"""Redaction: replace credentials with stable placeholders before anything reaches the disk.

What is redacted by default (see `secrets.py` for the exact names and patterns):

* request and response headers that carry credentials (Authorization, Cookie, Set-Cookie,
  Proxy-Authorization, anything token-, key-, secret- or session-like); the auth scheme and cookie names
  stay readable;
* query parameters with credential-like names;
* in JSON bodies (ingestion specs), the values of credential-like keys at any depth: Druid password
  providers (`{"type": "default", "password": ...}`; an environment provider only names a variable and
  stays), S3/Azure/GCS keys, JDBC `connectorConfig.password`, Kafka/Kinesis `consumerProperties`
  (`sasl.jaas.config`, `ssl.*.password`, ...), Azure `properties.key`;
* in text (task logs, error messages, strings inside specs): private keys, JWTs, AWS key ids,
  passwords in URLs, `Authorization:` lines and `name=value` pairs with credential-like names.

A placeholder is `<redacted:HEX>` where HEX is the first 12 hex digits of HMAC-SHA256(key, secret). The
key is a salt, random per cassette and stored in its header (the default), or a key kept outside the
cassette (`keys.py`), named in the header by its id. So one secret always maps to one placeholder within a
cassette, and a replayer that builds its redactor from the header (`Redactor.for_meta`: same key, same
rules) turns a live request into exactly what the recorder wrote (`redact_request_as_recorded`), so the
request matches. Precomputed tables are useless and the same secret looks different in two cassettes.
A salt in the header is not secret: given the cassette, a short password can be guessed offline, which
is what the key kept outside the cassette is for.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets as _secrets
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

import orjson

from druid_sim.cassette.body import body_from_bytes
from druid_sim.cassette.codec import decode_request, request_to_obj
from druid_sim.cassette.keys import find_key, key_id, recording_key
from druid_sim.cassette.model import Body, CassetteMeta, Interaction, Pair, Redaction, Request, Response
from druid_sim.cassette.secrets import (
    PLACEHOLDER_RE,
    STRONG_NAME_PARTS,
    STRONG_NAMES,
    TEXT_PATTERNS,
    WEAK_NAMES,
    TextPattern,
    contains_any,
    is_placeholder_only,
    is_secret_header,
    is_secret_name,
    is_weak_secret_name,
    looks_random,
    minimal_words,
    patterns_worth_running,
    places,
)
from druid_sim.util.jsonenc import allow_deep_walks, dumps
from druid_sim.util.quoting import shown
from druid_sim.util.regex import Match, Regex, RegexRefused

SCHEME = "hmac-sha256-48"
_AUTH_SCHEMES = frozenset({"bearer", "basic", "token", "digest", "negotiate", "aws4-hmac-sha256"})
#: Places where a key named exactly `key` is a storage account key (Druid's Azure input source).
BUILTIN_JSON_PATHS: tuple[tuple[str, ...], ...] = (("properties", "key"),)
#: Bound on the per-name and per-secret memos (a recording sees a handful of header names and tokens;
#: the bound only matters against a client that invents a new name or token on every request).
_MEMO_LIMIT = 4096
#: Recent JSON bodies known to need no redaction (small ones only, so the memo stays under ~1 MB).
_CLEAN_JSON_ENTRIES = 256
_CLEAN_JSON_MAX_CHARS = 4096


class RuleError(ValueError):
    """A user redaction rule cannot be parsed."""


@dataclass(frozen=True, slots=True)
class RedactionRules:
    """Which names and patterns to redact: the built-in deny-list plus the user's own rules.

    Build from rule strings with `RedactionRules.from_specs`:
    `header:NAME`, `query:NAME`, `json:KEY` (a key at any depth, case-insensitive), `json:a/b/key`
    (a key under that path), `regex:PATTERN` (on text and JSON strings; the group named `secret`, else
    group 1, else the whole match is replaced).
    """

    builtin: bool = True
    specs: tuple[str, ...] = ()  # the rule strings as given, for the cassette header
    headers: frozenset[str] = frozenset()
    query_params: frozenset[str] = frozenset()
    json_keys: frozenset[str] = frozenset()
    json_paths: tuple[tuple[str, ...], ...] = ()
    patterns: tuple[Regex, ...] = ()  # RE2: a shared cassette cannot stall a replay

    @classmethod
    def from_specs(cls, specs: Iterable[str], builtin: bool = True) -> RedactionRules:
        """Parse user rules, raising RuleError with a hint on a bad one."""
        headers: set[str] = set()
        params: set[str] = set()
        keys: set[str] = set()
        paths: list[tuple[str, ...]] = []
        patterns: list[Regex] = []
        specs = tuple(specs)
        for spec in specs:
            kind, sep, value = spec.partition(":")
            kind = kind.strip().lower()
            if not sep or not value:
                raise RuleError(
                    f"redaction rule {shown(spec)} must look like KIND:VALUE with KIND one of header, query, json, regex "
                    "(e.g. header:X-Druid-Token, json:connectorConfig/password, regex:sk_live_[0-9a-z]+)"
                )
            if kind == "header":
                headers.add(value.lower())
            elif kind == "query":
                params.add(value.lower())
            elif kind == "json":
                if "/" in value:
                    paths.append(tuple(p.lower() for p in value.strip("/").split("/")))
                else:
                    keys.add(value.lower())
            elif kind == "regex":
                try:
                    patterns.append(Regex(value))
                except RegexRefused as exc:
                    raise RuleError(f"redaction rule {shown(spec)}: the pattern {exc}") from None
            else:
                raise RuleError(
                    f"redaction rule {shown(spec)}: unknown kind {shown(kind)}; use header, query, json or regex"
                )
        return cls(
            builtin,
            tuple(specs),
            frozenset(headers),
            frozenset(params),
            frozenset(keys),
            tuple(paths),
            tuple(patterns),
        )


#: How every placeholder starts, and what one a client sent itself is turned into (`redact_live_request`).
PLACEHOLDER_START = b"<redacted:"
SENT_PLACEHOLDER_START = b"<as-sent:redacted:"


def _sends_placeholder(request: Request) -> bool:
    """Whether a placeholder's text is anywhere in the request: path, query, headers or body."""
    start = PLACEHOLDER_START.decode("ascii")
    if start in request.path or any(start in value for _, value in (*request.query, *request.headers)):
        return True
    return request.body.kind is not None and PLACEHOLDER_START in request.body.raw()


def new_salt() -> str:
    """A fresh random salt for a new cassette."""
    return _secrets.token_hex(16)


@dataclass(slots=True)
class _Known:
    """Secrets seen so far, so an echo of one elsewhere (a task log) can be replaced too."""

    by_encoded: dict[bytes, bytes] = field(default_factory=dict)


#: A ``"name": "string"`` pair in JSON text, escapes kept; each string is scanned once (no backtracking).
_JSON_PAIR = re.compile(r'"((?:[^"\\\n]|\\.)*)"(\s*:\s*)"((?:[^"\\\n]|\\.)*)"')


class Redactor:
    """Replaces secrets in interactions with stable placeholders.

    One instance serves a whole recording: it remembers the secrets it has replaced and scrubs their
    later echoes from whole cassette lines (`scrub_line`). ``salt`` is the HMAC key: the header's salt, or
    with ``key_id`` a key kept outside the cassette. ``remember`` bounds how many secrets are remembered
    for echoes (None: all, as a recording wants; a replayer facing any client bounds it).
    """

    def __init__(
        self,
        salt: str,
        rules: RedactionRules | None = None,
        *,
        key_id: str | None = None,
        remember: int | None = None,
    ) -> None:
        self.salt = salt
        self.key_id = key_id
        self.rules = rules or RedactionRules()
        self._key = salt.encode("utf-8")
        self._known = _Known()
        self._remember = remember
        self._json_parts: tuple[str, ...] = (STRONG_NAME_PARTS if self.rules.builtin else ()) + tuple(
            self.rules.json_keys
        )
        self._json_paths = (BUILTIN_JSON_PATHS if self.rules.builtin else ()) + self.rules.json_paths
        self._patterns: tuple[TextPattern, ...] = (TEXT_PATTERNS if self.rules.builtin else ()) + tuple(
            TextPattern("user rule", p, ()) for p in self.rules.patterns
        )
        # Fast paths. A pattern without hint words (a user regex) must always run, so no text is skipped then.
        self._always_scan = any(not p.words for p in self._patterns)
        key_words = (
            *self._json_parts,
            *(path[-1] for path in self._json_paths),
            *(STRONG_NAMES if self.rules.builtin else ()),
        )
        self._key_hints = minimal_words(key_words)
        self._text_hints = minimal_words(w for p in self._patterns for w in p.words)
        self._json_hints = minimal_words((*key_words, *self._text_hints))
        builtin_params = (*STRONG_NAME_PARTS, *STRONG_NAMES, *WEAK_NAMES) if self.rules.builtin else ()
        self._query_hints = minimal_words((*builtin_params, *self.rules.query_params, *self._text_hints))
        self._clean_json: dict[str, None] = {}
        self._secret_header_memo: dict[str, bool] = {}
        self._secret_key_memo: dict[str, bool] = {}
        self._json_path_tails = frozenset(p[-1] for p in self._json_paths)
        self._secret_param_memo: dict[str, bool] = {}
        self._placeholder_memo: dict[str, str] = {}
        self._basic_seen: set[str] = set()

    @classmethod
    def with_key(cls, key: str, rules: RedactionRules | None = None, *, remember: int | None = None) -> Redactor:
        """A redactor whose key stays outside the cassette (the header names it by `keys.key_id`)."""
        return cls(key, rules, key_id=key_id(key), remember=remember)

    @classmethod
    def for_meta(cls, meta: CassetteMeta, *, key_file: str | None = None, remember: int | None = None) -> Redactor:
        """The redactor a cassette was recorded with: its rules and its salt (or key), so the same placeholders.

        Raises ValueError for a cassette recorded without redaction, `RuleError` for rules in the header
        that do not parse, and `keys.RedactionKeyError` when its key is kept outside and cannot be found.
        """
        redaction = meta.redaction
        if redaction is None:
            raise ValueError("this cassette was recorded without redaction; it has no salt")
        if redaction.scheme != SCHEME:
            raise RuleError(
                f"redaction scheme {shown(redaction.scheme)} is unknown to this druid-sim (it makes {SCHEME})"
            )
        rules = RedactionRules.from_specs(redaction.rules, redaction.builtin)
        if redaction.salt is not None:
            return cls(redaction.salt, rules, remember=remember)
        assert redaction.key_id is not None  # the codec accepts no header without either
        key = find_key(redaction.key_id, key_file)
        return cls(key, rules, key_id=redaction.key_id, remember=remember)

    def same_key(self) -> Redactor:
        """A new redactor with this one's key and rules (so the same placeholders) and none of its memory:
        for work in another thread while this one serves the event loop."""
        return Redactor(self.salt, self.rules, key_id=self.key_id, remember=self._remember)

    @property
    def redaction(self) -> Redaction:
        """What to store in the cassette header: the salt (unless the key stays outside), the rules."""
        salt = None if self.key_id is not None else self.salt
        return Redaction(SCHEME, salt, self.rules.specs, self.rules.builtin, self.key_id)

    # -- placeholders ---------------------------------------------------------------------------------

    def placeholder(self, secret: str) -> str:
        """The placeholder for `secret`; remembers the secret so `scrub_line` can catch its echoes."""
        ph = self._placeholder_memo.get(secret)
        if ph is not None:  # the same token on every request: one dict lookup instead of an HMAC
            return ph
        digest = hmac.new(self._key, secret.encode("utf-8"), hashlib.sha256).hexdigest()[:12]
        ph = f"<redacted:{digest}>"
        if (len(secret) >= 8 and not secret.isalpha()) or looks_random(secret):
            encoded = orjson.dumps(secret)[1:-1]
            full = self._remember is not None and len(self._known.by_encoded) >= self._remember
            if not full and encoded not in self._known.by_encoded:
                self._known.by_encoded[encoded] = ph.encode("ascii")
                self._known.by_encoded = dict(sorted(self._known.by_encoded.items(), key=lambda kv: -len(kv[0])))
        if len(self._placeholder_memo) >= _MEMO_LIMIT:
            self._placeholder_memo.clear()
        self._placeholder_memo[secret] = ph
        return ph

    def _value(self, value: str) -> str:
        if not value or is_placeholder_only(value):
            return value
        return self.placeholder(value)

    # -- interactions ---------------------------------------------------------------------------------

    def redact_interaction(self, interaction: Interaction) -> Interaction:
        """A copy of `interaction` with every secret replaced (request first, so its secrets are known)."""
        request = self.redact_request(interaction.request)
        response = self.redact_response(interaction.response)
        return Interaction(
            request, response, interaction.elapsed_ms, interaction.at, interaction.count, interaction.last_at
        )

    def redact_request(self, request: Request) -> Request:
        """A redacted copy of a request."""
        return Request(
            request.method,
            request.path,
            self.redact_query(request.query),
            self.redact_headers(request.headers),
            self.redact_body(request.body),
        )

    def redact_response(self, response: Response) -> Response:
        """A redacted copy of a response."""
        return Response(
            response.status, self.redact_headers(response.headers), self.redact_body(response.body), response.chunked
        )

    def redact_request_as_recorded(self, request: Request) -> Request:
        """The request as the recorder writes it: `redact_request`, then `scrub_line`'s pass over its line.

        A replayer calls this on each live request with the cassette's own redactor (`for_meta`), so
        the same secret gives the same placeholder as in the cassette, wherever the recorder put one.
        """
        redacted = self.redact_request(request)
        if not self._known.by_encoded:
            return redacted
        line = orjson.dumps(request_to_obj(redacted))
        scrubbed = self.scrub_line(line)
        return redacted if scrubbed is line else decode_request(orjson.loads(scrubbed))

    def redact_live_request(self, request: Request) -> Request:
        """A live request as `redact_request_as_recorded` puts it, after marking placeholders it sent itself.

        Redaction leaves a placeholder alone, so a client sending the literal text ``<redacted:…>`` copied
        from a cassette would otherwise match the recorded credentials without knowing them; such a text
        becomes ``<as-sent:redacted:…>``, which the recorder never writes.
        """
        if _sends_placeholder(request):
            line = orjson.dumps(request_to_obj(request)).replace(PLACEHOLDER_START, SENT_PLACEHOLDER_START)
            request = decode_request(orjson.loads(line))
        return self.redact_request_as_recorded(request)

    def scrub_line(self, line: bytes) -> bytes:
        """Last pass over an encoded cassette line: replace any echo of a secret seen earlier.

        Longest secrets first, one after the other, so a secret that contains another is never cut in two.
        """
        for encoded, ph in self._known.by_encoded.items():
            if encoded in line:
                line = line.replace(encoded, ph)
        return line

    # -- headers and query ----------------------------------------------------------------------------

    def redact_headers(self, headers: list[Pair]) -> list[Pair]:
        """Redact credential headers, keeping auth schemes and cookie names readable, and secret-shaped
        text in the others (a token pasted into an `X-Note`)."""
        memo = self._secret_header_memo
        out = list(headers)
        for n, (name, value) in enumerate(headers):
            secret = memo.get(name)
            if secret is None:
                secret = self._is_secret_header(name)
            if not secret:
                redacted = self.redact_text(value)
                if redacted is not value:
                    out[n] = (name, redacted)
                continue
            lname = name.lower()
            if lname == "cookie":
                value = "; ".join(self._cookie_pair(p) for p in value.split(";"))
            elif lname == "set-cookie":
                first, sep, attrs = value.partition(";")
                value = self._cookie_pair(first) + sep + attrs
            else:
                value = self._credential(value)
            out[n] = (name, value)
        return out

    def _is_secret_header(self, name: str) -> bool:
        secret = name.lower() in self.rules.headers or (self.rules.builtin and is_secret_header(name))
        if len(self._secret_header_memo) >= _MEMO_LIMIT:
            self._secret_header_memo.clear()
        self._secret_header_memo[name] = secret
        return secret

    def _cookie_pair(self, pair: str) -> str:
        name, sep, value = pair.strip().partition("=")
        return f"{name}={self._value(value)}" if sep else self._value(name)

    def _credential(self, value: str) -> str:
        scheme, sep, token = value.strip().partition(" ")
        if sep and scheme.lower() in _AUTH_SCHEMES and token:
            if scheme.lower() == "basic" and token not in self._basic_seen:
                self._remember_basic(token)
                if len(self._basic_seen) >= _MEMO_LIMIT:
                    self._basic_seen.clear()
                self._basic_seen.add(token)
            return f"{scheme} {self._value(token.strip())}"
        return self._value(value)

    def _remember_basic(self, token: str) -> None:
        try:
            decoded = base64.b64decode(token, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return
        _, sep, password = decoded.partition(":")
        if sep and password:
            self.placeholder(password)

    def redact_query(self, query: list[Pair]) -> list[Pair]:
        """Redact query parameters with credential-like names."""
        memo = self._secret_param_memo
        out: list[Pair] = []
        for name, value in query:
            secret = memo.get(name)
            if secret is None:
                secret = name.lower() in self.rules.query_params or (
                    self.rules.builtin and (is_secret_name(name) or is_weak_secret_name(name))
                )
                if len(memo) >= _MEMO_LIMIT:
                    memo.clear()
                memo[name] = secret
            out.append((name, self._value(value) if secret else self.redact_text(value)))
        return out

    def redact_query_string(self, query: str) -> str:
        """A raw query string (``a=1&password=x``) with credential values replaced, the rest kept as sent.

        Placeholders are written as they are (``password=<redacted:…>``), for people reading a log. Most
        query strings hold no hint of a credential and are returned after one scan.
        """
        if not query or (not self._always_scan and not contains_any(query.lower(), self._query_hints)):
            return query
        from urllib.parse import unquote_plus

        out: list[str] = []
        for item in query.split("&"):
            raw_name, _, raw_value = item.partition("=")
            value = unquote_plus(raw_value)
            ((_, redacted),) = self.redact_query([(unquote_plus(raw_name), value)])
            out.append(item if redacted == value else f"{raw_name}={redacted}")
        return "&".join(out)

    def redact_url(self, url: str) -> str:
        """Remove credentials from a URL (userinfo and secret query parameters)."""
        from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

        parts = urlsplit(url)
        netloc = parts.netloc.rpartition("@")[2]
        query = urlencode(self.redact_query(parse_qsl(parts.query, keep_blank_values=True)))
        return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))

    # -- bodies ---------------------------------------------------------------------------------------

    def redact_body(self, body: Body) -> Body:
        """Redact a body: JSON structurally, text by pattern; formatting is kept wherever possible."""
        if body.kind == "json":
            value = self.redact_json(body.value)
            return body if value is body.value else replace(body, value=value)
        if body.kind == "text":
            text = str(body.value)
            stripped = text.lstrip()
            if stripped[:1] in ("{", "[") and body.truncated is not None:
                return replace(body, value=self.redact_text(self._redact_cut_json(text)))
            if stripped[:1] in ("{", "["):
                return self._redact_json_text(body, text)
            redacted = self.redact_text(text)
            return body if redacted is body.value else replace(body, value=redacted)
        return body

    def _redact_cut_json(self, text: str) -> str:
        """JSON the recorder cut at ``--max-recorded-body`` no longer parses, so its structure cannot be walked:
        replace the value of every ``"name": "value"`` pair whose name the JSON rules call secret, and of the
        names secret only in some places (Azure's ``key``, the last name of a ``json:a/b/name`` rule), since
        where they are is unknown here."""

        def pair(match: re.Match[str]) -> str:
            name = match.group(1)
            lname = name.lower()
            if not (
                self._secret_key(name, (lname,))
                or lname in self._json_path_tails
                or (self.rules.builtin and is_weak_secret_name(name))
            ):
                return match.group(0)
            return f'"{name}"{match.group(2)}"{self._value(match.group(3))}"'

        return _JSON_PAIR.sub(pair, text)

    def _redact_json_text(self, body: Body, text: str) -> Body:
        """JSON stored as text (not compact): redact its values in place so the layout survives."""
        try:
            original = orjson.loads(text)
        except orjson.JSONDecodeError:
            return replace(body, value=self.redact_text(text))
        redacted = self.redact_json(original)
        if redacted is original or redacted == original:
            return body
        new_text = text
        for secret, ph in secret_pairs(original, redacted):
            new_text = new_text.replace(orjson.dumps(secret).decode("utf-8"), orjson.dumps(ph).decode("utf-8"))
        try:
            if orjson.loads(new_text) == redacted:
                return replace(body, value=new_text)
        except orjson.JSONDecodeError:
            pass
        fallback = body_from_bytes(dumps(redacted), "application/json", body.encoding)
        return fallback

    def redact_text(self, text: str) -> str:
        """Replace secret-shaped substrings of free text (logs, messages, URLs)."""
        if not self._always_scan and not contains_any(text.lower(), self._text_hints):
            return text
        for pattern in patterns_worth_running(text, self._patterns):
            spans = places(text, pattern)
            if len(spans) == 1 and spans[0] == (0, len(text)):
                if pattern.regex.search(text) is not None:
                    text = pattern.regex.sub(self._replace_match, text)
                continue
            pieces: list[str] = []
            done = 0
            for start, end in spans:  # a long log: only its hinted lines, the rest as it is
                line = text[start:end]
                if pattern.regex.search(line) is not None:
                    pieces += [text[done:start], pattern.regex.sub(self._replace_match, line)]
                    done = end
            if pieces:
                text = "".join(pieces) + text[done:]
        return text

    def _replace_match(self, match: re.Match[str] | Match) -> str:
        found = match.re  # ``re.Pattern`` or RE2's, both with groupindex and groups
        group: int = found.groupindex.get("secret", 1 if found.groups >= 1 else 0)
        secret = match.group(group)
        if secret is None or PLACEHOLDER_RE.fullmatch(secret):
            return match.group(0)
        start, end = match.span(group)
        offset = match.start(0)
        whole = match.group(0)
        return whole[: start - offset] + self.placeholder(secret) + whole[end - offset :]

    def redact_json(self, value: Any) -> Any:
        """Redact a parsed JSON document: credential-like keys at any depth, secret-shaped strings."""
        allow_deep_walks()
        text = dumps(value).decode("utf-8")
        if text in self._clean_json:  # a poll whose answer did not change
            return value
        lowered = text.lower()
        if not self._always_scan and not contains_any(lowered, self._json_hints):
            # No credential-like key and no hint of a secret-shaped string: the usual status poll.
            if len(text) <= _CLEAN_JSON_MAX_CHARS:
                if len(self._clean_json) >= _CLEAN_JSON_ENTRIES:
                    del self._clean_json[next(iter(self._clean_json))]
                self._clean_json[text] = None
            return value
        # Exact key names (`auth`, `pwd`, ...) count too, not only the substrings.
        keys_needed = contains_any(lowered, self._key_hints)
        text_needed = any(
            p.regex.search(text, start, end) is not None
            for p in patterns_worth_running(text, self._patterns)
            for start, end in places(text, p)
        )
        if not keys_needed and not text_needed:
            return value
        return self._walk(value, (), text_needed)

    def _walk(self, value: Any, path: tuple[str, ...], text_needed: bool) -> Any:
        if isinstance(value, dict):
            out: dict[str, Any] = {}
            for key, item in value.items():
                child = (*path, key.lower())
                if self._secret_key(key, child):
                    out[key] = self._secret(item, child, text_needed)
                else:
                    out[key] = self._walk(item, child, text_needed)
            return out
        if isinstance(value, list):
            return [self._walk(item, path, text_needed) for item in value]
        if isinstance(value, str) and text_needed:
            return self.redact_text(value)
        return value

    def _secret_key(self, key: str, path: tuple[str, ...]) -> bool:
        named = self._secret_key_memo.get(key)
        if named is None:  # a spec repeats the same few dozen key names: decide each once
            named = key.lower() in self.rules.json_keys or (self.rules.builtin and is_secret_name(key))
            if len(self._secret_key_memo) >= _MEMO_LIMIT:
                self._secret_key_memo.clear()
            self._secret_key_memo[key] = named
        if named:
            return True
        return path[-1] in self._json_path_tails and any(path[-len(p) :] == p for p in self._json_paths)

    def _secret(self, value: Any, path: tuple[str, ...], text_needed: bool) -> Any:
        if isinstance(value, str):
            return self._value(value)
        if isinstance(value, bool) or value is None:
            return value
        if isinstance(value, int | float):
            return self.placeholder(str(value))
        if isinstance(value, list):
            return [self._secret(item, path, text_needed) for item in value]
        return self._walk(value, path, text_needed)


def recording_redactor(
    rules: RedactionRules, existing: CassetteMeta | None = None, key_file: str | None = None
) -> Redactor:
    """The redactor a recording uses: a fresh salt (or the key kept outside), or, appending to ``existing``,
    the cassette's own rules and salt, so old and new placeholders agree and a replay reproduces both.

    Raises `RuleError` when appending with other rules than the cassette's, or to a cassette recorded
    without redaction, and `keys.RedactionKeyError` when the key cannot be had.
    """
    if existing is None:
        key = recording_key(key_file)
        return Redactor(new_salt(), rules) if key is None else Redactor.with_key(key, rules)
    redaction = existing.redaction
    if redaction is None:
        raise RuleError(
            "the cassette's header has no redaction (it was not written by druid-sim record); record into a new "
            "cassette instead of appending"
        )
    asked = (rules.specs, rules.builtin)
    if asked != ((), True) and asked != (redaction.rules, redaction.builtin):
        had = ", ".join(redaction.rules) or "none"
        raise RuleError(
            f"the cassette was recorded with redaction rules [{had}] (built-in rules "
            f"{'on' if redaction.builtin else 'off'}); appending with other rules would leave placeholders a replay "
            "cannot reproduce. Append with the same --redact-rule options, or none to reuse the cassette's, or "
            "record into a new cassette"
        )
    return Redactor.for_meta(existing, key_file=key_file or None)


def secret_pairs(original: Any, redacted: Any) -> list[tuple[Any, str]]:
    """Pairs (original scalar, placeholder) where redaction changed a value."""
    out: list[tuple[Any, str]] = []
    if isinstance(original, dict) and isinstance(redacted, dict):
        for key, value in original.items():
            out.extend(secret_pairs(value, redacted.get(key)))
    elif isinstance(original, list) and isinstance(redacted, list):
        for a, b in zip(original, redacted, strict=False):
            out.extend(secret_pairs(a, b))
    elif original != redacted and isinstance(redacted, str):
        out.append((original, redacted))
    return out
