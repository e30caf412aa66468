"""Performance metrics (绩效考评) per department and per person, computed in SQL.

Every figure is about a period ``[start, end)`` of aware datetimes (see
:func:`period_bounds` for turning local dates into one) and is computed by the database:
one statement per function, a ``UNION ALL`` of index-friendly branches, each a
``GROUP BY`` with conditional aggregation (``SUM(CASE …)``), summed per key. No row is
read into Python; the same statements run on SQLite and PostgreSQL.

A thing is *open at the period's end* when it started (was created) before ``end`` and
had not ended by then (``ended_at`` NULL or ``>= end``): a case still running or
suspended, a step not yet completed or cancelled. Its status today does not matter, so a
past period's figures do not change when those cases end later.

Department figures (from ``cases``, per ``cases.department_id``; cases without a
department are left out):

- ``received``: cases started in the period (收件).
- ``completed``: cases with status ``completed`` and ``ended_at`` in the period (办结).
- ``on_time``: completed ones with no promised limit (``due_at`` NULL) or
  ``ended_at <= due_at`` (按时办结).
- ``overdue_open``: cases open at the period's end whose ``due_at < end``.
- ``overdue``: completed ones with ``ended_at > due_at``, plus ``overdue_open`` (超期).
- ``avg_working_days``: mean ``working_days_used`` of the completed ones that have it
  (None if none).
- ``on_time_rate``: ``on_time / completed`` (None if nothing was completed).
- ``confirmed_faults``: confirmed faults (below) with that ``department_id``.
- ``steps_completed``, ``steps_on_time``, ``steps_overdue``, ``steps_overdue_open``: the
  same figures for the department's steps (``human_tasks.department_id``), a step being
  completed when its state is ``completed``.

Person figures (from ``human_tasks``): a step belongs to ``COALESCE(completed_by,
assignee)``: whoever completed it, else whoever holds it (steps nobody holds are left out).

- ``received``: steps created in the period, whatever became of them.
- ``completed``: steps with state ``completed``, ``ended_at`` in the period and
  ``completed_by`` the person.
- ``on_time``, ``overdue_open``, ``overdue``, ``avg_working_days``, ``on_time_rate``: as
  for departments, on those steps.
- ``confirmed_faults``: confirmed faults with that ``person_id``.

A *confirmed fault* (确认的过错) is an original accountability record (kind
``overdue_step``, ``overdue_case``, ``deemed_consent``, ``deemed_acceptance`` or
``escalation``; ``refers_to`` NULL) created in the period whose latest review (the
``review`` row with the highest id referring to it, whenever it was made) says
``confirmed``: a later review excusing it withdraws the fault, and the other way round.

Only departments and people with at least one non-zero figure appear. The ``department``
filter of :func:`person_figures` keeps the steps of that department (and the faults
recorded against it).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from sqlalchemy import ColumnElement, Connection, Select
from sqlalchemy.orm import aliased

from engine.errors import InvalidInputError
from engine.store.models import Case, FaultRecord, HumanTask

T = TypeVar("T")

ORIGINAL_FAULT_KINDS = (
    "overdue_step",
    "overdue_case",
    "deemed_consent",
    "deemed_acceptance",
    "escalation",
)


class FiguresCache:
    """Figures of a period kept for ``seconds`` of the engine's clock (0: not kept).

    A month's department figures over 100,000 cases take about half a second of SQL, and
    a supervision office's dashboard asks for the same few periods again and again;
    figures a few minutes old are what such a page shows anyway. Each process keeps
    its own entries (at most ``size``, the oldest dropped first).
    """

    def __init__(self, seconds: float, size: int = 256) -> None:
        if seconds < 0:
            raise InvalidInputError("figures cache seconds must be >= 0")
        self.seconds = seconds
        self.size = size
        self._entries: dict[Hashable, tuple[datetime, Any]] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable, now: datetime, compute: Callable[[], T]) -> T:
        """The value kept for ``key`` if it is fresh at ``now``, else ``compute()`` (kept)."""
        if self.seconds <= 0:
            return compute()
        with self._lock:
            found = self._entries.get(key)
        if found is not None and (now - found[0]).total_seconds() < self.seconds:
            return found[1]  # type: ignore[no-any-return]
        value = compute()  # outside the lock: two callers may both compute, both correct
        with self._lock:
            self._entries.pop(key, None)
            self._entries[key] = (now, value)
            while len(self._entries) > self.size:
                self._entries.pop(next(iter(self._entries)))
        return value


class _Figures:
    def to_dict(self) -> dict[str, Any]:
        """Return the figures as a JSON-friendly dict."""
        return asdict(self)  # type: ignore[call-overload,no-any-return]


@dataclass(frozen=True)
class DepartmentFigures(_Figures):
    """A department's figures for a period (see the module docstring for definitions)."""

    department_id: str
    received: int
    completed: int
    on_time: int
    overdue: int
    overdue_open: int
    avg_working_days: float | None
    on_time_rate: float | None
    confirmed_faults: int
    steps_completed: int
    steps_on_time: int
    steps_overdue: int
    steps_overdue_open: int


@dataclass(frozen=True)
class PersonFigures(_Figures):
    """A person's figures for a period (see the module docstring for definitions)."""

    person_id: str
    received: int
    completed: int
    on_time: int
    overdue: int
    overdue_open: int
    avg_working_days: float | None
    on_time_rate: float | None
    confirmed_faults: int


def period_bounds(start_date: date, end_date: date, timezone: str) -> tuple[datetime, datetime]:
    """Return the UTC bounds ``[start, end)`` of local days ``start_date``..``end_date``.

    Args:
        start_date: the first day of the period.
        end_date: the last day of the period (inclusive).
        timezone: the IANA zone the days are in, e.g. ``Asia/Shanghai``.
    """
    if end_date < start_date:
        raise InvalidInputError(f"period ends ({end_date}) before it starts ({start_date})")
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidInputError(f"unknown time zone {timezone!r}") from exc
    start = datetime.combine(start_date, time(0), tzinfo=zone)
    end = datetime.combine(end_date + timedelta(days=1), time(0), tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def department_figures(
    conn: Connection, start: datetime, end: datetime, department: str | None = None
) -> list[DepartmentFigures]:
    """Return the figures of every department active in ``[start, end)``, by department id.

    Args:
        conn: the caller's connection (read only).
        start: the period's first moment (aware).
        end: the moment after the period (aware, exclusive).
        department: only this department.
    """
    _check_period(start, end)
    received = _within(Case.started_at, start, end)
    done, open_due = _case_outcomes(start, end)
    step_done, step_open_due = _step_outcomes(start, end)
    steps = _outcomes(step_done, step_open_due, HumanTask)
    branches = [
        _branch(
            Case.department_id,
            _DEPARTMENT_COLUMNS,
            {"received": _count_if(received), **_outcomes(done, open_due, Case)},
            [_key_is(Case.department_id, department), sa.or_(received, done, open_due)],
        ),
        _branch(
            HumanTask.department_id,
            _DEPARTMENT_COLUMNS,
            {f"steps_{name}": steps[name] for name in ("completed", "on_time", "late")}
            | {"steps_overdue_open": steps["overdue_open"]},
            [_key_is(HumanTask.department_id, department), sa.or_(step_done, step_open_due)],
        ),
        _faults_branch(
            FaultRecord.department_id,
            _DEPARTMENT_COLUMNS,
            start,
            end,
            [_key_is(FaultRecord.department_id, department)],
        ),
    ]
    figures = []
    for row in _totals(conn, branches, _DEPARTMENT_COLUMNS):
        n = {name: int(row[name] or 0) for name in _DEPARTMENT_COLUMNS if name != "wd_sum"}
        figures.append(
            DepartmentFigures(
                department_id=row["key"],
                received=n["received"],
                completed=n["completed"],
                on_time=n["on_time"],
                overdue=n["late"] + n["overdue_open"],
                overdue_open=n["overdue_open"],
                avg_working_days=_mean(row["wd_sum"], n["wd_count"]),
                on_time_rate=_rate(n["on_time"], n["completed"]),
                confirmed_faults=n["faults"],
                steps_completed=n["steps_completed"],
                steps_on_time=n["steps_on_time"],
                steps_overdue=n["steps_late"] + n["steps_overdue_open"],
                steps_overdue_open=n["steps_overdue_open"],
            )
        )
    return figures


def person_figures(
    conn: Connection,
    start: datetime,
    end: datetime,
    department: str | None = None,
    person: str | None = None,
) -> list[PersonFigures]:
    """Return the figures of every person active in ``[start, end)``, by person id.

    Args:
        conn: the caller's connection (read only).
        start: the period's first moment (aware).
        end: the moment after the period (aware, exclusive).
        department: only the steps (and faults) of this department.
        person: only this person.
    """
    _check_period(start, end)
    received = _within(HumanTask.created_at, start, end)
    done, open_due = _step_outcomes(start, end)
    done = sa.and_(done, HumanTask.completed_by.is_not(None))
    columns = {"received": _count_if(received), **_outcomes(done, open_due, HumanTask)}
    where = [sa.or_(received, done, open_due)]
    fault_where = [_key_is(FaultRecord.person_id, person)]
    if department is not None:
        where.append(HumanTask.department_id == department)
        fault_where.append(FaultRecord.department_id == department)
    # COALESCE(completed_by, assignee) as two halves, each grouped by a plain column: the
    # planner knows those columns' statistics (and hashes), and each half has its index
    branches = [
        _branch(
            HumanTask.completed_by,
            _PERSON_COLUMNS,
            columns,
            [*where, _key_is(HumanTask.completed_by, person)],
        ),
        _branch(
            HumanTask.assignee,
            _PERSON_COLUMNS,
            columns,
            [*where, HumanTask.completed_by.is_(None), _key_is(HumanTask.assignee, person)],
        ),
        _faults_branch(FaultRecord.person_id, _PERSON_COLUMNS, start, end, fault_where),
    ]
    figures = []
    for row in _totals(conn, branches, _PERSON_COLUMNS):
        n = {name: int(row[name] or 0) for name in _PERSON_COLUMNS if name != "wd_sum"}
        figures.append(
            PersonFigures(
                person_id=row["key"],
                received=n["received"],
                completed=n["completed"],
                on_time=n["on_time"],
                overdue=n["late"] + n["overdue_open"],
                overdue_open=n["overdue_open"],
                avg_working_days=_mean(row["wd_sum"], n["wd_count"]),
                on_time_rate=_rate(n["on_time"], n["completed"]),
                confirmed_faults=n["faults"],
            )
        )
    return figures


# --- the SQL ----------------------------------------------------------------------------

# what each branch of a UNION ALL yields after its key, in this order (zero if not given)
_PERSON_COLUMNS = (
    "received",
    "completed",
    "on_time",
    "late",
    "overdue_open",
    "wd_sum",
    "wd_count",
    "faults",
)
_DEPARTMENT_COLUMNS = (
    *_PERSON_COLUMNS,
    "steps_completed",
    "steps_on_time",
    "steps_late",
    "steps_overdue_open",
)


def _check_period(start: datetime, end: datetime) -> None:
    if start.tzinfo is None or end.tzinfo is None:
        raise InvalidInputError("period bounds must be timezone-aware datetimes")
    if not start < end:
        raise InvalidInputError(f"empty period: {start.isoformat()} .. {end.isoformat()}")


def _within(column: Any, start: datetime, end: datetime) -> ColumnElement[bool]:
    return sa.and_(column >= start, column < end)


def _key_is(column: Any, value: str | None) -> ColumnElement[bool]:
    return column.is_not(None) if value is None else column == value


def _case_outcomes(
    start: datetime, end: datetime
) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    """Return (completed in the period, open at its end and past due) for cases."""
    done = sa.and_(Case.status == "completed", _within(Case.ended_at, start, end))
    return done, _open_due(Case.started_at, Case.ended_at, Case.due_at, end)


def _step_outcomes(
    start: datetime, end: datetime
) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    """Return (completed in the period, open at its end and past due) for steps."""
    done = sa.and_(HumanTask.state == "completed", _within(HumanTask.ended_at, start, end))
    return done, _open_due(HumanTask.created_at, HumanTask.ended_at, HumanTask.due_at, end)


def _open_due(started_at: Any, ended_at: Any, due_at: Any, end: datetime) -> ColumnElement[bool]:
    """Open at ``end`` and due before it; spelt as an OR of two terms that each start with
    an indexable condition on ``ended_at`` (SQLite's planner needs that to use the index)."""
    before = sa.and_(started_at < end, due_at < end)
    return sa.or_(sa.and_(ended_at.is_(None), before), sa.and_(ended_at >= end, before))


def _outcomes(
    done: ColumnElement[bool], open_due: ColumnElement[bool], model: type[Case] | type[HumanTask]
) -> dict[str, ColumnElement[Any]]:
    """Completed, on time, late, open past due and working days, as aggregates."""
    on_time = sa.or_(model.due_at.is_(None), model.ended_at <= model.due_at)
    return {
        "completed": _count_if(done),
        "on_time": _count_if(sa.and_(done, on_time)),
        "late": _count_if(sa.and_(done, model.ended_at > model.due_at)),
        "overdue_open": _count_if(open_due),
        "wd_sum": sa.func.sum(sa.case((done, model.working_days_used))),
        "wd_count": sa.func.count(sa.case((done, model.working_days_used))),
    }


def _count_if(condition: ColumnElement[bool]) -> ColumnElement[Any]:
    return sa.func.sum(sa.case((condition, 1), else_=0))


def _faults_branch(
    key: Any,
    names: Sequence[str],
    start: datetime,
    end: datetime,
    where: Sequence[ColumnElement[bool]],
) -> Select[Any]:
    """The confirmed faults created in the period, per ``key`` (a FaultRecord column)."""
    review = aliased(FaultRecord, name="review")
    # a subquery per original (through ix_fault_records_refers): its cost follows the
    # originals of the period, where a join would read every review ever made
    latest_decision = (
        sa.select(review.decision)
        .where(review.refers_to == FaultRecord.id, review.kind == "review")
        .order_by(review.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    return _branch(
        key,
        names,
        {"faults": sa.func.count()},
        [
            *where,
            FaultRecord.refers_to.is_(None),
            FaultRecord.kind.in_(ORIGINAL_FAULT_KINDS),
            _within(FaultRecord.created_at, start, end),
            latest_decision == "confirmed",
        ],
    )


def _branch(
    key: Any,
    names: Sequence[str],
    columns: Mapping[str, ColumnElement[Any]],
    where: Sequence[ColumnElement[bool]],
) -> Select[Any]:
    """One branch of the UNION ALL: ``key``, then ``names``, zero where not in ``columns``."""
    unknown = set(columns) - set(names)
    if unknown:
        raise ValueError(f"columns not in the union: {sorted(unknown)}")
    # grouped by COALESCE(key, '') - the same groups, as NULL keys never get this far - so
    # that SQLite does not walk the key's index for the GROUP BY order (reading every row)
    # instead of using the period's indexes; PostgreSQL estimates it from the key's statistics
    grouped = sa.func.coalesce(key, sa.literal_column("''"))
    selected: list[ColumnElement[Any]] = [grouped.label("key")]
    for name in names:
        column = columns.get(name)
        if column is None:
            # typed NULL: PostgreSQL must find one type for each column of the union
            column = sa.cast(sa.null(), sa.Float) if name == "wd_sum" else sa.literal_column("0")
        selected.append(column.label(name))
    return sa.select(*selected).where(*where).group_by(grouped)


def _totals(
    conn: Connection, branches: Sequence[Select[Any]], names: Sequence[str]
) -> Sequence[sa.RowMapping]:
    """Sum the branches per key, ordered by key (in Python: the same order on every
    database, whatever PostgreSQL's collation)."""
    union = sa.union_all(*branches).subquery("branches")
    statement = sa.select(
        union.c.key, *(sa.func.sum(union.c[name]).label(name) for name in names)
    ).group_by(union.c.key)
    if conn.dialect.name == "postgresql":
        # JIT-compiling these wide aggregates takes seconds on a year of a million cases
        # and saves nothing; set_config(…, true) is SET LOCAL: the caller's transaction only
        conn.execute(sa.select(sa.func.set_config("jit", "off", True)))
    return sorted(conn.execute(statement).mappings(), key=lambda row: str(row["key"]))


def _mean(total: float | None, count: int) -> float | None:
    return float(total) / count if count and total is not None else None


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None
