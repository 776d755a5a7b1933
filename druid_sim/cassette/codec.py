"""The line encoding of a cassette (JSON Lines) and its strict decoder.

Line 1 is the header, every other line one interaction or one repetition of the interaction before it.
Encoding uses orjson with fields in a fixed, readable order (request before response). Decoding turns
plain dicts into model objects and, when a line is malformed, explains which field is wrong.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any, cast

import orjson

from druid_sim.cassette.model import (
    EMPTY_BODY,
    FORMAT_VERSION,
    Body,
    CassetteMeta,
    Interaction,
    Pair,
    Redaction,
    Request,
    Response,
)
from druid_sim.util.quoting import shown

HEADER_KEY = "druid_sim_cassette"
#: Exchanges a cassette may hold, counting repeats. A replay keeps one entry per exchange (8 bytes), so
#: this bounds its memory (~80 MB); a recorder polling ten times a second for a week stays under it.
MAX_EXCHANGES = 10_000_000
#: How long one exchange may have taken (a day), and how late after ``recorded_at`` one may start
#: (about 31 years): bounds that keep replayed latency and the seeded model's clock finite.
MAX_ELAPSED_MS = 86_400_000.0
MAX_AT = 1_000_000_000.0


class LineError(ValueError):
    """A line is valid JSON but not a valid cassette record; `field` says where."""

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        self.problem = problem
        super().__init__(f"{field}: {problem}" if field else problem)


# -- encoding --------------------------------------------------------------------------------------


def body_to_obj(body: Body) -> dict[str, Any] | None:
    """The stored form of a body: None, or {"json"|"text"|"base64": value[, "encoding": e]}."""
    if body.kind is None and body.encoding is None and body.truncated is None:
        return None
    obj: dict[str, Any] = {body.kind or "text": body.value if body.kind else ""}
    if body.encoding is not None:
        obj["encoding"] = body.encoding
    if body.truncated is not None:
        obj["truncated"] = body.truncated
    return obj


def request_to_obj(request: Request) -> dict[str, Any]:
    """The stored form of a request."""
    return {
        "method": request.method,
        "path": request.path,
        "query": request.query,
        "headers": request.headers,
        "body": body_to_obj(request.body),
    }


def encode_meta(meta: CassetteMeta) -> bytes:
    """The header line (without its newline)."""
    obj: dict[str, Any] = {
        HEADER_KEY: meta.format_version,
        "recorded_at": meta.recorded_at,
        "upstream": meta.upstream,
        "recorder": meta.recorder,
    }
    if meta.redaction is not None:
        obj["redaction"] = encode_redaction(meta.redaction)
    return orjson.dumps(obj)


def encode_redaction(redaction: Redaction) -> dict[str, Any]:
    """The header's `redaction` object: fields left at their defaults are left out."""
    obj: dict[str, Any] = {"scheme": redaction.scheme}
    if redaction.salt is not None:
        obj["salt"] = redaction.salt
    if redaction.key_id is not None:
        obj["key_id"] = redaction.key_id
    if redaction.rules:
        obj["rules"] = list(redaction.rules)
    if not redaction.builtin:
        obj["builtin"] = False
    return obj


def encode_interaction(interaction: Interaction) -> bytes:
    """One interaction line (without its newline); `count` is written as repeat lines, not here."""
    response = interaction.response
    resp: dict[str, Any] = {"status": response.status, "headers": response.headers}
    if response.chunked:
        resp["chunked"] = True
    resp["body"] = body_to_obj(response.body)
    return orjson.dumps(
        {
            "request": request_to_obj(interaction.request),
            "response": resp,
            "elapsed_ms": round(interaction.elapsed_ms, 3),
            "at": round(interaction.at, 3),
        }
    )


def encode_repeat(at: float, elapsed_ms: float) -> bytes:
    """A line saying "the interaction above happened once more"."""
    return orjson.dumps({"repeat": 1, "at": round(at, 3), "elapsed_ms": round(elapsed_ms, 3)})


# -- decoding --------------------------------------------------------------------------------------


def decode_meta(obj: Any) -> CassetteMeta:
    """Turn the parsed header line into `CassetteMeta`, or raise LineError."""
    if not isinstance(obj, dict) or HEADER_KEY not in obj:
        raise LineError("", f'the first line must be the cassette header, an object with "{HEADER_KEY}"')
    version = obj[HEADER_KEY]
    if version != FORMAT_VERSION:
        raise LineError(
            HEADER_KEY, f"format version {shown(version)} is not supported (this druid-sim reads version 1)"
        )
    recorded_at = _typed(obj, "recorded_at", str, "")
    upstream = obj.get("upstream")
    if upstream is not None and not isinstance(upstream, str):
        raise LineError("upstream", "must be a string or null")
    recorder = obj.get("recorder", "")
    redaction = None
    if (red := obj.get("redaction")) is not None:
        if not isinstance(red, dict):
            raise LineError("redaction", "must be an object")
        redaction = decode_redaction(red)
    return CassetteMeta(version, recorded_at, upstream, str(recorder), redaction)


def decode_redaction(red: dict[str, Any]) -> Redaction:
    """The header's `redaction` object, checked: a salt or a key id, rules as strings."""
    scheme = _typed(red, "scheme", str, "redaction.")
    salt = red.get("salt")
    key_id = red.get("key_id")
    if salt is None and key_id is None:
        raise LineError("redaction.salt", "is missing (a redacted cassette has a salt, or the key_id of its key)")
    if salt is not None and not isinstance(salt, str):
        raise LineError("redaction.salt", f"must be a string, not {type(salt).__name__}")
    if key_id is not None and not isinstance(key_id, str):
        raise LineError("redaction.key_id", f"must be a string, not {type(key_id).__name__}")
    rules = red.get("rules", [])
    if not isinstance(rules, list) or not all(isinstance(rule, str) for rule in rules):
        raise LineError("redaction.rules", "must be a list of KIND:VALUE strings")
    builtin = red.get("builtin", True)
    if not isinstance(builtin, bool):
        raise LineError("redaction.builtin", "must be true or false")
    return Redaction(scheme, salt, tuple(rules), builtin, key_id)


def _typed(obj: dict[str, Any], key: str, kind: type, prefix: str) -> Any:
    if key not in obj:
        raise LineError(prefix + key, "is missing")
    value = obj[key]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise LineError(prefix + key, f"must be {_KIND_NAMES[kind]}, not {type(value).__name__}")
    return value


_KIND_NAMES: dict[type, str] = {str: "a string", int: "an integer", list: "a list", dict: "an object"}


def _pairs(value: Any, where: str, sendable: bool = False) -> list[Pair]:
    """[name, value] lists → pairs, checked; with ``sendable``, also that HTTP can carry them (`_check_sendable`)."""
    # A plain loop with exact type checks, turning orjson's fresh [name, value] lists into tuples in
    # place: measured faster than map()/issuperset() tricks on the million pairs of 100,000 interactions.
    if type(value) is list:
        for n, item in enumerate(value):
            if type(item) is not list or len(item) != 2:
                raise LineError(f"{where}[{n}]", "must be a [name, value] pair of strings")
            name, val = item
            if type(name) is not str or type(val) is not str:
                raise LineError(f"{where}[{n}]", "must be a [name, value] pair of strings")
            if sendable and (name not in _SENDABLE_NAMES or not val.isprintable()):
                _check_sendable(name, val, f"{where}[{n}]")
            value[n] = (name, val)
        return cast(list[Pair], value)
    raise LineError(where, "must be a list of [name, value] pairs")


#: What HTTP/1.1 can carry: a header name is a token (RFC 9110 5.1, non-empty ASCII without separators;
#: an empty name would go out as ": value"), a value has no control character (uvicorn's own pattern:
#: it refuses these when a replay sends them, and drops the connection mid-answer). Response headers
#: are checked at load, so the problem is reported with the file and line instead of at replay time.
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_BAD_VALUE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
#: Header names already found sendable (a cassette has a handful of distinct ones).
_SENDABLE_NAMES: set[str] = set()


def _check_sendable(name: str, value: str, where: str) -> None:
    """LineError unless HTTP can carry this header (the loop calls it only for new names and odd values)."""
    if name not in _SENDABLE_NAMES:
        if not name:
            raise LineError(where, "the header name is empty; give the header its name or delete the pair")
        if _TOKEN.fullmatch(name) is None:
            raise LineError(
                where,
                f"the header name {shown(name)} is not an HTTP token (a space, separator, control or non-ASCII character)",
            )
        if len(_SENDABLE_NAMES) < 1024:
            _SENDABLE_NAMES.add(name)
    if _BAD_VALUE.search(value):
        raise LineError(where, f"the value of {shown(name)} holds a control character HTTP cannot carry")


_new_object = object.__new__
_set_attr = object.__setattr__


def _json_body(value: Any, encoding: str | None) -> Body:
    """`Body("json", value, encoding)` at half the cost (a frozen dataclass's __init__ is slow); loading
    100,000 interactions builds 100,000 of these."""
    body: Body = _new_object(Body)
    _set_attr(body, "kind", "json")
    _set_attr(body, "value", value)
    _set_attr(body, "encoding", encoding)
    _set_attr(body, "truncated", None)
    return body


def _body(value: Any, where: str) -> Body:
    if value is None:
        return EMPTY_BODY
    if type(value) is not dict:
        raise LineError(where, 'must be null or an object with one of "json", "text", "base64"')
    encoding = value.get("encoding")
    if encoding is not None and type(encoding) is not str:
        raise LineError(where + ".encoding", "must be a string")
    if "truncated" in value:
        return _truncated_body(value, where)
    if "json" in value:
        return _json_body(value["json"], encoding)
    if "text" in value:
        if not isinstance(value["text"], str):
            raise LineError(where + ".text", "must be a string")
        if not value["text"] and encoding is not None:
            return Body(None, None, encoding)
        return Body("text", value["text"], encoding)
    if "base64" in value:
        data = value["base64"]
        if not isinstance(data, str):
            raise LineError(where + ".base64", "must be a string")
        try:
            base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise LineError(where + ".base64", f"is not valid base64 ({exc})") from None
        return Body("base64", data, encoding)
    raise LineError(where, 'must have one of "json", "text", "base64"')


def _truncated_body(value: dict[str, Any], where: str) -> Body:
    """A body the recorder cut at its limit: the stored part as usual, plus the whole body's size."""
    size = value["truncated"]
    if type(size) is not int or size < 0:
        raise LineError(where + ".truncated", f"must be the whole body's size in bytes, not {shown(size)}")
    kept = _body({k: v for k, v in value.items() if k != "truncated"}, where)
    return Body(kept.kind, kept.value, kept.encoding, size)


def decode_request(obj: dict[str, Any]) -> Request:
    """A request object as `request_to_obj` wrote it (a redactor's round trip through the line format)."""
    return Request(
        obj["method"],
        obj["path"],
        _pairs(obj.get("query") or [], "request.query"),
        _pairs(obj.get("headers") or [], "request.headers"),
        _body(obj.get("body"), "request.body"),
    )


def _number(obj: dict[str, Any], key: str, default: float, high: float) -> float:
    value = obj.get(key, default)
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise LineError(key, f"must be a number, not {type(value).__name__}")
    if not 0 <= value <= high:
        raise LineError(key, f"must be between 0 and {high:,.0f}, not {shown(value)}")
    return float(value)


_NUMBER_TYPES = frozenset({int, float})
#: Values that mean "no pairs": a missing key (None) or an empty list.
_NOTHING: tuple[None, list[Any]] = (None, [])


def decode_interaction(obj: Any) -> Interaction:
    """Turn one parsed interaction line into an `Interaction`, or raise LineError naming the field.

    The fast path trusts the shape and checks types inline; anything unexpected falls back to
    `_explain`, which walks the line slowly to name the offending field.
    """
    try:
        req = obj["request"]
        resp = obj["response"]
        method = req["method"]
        path = req["path"]
        status = resp["status"]
        elapsed = obj.get("elapsed_ms", 0.0)
        at = obj.get("at", 0.0)
        chunked = resp.get("chunked", False)
        if (
            type(method) is str
            and type(path) is str
            and type(status) is int
            and 200 <= status <= 599
            and type(elapsed) in _NUMBER_TYPES
            and 0 <= elapsed <= MAX_ELAPSED_MS
            and type(at) in _NUMBER_TYPES
            and 0 <= at <= MAX_AT
            and type(chunked) is bool
        ):
            # Empty parts (most queries, request headers and request bodies) skip the checking calls.
            query = req.get("query")
            headers = req.get("headers")
            body = req.get("body")
            resp_headers = resp.get("headers")
            resp_body = resp.get("body")
            response_body = EMPTY_BODY if resp_body is None else _body(resp_body, "response.body")
            if (status == 204 or status == 304 or method == "HEAD") and response_body.raw():
                raise _no_body_allowed(status, method)
            return Interaction(
                Request(
                    method,
                    path,
                    [] if query in _NOTHING else _pairs(query, "request.query"),
                    [] if headers in _NOTHING else _pairs(headers, "request.headers"),
                    EMPTY_BODY if body is None else _body(body, "request.body"),
                ),
                Response(
                    status,
                    [] if resp_headers in _NOTHING else _pairs(resp_headers, "response.headers", sendable=True),
                    response_body,
                    chunked,
                ),
                elapsed,
                at,
            )
    except (KeyError, TypeError, AttributeError):
        pass
    raise _explain(obj)


def _no_body_allowed(status: int, method: str) -> LineError:
    """A body HTTP forbids: replayed, it would be read as the start of the next response on the connection.

    Refused rather than dropped: no upstream can send one (a recorder never writes one), so the line
    was edited by hand, and its author should decide what it means.
    """
    why = f"a response to {method}" if method == "HEAD" else f"a {status} response"
    return LineError("response.body", f"{why} has no body in HTTP; set the body to null (or fix the status)")


def _explain(obj: Any) -> LineError:
    """The precise reason an interaction line was rejected."""
    if not isinstance(obj, dict):
        return LineError("", "an interaction line must be a JSON object")
    try:
        req = _typed(obj, "request", dict, "")
        resp = _typed(obj, "response", dict, "")
        _typed(req, "method", str, "request.")
        _typed(req, "path", str, "request.")
        status = _typed(resp, "status", int, "response.")
        if 100 <= status <= 199:
            return LineError(
                "response.status",
                f"{status} is an interim (1xx) response, never the answer to a request; use the final status",
            )
        if not 200 <= status <= 599:
            return LineError("response.status", f"{shown(status)} is not an HTTP status code (200-599)")
        if not isinstance(resp.get("chunked", False), bool):
            return LineError("response.chunked", "must be true or false")
        _number(obj, "elapsed_ms", 0.0, MAX_ELAPSED_MS)
        _number(obj, "at", 0.0, MAX_AT)
    except LineError as exc:
        return exc
    return LineError("", "unexpected shape")  # pragma: no cover


def is_repeat(obj: Any) -> bool:
    """True for a repeat line."""
    return type(obj) is dict and "repeat" in obj and "request" not in obj


def apply_repeat(previous: Interaction | None, obj: dict[str, Any]) -> None:
    """Count one more occurrence of `previous`, or raise LineError if there is nothing to repeat."""
    if previous is None:
        raise LineError("repeat", "a repeat line must follow an interaction line")
    times = obj["repeat"]
    if not isinstance(times, int) or isinstance(times, bool) or times < 1:
        raise LineError("repeat", "must be a positive integer")
    if times > MAX_EXCHANGES:
        raise LineError("repeat", f"{times:,} repetitions is more than a cassette holds ({MAX_EXCHANGES:,} exchanges)")
    previous.count += times
    previous.last_at = _number(obj, "at", previous.last_at or previous.at, MAX_AT)
