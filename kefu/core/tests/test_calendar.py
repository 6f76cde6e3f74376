"""Business-hours arithmetic (W6: time promises on business-hours calendars with holidays and 调休;
S4: the 7×24 hotline). DB-free."""

from __future__ import annotations

import time as wallclock
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kefu.core.calendar import MAX_SEARCH_DAYS, BusinessCalendar
from kefu.core.holidays_cn import HOLIDAYS, MAKEUP_WORKDAYS, official_days

SH = ZoneInfo("Asia/Shanghai")
NY = ZoneInfo("America/New_York")
UTC = timezone.utc

HOLIDAY_DAYS, MAKEUP_DAYS = official_days([2024, 2025, 2026])
OFFICE = BusinessCalendar.office(holidays=HOLIDAY_DAYS, makeup_workdays=MAKEUP_DAYS)
OFFICE_LUNCH = BusinessCalendar.office(
    lunch=(time(12), time(13, 30)), holidays=HOLIDAY_DAYS, makeup_workdays=MAKEUP_DAYS
)
EVENING = BusinessCalendar(  # a night shift running to midnight, every day
    tz=SH, hours={wd: ((time(20), time(0)),) for wd in range(7)},
    holidays=frozenset(), makeup_workdays=frozenset(),
)
HOTLINE = BusinessCalendar.always_open()


def sh(*args: int) -> datetime:
    return datetime(*args, tzinfo=SH)


def ts(dt: datetime) -> float:
    """Compare instants, not wall clocks (same-zone datetime comparison ignores fold)."""
    return dt.timestamp()


# -- construction ---------------------------------------------------------------------------------

def test_w6_naive_datetimes_are_refused() -> None:
    naive = datetime(2025, 3, 3, 10)
    for call in (
        lambda: OFFICE.add_minutes(naive, 10),
        lambda: OFFICE.is_open(naive),
        lambda: OFFICE.next_open(naive),
        lambda: OFFICE.minutes_between(naive, sh(2025, 3, 3, 11)),
        lambda: OFFICE.minutes_between(sh(2025, 3, 3, 11), naive),
        lambda: HOTLINE.add_minutes(naive, 10),
    ):
        with pytest.raises(ValueError, match="timezone-aware"):
            call()


@pytest.mark.parametrize("minutes", [-1, -0.5, float("nan"), float("inf")])
def test_w6_negative_or_non_finite_minutes_are_refused(minutes: float) -> None:
    with pytest.raises(ValueError):
        OFFICE.add_minutes(sh(2025, 3, 3, 10), minutes)


@pytest.mark.parametrize(
    "hours",
    [
        {0: ((time(18), time(9)),)},  # reversed
        {0: ((time(9), time(9)),)},  # empty
        {0: ((time(9), time(12)), (time(11), time(14)))},  # overlapping
        {7: ((time(9), time(12)),)},  # no such weekday
        {0: ((time(9, tzinfo=UTC), time(12)),)},  # zone on a wall time
    ],
)
def test_invalid_hours_are_refused(hours: dict[int, tuple[tuple[time, time], ...]]) -> None:
    with pytest.raises(ValueError):
        BusinessCalendar(tz=SH, hours=hours, holidays=frozenset(), makeup_workdays=frozenset())


def test_a_day_cannot_be_holiday_and_makeup_day() -> None:
    with pytest.raises(ValueError, match="both"):
        BusinessCalendar.office(holidays=[date(2025, 1, 26)], makeup_workdays=[date(2025, 1, 26)])


def test_lunch_must_lie_inside_the_day() -> None:
    with pytest.raises(ValueError, match="lunch"):
        BusinessCalendar.office(lunch=(time(8), time(9)))


def test_touching_intervals_are_merged_and_hours_normalised() -> None:
    cal = BusinessCalendar(
        tz=SH, hours={0: ((time(12), time(18)), (time(9), time(12)))},
        holidays=frozenset(), makeup_workdays=frozenset(),
    )
    assert cal.hours is not None
    assert cal.hours[0] == ((time(9), time(18)),)
    assert cal.hours[6] == ()
    assert cal.intervals(date(2025, 3, 3)) == [(sh(2025, 3, 3, 9), sh(2025, 3, 3, 18))]


def test_calendars_are_hashable_values() -> None:
    a = BusinessCalendar.office(holidays=HOLIDAY_DAYS, makeup_workdays=MAKEUP_DAYS)
    assert a == OFFICE and hash(a) == hash(OFFICE)
    assert a != OFFICE_LUNCH
    assert len({a, OFFICE, HOTLINE}) == 2


# -- is_open / intervals / next_open --------------------------------------------------------------

def test_w6_is_open_includes_start_and_excludes_end() -> None:
    assert not OFFICE_LUNCH.is_open(sh(2025, 3, 3, 8, 59, 59))
    assert OFFICE_LUNCH.is_open(sh(2025, 3, 3, 9))
    assert not OFFICE_LUNCH.is_open(sh(2025, 3, 3, 12))  # lunch
    assert OFFICE_LUNCH.is_open(sh(2025, 3, 3, 13, 30))
    assert OFFICE_LUNCH.is_open(sh(2025, 3, 3, 17, 59, 59, 999999))
    assert not OFFICE_LUNCH.is_open(sh(2025, 3, 3, 18))
    assert not OFFICE.is_open(sh(2025, 3, 8, 10))  # Saturday


def test_w6_is_open_reads_the_instant_in_the_calendar_zone() -> None:
    # 01:00 UTC Monday is 09:00 in Shanghai.
    assert OFFICE.is_open(datetime(2025, 3, 3, 1, 0, tzinfo=UTC))
    assert not OFFICE.is_open(datetime(2025, 3, 3, 0, 59, tzinfo=UTC))


def test_w6_holidays_and_makeup_days() -> None:
    assert not OFFICE.is_open(sh(2025, 10, 8, 10))  # Wednesday inside 国庆节、中秋节
    assert OFFICE.is_open(sh(2025, 9, 28, 10))  # Sunday, 调休上班
    assert OFFICE.is_open(sh(2026, 1, 4, 10))  # Sunday, 元旦调休上班
    assert not OFFICE.is_open(sh(2026, 2, 16, 10))  # Monday, 春节
    assert OFFICE.intervals(date(2025, 10, 1)) == []
    assert OFFICE_LUNCH.intervals(date(2025, 9, 28)) == [
        (sh(2025, 9, 28, 9), sh(2025, 9, 28, 12)),
        (sh(2025, 9, 28, 13, 30), sh(2025, 9, 28, 18)),
    ]


def test_w6_makeup_hours_override() -> None:
    cal = BusinessCalendar(
        tz=SH, hours={wd: ((time(9), time(18)),) for wd in range(5)},
        holidays=frozenset(), makeup_workdays=frozenset({date(2025, 9, 28)}),
        makeup_hours=((time(10), time(16)),),
    )
    assert cal.intervals(date(2025, 9, 28)) == [(sh(2025, 9, 28, 10), sh(2025, 9, 28, 16))]
    assert cal.add_minutes(sh(2025, 9, 27, 12), 60) == sh(2025, 9, 28, 11)


def test_w6_makeup_hours_default_to_first_open_weekday_when_monday_is_closed() -> None:
    cal = BusinessCalendar(
        tz=SH, hours={1: ((time(8), time(12)),), 2: ((time(14), time(15)),)},
        holidays=frozenset(), makeup_workdays=frozenset({date(2025, 9, 28)}),
    )
    assert cal.intervals(date(2025, 9, 28)) == [(sh(2025, 9, 28, 8), sh(2025, 9, 28, 12))]


def test_intervals_ending_at_midnight() -> None:
    assert EVENING.intervals(date(2025, 3, 3)) == [(sh(2025, 3, 3, 20), sh(2025, 3, 4, 0))]
    assert EVENING.is_open(sh(2025, 3, 3, 23, 59, 59))
    assert not EVENING.is_open(sh(2025, 3, 4, 0))
    assert EVENING.add_minutes(sh(2025, 3, 3, 23, 30), 30) == sh(2025, 3, 4, 0)
    assert EVENING.add_minutes(sh(2025, 3, 3, 23, 30), 60) == sh(2025, 3, 4, 20, 30)
    assert EVENING.minutes_between(sh(2025, 3, 3, 12), sh(2025, 3, 5, 12)) == 2 * 4 * 60


def test_full_day_interval_is_seven_by_twenty_four() -> None:
    cal = BusinessCalendar(
        tz=SH, hours={wd: ((time(0), time(0)),) for wd in range(7)},
        holidays=frozenset(), makeup_workdays=frozenset(),
    )
    start = sh(2025, 3, 3, 7, 15)
    assert cal.add_minutes(start, 5000) == start + timedelta(minutes=5000)
    assert cal.minutes_between(start, start + timedelta(days=3)) == 3 * 24 * 60


def test_w6_next_open() -> None:
    assert OFFICE.next_open(sh(2025, 3, 3, 10)) == sh(2025, 3, 3, 10)  # open: unchanged
    assert OFFICE.next_open(sh(2025, 3, 3, 18)) == sh(2025, 3, 4, 9)
    assert OFFICE.next_open(sh(2025, 3, 7, 20)) == sh(2025, 3, 10, 9)  # Friday night → Monday
    assert OFFICE.next_open(sh(2025, 9, 30, 18)) == sh(2025, 10, 9, 9)  # National Day week
    assert OFFICE.next_open(sh(2025, 9, 27, 10)) == sh(2025, 9, 28, 9)  # Sat → 调休 Sunday
    result = OFFICE.next_open(datetime(2025, 3, 7, 12, tzinfo=UTC))  # 20:00 Friday in Shanghai
    assert result == sh(2025, 3, 10, 9) and result.tzinfo == SH


# -- add_minutes ------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("start", "minutes", "due"),
    [
        (sh(2025, 3, 3, 10), 0, sh(2025, 3, 3, 10)),
        (sh(2025, 3, 3, 7), 0, sh(2025, 3, 3, 9)),  # closed + 0 → next opening
        (sh(2025, 3, 3, 10), 60, sh(2025, 3, 3, 11)),
        (sh(2025, 3, 3, 17), 60, sh(2025, 3, 3, 18)),  # used up at closing: due at 18:00
        (sh(2025, 3, 3, 17), 61, sh(2025, 3, 4, 9, 1)),  # over night
        (sh(2025, 3, 7, 17), 120, sh(2025, 3, 10, 10)),  # over the weekend
        (sh(2025, 3, 8, 10), 30, sh(2025, 3, 10, 9, 30)),  # starts on a Saturday
        (sh(2025, 9, 30, 17), 120, sh(2025, 10, 9, 10)),  # over 国庆节、中秋节 (10-01..10-08)
        (sh(2025, 9, 26, 17), 120, sh(2025, 9, 28, 10)),  # Friday → 调休 Sunday 09-28
        (sh(2026, 2, 13, 17, 30), 60, sh(2026, 2, 14, 9, 30)),  # Fri → 调休 Sat, before 春节
        (sh(2026, 2, 14, 17), 120, sh(2026, 2, 24, 10)),  # 春节 2-15..2-23
        (sh(2025, 3, 3, 10), 1.5, sh(2025, 3, 3, 10, 1, 30)),  # fractional minutes
    ],
)
def test_w6_add_minutes_on_office_calendar(start: datetime, minutes: float, due: datetime) -> None:
    result = OFFICE.add_minutes(start, minutes)
    assert result == due
    assert result.tzinfo == SH


def test_w6_add_minutes_skips_lunch() -> None:
    assert OFFICE_LUNCH.add_minutes(sh(2025, 3, 3, 11, 30), 60) == sh(2025, 3, 3, 14)
    assert OFFICE_LUNCH.add_minutes(sh(2025, 3, 3, 12, 15), 0) == sh(2025, 3, 3, 13, 30)


def test_w6_refund_two_weeks_of_business_days() -> None:
    """003 §5.1: refunds within 2 weeks; 10 business days of 9 h starting Monday 2025-09-22."""
    start = sh(2025, 9, 22, 9)
    due = OFFICE.add_minutes(start, 10 * 9 * 60)
    # Open days: 9-22..9-26 (5), 9-28 调休 (1), 9-29, 9-30 (2), then 国庆 to 10-08, 10-09, 10-10 (2).
    assert due == sh(2025, 10, 10, 18)
    assert OFFICE.minutes_between(start, due) == 10 * 9 * 60


def test_w6_complaint_feedback_promise_on_hotline() -> None:
    """001 §1.2: complaint first response within 48 h on the 7×24 calendar."""
    start = sh(2025, 9, 30, 22, 17)
    assert HOTLINE.add_minutes(start, 48 * 60) == sh(2025, 10, 2, 22, 17)


def test_w6_seven_by_twenty_four_with_holidays_closes_whole_days() -> None:
    cal = BusinessCalendar(tz=SH, hours=None, holidays=frozenset({date(2025, 3, 4)}),
                           makeup_workdays=frozenset())
    assert cal.add_minutes(sh(2025, 3, 3, 23), 120) == sh(2025, 3, 5, 1)
    assert cal.minutes_between(sh(2025, 3, 3), sh(2025, 3, 6)) == 2 * 24 * 60


def test_w6_pause_resume_keeps_the_remaining_budget() -> None:
    """Pausing while waiting on the customer: what is left before the pause is due after it."""
    start = sh(2025, 3, 3, 16)
    due = OFFICE.add_minutes(start, 240)  # 2025-03-04 11:00
    paused_at, resumed_at = sh(2025, 3, 3, 17), sh(2025, 3, 5, 15, 20)
    remaining = OFFICE.minutes_between(paused_at, due)
    assert remaining == 180
    assert OFFICE.add_minutes(resumed_at, remaining) == sh(2025, 3, 6, 9, 20)


def test_w6_no_open_hours_raises_instead_of_looping() -> None:
    closed = BusinessCalendar(tz=SH, hours={}, holidays=frozenset(), makeup_workdays=frozenset())
    with pytest.raises(ValueError, match="no open hours"):
        closed.add_minutes(sh(2025, 3, 3, 10), 1)
    with pytest.raises(ValueError, match="no open hours"):
        closed.next_open(sh(2025, 3, 3, 10))
    assert closed.minutes_between(sh(2025, 1, 1), sh(2026, 1, 1)) == 0
    assert not closed.is_open(sh(2025, 3, 3, 10))


def test_w6_makeup_days_only_calendar_uses_them_then_raises() -> None:
    only_makeup = BusinessCalendar(
        tz=SH, hours={}, holidays=frozenset(),
        makeup_workdays=frozenset({date(2025, 9, 28), date(2025, 10, 11)}),
        makeup_hours=((time(9), time(10)),),
    )
    assert only_makeup.add_minutes(sh(2025, 1, 1), 90) == sh(2025, 10, 11, 9, 30)
    assert only_makeup.minutes_between(sh(2025, 1, 1), sh(2026, 1, 1)) == 120
    with pytest.raises(ValueError, match="no open hours"):
        only_makeup.add_minutes(sh(2025, 1, 1), 121)


def test_w6_absurd_budgets_fail_fast() -> None:
    began = wallclock.perf_counter()
    with pytest.raises(ValueError, match="horizon"):
        OFFICE.add_minutes(sh(2025, 3, 3, 10), 10**12)
    with pytest.raises(ValueError, match="horizon"):
        OFFICE.add_minutes(sh(2025, 3, 3, 10), MAX_SEARCH_DAYS * 24 * 60)
    assert wallclock.perf_counter() - began < 1.0


def test_w6_due_time_computation_is_fast() -> None:
    """A two-week promise (~30 calendar days) is computed day by day, not minute by minute."""
    start = sh(2025, 9, 22, 9)
    cal = BusinessCalendar.office(
        lunch=(time(12), time(13)), holidays=HOLIDAY_DAYS, makeup_workdays=MAKEUP_DAYS
    )
    began = wallclock.perf_counter()
    for _ in range(100):
        cal.add_minutes(start, 14 * 8 * 60)
    per_call = (wallclock.perf_counter() - began) / 100
    assert per_call < 0.005  # measured ~0.3 ms cold, ~0.03 ms warm


# -- minutes_between --------------------------------------------------------------------------------

def test_w6_minutes_between() -> None:
    assert OFFICE.minutes_between(sh(2025, 3, 3, 10), sh(2025, 3, 3, 10)) == 0
    assert OFFICE.minutes_between(sh(2025, 3, 3, 11), sh(2025, 3, 3, 10)) == 0  # reversed
    assert OFFICE.minutes_between(sh(2025, 3, 7, 17), sh(2025, 3, 10, 10)) == 120
    assert OFFICE.minutes_between(sh(2025, 3, 3, 10), sh(2025, 3, 3, 10, 0, 30)) == 0.5
    assert OFFICE_LUNCH.minutes_between(sh(2025, 3, 3, 0), sh(2025, 3, 4, 0)) == 7.5 * 60
    assert OFFICE.minutes_between(sh(2025, 9, 30, 0), sh(2025, 10, 10, 0)) == 2 * 9 * 60
    # Mixed zones are fine: both are instants.
    assert OFFICE.minutes_between(datetime(2025, 3, 3, 1, tzinfo=UTC), sh(2025, 3, 3, 10)) == 60


# -- DST correctness (any IANA zone may be configured) ----------------------------------------------

def test_w6_seven_by_twenty_four_counts_real_time_across_dst() -> None:
    cal = BusinessCalendar.always_open(tz=NY)
    start = datetime(2025, 3, 9, 1, 30, tzinfo=NY)  # EST; clocks jump 02:00 → 03:00
    due = cal.add_minutes(start, 60)
    assert due.isoformat() == "2025-03-09T03:30:00-04:00"
    assert cal.minutes_between(start, due) == 60


def test_w6_wall_clock_hours_on_dst_days_count_elapsed_time() -> None:
    night = BusinessCalendar(
        tz=NY, hours={wd: ((time(0), time(6)),) for wd in range(7)},
        holidays=frozenset(), makeup_workdays=frozenset(),
    )
    spring = night.intervals(date(2025, 3, 9))
    assert night.minutes_between(*spring[0]) == 5 * 60  # 00:00–06:00 lasts 5 h
    autumn = night.intervals(date(2025, 11, 2))
    assert night.minutes_between(*autumn[0]) == 7 * 60  # … and 7 h
    due = night.add_minutes(datetime(2025, 11, 2, 0, 30, tzinfo=NY), 6 * 60)
    assert due.isoformat() == "2025-11-02T05:30:00-05:00"


# -- properties -------------------------------------------------------------------------------------

CALENDARS = st.sampled_from([OFFICE, OFFICE_LUNCH, EVENING, HOTLINE, BusinessCalendar.always_open(tz=NY)])
STARTS = st.datetimes(
    min_value=datetime(2024, 1, 1), max_value=datetime(2026, 12, 31),
    timezones=st.sampled_from([SH, UTC, NY]), allow_imaginary=False,
)
MINUTES = st.integers(min_value=0, max_value=60 * 24 * 60)  # up to 60 days of business minutes


@settings(max_examples=300, deadline=None)
@given(cal=CALENDARS, start=STARTS, minutes=MINUTES)
def test_w6_property_minutes_between_inverts_add_minutes(
    cal: BusinessCalendar, start: datetime, minutes: int
) -> None:
    due = cal.add_minutes(start, minutes)
    assert cal.minutes_between(start, due) == minutes
    assert ts(due) >= ts(start)
    assert due.tzinfo == cal.tz


@settings(max_examples=200, deadline=None)
@given(cal=CALENDARS, start=STARTS, a=MINUTES, b=MINUTES)
def test_w6_property_add_minutes_is_monotonic_in_minutes(
    cal: BusinessCalendar, start: datetime, a: int, b: int
) -> None:
    lo, hi = sorted((a, b))
    assert ts(cal.add_minutes(start, lo)) <= ts(cal.add_minutes(start, hi))


@settings(max_examples=200, deadline=None)
@given(cal=CALENDARS, s1=STARTS, s2=STARTS, minutes=MINUTES)
def test_w6_property_add_minutes_is_monotonic_in_start(
    cal: BusinessCalendar, s1: datetime, s2: datetime, minutes: int
) -> None:
    early, late = sorted((s1, s2), key=ts)
    assert ts(cal.add_minutes(early, minutes)) <= ts(cal.add_minutes(late, minutes))


@settings(max_examples=200, deadline=None)
@given(start=STARTS, minutes=MINUTES, tz=st.sampled_from([SH, NY]))
def test_s4_property_hotline_adds_real_minutes(start: datetime, minutes: int, tz: ZoneInfo) -> None:
    due = BusinessCalendar.always_open(tz=tz).add_minutes(start, minutes)
    assert ts(due) == ts(start.astimezone(UTC) + timedelta(minutes=minutes))


@settings(max_examples=200, deadline=None)
@given(cal=CALENDARS, start=STARTS, minutes=st.integers(min_value=1, max_value=30 * 24 * 60))
def test_w6_property_due_time_is_inside_or_at_the_end_of_an_opening(
    cal: BusinessCalendar, start: datetime, minutes: int
) -> None:
    due = cal.add_minutes(start, minutes)
    ends = [ts(e) for _, e in cal.intervals(due.date())]
    if due.time() == time(0):  # an interval ending at midnight belongs to the previous day
        ends += [ts(e) for _, e in cal.intervals(due.date() - timedelta(days=1))]
    assert cal.is_open(due) or ts(due) in ends


@settings(max_examples=200, deadline=None)
@given(cal=CALENDARS, start=STARTS)
def test_w6_property_next_open_is_open_and_costs_nothing(cal: BusinessCalendar, start: datetime) -> None:
    opened = cal.next_open(start)
    assert cal.is_open(opened)
    assert cal.minutes_between(start, opened) == 0
    assert ts(opened) >= ts(start)


@settings(max_examples=200, deadline=None)
@given(cal=CALENDARS, a=STARTS, b=STARTS, c=STARTS)
def test_w6_property_minutes_between_is_additive(
    cal: BusinessCalendar, a: datetime, b: datetime, c: datetime
) -> None:
    a, b, c = sorted((a, b, c), key=ts)
    whole = cal.minutes_between(a, c)
    assert whole == pytest.approx(cal.minutes_between(a, b) + cal.minutes_between(b, c), abs=1e-9)


def test_w6_official_seed_data_drives_the_calendar() -> None:
    """Every official holiday is closed and every 调休 day is open on the office calendar."""
    for year in HOLIDAYS:
        for first, last, _ in HOLIDAYS[year]:
            day = first
            while day <= last:
                assert OFFICE.intervals(day) == [], day
                day += timedelta(days=1)
        for day, _ in MAKEUP_WORKDAYS[year]:
            assert OFFICE.intervals(day) == [(sh(day.year, day.month, day.day, 9),
                                              sh(day.year, day.month, day.day, 18))]


# -- official holiday data (kefu.core.holidays_cn) --------------------------------------------------

# "共N天" of each notice, in notice order.
NOTICE_DAY_COUNTS = {
    2024: [3, 8, 3, 5, 3, 3, 7],
    2025: [1, 8, 3, 5, 3, 8],
    2026: [3, 9, 3, 5, 3, 3, 7],
}


def test_w6_holiday_periods_match_the_notices() -> None:
    assert sorted(HOLIDAYS) == sorted(MAKEUP_WORKDAYS) == [2024, 2025, 2026]
    for year, periods in HOLIDAYS.items():
        assert [(last - first).days + 1 for first, last, _ in periods] == NOTICE_DAY_COUNTS[year]
        starts = [first for first, _, _ in periods]
        assert starts == sorted(starts)


def test_w6_makeup_workdays_are_weekends_outside_holidays() -> None:
    holidays, makeup = official_days([2024, 2025, 2026])
    assert not holidays & makeup
    assert all(day.weekday() >= 5 for day in makeup)
    assert len(makeup) == 8 + 5 + 6


def test_w6_2025_rule_adds_eve_and_labour_day() -> None:
    """2025 amendment: 春节 from 除夕 (1-28) and 劳动节 with 5-02 as statutory days."""
    holidays, makeup = official_days([2025])
    assert date(2025, 1, 28) in holidays and date(2025, 5, 2) in holidays
    assert date(2025, 1, 26) in makeup and date(2025, 2, 8) in makeup


def test_w6_official_days_refuses_unknown_years() -> None:
    with pytest.raises(ValueError, match="2027"):
        official_days([2026, 2027])
    assert official_days([]) == (frozenset(), frozenset())
