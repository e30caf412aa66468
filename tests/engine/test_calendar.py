"""Working-day arithmetic against the official 2025 and 2026 schedules (§82 行政许可法).

Expected dates are worked out by hand from the State Council's notices; the comments
show the counting. Deadlines end at 17:30 Beijing time, which is 09:30 UTC.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest

from engine.calendar import (
    CalendarError,
    MissingYearError,
    WorkCalendar,
    YearSchedule,
    parse_schedule_file,
    schedule_to_toml,
    schedules_from_chinese_calendar,
)
from engine.errors import XiaonengError

BEIJING = ZoneInfo("Asia/Shanghai")
EXAMPLE_2027 = Path(__file__).resolve().parents[2] / "demo" / "holidays-2027.example.toml"
LIBRARY = schedules_from_chinese_calendar()


def bj(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A moment in Beijing time."""
    return datetime(year, month, day, hour, minute, tzinfo=BEIJING)


def deadline(year: int, month: int, day: int) -> datetime:
    """Close of business (17:30 Beijing) on a date, as the UTC datetime the engine gets."""
    return datetime(year, month, day, 9, 30, tzinfo=UTC)


def example_2027() -> YearSchedule:
    return parse_schedule_file(EXAMPLE_2027.read_bytes(), name=EXAMPLE_2027.name)


@pytest.fixture
def cal() -> WorkCalendar:
    return WorkCalendar(LIBRARY)


# -- the data ---------------------------------------------------------------------------


def test_library_schedules_cover_2004_to_2026_and_name_their_source() -> None:
    assert sorted(LIBRARY) == list(range(2004, 2027))
    assert LIBRARY[2025].source == f"chinese-calendar {chinese_calendar.__version__}"


def test_library_schedule_keeps_only_weekday_holidays_and_weekend_workdays() -> None:
    for schedule in LIBRARY.values():
        assert all(d.weekday() < 5 for d in schedule.holidays)
        assert all(d.weekday() >= 5 for d in schedule.workdays)
    # 2026-02-15 (Sunday, 腊月二十八) opens the Spring Festival but is a weekend anyway.
    assert date(2026, 2, 15) not in LIBRARY[2026].holidays
    assert date(2026, 2, 16) in LIBRARY[2026].holidays
    assert LIBRARY[2026].names[date(2026, 2, 16)] == "春节"
    assert LIBRARY[2026].names[date(2026, 2, 14)] == "春节调休"


def test_calendar_agrees_with_chinese_calendar_on_every_day_it_covers(cal: WorkCalendar) -> None:
    day = date(2004, 1, 1)
    while day.year <= 2026:
        assert cal.is_working_day(day) == chinese_calendar.is_workday(day), day
        day += timedelta(days=1)


def test_spring_festival_2025_is_off_and_its_make_up_sunday_and_saturday_are_worked(
    cal: WorkCalendar,
) -> None:
    # 春节 2025: 1/28 (除夕) to 2/4 off; make-up Sunday 1/26 and Saturday 2/8.
    assert cal.is_working_day(date(2025, 1, 26))  # Sunday, 调休上班
    assert cal.is_working_day(date(2025, 1, 27))
    for day in range(28, 32):
        assert not cal.is_working_day(date(2025, 1, day))
    for day in range(1, 5):
        assert not cal.is_working_day(date(2025, 2, day))
    assert cal.is_working_day(date(2025, 2, 5))
    assert cal.is_working_day(date(2025, 2, 8))  # Saturday, 调休上班
    assert not cal.is_working_day(date(2025, 2, 9))  # an ordinary Sunday
    assert not cal.is_working_day(date(2025, 1, 25))  # an ordinary Saturday


def test_national_day_2025_joined_with_mid_autumn_is_off_eight_days(cal: WorkCalendar) -> None:
    # 国庆 + 中秋 2025: 10/1 to 10/8 off; make-up Sunday 9/28 and Saturday 10/11.
    assert cal.is_working_day(date(2025, 9, 28))
    for day in range(1, 9):
        assert not cal.is_working_day(date(2025, 10, day))
    assert cal.is_working_day(date(2025, 10, 9))
    assert cal.is_working_day(date(2025, 10, 11))
    assert LIBRARY[2025].workdays >= {date(2025, 9, 28), date(2025, 10, 11)}


def test_schedule_2026_has_the_make_up_days_of_the_official_notice() -> None:
    schedule = LIBRARY[2026]
    # 元旦 1/1-1/3 (+ Sunday 1/4), 春节 2/15-2/23 (+ Saturdays 2/14, 2/28), 劳动节 5/1-5/5
    # (+ Saturday 5/9), 国庆 10/1-10/7 (+ Sunday 9/20, Saturday 10/10).
    assert schedule.workdays == {
        date(2026, 1, 4),
        date(2026, 2, 14),
        date(2026, 2, 28),
        date(2026, 5, 9),
        date(2026, 9, 20),
        date(2026, 10, 10),
    }
    spring = {date(2026, 2, d) for d in (16, 17, 18, 19, 20, 23)}  # the weekdays of 2/15-2/23
    national = {date(2026, 10, d) for d in (1, 2, 5, 6, 7)}
    assert spring <= schedule.holidays
    assert national <= schedule.holidays
    assert date(2026, 9, 25) in schedule.holidays  # 中秋, a Friday


def test_2025_and_2026_each_have_248_working_days(cal: WorkCalendar) -> None:
    # 2025: 261 weekdays - 18 weekday holidays + 5 make-up days.
    # 2026: 261 weekdays - 19 weekday holidays + 6 make-up days.
    assert cal.working_days_in(2025) == 248
    assert cal.working_days_in(2026) == 248


def test_next_working_day_skips_holidays_and_takes_make_up_days(cal: WorkCalendar) -> None:
    assert cal.next_working_day(date(2025, 9, 26)) == date(2025, 9, 28)  # Sunday, 调休
    assert cal.next_working_day(date(2025, 9, 30)) == date(2025, 10, 9)
    assert cal.next_working_day(date(2025, 12, 31)) == date(2026, 1, 4)  # Sunday, 调休


# -- deadlines --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "expected"),
    [
        # Friday 2025-09-26 does not count. Sat 9/27 off; Sun 9/28 worked (1); 9/29 (2);
        # 9/30 (3); 10/1-10/8 off; 10/9 (4); 10/10 (5); Sat 10/11 worked (6); 10/13 (7).
        (1, deadline(2025, 9, 28)),
        (3, deadline(2025, 9, 30)),
        (4, deadline(2025, 10, 9)),
        (5, deadline(2025, 10, 10)),
        (6, deadline(2025, 10, 11)),
        (7, deadline(2025, 10, 13)),
        # ... 10/13-10/17 (7-11), 10/20-10/24 (12-16), 10/27-10/30 (17-20).
        (20, deadline(2025, 10, 30)),
    ],
)
def test_add_working_days_skips_national_day_and_counts_make_up_sunday(
    cal: WorkCalendar, n: int, expected: datetime
) -> None:
    result = cal.add_working_days(bj(2025, 9, 26, 10), n)
    assert result == expected
    assert result.tzinfo is UTC
    assert result.astimezone(BEIJING).time() == time(17, 30)


def test_add_working_days_across_spring_festival_2026(cal: WorkCalendar) -> None:
    start = bj(2026, 2, 13, 10)  # Friday
    assert cal.add_working_days(start, 1) == deadline(2026, 2, 14)  # Saturday, 调休
    assert cal.add_working_days(start, 2) == deadline(2026, 2, 24)  # after 2/15-2/23


def test_add_working_days_does_not_count_the_day_of_start_whatever_the_hour(
    cal: WorkCalendar,
) -> None:
    # Monday 2025-11-03: three working days later is Thursday 11/6, morning or night.
    for hour in (0, 8, 12, 20, 23):
        assert cal.add_working_days(bj(2025, 11, 3, hour), 3) == deadline(2025, 11, 6)


def test_add_working_days_counts_from_the_local_date_of_start(cal: WorkCalendar) -> None:
    # 2025-11-02 20:00 UTC is Monday 11/3 04:00 in Beijing: the count starts after Monday.
    start = datetime(2025, 11, 2, 20, 0, tzinfo=UTC)
    assert cal.add_working_days(start, 1) == deadline(2025, 11, 4)


def test_add_working_days_from_a_weekend_counts_from_the_next_working_day(
    cal: WorkCalendar,
) -> None:
    assert cal.add_working_days(bj(2025, 11, 8, 10), 1) == deadline(2025, 11, 10)  # Sat → Mon


def test_zero_working_days_ends_today_if_working_else_next_working_day(cal: WorkCalendar) -> None:
    assert cal.add_working_days(bj(2025, 9, 26, 10), 0) == deadline(2025, 9, 26)
    assert cal.add_working_days(bj(2025, 10, 4, 10), 0) == deadline(2025, 10, 9)
    assert cal.add_working_days(bj(2025, 9, 28, 10), 0) == deadline(2025, 9, 28)  # 调休


def test_add_working_days_rejects_negative_or_non_integer_n(cal: WorkCalendar) -> None:
    with pytest.raises(ValueError, match=">= 0"):
        cal.add_working_days(bj(2025, 9, 26, 10), -1)
    with pytest.raises(TypeError, match="int"):
        cal.add_working_days(bj(2025, 9, 26, 10), 1.5)  # type: ignore[arg-type]


def test_custom_close_of_business_and_time_zone() -> None:
    cal = WorkCalendar(
        LIBRARY, timezone="Asia/Urumqi", close_of_business=time(19, 0), start_of_business=time(10)
    )
    # Urumqi is UTC+6: 19:00 local is 13:00 UTC.
    assert cal.add_working_days(bj(2025, 11, 3, 12), 1) == datetime(2025, 11, 4, 13, tzinfo=UTC)
    assert cal.business_day == timedelta(hours=9)


# -- years without data -----------------------------------------------------------------


def test_deadline_reaching_into_2027_without_data_raises_missing_year(cal: WorkCalendar) -> None:
    with pytest.raises(MissingYearError) as info:
        cal.add_working_days(bj(2026, 12, 15, 10), 20)
    assert info.value.year == 2027
    assert "2027" in info.value.message
    assert info.value.to_dict()["year"] == 2027


def test_deadline_inside_2026_does_not_need_2027(cal: WorkCalendar) -> None:
    # From Monday 2026-11-23: 11/24-11/27 (1-4), 11/30-12/4 (5-9), 12/7-12/11 (10-14),
    # 12/14-12/18 (15-19), 12/21 (20).
    assert cal.add_working_days(bj(2026, 11, 23, 10), 20) == deadline(2026, 12, 21)


def test_weekend_fallback_counts_weekdays_of_2027_and_records_the_year() -> None:
    cal = WorkCalendar(LIBRARY, fallback="weekends")
    # From Tuesday 2026-12-15: 12 working days left in December (16-18, 21-25, 28-31);
    # fallback 2027: Fri 1/1 (13), 1/4-1/8 (14-18), 1/11 (19), 1/12 (20).
    assert cal.add_working_days(bj(2026, 12, 15, 10), 20) == deadline(2027, 1, 12)
    assert cal.fallback_years_used == {2027}


def test_fallback_use_is_recorded_again_after_the_caller_clears_it() -> None:
    cal = WorkCalendar(LIBRARY, fallback="weekends")
    assert cal.is_working_day(date(2027, 3, 1))
    cal.fallback_years_used.clear()
    assert not cal.is_working_day(date(2027, 3, 6))  # a Saturday
    assert cal.fallback_years_used == {2027}
    cal.is_working_day(date(2026, 3, 6))
    assert cal.fallback_years_used == {2027}  # years with data never count as fallback


def test_imported_2027_schedule_is_respected_across_the_year_boundary() -> None:
    cal = WorkCalendar({**LIBRARY, 2027: example_2027()})
    # As with the fallback, but 1/1 is 元旦 in the example: 1/4-1/8 (13-17), 1/11-1/13.
    assert cal.add_working_days(bj(2026, 12, 15, 10), 20) == deadline(2027, 1, 13)
    assert cal.fallback_years_used == set()
    # The example's Spring Festival: 2/5-2/13 off, Sunday 2/14 worked.
    assert cal.add_working_days(bj(2027, 2, 4, 10), 1) == deadline(2027, 2, 14)


def test_is_working_day_of_a_year_without_data_raises(cal: WorkCalendar) -> None:
    with pytest.raises(MissingYearError, match="2003"):
        cal.is_working_day(date(2003, 6, 2))
    with pytest.raises(MissingYearError):
        cal.working_days_in(2027)


def test_missing_year_error_is_a_calendar_error() -> None:
    error = MissingYearError(2027)
    assert isinstance(error, CalendarError)
    assert isinstance(error, XiaonengError)
    assert CalendarError("x").code == "calendar_error"


def test_schedules_from_chinese_calendar_refuses_years_it_does_not_cover() -> None:
    assert sorted(schedules_from_chinese_calendar([2026, 2025])) == [2025, 2026]
    with pytest.raises(MissingYearError, match="2004-2026") as info:
        schedules_from_chinese_calendar([2026, 2027])
    assert info.value.year == 2027


# -- working time -----------------------------------------------------------------------


def test_working_days_between_counts_only_business_hours(cal: WorkCalendar) -> None:
    # Tuesday 2025-11-11 10:00 to Thursday 11/13 15:00: 7.5 h + 8.5 h + 6 h = 22 h.
    amount = cal.working_days_between(bj(2025, 11, 11, 10), bj(2025, 11, 13, 15))
    assert amount == Fraction(22 * 2, 17)
    assert isinstance(amount, Fraction)


def test_working_days_between_is_negative_when_end_is_before_start(cal: WorkCalendar) -> None:
    a, b = bj(2025, 11, 11, 10), bj(2025, 11, 13, 15)
    assert cal.working_days_between(b, a) == -cal.working_days_between(a, b)


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (bj(2025, 11, 7, 17, 30), bj(2025, 11, 10, 9), Fraction(0)),  # Fri close → Mon open
        (bj(2025, 11, 8, 10), bj(2025, 11, 9, 16), Fraction(0)),  # inside a weekend
        (bj(2025, 11, 7, 20), bj(2025, 11, 10, 10), Fraction(2, 17)),  # 1 h on Monday
        (bj(2025, 11, 10, 6), bj(2025, 11, 10, 23), Fraction(1)),  # the whole of Monday
        (bj(2025, 11, 10, 9), bj(2025, 11, 17, 9), Fraction(5)),  # a week
        # Over 元旦 2026: 12/31 0.5 h, 1/1-1/3 off, Sunday 1/4 (调休) 8.5 h, 1/5 0.5 h.
        (bj(2025, 12, 31, 17), bj(2026, 1, 5, 9, 30), Fraction(19, 17)),
    ],
)
def test_working_days_between_ignores_nights_weekends_and_holidays(
    cal: WorkCalendar, start: datetime, end: datetime, expected: Fraction
) -> None:
    assert cal.working_days_between(start, end) == expected


def test_stop_over_a_weekend_and_national_day_counts_the_make_up_sunday(
    cal: WorkCalendar,
) -> None:
    # Friday 2025-09-26 15:00 → Thursday 10/9 11:00: Fri 2.5 h; Sun 9/28 (调休), 9/29 and
    # 9/30 8.5 h each; 10/1-10/8 off; Thu 2 h. 30 h = 60/17 working days.
    stop, resume = bj(2025, 9, 26, 15), bj(2025, 10, 9, 11)
    assert cal.working_days_between(stop, resume) == Fraction(60, 17)


MOMENTS = [
    bj(2025, 9, 26, 15),  # Friday afternoon before National Day
    bj(2025, 9, 27, 11),  # Saturday off
    bj(2025, 9, 28, 9),  # make-up Sunday, opening time
    bj(2025, 10, 3, 14),  # holiday
    bj(2025, 10, 9, 11),  # first day back
    bj(2025, 10, 10, 17, 30),  # close of business
    bj(2025, 10, 10, 21, 15),  # evening
    bj(2025, 10, 13, 7),  # Monday, before opening
    bj(2025, 12, 31, 16, 45),  # the year's last afternoon
    bj(2026, 2, 14, 12),  # make-up Saturday before the Spring Festival
    bj(2026, 2, 20, 12),  # Spring Festival
    datetime(2026, 3, 2, 1, 23, 45, 678901, tzinfo=UTC),  # odd microseconds
]


@pytest.mark.parametrize("a", MOMENTS)
@pytest.mark.parametrize("b", MOMENTS)
def test_shift_by_working_time_inverts_working_days_between(
    cal: WorkCalendar, a: datetime, b: datetime
) -> None:
    amount = cal.working_days_between(a, b)
    shifted = cal.shift_by_working_time(a, amount)
    # The shift covers exactly the working time measured …
    assert cal.working_days_between(a, shifted) == amount
    # … so it lands on b, or on a moment with no working time between it and b …
    assert cal.working_days_between(shifted, b) == 0
    # … exactly on b when b is in business hours (after opening, up to close).
    local = b.astimezone(BEIJING)
    if amount == 0:
        assert shifted == a
    elif cal.is_working_day(local.date()) and time(9) < local.time() <= time(17, 30):
        assert shifted == b


def test_resuming_a_stopped_clock_keeps_the_working_time_left(cal: WorkCalendar) -> None:
    # §45: a 20-working-day limit is stopped for expert review over a weekend and the
    # National Day week; on resuming, the deadline moves by the working time of the stop.
    due = cal.add_working_days(bj(2025, 9, 15, 10), 20)
    stop, resume = bj(2025, 9, 26, 15), bj(2025, 10, 9, 11)
    new_due = cal.shift_by_working_time(due, cal.working_days_between(stop, resume))
    assert cal.remaining_working_days(resume, new_due) == cal.remaining_working_days(stop, due)
    # 9/15 + 20: 9/16-9/19 (1-4), 9/22-9/26 (5-9), 9/28 (10), 9/29-9/30, 10/9-10/11 (11-15),
    # 10/13-10/17 (16-20) → due Friday 10/17 17:30. Plus 30 h: 10/20-10/22 (25.5 h) and
    # 4.5 h on Thursday 10/23 → 13:30.
    assert due == deadline(2025, 10, 17)
    assert new_due == bj(2025, 10, 23, 13, 30)


def test_shifting_a_full_day_from_close_of_business_ends_at_the_next_close(
    cal: WorkCalendar,
) -> None:
    # Friday 2025-09-26 17:30 + 1 working day is Sunday 9/28 17:30 (调休), not 9/29 09:00.
    assert cal.shift_by_working_time(deadline(2025, 9, 26), 1) == deadline(2025, 9, 28)
    assert cal.shift_by_working_time(deadline(2025, 9, 30), 1) == deadline(2025, 10, 9)


def test_shift_by_zero_returns_the_moment_unchanged_in_utc(cal: WorkCalendar) -> None:
    saturday = bj(2025, 11, 8, 10)
    result = cal.shift_by_working_time(saturday, 0)
    assert result == saturday
    assert result.tzinfo is UTC


def test_shift_accepts_ints_floats_decimals_and_fractions(cal: WorkCalendar) -> None:
    start = bj(2025, 11, 10, 9, 30)  # Monday
    expected = bj(2025, 11, 11, 13, 45)  # 12.75 h: 8 h on Monday, 4.75 h on Tuesday
    for amount in (Fraction(3, 2), 1.5, Decimal("1.5")):
        assert cal.shift_by_working_time(start, amount) == expected
    assert cal.shift_by_working_time(start, 2) == bj(2025, 11, 12, 9, 30)


def test_shift_backwards_with_a_negative_amount(cal: WorkCalendar) -> None:
    # Back 1.5 working days (12.75 h) from Thursday 2025-10-09 11:00: 2 h on 10/9, back
    # over the holiday 8.5 h on 9/30, and the last 2.25 h end on Monday 9/29 at 15:15.
    assert cal.shift_by_working_time(bj(2025, 10, 9, 11), Fraction(-3, 2)) == bj(
        2025, 9, 29, 15, 15
    )


def test_shift_rejects_non_finite_amounts(cal: WorkCalendar) -> None:
    with pytest.raises(ValueError, match="finite"):
        cal.shift_by_working_time(bj(2025, 11, 10, 10), float("nan"))
    with pytest.raises(TypeError, match="number"):
        cal.shift_by_working_time(bj(2025, 11, 10, 10), "1")  # type: ignore[arg-type]


def test_shift_into_a_year_without_data_follows_the_fallback() -> None:
    strict = WorkCalendar(LIBRARY)
    with pytest.raises(MissingYearError):
        strict.shift_by_working_time(deadline(2026, 12, 31), 1)
    lenient = WorkCalendar(LIBRARY, fallback="weekends")
    assert lenient.shift_by_working_time(deadline(2026, 12, 31), 1) == deadline(2027, 1, 1)
    assert lenient.fallback_years_used == {2027}


def test_remaining_working_days_is_negative_once_working_time_is_lost(cal: WorkCalendar) -> None:
    due = deadline(2025, 11, 7)  # Friday 17:30
    assert cal.remaining_working_days(bj(2025, 11, 6, 17, 30), due) == 1
    assert cal.remaining_working_days(bj(2025, 11, 8, 10), due) == 0  # overdue, weekend
    assert cal.remaining_working_days(bj(2025, 11, 10, 13, 15), due) == Fraction(-1, 2)


# -- naive datetimes and wrong types ----------------------------------------------------

NAIVE = datetime(2025, 11, 10, 10)  # noqa: DTZ001 - deliberately naive
AWARE = bj(2025, 11, 10, 10)


@pytest.mark.parametrize(
    "call",
    [
        lambda cal: cal.add_working_days(NAIVE, 1),
        lambda cal: cal.working_days_between(NAIVE, NAIVE),
        lambda cal: cal.remaining_working_days(AWARE, NAIVE),
        lambda cal: cal.shift_by_working_time(NAIVE, 1),
        lambda cal: cal.shift_by_working_time(NAIVE, 0),
    ],
)
def test_naive_datetimes_are_rejected(
    cal: WorkCalendar, call: Callable[[WorkCalendar], Any]
) -> None:
    with pytest.raises(ValueError, match="naive"):
        call(cal)


def test_day_functions_want_a_local_date_not_a_datetime(cal: WorkCalendar) -> None:
    with pytest.raises(TypeError, match="local date"):
        cal.is_working_day(AWARE)
    with pytest.raises(TypeError, match="local date"):
        cal.next_working_day(AWARE)


# -- YearSchedule and calendar settings -------------------------------------------------


def test_year_schedule_rejects_a_date_of_another_year() -> None:
    with pytest.raises(CalendarError, match="2028-01-01 is outside 2027"):
        YearSchedule(2027, frozenset({date(2028, 1, 1)}), frozenset(), "test")


def test_year_schedule_rejects_a_make_up_day_that_is_not_a_weekend() -> None:
    with pytest.raises(CalendarError, match="2027-02-15 is a Monday"):
        YearSchedule(2027, frozenset(), frozenset({date(2027, 2, 15)}), "test")


def test_year_schedule_rejects_a_date_that_is_both_holiday_and_workday() -> None:
    sunday = date(2027, 2, 14)
    with pytest.raises(CalendarError, match="2027-02-14 is both"):
        YearSchedule(2027, frozenset({sunday}), frozenset({sunday}), "test")


def test_year_schedule_accepts_a_holiday_on_a_weekend() -> None:
    schedule = YearSchedule(2027, frozenset({date(2027, 1, 2)}), frozenset(), "test")
    assert not WorkCalendar({2027: schedule}).is_working_day(date(2027, 1, 2))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"timezone": "Mars/Olympus_Mons"}, "unknown time zone"),
        ({"start_of_business": time(18)}, "before close_of_business"),
        ({"fallback": "guess"}, "unknown calendar fallback"),
        ({"close_of_business": time(17, 30, tzinfo=UTC)}, "without tzinfo"),
    ],
)
def test_calendar_rejects_bad_settings(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(CalendarError, match=message):
        WorkCalendar(LIBRARY, **kwargs)


def test_calendar_rejects_a_schedule_filed_under_the_wrong_year() -> None:
    with pytest.raises(CalendarError, match="filed under 2027"):
        WorkCalendar({2027: LIBRARY[2026]})


# -- the schedule file ------------------------------------------------------------------

GOOD_FILE = """
year = 2027
source = "国办发明电〔2026〕X号"

[[holidays]]
name = "元旦"
days = ["2027-01-01"]

[[holidays]]
name = "春节"
from = "2027-02-05"
to = "2027-02-13"

[[holidays]]
days = [2027-10-01, 2027-10-04]   # TOML dates work too; name is optional

[[workdays]]
name = "春节调休"
days = ["2027-02-14", "2027-02-20"]
"""


def test_parse_schedule_file_reads_days_ranges_and_names() -> None:
    schedule = parse_schedule_file(GOOD_FILE.encode(), name="holidays-2027.toml")
    assert schedule.year == 2027
    assert schedule.source == "国办发明电〔2026〕X号"
    assert date(2027, 2, 5) in schedule.holidays
    assert date(2027, 2, 13) in schedule.holidays  # a Saturday: accepted, changes nothing
    assert len(schedule.holidays) == 1 + 9 + 2
    assert schedule.workdays == {date(2027, 2, 14), date(2027, 2, 20)}
    assert schedule.names[date(2027, 2, 7)] == "春节"
    assert date(2027, 10, 1) not in schedule.names


def test_parse_schedule_file_accepts_a_byte_order_mark() -> None:
    schedule = parse_schedule_file(b"\xef\xbb\xbf" + GOOD_FILE.encode(), name="bom.toml")
    assert schedule.year == 2027


def test_example_2027_file_parses_and_says_it_is_only_an_example() -> None:
    text = EXAMPLE_2027.read_text(encoding="utf-8")
    assert "EXAMPLE ONLY" in text
    assert "DO NOT IMPORT INTO PRODUCTION" in text
    schedule = example_2027()
    assert schedule.year == 2027
    assert "EXAMPLE" in schedule.source


def bad(body: str) -> str:
    return 'year = 2027\nsource = "test"\n' + body


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("year = [", "bad.toml: not valid TOML"),
        ('source = "x"', "bad.toml: 'year' is missing"),
        ('year = "2027"\nsource = "x"', "'year' must be a year like 2027"),
        ("year = 2027", "'source' must name the notice"),
        (bad("note = 1"), "unknown key 'note'"),
        (
            bad('[[holidays]]\nname = "春节"\nfrom = "2027-02-05"\nuntil = "2027-02-13"'),
            "holidays #1 \"春节\": unknown key 'until'",
        ),
        (
            bad('[[holidays]]\nname = "元旦"\ndays = ["2028-01-01"]'),
            'holidays #1 "元旦": 2028-01-01 is outside 2027',
        ),
        (
            bad('[[workdays]]\nname = "春节调休"\ndays = ["2027-02-15"]'),
            'workdays #1 "春节调休": 2027-02-15 is a Monday',
        ),
        (
            bad(
                '[[holidays]]\nname = "春节"\ndays = ["2027-02-14"]\n'
                '[[workdays]]\nname = "春节调休"\ndays = ["2027-02-14"]'
            ),
            '2027-02-14 is both a holiday (holidays #1 "春节") and a make-up working day '
            '(workdays #1 "春节调休")',
        ),
        (
            bad('[[holidays]]\nname = "元旦"\ndays = ["2027-1-1"]'),
            "holidays #1 \"元旦\": malformed date '2027-1-1'",
        ),
        (bad('[[holidays]]\ndays = ["2027-02-30"]'), "holidays #1: malformed date '2027-02-30'"),
        (bad("[[holidays]]\ndays = [2027-01-01T00:00:00]"), "holidays #1: malformed date"),
        (
            bad('[[holidays]]\ndays = ["2027-10-01"]\nfrom = "2027-10-01"\nto = "2027-10-07"'),
            "use either 'days' or 'from'/'to'",
        ),
        (bad('[[holidays]]\nfrom = "2027-10-07"\nto = "2027-10-01"'), "'to' 2027-10-01 is before"),
        (bad('[[holidays]]\nfrom = "2027-10-01"'), "a range needs both 'from' and 'to'"),
        (bad('[[holidays]]\nname = "国庆"'), "give 'days' or 'from' and 'to'"),
        (bad("[[holidays]]\ndays = []"), "'days' must be a non-empty list"),
        (bad("holidays = 3"), "'holidays' must be a list of tables"),
        (bad('[[holidays]]\nname = 1\ndays = ["2027-10-01"]'), "'name' must be a string"),
    ],
)
def test_parse_schedule_file_explains_what_is_wrong(content: str, message: str) -> None:
    with pytest.raises(CalendarError) as info:
        parse_schedule_file(content.encode(), name="bad.toml")
    assert info.value.message.startswith("bad.toml: ")
    assert message in info.value.message


def test_parse_schedule_file_reports_every_problem_at_once() -> None:
    content = bad(
        '[[holidays]]\ndays = ["2026-12-31"]\n'
        '[[workdays]]\ndays = ["2027-02-15"]\n'
        "[[workdays]]\nfrom = 1\nto = 2\n"
    )
    with pytest.raises(CalendarError) as info:
        parse_schedule_file(content.encode(), name="bad.toml")
    assert len(info.value.problems) == 4
    assert info.value.to_dict()["problems"] == list(info.value.problems)


def test_parse_schedule_file_rejects_non_utf8() -> None:
    with pytest.raises(CalendarError, match=r"gbk\.toml: not UTF-8"):
        parse_schedule_file('source = "国办"'.encode("gbk"), name="gbk.toml")


@pytest.mark.parametrize("schedule", [LIBRARY[2025], LIBRARY[2026], example_2027()])
def test_schedule_to_toml_reads_back_to_the_same_schedule(schedule: YearSchedule) -> None:
    text = schedule_to_toml(schedule)
    again = parse_schedule_file(text.encode(), name="shown.toml")
    assert again == schedule
    assert dict(again.names) == dict(schedule.names)


def test_schedule_to_toml_writes_ranges_for_consecutive_days() -> None:
    text = schedule_to_toml(example_2027())
    assert 'name = "春节"\nfrom = "2027-02-05"\nto = "2027-02-13"' in text
    assert 'name = "春节调休"\ndays = ["2027-02-14", "2027-02-20"]' in text
