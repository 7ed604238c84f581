"""Free appointment starts for one provider and one service: pure logic, no I/O, no clock.

Callers read opening hours, bookings and calendar busy times elsewhere and pass them in, along
with `now`, so every answer is deterministic.

Semantics
---------
* A start ``S`` occupies ``[S, S + duration + buffer)``. The appointment itself,
  ``[S, S + duration)``, must lie inside one opening interval of S's local day; the buffer may
  run past closing. Durations are real elapsed time, so 01:30 + 30 min on a fall-back day ends
  at the second 01:00.
* Busy intervals are half-open ``[start, end)`` aware datetimes (held/confirmed bookings, whose
  stored range already includes their buffer, and calendar busy times). Two ranges overlap when
  ``a.start < b.end and b.start < a.end``, so back-to-back ranges do not. Empty intervals are
  ignored; inverted ones raise ValueError.
* ``now + min_notice <= S <= now + horizon`` (both ends inclusive).
* Suggestions are generated on the local wall clock: from each opening interval's ``opens`` in
  steps of ``step``, localized in ``rules.tz``. Wall times skipped by a DST gap are not offered;
  ambiguous ones mean their first occurrence (fold=0).
* An opening bound (``opens``/``closes``) that falls in a DST gap means the first instant whose
  wall time is at or after it, i.e. the end of the gap: a 02:30 closing on a spring-forward day
  closes at 03:00 new time, when the clock passes 02:30.
* Explicit requests (`check_start`) need not be on the step grid: any start whose appointment
  fits inside opening hours is acceptable. The grid only shapes suggestions.
* Every returned datetime is in UTC. Convert with ``.astimezone(rules.tz)`` for display, and do
  arithmetic in UTC (or with `occupied_range`): adding a timedelta to a ZoneInfo datetime is
  wall-clock arithmetic and is wrong across DST transitions.
"""

import math
from bisect import bisect_right
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from core.errors import ConfigurationError

Interval = tuple[datetime, datetime]
"""A half-open ``[start, end)`` range of aware datetimes."""

Reason = Literal["past", "too_soon", "beyond_horizon", "outside_hours", "busy"]
"""Why `check_start` refuses a start; checked in this order."""


@dataclass(frozen=True, slots=True)
class OpeningHours:
    """One opening interval on a weekday (0=Monday .. 6=Sunday), local wall time, same day."""

    weekday: int
    opens: time
    closes: time

    def __post_init__(self) -> None:
        if not 0 <= self.weekday <= 6:
            raise ConfigurationError(f"weekday must be 0..6, got {self.weekday}")
        if self.opens.tzinfo is not None or self.closes.tzinfo is not None:
            raise ConfigurationError("opening hours are local wall times and must be naive")
        if self.opens >= self.closes:
            raise ConfigurationError(f"opening interval {self.opens}-{self.closes} is empty")


@dataclass(frozen=True, slots=True, kw_only=True)
class SchedulingRules:
    """How one service of one provider may be booked."""

    tz: ZoneInfo
    opening_hours: tuple[OpeningHours, ...]
    duration: timedelta
    step: timedelta
    horizon: timedelta
    buffer: timedelta = timedelta(0)
    min_notice: timedelta = timedelta(0)

    def __post_init__(self) -> None:
        # A list would make the frozen rules unhashable; accept it and store a tuple.
        object.__setattr__(self, "opening_hours", tuple(self.opening_hours))
        if self.duration <= timedelta(0) or self.step <= timedelta(0):
            raise ConfigurationError("duration and step must be positive")
        if min(self.buffer, self.min_notice, self.horizon) < timedelta(0):
            raise ConfigurationError("buffer, min_notice and horizon must not be negative")


def occupied_range(start: datetime, rules: SchedulingRules) -> Interval:
    """The UTC range ``[start, start + duration + buffer)`` a booking at `start` holds."""
    begin = _utc(start, "start")
    return begin, begin + rules.duration + rules.buffer


def free_starts_on(
    day: date, rules: SchedulingRules, busy: Iterable[Interval], now: datetime
) -> list[datetime]:
    """All free grid starts on local `day`, sorted, in UTC (empty on closed days)."""
    earliest, latest = _bookable_range(now, rules)
    return _free_on(day, rules, _BusyIndex(busy), earliest, latest)


def next_free_starts(
    after: datetime,
    rules: SchedulingRules,
    busy: Iterable[Interval],
    now: datetime,
    count: int = 3,
) -> list[datetime]:
    """The first `count` free grid starts at or after `after`, in UTC; fewer if the horizon ends."""
    earliest, latest = _bookable_range(now, rules)
    earliest = max(earliest, _utc(after, "after"))
    index = _BusyIndex(busy)
    found: list[datetime] = []
    if count <= 0:
        return found
    # Days ascend and each day's starts are sorted, so the first `count` found are the earliest.
    for day in _local_days(earliest, latest, rules.tz):
        for start in _free_on(day, rules, index, earliest, latest):
            found.append(start)
            if len(found) == count:
                return found
    return found


def next_open_day(
    after_day: date, rules: SchedulingRules, busy: Iterable[Interval], now: datetime
) -> tuple[date, list[datetime]] | None:
    """The first local day after `after_day` with a free start, and its starts; None if none."""
    earliest, latest = _bookable_range(now, rules)
    next_midnight = datetime.combine(after_day + timedelta(days=1), time())
    earliest = max(earliest, _bound_to_utc(next_midnight, rules.tz))
    index = _BusyIndex(busy)
    for day in _local_days(earliest, latest, rules.tz):
        starts = _free_on(day, rules, index, earliest, latest)
        if starts:
            return day, starts
    return None


def check_start(
    start: datetime, rules: SchedulingRules, busy: Iterable[Interval], now: datetime
) -> Reason | None:
    """Why `start` cannot be booked, or None when it can. Off-grid starts are acceptable."""
    begin = _utc(start, "start")
    earliest, latest = _bookable_range(now, rules)
    if begin < _utc(now, "now"):
        return "past"
    if begin < earliest:
        return "too_soon"
    if begin > latest:
        return "beyond_horizon"
    local_day = begin.astimezone(rules.tz).date()
    end = begin + rules.duration
    if not any(o <= begin and end <= c for _, o, c in _opening_windows(local_day, rules)):
        return "outside_hours"
    if _BusyIndex(busy).overlaps(*occupied_range(begin, rules)):
        return "busy"
    return None


class _BusyIndex:
    """Busy intervals merged into sorted, disjoint UTC runs: an overlap test is one bisect."""

    def __init__(self, busy: Iterable[Interval]) -> None:
        runs: list[list[datetime]] = []
        for start, end in sorted((_utc(s, "busy start"), _utc(e, "busy end")) for s, e in busy):
            if end < start:
                raise ValueError(f"busy interval ends before it starts: {start} > {end}")
            if end == start:
                continue
            if runs and start <= runs[-1][1]:
                runs[-1][1] = max(runs[-1][1], end)
            else:
                runs.append([start, end])
        self._starts = [run[0] for run in runs]
        self._ends = [run[1] for run in runs]

    def overlaps(self, start: datetime, end: datetime) -> bool:
        # Runs are disjoint, so their ends are sorted too: the only candidate is the first run
        # that ends after `start`.
        i = bisect_right(self._ends, start)
        return i < len(self._starts) and self._starts[i] < end


def _free_on(
    day: date, rules: SchedulingRules, busy: _BusyIndex, earliest: datetime, latest: datetime
) -> list[datetime]:
    found: set[datetime] = set()  # overlapping opening intervals may propose the same start
    for hours, _, closes_at in _opening_windows(day, rules):
        wall = datetime.combine(day, hours.opens)
        last_wall = datetime.combine(day, hours.closes)
        while wall < last_wall:
            start = _wall_to_utc(wall, rules.tz)
            wall += rules.step  # naive arithmetic on purpose: the grid is on the wall clock
            if start is None or not earliest <= start <= latest:
                continue
            if start + rules.duration <= closes_at and not busy.overlaps(
                *occupied_range(start, rules)
            ):
                found.add(start)
    return sorted(found)


def _opening_windows(
    day: date, rules: SchedulingRules
) -> list[tuple[OpeningHours, datetime, datetime]]:
    """`day`'s opening intervals, each with the UTC instants it opens and closes at."""
    return [
        (
            hours,
            _bound_to_utc(datetime.combine(day, hours.opens), rules.tz),
            _bound_to_utc(datetime.combine(day, hours.closes), rules.tz),
        )
        for hours in rules.opening_hours
        if hours.weekday == day.weekday()
    ]


def _bookable_range(now: datetime, rules: SchedulingRules) -> Interval:
    current = _utc(now, "now")
    return current + rules.min_notice, current + rules.horizon


def _local_days(earliest: datetime, latest: datetime, tz: ZoneInfo) -> Iterator[date]:
    """Local dates from `earliest`'s to `latest`'s, inclusive: every day that may hold a start."""
    day, last = earliest.astimezone(tz).date(), latest.astimezone(tz).date()
    while day <= last:
        yield day
        day += timedelta(days=1)


def _utc(value: datetime, what: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} must be a timezone-aware datetime, got {value!r}")
    return value.astimezone(UTC)


def _wall_to_utc(wall: datetime, tz: ZoneInfo) -> datetime | None:
    """The instant a naive local wall time names (first occurrence), or None if DST skips it."""
    instant = wall.replace(tzinfo=tz, fold=0).astimezone(UTC)
    # A skipped wall time does not survive the round trip: it comes back shifted by the gap.
    if instant.astimezone(tz).replace(tzinfo=None) != wall:
        return None
    return instant


def _bound_to_utc(wall: datetime, tz: ZoneInfo) -> datetime:
    """The first instant whose local wall time is at or after `wall` (the gap's end if skipped)."""
    instant = _wall_to_utc(wall, tz)
    if instant is not None:
        return instant
    # Inside a gap, fold=1 reads `wall` with the post-transition offset (an instant before the
    # transition) and fold=0 with the pre-transition one (an instant after it). Transitions fall
    # on whole UTC seconds, so bisect over seconds between the two.
    before = wall.replace(tzinfo=tz, fold=1).astimezone(UTC).replace(microsecond=0)
    after = wall.replace(tzinfo=tz, fold=0).astimezone(UTC)
    lo, hi = 0, math.ceil((after - before).total_seconds())
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if (before + timedelta(seconds=mid)).astimezone(tz).replace(tzinfo=None) >= wall:
            hi = mid
        else:
            lo = mid
    return before + timedelta(seconds=hi)
