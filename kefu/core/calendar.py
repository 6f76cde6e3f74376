"""Business-hours arithmetic: the one module every SLA due time goes through (W6).

A :class:`BusinessCalendar` says when a team is open: weekly opening intervals, public holidays
(closed all day) and 调休 make-up working days (open although a weekend). Its methods answer the
questions an SLA needs: is it open now, when does it next open, when are N business minutes used up,
and how many business minutes lie between two instants (the "pause while waiting on the customer"
part of W6 is `minutes_between` of the paused span subtracted from the budget).

Guarantees, for every method:

* Inputs must be timezone-aware ``datetime``s (``ValueError`` otherwise); results are aware
  datetimes in the calendar's zone (default ``Asia/Shanghai``).
* Opening hours are wall-clock hours of the calendar's zone; durations are real elapsed time.
  All arithmetic is done on UTC microseconds, so a day on which clocks change (not in China since
  1991, but a calendar may use any IANA zone) counts the hours that really pass.
  A wall time that does not exist (spring-forward gap) or exists twice (fall-back) is read with
  ``fold=0``, i.e. with the offset in force before the transition.
* Precision is one microsecond; ``minutes_between`` returns float minutes, and
  ``minutes_between(s, add_minutes(s, m)) == m`` holds exactly for whole minutes.
* Work is proportional to the number of calendar days spanned, never to the number of minutes;
  a calendar with no open hours at all makes `add_minutes`/`next_open` raise ``ValueError``
  instead of looping.

Pure Python, no Django: holidays and make-up days are passed in (the tickets app loads the rows an
administrator edits, seeded from :mod:`kefu.core.holidays_cn`).
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from types import MappingProxyType
from zoneinfo import ZoneInfo

__all__ = [
    "DEFAULT_TZ",
    "MAX_SEARCH_DAYS",
    "BusinessCalendar",
    "DayHours",
    "Interval",
]

DEFAULT_TZ = ZoneInfo("Asia/Shanghai")

Interval = tuple[time, time]
"""An opening interval ``(start, end)`` of wall-clock times; ``end == time(0)`` means 24:00."""
DayHours = tuple[Interval, ...]

#: `add_minutes` gives up (``ValueError``) when the due time would lie more than this many calendar
#: days after the start: no time promise is that long, and it bounds the work for absurd inputs.
MAX_SEARCH_DAYS = 366 * 100

_US_PER_MINUTE = 60_000_000
_US_PER_DAY = 86_400_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_ONE_US = timedelta(microseconds=1)
_ONE_DAY = timedelta(days=1)
_SPAN_CACHE_SIZE = 4096

# Opening intervals of one day as microseconds after local midnight; an end may equal _US_PER_DAY.
_WallSpans = tuple[tuple[int, int], ...]


def _time_us(t: time) -> int:
    return ((t.hour * 60 + t.minute) * 60 + t.second) * 1_000_000 + t.microsecond


def _us_time(us: int) -> time:
    if us == _US_PER_DAY:
        return time(0)
    seconds, micro = divmod(us, 1_000_000)
    minutes, second = divmod(seconds, 60)
    hour, minute = divmod(minutes, 60)
    return time(hour, minute, second, micro)


def _normalize_day(intervals: Iterable[Interval], *, what: str) -> _WallSpans:
    """Validate one day's intervals; return them sorted, with touching intervals merged."""
    spans: list[tuple[int, int]] = []
    for interval in intervals:
        try:
            start, end = interval
        except (TypeError, ValueError):
            raise ValueError(f"{what}: an interval must be a (start, end) pair, got {interval!r}") from None
        if not isinstance(start, time) or not isinstance(end, time):
            raise ValueError(f"{what}: interval bounds must be datetime.time, got {interval!r}")
        if start.tzinfo is not None or end.tzinfo is not None:
            # Hours are wall-clock times of the calendar's zone; a zone on the time would be ignored.
            raise ValueError(f"{what}: interval times must be naive (the calendar's zone applies)")
        s = _time_us(start)
        e = _time_us(end) or _US_PER_DAY  # time(0) as an end is 24:00
        if s >= e:
            raise ValueError(f"{what}: interval {start}-{end} is empty or reversed")
        spans.append((s, e))
    spans.sort()
    merged: list[tuple[int, int]] = []
    for s, e in spans:
        if merged and s < merged[-1][1]:
            raise ValueError(f"{what}: intervals overlap")
        if merged and s == merged[-1][1]:
            merged[-1] = (merged[-1][0], e)
        else:
            merged.append((s, e))
    return tuple(merged)


def _spans_hours(spans: _WallSpans) -> DayHours:
    return tuple((_us_time(s), _us_time(e)) for s, e in spans)


def _date_set(values: Iterable[date], *, what: str) -> frozenset[date]:
    out = frozenset(values)
    for d in out:
        # datetime is a subclass of date; a datetime here would silently never match a day.
        if not isinstance(d, date) or isinstance(d, datetime):
            raise ValueError(f"{what} must contain datetime.date values, got {d!r}")
    return out


def _minutes_us(minutes: float) -> int:
    if isinstance(minutes, bool) or not isinstance(minutes, (int, float)):
        raise TypeError(f"minutes must be a number, got {minutes!r}")
    if isinstance(minutes, float) and not math.isfinite(minutes):
        raise ValueError("minutes must be finite")
    if minutes < 0:
        raise ValueError("minutes must not be negative")
    if isinstance(minutes, int):
        return minutes * _US_PER_MINUTE
    return round(minutes * _US_PER_MINUTE)


@dataclass(frozen=True)
class BusinessCalendar:
    """When a team is open, and SLA arithmetic over those hours (W6).

    ``hours`` maps a weekday (0 = Monday … 6 = Sunday) to its opening intervals; a weekday that is
    missing or maps to ``()`` is closed. ``hours=None`` means open 24 hours every day (7×24 hotline,
    S4); holidays still close such a calendar, make-up days change nothing.
    ``holidays`` are closed all day whatever their weekday. ``makeup_workdays`` (调休上班) are open
    with ``makeup_hours``, whatever their weekday; ``makeup_hours=None`` means Monday's hours (or,
    if Monday is closed, those of the first weekday that has any). A date may not be both.

    Intervals are validated on construction (``ValueError`` for reversed, empty or overlapping
    ones); touching intervals are merged, and ``hours`` is stored as a read-only mapping of all
    seven weekdays. Instances are immutable and hashable, so they can key a cache.
    """

    tz: ZoneInfo
    hours: Mapping[int, DayHours] | None
    holidays: frozenset[date]
    makeup_workdays: frozenset[date]
    makeup_hours: DayHours | None = None

    _week: tuple[_WallSpans, ...] = field(init=False, repr=False, compare=False)
    _makeup: _WallSpans = field(init=False, repr=False, compare=False)
    _always: bool = field(init=False, repr=False, compare=False)
    _weekly_open: bool = field(init=False, repr=False, compare=False)
    _makeup_sorted: tuple[date, ...] = field(init=False, repr=False, compare=False)
    # Per-instance memo of _spans(day): the same few weeks are computed for every open work order.
    # Pure cache, bounded; safe to share between threads (dict get/set are atomic).
    _span_cache: dict[date, tuple[tuple[int, int], ...]] = field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        if not isinstance(self.tz, tzinfo):
            raise ValueError(f"tz must be a zoneinfo.ZoneInfo, got {self.tz!r}")
        holidays = _date_set(self.holidays, what="holidays")
        makeup_days = _date_set(self.makeup_workdays, what="makeup_workdays")
        both = holidays & makeup_days
        if both:
            raise ValueError(f"dates cannot be both holiday and make-up workday: {sorted(both)}")

        full_day: _WallSpans = ((0, _US_PER_DAY),)
        if self.hours is None:
            week: tuple[_WallSpans, ...] = (full_day,) * 7
            hours: Mapping[int, DayHours] | None = None
        else:
            unknown = set(self.hours) - set(range(7))
            if unknown:
                raise ValueError(f"hours keys must be weekdays 0..6, got {sorted(unknown, key=repr)}")
            week = tuple(
                _normalize_day(self.hours.get(wd, ()), what=f"hours[{wd}]") for wd in range(7)
            )
            hours = MappingProxyType({wd: _spans_hours(week[wd]) for wd in range(7)})

        if self.hours is None:
            makeup = full_day  # 7×24: a make-up day is just another open day
            makeup_hours = (
                None if self.makeup_hours is None
                else _spans_hours(_normalize_day(self.makeup_hours, what="makeup_hours"))
            )
        elif self.makeup_hours is not None:
            makeup = _normalize_day(self.makeup_hours, what="makeup_hours")
            makeup_hours = _spans_hours(makeup)
        else:
            makeup = next((spans for spans in week if spans), ())
            makeup_hours = None

        set_ = object.__setattr__
        set_(self, "hours", hours)
        set_(self, "holidays", holidays)
        set_(self, "makeup_workdays", makeup_days)
        set_(self, "makeup_hours", makeup_hours)
        set_(self, "_week", week)
        set_(self, "_makeup", makeup)
        set_(self, "_always", self.hours is None and not holidays)
        set_(self, "_weekly_open", any(week))
        set_(self, "_makeup_sorted", tuple(sorted(makeup_days)) if makeup else ())
        set_(self, "_span_cache", {})

    def __hash__(self) -> int:
        return hash((self.tz, self.hours is None, self._week, self.makeup_hours, self._makeup,
                     self.holidays, self.makeup_workdays))

    # -- constructors --------------------------------------------------------------------------

    @classmethod
    def always_open(cls, *, tz: ZoneInfo = DEFAULT_TZ) -> BusinessCalendar:
        """A 7×24 calendar (the hotline, S4): every instant is open, so
        ``add_minutes(s, m) == s + m`` real minutes."""
        return cls(tz=tz, hours=None, holidays=frozenset(), makeup_workdays=frozenset())

    @classmethod
    def office(
        cls,
        *,
        tz: ZoneInfo = DEFAULT_TZ,
        start: time = time(9),
        end: time = time(18),
        lunch: tuple[time, time] | None = None,
        holidays: Iterable[date] = (),
        makeup_workdays: Iterable[date] = (),
    ) -> BusinessCalendar:
        """Office hours Monday to Friday, ``start``–``end`` minus an optional ``lunch`` break;
        make-up workdays get the same hours. ``end=time(0)`` means until midnight.

        Raises ``ValueError`` if the lunch break does not lie strictly inside the working day.
        """
        if lunch is None:
            day: DayHours = ((start, end),)
        else:
            lunch_start, lunch_end = lunch
            s, e = _time_us(start), _time_us(end) or _US_PER_DAY
            ls, le = _time_us(lunch_start), _time_us(lunch_end) or _US_PER_DAY
            if not s < ls < le < e:
                raise ValueError(f"lunch {lunch_start}-{lunch_end} must lie inside {start}-{end}")
            day = ((start, lunch_start), (lunch_end, end))
        return cls(
            tz=tz,
            hours={wd: day for wd in range(5)},
            holidays=frozenset(holidays),
            makeup_workdays=frozenset(makeup_workdays),
        )

    # -- queries -------------------------------------------------------------------------------

    def is_open(self, at: datetime) -> bool:
        """Whether ``at`` lies in an opening interval (start included, end excluded)."""
        t = self._instant(at, "at")
        if self._always:
            return True
        return any(s <= t < e for s, e in self._spans(self._local_date(t)))

    def intervals(self, day: date) -> list[tuple[datetime, datetime]]:
        """The opening intervals of local ``day``, as aware ``(start, end)`` pairs in the calendar's
        zone, in order; ``[]`` on a closed day. An interval open until midnight ends at 00:00 of the
        next day."""
        if not isinstance(day, date) or isinstance(day, datetime):
            raise ValueError(f"day must be a datetime.date, got {day!r}")
        return [(self._to_dt(s), self._to_dt(e)) for s, e in self._spans(day)]

    def next_open(self, at: datetime) -> datetime:
        """``at`` itself if open, else the start of the next opening interval.

        Raises ``ValueError`` if the calendar never opens again.
        """
        return self.add_minutes(at, 0)

    def add_minutes(self, start: datetime, minutes: float) -> datetime:
        """The instant at which ``minutes`` business minutes have elapsed after ``start`` (W6 due time).

        Counting starts at ``start`` if open, otherwise at the next opening, so ``minutes=0`` on a
        closed moment returns the next opening. A budget used up exactly at the end of an interval
        returns that end (18:00, not 09:00 next day). ``minutes`` may be fractional (e.g. what is
        left of a paused SLA); it is rounded to the microsecond. Monotonic in both arguments.

        Raises ``ValueError`` for a naive ``start``, negative or non-finite ``minutes``, a calendar
        that has no open hours left, or a result more than :data:`MAX_SEARCH_DAYS` days ahead.
        """
        t = self._instant(start, "start")
        remaining = _minutes_us(minutes)
        if self._always:
            return self._to_dt(t + remaining)
        # Never more than ~25 h of business time in a local day (24 h + a DST hour).
        if remaining > MAX_SEARCH_DAYS * (_US_PER_DAY + _US_PER_DAY // 24):
            raise ValueError(f"{minutes} business minutes exceed the {MAX_SEARCH_DAYS}-day horizon")
        day = self._local_date(t)
        first_day = day
        while True:
            for s, e in self._spans(day):
                if e <= t:
                    continue
                s = max(s, t)
                if remaining <= e - s:
                    return self._to_dt(s + remaining)
                remaining -= e - s
            day = self._next_day(day)
            if (day - first_day).days > MAX_SEARCH_DAYS:
                raise ValueError(
                    f"{minutes} business minutes after {start.isoformat()} exceed the "
                    f"{MAX_SEARCH_DAYS}-day horizon"
                )

    def minutes_between(self, a: datetime, b: datetime) -> float:
        """Business minutes in ``[a, b)``; ``0.0`` if ``b <= a``.

        A float with microsecond resolution: whole minutes when both ends fall on whole minutes.
        """
        ta = self._instant(a, "a")
        tb = self._instant(b, "b")
        if tb <= ta:
            return 0.0
        if self._always:
            return (tb - ta) / _US_PER_MINUTE
        total = 0
        last = self._local_date(tb)
        day = self._local_date(ta)
        if not self._weekly_open:
            days: Iterable[date] = self._makeup_days_between(day, last)
        else:
            days = (day + timedelta(days=i) for i in range((last - day).days + 1))
        for d in days:
            for s, e in self._spans(d):
                lo, hi = max(s, ta), min(e, tb)
                if hi > lo:
                    total += hi - lo
        return total / _US_PER_MINUTE

    # -- internals -----------------------------------------------------------------------------

    def _wall_spans(self, day: date) -> _WallSpans:
        if day in self.holidays:
            return ()
        if day in self.makeup_workdays:
            return self._makeup
        return self._week[day.weekday()]

    def _spans(self, day: date) -> tuple[tuple[int, int], ...]:
        """Opening intervals of local ``day`` as UTC microseconds, empty ones dropped."""
        cached = self._span_cache.get(day)
        if cached is not None:
            return cached
        wall = self._wall_spans(day)
        if not wall:
            return ()
        midnight = datetime(day.year, day.month, day.day)
        tz = self.tz
        out: list[tuple[int, int]] = []
        for ws, we in wall:
            # Naive wall time + offset, then the zone: wall-clock hours, real elapsed time.
            s = ((midnight + timedelta(microseconds=ws)).replace(tzinfo=tz) - _EPOCH) // _ONE_US
            e = ((midnight + timedelta(microseconds=we)).replace(tzinfo=tz) - _EPOCH) // _ONE_US
            if e > s:  # an interval inside a DST gap can shrink to nothing
                out.append((s, e))
        spans = tuple(out)
        if len(self._span_cache) >= _SPAN_CACHE_SIZE:
            self._span_cache.clear()
        self._span_cache[day] = spans
        return spans

    def _next_day(self, day: date) -> date:
        if self._weekly_open:
            try:
                return day + _ONE_DAY
            except OverflowError:
                raise ValueError("business time runs past the last representable date") from None
        # Only make-up days can be open: jump to the next one instead of walking the calendar.
        i = bisect.bisect_right(self._makeup_sorted, day)
        if i == len(self._makeup_sorted):
            raise ValueError("the calendar has no open hours after " + day.isoformat())
        return self._makeup_sorted[i]

    def _makeup_days_between(self, first: date, last: date) -> list[date]:
        lo = bisect.bisect_left(self._makeup_sorted, first)
        hi = bisect.bisect_right(self._makeup_sorted, last)
        return list(self._makeup_sorted[lo:hi])

    def _local_date(self, t: int) -> date:
        return self._to_dt(t).date()

    def _to_dt(self, t: int) -> datetime:
        return (_EPOCH + timedelta(microseconds=t)).astimezone(self.tz)

    @staticmethod
    def _instant(value: datetime, name: str) -> int:
        if not isinstance(value, datetime):
            raise TypeError(f"{name} must be a datetime, got {value!r}")
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"{name} must be timezone-aware, got naive {value.isoformat()}")
        return (value - _EPOCH) // _ONE_US
