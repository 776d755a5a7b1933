"""Joda-style ISO-8601 intervals, as ``Intervals.of`` reads ``createdTimeInterval`` and ``interval``.

Druid only uses the *length* of ``createdTimeInterval`` (reference 2.1 step 4), so the main job here
is the interval's duration in milliseconds; the bounds are kept for ``/pendingSegments``.

Everything is computed in epoch milliseconds on the proleptic Gregorian calendar (Joda's
``ISOChronology``), not with :mod:`datetime`, whose years stop at 1 and 9999: ``P1D_0001-01-01``
starts in year 0 and ``P2147483647D/2020`` about six million years ago, and Joda accepts both. What
Joda refuses is refused the way Druid reports it (an ``InvalidInput`` from ``Intervals.of``, a 500
page): an amount that does not fit a Java ``int``, a year outside Joda's range, an end before the start.
"""

from __future__ import annotations

import re

_PERIOD = re.compile(
    r"^P(?:(?P<y>[-+]?\d+)Y)?(?:(?P<mo>[-+]?\d+)M)?(?:(?P<w>[-+]?\d+)W)?(?:(?P<d>[-+]?\d+)D)?"
    r"(?:T(?:(?P<h>[-+]?\d+)H)?(?:(?P<mi>[-+]?\d+)M)?(?:(?P<s>[-+]?\d+)(?:[.,](?P<f>\d+))?S)?)?$",
    re.IGNORECASE,
)
_INSTANT = re.compile(
    r"^(?P<year>[-+]?\d{4,9})(?:-(?P<month>\d{2})(?:-(?P<day>\d{2}))?)?"
    r"(?:T(?P<hour>\d{2})(?::?(?P<minute>\d{2})(?::?(?P<second>\d{2})(?:[.,](?P<fraction>\d{1,9}))?)?)?)?"
    r"(?P<zone>Z|[-+]\d{2}(?::?\d{2})?)?$"
)
#: ``ISOChronology``'s year range.
MIN_YEAR, MAX_YEAR = -292275054, 292278993
#: Joda reads at most this many digits per period field (``PeriodFormatterBuilder``'s default).
_MAX_PERIOD_DIGITS = 10
_INT_MAX = 2**31 - 1
_PRECISE_MS = {"w": 604_800_000, "d": 86_400_000, "h": 3_600_000, "mi": 60_000, "s": 1000}


class IntervalError(ValueError):
    """The text is not an interval; ``str()`` is the exception message on Druid's 500 page.

    ``exception`` is the Java class shown with it: Druid's ``InvalidInput`` wrapping Joda's
    ``IllegalArgumentException``, or an ``ArithmeticException`` that ``Intervals.of`` does not catch.
    """

    def __init__(self, message: str, exception: str = "org.apache.druid.error.DruidException") -> None:
        super().__init__(message)
        self.exception = exception


class _Invalid(ValueError):
    """Joda's ``IllegalArgumentException`` message (the part inside ``Invalid interval[...]: [...]``)."""


# -- the calendar ------------------------------------------------------------------------------------


def _days_from_civil(year: int, month: int, day: int) -> int:
    """Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm, any year)."""
    year -= month <= 2
    era = year // 400
    year_of_era = year - era * 400
    day_of_year = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    return era * 146097 + day_of_era - 719468


def _civil_from_days(days: int) -> tuple[int, int, int]:
    days += 719468
    era = days // 146097
    day_of_era = days - era * 146097
    year_of_era = (day_of_era - day_of_era // 1460 + day_of_era // 36524 - day_of_era // 146096) // 365
    day_of_year = day_of_era - (365 * year_of_era + year_of_era // 4 - year_of_era // 100)
    month_index = (5 * day_of_year + 2) // 153
    day = day_of_year - (153 * month_index + 2) // 5 + 1
    month = month_index + (3 if month_index < 10 else -9)
    return year_of_era + era * 400 + (month <= 2), month, day


def _month_length(year: int, month: int) -> int:
    if month == 2:
        return 29 if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else 28
    return 30 if month in (4, 6, 9, 11) else 31


def format_instant(ms: int) -> str:
    """Joda's ``DateTime.toString()`` in UTC for any instant: ``-0001-12-31T00:00:00.000Z`` included."""
    days, rest = divmod(ms, 86_400_000)
    year, month, day = _civil_from_days(days)
    hours, rest = divmod(rest, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    year_text = f"-{-year:04d}" if year < 0 else f"{year:04d}"
    return f"{year_text}-{month:02d}-{day:02d}T{hours:02d}:{minutes:02d}:{seconds:02d}.{millis:03d}Z"


# -- parsing -------------------------------------------------------------------------------------------


def _instant(text: str) -> int:
    """Epoch ms of an ISO-8601 date-time (a missing zone means UTC, as Druid's ISOChronology.UTC reads it)."""
    match = _INSTANT.match(text)
    if match is None:
        raise _Invalid(f'Invalid format: "{text}"')
    year = int(match["year"])
    month, day = int(match["month"] or 1), int(match["day"] or 1)
    hour, minute, second = int(match["hour"] or 0), int(match["minute"] or 0), int(match["second"] or 0)
    if not 1 <= month <= 12 or not MIN_YEAR <= year <= MAX_YEAR:
        field, value, low, high = (
            ("monthOfYear", month, 1, 12) if not 1 <= month <= 12 else ("year", year, MIN_YEAR, MAX_YEAR)
        )
        raise _Invalid(f'Cannot parse "{text}": Value {value} for {field} must be in the range [{low},{high}]')
    for field, value, high in (
        ("dayOfMonth", day, _month_length(year, month)),
        ("hourOfDay", hour, 23),
        ("minuteOfHour", minute, 59),
        ("secondOfMinute", second, 59),
    ):
        if not (1 if field == "dayOfMonth" else 0) <= value <= high:
            low = 1 if field == "dayOfMonth" else 0
            raise _Invalid(f'Cannot parse "{text}": Value {value} for {field} must be in the range [{low},{high}]')
    millis = int((match["fraction"] or "0")[:3].ljust(3, "0"))
    ms = (_days_from_civil(year, month, day) * 86_400_000) + hour * 3_600_000 + minute * 60_000 + second * 1000 + millis
    zone = match["zone"]
    if zone and zone != "Z":
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        offset = int(digits[:2]) * 60 + int(digits[2:4] or 0)
        ms -= sign * offset * 60_000
    return ms


def _period_fields(text: str) -> dict[str, int]:
    """The fields of an ISO period, each read as Joda does: at most ten digits, into a Java ``int``."""
    match = _PERIOD.match(text)
    if match is None:
        raise _Invalid(f'Invalid format: "{text}"')
    fields: dict[str, int] = {}
    for name in ("y", "mo", "w", "d", "h", "mi", "s"):
        digits = match[name]
        if digits is None:
            continue
        unsigned = digits.lstrip("+-")
        if len(unsigned) > _MAX_PERIOD_DIGITS:
            # Joda reads ten digits, then finds no suffix where it expects one.
            raise _Invalid(f'Invalid format: "{text}" is malformed at "{text[match.start(name) :]}"')
        value = int(digits)
        if len(unsigned) >= _MAX_PERIOD_DIGITS and not -(2**31) <= value <= _INT_MAX:
            raise _Invalid(f'For input string: "{digits.lstrip("+")}"')
        fields[name] = value
    if match["f"] is not None:
        fraction = int(match["f"][:3].ljust(3, "0"))
        fields["ms"] = -fraction if fields.get("s", 0) < 0 or (match["s"] or "").startswith("-") else fraction
    return fields


def _add_years(ms: int, years: int) -> int:
    """``BasicYearDateTimeField.add``: an int year (ArithmeticException on overflow), day clamped."""
    days, rest = divmod(ms, 86_400_000)
    year, month, day = _civil_from_days(days)
    target = year + years
    if not -(2**31) <= target <= _INT_MAX:
        raise IntervalError(f"The calculation caused an overflow: {year} + {years}", "java.lang.ArithmeticException")
    return _with_year_month(target, month, day, rest)


def _add_months(ms: int, months: int) -> int:
    """``BasicMonthOfYearDateTimeField.add``: the same day of month, clamped to the month's length."""
    days, rest = divmod(ms, 86_400_000)
    year, month, day = _civil_from_days(days)
    total = month - 1 + months
    return _with_year_month(year + total // 12, total % 12 + 1, day, rest)


def _with_year_month(year: int, month: int, day: int, rest: int) -> int:
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise _Invalid(f"Value {year} for year must be in the range [{MIN_YEAR},{MAX_YEAR}]")
    day = min(day, _month_length(year, month))
    return _days_from_civil(year, month, day) * 86_400_000 + rest


def _apply_period(ms: int, fields: dict[str, int], sign: int) -> int:
    """``BaseChronology.add(period, instant, scalar)``: each field in turn, years first."""
    if fields.get("y"):
        ms = _add_years(ms, sign * fields["y"])
    if fields.get("mo"):
        ms = _add_months(ms, sign * fields["mo"])
    for name, unit in _PRECISE_MS.items():
        ms += sign * fields.get(name, 0) * unit
    return ms + sign * fields.get("ms", 0)


def parse_interval(text: str, *, underscore: bool = True) -> tuple[int, int]:
    """Start and end (epoch ms) of ``start/end``, ``start/period`` or ``period/end``.

    ``underscore``: ``_`` may stand for ``/`` (what ``/tasks`` and ``/pendingSegments`` replace before
    ``Intervals.of``); ``/worker/history`` hands its ``interval`` to ``Intervals.of`` as it is.
    """
    value = text.replace("_", "/") if underscore else text
    try:
        left, separator, right = value.partition("/")
        if not separator:
            raise _Invalid(f"Format requires a '/' separator: {value}")
        if not left or not right:
            raise _Invalid(f"Format invalid: {value}")
        left_is_period, right_is_period = left[0] in "Pp", right[0] in "Pp"
        if left_is_period and right_is_period:
            raise _Invalid(f"Interval composed of two durations: {value}")
        if right_is_period:
            start = _instant(left)
            end = _apply_period(start, _period_fields(right), 1)
        else:
            end = _instant(right)
            start = _apply_period(end, _period_fields(left), -1) if left_is_period else _instant(left)
        if end < start:
            raise _Invalid("The end instant must be greater than the start instant")
    except _Invalid as exc:
        raise IntervalError(f"Invalid interval[{text}]: [{exc}]") from None
    return start, end


def interval_length_ms(text: str) -> int:
    """The length of the interval in milliseconds."""
    start, end = parse_interval(text)
    return end - start
