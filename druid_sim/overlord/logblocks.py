"""Fixed-size blocks of log lines, each built on its own, so a log of any size is served by byte offset.

A task log's body is a run of blocks of exactly ``BLOCK_SIZE`` bytes of whole lines. Block ``i`` is the
task's template ``i % TEMPLATES`` with its per-block values filled in, so block ``i`` costs the same
whether it is the first or the twenty-thousandth:

* each line's log4j timestamp, from the block's start time and the line's place in the block. Lines
  of one event (a persist: its reason, the rows, the spill, the commit) come milliseconds apart, and
  events are spread the way the bytes are, so time moves steadily through the log;
* counters that grow along the log (Kafka offsets, row totals, spill and sub-task numbers), from the
  block number;
* text that follows the line's time (the current hour's segment id, a metric's ``timestamp``).

A template is a run of the task's own events (``druid_sim.overlord.peon`` says what a peon of each
task type writes) whose numbers have free widths. Its last few lines, the *tail*, are fitted so the
block comes out at exactly ``BLOCK_SIZE`` bytes by choosing those widths (a persist of 9,800 or of
149,612 rows, a 7- or 10-digit heap size): real lines of different lengths, never padding. Counters
change width as they grow, so a template keeps one fitted tail per total counter width; that total
changes a handful of times in a whole log.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from itertools import pairwise
from operator import itemgetter, mul
from typing import Protocol

BLOCK_SIZE = 16384
TEMPLATES = 8
STAMP_WIDTH = 23  # 2023-07-03T22:11:17,891
_SAMPLE_MS = 1_767_225_600_000  # a time to measure clock widths at: 2026-01-01T00:00:00Z
_FIT_POOL = 40  # filler events a block may end with
_FIT_ATTEMPTS = 8  # pools of fillers tried before giving up
_HEAD_MISSES = 8  # events that did not fit before a head is closed
_STAMP, _COUNTER, _CLOCK = 0, 1, 2


# -- what events are made of -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, eq=False)
class Num:
    """A number a line needs, any value in ``[lo, hi]``; its width is what tails are fitted with.

    The same ``Num`` object used twice in an event is one value printed twice (rows persisted, then
    the same rows flushed).
    """

    lo: int
    hi: int
    commas: bool = False

    def digit_counts(self) -> range:
        return range(len(str(self.lo)), len(str(self.hi)) + 1)

    def value(self, rng: random.Random, digits: int | None = None) -> int:
        low, high = self.lo, self.hi
        if digits is not None:
            low, high = max(low, 10 ** (digits - 1) if digits > 1 else 0), min(high, 10**digits - 1)
        return rng.randint(low, high)

    def plain(self) -> Plain:
        """The same value printed without thousands separators (``Persisted stats: ... rows[150000]``)."""
        return Plain(self)


@dataclass(frozen=True, slots=True)
class Plain:
    """A :class:`Num`'s value printed plain, where the same line or event also prints it with commas."""

    num: Num


def _printed(value: int, commas: bool) -> str:
    return f"{value:,}" if commas else str(value)


def _width(digits: int, commas: bool) -> int:
    return digits + (digits - 1) // 3 if commas else digits


@dataclass(frozen=True, slots=True)
class Counter:
    """A value that grows along the log, filled in per block (see :class:`Growing`, :class:`Tally`)."""

    name: str
    add: int = 0


@dataclass(frozen=True, slots=True)
class Clock:
    """Text made from the line's own time (plus ``delta_ms``): an instant, a segment id.

    A clock's function must print the same width for every time, or blocks would not add up.
    """

    name: str
    delta_ms: int = 0


class Periodic:
    """A clock function whose text only changes every ``period_ms`` (a segment id per hour).

    A block computes it once, unless a period boundary falls inside the block.
    """

    def __init__(self, text: Callable[[int], bytes], period_ms: int) -> None:
        self.text = text
        self.period_ms = period_ms

    def __call__(self, ms: int) -> bytes:
        return self.text(ms)


Part = str | Num | Plain | Counter | Clock


@dataclass(frozen=True, slots=True)
class Line:
    """One log line after its timestamp: ``INFO [thread] logger - message``, as parts."""

    parts: tuple[Part, ...]
    after_ms: int = 0  # milliseconds after the event's first line


@dataclass(frozen=True, slots=True)
class Event:
    """Lines written together (a persist, a metrics emission); ``kind`` is what :class:`Tally` counts."""

    lines: tuple[Line, ...]
    kind: str = ""


@dataclass(frozen=True, slots=True)
class Growing:
    """A value growing steadily with the log: ``base``, plus ``per_block`` for each block written."""

    base: int
    per_block: float
    style: str = "plain"


@dataclass(frozen=True, slots=True)
class Tally:
    """How many events of ``kind`` the log has written so far, plus ``start``, at most ``cap``."""

    kind: str
    start: int = 0
    cap: int | None = None
    style: str = "plain"


CounterSpec = Growing | Tally


class EventSource(Protocol):
    """What a peon of one task type writes while it works (``druid_sim.overlord.peon``)."""

    counters: dict[str, CounterSpec]

    @property
    def clocks(self) -> Mapping[str, Callable[[int], bytes]]:
        """Fixed-width texts from a time, by name (what :class:`Clock` parts print)."""

    def event(self, rng: random.Random) -> Event:
        """The next event of the work phase."""

    def filler(self, rng: random.Random) -> Event:
        """A short event without counters, to end a block with (its numbers' widths get fitted)."""

    def settle(self, writer: BlockWriter) -> None:
        """Called once the templates exist: counters that depend on them (totals) can be set."""


def styled(value: int, style: str) -> str:
    if style == "commas":
        return f"{value:,}"
    if style == "suffix":  # a segment id's partition: none for partition 0
        return f"_{value}" if value else ""
    return str(value)


# -- timestamps -----------------------------------------------------------------------------------------

_SECOND_PREFIXES: dict[int, bytes] = {}
_MILLIS = [b"%03d" % millis for millis in range(1000)]


_INSTANT_PREFIXES: dict[int, bytes] = {}
_INSTANT_MILLIS = [b"%03dZ" % millis for millis in range(1000)]


def _second_prefix(seconds: int) -> bytes:
    if len(_SECOND_PREFIXES) > 65536:
        _SECOND_PREFIXES.clear()
    prefix = _SECOND_PREFIXES[seconds] = time.strftime("%Y-%m-%dT%H:%M:%S,", time.gmtime(seconds)).encode()
    return prefix


def instant(ms: int) -> bytes:
    """Joda's ``DateTime.toString()`` in UTC, as JSON in logs has it: ``2023-07-03T22:11:17.891Z``."""
    seconds, millis = divmod(ms, 1000)
    prefix = _INSTANT_PREFIXES.get(seconds)
    if prefix is None:
        if len(_INSTANT_PREFIXES) > 65536:
            _INSTANT_PREFIXES.clear()
        prefix = _INSTANT_PREFIXES[seconds] = time.strftime("%Y-%m-%dT%H:%M:%S.", time.gmtime(seconds)).encode()
    return prefix + _INSTANT_MILLIS[millis]


def log_stamp(ms: int) -> bytes:
    """Druid's log4j timestamp (``%d{ISO8601}``): ``2023-07-03T22:11:17,891``."""
    seconds, millis = divmod(ms, 1000)
    return (_SECOND_PREFIXES.get(seconds) or _second_prefix(seconds)) + _MILLIS[millis]


# -- templates --------------------------------------------------------------------------------------------


class _Sized:
    """An event and every length its numbers' widths allow (counters not counted: they vary by block)."""

    def __init__(self, widths: Mapping[str, int], event: Event) -> None:
        self.event = event
        fixed = 0
        styles: dict[int, list[bool]] = {}  # id(num) -> comma style of each place it is printed
        nums: list[Num] = []
        self.counters: list[Counter] = []
        for line in event.lines:
            fixed += STAMP_WIDTH + 2
            for part in line.parts:
                if isinstance(part, str):
                    fixed += len(part)
                elif isinstance(part, Clock):
                    fixed += widths[part.name]
                elif isinstance(part, Counter):
                    self.counters.append(part)
                else:
                    num = part if isinstance(part, Num) else part.num
                    if id(num) not in styles:
                        nums.append(num)
                    styles.setdefault(id(num), []).append(isinstance(part, Num) and num.commas)
        self.fixed = fixed
        # per number: {bytes it adds, over every place it is printed: digits}
        self.nums = [
            (num, {sum(_width(digits, commas) for commas in styles[id(num)]): digits for digits in num.digit_counts()})
            for num in nums
        ]
        reachable: list[set[int]] = [{0}]  # built backwards: reachable[k] = what the numbers from k on can add
        for _, added in reversed(self.nums):
            reachable.append({before + width for before in reachable[-1] for width in added})
        self._reachable = list(reversed(reachable))
        self.sizes = sorted(fixed + extra for extra in self._reachable[0])

    def realise(self, size: int, rng: random.Random) -> list[tuple[int, list[str | Counter | Clock]]]:
        """The event's lines, (after_ms, pieces), with numbers whose widths make ``size`` bytes in all."""
        left = size - self.fixed
        values: dict[int, int] = {}
        for number, (num, added) in enumerate(self.nums):
            width = rng.choice([width for width in added if left - width in self._reachable[number + 1]])
            values[id(num)] = num.value(rng, added[width])
            left -= width
        lines: list[tuple[int, list[str | Counter | Clock]]] = []
        for line in self.event.lines:
            pieces: list[str | Counter | Clock] = []
            for part in line.parts:
                if isinstance(part, Num | Plain):
                    num = part if isinstance(part, Num) else part.num
                    pieces.append(_printed(values[id(num)], isinstance(part, Num) and num.commas))
                else:
                    pieces.append(part)
            lines.append((line.after_ms, pieces))
        return lines


@dataclass(slots=True)
class _Layout:
    """A template made exactly ``BLOCK_SIZE`` bytes for one total counter width.

    ``fmt % gather(stamps + counters + clocks)`` is the block: the values are computed kind by kind
    (a list comprehension each) and put in the format's order by one ``itemgetter`` call.
    """

    fmt: bytes
    stamps: list[int]  # the lines' distinct times, ms after the block's start
    clocks: list[tuple[Callable[[int], bytes], int]]  # distinct clock slots: function, time in the block
    # periodic clocks, each once a block: function, period, its distinct slots' times in the block
    periodic: list[tuple[Callable[[int], bytes], int, list[int]]]
    gather: Callable[[list[bytes]], tuple[bytes, ...]]


@dataclass(slots=True)
class _Template:
    """One of a task's block templates: its events, fillers to end with, and what its counters are."""

    events: list[_Sized]
    fillers: list[_Sized]
    refs: list[tuple[str, int, float, int]]  # per counter printed: (name, add, place in block 0..1, own tally)
    kinds: dict[str, int]  # events of each kind
    kind_starts: dict[str, list[int]]  # where each kind's events start, in bytes (at their shortest)
    layouts: dict[int, _Layout] = field(default_factory=dict)
    # Set once the counters are settled: the distinct counters, plain growing ones first
    # (constant, place, per block), then the others (tally kind or None, constant, place, per block,
    # cap, style); and, for each ref, where its text is among them.
    growing: list[tuple[int, int]] = field(default_factory=list)  # (constant, series)
    series: list[float] = field(default_factory=list)  # each growing series' per-block growth
    others: list[tuple[str | None, int, float, float, int | None, str]] = field(default_factory=list)
    slots: list[int] = field(default_factory=list)
    repeats: list[int] = field(default_factory=list)  # how many refs print each distinct counter


class BlockWriter:
    """The body blocks of one task's log: templates made once, blocks rendered on demand."""

    def __init__(self, source: EventSource, seed: str, bytes_per_ms: float, max_blocks: int) -> None:
        self.source = source
        self.seed = seed
        self.rate = bytes_per_ms
        self._clock_names = sorted(source.clocks)
        self._clocks = [source.clocks[name] for name in self._clock_names]
        # Clocks print fixed-width text whatever the time (see Clock).
        self._widths = {name: len(fn(_SAMPLE_MS)) for name, fn in source.clocks.items()}
        self._max_blocks = max(1, max_blocks)
        self.templates = [self._template(number) for number in range(TEMPLATES)]
        kinds = {kind for template in self.templates for kind in template.kinds}
        self._per_cycle = {kind: sum(t.kinds.get(kind, 0) for t in self.templates) for kind in kinds}
        self._before = {
            kind: [sum(t.kinds.get(kind, 0) for t in self.templates[:number]) for number in range(TEMPLATES)]
            for kind in kinds
        }
        source.settle(self)
        for template in self.templates:
            self._compile(template)

    def _compile(self, template: _Template) -> None:
        """Each distinct counter of the template once (an offset printed twice in a line is one)."""
        compiled: list[tuple[str | None, int, float, float, int | None, str]] = []
        for name, add, place, own in template.refs:
            spec = self.source.counters[name]
            if isinstance(spec, Growing):
                compiled.append((None, spec.base + add, place, spec.per_block, None, spec.style))
            else:
                compiled.append((spec.kind, spec.start + own + add, 0.0, 0.0, spec.cap, spec.style))
                self._per_cycle.setdefault(spec.kind, 0)  # a kind no template has counts 0
                self._before.setdefault(spec.kind, [0] * TEMPLATES)
        distinct = sorted(
            set(compiled), key=lambda item: (item[0] is not None or item[5] != "plain", compiled.index(item))
        )
        plain = [item for item in distinct if item[0] is None and item[5] == "plain"]
        # int(index * per) + int(place * per) never decreases along the log (floor(a) + floor(b) <= floor(a + b)),
        # so each series is one multiplication a block, and each counter of it one addition.
        template.series = sorted({per for _, _, _, per, _, _ in plain})
        template.growing = [(c + int(place * per), template.series.index(per)) for _, c, place, per, _, _ in plain]
        template.others = distinct[len(plain) :]
        template.slots = [distinct.index(item) for item in compiled]
        template.repeats = [template.slots.count(number) for number in range(len(distinct))]

    # -- rendering --------------------------------------------------------------------------------

    def block(self, index: int, start_ms: int) -> bytes:
        """Block ``index`` of a body whose first byte was written at ``start_ms``."""
        number = index % TEMPLATES
        template = self.templates[number]
        t0 = start_ms + int(index * BLOCK_SIZE / self.rate)
        counters = self._counter_texts(template, index)
        width = sum(map(mul, map(len, counters), template.repeats))
        layout = template.layouts.get(width) or self._layout(number, width)
        prefixes, millis = _SECOND_PREFIXES, _MILLIS
        values = [
            (prefixes.get((ms := t0 + rel) // 1000) or _second_prefix(ms // 1000)) + millis[ms % 1000]
            for rel in layout.stamps
        ]
        values += counters
        values += [clock(t0 + rel) for clock, rel in layout.clocks]
        for clock, period, rels in layout.periodic:
            first, last = t0 + rels[0], t0 + rels[-1]
            if first // period == last // period:
                values += [clock(first)] * len(rels)
            else:
                values += [clock(t0 + rel) for rel in rels]
        return layout.fmt % layout.gather(values)

    def _counter_texts(self, template: _Template, index: int) -> list[bytes]:
        """The template's distinct counters' texts for block ``index`` (see ``_Template.slots``)."""
        grown = [int(index * per) for per in template.series]
        texts = [b"%d" % (constant + grown[series]) for constant, series in template.growing]
        cycles, number = divmod(index, TEMPLATES)
        for kind, constant, place, per, cap, style in template.others:
            if kind is None:
                value = constant + int((index + place) * per)
            else:
                value = constant + cycles * self._per_cycle[kind] + self._before[kind][number]
                if cap is not None and value > cap:
                    value = cap
            texts.append(b"%d" % value if style == "plain" else styled(value, style).encode())
        return texts

    def tally_before(self, kind: str, index: int) -> int:
        """Events of ``kind`` in the blocks before block ``index``."""
        cycles, number = divmod(index, TEMPLATES)
        before = self._before.get(kind)
        return 0 if before is None else cycles * self._per_cycle[kind] + before[number]

    def tally_through(self, kind: str, body_bytes: int) -> int:
        """Events of ``kind`` that start within the first ``body_bytes`` bytes of the body."""
        index, inner = divmod(body_bytes, BLOCK_SIZE)
        starts = self.templates[index % TEMPLATES].kind_starts.get(kind, [])
        return self.tally_before(kind, index) + sum(1 for start in starts if start < inner)

    def growing_at(self, name: str, body_bytes: int) -> int:
        """A :class:`Growing` counter's value after ``body_bytes`` bytes of body."""
        spec = self.source.counters[name]
        assert isinstance(spec, Growing)
        return spec.base + int(body_bytes / BLOCK_SIZE * spec.per_block)

    # -- building templates ------------------------------------------------------------------------

    def _max_width(self, name: str) -> int:
        spec = self.source.counters[name]
        if isinstance(spec, Growing):
            top = spec.base + int(abs(spec.per_block) * (self._max_blocks + 1))
        else:
            top = spec.start + 100 * (self._max_blocks + 1) if spec.cap is None else spec.cap
        return len(styled(max(top, 1) * 10, spec.style)) + 1  # a digit and a comma of margin

    def _template(self, number: int) -> _Template:
        """Events that fill a block, leaving room its fillers can fill exactly whatever the counters take.

        The fillers' subset sums have gaps at small lengths (they are all a few hundred bytes) and
        none beyond some length; events are added while the room left stays beyond it.
        """
        rng = random.Random(f"{self.seed}:template:{number}")
        fillers = self._fillers(rng)
        room = _gapless_from(fillers)
        events: list[_Sized] = []
        refs: list[tuple[str, int, float, int]] = []
        kinds: dict[str, int] = {}
        kind_starts: dict[str, list[int]] = {}
        shortest = reserve = misses = 0
        while misses < _HEAD_MISSES:
            sized = _Sized(self._widths, self.source.event(rng))
            most = sum(self._max_width(counter.name) for counter in sized.counters)
            if shortest + sized.sizes[0] + reserve + most > BLOCK_SIZE - room:
                misses += 1
                continue
            kind = sized.event.kind
            kinds[kind] = kinds.get(kind, 0) + 1
            kind_starts.setdefault(kind, []).append(shortest)
            for counter in sized.counters:
                spec = self.source.counters[counter.name]
                own = kinds.get(spec.kind, 0) if isinstance(spec, Tally) else 0
                refs.append((counter.name, counter.add, shortest / BLOCK_SIZE, own))
            events.append(sized)
            shortest += sized.sizes[0]
            reserve += most
        return _Template(events, fillers, refs, kinds, kind_starts)

    def _fillers(self, rng: random.Random) -> list[_Sized]:
        fillers = [_Sized(self._widths, self.source.filler(rng)) for _ in range(_FIT_POOL)]
        for filler in fillers:
            if filler.counters:
                raise ValueError(f"a filler event may not use counters ({filler.counters[0].name!r})")
        return fillers

    def _layout(self, number: int, width: int) -> _Layout:
        """Template ``number`` at exactly ``BLOCK_SIZE`` bytes when its counters take ``width`` bytes.

        Every number's width is free and fillers may be added (see :func:`_exact`); when no choice of
        the template's fillers adds up, fresh ones are drawn.
        """
        template = self.templates[number]
        target = BLOCK_SIZE - width
        rng = random.Random(f"{self.seed}:layout:{number}:{width}")
        fillers = template.fillers
        for _ in range(_FIT_ATTEMPTS):
            chosen = _exact(template.events, fillers, target, rng)
            if chosen is not None:
                fmt: list[bytes] = []
                ops: list[tuple[int, int, int]] = []
                lines, end = self._lay_out(chosen, rng, fmt, ops, iter(range(len(template.refs))))
                assert end == target, (end, target)
                if not any(first == second for first, second in pairwise(lines)):
                    break
            fillers = self._fillers(rng)  # no choice of these adds up, or one line came twice in a millisecond
        else:
            raise RuntimeError(f"no layout of {number} makes {target} bytes; the task type needs more varied fillers")
        # Each distinct stamp and clock value is computed once a block (a fast log's lines share a few
        # milliseconds); the gather puts every slot's value, repeated where needed, in format order.
        stamps = sorted({first for kind, first, _ in ops if kind == _STAMP})
        pairs = sorted({(first, second) for kind, first, second in ops if kind == _CLOCK})
        steady = [(clock, rel) for clock, rel in pairs if not isinstance(self._clocks[clock], Periodic)]
        periodic: dict[int, list[int]] = {}
        for clock, rel in pairs:
            if isinstance(self._clocks[clock], Periodic):
                periodic.setdefault(clock, []).append(rel)
        # where each clock slot's value sits after the stamps and counters: steady ones, then periodic
        place = {pair: number for number, pair in enumerate(steady)}
        for clock, rels in periodic.items():
            place.update({(clock, rel): len(place) for rel in rels})
        counters_at = len(stamps)
        clocks_at = counters_at + len(template.growing) + len(template.others)
        order = []
        for kind, first, second in ops:
            if kind == _STAMP:
                order.append(stamps.index(first))
            elif kind == _COUNTER:
                order.append(counters_at + template.slots[first])
            else:
                order.append(clocks_at + place[(first, second)])
        layout = template.layouts[width] = _Layout(
            b"".join(fmt),
            stamps,
            [(self._clocks[clock], rel) for clock, rel in steady],
            [(self._clocks[clock], self._clocks[clock].period_ms, rels) for clock, rels in periodic.items()],  # type: ignore[attr-defined]
            _gatherer(order),
        )
        return layout

    def _lay_out(
        self,
        chosen: list[tuple[_Sized, int]],
        rng: random.Random,
        fmt: list[bytes],
        ops: list[tuple[int, int, int]],
        counters: Iterator[int],
    ) -> tuple[list[tuple[int, tuple[str | Counter | Clock, ...]]], int]:
        """Emit the chosen events at their lengths: each line as (time in block, pieces), and the end.

        Back-to-back metrics with different metrics are one emission, as the monitor writes them.
        """
        events: list[tuple[str, list[tuple[int, list[str | Counter | Clock]]]]] = []
        for sized, size in chosen:
            lines = sized.realise(size, rng)
            if events and sized.event.kind == "metrics" and events[-1][0] == "metrics":
                shapes = {_shape(pieces) for _, pieces in events[-1][1]}
                if not shapes & {_shape(pieces) for _, pieces in lines}:
                    since = events[-1][1][-1][0]  # the emission's delays run on
                    events[-1][1].extend((since + after, pieces) for after, pieces in lines)
                    continue
            events.append((sized.event.kind, lines))
        offset = 0
        placed: list[tuple[int, tuple[str | Counter | Clock, ...]]] = []
        for _, lines in events:
            offset = self._emit(lines, offset, fmt, ops, counters, placed)
        return placed, offset

    def _emit(
        self,
        lines: list[tuple[int, list[str | Counter | Clock]]],
        offset: int,
        fmt: list[bytes],
        ops: list[tuple[int, int, int]],
        counters: Iterator[int],
        placed: list[tuple[int, tuple[str | Counter | Clock, ...]]],
    ) -> int:
        """Append an event's format and slots at byte ``offset`` of the block; returns the new offset.

        A line's time is the event's time plus its own delay, but never later than the moment its
        first byte is due (so a line is never visible before its timestamp). The offset counts
        counters as empty, which puts each line at or before its real place.
        """
        rate = self.rate
        event_rel = int(offset / rate)
        for after_ms, pieces in lines:
            rel = min(int(offset / rate), event_rel + after_ms)
            placed.append((rel, tuple(pieces)))
            fmt.append(b"%s ")
            ops.append((_STAMP, rel, 0))
            offset += STAMP_WIDTH + 1
            for piece in pieces:
                if isinstance(piece, str):
                    fmt.append(piece.encode().replace(b"%", b"%%"))
                    offset += len(piece)
                elif isinstance(piece, Clock):
                    fmt.append(b"%s")
                    ops.append((_CLOCK, self._clock_names.index(piece.name), rel + piece.delta_ms))
                    offset += self._widths[piece.name]
                else:
                    fmt.append(b"%s")
                    ops.append((_COUNTER, next(counters), 0))
            fmt.append(b"\n")
            offset += 1
        return offset


def _exact(
    events: list[_Sized], fillers: list[_Sized], target: int, rng: random.Random
) -> list[tuple[_Sized, int]] | None:
    """Every event at one of its lengths, and some fillers, making exactly ``target`` bytes; or None.

    Bit ``n`` of ``reach[k]`` says whether the first ``k`` options can make ``n`` bytes (events must be
    taken, fillers may be left out); walking back from ``target`` picks a length for each.
    """
    limit = (1 << (target + 1)) - 1
    options = events + fillers
    reach = [1]
    for position, option in enumerate(options):
        grown = reach[-1] if position >= len(events) else 0
        for size in option.sizes:
            grown |= reach[-1] << size
        reach.append(grown & limit)
    if not reach[-1] >> target & 1:
        return None
    chosen: list[tuple[_Sized, int]] = []
    rest = target
    for position in range(len(options) - 1, -1, -1):
        before = reach[position]
        sizes = [size for size in options[position].sizes if size <= rest and before >> (rest - size) & 1]
        optional = position >= len(events) and before >> rest & 1
        if sizes and not (optional and rng.random() < 0.5):
            size = rng.choice(sizes)
            chosen.append((options[position], size))
            rest -= size
    return chosen[::-1]


def _gapless_from(fillers: list[_Sized]) -> int:
    """The length from which every length up to ``BLOCK_SIZE`` is some choice of ``fillers``."""
    reach = 1
    limit = (1 << (BLOCK_SIZE + 1)) - 1
    for filler in fillers:
        grown = reach
        for size in filler.sizes:
            grown |= reach << size
        reach = grown & limit
    missing = ~reach & limit
    return missing.bit_length()  # one past the longest length the fillers cannot make


def _gatherer(order: list[int]) -> Callable[[list[bytes]], tuple[bytes, ...]]:
    """A function picking ``order``'s items, as a tuple, out of a list (one C call: ``itemgetter``)."""
    if len(order) == 1:
        only = order[0]
        return lambda values: (values[only],)
    return itemgetter(*order)


def _shape(pieces: list[str | Counter | Clock]) -> str:
    """A line's text without its numbers: the same metric, whatever its value, has the same shape."""
    return re.sub(r"\d+", "#", "".join(piece for piece in pieces if isinstance(piece, str)))
