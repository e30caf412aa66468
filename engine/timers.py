"""Due timers as rows; firing each exactly once across any number of workers.

Two kinds of rows share the ``timers`` table:

* BPMN timers: the waiting timer events of a case, mirrored from the workflow after
  every engine call (``instances.sync_timers``); firing one runs the case on.
* Rule timers (``rule`` set, id ``"<rule>:<ref>"``): moments the engine itself must act
  at — a step's yellow card, an overdue step, the next escalation level, deemed
  acceptance, an absence starting (see ``supervision`` and ``absences``). Each rule has a
  handler registered with :func:`rule`.

Firing a claimed batch takes a few short transactions:

1. :func:`claim` takes due rows (``run_at`` reached, case clock running) with a lease
   (PostgreSQL: ``FOR UPDATE SKIP LOCKED``, so workers never wait for each other).
2. :func:`fire_many` fires up to :data:`PER_TRANSACTION` rule timers in one engine
   call; :func:`fire` fires one timer (a BPMN timer always alone: see :func:`groups`).
   For each it locks the row again, fires only if it is still pending and marks it
   ``fired`` in the same transaction. Two workers that both hold the row (an expired
   lease was retaken) serialize on that row lock; the second finds it fired and does
   nothing. So a timer fires exactly once.

Each timer of a batch fires in a SAVEPOINT (:meth:`Call.savepoint`): one that raises is
rolled back alone, with whatever it queued for after the commit, and the batch goes on.
Batching saves a commit (a disk flush) per rule timer, and :func:`take` locks, checks
and marks one in a single statement: two workers drain a burst of rule timers about
three times as fast as one transaction per timer did (``bench/timers.py``).

A firing that raises is rolled back and :func:`fail` moves ``run_at`` later (exponential
backoff); after ``max_attempts`` the row becomes an ``incident`` that an admin retries.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Connection, Table, and_, bindparam, func, or_, select, update

from engine import accountability
from engine.errors import CaseError, ConflictError, NotFoundError
from engine.runtime import Call, aborts_transaction
from engine.store.models import Case, ClockStop, Timer
from engine.views import TimerView

PENDING = "pending"
FIRED = "fired"
CANCELLED = "cancelled"
INCIDENT = "incident"

LEASE = timedelta(seconds=30)
# claimed timers fired per transaction (each in its own savepoint)
PER_TRANSACTION = 20
MAX_ATTEMPTS = 5
BACKOFF_BASE = timedelta(seconds=5)
BACKOFF_CAP = timedelta(hours=1)

_TIMERS = cast(Table, Timer.__table__)
# the columns of a DueTimer, in its field order
_DUE = (
    _TIMERS.c.id,
    _TIMERS.c.case_id,
    _TIMERS.c.element_id,
    _TIMERS.c.kind,
    _TIMERS.c.rule,
    _TIMERS.c.ref,
    _TIMERS.c.due_at,
    _TIMERS.c.attempts,
)


@dataclass(frozen=True, slots=True)
class DueTimer:
    """A claimed timer row, as a handler sees it."""

    id: str
    case_id: int | None
    element_id: str | None
    kind: str
    rule: str | None
    ref: str | None
    due_at: datetime
    attempts: int


RuleHandler = Callable[[Call, DueTimer], None]
_RULES: dict[str, RuleHandler] = {}


def rule(name: str) -> Callable[[RuleHandler], RuleHandler]:
    """Register the handler that fires rule timers named ``name``."""

    def register(handler: RuleHandler) -> RuleHandler:
        if name in _RULES and _RULES[name] is not handler:
            raise ValueError(f"timer rule {name!r} is registered twice")
        _RULES[name] = handler
        return handler

    return register


def rule_id(rule_name: str, ref: str) -> str:
    """The row id of a rule timer."""
    return f"{rule_name}:{ref}"


def schedule(
    call: Call,
    *,
    rule: str,
    ref: str,
    due_at: datetime,
    case_id: int | None = None,
    element_id: str | None = None,
) -> str:
    """Arm (or re-arm) the rule timer ``rule:ref`` at ``due_at``; return its id."""
    if rule not in _RULES:
        raise ValueError(f"no handler for timer rule {rule!r}")
    timer_id = rule_id(rule, ref)
    conn = call.conn
    changed = conn.execute(
        update(_TIMERS)
        .where(_TIMERS.c.id == timer_id)
        .values(
            due_at=due_at,
            run_at=due_at,
            state=PENDING,
            attempts=0,
            last_error=None,
            locked_by=None,
            locked_until=None,
            fired_at=None,
            fired_by=None,
        )
    ).rowcount
    if not changed:
        conn.execute(
            _TIMERS.insert().values(
                id=timer_id,
                case_id=case_id,
                element_id=element_id,
                kind="rule",
                rule=rule,
                ref=ref,
                due_at=due_at,
                run_at=due_at,
                state=PENDING,
                attempts=0,
                created_at=call.now,
            )
        )
    call.timer_armed(due_at)
    return timer_id


def cancel(call: Call, *ids: str) -> None:
    """Cancel pending timers by id (missing or finished ones are left alone)."""
    if ids:
        call.conn.execute(
            update(_TIMERS)
            .where(_TIMERS.c.id.in_(ids), _TIMERS.c.state == PENDING)
            .values(state=CANCELLED, locked_by=None, locked_until=None)
        )


def is_pending(call: Call, timer_id: str) -> bool:
    """True when the timer is armed and has not fired."""
    return call.conn.scalar(select(_TIMERS.c.state).where(_TIMERS.c.id == timer_id)) == PENDING


# -- claiming and firing -------------------------------------------------------------------


def _suspended() -> Any:
    """The timer's case is suspended (挂起): its timers wait until it resumes."""
    return select(Case.id).where(Case.id == _TIMERS.c.case_id, Case.status == "suspended").exists()


def _runnable(now: datetime) -> Any:
    """Pending rows that are due, not leased by a live worker, on a running clock."""
    stopped = (
        select(ClockStop.id)
        .where(ClockStop.case_id == _TIMERS.c.case_id, ClockStop.ended_at.is_(None))
        .exists()
    )
    return and_(
        _TIMERS.c.state == PENDING,
        _TIMERS.c.run_at <= now,
        or_(_TIMERS.c.locked_until.is_(None), _TIMERS.c.locked_until < now),
        ~stopped,
        ~_suspended(),
    )


def claim(
    conn: Connection, worker: str, now: datetime, limit: int, lease: timedelta = LEASE
) -> list[DueTimer]:
    """Lease up to ``limit`` due timers to ``worker``, earliest first (own transaction)."""
    due = (
        select(_TIMERS.c.id)
        .where(_runnable(now))
        .order_by(_TIMERS.c.run_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    rows = list(
        conn.execute(
            update(_TIMERS)
            .where(_TIMERS.c.id.in_(due))
            .values(locked_by=worker, locked_until=now + lease)
            .returning(
                _TIMERS.c.id,
                _TIMERS.c.case_id,
                _TIMERS.c.element_id,
                _TIMERS.c.kind,
                _TIMERS.c.rule,
                _TIMERS.c.ref,
                _TIMERS.c.due_at,
                _TIMERS.c.attempts,
                _TIMERS.c.run_at,
            )
        ).all()
    )
    rows.sort(key=lambda r: (r.run_at, r.id))
    return [DueTimer(*row[:8]) for row in rows]


def next_run_at(conn: Connection, now: datetime) -> datetime | None:
    """The earliest moment a pending timer is to run (clock-stopped cases left out).

    A due row leased to a worker (alive, or dead until its lease expires) runs when the
    lease ends. Two index range scans (``ix_timers_state_run``), not a full scan.
    """
    stopped = (
        select(ClockStop.id)
        .where(ClockStop.case_id == _TIMERS.c.case_id, ClockStop.ended_at.is_(None))
        .exists()
    )
    free = conn.scalar(
        select(_TIMERS.c.run_at)
        .where(
            _TIMERS.c.state == PENDING,
            or_(_TIMERS.c.locked_until.is_(None), _TIMERS.c.locked_until <= _TIMERS.c.run_at),
            ~stopped,
            ~_suspended(),
        )
        .order_by(_TIMERS.c.run_at)
        .limit(1)
    )
    leased = conn.scalar(
        select(func.min(_TIMERS.c.locked_until)).where(
            _TIMERS.c.state == PENDING,
            _TIMERS.c.run_at <= now,
            _TIMERS.c.locked_until > _TIMERS.c.run_at,
            ~stopped,
            ~_suspended(),
        )
    )
    found = [m for m in (free, leased) if m is not None]
    return min(found) if found else None


# firing statements, built once: building one costs more than running it
_LOCK = select(*_DUE, _TIMERS.c.state).where(_TIMERS.c.id == bindparam("b_id")).with_for_update()
_MARK_FIRED = (
    update(_TIMERS)
    .where(_TIMERS.c.id == bindparam("b_id"), _TIMERS.c.state == PENDING)
    .values(
        state=FIRED,
        fired_at=bindparam("b_now"),
        fired_by=bindparam("b_worker"),
        locked_by=None,
        locked_until=None,
    )
)
_TAKE = _MARK_FIRED.returning(*_DUE)
_STAMP_FIRED_BY = (
    update(_TIMERS)
    .where(_TIMERS.c.id == bindparam("b_id"))
    .values(fired_by=bindparam("b_worker"), locked_by=None, locked_until=None)
)


def lock(call: Call, timer_id: str) -> DueTimer | None:
    """Lock the row for this transaction; None unless it is still pending."""
    row = call.conn.execute(_LOCK, {"b_id": timer_id}).first()
    if row is None or row.state != PENDING:
        return None
    return DueTimer(*row[:8])


def take(call: Call, timer_id: str, worker: str | None) -> DueTimer | None:
    """Lock a pending rule timer and mark it fired, in one statement; None unless it was
    pending. (An UPDATE waits for another transaction's row lock, then checks the row
    as that transaction left it.)"""
    row = call.conn.execute(
        _TAKE, {"b_id": timer_id, "b_now": call.now, "b_worker": worker}
    ).first()
    return DueTimer(*row) if row is not None else None


@dataclass(frozen=True, slots=True)
class Failure:
    """A claimed timer whose firing raised (and was rolled back)."""

    timer: DueTimer
    error: Exception


def fire(call: Call, timer_id: str, worker: str | None) -> int:
    """Fire one claimed timer in this call; return how many timers fired (0: already done).

    A BPMN timer runs its case on (every timer of the case that is due fires with it);
    a rule timer calls its rule's handler. Either way the row ends ``fired`` in this
    transaction, or the call raises and nothing is kept.
    """
    from engine import instances  # instances -> supervision -> timers: import when firing

    timer = lock(call, timer_id)
    if timer is None:
        return 0  # fired or cancelled by someone else meanwhile
    if timer.rule is not None:
        mark_fired(call, timer.id, worker)  # first: the handler may cancel its own kind
        handler_for(timer)(call, timer)
        return 1
    if timer.case_id is None:
        raise ConflictError(f"timer {timer.id} belongs to no case")
    case = instances.get_case_row(call, timer.case_id)
    if case.status == instances.SUSPENDED:
        return 0  # suspended after the claim: the timer waits for the resume
    if case.status != instances.RUNNING:
        cancel(call, timer.id)
        return 0
    fired = instances.fire_timers(call, case)
    state, run_at = call.conn.execute(
        select(_TIMERS.c.state, _TIMERS.c.run_at).where(_TIMERS.c.id == timer.id)
    ).one()
    if state == PENDING and run_at <= call.now:
        raise CaseError(
            f"timer {timer.element_id} of case {case.business_key} was due at "
            f"{timer.due_at.isoformat()} but the workflow did not fire it",
            element_id=timer.element_id,
        )
    stamp_fired_by(call, timer.id, worker)
    return max(fired, 1)


def groups(due: Sequence[DueTimer], size: int = PER_TRANSACTION) -> Iterator[list[DueTimer]]:
    """Split claimed timers, in order, into what fires per transaction: up to ``size``
    rule timers together, a BPMN timer alone.

    A rule firing is a few statements, so the commit is much of its cost; a BPMN firing
    runs its case on for milliseconds: batching those saved 0-8 % (bench, 500 cases) and
    would keep their case rows (on SQLite: the database) locked for a whole batch.
    """
    group: list[DueTimer] = []
    for timer in due:
        if timer.rule is None:
            if group:
                yield group
                group = []
            yield [timer]
            continue
        group.append(timer)
        if len(group) >= size:
            yield group
            group = []
    if group:
        yield group


def fire_many(call: Call, due: Sequence[DueTimer], worker: str | None) -> tuple[int, list[Failure]]:
    """Fire claimed timers in this call, in order, each in a savepoint; return how many
    fired and the ones that raised.

    Each timer is locked, checked, fired and marked inside its savepoint: a rule timer
    is taken (:func:`take`: lock, check and mark in one statement) before its handler
    runs. A timer fired or cancelled meanwhile — by another worker, or by an earlier timer
    of this batch — is skipped. A failed firing leaves nothing behind (see
    :meth:`Call.savepoint`); the caller records the failure with :func:`fail` after the
    commit. An error that may have ended the whole transaction (a lost connection, a
    deadlock) propagates: then nothing of the call is kept.
    """
    fired = 0
    failures: list[Failure] = []
    for claimed in due:
        # each firing starts as a call of its own would: no case checked out, no actor
        call.checkout = call.actor = call.open_tasks = None
        try:
            with call.savepoint():
                if claimed.rule is not None:  # the kind of a row never changes
                    timer = take(call, claimed.id, worker)
                    if timer is not None:
                        handler_for(timer)(call, timer)
                        fired += 1
                else:
                    fired += fire(call, claimed.id, worker)
        except Exception as exc:
            if aborts_transaction(exc):
                raise
            failures.append(Failure(claimed, exc))
    return fired, failures


def handler_for(timer: DueTimer) -> RuleHandler:
    """The registered handler of a rule timer."""
    assert timer.rule is not None  # noqa: S101  (callers check)
    handler = _RULES.get(timer.rule)
    if handler is None:
        raise ConflictError(f"no handler registered for timer rule {timer.rule!r}")
    return handler


def mark_fired(call: Call, timer_id: str, worker: str | None) -> None:
    """Mark a rule timer fired (BPMN timers are ended by ``sync_timers``)."""
    call.conn.execute(_MARK_FIRED, {"b_id": timer_id, "b_now": call.now, "b_worker": worker})


def stamp_fired_by(call: Call, timer_id: str, worker: str | None) -> None:
    """Note which worker fired a BPMN timer (its state was set by ``sync_timers``)."""
    call.conn.execute(_STAMP_FIRED_BY, {"b_id": timer_id, "b_worker": worker})


def backoff(attempts: int) -> timedelta:
    """Delay before attempt ``attempts + 1``: 5 s, 10 s, 20 s … at most an hour."""
    return min(BACKOFF_BASE * (2 ** max(attempts - 1, 0)), BACKOFF_CAP)


def fail(
    conn: Connection,
    timer_id: str,
    error: str,
    now: datetime,
    max_attempts: int = MAX_ATTEMPTS,
) -> str:
    """Record a failed attempt (own transaction): retry later, or an incident; new state."""
    attempts = conn.scalar(
        select(_TIMERS.c.attempts).where(_TIMERS.c.id == timer_id).with_for_update()
    )
    if attempts is None:
        return CANCELLED
    attempts += 1
    state = INCIDENT if attempts >= max_attempts else PENDING
    conn.execute(
        update(_TIMERS)
        .where(_TIMERS.c.id == timer_id, _TIMERS.c.state == PENDING)
        .values(
            attempts=attempts,
            last_error=error[:4000],
            run_at=now + backoff(attempts),
            state=state,
            locked_by=None,
            locked_until=None,
        )
    )
    return state


# -- admin ---------------------------------------------------------------------------------


def listing(call: Call, *, state: str | None = None, limit: int = 200) -> list[TimerView]:
    """Timers (of one state), earliest first."""
    stmt = select(Timer).order_by(Timer.run_at).limit(limit)
    if state:
        stmt = stmt.where(Timer.state == state)
    return [view(t) for t in call.session.scalars(stmt)]


def retry(call: Call, timer_id: str, actor: str | None) -> TimerView:
    """Put an incident (or a failing timer) back to run now with fresh attempts."""
    row = call.session.get(Timer, timer_id, with_for_update=True)
    if row is None:
        raise NotFoundError("timer", timer_id)
    if row.state not in (INCIDENT, PENDING):
        raise ConflictError(f"timer {timer_id} is {row.state}; only incidents can be retried")
    row.state = PENDING
    row.attempts = 0
    row.run_at = call.now
    row.locked_by = None
    row.locked_until = None
    call.session.flush()
    call.timer_armed(call.now)
    accountability.record(
        call.conn,
        at=call.now,
        action="timer_retry",
        actor=actor,
        case_id=row.case_id,
        element_id=row.element_id,
        detail={"timer_id": timer_id, "last_error": row.last_error},
    )
    return view(row)


def view(row: Timer) -> TimerView:
    """The view of a timer row."""
    return TimerView(
        id=row.id,
        case_id=row.case_id,
        element_id=row.element_id,
        kind=row.kind,
        rule=row.rule,
        due_at=row.due_at,
        run_at=row.run_at,
        state=row.state,
        attempts=row.attempts,
        last_error=row.last_error,
        fired_at=row.fired_at,
        fired_by=row.fired_by,
    )
