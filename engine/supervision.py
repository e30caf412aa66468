"""Electronic supervision (电子监察): cards, escalation, deemed consent and acceptance.

The engine watches every deadline with rule timers (``engine.timers``):

* **Cards.** A step (open human task with a due moment) gets a yellow card (黄牌) when
  its remaining working time falls under ``task_yellow_days``, a red card (红牌) when it
  is overdue — even when the whole case is still on time. A case gets the same against
  its promised deadline (``case_yellow_days``). Cards stay live until the step or case
  ends (or its deadline moves away); they are kept for the statistics.
* **Accountability records** (责任追究, ``engine.accountability``): an overdue step or
  case, an escalation, a deemed consent and a deemed acceptance each write one, naming
  the person actually holding the step at that moment (the B post when substituted).
* **Escalation.** An overdue step escalates level by level (default: the department
  head at once, then the supervision office two working days later), each level a
  notice its recipients must act on — unless the diagram models the overdue path itself
  (a boundary event on the task, or ``escalation = bpmn``). Escalation events thrown
  in a diagram are recorded the same way.
* **Deemed consent** (默许, S2): a user task with ``camunda:property on_overdue =
  deemed_consent`` (a superior's answer) completes as consent when its limit passes,
  recorded distinctly from a real approval (``deemed_consent`` in the data).
* **Deemed acceptance** (§32): an application whose one-time notice of missing
  materials (一次性告知: a ``supplement`` clock stop) was not issued within 5 working days
  of receipt counts as accepted on the receipt date.
* **Reminders** (催办): a non-interrupting timer on a user task (e.g. a cycle
  ``R3/P1D``) sends its holder a reminder each time it fires; supervisors urge by hand.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from fractions import Fraction
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import BoundaryEvent
from SpiffWorkflow.task import TaskState
from sqlalchemy import select, update

from engine import accountability, instances, organisation, scripting, timers
from engine.calendar import WorkCalendar
from engine.errors import ConflictError, InvalidInputError, NotFoundError, NotPermittedError
from engine.runtime import Call, current_call
from engine.store import records
from engine.store.models import Card, ClockStop, FaultRecord, HumanTask, Notice, Post, PostHolder
from engine.store.records import CaseRecord, TaskRecord
from engine.views import CardView, NoticeView

YELLOW = "yellow"
RED = "red"
SUPPLEMENT_NOTICE_DAYS = 5  # §32: the one-time notice of missing materials within 5 days
#: Notices that are closed only with an answer saying what was done (督办回复, 差评回访).
ANSWER_REQUIRED = ("escalation", "rating_followup")
DEEMED_CONSENT = "deemed_consent"
URGERS = frozenset(
    {"role:supervisor", "role:department-head", "role:organ-head", "role:section-chief"}
)


@dataclass(frozen=True)
class EscalationLevel:
    """One level of escalation: who is told, and how long after the step's due moment."""

    group: str  # e.g. role:department-head
    after_days: int = 0  # working days after the due moment
    same_department: bool = True  # only recipients in the step's department


@dataclass(frozen=True)
class SupervisionRules:
    """Thresholds of the supervision rules (configured on the Engine)."""

    task_yellow_days: Fraction = Fraction(1)
    case_yellow_days: Fraction = Fraction(2)
    escalation: tuple[EscalationLevel, ...] = field(
        default_factory=lambda: (
            EscalationLevel("role:department-head", 0, True),
            EscalationLevel("role:supervisor", 2, False),  # the supervision office (监察)
        )
    )


def rules_from_env(environ: dict[str, str] | None = None) -> SupervisionRules:
    """Rules from ``XIAONENG_YELLOW_DAYS``, ``XIAONENG_CASE_YELLOW_DAYS`` and
    ``XIAONENG_ESCALATION`` (``group@days[!]`` comma-separated; ``!`` = any department),
    e.g. ``role:department-head@0,role:supervisor@2!``."""
    import os

    env = os.environ if environ is None else environ
    defaults = SupervisionRules()
    try:
        task_days = Fraction(env.get("XIAONENG_YELLOW_DAYS", str(defaults.task_yellow_days)))
        case_days = Fraction(env.get("XIAONENG_CASE_YELLOW_DAYS", str(defaults.case_yellow_days)))
    except ValueError as exc:
        raise InvalidInputError(f"yellow threshold is not a number of working days: {exc}") from exc
    levels = defaults.escalation
    spec = env.get("XIAONENG_ESCALATION", "").strip()
    if spec:
        parsed = []
        for part in spec.split(","):
            group, _, days = part.strip().partition("@")
            anywhere = days.endswith("!")
            days = days.rstrip("!") or "0"
            if not group or not days.isdigit():
                raise InvalidInputError(
                    f"XIAONENG_ESCALATION: {part!r} is not group@working-days[!]"
                )
            parsed.append(EscalationLevel(group, int(days), not anywhere))
        levels = tuple(parsed)
    if task_days < 0 or case_days < 0:
        raise InvalidInputError("yellow thresholds cannot be negative")
    return SupervisionRules(task_days, case_days, levels)


def rules_of(call: Call) -> SupervisionRules:
    """The engine's supervision rules."""
    rules = getattr(call.runtime, "supervision", None)
    return rules if isinstance(rules, SupervisionRules) else SupervisionRules()


def _calendar(call: Call) -> WorkCalendar:
    if call.runtime.calendar is None:
        raise ConflictError("this engine has no working-day calendar")
    return call.runtime.calendar(call.conn)  # type: ignore[no-any-return]


# -- arming the rule timers ------------------------------------------------------------------


def task_opened(call: Call, case: CaseRecord, rows: list[dict[str, Any]]) -> None:
    """Arm the yellow-card and overdue timers of new steps that have a due moment."""
    rules = rules_of(call)
    for row in rows:
        due = row.get("due_at")
        if due is None:
            continue
        _arm_task(call, case.id, row["id"], row["element_id"], due, rules)


def _arm_task(
    call: Call, case_id: int, task_id: str, element_id: str, due: datetime, rules: SupervisionRules
) -> None:
    yellow = _calendar(call).shift_by_working_time(due, -rules.task_yellow_days)
    timers.schedule(
        call,
        rule="task_yellow",
        ref=task_id,
        due_at=max(yellow, call.now),
        case_id=case_id,
        element_id=element_id,
    )
    timers.schedule(
        call, rule="task_overdue", ref=task_id, due_at=due, case_id=case_id, element_id=element_id
    )


def case_started(call: Call, case: CaseRecord, *, models_acceptance: bool) -> None:
    """Arm the case's card timers and, where the diagram has an acceptance step
    (``accepts_case``), the deemed-acceptance check (§32)."""
    if case.due_at is not None:
        _arm_case(call, case, case.due_at)
    if models_acceptance and case.item_code is not None and call.runtime.calendar is not None:
        timers.schedule(
            call,
            rule="deemed_acceptance",
            ref=str(case.id),
            due_at=_calendar(call).add_working_days(case.started_at, SUPPLEMENT_NOTICE_DAYS),
            case_id=case.id,
        )


def _arm_case(call: Call, case: CaseRecord, due: datetime) -> None:
    yellow = _calendar(call).shift_by_working_time(due, -rules_of(call).case_yellow_days)
    timers.schedule(
        call, rule="case_yellow", ref=str(case.id), due_at=max(yellow, call.now), case_id=case.id
    )
    timers.schedule(call, rule="case_overdue", ref=str(case.id), due_at=due, case_id=case.id)


def _task_timer_ids(task_id: str) -> list[str]:
    ids = [timers.rule_id("task_yellow", task_id), timers.rule_id("task_overdue", task_id)]
    # escalation levels are armed one at a time; cancel whichever is pending
    ids.extend(timers.rule_id("escalate", f"{task_id}:{n}") for n in range(1, 10))
    return ids


def tasks_closed(call: Call, case: CaseRecord, task_ids: list[str], *, completed: bool) -> None:
    """Disarm the timers and clear the cards of steps that ended."""
    if not task_ids:
        return
    ids = [timer_id for task_id in task_ids for timer_id in _task_timer_ids(task_id)]
    timers.cancel(call, *ids)
    call.conn.execute(
        update(Card)
        .where(Card.task_id.in_(task_ids), Card.cleared_at.is_(None))
        .values(cleared_at=call.now, cleared_reason="done" if completed else "cancelled")
    )


def task_completed(call: Call, case: CaseRecord, row: TaskRecord) -> None:
    """A step was completed: working days used (``row.working_days_used``, saved by the
    caller with the row), the final lateness of an overdue step."""
    if row.due_at is not None:  # only steps with a due moment have rule timers and cards
        tasks_closed(call, case, [row.id], completed=True)
    if call.runtime.calendar is None:
        return
    used = _working_days(call, case.id, row.created_at, call.now)
    row.working_days_used = float(used)
    if row.due_at is not None and call.now > row.due_at:
        original = call.conn.scalar(
            select(FaultRecord.id).where(
                FaultRecord.task_id == row.id,
                FaultRecord.kind == "overdue_step",
                FaultRecord.refers_to.is_(None),
            )
        )
        if original is not None:
            late = _working_days(call, case.id, row.due_at, call.now)
            _fault(
                call,
                kind="overdue_closed",
                refers_to=original,
                case=case,
                task=row,
                overdue_days=float(late),
                detail={"completed_by": row.completed_by},
            )


def case_ended(call: Call, case: CaseRecord) -> None:
    """The case completed or was terminated: disarm its timers, clear its cards."""
    if call.runtime.calendar is not None:
        case.working_days_used = float(_working_days(call, case.id, case.started_at, call.now))
    if case.due_at is None and case.item_code is None:
        return  # no rule timers, no cards
    ref = str(case.id)
    timers.cancel(
        call,
        timers.rule_id("case_yellow", ref),
        timers.rule_id("case_overdue", ref),
        timers.rule_id("deemed_acceptance", ref),
    )
    call.conn.execute(
        update(Card)
        .where(Card.case_id == case.id, Card.task_id.is_(None), Card.cleared_at.is_(None))
        .values(cleared_at=call.now, cleared_reason="done")
    )


def _working_days(call: Call, case_id: int, start: datetime, end: datetime) -> Fraction:
    """Working time from ``start`` to ``end`` without the case's clock stops (§45)."""
    cal = _calendar(call)
    total = cal.working_days_between(start, end)
    for began, ended in records.SELECT_CLOCK_STOPS.all(call.conn, {"case_id": case_id}):
        lo, hi = max(began, start), min(ended or end, end)
        if hi > lo:
            total -= cal.working_days_between(lo, hi)
    return max(total, Fraction(0))


def deadlines_moved(call: Call, case: CaseRecord) -> None:
    """Re-arm the card timers after a clock stop or an extension moved the deadlines.

    A card whose moment moved into the future is cleared (``moved``) and its timer armed
    again; a card whose moment is still past stays.
    """
    rules = rules_of(call)
    cal = _calendar(call)
    for task_id, element_id, due in call.conn.execute(
        select(HumanTask.id, HumanTask.element_id, HumanTask.due_at).where(
            HumanTask.case_id == case.id, HumanTask.state == "open", HumanTask.due_at.is_not(None)
        )
    ).all():
        if due is None:
            continue
        moments = {
            YELLOW: ("task_yellow", cal.shift_by_working_time(due, -rules.task_yellow_days)),
            RED: ("task_overdue", due),
        }
        for color, (rule, moment) in moments.items():
            _rearm(call, case.id, task_id, element_id, color, rule, task_id, moment)
    if case.due_at is not None:
        moments = {
            YELLOW: (
                "case_yellow",
                cal.shift_by_working_time(case.due_at, -rules.case_yellow_days),
            ),
            RED: ("case_overdue", case.due_at),
        }
        for color, (rule, moment) in moments.items():
            _rearm(call, case.id, None, None, color, rule, str(case.id), moment)


def _rearm(
    call: Call,
    case_id: int,
    task_id: str | None,
    element_id: str | None,
    color: str,
    rule: str,
    ref: str,
    moment: datetime,
) -> None:
    if moment <= call.now:
        return  # still due (or already raised): nothing moves
    scope = Card.task_id == task_id if task_id is not None else Card.task_id.is_(None)
    call.conn.execute(
        update(Card)
        .where(Card.case_id == case_id, scope, Card.color == color, Card.cleared_at.is_(None))
        .values(cleared_at=call.now, cleared_reason="moved")
    )
    timers.schedule(call, rule=rule, ref=ref, due_at=moment, case_id=case_id, element_id=element_id)


# -- the rules' handlers ---------------------------------------------------------------------


def _open_task(call: Call, task_id: str) -> tuple[TaskRecord, CaseRecord] | None:
    found = records.load_task_and_case(call.conn, task_id)
    if found is None:
        return None
    row, case = found
    if row.state != "open" or case.status != instances.RUNNING:
        return None
    return row, case


@timers.rule("task_yellow")
def _task_yellow(call: Call, timer: timers.DueTimer) -> None:
    found = _open_task(call, str(timer.ref))
    if found is None:
        return
    row, case = found
    _raise_card(call, case, row, YELLOW)
    remaining = _calendar(call).remaining_working_days(call.now, row.due_at) if row.due_at else 0
    _notify(
        call,
        kind="reminder",
        case=case,
        row=row,
        message=(
            f"“{row.name or row.element_id}”剩余 {float(remaining):.1f} 个工作日到期，请抓紧办理。"
        ),
    )
    call.signal("task_warning", case_id=case.id, task_id=row.id, holder=row.assignee)


@timers.rule("task_overdue")
def _task_overdue(call: Call, timer: timers.DueTimer) -> None:
    found = _open_task(call, str(timer.ref))
    if found is None:
        return
    row, case = found
    _raise_card(call, case, row, RED)
    record_id = _fault(call, kind="overdue_step", case=case, task=row, overdue_days=0.0)
    call.signal(
        "task_overdue",
        case_id=case.id,
        business_key=case.business_key,
        task_id=row.id,
        element_id=row.element_id,
        holder=row.assignee,
        department_id=row.department_id,
        record_id=record_id,
    )
    co = instances.checkout(call, case)
    task = instances.find_task(co, row.id)
    extensions = getattr(task.task_spec, "extensions", {}) or {}
    if extensions.get("on_overdue") == DEEMED_CONSENT and row.multi_instance_of is None:
        _deemed_consent(call, co, row, task, extensions)
        return
    instances.release(call, co)
    if not _diagram_escalates(task, extensions):
        _escalate(call, case, row, 1)


def _diagram_escalates(task: Any, extensions: dict[str, Any]) -> bool:
    """The diagram models the overdue path itself (boundary event, or says so)."""
    mode = extensions.get("escalation")
    if mode in ("bpmn", "none"):
        return True
    if mode == "engine":
        return False
    parent = task.parent
    return parent is not None and any(
        isinstance(sibling.task_spec, BoundaryEvent) for sibling in parent.children
    )


def _deemed_consent(
    call: Call, co: instances.Checkout, row: TaskRecord, task: Any, extensions: dict[str, Any]
) -> None:
    """默许: the superior's silence past the limit completes the task as consent."""
    field_name = str(extensions.get("consent_field") or "approved")
    data = {field_name: True, DEEMED_CONSENT: True}
    task.data.update(data)
    task.run()
    row.state = "completed"
    row.ended_at = call.now
    row.opinion = "逾期未答复，视为同意（默许）"
    row.submitted = data
    co.closed.add(row.id)
    case = co.case
    task_completed(call, case, row)
    records.save_task(
        call.conn, row, "state", "ended_at", "opinion", "submitted", "working_days_used"
    )
    _fault(call, kind=DEEMED_CONSENT, case=case, task=row, overdue_days=0.0)
    accountability.record(
        call.conn,
        at=call.now,
        action=DEEMED_CONSENT,
        actor=None,
        case_id=case.id,
        task_id=row.id,
        element_id=row.element_id,
        detail={"data": data, "holder": row.assignee},
        opinion=row.opinion,
    )
    instances.run_engine(call, co)
    instances.save(call, co)
    call.signal(DEEMED_CONSENT, case_id=case.id, task_id=row.id, element_id=row.element_id)


def _escalate(call: Call, case: CaseRecord, row: TaskRecord, level: int) -> None:
    levels = rules_of(call).escalation
    if level > len(levels):
        return
    spec = levels[level - 1]
    department = _step_department(call, case, row) if spec.same_department else None
    notice_id = _notify(
        call,
        kind="escalation",
        case=case,
        row=row,
        level=level,
        group=spec.group,
        department=department,
        message=(
            f"督办（第{level}级）：办件 {case.business_key} 的“{row.name or row.element_id}”"
            f"已超期，承办人 {row.assignee or '未签收'}，请督促办理并回复。"
        ),
    )
    _fault(
        call,
        kind="escalation",
        case=case,
        task=row,
        overdue_days=float(_calendar(call).working_days_between(row.due_at, call.now))
        if row.due_at
        else None,
        detail={"level": level, "to": spec.group, "notice_id": notice_id},
    )
    accountability.record(
        call.conn,
        at=call.now,
        action="escalation",
        actor=None,
        case_id=case.id,
        task_id=row.id,
        element_id=row.element_id,
        detail={"level": level, "to": spec.group, "department": department},
    )
    call.signal(
        "case_escalated",
        case_id=case.id,
        business_key=case.business_key,
        task_id=row.id,
        level=level,
        to=spec.group,
        department_id=department,
    )
    if level < len(levels) and row.due_at is not None:
        following = levels[level]
        moment = _calendar(call).shift_by_working_time(row.due_at, Fraction(following.after_days))
        timers.schedule(
            call,
            rule="escalate",
            ref=f"{row.id}:{level + 1}",
            due_at=max(moment, call.now),
            case_id=case.id,
            element_id=row.element_id,
        )


@timers.rule("escalate")
def _escalate_level(call: Call, timer: timers.DueTimer) -> None:
    task_id, _, level = str(timer.ref).rpartition(":")
    found = _open_task(call, task_id)
    if found is not None:
        _escalate(call, found[1], found[0], int(level))


@timers.rule("case_yellow")
def _case_yellow(call: Call, timer: timers.DueTimer) -> None:
    case = records.load_case(call.conn, int(str(timer.ref)))
    if case is None or case.status != instances.RUNNING or case.due_at is None:
        return
    _raise_card(call, case, None, YELLOW)
    call.signal("case_warning", case_id=case.id, business_key=case.business_key)


@timers.rule("case_overdue")
def _case_overdue(call: Call, timer: timers.DueTimer) -> None:
    case = records.load_case(call.conn, int(str(timer.ref)))
    if case is None or case.status != instances.RUNNING or case.due_at is None:
        return
    _raise_card(call, case, None, RED)
    holders = _open_holders(call, case.id)
    record_id = _fault(
        call,
        kind="overdue_case",
        case=case,
        task=None,
        overdue_days=0.0,
        detail={"open_steps": holders},
    )
    call.signal(
        "case_overdue", case_id=case.id, business_key=case.business_key, record_id=record_id
    )


@timers.rule("deemed_acceptance")
def _deemed_acceptance(call: Call, timer: timers.DueTimer) -> None:
    """§32: no one-time notice within 5 working days: accepted on the receipt date."""
    case = records.load_case(call.conn, int(str(timer.ref)))
    if case is None or case.status != instances.RUNNING or case.accepted_at is not None:
        return
    notice_issued = call.conn.scalar(
        select(ClockStop.id).where(
            ClockStop.case_id == case.id,
            ClockStop.kind == "supplement",
            ClockStop.started_at <= call.now,
        )
    )
    if notice_issued is not None:
        return
    case.accepted_at = case.started_at
    case.deemed_accepted = True
    case.updated_at = call.now
    records.save_case(call.conn, case)
    holders = _open_holders(call, case.id)
    first = holders[0] if holders else None
    record_id = _fault(
        call,
        kind="deemed_acceptance",
        case=case,
        task=None,
        overdue_days=None,
        person=first["holder"] if first else None,
        department=first["department_id"] if first else case.department_id,
        detail={"received_at": case.started_at.isoformat(), "open_steps": holders},
    )
    accountability.record(
        call.conn,
        at=call.now,
        action="deemed_acceptance",
        actor=None,
        case_id=case.id,
        detail={"accepted_at": case.started_at.isoformat()},
        opinion="收件后5个工作日内未一次性告知补正材料，自收到材料之日起即为受理（§32）",
    )
    call.signal(
        "deemed_acceptance", case_id=case.id, business_key=case.business_key, record_id=record_id
    )


def mark_accepted(call: Call, case: CaseRecord, actor: str | None) -> None:
    """受理: the case was accepted now (a task with ``accepts_case`` completed)."""
    if case.accepted_at is not None:
        return
    case.accepted_at = call.now
    timers.cancel(call, timers.rule_id("deemed_acceptance", str(case.id)))
    accountability.record(call.conn, at=call.now, action="accept", actor=actor, case_id=case.id)


# -- BPMN-modelled reminders and escalations ---------------------------------------------------


def bpmn_timers_fired(call: Call, co: instances.Checkout, fired: list[str]) -> None:
    """A non-interrupting timer on a user task fired: remind the task's holder (催办)."""
    for timer_id in fired:
        task = co.workflow.get_task_from_id(UUID(timer_id))
        if task is None or not isinstance(task.task_spec, BoundaryEvent):
            continue
        if task.task_spec.cancel_activity:
            continue
        if not isinstance(getattr(task.task_spec, "event_definition", None), TimerEventDefinition):
            continue
        for sibling in task.parent.children if task.parent is not None else []:
            if sibling.task_spec.manual and sibling.state == TaskState.READY:
                found = _open_task(call, str(sibling.id))
                if found is None:
                    continue
                row, case = found
                notice_id = _notify(
                    call,
                    kind="reminder",
                    case=case,
                    row=row,
                    message=(
                        f"催办：“{row.name or row.element_id}”"
                        f"（{task.task_spec.bpmn_name or task.task_spec.bpmn_id}），请尽快办理。"
                    ),
                )
                accountability.record(
                    call.conn,
                    at=call.now,
                    action="reminder",
                    actor=None,
                    case_id=case.id,
                    task_id=row.id,
                    element_id=row.element_id,
                    detail={"timer": task.task_spec.bpmn_id, "notice_id": notice_id},
                )
                call.signal("reminder", case_id=case.id, task_id=row.id, holder=row.assignee)


def bpmn_escalations(call: Call, case: CaseRecord, thrown: list[dict[str, Any]]) -> None:
    """Escalation events thrown by the diagram: record each as an escalation."""
    for event in thrown:
        holders = _open_holders(call, case.id)
        first = holders[0] if holders else None
        _fault(
            call,
            kind="escalation",
            case=case,
            task=None,
            overdue_days=None,
            person=first["holder"] if first else None,
            department=first["department_id"] if first else case.department_id,
            detail={"bpmn": True, **event},
        )
        accountability.record(
            call.conn,
            at=call.now,
            action="escalation",
            actor=None,
            case_id=case.id,
            detail={"bpmn": True, **event},
        )
        call.signal(
            "case_escalated", case_id=case.id, business_key=case.business_key, bpmn=True, **event
        )


# -- cards, records, notices ---------------------------------------------------------------------


def _raise_card(call: Call, case: CaseRecord, row: TaskRecord | None, color: str) -> None:
    scope = Card.task_id == row.id if row is not None else Card.task_id.is_(None)
    if color == RED:  # the red card replaces the yellow one
        call.conn.execute(
            update(Card)
            .where(Card.case_id == case.id, scope, Card.color == YELLOW, Card.cleared_at.is_(None))
            .values(cleared_at=call.now, cleared_reason="red")
        )
    due = row.due_at if row is not None else case.due_at
    assert due is not None  # noqa: S101  (cards are only armed on a due moment)
    call.session.add(
        Card(
            case_id=case.id,
            task_id=row.id if row is not None else None,
            element_id=row.element_id if row is not None else None,
            color=color,
            department_id=row.department_id if row is not None else case.department_id,
            holder=row.assignee if row is not None else None,
            due_at=due,
            raised_at=call.now,
        )
    )
    call.session.flush()
    accountability.record(
        call.conn,
        at=call.now,
        action="card",
        actor=None,
        case_id=case.id,
        task_id=row.id if row is not None else None,
        element_id=row.element_id if row is not None else None,
        detail={"color": color, "due_at": due.isoformat(), "scope": "step" if row else "case"},
    )


def _step_department(call: Call, case: CaseRecord, row: TaskRecord) -> str | None:
    """The department an escalation of the step goes to: the step's, else the case's,
    else the holder's (their first post), else the case starter's."""
    if row.department_id or case.department_id:
        return row.department_id or case.department_id
    for person in (row.assignee, case.started_by):
        if person:
            department = call.conn.scalar(
                select(Post.department_id)
                .join(PostHolder, PostHolder.post_id == Post.id)
                .where(PostHolder.person_id == person)
                .order_by(Post.id)
                .limit(1)
            )
            if department is not None:
                return str(department)
    return None


def _post_of(call: Call, person: str | None, department: str | None) -> str | None:
    if person is None:
        return None
    stmt = (
        select(Post.id)
        .join(PostHolder, PostHolder.post_id == Post.id)
        .where(PostHolder.person_id == person)
        .order_by(Post.department_id != department if department else Post.id, Post.id)
        .limit(1)
    )
    return call.conn.scalar(stmt)


def _open_holders(call: Call, case_id: int) -> list[dict[str, Any]]:
    return [
        {
            "task_id": task_id,
            "element_id": element_id,
            "holder": assignee,
            "department_id": department,
        }
        for task_id, element_id, assignee, department in call.conn.execute(
            select(HumanTask.id, HumanTask.element_id, HumanTask.assignee, HumanTask.department_id)
            .where(HumanTask.case_id == case_id, HumanTask.state == "open")
            .order_by(HumanTask.created_at, HumanTask.id)
        ).all()
    ]


def _fault(
    call: Call,
    *,
    kind: str,
    case: CaseRecord,
    task: TaskRecord | None,
    overdue_days: float | None,
    refers_to: int | None = None,
    person: str | None = None,
    department: str | None = None,
    detail: dict[str, Any] | None = None,
) -> int:
    """Write an accountability record; return its id."""
    if task is not None:
        person = task.assignee
        department = task.department_id or case.department_id
    elif department is None:
        department = case.department_id
    row = FaultRecord(
        kind=kind,
        refers_to=refers_to,
        case_id=case.id,
        task_id=task.id if task is not None else None,
        element_id=task.element_id if task is not None else None,
        step_name=task.name if task is not None else None,
        department_id=department,
        post_id=_post_of(call, person, department),
        person_id=person,
        substitute_for=task.substitute_for if task is not None else None,
        due_at=(task.due_at if task is not None else case.due_at),
        overdue_days=overdue_days,
        created_at=call.now,
        detail=detail,
    )
    call.session.add(row)
    call.session.flush()
    return row.id


def _notify(
    call: Call,
    *,
    kind: str,
    case: CaseRecord,
    row: TaskRecord | None,
    message: str,
    level: int | None = None,
    group: str | None = None,
    department: str | None = None,
    created_by: str | None = None,
) -> int:
    """A notice to a group (escalation) or to the step's holder (or its candidates)."""
    recipient = None
    if group is None and row is not None:
        recipient = row.assignee
        if recipient is None and row.candidate_groups:
            group = row.candidate_groups[0]
    notice = Notice(
        kind=kind,
        case_id=case.id,
        task_id=row.id if row is not None else None,
        element_id=row.element_id if row is not None else None,
        level=level,
        recipient=recipient,
        recipient_group=group,
        department_id=department,
        message=message,
        created_at=call.now,
        created_by=created_by,
    )
    call.session.add(notice)
    call.session.flush()
    return notice.id


# -- what people see and do ------------------------------------------------------------------


def urge(call: Call, task_id: str, actor: str, message: str | None) -> NoticeView:
    """催办: a supervisor or head urges the holder of an open step."""
    groups = organisation.groups_of(call.session, actor)
    if not (URGERS | {"role:admin"}) & groups:
        raise NotPermittedError("only supervisors and heads urge a step (催办)", actor=actor)
    found = _open_task(call, task_id)
    if found is None:
        raise ConflictError(f"task {task_id} is not open")
    row, case = found
    text = (message or "").strip() or f"请尽快办理“{row.name or row.element_id}”。"
    notice_id = _notify(
        call, kind="urge", case=case, row=row, message=f"催办：{text}", created_by=actor
    )
    accountability.record(
        call.conn,
        at=call.now,
        action="urge",
        actor=actor,
        case_id=case.id,
        task_id=row.id,
        element_id=row.element_id,
        detail={"notice_id": notice_id},
        opinion=text,
    )
    call.signal("task_urged", case_id=case.id, task_id=row.id, holder=row.assignee, by=actor)
    return notice_view(call, call.session.get(Notice, notice_id), case.business_key)


def _departments_under(call: Call, groups: frozenset[str]) -> set[str]:
    """The person's departments and every department below them (a head sees sections)."""
    return organisation.departments_under(call.conn, groups)


def notices_for(call: Call, person: str, *, open_only: bool = True) -> list[NoticeView]:
    """Notices addressed to the person, or to a group of theirs in a department they
    belong to (or one below it)."""
    groups = organisation.groups_of(call.session, person)
    departments = _departments_under(call, groups)
    stmt = select(Notice).where(
        (Notice.recipient == person)
        | (
            Notice.recipient_group.in_(groups)
            & (Notice.department_id.is_(None) | Notice.department_id.in_(departments))
        )
    )
    if open_only:
        stmt = stmt.where(Notice.acked_at.is_(None))
    rows = list(call.session.scalars(stmt.order_by(Notice.created_at.desc(), Notice.id.desc())))
    keys = _business_keys(call, {n.case_id for n in rows})
    return [notice_view(call, n, keys.get(n.case_id, "")) for n in rows]


def acknowledge(call: Call, notice_id: int, actor: str, response: str | None) -> NoticeView:
    """Act on a notice: say what was done (督办回复)."""
    notice = call.session.get(Notice, notice_id, with_for_update=True)
    if notice is None:
        raise NotFoundError("notice", notice_id)
    groups = organisation.groups_of(call.session, actor)
    departments = _departments_under(call, groups)
    addressed = notice.recipient == actor or (
        notice.recipient_group in groups
        and (notice.department_id is None or notice.department_id in departments)
    )
    if not addressed:
        raise NotPermittedError(f"notice {notice_id} is not addressed to {actor}", actor=actor)
    if notice.acked_at is not None:
        raise ConflictError(f"notice {notice_id} was already answered by {notice.acked_by}")
    if notice.kind in ANSWER_REQUIRED and not (response or "").strip():
        raise InvalidInputError(
            f"a notice of kind {notice.kind} needs a response saying what was done"
        )
    notice.acked_at = call.now
    notice.acked_by = actor
    notice.response = (response or "").strip() or None
    call.session.flush()
    accountability.record(
        call.conn,
        at=call.now,
        action="notice_ack",
        actor=actor,
        case_id=notice.case_id,
        task_id=notice.task_id,
        detail={"notice_id": notice.id, "kind": notice.kind},
        opinion=notice.response,
    )
    return notice_view(call, notice, _business_keys(call, {notice.case_id}).get(notice.case_id, ""))


def cards(
    call: Call,
    *,
    live_only: bool = True,
    department: str | None = None,
    case_id: int | None = None,
    case_ids: Collection[int] | None = None,
) -> list[CardView]:
    """Cards (live ones by default), red first, then by due moment; of one case
    (``case_id``) or of some cases (``case_ids``) when given."""
    if case_ids is not None and not case_ids:
        return []
    stmt = select(Card)
    if live_only:
        stmt = stmt.where(Card.cleared_at.is_(None))
    if department is not None:
        stmt = stmt.where(Card.department_id == department)
    if case_id is not None:
        stmt = stmt.where(Card.case_id == case_id)
    if case_ids is not None:
        stmt = stmt.where(Card.case_id.in_(sorted(set(case_ids))))
    rows = list(call.session.scalars(stmt.order_by(Card.color.desc(), Card.due_at, Card.id)))
    keys = _business_keys(call, {c.case_id for c in rows})
    return [
        CardView(
            id=c.id,
            case_id=c.case_id,
            business_key=keys.get(c.case_id, ""),
            task_id=c.task_id,
            element_id=c.element_id,
            color=c.color,
            department_id=c.department_id,
            holder=c.holder,
            due_at=c.due_at,
            raised_at=c.raised_at,
            cleared_at=c.cleared_at,
            cleared_reason=c.cleared_reason,
        )
        for c in rows
    ]


def _business_keys(call: Call, case_ids: set[int]) -> dict[int, str]:
    from engine.store.models import Case

    if not case_ids:
        return {}
    return dict(
        call.conn.execute(select(Case.id, Case.business_key).where(Case.id.in_(case_ids))).all()
    )


def notice_view(call: Call, notice: Notice | None, business_key: str) -> NoticeView:
    """The view of a notice."""
    if notice is None:
        raise NotFoundError("notice", "?")
    return NoticeView(
        id=notice.id,
        kind=notice.kind,
        case_id=notice.case_id,
        business_key=business_key,
        task_id=notice.task_id,
        element_id=notice.element_id,
        level=notice.level,
        recipient=notice.recipient,
        recipient_group=notice.recipient_group,
        department_id=notice.department_id,
        message=notice.message,
        created_at=notice.created_at,
        created_by=notice.created_by,
        acked_at=notice.acked_at,
        acked_by=notice.acked_by,
        response=notice.response,
    )


# -- diagram helpers ---------------------------------------------------------------------------


def _record_complaint_helper(person: str | None, department: str | None, summary: str) -> bool:
    """``record_complaint(person, department, summary)``: a complaint (效能投诉) that holds
    becomes an accountability record against the person and/or department."""
    from engine.errors import ScriptError
    from engine.store.models import Department, Person

    call = current_call.get()
    co = call.checkout if call is not None else None
    if call is None or co is None:
        raise ScriptError("record_complaint only works while the engine runs a case")
    person = str(person).strip() if person else None
    department = str(department).strip() if department else None
    if not person and not department:
        raise ScriptError("record_complaint needs the person or the department complained about")
    if person and call.session.get(Person, person) is None:
        raise ScriptError(f"record_complaint: no such person {person!r}")
    if department and call.session.get(Department, department) is None:
        raise ScriptError(f"record_complaint: no such department {department!r}")
    if not isinstance(summary, str) or not summary.strip():
        raise ScriptError("record_complaint needs a summary of what the complaint found")
    text = summary.strip()

    def write() -> None:
        row = FaultRecord(
            kind="complaint",
            case_id=co.case.id,
            department_id=department,
            post_id=_post_of(call, person, department),
            person_id=person,
            created_at=call.now,
            detail={"summary": text},
        )
        call.session.add(row)
        call.session.flush()
        accountability.record(
            call.conn,
            at=call.now,
            action="complaint_record",
            actor=call.actor,
            case_id=co.case.id,
            detail={"record_id": row.id, "person": person, "department": department},
            opinion=text,
        )

    instances.when_saved(co, write)
    return True


scripting.register_helper("record_complaint", _record_complaint_helper)
