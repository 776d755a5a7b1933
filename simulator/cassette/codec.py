"""The line encoding of a cassette (JSON Lines) and its strict decoder.

Line 1 is the header, every other line one interaction or one repetition of the interaction before it.
Encoding uses orjson with fields in a fixed, readable order (request before response). Decoding turns
plain dicts into model objects and, when a line is malformed, explains which field is wrong.
"""

from __future__ import annotations

import re
from typing import Any, cast

import orjson

from simulator.cassette.model import (
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
from simulator.quoting import shown

HEADER_KEY = "druid_sim_cassette"


class LineError(ValueError):
    """A line is valid JSON but not a valid cassette record; `field` says where."""

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        self.problem = problem
        super().__init__(f"{field}: {problem}" if field else problem)


# -- encoding --------------------------------------------------------------------------------------


def body_to_obj(body: Body) -> dict[str, Any] | None:
    """The stored form of a body: None, or {"json"|"text"|"base64": value[, "encoding": e]}."""
    if body.kind is None:
        return None if body.encoding is None else {"text": "", "encoding": body.encoding}
    obj: dict[str, Any] = {body.kind: body.value}
    if body.encoding is not None:
        obj["encoding"] = body.encoding
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
        obj["redaction"] = {"scheme": meta.redaction.scheme, "salt": meta.redaction.salt}
    return orjson.dumps(obj)


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
        redaction = Redaction(_typed(red, "scheme", str, "redaction."), _typed(red, "salt", str, "redaction."))
    return CassetteMeta(version, recorded_at, upstream, str(recorder), redaction)


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


#: What HTTP/1.1 cannot carry in a header name or value: uvicorn's own patterns, since it refuses these
#: when a replay sends them (and drops the connection mid-answer). Response headers are checked at load,
#: so the problem is reported with the file and line instead of at replay time.
_BAD_NAME = re.compile(r'[\x00-\x1f\x7f()<>@,;:\[\]={} \t\\"]')
_BAD_VALUE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
#: Header names already found sendable (a cassette has a handful of distinct ones).
_SENDABLE_NAMES: set[str] = set()


def _check_sendable(name: str, value: str, where: str) -> None:
    """LineError unless HTTP can carry this header (the loop calls it only for new names and odd values)."""
    if name not in _SENDABLE_NAMES:
        if _BAD_NAME.search(name):
            raise LineError(where, f"the header name {shown(name)} has a space, separator or control character")
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
    return body


def _body(value: Any, where: str) -> Body:
    if value is None:
        return EMPTY_BODY
    if type(value) is not dict:
        raise LineError(where, 'must be null or an object with one of "json", "text", "base64"')
    encoding = value.get("encoding")
    if encoding is not None and type(encoding) is not str:
        raise LineError(where + ".encoding", "must be a string")
    if "json" in value:
        return _json_body(value["json"], encoding)
    if "text" in value:
        if not isinstance(value["text"], str):
            raise LineError(where + ".text", "must be a string")
        if not value["text"] and encoding is not None:
            return Body(None, None, encoding)
        return Body("text", value["text"], encoding)
    if "base64" in value:
        if not isinstance(value["base64"], str):
            raise LineError(where + ".base64", "must be a string")
        return Body("base64", value["base64"], encoding)
    raise LineError(where, 'must have one of "json", "text", "base64"')


def _number(obj: dict[str, Any], key: str, default: float) -> float:
    value = obj.get(key, default)
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise LineError(key, f"must be a number, not {type(value).__name__}")
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
            and 100 <= status <= 599
            and type(elapsed) in _NUMBER_TYPES
            and type(at) in _NUMBER_TYPES
            and type(chunked) is bool
        ):
            # Empty parts (most queries, request headers and request bodies) skip the checking calls.
            query = req.get("query")
            headers = req.get("headers")
            body = req.get("body")
            resp_headers = resp.get("headers")
            resp_body = resp.get("body")
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
                    EMPTY_BODY if resp_body is None else _body(resp_body, "response.body"),
                    chunked,
                ),
                elapsed,
                at,
            )
    except (KeyError, TypeError, AttributeError):
        pass
    raise _explain(obj)


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
        if not 100 <= status <= 599:
            return LineError("response.status", f"{shown(status)} is not an HTTP status code (100-599)")
        if not isinstance(resp.get("chunked", False), bool):
            return LineError("response.chunked", "must be true or false")
        _number(obj, "elapsed_ms", 0.0)
        _number(obj, "at", 0.0)
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
    previous.count += times
    previous.last_at = _number(obj, "at", previous.last_at or previous.at)
