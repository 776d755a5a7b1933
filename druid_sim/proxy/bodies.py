"""Bodies of any size through the recorder, with a bounded part of each kept for the cassette.

mitmproxy holds a body whole unless it is streamed (``flow.request.stream`` / ``flow.response.stream``,
set in the ``requestheaders`` / ``responseheaders`` hook). The recorder streams every body that is
large or of unknown length, through a `BodyTee`: the peer gets every chunk as it arrives, the tee keeps
only the first ``limit`` bytes (``--max-recorded-body``) and counts the rest. So a 2 GB task log or
upload costs the recorder a few megabytes, however it is framed. What is kept is then decoded
(gzip, deflate, br, zstd) without ever producing more than ``limit`` bytes (`decode_prefix`: a small
compressed body can expand to gigabytes), and a body that did not fit is cut at a line or word boundary
(`clean_cut`) so no secret is kept in part, where redaction patterns could miss it.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # mitmproxy is imported only by the recorder itself; the launcher reads the default here
    from mitmproxy import http

#: Bytes of each body the recorder keeps unless told otherwise (``--max-recorded-body``): more than
#: any ingestion spec or status answer, and a task log's first tens of thousands of lines.
DEFAULT_MAX_RECORDED_BODY = 8 * 1024 * 1024
#: Compressed bytes fed to a decoder at a time, so one step never expands far past the limit.
_DECODE_STEP = 16 * 1024
#: Bytes that may belong to a word, a token or a secret (and every non-ASCII byte): what `clean_cut`
#: drops from the end of a cut body that has no line break in its second half.
_WORD_BYTES = bytes(range(0x80, 0x100)) + b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=_.~%-"


class BodyTee:
    """A ``stream`` callable: forwards each chunk unchanged, keeps the first ``limit`` bytes, counts all."""

    __slots__ = ("_kept", "limit", "size")

    def __init__(self, limit: int) -> None:
        self._kept = bytearray()
        self.limit = limit
        self.size = 0  # bytes seen so far (as they came off the wire)

    def __call__(self, chunk: bytes) -> bytes:
        if chunk:
            room = self.limit - len(self._kept)
            if room > 0:
                self._kept += chunk[:room]
            self.size += len(chunk)
        return chunk

    @property
    def truncated(self) -> bool:
        """True once more arrived than was kept."""
        return self.size > len(self._kept)

    def getvalue(self) -> bytes:
        """The kept bytes (still Content-Encoded, as they came off the wire)."""
        return bytes(self._kept)

    def close(self) -> None:
        """Release the kept bytes."""
        self._kept = bytearray()


def should_stream(message: http.Request | http.Response, threshold: int) -> bool:
    """Whether ``message``'s body must be streamed: sent chunked or without a length (a response read
    until the connection closes), or with a length over ``threshold`` bytes."""
    # The raw fields, not `headers.get`: that decodes and lower-cases every name on each call.
    length: bytes | None = None
    chunked = False
    for name, value in message.headers.fields:
        size = len(name)
        if size == 14 and name.lower() == b"content-length":
            if length is not None:
                return True  # several lengths: mitmproxy joins them into one that is not a number
            length = value
        elif size == 17 and name.lower() == b"transfer-encoding":
            chunked = True
    if length is None:
        status: int | None = getattr(message, "status_code", None)
        if status is None:
            return chunked  # a request with neither has no body
        return status not in (204, 304)
    try:
        return int(length) > threshold
    except ValueError:
        return True


def decode_prefix(data: bytes, encoding: str, limit: int) -> tuple[bytes, bool]:
    """At most ``limit`` bytes of ``data`` decoded from ``encoding``, and whether that is all ``data`` holds.

    ``data`` may itself be cut short (the kept part of a longer body): what decodes is returned. Raises
    ValueError for an encoding it does not know or data that does not decode at all.
    """
    decoder = _decoder(encoding)
    out = bytearray()
    for start in range(0, len(data), _DECODE_STEP):
        try:
            out += decoder(data[start : start + _DECODE_STEP])
        except Exception as exc:  # zlib.error, brotli.error, zstd.ZstdError: all "does not decode"
            if not out:
                raise ValueError(f"not valid {encoding}: {exc}") from None
            return bytes(out[:limit]), False
        if len(out) > limit:
            return bytes(out[:limit]), False
    return bytes(out), True


def _decoder(encoding: str) -> Callable[[bytes], bytes]:
    """A function that decodes the next piece of an ``encoding`` stream (the codecs mitmproxy decodes)."""
    if encoding in ("gzip", "x-gzip"):
        return zlib.decompressobj(16 + zlib.MAX_WBITS).decompress
    if encoding == "deflate":
        return _Deflate().decompress
    if encoding == "br":
        import brotli  # type: ignore[import-untyped]  # mitmproxy's own dependency

        return brotli.Decompressor().process  # type: ignore[no-any-return]
    if encoding == "zstd":
        import zstandard  # mitmproxy's own dependency

        return zstandard.ZstdDecompressor().decompressobj().decompress  # type: ignore[no-any-return]
    raise ValueError(f"unknown Content-Encoding {encoding!r}")


class _Deflate:
    """``deflate`` as servers send it: zlib-wrapped, or (wrongly, but often) raw; decided on the first piece."""

    def __init__(self) -> None:
        self._inner: zlib._Decompress | None = None

    def decompress(self, data: bytes) -> bytes:
        if self._inner is None:
            try:
                inner = zlib.decompressobj()
                out = inner.decompress(data)
            except zlib.error:
                inner = zlib.decompressobj(-zlib.MAX_WBITS)
                out = inner.decompress(data)
            self._inner = inner
            return out
        return self._inner.decompress(data)


def clean_cut(data: bytes) -> bytes:
    """``data`` (a body cut at the limit) ending at a line break, or else before its last word.

    A secret cut in two (``password=hunt…``, half a JWT) may no longer look like one to the redaction
    patterns; ending the kept part where a line or word ends leaves nothing of the kind.
    """
    newline = data.rfind(b"\n")
    if newline >= len(data) // 2:
        return data[: newline + 1]
    return data.rstrip(_WORD_BYTES)
