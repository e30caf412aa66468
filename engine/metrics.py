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

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from sqlalchemy import ColumnElement, Connection, Select
from sqlalchemy.orm import aliased

from engine.errors import InvalidInputError
from engine.store.models import Case, FaultRecord, HumanTask

ORIGINAL_FAULT_KINDS = (
    "overdue_step",
    "overdue_case",
    "deemed_consent",
    "deemed_acceptance",
    "escalation",
)

# the columns every branch of a UNION ALL yields, in order, after the key
_COUNTS = ("received", "completed", "on_time", "late", "overdue_open", "wd_count", "faults")
_STEP_COUNTS = ("steps_completed", "steps_on_time", "steps_late", "steps_overdue_open")


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
    names = (*_COUNTS, *_STEP_COUNTS)
    dept = Case.department_id
    case_filter = [dept.is_not(None)] if department is None else [dept == department]
    step_dept = HumanTask.department_id
    step_filter = [step_dept.is_not(None)] if department is None else [step_dept == department]
    fault_dept = FaultRecord.department_id
    fault_filter = [fault_dept.is_not(None)] if department is None else [fault_dept == department]

    done, open_due = _case_outcomes(start, end)
    step_done, step_open_due = _step_outcomes(start, end)
    branches = [
        _branch(
            dept,
            names,
            {"received": sa.func.count()},
            [*case_filter, Case.started_at >= start, Case.started_at < end],
        ),
        _branch(
            dept,
            names,
            _outcome_columns(done, open_due, Case.ended_at, Case.due_at, Case.working_days_used),
            [*case_filter, sa.or_(done, open_due)],
        ),
        _branch(
            step_dept,
            names,
            {
                "steps_completed": _count_if(step_done),
                "steps_on_time": _count_if(
                    sa.and_(step_done, _on_time(HumanTask.ended_at, HumanTask.due_at))
                ),
                "steps_late": _count_if(sa.and_(step_done, HumanTask.ended_at > HumanTask.due_at)),
                "steps_overdue_open": _count_if(step_open_due),
            },
            [*step_filter, sa.or_(step_done, step_open_due)],
        ),
        _faults_branch(fault_dept, names, start, end, fault_filter),
    ]
    figures = []
    for row in _totals(conn, branches, names):
        counts = {name: int(row[name] or 0) for name in names}
        figures.append(
            DepartmentFigures(
                department_id=row["key"],
                received=counts["received"],
                completed=counts["completed"],
                on_time=counts["on_time"],
                overdue=counts["late"] + counts["overdue_open"],
                overdue_open=counts["overdue_open"],
                avg_working_days=_mean(row["wd_sum"], counts["wd_count"]),
                on_time_rate=_rate(counts["on_time"], counts["completed"]),
                confirmed_faults=counts["faults"],
                steps_completed=counts["steps_completed"],
                steps_on_time=counts["steps_on_time"],
                steps_overdue=counts["steps_late"] + counts["steps_overdue_open"],
                steps_overdue_open=counts["steps_overdue_open"],
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
    names = _COUNTS
    holder = sa.func.coalesce(HumanTask.completed_by, HumanTask.assignee)
    step_filter: list[ColumnElement[bool]] = []
    fault_filter: list[ColumnElement[bool]] = [FaultRecord.person_id.is_not(None)]
    if person is None:
        step_filter.append(holder.is_not(None))
    else:
        # spelt out rather than COALESCE(…) = :person so that both indexes can serve it
        step_filter.append(
            sa.or_(
                HumanTask.completed_by == person,
                sa.and_(HumanTask.completed_by.is_(None), HumanTask.assignee == person),
            )
        )
        fault_filter.append(FaultRecord.person_id == person)
    if department is not None:
        step_filter.append(HumanTask.department_id == department)
        fault_filter.append(FaultRecord.department_id == department)

    done, open_due = _step_outcomes(start, end)
    done = sa.and_(done, HumanTask.completed_by.is_not(None))
    branches = [
        _branch(
            holder,
            names,
            {"received": sa.func.count()},
            [*step_filter, HumanTask.created_at >= start, HumanTask.created_at < end],
        ),
        _branch(
            holder,
            names,
            _outcome_columns(
                done, open_due, HumanTask.ended_at, HumanTask.due_at, HumanTask.working_days_used
            ),
            [*step_filter, sa.or_(done, open_due)],
        ),
        _faults_branch(FaultRecord.person_id, names, start, end, fault_filter),
    ]
    figures = []
    for row in _totals(conn, branches, names):
        counts = {name: int(row[name] or 0) for name in names}
        figures.append(
            PersonFigures(
                person_id=row["key"],
                received=counts["received"],
                completed=counts["completed"],
                on_time=counts["on_time"],
                overdue=counts["late"] + counts["overdue_open"],
                overdue_open=counts["overdue_open"],
                avg_working_days=_mean(row["wd_sum"], counts["wd_count"]),
                on_time_rate=_rate(counts["on_time"], counts["completed"]),
                confirmed_faults=counts["faults"],
            )
        )
    return figures


# --- the SQL ----------------------------------------------------------------------------


def _check_period(start: datetime, end: datetime) -> None:
    if start.tzinfo is None or end.tzinfo is None:
        raise InvalidInputError("period bounds must be timezone-aware datetimes")
    if not start < end:
        raise InvalidInputError(f"empty period: {start.isoformat()} .. {end.isoformat()}")


def _case_outcomes(
    start: datetime, end: datetime
) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    """Return (completed in the period, open at its end and past due) for cases."""
    done = sa.and_(Case.status == "completed", Case.ended_at >= start, Case.ended_at < end)
    open_due = sa.and_(
        Case.started_at < end,
        sa.or_(Case.ended_at.is_(None), Case.ended_at >= end),
        Case.due_at < end,
    )
    return done, open_due


def _step_outcomes(
    start: datetime, end: datetime
) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    """Return (completed in the period, open at its end and past due) for steps."""
    done = sa.and_(
        HumanTask.state == "completed", HumanTask.ended_at >= start, HumanTask.ended_at < end
    )
    open_due = sa.and_(
        HumanTask.created_at < end,
        sa.or_(HumanTask.ended_at.is_(None), HumanTask.ended_at >= end),
        HumanTask.due_at < end,
    )
    return done, open_due


def _outcome_columns(
    done: ColumnElement[bool],
    open_due: ColumnElement[bool],
    ended_at: Any,
    due_at: Any,
    working_days: Any,
) -> dict[str, ColumnElement[Any]]:
    return {
        "completed": _count_if(done),
        "on_time": _count_if(sa.and_(done, _on_time(ended_at, due_at))),
        "late": _count_if(sa.and_(done, ended_at > due_at)),
        "overdue_open": _count_if(open_due),
        "wd_sum": sa.func.sum(sa.case((done, working_days))),
        "wd_count": sa.func.count(sa.case((done, working_days))),
    }


def _on_time(ended_at: Any, due_at: Any) -> ColumnElement[bool]:
    return sa.or_(due_at.is_(None), ended_at <= due_at)


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
            FaultRecord.created_at >= start,
            FaultRecord.created_at < end,
            latest_decision == "confirmed",
        ],
    )


def _branch(
    key: Any,
    names: Sequence[str],
    columns: Mapping[str, ColumnElement[Any]],
    where: Sequence[ColumnElement[bool]],
) -> Select[Any]:
    """One branch of the UNION ALL: ``key``, then ``wd_sum`` and ``names``, zero if not given."""
    selected: list[ColumnElement[Any]] = [key.label("key")]
    wd_sum = columns.get("wd_sum")
    selected.append((wd_sum if wd_sum is not None else sa.cast(sa.null(), sa.Float)).label("wd_sum"))
    for name in names:
        column = columns.get(name)
        selected.append((column if column is not None else sa.literal_column("0")).label(name))
    return sa.select(*selected).where(*where).group_by(key)


def _totals(
    conn: Connection, branches: Sequence[Select[Any]], names: Sequence[str]
) -> Sequence[sa.RowMapping]:
    """Sum the branches per key, ordered by key."""
    union = sa.union_all(*branches).subquery("branches")
    statement = (
        sa.select(
            union.c.key,
            sa.func.sum(union.c.wd_sum).label("wd_sum"),
            *(sa.func.sum(union.c[name]).label(name) for name in names),
        )
        .group_by(union.c.key)
        .order_by(union.c.key)
    )
    return conn.execute(statement).mappings().all()


def _mean(total: float | None, count: int) -> float | None:
    return float(total) / count if count and total is not None else None


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None
