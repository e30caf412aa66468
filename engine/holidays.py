"""The working-day calendar's data in the database: seed, import, show, load.

Years come from the ``chinese-calendar`` package (seeded when the schema is created,
for the years it knows) or from a State Council schedule file an administrator imports
(``xiaoneng calendar import FILE``, format in ``docs/holidays.md``). An imported year
replaces the package's data for that year; replacing an imported year needs ``replace``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, select

from engine import accountability
from engine.calendar import (
    Fallback,
    WorkCalendar,
    YearSchedule,
    schedules_from_chinese_calendar,
)
from engine.errors import ConflictError, NotFoundError
from engine.store.models import CalendarDay, CalendarYear

LIBRARY_PREFIX = "chinese-calendar"


def seed_from_library(conn: Connection, now: datetime) -> list[int]:
    """Store the package's years that the database does not have yet; return them."""
    have = set(conn.scalars(select(CalendarYear.year)))
    added = []
    for year, schedule in sorted(schedules_from_chinese_calendar().items()):
        if year not in have:
            _store(conn, schedule, now, actor=None)
            added.append(year)
    return added


def import_schedule(
    conn: Connection, schedule: YearSchedule, now: datetime, *, actor: str | None, replace: bool
) -> dict[str, Any]:
    """Store an official schedule for its year (see the module docstring for replacing)."""
    current = conn.execute(
        select(CalendarYear.source).where(CalendarYear.year == schedule.year)
    ).scalar()
    if current is not None and not current.startswith(LIBRARY_PREFIX) and not replace:
        raise ConflictError(
            f"{schedule.year} was already imported from {current!r}; "
            "import again with --replace to overwrite it"
        )
    if current is not None:
        conn.execute(delete(CalendarDay).where(CalendarDay.year == schedule.year))
        conn.execute(delete(CalendarYear).where(CalendarYear.year == schedule.year))
    _store(conn, schedule, now, actor=actor)
    accountability.record(
        conn,
        at=now,
        action="calendar",
        actor=actor,
        detail={
            "year": schedule.year,
            "source": schedule.source,
            "replaced": current,
            "holidays": len(schedule.holidays),
            "workdays": len(schedule.workdays),
        },
    )
    return {
        "year": schedule.year,
        "source": schedule.source,
        "holidays": len(schedule.holidays),
        "workdays": len(schedule.workdays),
        "replaced": current,
    }


def _store(conn: Connection, schedule: YearSchedule, now: datetime, *, actor: str | None) -> None:
    conn.execute(
        insert(CalendarYear).values(
            year=schedule.year, source=schedule.source, imported_at=now, imported_by=actor
        )
    )
    days = [
        {"day": d, "year": schedule.year, "kind": "holiday", "name": schedule.names.get(d)}
        for d in sorted(schedule.holidays)
    ] + [
        {"day": d, "year": schedule.year, "kind": "workday", "name": schedule.names.get(d)}
        for d in sorted(schedule.workdays)
    ]
    if days:
        conn.execute(insert(CalendarDay), days)


def schedules(conn: Connection) -> dict[int, YearSchedule]:
    """Every stored year."""
    years = {y.year: y.source for y in conn.execute(select(CalendarYear.year, CalendarYear.source))}
    holidays: dict[int, set[Any]] = {y: set() for y in years}
    workdays: dict[int, set[Any]] = {y: set() for y in years}
    names: dict[int, dict[Any, str]] = {y: {} for y in years}
    for day, year, kind, name in conn.execute(
        select(CalendarDay.day, CalendarDay.year, CalendarDay.kind, CalendarDay.name)
    ):
        (holidays if kind == "holiday" else workdays)[year].add(day)
        if name:
            names[year][day] = name
    return {
        year: YearSchedule(
            year=year,
            holidays=frozenset(holidays[year]),
            workdays=frozenset(workdays[year]),
            source=source,
            names=names[year],
        )
        for year, source in years.items()
    }


def schedule(conn: Connection, year: int) -> YearSchedule:
    """One stored year, or NotFoundError."""
    found = schedules(conn).get(year)
    if found is None:
        raise NotFoundError("calendar year", year, f"no working-day schedule for {year}")
    return found


def load(
    conn: Connection, *, timezone: str, close_of_business: Any, fallback: Fallback
) -> WorkCalendar:
    """A WorkCalendar on the stored years."""
    return WorkCalendar(
        schedules(conn), timezone=timezone, close_of_business=close_of_business, fallback=fallback
    )
