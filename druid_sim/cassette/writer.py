"""Writing a cassette while recording: one line per finished interaction, flushed at once.

The file is opened unbuffered in append mode and each interaction goes out in a single `write`, so a
recorder killed with SIGKILL leaves every finished interaction on disk; at worst the line being written
is cut short, which the loader drops with a warning. Consecutive identical exchanges (a client polling a
status that did not change) are written once, followed by tiny repeat lines.

While a writer is open it holds an exclusive `flock` on the file, so a second recorder pointed at the
same cassette is refused instead of interleaving its lines. A cassette that holds only its header (a
session that recorded nothing) counts as empty: the next recording reuses the file.
"""

from __future__ import annotations

import enum
import fcntl
import logging
import os
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import orjson

from druid_sim import __version__
from druid_sim.cassette.again import KeptTimings, digest
from druid_sim.cassette.codec import body_to_obj, encode_meta, encode_repeat, request_to_obj
from druid_sim.cassette.errors import CassetteError, CassetteExistsError, CassetteFormatError
from druid_sim.cassette.loader import read_meta
from druid_sim.cassette.model import FORMAT_VERSION, CassetteMeta, Interaction, Redaction

logger = logging.getLogger(__name__)

#: A header line is far shorter than this; a file this big holds more than a header.
_HEADER_ONLY_LIMIT = 64 * 1024

#: Response headers that change on every poll and are ignored when deciding whether an exchange repeats.
VOLATILE_HEADERS = frozenset({"date"})


class RecordMode(enum.StrEnum):
    """What to do when the cassette file already exists."""

    REFUSE = "refuse"
    APPEND = "append"
    OVERWRITE = "overwrite"


def new_meta(upstream: str | None, redaction: Redaction | None, recorder: str = "") -> CassetteMeta:
    """A header for a cassette recorded now."""
    now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return CassetteMeta(FORMAT_VERSION, now, upstream, recorder or f"druid-sim {__version__}", redaction)


def holds_recordings(path: str | Path) -> bool:
    """True if ``path`` exists and holds more than a cassette header: something `--mode refuse` must not touch.

    An empty file, or one with a valid header line and nothing else (a recording session that saw no
    exchange), holds nothing to lose, so a new recording may reuse it.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return False
    if size == 0:
        return False
    if size > _HEADER_ONLY_LIMIT:
        return True
    data = path.read_bytes()
    rest = data.partition(b"\n")[2]
    if rest.strip():
        return True
    try:
        read_meta(path)
    except CassetteFormatError:
        return True  # not a cassette header: not ours to overwrite
    return False


def existing_meta(path: str | Path, mode: RecordMode | str) -> CassetteMeta | None:
    """The header a recording in ``mode`` will keep: the existing one when appending to a cassette, else None."""
    path = Path(path)
    if RecordMode(mode) is not RecordMode.APPEND or not path.exists() or path.stat().st_size == 0:
        return None
    return read_meta(path)


def recorded_at_epoch(meta: CassetteMeta) -> float:
    """The header's `recorded_at` as a POSIX timestamp (0 if it cannot be parsed)."""
    try:
        return datetime.fromisoformat(meta.recorded_at.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return 0.0


class CassetteWriter:
    """Appends interactions to a cassette file.

    Use `CassetteWriter.open(path, mode, meta)`; in append mode the existing header (and its redaction
    salt, so placeholders stay the same) is kept and `meta` is ignored.
    """

    def __init__(
        self,
        path: Path,
        fd: int,
        meta: CassetteMeta,
        line_filter: Callable[[bytes], bytes] | None,
        kept: KeptTimings | None = None,
    ) -> None:
        self.path = path
        self.meta = meta
        self.written = 0
        self._fd: int | None = fd
        self._line_filter = line_filter
        self._last_key: tuple[int, bool, bytes, bytes, bytes] | None = None
        self._last_exchange = b""  # the digest of the last interaction line written (what a repeat repeats)
        #: A cassette recorded again over itself (`again`): the timings of its unchanged exchanges, kept.
        self.kept = kept
        # `at` counts from recorded_at; recording again under a kept header, from the start of this recording.
        self._epoch = time.time() if kept is not None else recorded_at_epoch(meta)

    @classmethod
    def open(
        cls,
        path: str | Path,
        mode: RecordMode | str,
        meta: CassetteMeta,
        line_filter: Callable[[bytes], bytes] | None = None,
        kept: KeptTimings | None = None,
    ) -> CassetteWriter:
        """Open (or create) a cassette for recording according to `mode`.

        `line_filter`, if given, sees every encoded line just before it is written; the recorder uses it
        as a last redaction pass. `kept` (with mode overwrite and the cassette's own header as `meta`:
        `druid_sim.cassette.again`) records the cassette again, keeping the timings of unchanged exchanges.
        """
        path = Path(path)
        mode = RecordMode(mode)
        if mode is RecordMode.REFUSE and holds_recordings(path):
            raise CassetteExistsError(path)
        if path.parent and not path.parent.exists():
            path.parent.mkdir(parents=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            _lock(fd, path)
            if mode is RecordMode.APPEND and os.fstat(fd).st_size > 0:
                meta = read_meta(path)
                _drop_partial_last_line(path)
                return cls(path, fd, meta, line_filter, kept)
            if mode is RecordMode.REFUSE and holds_recordings(path):  # written since the check above
                raise CassetteExistsError(path)
            if os.fstat(fd).st_size > 0:
                if mode is RecordMode.REFUSE:
                    logger.info("%s holds only a header (a session that recorded nothing): recording into it", path)
                os.ftruncate(fd, 0)
            writer = cls(path, fd, meta, line_filter, kept)
            writer._write(encode_meta(meta))
            return writer
        except BaseException:
            os.close(fd)
            raise

    def at(self, timestamp: float) -> float:
        """Seconds between the cassette's `recorded_at` and a POSIX `timestamp`."""
        return max(0.0, timestamp - self._epoch)

    def append(self, interaction: Interaction) -> None:
        """Write one finished interaction (or a repeat line if it equals the previous one) and flush it.

        Each part is encoded once and reused for both the repeat check and the line.
        """
        response = interaction.response
        dumps = orjson.dumps
        req_b = dumps(request_to_obj(interaction.request))
        body_b = dumps(body_to_obj(response.body))
        headers = response.headers
        headers_b = dumps(headers)
        stable = [h for h in headers if h[0].lower() not in VOLATILE_HEADERS]
        stable_b = headers_b if len(stable) == len(headers) else dumps(stable)
        key = (response.status, response.chunked, req_b, stable_b, body_b)
        elapsed_ms, at = interaction.elapsed_ms, interaction.at
        if key == self._last_key:
            if self.kept is not None:
                elapsed_ms, at = self.kept.take(self._last_exchange) or (elapsed_ms, at)
            self._write(encode_repeat(at, elapsed_ms))
        else:
            self._last_key = key
            exchange = b'{"request":%s,"response":{"status":%d,"headers":%s,%s"body":%s}' % (
                req_b,
                response.status,
                headers_b,
                b'"chunked":true,' if response.chunked else b"",
                body_b,
            )
            if self._line_filter is not None:
                exchange = self._line_filter(exchange)
            self._last_exchange = digest(exchange)
            if self.kept is not None:
                elapsed_ms, at = self.kept.take(self._last_exchange) or (elapsed_ms, at)
            self._write(
                b'%s,"elapsed_ms":%s,"at":%s}' % (exchange, dumps(round(elapsed_ms, 3)), dumps(round(at, 3))),
                filtered=True,
            )
        self.written += 1

    def _write(self, line: bytes, filtered: bool = False) -> None:
        """One `write` of the whole line: an unbuffered fd, so the line is with the OS (and survives a
        SIGKILL of the recorder) as soon as this returns. No fsync: that only matters if the machine dies."""
        if self._fd is None:
            raise ValueError(f"cassette {self.path} is closed")
        if self._line_filter is not None and not filtered:
            line = self._line_filter(line)
        line += b"\n"
        written = os.write(self._fd, line)
        if written < len(line):  # a short write (full disk, signal): finish it
            data = memoryview(line)[written:]
            while data:
                data = data[os.write(self._fd, data) :]

    def close(self) -> None:
        """Close the file; every interaction is already on disk."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> CassetteWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _lock(fd: int, path: Path) -> None:
    """Hold an exclusive lock on the cassette while recording (released when the fd closes)."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise CassetteError(
            f"{path} is being recorded by another druid-sim record right now; stop that one first, or choose "
            "another --cassette"
        ) from None


def _drop_partial_last_line(path: Path) -> None:
    """Cut a last line that has no newline (left by a killed recorder) so appended lines stay valid."""
    with path.open("rb+") as f:
        f.seek(0, os.SEEK_END)
        size = f.tell()
        if size == 0:
            return
        f.seek(size - 1)
        if f.read(1) == b"\n":
            return
        chunk = min(size, 1 << 20)
        pos = size
        while pos > 0:
            start = max(0, pos - chunk)
            f.seek(start)
            block = f.read(pos - start)
            nl = block.rfind(b"\n")
            if nl >= 0:
                cut = start + nl + 1
                break
            pos = start
        else:
            raise CassetteFormatError(path, 1, "the file has no complete line", "Delete it or use --mode overwrite")
        logger.warning("%s: dropping an incomplete last line (%d bytes) before appending", path, size - cut)
        f.truncate(cut)
