"""Absences and AB posts (AB岗): while A is away, the holder of A's backup post (B) works
A's tasks, and they go back to A when A returns.

A post may name a backup post (``backup = "…"`` in the organisation file). Marking a person
absent (请假/出差) for a range of local dates (both inclusive, in the engine's time zone)
arms two rule timers:

* ``absence_start:<id>`` at local midnight of the first day: every open task A holds goes
  to B (``assignee`` = B, ``substitute_for`` = A);
* ``absence_end:<id>`` at local midnight after the last day: every open task still held
  for A goes back to A (one B completed stays completed by B).

Meanwhile a new task that would be assigned to A goes straight to B
(:func:`substitute_for`, asked by ``tasks`` for every task created with an assignee).
Responsibility follows the holder: accountability reads ``assignee`` and
``substitute_for``. Every move is an audit line on the task's case and a
``task_substituted`` signal.

B is a holder of the backup post of A's first post (by id) that has one, first by id,
who is active and not absent themselves. A task A lent out (委派, still pending) stays
with its delegate and comes back to A when resolved.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any, cast

from sqlalchemy import Table, and_, bindparam, func, or_, select, update

from engine import accountability, timers
from engine.errors import ConflictError, InvalidInputError, NotFoundError
from engine.runtime import Call
from engine.store import records
from engine.store.models import Absence, HumanTask, Person, Post, PostHolder
from engine.views import AbsenceView

START = "absence_start"
END = "absence_end"
SIGNAL = "task_substituted"
MAX_REASON = 1000
_OPEN = "open"  # tasks.OPEN (tasks imports this module, so not imported from there)

_ABSENCES = cast(Table, Absence.__table__)
# is the person absent on a day? (built once: it runs for every task given an assignee)
_ABSENT_ON = records.FastRead(
    select(_ABSENCES.c.id)
    .where(
        _ABSENCES.c.person_id == bindparam("person"),
        _ABSENCES.c.starts_on <= bindparam("day"),
        _ABSENCES.c.ends_on >= bindparam("day"),
        _ABSENCES.c.cancelled_at.is_(None),
    )
    .limit(1)
)


# -- marking and cancelling ----------------------------------------------------------------


def mark_absent(
    call: Call,
    person_id: str,
    starts_on: date | str,
    ends_on: date | str,
    reason: str | None,
    actor: str | None,
) -> AbsenceView:
    """Mark a person absent from ``starts_on`` to ``ends_on`` (local dates, inclusive).

    Args:
        call: the engine call.
        person_id: the absent person (A).
        starts_on: first day away (a date or ``YYYY-MM-DD``).
        ends_on: last day away (a date or ``YYYY-MM-DD``); not before today.
        reason: why (请假, 出差 …), kept with the absence.
        actor: who records it (the audit trail names them).

    Returns:
        the absence, with the person who stands in for A.

    Raises:
        NotFoundError: no such active person.
        InvalidInputError: bad dates, or nobody can stand in (no backup post, or no
            present holder of it).
        ConflictError: the person is already absent on one of these days.
    """
    first = _as_date(starts_on, "start date")
    last = _as_date(ends_on, "end date")
    # lock the person: two overlapping absences marked at once cannot both pass the check
    person = call.session.get(Person, person_id, with_for_update=True)
    if person is None or not person.active:
        raise NotFoundError("person", person_id)
    if first > last:
        raise InvalidInputError(f"the absence ends ({last}) before it starts ({first})")
    today = local_today(call)
    if last < today:
        raise InvalidInputError(f"the absence is over: it ended on {last}, today is {today}")
    reason = _reason(reason)
    clash = call.session.scalars(
        select(Absence)
        .where(
            Absence.person_id == person_id,
            Absence.cancelled_at.is_(None),
            Absence.starts_on <= last,
            Absence.ends_on >= first,
        )
        .order_by(Absence.starts_on)
        .limit(1)
    ).first()
    if clash is not None:
        raise ConflictError(
            f"{person_id} is already absent from {clash.starts_on} to {clash.ends_on} "
            f"(absence {clash.id}); cancel it or choose other dates"
        )
    substitute = _require_substitute(call, person_id, first, last)
    row = Absence(
        person_id=person_id,
        starts_on=first,
        ends_on=last,
        reason=reason,
        created_at=call.now,
        created_by=actor,
    )
    call.session.add(row)
    call.session.flush()
    started = first <= today
    if not started:
        timers.schedule(call, rule=START, ref=str(row.id), due_at=local_midnight(call, first))
    timers.schedule(
        call, rule=END, ref=str(row.id), due_at=local_midnight(call, last + timedelta(days=1))
    )
    accountability.record(
        call.conn,
        at=call.now,
        action="absence",
        actor=actor,
        detail={
            "absence_id": row.id,
            "person": person_id,
            "starts_on": first.isoformat(),
            "ends_on": last.isoformat(),
            "reason": reason,
            "substitute": substitute,
        },
    )
    if started:  # already under way: A's tasks go now, in this transaction
        _hand_over(call, row)
    return _view(row, substitute)


def cancel_absence(call: Call, absence_id: int, actor: str | None) -> AbsenceView:
    """Cancel an absence; if it had started, A's tasks come back at once.

    Raises:
        NotFoundError: no such absence.
        ConflictError: it is already cancelled or over.
    """
    ref = str(absence_id)
    # timers first, then the absence: the same lock order as a firing timer's handler
    timers.cancel(call, timers.rule_id(START, ref), timers.rule_id(END, ref))
    row = call.session.get(Absence, absence_id, with_for_update=True)
    if row is None:
        raise NotFoundError("absence", absence_id)
    if row.cancelled_at is not None:
        raise ConflictError(f"absence {absence_id} was already cancelled")
    today = local_today(call)
    if row.ends_on < today:
        raise ConflictError(f"absence {absence_id} is over (it ended on {row.ends_on})")
    row.cancelled_at = call.now
    call.session.flush()
    started = row.starts_on <= today
    accountability.record(
        call.conn,
        at=call.now,
        action="absence_cancel",
        actor=actor,
        detail={"absence_id": row.id, "person": row.person_id, "started": started},
    )
    if started:
        _give_back(call, row)
    return _view(row, None)


def listing(
    call: Call, person_id: str | None = None, active_only: bool = False
) -> list[AbsenceView]:
    """Absences (of one person), earliest first; ``active_only``: not cancelled, not over."""
    stmt = select(Absence).order_by(Absence.starts_on, Absence.id)
    if person_id is not None:
        stmt = stmt.where(Absence.person_id == person_id)
    if active_only:
        stmt = stmt.where(Absence.cancelled_at.is_(None), Absence.ends_on >= local_today(call))
    return [
        _view(
            row,
            None
            if row.cancelled_at is not None
            else _present_holder(call, row.person_id, row.starts_on, row.ends_on),
        )
        for row in call.session.scalars(stmt)
    ]


# -- new tasks -----------------------------------------------------------------------------


def substitute_for(call: Call, person_id: str) -> str | None:
    """The person who takes a new task of ``person_id`` now (B), or None if they are here.

    One indexed query when the person is not absent (the usual case): ``tasks`` asks this
    for every task created with an assignee.
    """
    today = local_today(call)
    # SQLite keeps dates as ISO text and the fast path binds values as they are
    day: date | str = today.isoformat() if call.conn.dialect.name == "sqlite" else today
    absent = _ABSENT_ON.first(call.conn, {"person": person_id, "day": day})
    if absent is None:
        return None
    return _present_holder(call, person_id, today, today)


# -- the rule timers -----------------------------------------------------------------------


@timers.rule(START)
def _on_start(call: Call, timer: timers.DueTimer) -> None:
    absence = _locked(call, timer.ref)
    if absence is not None and absence.cancelled_at is None:
        _hand_over(call, absence)


@timers.rule(END)
def _on_end(call: Call, timer: timers.DueTimer) -> None:
    absence = _locked(call, timer.ref)
    if absence is not None and absence.cancelled_at is None:
        _give_back(call, absence)


def _locked(call: Call, ref: str | None) -> Absence | None:
    if ref is None or not ref.isdigit():
        return None
    return call.session.get(Absence, int(ref), with_for_update=True)


def _hand_over(call: Call, absence: Absence) -> None:
    """Move every open task A holds to B (tasks A lent out stay with the delegate)."""
    person = absence.person_id
    today = local_today(call)
    substitute = _present_holder(call, person, today, today)
    if substitute is None:
        # the timer retries and, after too many attempts, becomes an incident an admin
        # retries once the organisation names a present B
        raise ConflictError(
            f"absence {absence.id}: nobody holds the backup post of {person} today "
            f"without being absent; the tasks stay with {person}"
        )
    rows = call.conn.execute(
        select(HumanTask.id, HumanTask.case_id, HumanTask.element_id)
        .where(
            HumanTask.assignee == person,
            HumanTask.state == _OPEN,
            or_(HumanTask.delegation.is_(None), HumanTask.delegation != "pending"),
        )
        .order_by(HumanTask.created_at, HumanTask.id)
        .with_for_update()
    ).all()
    if not rows:
        return
    call.conn.execute(
        update(HumanTask)
        .where(HumanTask.id.in_([r.id for r in rows]))
        .values(
            assignee=substitute,
            # a task A held for someone else away keeps naming them: it goes back to them
            substitute_for=func.coalesce(HumanTask.substitute_for, person),
            row_version=HumanTask.row_version + 1,
        )
    )
    for task_id, case_id, element_id in rows:
        _moved(call, absence, task_id, case_id, element_id, person, substitute, "substitute")


def _give_back(call: Call, absence: Absence) -> None:
    """Every open task held for A goes back to A; one lent out (委派) comes back to A on
    resolution."""
    person = absence.person_id
    rows = call.conn.execute(
        select(
            HumanTask.id,
            HumanTask.case_id,
            HumanTask.element_id,
            HumanTask.assignee,
            HumanTask.owner,
            HumanTask.delegation,
        )
        .where(HumanTask.substitute_for == person, HumanTask.state == _OPEN)
        .order_by(HumanTask.created_at, HumanTask.id)
        .with_for_update()
    ).all()
    for task_id, case_id, element_id, assignee, owner, delegation in rows:
        values: dict[str, Any] = {"substitute_for": None, "row_version": HumanTask.row_version + 1}
        holder: str | None
        if delegation == "pending" and owner not in (None, person):
            holder, values["owner"] = owner, person  # B lent it: it returns to A when resolved
        else:
            holder, values["assignee"] = assignee, person
        call.conn.execute(update(HumanTask).where(HumanTask.id == task_id).values(**values))
        _moved(call, absence, task_id, case_id, element_id, holder, person, "substitute_end")


def _moved(
    call: Call,
    absence: Absence,
    task_id: str,
    case_id: int,
    element_id: str,
    source: str | None,
    target: str,
    action: str,
) -> None:
    accountability.record(
        call.conn,
        at=call.now,
        action=action,
        actor=None,
        case_id=case_id,
        task_id=task_id,
        element_id=element_id,
        detail={"from": source, "to": target, "absence_id": absence.id},
    )
    back = action == "substitute_end"
    call.signal(
        SIGNAL,
        task_id=task_id,
        case_id=case_id,
        absent=absence.person_id,
        substitute=source if back else target,
        returned=back,
    )


# -- who stands in -------------------------------------------------------------------------


def _backup_of(call: Call, person_id: str) -> tuple[list[str], Post | None]:
    """The person's post ids, and the backup post of the first one (by id) that has one."""
    posts = call.session.scalars(
        select(Post)
        .join(PostHolder, PostHolder.post_id == Post.id)
        .where(PostHolder.person_id == person_id)
        .order_by(Post.id)
    ).all()
    for post in posts:
        if post.backup_post_id is not None:
            return [p.id for p in posts], call.session.get(Post, post.backup_post_id)
    return [p.id for p in posts], None


def _present_holder(call: Call, person_id: str, first: date, last: date) -> str | None:
    """A holder of the person's backup post who is active and not absent from ``first`` to
    ``last`` (first by id), or None."""
    _, backup = _backup_of(call, person_id)
    if backup is None:
        return None
    return _holders(call, backup.id, person_id, first, last)[0]


def _holders(
    call: Call, post_id: str, person_id: str, first: date, last: date
) -> tuple[str | None, list[str]]:
    """(the first present holder of the post or None, every active holder) — A left out."""
    away = (
        select(Absence.id)
        .where(
            Absence.person_id == PostHolder.person_id,
            Absence.cancelled_at.is_(None),
            and_(Absence.starts_on <= last, Absence.ends_on >= first),
        )
        .exists()
    )
    rows = call.conn.execute(
        select(PostHolder.person_id, away)
        .join(Person, Person.id == PostHolder.person_id)
        .where(
            PostHolder.post_id == post_id,
            PostHolder.person_id != person_id,
            Person.active.is_(True),
        )
        .order_by(PostHolder.person_id)
    ).all()
    present = next((holder for holder, is_away in rows if not is_away), None)
    return present, [holder for holder, _ in rows]


def _require_substitute(call: Call, person_id: str, first: date, last: date) -> str:
    """B for an absence from ``first`` to ``last``, or an InvalidInputError saying why not."""
    posts, backup = _backup_of(call, person_id)
    if not posts:
        raise InvalidInputError(
            f"{person_id} holds no post, so no backup post (AB岗) can take their tasks"
        )
    if backup is None:
        raise InvalidInputError(
            f"no backup post (AB岗) for {person_id}: post {', '.join(posts)} names none; "
            'set backup = "<post id>" in the organisation file'
        )
    present, holders = _holders(call, backup.id, person_id, first, last)
    if present is None:
        if holders:
            why = f"its holders ({', '.join(holders)}) are absent then"
        else:
            why = "nobody holds it"
        raise InvalidInputError(
            f"nobody can stand in for {person_id} from {first} to {last}: backup post "
            f"{backup.id} ({backup.name}): {why}"
        )
    return present


# -- dates ---------------------------------------------------------------------------------


def _zone(call: Call) -> tzinfo:
    calendar = call.runtime.calendar
    if calendar is None:  # a bare Runtime (no Engine): UTC
        return UTC
    zone: tzinfo = calendar(call.conn).zone
    return zone


def local_today(call: Call) -> date:
    """Today in the engine's time zone (the calendar's)."""
    return call.now.astimezone(_zone(call)).date()


def local_midnight(call: Call, day: date) -> datetime:
    """00:00 of ``day`` in the engine's time zone, as a UTC datetime."""
    return datetime.combine(day, time(0), tzinfo=_zone(call)).astimezone(UTC)


def _as_date(value: date | str, label: str) -> date:
    if isinstance(value, datetime):  # a date, not a moment: whose midnight would it be?
        raise InvalidInputError(f"{label} must be a date (YYYY-MM-DD), not a moment")
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError as exc:
        raise InvalidInputError(f"{label} {value!r} is not a date (YYYY-MM-DD)") from exc


def _reason(text: str | None) -> str | None:
    if text is None:
        return None
    text = text.strip()
    if len(text) > MAX_REASON:
        raise InvalidInputError(f"the reason is longer than {MAX_REASON} characters")
    return text or None


def _view(row: Absence, substitute: str | None) -> AbsenceView:
    return AbsenceView(
        id=row.id,
        person_id=row.person_id,
        starts_on=row.starts_on,
        ends_on=row.ends_on,
        reason=row.reason,
        substitute=substitute,
        created_at=row.created_at,
        created_by=row.created_by,
        cancelled_at=row.cancelled_at,
    )
