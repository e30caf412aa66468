"""Working-day arithmetic: pure functions, no database, no SpiffWorkflow, no wall clock.

Time limits in administrative approvals count **working days** (§82 of the Administrative
Licensing Law, 行政许可法): weekends and statutory holidays are excluded, and the make-up
working days (调休, e.g. a Saturday worked in exchange for a longer Spring Festival) are
included. The State Council publishes each year's schedule in the preceding autumn
(国务院办公厅关于某年部分节假日安排的通知); :class:`YearSchedule` holds one such year.

Conventions (see also ``docs/holidays.md``):

* **Counting starts the next day.** As in every statutory period (期间开始的当日不计算在内),
  the day a limit starts on does not count: a limit of *n* working days that starts at any
  moment of a day D ends at close of business on the *n*-th working day after D
  (:meth:`WorkCalendar.add_working_days`).
* **Deadlines end at close of business** (default 17:30) in the organ's time zone (default
  Asia/Shanghai). Inputs must be timezone-aware datetimes (naive ones raise ValueError);
  every datetime returned is UTC.
* **Working time is an exact** :class:`fractions.Fraction` **of working days.** Only the
  business hours ``[start_of_business, close_of_business)`` of working days count, and one
  full business day (09:00-17:30 by default, 8.5 h) is ``Fraction(1)``. Fractions make
  stopping and resuming a case's clock (§45) lossless to the microsecond; use ``float()``
  to display one and ``str()``/``Fraction(text)`` to store one.
* **Missing years.** A computation that needs a year without a schedule raises
  :class:`MissingYearError`, unless the calendar was built with ``fallback="weekends"``;
  then Monday-Friday count as working days and the year is added to
  :attr:`WorkCalendar.fallback_years_used` so the caller can record a warning.

Wall-clock times are local times of the configured zone (China has no daylight saving
time; elsewhere, business hours are wall-clock hours).
"""

from __future__ import annotations

import json
import math
import re
import tomllib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from fractions import Fraction
from types import MappingProxyType
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import chinese_calendar

from engine.errors import XiaonengError

__all__ = [
    "CalendarError",
    "Fallback",
    "MissingYearError",
    "WorkCalendar",
    "WorkingTime",
    "YearSchedule",
    "parse_schedule_file",
    "schedule_to_toml",
    "schedules_from_chinese_calendar",
]

Fallback = Literal["error", "weekends"]
WorkingTime = Fraction
"""An amount of working time in working days (1 = one full business day)."""

_WEEKDAY_NAMES = (
    "Monday (周一)",
    "Tuesday (周二)",
    "Wednesday (周三)",
    "Thursday (周四)",
    "Friday (周五)",
    "Saturday (周六)",
    "Sunday (周日)",
)
_US_PER_SECOND = 1_000_000


class CalendarError(XiaonengError):
    """A working-day schedule or calendar setting is invalid.

    Attributes:
        problems: Every problem found, when a whole file was checked (may be empty).
    """

    code = "calendar_error"

    def __init__(self, message: str, *, problems: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.problems = tuple(problems)

    def to_dict(self) -> dict[str, object]:
        data = super().to_dict()
        if self.problems:
            data["problems"] = list(self.problems)
        return data


class MissingYearError(CalendarError):
    """A computation needs a year for which no working-day schedule is known.

    Attributes:
        year: The year without a schedule.
    """

    code = "calendar_year_missing"

    def __init__(self, year: int, message: str | None = None) -> None:
        super().__init__(
            message
            or f"no working-day schedule for {year}: import the State Council's holiday "
            f"notice for {year} (xiaoneng calendar import FILE) or set the calendar "
            "fallback to 'weekends'"
        )
        self.year = year

    def to_dict(self) -> dict[str, object]:
        data = super().to_dict()
        data["year"] = self.year
        return data


# --------------------------------------------------------------------------------------
# One year's official schedule
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class YearSchedule:
    """The official working-day schedule of one year.

    Attributes:
        year: The calendar year.
        holidays: Weekday dates that are days off (statutory holidays and the days added
            to them). Weekend dates are accepted but change nothing.
        workdays: Weekend dates that are working days (make-up working days, 调休上班).
        source: Where the schedule comes from, e.g. the notice number
            ``"国办发明电〔2025〕7号"`` or ``"chinese-calendar 1.11.0"``.
        names: Optional festival name of each date (``"春节"``), for display only; it takes
            no part in equality.

    Raises:
        CalendarError: A date lies outside ``year``, a date is both a holiday and a
            workday, or a workday is not a Saturday or Sunday.
    """

    year: int
    holidays: frozenset[date]
    workdays: frozenset[date]
    source: str
    names: Mapping[date, str] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        if isinstance(self.year, bool) or not isinstance(self.year, int):
            raise CalendarError(f"schedule year must be an integer, not {self.year!r}")
        if not 1 <= self.year <= 9999:
            raise CalendarError(f"schedule year {self.year} is out of range")
        if not isinstance(self.source, str):
            raise CalendarError(f"schedule {self.year}: source must be a string")
        # Accept any iterable of dates and freeze it, so the instance is truly immutable.
        object.__setattr__(self, "holidays", frozenset(self.holidays))
        object.__setattr__(self, "workdays", frozenset(self.workdays))
        object.__setattr__(self, "names", MappingProxyType(dict(self.names)))
        problems: list[str] = []
        for kind, days in (("holidays", self.holidays), ("workdays", self.workdays)):
            for d in sorted(days, key=_sort_key):
                if not _is_plain_date(d):
                    problems.append(f"{kind}: {d!r} is not a date")
                elif d.year != self.year:
                    problems.append(f"{kind}: {d.isoformat()} is outside {self.year}")
        if not problems:
            for d in sorted(self.holidays & self.workdays):
                problems.append(f"{d.isoformat()} is both a holiday and a make-up working day")
            for d in sorted(self.workdays):
                if d.weekday() < 5:
                    problems.append(
                        f"workdays: {d.isoformat()} is a {_WEEKDAY_NAMES[d.weekday()]}; "
                        "a make-up working day (调休上班) must be a Saturday or Sunday"
                    )
            for d in sorted(set(self.names) - self.holidays - self.workdays, key=_sort_key):
                problems.append(f"names: {d!r} is neither a holiday nor a workday")
        if problems:
            raise CalendarError(
                f"invalid schedule for {self.year}: " + "; ".join(problems), problems=problems
            )

    def is_working_day(self, d: date) -> bool:
        """Return whether ``d`` (a date of this year) is a working day by this schedule."""
        if d in self.workdays:
            return True
        return d.weekday() < 5 and d not in self.holidays


def _is_plain_date(value: object) -> bool:
    return isinstance(value, date) and not isinstance(value, datetime)


def _sort_key(value: object) -> str:
    return value.isoformat() if isinstance(value, date) else repr(value)


# --------------------------------------------------------------------------------------
# The calendar
# --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _YearIndex:
    """Precomputed working days of one year, so that lookups are O(1)."""

    first: int  # ordinal of 1 January
    before: tuple[int, ...]  # before[i]: working days among the first i days of the year
    days: tuple[int, ...]  # ordinals of the working days, ascending

    @property
    def count(self) -> int:
        return len(self.days)

    @classmethod
    def build(cls, year: int, holidays: frozenset[date], workdays: frozenset[date]) -> _YearIndex:
        first = date(year, 1, 1).toordinal()
        last = date(year, 12, 31).toordinal()
        off = {d.toordinal() for d in holidays}
        on = {d.toordinal() for d in workdays}
        before = [0]
        days: list[int] = []
        for ordinal in range(first, last + 1):
            # date.toordinal() is 1 for Monday 0001-01-01, so (ordinal - 1) % 7 is weekday().
            if ordinal in on or ((ordinal - 1) % 7 < 5 and ordinal not in off):
                days.append(ordinal)
            before.append(len(days))
        return cls(first=first, before=tuple(before), days=tuple(days))


class WorkCalendar:
    """Working-day arithmetic over a set of yearly schedules.

    Build one from :func:`schedules_from_chinese_calendar` plus any imported years, e.g.
    ``WorkCalendar({**schedules_from_chinese_calendar(), 2027: imported_2027})``.
    Instances may be shared between threads; besides an internal cache, the only mutable
    state is :attr:`fallback_years_used`, which then collects the fallback years of every
    caller (for a per-call answer, check the local years a result spans against
    :attr:`schedules`).

    Args:
        schedules: The known years, ``{year: YearSchedule}``.
        timezone: IANA time zone of the organ.
        close_of_business: Local time at which a working day ends (deadlines end here).
        start_of_business: Local time at which a working day begins.
        fallback: ``"error"`` to raise :class:`MissingYearError` for a year without a
            schedule, ``"weekends"`` to treat Monday-Friday of such a year as working days.

    Attributes:
        fallback_years_used: Years for which the ``"weekends"`` fallback was used. The
            caller may record a warning and clear the set.

    Raises:
        CalendarError: A setting is invalid or a schedule is filed under the wrong year.
    """

    def __init__(
        self,
        schedules: Mapping[int, YearSchedule],
        *,
        timezone: str = "Asia/Shanghai",
        close_of_business: time = time(17, 30),
        start_of_business: time = time(9, 0),
        fallback: Fallback = "error",
    ) -> None:
        for year, schedule in schedules.items():
            if not isinstance(schedule, YearSchedule) or schedule.year != year:
                raise CalendarError(f"schedule filed under {year} is not a YearSchedule of {year}")
        if fallback not in ("error", "weekends"):
            raise CalendarError(f"unknown calendar fallback {fallback!r} (use error or weekends)")
        try:
            self.zone = ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise CalendarError(f"unknown time zone {timezone!r}") from exc
        for label, value in (
            ("close_of_business", close_of_business),
            ("start_of_business", start_of_business),
        ):
            if not isinstance(value, time) or value.tzinfo is not None:
                raise CalendarError(f"{label} must be a local time without tzinfo")
        if not start_of_business < close_of_business:
            raise CalendarError("start_of_business must be before close_of_business")
        self.timezone = timezone
        self.close_of_business = close_of_business
        self.start_of_business = start_of_business
        self.fallback: Fallback = fallback
        self.fallback_years_used: set[int] = set()
        self.schedules: Mapping[int, YearSchedule] = MappingProxyType(dict(schedules))
        self._sob = _micros(start_of_business)
        self._cob = _micros(close_of_business)
        self._day = self._cob - self._sob  # one working day of business time, in µs
        self._indexes = {
            year: _YearIndex.build(year, s.holidays, s.workdays) for year, s in schedules.items()
        }
        self._fallback_indexes: dict[int, _YearIndex] = {}

    def __repr__(self) -> str:
        years = sorted(self.schedules)
        span = f"{years[0]}-{years[-1]}" if years else "no years"
        return (
            f"WorkCalendar({span}, timezone={self.timezone!r}, "
            f"business={self.start_of_business:%H:%M}-{self.close_of_business:%H:%M}, "
            f"fallback={self.fallback!r})"
        )

    @property
    def business_day(self) -> timedelta:
        """The length of one working day of business time (8.5 h by default)."""
        return timedelta(microseconds=self._day)

    # -- days ----------------------------------------------------------------------------

    def is_working_day(self, d: date) -> bool:
        """Return whether the local date ``d`` is a working day.

        Raises:
            MissingYearError: ``d``'s year has no schedule and the fallback is "error".
            TypeError: ``d`` is a datetime (pass its local date instead).
        """
        _check_date(d)
        index = self._index(d.year)
        i = d.toordinal() - index.first
        return index.before[i + 1] > index.before[i]

    def next_working_day(self, d: date) -> date:
        """Return the first working day strictly after the local date ``d``.

        Raises:
            MissingYearError: A year needed has no schedule and the fallback is "error".
        """
        _check_date(d)
        return self._nth_working_day_after(d, 1)

    def working_days_in(self, year: int) -> int:
        """Return the number of working days in ``year`` (248 in 2025 and in 2026).

        Raises:
            MissingYearError: ``year`` has no schedule and the fallback is "error".
        """
        return self._index(year).count

    def close_of_business_on(self, d: date) -> datetime:
        """Return close of business on the local date ``d``, in UTC (any day, working or not)."""
        _check_date(d)
        return datetime.combine(d, self.close_of_business, tzinfo=self.zone).astimezone(UTC)

    # -- deadlines -----------------------------------------------------------------------

    def add_working_days(self, start: datetime, n: int) -> datetime:
        """Return the deadline of a limit of ``n`` working days that starts at ``start``.

        The day of ``start`` does not count (the law counts from the next day), so the
        deadline is close of business on the ``n``-th working day after the local date of
        ``start``, whatever the time of day. ``n = 0`` gives close of business of the same
        day if it is a working day, else of the next working day (so a same-day limit
        started after close of business is already over).

        Args:
            start: When the limit starts (timezone-aware).
            n: The limit in working days, ``>= 0``.

        Returns:
            The deadline in UTC.

        Raises:
            ValueError: ``start`` is naive or ``n`` is negative.
            MissingYearError: The count reaches a year without a schedule (fallback "error").
        """
        if isinstance(n, bool) or not isinstance(n, int):
            raise TypeError(f"n must be an int, not {type(n).__name__}")
        if n < 0:
            raise ValueError(f"n must be >= 0, not {n}")
        day = self._local(start).date()
        if n > 0 or not self.is_working_day(day):
            day = self._nth_working_day_after(day, max(n, 1))
        return self.close_of_business_on(day)

    def working_days_between(self, start: datetime, end: datetime) -> Fraction:
        """Return the working time from ``start`` to ``end``, in working days.

        Only business hours ``[start_of_business, close_of_business)`` of working days
        count; a full business day is 1. With business hours 09:00-17:30, a stop from
        Tuesday 10:00 to Thursday 15:00 of an ordinary week is 7.5 h + 8.5 h + 6 h = 22 h,
        i.e. ``Fraction(44, 17)`` (about 2.59) working days.

        Returns:
            An exact :class:`~fractions.Fraction`; negative if ``end`` is before ``start``.

        Raises:
            ValueError: A datetime is naive.
            MissingYearError: A year in the span has no schedule (fallback "error").
        """
        year_a, done_a = self._locate(start)  # rejects naive datetimes before comparing
        year_b, done_b = self._locate(end)
        sign = 1
        if end < start:
            (year_a, done_a), (year_b, done_b), sign = (year_b, done_b), (year_a, done_a), -1
        total = done_b - done_a
        for year in range(year_a, year_b):
            total += self._index(year).count * self._day
        return Fraction(sign * total, self._day)

    def remaining_working_days(self, now: datetime, deadline: datetime) -> Fraction:
        """Return the working time left from ``now`` until ``deadline``, in working days.

        Negative when ``now`` is past the deadline by some working time. A moment outside
        business hours right after the deadline (the evening, the weekend) gives 0: the
        case is overdue (``now > deadline``) but no working time has been lost yet.

        Raises:
            ValueError: A datetime is naive.
            MissingYearError: A year in the span has no schedule (fallback "error").
        """
        return self.working_days_between(now, deadline)

    def shift_by_working_time(
        self, moment: datetime, amount: Fraction | Decimal | float | int
    ) -> datetime:
        """Move ``moment`` forward (or, if negative, back) by ``amount`` of working time.

        The inverse of :meth:`working_days_between`: when a stopped clock (§45: hearings,
        testing, expert review …) resumes, shift the deadline by the working time the stop
        took, ``shift_by_working_time(deadline, working_days_between(stopped, resumed))``,
        and the working time left is exactly what it was when the clock stopped.

        A non-zero shift lands on the *earliest* moment with the target position, so it is
        always inside ``(start_of_business, close_of_business]`` of a working day: a full
        working day from 17:30 is 17:30 of the next working day, never 09:00. An amount of
        0 returns ``moment`` unchanged. Amounts finer than a microsecond round up.

        Returns:
            The shifted moment in UTC. ``working_days_between(moment, result) == amount``
            (to the microsecond).

        Raises:
            ValueError: ``moment`` is naive or ``amount`` is not finite.
            MissingYearError: A year reached has no schedule (fallback "error").
        """
        exact = _as_fraction(amount)
        if exact == 0:
            return self._local(moment).astimezone(UTC)
        year, done = self._locate(moment)
        target = math.ceil(done + exact * self._day)
        index = self._index(year)
        while target <= 0:
            year -= 1
            index = self._index(year)
            target += index.count * self._day
        while target > index.count * self._day:
            target -= index.count * self._day
            year += 1
            index = self._index(year)
        i, rest = divmod(target - 1, self._day)  # rest + 1 in 1 .. one business day
        day = date.fromordinal(index.days[i])
        local = datetime.combine(day, time(0), tzinfo=self.zone) + timedelta(
            microseconds=self._sob + rest + 1
        )
        return local.astimezone(UTC)

    # -- internals -----------------------------------------------------------------------

    def _index(self, year: int) -> _YearIndex:
        index = self._indexes.get(year)
        if index is not None:
            return index
        if not 1 <= year <= 9999:
            raise CalendarError(f"year {year} is out of range")
        if self.fallback == "error":
            raise MissingYearError(year)
        # Record every use, not only the first: the caller may clear the set after warning.
        self.fallback_years_used.add(year)
        index = self._fallback_indexes.get(year)
        if index is None:
            index = _YearIndex.build(year, frozenset(), frozenset())
            self._fallback_indexes[year] = index
        return index

    def _nth_working_day_after(self, d: date, n: int) -> date:
        index = self._index(d.year)
        year = d.year
        rank = index.before[d.toordinal() - index.first + 1] + n  # 1-based, within year
        while rank > index.count:
            rank -= index.count
            year += 1
            index = self._index(year)
        return date.fromordinal(index.days[rank - 1])

    def _local(self, moment: datetime) -> datetime:
        if not isinstance(moment, datetime):
            raise TypeError(f"expected a datetime, not {type(moment).__name__}")
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError("naive datetime: every datetime in Xiaoneng must be timezone-aware")
        return moment.astimezone(self.zone)

    def _locate(self, moment: datetime) -> tuple[int, int]:
        """Return (local year, business µs from the start of that year to ``moment``)."""
        local = self._local(moment)
        d = local.date()
        index = self._index(d.year)
        i = d.toordinal() - index.first
        done = index.before[i] * self._day
        if index.before[i + 1] > index.before[i]:
            done += min(max(_micros(local.time()), self._sob), self._cob) - self._sob
        return d.year, done


def _micros(t: time) -> int:
    return ((t.hour * 60 + t.minute) * 60 + t.second) * _US_PER_SECOND + t.microsecond


def _check_date(d: object) -> None:
    if isinstance(d, datetime) or not isinstance(d, date):
        raise TypeError(f"expected a date (the local date), not {type(d).__name__}")


def _as_fraction(amount: object) -> Fraction:
    if isinstance(amount, bool) or not isinstance(amount, Fraction | Decimal | float | int):
        raise TypeError(f"working time must be a number, not {type(amount).__name__}")
    try:
        return Fraction(amount)
    except (ValueError, OverflowError) as exc:
        raise ValueError(f"working time must be finite, not {amount!r}") from exc


# --------------------------------------------------------------------------------------
# Holiday data: the chinese-calendar package
# --------------------------------------------------------------------------------------


def schedules_from_chinese_calendar(years: Iterable[int] | None = None) -> dict[int, YearSchedule]:
    """Build yearly schedules from the ``chinese-calendar`` package's data.

    Only statutory holidays on weekdays go into ``holidays`` and only weekend make-up
    working days into ``workdays``; the source is ``"chinese-calendar <version>"``.

    Args:
        years: The years wanted; ``None`` for every year the package covers (2004-2026 in
            version 1.11.0).

    Raises:
        MissingYearError: A requested year is not covered by the installed package.
    """
    source = f"chinese-calendar {chinese_calendar.__version__}"
    covered = {d.year for d in chinese_calendar.holidays}
    wanted = sorted(covered) if years is None else sorted(set(years))
    for year in wanted:
        if year not in covered:
            raise MissingYearError(
                year,
                f"{source} has no holiday data for {year} (it covers "
                f"{min(covered)}-{max(covered)}): import the State Council's notice",
            )
    holidays: dict[int, set[date]] = {year: set() for year in wanted}
    workdays: dict[int, set[date]] = {year: set() for year in wanted}
    names: dict[int, dict[date, str]] = {year: {} for year in wanted}
    for d, english in chinese_calendar.holidays.items():
        if d.year in holidays and d.weekday() < 5:
            holidays[d.year].add(d)
            names[d.year][d] = _chinese_name(english)
    for d, english in chinese_calendar.workdays.items():
        if d.year in workdays and d.weekday() >= 5:
            workdays[d.year].add(d)
            names[d.year][d] = _chinese_name(english) + "调休"
    return {
        year: YearSchedule(
            year=year,
            holidays=frozenset(holidays[year]),
            workdays=frozenset(workdays[year]),
            source=source,
            names=names[year],
        )
        for year in wanted
    }


def _chinese_name(english: str) -> str:
    try:
        return str(chinese_calendar.Holiday(english).chinese)
    except ValueError:
        return english


# --------------------------------------------------------------------------------------
# Holiday data: the schedule file admins import (docs/holidays.md)
# --------------------------------------------------------------------------------------

_TOP_KEYS = ("year", "source", "holidays", "workdays")
_ENTRY_KEYS = ("name", "days", "from", "to")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def parse_schedule_file(content: bytes, *, name: str) -> YearSchedule:
    """Parse a year's schedule file (TOML, format in ``docs/holidays.md``).

    Args:
        content: The file's bytes (UTF-8, a byte-order mark is allowed).
        name: The file name, used in error messages.

    Returns:
        The year's schedule, with the entries' names.

    Raises:
        CalendarError: The file is not UTF-8 TOML or breaks the format; the message names
            the file and lists every problem with its entry (``problems`` holds them).
    """
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CalendarError(f"{name}: not UTF-8 text ({exc})") from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CalendarError(f"{name}: not valid TOML: {exc}") from exc

    problems: list[str] = []
    for key in data:
        if key not in _TOP_KEYS:
            problems.append(f"unknown key {key!r} (expected {', '.join(_TOP_KEYS)})")
    year = data.get("year")
    if year is None:
        problems.append("'year' is missing")
    elif isinstance(year, bool) or not isinstance(year, int) or not 1 <= year <= 9999:
        problems.append(f"'year' must be a year like 2027, not {year!r}")
        year = None
    source = data.get("source")
    if not isinstance(source, str) or not source.strip():
        problems.append("'source' must name the notice, e.g. \"国办发明电〔2026〕X号\"")
        source = ""

    holidays = _read_entries(data, "holidays", year, problems)
    workdays = _read_entries(data, "workdays", year, problems)
    for d, entry in workdays.items():
        if d.weekday() < 5:
            problems.append(
                f"{entry}: {d.isoformat()} is a {_WEEKDAY_NAMES[d.weekday()]}; a make-up "
                "working day (调休上班) must be a Saturday or Sunday"
            )
    for d in sorted(holidays.keys() & workdays.keys()):
        problems.append(
            f"{d.isoformat()} is both a holiday ({holidays[d]}) and a make-up working day "
            f"({workdays[d]})"
        )
    if problems or year is None:  # a missing year is always among the problems
        raise CalendarError(f"{name}: " + "; ".join(problems), problems=problems)
    names = {d: entry.name for d, entry in (holidays | workdays).items() if entry.name}
    return YearSchedule(
        year=year,
        holidays=frozenset(holidays),
        workdays=frozenset(workdays),
        source=source,
        names=names,
    )


@dataclass(frozen=True)
class _Entry:
    """Where a date of a schedule file comes from: ``holidays #2 "春节"``."""

    label: str
    name: str

    def __str__(self) -> str:
        return self.label


def _read_entries(
    data: Mapping[str, Any], key: str, year: int | None, problems: list[str]
) -> dict[date, _Entry]:
    """Return ``{date: entry}`` of the ``[[key]]`` tables; append the problems found."""
    entries = data.get(key, [])
    if not isinstance(entries, list):
        problems.append(f"'{key}' must be a list of tables ([[{key}]])")
        return {}
    found: dict[date, _Entry] = {}
    for number, entry in enumerate(entries, start=1):
        label = f"{key} #{number}"
        if not isinstance(entry, dict):
            problems.append(f"{label} must be a table ([[{key}]])")
            continue
        entry_name = entry.get("name", "")
        if isinstance(entry_name, str):
            label += f" {_toml_string(entry_name)}" if entry_name else ""
        else:
            problems.append(f"{label}: 'name' must be a string")
            entry_name = ""
        before = len(problems)
        for k in entry:
            if k not in _ENTRY_KEYS:
                problems.append(f"{label}: unknown key {k!r} (expected {', '.join(_ENTRY_KEYS)})")
        days = list(_entry_days(entry, label, problems))
        if len(problems) > before:
            continue
        for d in days:
            if year is not None and d.year != year:
                problems.append(f"{label}: {d.isoformat()} is outside {year}")
            else:
                found.setdefault(d, _Entry(label, entry_name))
    return found


def _entry_days(entry: Mapping[str, Any], label: str, problems: list[str]) -> Iterator[date]:
    has_days = "days" in entry
    has_range = "from" in entry or "to" in entry
    if has_days and has_range:
        problems.append(f"{label}: use either 'days' or 'from'/'to', not both")
        return
    if has_days:
        days = entry["days"]
        if not isinstance(days, list) or not days:
            problems.append(f"{label}: 'days' must be a non-empty list of dates")
            return
        for value in days:
            d = _read_date(value, label, problems)
            if d is not None:
                yield d
        return
    if not has_range:
        problems.append(f"{label}: give 'days' or 'from' and 'to'")
        return
    if "from" not in entry or "to" not in entry:
        problems.append(f"{label}: a range needs both 'from' and 'to'")
        return
    first = _read_date(entry["from"], label, problems)
    last = _read_date(entry["to"], label, problems)
    if first is None or last is None:
        return
    if last < first:
        problems.append(f"{label}: 'to' {last.isoformat()} is before 'from' {first.isoformat()}")
        return
    if first.year != last.year:
        problems.append(f"{label}: the range {first.isoformat()}..{last.isoformat()} spans years")
        return
    for ordinal in range(first.toordinal(), last.toordinal() + 1):
        yield date.fromordinal(ordinal)


def _read_date(value: object, label: str, problems: list[str]) -> date | None:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value  # a TOML local date: days = [2027-01-01]
    if isinstance(value, str) and _ISO_DATE.fullmatch(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    problems.append(f'{label}: malformed date {value!r} (expected "YYYY-MM-DD")')
    return None


def schedule_to_toml(schedule: YearSchedule) -> str:
    """Render ``schedule`` in the schedule file format (for ``xiaoneng calendar show``).

    Dates are grouped by name; a group of consecutive days is written as a ``from``/``to``
    range, any other group as a ``days`` list. :func:`parse_schedule_file` reads the
    result back to an equal schedule.
    """
    lines = [
        f"# Working-day schedule of {schedule.year}. Format: docs/holidays.md",
        f"year = {schedule.year}",
        f"source = {_toml_string(schedule.source)}",
    ]
    for key, days in (("holidays", schedule.holidays), ("workdays", schedule.workdays)):
        if key == "workdays" and days:
            lines += ["", "# make-up working days (调休上班)"]
        for entry_name, group in _groups(days, schedule.names):
            lines += ["", f"[[{key}]]"]
            if entry_name:
                lines.append(f"name = {_toml_string(entry_name)}")
            if len(group) > 1 and group[-1].toordinal() - group[0].toordinal() == len(group) - 1:
                lines.append(f'from = "{group[0].isoformat()}"')
                lines.append(f'to = "{group[-1].isoformat()}"')
            else:
                lines.append("days = [" + ", ".join(f'"{d.isoformat()}"' for d in group) + "]")
    return "\n".join(lines) + "\n"


def _groups(days: Iterable[date], names: Mapping[date, str]) -> list[tuple[str, list[date]]]:
    """Group dates by name (in date order); unnamed dates by runs of consecutive days."""
    groups: dict[tuple[str, int], list[date]] = {}
    previous: date | None = None
    run = 0
    for d in sorted(days):
        entry_name = names.get(d, "")
        if not entry_name:
            if previous is None or d.toordinal() != previous.toordinal() + 1:
                run += 1
            previous = d
        groups.setdefault((entry_name, run if not entry_name else 0), []).append(d)
    return [(entry_name, group) for (entry_name, _), group in groups.items()]


def _toml_string(text: str) -> str:
    # A JSON string (escapes for quotes, backslashes and control characters) is a valid
    # TOML basic string.
    return json.dumps(text, ensure_ascii=False)
