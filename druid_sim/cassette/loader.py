"""Loading a cassette file: fast, safe, and precise about what is wrong.

The file is JSON Lines, parsed with orjson (no object tags, nothing executable). The common case parses
all interaction lines in one orjson call with the garbage collector paused, which is what makes 100,000
interactions load in about a second. If that fails, the file is parsed again line by line to say exactly
which line and column is broken. A last line cut short (a recorder killed mid-write) is dropped with a
warning instead of failing the whole cassette.
"""

from __future__ import annotations

import gc
import logging
from pathlib import Path

import orjson

from druid_sim.builtin import cassette_names, shipped_cassette
from druid_sim.cassette.codec import MAX_EXCHANGES, LineError, apply_repeat, decode_interaction, decode_meta
from druid_sim.cassette.errors import CassetteFormatError
from druid_sim.cassette.model import Cassette, CassetteMeta, Interaction

logger = logging.getLogger(__name__)

_FIX_JSON = "Fix or delete that line (each line of a cassette is one JSON object), or re-record the cassette"
_TOO_DEEP = "JSON nested more than 1,024 levels deep (the most druid-sim reads; Druid itself reads 1,000)"
_FIX_FIELD = "Fix that field (docs/cassettes.md describes each one) or re-record the cassette"


def resolve_cassette(ref: str | Path) -> Path:
    """The file ``ref`` names: a path to a cassette, else a shipped cassette's name (``docs-examples``).

    A file that exists wins, so a cassette of your own is never shadowed by a shipped one.
    """
    path = Path(ref)
    if path.is_file():
        return path
    return shipped_cassette(str(ref)) or path


def load_cassette(path: str | Path) -> Cassette:
    """Load a cassette (a path or a shipped cassette's name), raising `CassetteFormatError` (file, line,
    column, problem, fix) if it is missing or broken."""
    path = resolve_cassette(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        shipped = ", ".join(cassette_names()) or "(none found)"
        raise CassetteFormatError(
            path, 0, "the file does not exist", f"Check the path, record one first, or name a shipped one: {shipped}"
        ) from None
    except OSError as exc:
        raise CassetteFormatError(path, 0, f"cannot read the file ({exc.strerror})", "Check its permissions") from None
    return parse_cassette(data, path)


def read_meta(path: str | Path) -> CassetteMeta:
    """Read only the header of a cassette (used when appending to it)."""
    path = Path(path)
    with path.open("rb") as f:
        first = f.readline()
    return _parse_meta(first, path)


def parse_cassette(data: bytes, path: Path) -> Cassette:
    """Parse cassette bytes; `path` is only used in messages."""
    first_end = data.find(b"\n")
    header = data if first_end < 0 else data[:first_end]
    if not header.strip():
        raise CassetteFormatError(path, 1, "the file is empty", "Record a cassette with `druid-sim record`")
    meta = _parse_meta(header, path)
    warnings: list[str] = []
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        start = len(data) if first_end < 0 else first_end + 1
        interactions = _parse_interactions(data, start, path, warnings)
    finally:
        if gc_was_enabled:
            # Freeze what was just built: the next collection would otherwise walk millions of new,
            # acyclic objects (about a third of the load time at 100,000 interactions).
            gc.freeze()
            gc.enable()
    for warning in warnings:
        logger.warning("%s", warning)
    return Cassette(path, meta, interactions, warnings)


def _parse_meta(line: bytes, path: Path) -> CassetteMeta:
    try:
        obj = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        raise CassetteFormatError(
            path, 1, f"the header line is not valid JSON ({exc.msg})", "Is this a druid-sim cassette?", exc.colno
        ) from None
    try:
        return decode_meta(obj)
    except LineError as exc:
        raise CassetteFormatError(path, 1, f"bad header: {exc}", _FIX_FIELD) from None


def _parse_interactions(data: bytes, pos: int, path: Path, warnings: list[str]) -> list[Interaction]:
    """Parse the lines after the header, slicing a memoryview so no line is copied."""
    view = memoryview(data)
    size = len(data)
    find = data.find
    loads = orjson.loads
    interactions: list[Interaction] = []
    append = interactions.append
    previous: Interaction | None = None
    exchanges = 0
    number = 1
    while pos < size:
        number += 1
        end = find(b"\n", pos)
        complete = end >= 0
        if not complete:
            end = size
        try:
            obj = loads(view[pos:end])
        except orjson.JSONDecodeError as exc:
            if data[pos:end].isspace() or pos == end:
                pos = end + 1
                continue
            if not complete:
                warnings.append(
                    f"{path}:{number}: the last line is incomplete (the recorder was probably killed while writing "
                    f"it); loaded the {len(interactions)} interactions before it. Delete that line to silence this "
                    "warning"
                )
                break
            if exc.msg.startswith("depth limit exceeded"):
                raise CassetteFormatError(
                    path, number, _TOO_DEEP, "Flatten the body on that line or delete the line", exc.colno
                ) from None
            raise CassetteFormatError(path, number, f"not valid JSON ({exc.msg})", _FIX_JSON, exc.colno) from None
        try:
            if type(obj) is dict and "repeat" in obj and "request" not in obj:  # is_repeat, inlined
                apply_repeat(previous, obj)
                exchanges += obj["repeat"]
            else:
                previous = decode_interaction(obj)
                append(previous)
                exchanges += 1
        except LineError as exc:
            raise CassetteFormatError(path, number, f"bad interaction: {exc}", _FIX_FIELD) from None
        if exchanges > MAX_EXCHANGES:
            raise CassetteFormatError(
                path,
                number,
                f"the cassette holds more than {MAX_EXCHANGES:,} exchanges counting repeats",
                "Split it into several cassettes, or lower the repeat counts (a recorder writes one repeat line per "
                "repetition)",
            )
        pos = end + 1
    return interactions
