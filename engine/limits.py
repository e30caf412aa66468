"""Time limits that move: stopped clocks (§45, 补正) and extensions (延期, §42).

* A case's clock stops while it waits on the applicant to supplement materials (补正) or
  for a special procedure the law does not count (§45: hearing, tendering, auction,
  inspection, testing, quarantine, appraisal, expert review). When it restarts, every
  pending deadline of the case — the promised completion moment, the open tasks' due
  moments and the waiting timers — moves forward by the working time that passed.
* An extension is requested with a reason and decided by a head (``role:organ-head`` or
  ``role:department-head``): at most +10 working days in all for an ordinary item, +15
  for joint handling (§42); more is refused. Approval moves the same deadlines.
"""

from __future__ import annotations

from fractions import Fraction

from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    TimerEventDefinition,
)
from sqlalchemy import func, select, update

from engine import accountability, instances, items, organisation, scripting
from engine.calendar import WorkCalendar
from engine.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
    NotPermittedError,
    ScriptError,
)
from engine.runtime import Call, current_call
from engine.store.models import ClockStop, Extension, HumanTask
from engine.store.records import CaseRecord

STOP_KINDS = {
    "supplement": "补正（等待申请人补正材料）",
    "hearing": "听证",
    "tendering": "招标",
    "auction": "拍卖",
    "inspection": "检验",
    "testing": "检测",
    "quarantine": "检疫",
    "appraisal": "鉴定",
    "expert_review": "专家评审",
}
EXTENSION_LIMIT = 10  # §42: ordinary items, approved by the head of the organ
JOINT_EXTENSION_LIMIT = 15  # §42: joint or centralised handling
DECIDERS = frozenset({"role:organ-head", "role:department-head"})


def _calendar(call: Call) -> WorkCalendar:
    if call.runtime.calendar is None:
        raise ConflictError("this engine has no working-day calendar")
    return call.runtime.calendar(call.conn)  # type: ignore[no-any-return]


def _require_running(case: CaseRecord) -> None:
    if case.status != instances.RUNNING:
        raise ConflictError(f"case {case.business_key} is {case.status}")


def _require_handler(call: Call, case: CaseRecord, actor: str) -> None:
    """The actor holds an open task of the case, or is an administrator."""
    holds = call.conn.execute(
        select(HumanTask.id).where(
            HumanTask.case_id == case.id, HumanTask.state == "open", HumanTask.assignee == actor
        )
    ).first()
    if holds is None and "role:admin" not in organisation.groups_of(call.session, actor):
        raise NotPermittedError(
            f"{actor} holds no open task of case {case.business_key}", actor=actor
        )


def open_stop(call: Call, case_id: int) -> ClockStop | None:
    """The case's clock stop that has not ended, if any."""
    return call.session.scalars(
        select(ClockStop).where(ClockStop.case_id == case_id, ClockStop.ended_at.is_(None))
    ).first()


def stop_clock(call: Call, case: CaseRecord, *, kind: str, reason: str, actor: str) -> ClockStop:
    """Stop the case's clock (补正 or a §45 special procedure)."""
    _require_running(case)
    if kind not in STOP_KINDS:
        raise InvalidInputError(f"unknown clock stop kind {kind!r}; one of {', '.join(STOP_KINDS)}")
    if not reason or not reason.strip():
        raise InvalidInputError("a clock stop needs a reason (it is told to the applicant)")
    _require_handler(call, case, actor)
    if open_stop(call, case.id) is not None:
        raise ConflictError(f"the clock of case {case.business_key} is already stopped")
    stop = ClockStop(
        case_id=case.id, kind=kind, reason=reason.strip(), started_at=call.now, started_by=actor
    )
    call.session.add(stop)
    call.session.flush()
    # the cached workflow believes the clock runs: the next call loads it afresh
    call.after_commit.append(lambda: call.runtime.workflows.discard(case.id))
    accountability.record(
        call.conn,
        at=call.now,
        action="clock_stop",
        actor=actor,
        case_id=case.id,
        detail={"kind": kind, "stop_id": stop.id},
        opinion=stop.reason,
    )
    return stop


def resume_clock(
    call: Call, case: CaseRecord, *, actor: str, check_handler: bool = True
) -> Fraction:
    """Restart the clock; move every pending deadline by the working time that passed.

    ``check_handler=False``: the applicant's supplement (补正) restarts it, not a holder.
    """
    _require_running(case)
    stop = open_stop(call, case.id)
    if stop is None:
        raise ConflictError(f"the clock of case {case.business_key} is not stopped")
    if check_handler:
        _require_handler(call, case, actor)
    # through the checked-out workflow, so that its timers run again (clock_stopped)
    co = instances.checkout(call, case)
    amount = _end_stop(call, co, stop, actor)
    instances.save(call, co)
    return amount


def request_extension(
    call: Call, case: CaseRecord, *, days: int, reason: str, actor: str
) -> Extension:
    """Ask for more working days (延期申请); a head decides."""
    _require_running(case)
    if isinstance(days, bool) or not isinstance(days, int) or days <= 0:
        raise InvalidInputError("an extension is a whole number of working days > 0")
    if not reason or not reason.strip():
        raise InvalidInputError("an extension needs a reason (the applicant is told why)")
    _require_handler(call, case, actor)
    _check_limit(call, case, days)
    pending = call.session.scalars(
        select(Extension).where(Extension.case_id == case.id, Extension.state == "pending")
    ).first()
    if pending is not None:
        raise ConflictError(f"case {case.business_key} already has an extension request pending")
    ext = Extension(
        case_id=case.id,
        days=days,
        reason=reason.strip(),
        requested_at=call.now,
        requested_by=actor,
        state="pending",
    )
    call.session.add(ext)
    call.session.flush()
    accountability.record(
        call.conn,
        at=call.now,
        action="extension_request",
        actor=actor,
        case_id=case.id,
        detail={"extension_id": ext.id, "days": days},
        opinion=ext.reason,
    )
    return ext


def decide_extension(
    call: Call, extension_id: int, *, approve: bool, actor: str, opinion: str | None
) -> Extension:
    """A head approves (deadlines move) or refuses an extension request."""
    ext = call.session.get(Extension, extension_id)
    if ext is None:
        raise NotFoundError("extension", extension_id)
    if ext.state != "pending":
        raise ConflictError(f"extension {extension_id} was already {ext.state}")
    if not DECIDERS & organisation.groups_of(call.session, actor):
        raise NotPermittedError(
            "only the head of the organ or department decides an extension (§42)", actor=actor
        )
    case = instances.get_case_row(call, ext.case_id)
    _require_running(case)
    if approve:
        _check_limit(call, case, ext.days)
    ext.state = "approved" if approve else "refused"
    ext.decided_at = call.now
    ext.decided_by = actor
    ext.opinion = opinion
    call.session.flush()
    if approve:
        shift_deadlines(call, case, Fraction(ext.days))
    accountability.record(
        call.conn,
        at=call.now,
        action="extension_decision",
        actor=actor,
        case_id=case.id,
        detail={"extension_id": ext.id, "days": ext.days, "state": ext.state},
        opinion=opinion,
    )
    return ext


def _check_limit(call: Call, case: CaseRecord, days: int) -> None:
    problem = _limit_problem(call, case, days)
    if problem is not None:
        raise InvalidInputError(problem)


def _limit_problem(call: Call, case: CaseRecord, days: int) -> str | None:
    """Why ``days`` more would break §42, or None."""
    limit = EXTENSION_LIMIT
    if case.item_code and items.get(call.conn, case.item_code).joint:
        limit = JOINT_EXTENSION_LIMIT
    granted = (
        call.session.scalar(
            select(func.coalesce(func.sum(Extension.days), 0)).where(
                Extension.case_id == case.id, Extension.state == "approved"
            )
        )
        or 0
    )
    if granted + days <= limit:
        return None
    return (
        f"an extension of {days} working days would bring case {case.business_key} to "
        f"{granted + days}; at most {limit} may be added (§42"
        + (", joint handling" if limit == JOINT_EXTENSION_LIMIT else "")
        + ")"
    )


def shift_deadlines(call: Call, case: CaseRecord, amount: Fraction) -> None:
    """Move the case's promised deadline, open tasks' due moments and waiting timers."""
    co = instances.checkout(call, case)
    shift_checked_out(call, co, amount)
    instances.save(call, co)


def shift_checked_out(call: Call, co: instances.Checkout, amount: Fraction) -> None:
    """Move every pending deadline of a checked-out case; its save writes the rest."""
    cal = _calendar(call)
    case = co.case
    if case.due_at is not None:
        case.due_at = cal.shift_by_working_time(case.due_at, amount)
    for task_id, due in call.conn.execute(
        select(HumanTask.id, HumanTask.due_at).where(
            HumanTask.case_id == case.id,
            HumanTask.state == "open",
            HumanTask.due_at.is_not(None),
        )
    ).all():
        if due is not None:
            call.conn.execute(
                update(HumanTask)
                .where(HumanTask.id == task_id)
                .values(due_at=cal.shift_by_working_time(due, amount))
            )
    for task in list(co.workflow.event_manager.tasks.values()):
        definition = getattr(task.task_spec, "event_definition", None)
        if not isinstance(definition, TimerEventDefinition):
            continue
        due = instances.timer_due(task, definition)
        if due is not None:
            instances.move_timer(task, definition, cal.shift_by_working_time(due, amount))
    co.deadlines_moved = True


# -- clock stops and extensions driven by the diagram -------------------------------------------


def task_opened(call: Call, co: instances.Checkout, task_id: str, kind: str, name: str) -> None:
    """A user task with ``stops_clock`` became ready: the case's clock stops (§45, 补正)."""
    if kind not in STOP_KINDS:
        raise InvalidInputError(f"unknown clock stop kind {kind!r}")
    if open_stop(call, co.case.id) is not None:
        return  # already stopped (e.g. a hearing while waiting on the applicant)
    co.workflow.clock_stopped = True
    stop = ClockStop(
        case_id=co.case.id, kind=kind, reason=name, started_at=call.now, task_id=task_id
    )
    call.session.add(stop)
    call.session.flush()
    accountability.record(
        call.conn,
        at=call.now,
        action="clock_stop",
        actor=None,
        case_id=co.case.id,
        task_id=task_id,
        detail={"kind": kind, "stop_id": stop.id, "by": "task"},
        opinion=name,
    )


def task_closed(call: Call, co: instances.Checkout, task_id: str, actor: str | None) -> None:
    """The task that stopped the clock ended: restart it and move the deadlines."""
    stop = call.session.scalars(
        select(ClockStop).where(
            ClockStop.case_id == co.case.id,
            ClockStop.task_id == task_id,
            ClockStop.ended_at.is_(None),
        )
    ).first()
    if stop is not None:
        _end_stop(call, co, stop, actor)


def _end_stop(call: Call, co: instances.Checkout, stop: ClockStop, actor: str | None) -> Fraction:
    amount = _calendar(call).working_days_between(stop.started_at, call.now)
    stop.ended_at = call.now
    stop.ended_by = actor
    stop.working_time = str(amount)
    call.session.flush()
    co.workflow.clock_stopped = False
    shift_checked_out(call, co, amount)
    accountability.record(
        call.conn,
        at=call.now,
        action="clock_resume",
        actor=actor,
        case_id=co.case.id,
        task_id=stop.task_id,
        detail={"stop_id": stop.id, "working_days": str(amount)},
    )
    return amount


def _running_case() -> tuple[Call, instances.Checkout]:
    call = current_call.get()
    co = call.checkout if call is not None else None
    if call is None or co is None:
        raise ScriptError("this helper only works while the engine runs a case")
    return call, co


def _stop_clock_helper(kind: str, reason: str) -> bool:
    """``stop_clock(kind, reason)`` in a script task: stop the case's clock now."""
    call, co = _running_case()
    if kind not in STOP_KINDS:
        raise ScriptError(f"stop_clock: unknown kind {kind!r}; one of {', '.join(STOP_KINDS)}")
    if not isinstance(reason, str) or not reason.strip():
        raise ScriptError("stop_clock needs a reason (it is told to the applicant)")
    if getattr(co.workflow, "clock_stopped", False):
        raise ScriptError("stop_clock: the clock of this case is already stopped")
    co.workflow.clock_stopped = True  # no timer fires from now on

    def write() -> None:
        stop = ClockStop(
            case_id=co.case.id,
            kind=kind,
            reason=reason.strip(),
            started_at=call.now,
            started_by=call.actor,
        )
        call.session.add(stop)
        call.session.flush()
        accountability.record(
            call.conn,
            at=call.now,
            action="clock_stop",
            actor=call.actor,
            case_id=co.case.id,
            detail={"kind": kind, "stop_id": stop.id, "by": "diagram"},
            opinion=stop.reason,
        )

    instances.when_saved(co, write)
    return True


def _resume_clock_helper() -> str:
    """``resume_clock()`` in a script task: restart the clock; deadlines move."""
    call, co = _running_case()
    stop = open_stop(call, co.case.id) if co.case.id else None
    if stop is None:
        raise ScriptError("resume_clock: the clock of this case is not stopped")
    amount = _end_stop(call, co, stop, call.actor)
    return str(amount)


def _extend_deadline_helper(days: int, reason: str) -> str:
    """``extend_deadline(days, reason)``: an approved extension (延期, §42) of this case."""
    call, co = _running_case()
    if isinstance(days, bool) or not isinstance(days, int) or days <= 0:
        raise ScriptError(f"extend_deadline needs a whole number of working days > 0, not {days!r}")
    if not isinstance(reason, str) or not reason.strip():
        raise ScriptError("extend_deadline needs a reason (the applicant is told why)")
    problem = _limit_problem(call, co.case, days) if co.case.id else None
    if problem is not None:
        raise ScriptError(problem)  # the step fails, naming its element
    shift_checked_out(call, co, Fraction(days))

    def write() -> None:
        ext = Extension(
            case_id=co.case.id,
            days=days,
            reason=reason.strip(),
            requested_at=call.now,
            requested_by=call.actor,
            state="approved",
            decided_at=call.now,
            decided_by=call.actor,
        )
        call.session.add(ext)
        call.session.flush()
        accountability.record(
            call.conn,
            at=call.now,
            action="extension_decision",
            actor=call.actor,
            case_id=co.case.id,
            detail={"extension_id": ext.id, "days": days, "state": "approved", "by": "diagram"},
            opinion=ext.reason,
        )

    instances.when_saved(co, write)
    return "approved"


scripting.register_helper("stop_clock", _stop_clock_helper)
scripting.register_helper("resume_clock", _resume_clock_helper)
scripting.register_helper("extend_deadline", _extend_deadline_helper)
