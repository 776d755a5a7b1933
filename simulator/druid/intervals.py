"""Joda-style ISO-8601 intervals, as ``Intervals.of`` reads ``createdTimeInterval`` and ``interval``.

Druid only uses the *length* of ``createdTimeInterval`` (reference 2.1 step 4), so the main job here
is the interval's duration in milliseconds; the bounds are kept for ``/pendingSegments``.
"""

from __future__ import annotations

import calendar
import re
from datetime import UTC, datetime, timedelta

_PERIOD = re.compile(
    r"^P(?:(?P<y>\d+)Y)?(?:(?P<mo>\d+)M)?(?:(?P<w>\d+)W)?(?:(?P<d>\d+)D)?"
    r"(?:T(?:(?P<h>\d+)H)?(?:(?P<mi>\d+)M)?(?:(?P<s>\d+(?:[.,]\d+)?)S)?)?$"
)


class IntervalError(ValueError):
    """The text is not an interval; ``str()`` is Druid's ``Invalid interval[...]`` message."""


def _instant(text: str) -> datetime:
    value = text.strip()
    if re.fullmatch(r"\d{4}", value):
        value += "-01-01"
    elif re.fullmatch(r"\d{4}-\d{2}", value):
        value += "-01"
    if value.endswith("Z"):
        value = value[:-1] + "+00:00"
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _add_months(moment: datetime, months: int) -> datetime:
    total = moment.month - 1 + months
    year, month = moment.year + total // 12, total % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def _apply_period(moment: datetime, match: re.Match[str], sign: int) -> datetime:
    def num(name: str) -> float:
        value = match.group(name)
        return float(value.replace(",", ".")) if value else 0.0

    moment = _add_months(moment, sign * int(num("y") * 12 + num("mo")))
    delta = timedelta(weeks=num("w"), days=num("d"), hours=num("h"), minutes=num("mi"), seconds=num("s"))
    return moment + delta if sign > 0 else moment - delta


def parse_interval(text: str) -> tuple[datetime, datetime]:
    """Start and end of ``start/end``, ``start/period`` or ``period/end`` (``_`` may stand for ``/``)."""
    value = text.replace("_", "/")
    pieces = value.split("/")
    if len(pieces) != 2 or not all(pieces):
        raise IntervalError(f"Invalid interval[{text}]: [Format requires a '/' separator: {value}]")
    left, right = pieces
    try:
        left_period, right_period = _PERIOD.match(left), _PERIOD.match(right)
        if left_period and right_period:
            raise IntervalError(f"Invalid interval[{text}]: [Interval composed of two durations: {value}]")
        if right_period:
            start = _instant(left)
            end = _apply_period(start, right_period, 1)
        elif left_period:
            end = _instant(right)
            start = _apply_period(end, left_period, -1)
        else:
            start, end = _instant(left), _instant(right)
    except ValueError as exc:
        if isinstance(exc, IntervalError):
            raise
        bad = left if not _looks_valid(left) else right
        raise IntervalError(f'Invalid interval[{text}]: [Invalid format: "{bad}"]') from None
    if end < start:
        raise IntervalError(f"Invalid interval[{text}]: [The end instant must be greater than the start instant]")
    return start, end


def _looks_valid(text: str) -> bool:
    if _PERIOD.match(text):
        return True
    try:
        _instant(text)
    except ValueError:
        return False
    return True


def interval_length_ms(text: str) -> int:
    """The length of the interval in milliseconds."""
    start, end = parse_interval(text)
    return int((end - start).total_seconds() * 1000)
