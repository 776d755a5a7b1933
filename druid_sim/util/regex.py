"""Regular expressions from users, matched in linear time (RE2), and globs turned into them.

Every pattern a user supplies (a fault's ``routes``, a scenario's ``match.id``, a security role's
resource names, a cassette's ``regex:`` redaction rules, the journal's path filter) runs on the event
loop against text a client chose. Python's ``re`` backtracks: ``(a+)+$`` against ``'a' * 26 + '!'``
takes seconds and stops every other request meanwhile. RE2 (Google's engine, through the
``google-re2`` binding) never backtracks, so a match costs time linear in the text whatever the
pattern. The price is that it refuses what needs backtracking (backreferences, lookarounds, atomic
groups, possessive quantifiers); those are refused here, when the file or the call is read, with a
message that says how to write the pattern instead, never at match time.

:class:`Regex` wraps a compiled RE2 pattern with the few methods the project uses, and also takes
text Python can hold but UTF-8 cannot (a lone surrogate such as ``"\\ud800"``, which a client may send
in JSON as Jackson accepts it): such a character is matched as ``?`` instead of raising.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any, Protocol

import re2

from druid_sim.util.quoting import shown

#: Where RE2's syntax is written down, for the refusal messages.
SYNTAX = "https://github.com/google/re2/wiki/Syntax"

_OPTIONS = re2.Options()
_OPTIONS.log_errors = False  # RE2 would print every refused pattern to stderr through absl


class Match(Protocol):
    """What a match offers (``re.Match`` and RE2's match both do)."""

    @property
    def re(self) -> Any: ...

    def group(self, group: int | str = 0, /) -> Any: ...

    def span(self, group: int = 0, /) -> tuple[int, int]: ...

    def start(self, group: int = 0, /) -> int: ...


class RegexRefused(ValueError):
    """A pattern RE2 cannot run (or that is no regular expression); the message says how to fix it."""


# (a piece of RE2's error message, what it means, how to write it instead)
_HINTS: tuple[tuple[tuple[str, ...], str, str], ...] = (
    (
        ("\\1", "\\2", "\\3", "\\4", "\\5", "\\6", "\\7", "\\8", "\\9", "(?P=", "\\k"),
        "a backreference",
        "spell out the repeated text, or match it with a character class such as [a-z]+",
    ),
    (
        ("(?=", "(?!", "(?<=", "(?<!"),
        "a lookaround",
        "match the text itself, e.g. [^/]+ instead of (?!.*/)",
    ),
    (("(?>",), "an atomic group", "use a plain group (?:...)"),
    (("*+", "++", "?+", "}+"), "a possessive quantifier", "drop its last '+' (e.g. a*+ becomes a*)"),
    (("\\Z",), "\\Z", "use \\z for the end of the text"),
    (("\\p{",), "a Java character class", "use a POSIX class such as [[:alpha:]] or a Unicode one such as \\p{L}"),
    (("repetition size",), "a count above 1000", "use + or * instead of {n} for n > 1000"),
    (("too large", "too big"), "a pattern too large to run", "make it shorter or use fewer nested counts"),
    (("\\G", "\\h", "\\R", "\\X"), "an escape RE2 does not know", f"see the escapes RE2 has at {SYNTAX}"),
)


def _refusal(text: str, error: str) -> str:
    for pieces, what, fix in _HINTS:
        if any(piece in error for piece in pieces):
            return (
                f"uses {what}, which cannot be matched in linear time (druid-sim runs patterns with RE2 so that "
                f"no pattern can stall the server): {shown(text)}; {fix}"
            )
    return f"is not a valid regular expression ({error}): {shown(text)}; the syntax is RE2's, {SYNTAX}"


class Regex:
    """A compiled RE2 pattern: ``search``, ``match`` and ``fullmatch`` as in ``re``, in linear time."""

    __slots__ = ("_compiled", "pattern")

    def __init__(self, pattern: str) -> None:
        """Compile ``pattern``; raise :class:`RegexRefused` with a fix when RE2 cannot run it."""
        try:
            self._compiled: Any = re2.compile(pattern, _OPTIONS)
        except re2.error as exc:
            error = exc.args[0].decode("utf-8", "replace") if exc.args and isinstance(exc.args[0], bytes) else str(exc)
            raise RegexRefused(_refusal(pattern, error)) from None
        except (TypeError, UnicodeError):  # a lone surrogate in the pattern itself
            raise RegexRefused(f"is not valid text: {shown(pattern)}") from None
        self.pattern = pattern

    def __repr__(self) -> str:
        return f"Regex({self.pattern!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Regex) and other.pattern == self.pattern

    def __hash__(self) -> int:
        return hash(self.pattern)

    @property
    def groups(self) -> int:
        return int(self._compiled.groups)

    @property
    def groupindex(self) -> Mapping[str, int]:
        return dict(self._compiled.groupindex)

    def search(self, text: str, pos: int = 0, endpos: int | None = None) -> Match | None:
        return self._compiled.search(_encodable(text), pos, endpos)  # type: ignore[no-any-return]

    def match(self, text: str, pos: int = 0, endpos: int | None = None) -> Match | None:
        return self._compiled.match(_encodable(text), pos, endpos)  # type: ignore[no-any-return]

    def fullmatch(self, text: str, pos: int = 0, endpos: int | None = None) -> Match | None:
        return self._compiled.fullmatch(_encodable(text), pos, endpos)  # type: ignore[no-any-return]

    def finditer(self, text: str, pos: int = 0, endpos: int | None = None) -> Iterator[Match]:
        return self._compiled.finditer(_encodable(text), pos, endpos)  # type: ignore[no-any-return]

    def sub(self, replace: Callable[[Match], str], text: str) -> str:
        """``text`` with every match replaced by ``replace(match)`` (a function, as the redactor passes)."""
        pieces: list[str] = []
        done = 0
        for found in self.finditer(text):
            start, end = found.span()
            pieces += [text[done:start], replace(found)]
            done = end
        return "".join(pieces) + text[done:] if pieces else text


def _encodable(text: str) -> str:
    """``text``, with each character UTF-8 cannot hold (a lone surrogate) as ``?``: same length, same offsets."""
    if text.isascii():  # a flag of the string: no scan (paths, ids, most logs)
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace").decode("utf-8")
    return text


def glob(pattern: str) -> Regex:
    """A shell glob (``*`` any text, ``?`` one character, ``[...]`` a set) as an RE2 pattern anchored both ends.

    ``fnmatch.translate`` cannot be used: since Python 3.9 it writes lookaheads and backreferences to
    keep its own matching linear, which RE2 has no need of and refuses.
    """
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        char = pattern[i]
        i += 1
        if char == "*":
            if not out or out[-1] != ".*":
                out.append(".*")
        elif char == "?":
            out.append(".")
        elif char == "[":
            j = i
            if j < n and pattern[j] == "!":
                j += 1
            if j < n and pattern[j] == "]":
                j += 1
            while j < n and pattern[j] != "]":
                j += 1
            if j >= n:
                out.append("\\[")
                continue
            out.append(_char_set(pattern[i:j]))
            i = j + 1
        else:
            out.append(re2.escape(char))
    return Regex("(?s:" + "".join(out) + r")\z")


def _char_set(body: str) -> str:
    """A glob's ``[...]`` body as an RE2 class, each character spelled ``\\x{...}`` so none is special.

    As in ``fnmatch``: a leading ``!`` negates, ``a-z`` is a range, a reversed range matches nothing.
    """
    negated = body.startswith("!")
    if negated:
        body = body[1:]
    items: list[str] = []
    k = 0
    while k < len(body):
        if k + 2 < len(body) and body[k + 1] == "-":
            low, high = body[k], body[k + 2]
            if low <= high:
                items.append(f"\\x{{{ord(low):x}}}-\\x{{{ord(high):x}}}")
            k += 3
        else:
            items.append(f"\\x{{{ord(body[k]):x}}}")
            k += 1
    if not items:  # every range reversed: the set is empty
        return "(?s:.)" if negated else "[^\\x00-\\x{10ffff}]"
    return ("[^" if negated else "[") + "".join(items) + "]"
