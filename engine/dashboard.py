"""The supervision dashboard (电子监察): what is late or about to be, counted in SQL.

Every figure is one aggregate statement (a ``COUNT`` or a ``GROUP BY``) and every list a
``LIMIT``-ed statement ordered on an indexed column, so the dashboard costs the same with
a hundred cases as with a hundred thousand; only the listed rows reach Python.

- Live cards: ``cards`` with ``cleared_at`` NULL per department and colour
  (``ix_cards_live``).
- Overdue steps: open ``human_tasks`` whose ``due_at`` has passed.
- Overdue cases: open cases (running or suspended) whose promised moment (``due_at``)
  has passed; listed with their open steps and holders.
- Nearing cases: open cases not yet overdue whose promised moment comes within
  ``nearing_days`` of working time (the engine's work calendar), clock not stopped.
- Deemed consents and acceptances: accountability records of kind ``deemed_consent`` /
  ``deemed_acceptance`` created in the recent period.
- Open complaints: open cases of the process ``efficiency_complaint`` (效能投诉).

:func:`overdue_by_step` counts the overdue steps of a period per process step with the
definitions of ``engine.metrics`` (so its total equals the departments' ``steps_overdue``
plus the steps without a department).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from fractions import Fraction
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection
from sqlalchemy.orm import Session, aliased

from engine import accountability, metrics
from engine.calendar import WorkCalendar
from engine.errors import InvalidInputError, NotFoundError
from engine.metrics import _step_outcomes  # the metrics' own definition of an overdue step
from engine.store.models import Card, Case, ClockStop, FaultRecord, HumanTask
from engine.views import (
    CardCountView,
    CaseAlertView,
    DashboardView,
    FaultRecordView,
    StepAlertView,
    StepOverdueCountView,
)

OPEN_CASE_STATES = ("running", "suspended")
COMPLAINT_PROCESS = "efficiency_complaint"  # 效能投诉处理 (bpmn/efficiency_complaint.bpmn)
DEEMED_KINDS = ("deemed_consent", "deemed_acceptance")
MAX_LIST = 200  # the longest list a dashboard call returns
MAX_WEEKS = 53


@dataclass(frozen=True)
class WeekFigures:
    """The department figures (``engine.metrics``) of one week, Monday to Sunday."""

    start: date
    end: date  # the Sunday (inclusive)
    departments: tuple[metrics.DepartmentFigures, ...]

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-friendly dict."""
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "departments": [asdict(f) for f in self.departments],
        }


def check_limit(limit: int) -> None:
    """Reject a list length the dashboard does not serve."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIST:
        raise InvalidInputError(f"list limit must be a whole number from 1 to {MAX_LIST}")


def dashboard(
    session: Session,
    now: datetime,
    calendar: WorkCalendar | None,
    *,
    department: str | None = None,
    limit: int = 10,
    nearing_days: int = 2,
    deemed_since: datetime,
) -> DashboardView:
    """Return the dashboard at ``now`` (all departments, or one).

    Args:
        session: the caller's session (read only).
        now: the moment the dashboard is about.
        calendar: the working-day calendar (None: nothing counts as nearing its limit).
        department: only this department's cards, steps, cases and records.
        limit: the longest each list gets (the totals count everything).
        nearing_days: working days ahead that count as nearing the promised limit.
        deemed_since: deemed consents and acceptances from this moment on.
    """
    check_limit(limit)
    conn = session.connection()
    if isinstance(nearing_days, bool) or not isinstance(nearing_days, int) or nearing_days < 1:
        raise InvalidInputError("nearing_days must be a whole number of working days, at least 1")
    steps_total, steps = _overdue_steps(conn, now, department, limit)
    cases_total, cases = _overdue_cases(conn, now, department, limit)
    if calendar is not None:
        horizon = calendar.shift_by_working_time(now, nearing_days)
        nearing_total, nearing = _nearing(conn, now, horizon, department, limit)
        nearing = tuple(_with_remaining(c, calendar, now) for c in nearing)
    else:
        nearing_total, nearing = 0, ()
    counts, deemed = _deemed(session, deemed_since, now, department, limit)
    complaints_total, complaints = _complaints(conn, department, limit)
    return DashboardView(
        at=now,
        department_id=department,
        cards=_card_counts(conn, department),
        overdue_steps_total=steps_total,
        overdue_steps=steps,
        overdue_cases_total=cases_total,
        overdue_cases=tuple(
            _with_remaining(c, calendar, now) if calendar is not None else c for c in cases
        ),
        nearing_days=nearing_days,
        nearing_total=nearing_total,
        nearing=nearing,
        deemed_since=deemed_since,
        deemed_consents=counts.get("deemed_consent", 0),
        deemed_acceptances=counts.get("deemed_acceptance", 0),
        deemed=deemed,
        complaints_total=complaints_total,
        complaints=complaints,
    )


# -- the parts ---------------------------------------------------------------------------------


def _card_counts(conn: Connection, department: str | None) -> tuple[CardCountView, ...]:
    red = sa.func.sum(sa.case((Card.color == "red", 1), else_=0))
    stmt = sa.select(Card.department_id, sa.func.count(), red).where(Card.cleared_at.is_(None))
    if department is not None:
        stmt = stmt.where(Card.department_id == department)
    rows = conn.execute(stmt.group_by(Card.department_id)).all()
    views = [
        CardCountView(department_id=d, yellow=int(total) - int(reds or 0), red=int(reds or 0))
        for d, total, reds in rows
    ]
    # the most red cards first, then the most cards; by id for a stable order
    return tuple(sorted(views, key=lambda v: (-v.red, -v.yellow, v.department_id or "")))


def _overdue_steps(
    conn: Connection, now: datetime, department: str | None, limit: int
) -> tuple[int, tuple[StepAlertView, ...]]:
    # ended_at IS NULL says the same as state = 'open' and lets ix_human_tasks_ended find
    # the open steps without reading the finished ones
    where: list[sa.ColumnElement[bool]] = [
        HumanTask.ended_at.is_(None),
        HumanTask.state == "open",
        HumanTask.due_at < now,
    ]
    if department is not None:
        where.append(HumanTask.department_id == department)
    total = conn.scalar(sa.select(sa.func.count()).select_from(HumanTask).where(*where)) or 0
    if not total:
        return 0, ()
    rows = conn.execute(
        sa.select(
            HumanTask.id,
            HumanTask.case_id,
            Case.business_key,
            Case.process_id,
            HumanTask.element_id,
            HumanTask.name,
            HumanTask.department_id,
            HumanTask.assignee,
            HumanTask.due_at,
        )
        .join(Case, Case.id == HumanTask.case_id)
        .where(*where)
        .order_by(HumanTask.due_at, HumanTask.id)
        .limit(limit)
    ).all()
    return int(total), tuple(
        StepAlertView(
            task_id=r.id,
            case_id=r.case_id,
            business_key=r.business_key,
            process_id=r.process_id,
            element_id=r.element_id,
            name=r.name,
            department_id=r.department_id,
            holder=r.assignee,
            due_at=r.due_at,
        )
        for r in rows
    )


def _open_cases(department: str | None) -> list[sa.ColumnElement[bool]]:
    where: list[sa.ColumnElement[bool]] = [Case.status.in_(OPEN_CASE_STATES)]
    if department is not None:
        where.append(Case.department_id == department)
    return where


def _overdue_cases(
    conn: Connection, now: datetime, department: str | None, limit: int
) -> tuple[int, tuple[CaseAlertView, ...]]:
    where = [*_open_cases(department), Case.due_at < now]
    return _case_list(conn, where, (Case.due_at, Case.id), limit)


def _nearing(
    conn: Connection, now: datetime, horizon: datetime, department: str | None, limit: int
) -> tuple[int, tuple[CaseAlertView, ...]]:
    stopped = sa.exists().where(ClockStop.case_id == Case.id, ClockStop.ended_at.is_(None))
    where = [*_open_cases(department), Case.due_at >= now, Case.due_at <= horizon, ~stopped]
    return _case_list(conn, where, (Case.due_at, Case.id), limit)


def _complaints(
    conn: Connection, department: str | None, limit: int
) -> tuple[int, tuple[CaseAlertView, ...]]:
    where = [*_open_cases(department), Case.process_id == COMPLAINT_PROCESS]
    return _case_list(conn, where, (Case.started_at, Case.id), limit)


def _case_list(
    conn: Connection,
    where: Sequence[sa.ColumnElement[bool]],
    order: Sequence[Any],
    limit: int,
) -> tuple[int, tuple[CaseAlertView, ...]]:
    """Count the cases, and list the first ``limit`` with their open steps."""
    total = conn.scalar(sa.select(sa.func.count()).select_from(Case).where(*where)) or 0
    if not total:
        return 0, ()
    rows = conn.execute(
        sa.select(
            Case.id,
            Case.business_key,
            Case.title,
            Case.process_id,
            Case.status,
            Case.department_id,
            Case.started_at,
            Case.due_at,
        )
        .where(*where)
        .order_by(*order)
        .limit(limit)
    ).all()
    steps = _open_steps(conn, [r.id for r in rows])
    return int(total), tuple(
        CaseAlertView(
            case_id=r.id,
            business_key=r.business_key,
            title=r.title,
            process_id=r.process_id,
            status=r.status,
            department_id=r.department_id,
            started_at=r.started_at,
            due_at=r.due_at,
            open_steps=tuple(steps.get(r.id, ())),
        )
        for r in rows
    )


def _open_steps(conn: Connection, case_ids: list[int]) -> dict[int, list[tuple[str, str | None]]]:
    found: dict[int, list[tuple[str, str | None]]] = defaultdict(list)
    if not case_ids:
        return found
    for case_id, element_id, name, assignee in conn.execute(
        sa.select(HumanTask.case_id, HumanTask.element_id, HumanTask.name, HumanTask.assignee)
        .where(HumanTask.case_id.in_(case_ids), HumanTask.state == "open")
        .order_by(HumanTask.created_at, HumanTask.id)
    ).all():
        found[case_id].append((name or element_id, assignee))
    return found


def _with_remaining(
    case: CaseAlertView, calendar: WorkCalendar | None, now: datetime
) -> CaseAlertView:
    if calendar is None or case.due_at is None:
        return case
    left: Fraction = calendar.remaining_working_days(now, case.due_at)
    return CaseAlertView(**{**case.__dict__, "remaining_days": float(left)})


def _deemed(
    session: Session, since: datetime, now: datetime, department: str | None, limit: int
) -> tuple[dict[str, int], tuple[FaultRecordView, ...]]:
    where: list[sa.ColumnElement[bool]] = [
        FaultRecord.kind.in_(DEEMED_KINDS),
        FaultRecord.refers_to.is_(None),
        FaultRecord.created_at >= since,
        FaultRecord.created_at <= now,
    ]
    if department is not None:
        where.append(FaultRecord.department_id == department)
    counts = {
        str(kind): int(n)
        for kind, n in session.execute(
            sa.select(FaultRecord.kind, sa.func.count()).where(*where).group_by(FaultRecord.kind)
        ).all()
    }
    if not counts:
        return counts, ()
    return counts, _records_with_review(session, where, limit)


def fault_record(session: Session, record_id: int) -> FaultRecordView:
    """One original accountability record with its latest review."""
    where = [
        FaultRecord.id == record_id,
        FaultRecord.refers_to.is_(None),
        FaultRecord.kind != "review",
    ]
    found = _records_with_review(session, where, 1, finals=True)
    if not found:
        raise NotFoundError("accountability record", record_id)
    return found[0]


def _records_with_review(
    session: Session,
    where: Sequence[sa.ColumnElement[bool]],
    limit: int,
    *,
    finals: bool = False,
) -> tuple[FaultRecordView, ...]:
    """Records (newest first) with their latest review, found through
    ``ix_fault_records_refers`` one record at a time (no scan of every review)."""
    review = aliased(FaultRecord, name="review")
    latest = aliased(FaultRecord, name="latest")
    latest_id = (
        sa.select(review.id)
        .where(review.refers_to == FaultRecord.id, review.kind == "review")
        .order_by(review.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    stmt = (
        sa.select(FaultRecord, latest, Case.business_key)
        .select_from(FaultRecord)
        .outerjoin(latest, latest.id == latest_id)
        .outerjoin(Case, Case.id == FaultRecord.case_id)
        .where(*where)
        .order_by(FaultRecord.created_at.desc(), FaultRecord.id.desc())
        .limit(limit)
    )
    lateness = accountability._final_lateness(session) if finals else None
    return tuple(
        accountability.fault_view(o, r, key, lateness) for o, r, key in session.execute(stmt)
    )


# -- period figures ---------------------------------------------------------------------------


def overdue_by_step(
    conn: Connection,
    start: datetime,
    end: datetime,
    department: str | None = None,
    limit: int = 20,
) -> list[StepOverdueCountView]:
    """Overdue steps of ``[start, end)`` per process step, the most first.

    A step is overdue as ``engine.metrics`` counts it: completed in the period after its
    due moment, or open at the period's end past it.
    """
    check_limit(limit)
    metrics._check_period(start, end)
    done, open_due = _step_outcomes(start, end)
    late = sa.and_(done, HumanTask.ended_at > HumanTask.due_at)
    late_n = sa.func.sum(sa.case((late, 1), else_=0))
    open_n = sa.func.sum(sa.case((open_due, 1), else_=0))
    stmt = (
        sa.select(Case.process_id, HumanTask.element_id, HumanTask.name, late_n, open_n)
        .join(Case, Case.id == HumanTask.case_id)
        .where(sa.or_(late, open_due))
        .group_by(Case.process_id, HumanTask.element_id, HumanTask.name)
        .order_by((late_n + open_n).desc(), Case.process_id, HumanTask.element_id)
        .limit(limit)
    )
    if department is not None:
        stmt = stmt.where(HumanTask.department_id == department)
    return [
        StepOverdueCountView(
            process_id=process_id,
            element_id=element_id,
            name=name,
            late=int(late_count or 0),
            overdue_open=int(open_count or 0),
        )
        for process_id, element_id, name, late_count, open_count in conn.execute(stmt).all()
    ]


def week_starts(last_day: date, weeks: int) -> list[date]:
    """The Mondays of the ``weeks`` weeks up to the one of ``last_day``, oldest first."""
    if isinstance(weeks, bool) or not isinstance(weeks, int) or not 1 <= weeks <= MAX_WEEKS:
        raise InvalidInputError(f"weeks must be a whole number from 1 to {MAX_WEEKS}")
    monday = last_day - timedelta(days=last_day.weekday())
    return [monday - timedelta(weeks=n) for n in range(weeks - 1, -1, -1)]
