"""Loading a cassette file: fast, safe, bounded, and precise about what is wrong.

The file is JSON Lines, parsed with orjson (no object tags, nothing executable), one line at a time
from a buffered stream, so the file is never held whole: what stays in memory is the interactions it
describes (about 3 KB each for ordinary Tasks-API exchanges; `python -m bench cassette-memory` measures
it). Two limits keep a hostile or mistaken file from taking the process down: the file may be at most
``max_size`` bytes (``--max-cassette-size``, default 256 MiB), refused from its size before a byte is
read, and a line at most `MAX_LINE` bytes, refused after reading that much of it, never the rest. The
garbage collector is paused while parsing, which is what makes 100,000 interactions load in about a
second. A last line cut short (a recorder killed mid-write) is dropped with a warning instead of
failing the whole cassette.
"""

from __future__ import annotations

import gc
import io
import logging
import os
from pathlib import Path
from typing import BinaryIO

import orjson

from druid_sim.builtin import cassette_names, shipped_cassette
from druid_sim.cassette.codec import MAX_EXCHANGES, LineError, apply_repeat, decode_interaction, decode_meta
from druid_sim.cassette.errors import CassetteFormatError
from druid_sim.cassette.model import Cassette, CassetteMeta, Interaction
from druid_sim.limits import MAX_CASSETTE_SIZE, MIB, format_size

logger = logging.getLogger(__name__)

_FIX_JSON = "Fix or delete that line (each line of a cassette is one JSON object), or re-record the cassette"
_TOO_DEEP = "JSON nested more than 1,024 levels deep (the most druid-sim reads; Druid itself reads 1,000)"
_FIX_FIELD = "Fix that field (docs/cassettes.md describes each one) or re-record the cassette"

#: The longest line (one interaction, bodies included) read. Longer ones are refused after this many
#: bytes, so a cassette that is one enormous line costs this much memory at most, never its size.
MAX_LINE = 256 * MIB
#: Bytes read from the file at a time.
_BUFFER = 1 * MIB


def resolve_cassette(ref: str | Path) -> Path:
    """The file ``ref`` names: a path to a cassette, else a shipped cassette's name (``docs-examples``).

    A file that exists wins, so a cassette of your own is never shadowed by a shipped one.
    """
    path = Path(ref)
    if path.is_file():
        return path
    return shipped_cassette(str(ref)) or path


def load_cassette(path: str | Path, max_size: int = MAX_CASSETTE_SIZE) -> Cassette:
    """Load a cassette (a path or a shipped cassette's name) of at most ``max_size`` bytes, raising
    `CassetteFormatError` (file, line, column, problem, fix) if it is missing, too large or broken."""
    path = resolve_cassette(path)
    try:
        stream = path.open("rb", buffering=_BUFFER)
    except FileNotFoundError:
        shipped = ", ".join(cassette_names()) or "(none found)"
        raise CassetteFormatError(
            path, 0, "the file does not exist", f"Check the path, record one first, or name a shipped one: {shipped}"
        ) from None
    except OSError as exc:
        raise CassetteFormatError(path, 0, f"cannot read the file ({exc.strerror})", "Check its permissions") from None
    with stream:
        try:
            size = os.fstat(stream.fileno()).st_size
            if size > max_size:  # refused before a byte is read
                raise _too_large(path, 0, f"the file is {format_size(size)}", max_size)
            return read_cassette(stream, path, max_size)
        except OSError as exc:  # a directory, a device that fails mid-read
            raise CassetteFormatError(
                path, 0, f"cannot read the file ({exc.strerror or exc})", "Check the path"
            ) from None


def read_meta(path: str | Path) -> CassetteMeta:
    """Read only the header of a cassette (used when appending to it)."""
    path = Path(path)
    with path.open("rb") as f:
        first = _line(f, path, 1)
    return _parse_meta(first, path)


def parse_cassette(data: bytes, path: Path) -> Cassette:
    """Parse cassette bytes already in memory; `path` is only used in messages."""
    return read_cassette(io.BytesIO(data), path, max(len(data), MAX_CASSETTE_SIZE))


def read_cassette(stream: BinaryIO, path: Path, max_size: int = MAX_CASSETTE_SIZE) -> Cassette:
    """Parse a cassette from ``stream`` line by line, refusing it past ``max_size`` bytes read."""
    header = _line(stream, path, 1, max_size)
    if len(header) > max_size:
        raise _too_large(path, 1, "its first line alone is larger", max_size)
    if not header.strip():
        raise CassetteFormatError(path, 1, "the file is empty", "Record a cassette with `druid-sim record`")
    meta = _parse_meta(header, path)
    warnings: list[str] = []
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        interactions = _parse_interactions(stream, len(header), max_size, path, warnings)
    finally:
        if gc_was_enabled:
            # Freeze what was just built: the next collection would otherwise walk millions of new,
            # acyclic objects (about a third of the load time at 100,000 interactions).
            gc.freeze()
            gc.enable()
    for warning in warnings:
        logger.warning("%s", warning)
    return Cassette(path, meta, interactions, warnings)


def _too_large(path: Path, line: int, what: str, max_size: int) -> CassetteFormatError:
    return CassetteFormatError(
        path,
        line,
        f"{what}: a cassette may be at most {format_size(max_size)} (--max-cassette-size)",
        "Start the server with a larger --max-cassette-size (its memory grows about 3 KB per interaction), "
        "or split the cassette",
    )


def _line(stream: BinaryIO, path: Path, number: int, budget: int | None = None) -> bytes:
    """The next line of ``stream`` (with its newline), refused after `MAX_LINE` bytes without reading the rest.

    ``budget``: the bytes the cassette may still take; at most one more is read, and the caller refuses it.
    """
    line = stream.readline(MAX_LINE + 1 if budget is None else min(MAX_LINE, budget) + 1)
    if len(line) > MAX_LINE:
        raise CassetteFormatError(
            path,
            number,
            f"the line is longer than {format_size(MAX_LINE)} (one interaction, bodies included, may be at most that)",
            "Re-record it with a smaller body limit, or delete that line",
        )
    return line


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


def _parse_interactions(
    stream: BinaryIO, read: int, max_size: int, path: Path, warnings: list[str]
) -> list[Interaction]:
    """Parse the lines after the header (``read``: bytes read so far), one line in memory at a time."""
    loads = orjson.loads
    interactions: list[Interaction] = []
    append = interactions.append
    previous: Interaction | None = None
    exchanges = 0
    number = 1
    while True:
        number += 1
        line = _line(stream, path, number, max_size - read)
        if not line:
            break
        read += len(line)
        if read > max_size:  # a file that grew, or a pipe: no size to refuse it by beforehand
            raise _too_large(path, number, "the file is larger (read up to this line)", max_size)
        try:
            obj = loads(line)
        except orjson.JSONDecodeError as exc:
            if line.isspace():
                continue
            if not line.endswith(b"\n"):  # only the last line can lack its newline
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
    return interactions
