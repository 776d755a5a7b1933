"""Claims that each succeed once: "log this miss once", in bounded memory.

A replay logs each distinct miss once, however often a client repeats it. One process remembers the
misses it logged as their stable hashes; past `MOST` of them it forgets them all and starts again, so a
client sending endless distinct misses costs a bounded set (and at worst a miss logged once more).
"""

from __future__ import annotations

#: Distinct tokens remembered before all are forgotten.
MOST = 4096


class Claims:
    """Tokens claimed since the last `clear`, at most ``most`` of them remembered."""

    __slots__ = ("_claimed", "most")

    def __init__(self, most: int = MOST) -> None:
        self.most = most
        self._claimed: set[int] = set()

    def claim(self, token: int) -> bool:
        """True the first time ``token`` is claimed (since the last `clear`, or since they were forgotten)."""
        if token in self._claimed:
            return False
        if len(self._claimed) >= self.most:
            self._claimed.clear()
        self._claimed.add(token)
        return True

    def clear(self) -> None:
        self._claimed.clear()
