"""Where a case stands, as pages show it: urgency of tasks, diagram states, history labels.

Pure functions over the engine's views, so that the officer, supervision and admin pages
(and the JSON API) show the same thing and tests can check it without a request.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction

from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

from engine import AuditView, CardView, Engine, TaskView, XiaonengError
from webui.diagram import Element

RED = "red"
YELLOW = "yellow"
_CARD_RANK = {None: 0, YELLOW: 1, RED: 2}

#: Audit-trail actions as a timeline shows them (others show their code).
ACTION_LABELS: Mapping[str, LazyString] = {
    "start": _l("发起申请"),
    "claim": _l("认领"),
    "unclaim": _l("退回待认领"),
    "complete": _l("办理完成"),
    "transfer": _l("转办"),
    "delegate": _l("委派"),
    "resolve": _l("委派办结"),
    "sign": _l("会签意见"),
    "accept": _l("受理"),
    "deemed_acceptance": _l("视为受理"),
    "cancel": _l("取消"),
    "terminate": _l("终止办件"),
    "timer": _l("定时事件"),
    "timer_incident": _l("定时事件故障"),
    "timer_retry": _l("定时事件重试"),
    "error": _l("流程出错"),
    "card": _l("亮牌"),
    "reminder": _l("提醒"),
    "urge": _l("催办"),
    "escalation": _l("督办升级"),
    "notice_ack": _l("答复督办"),
    "clock_stop": _l("时限中止"),
    "clock_resume": _l("时限恢复"),
    "extension_request": _l("申请延期"),
    "extension_decision": _l("延期审批"),
    "absence": _l("AB岗替岗"),
    "absence_cancel": _l("取消替岗"),
    "return": _l("退回"),
    "add_signer": _l("加签"),
}

TASK_STATES: Mapping[str, LazyString] = {
    "open": _l("办理中"),
    "completed": _l("已完成"),
    "cancelled": _l("已取消"),
}

CASE_STATES: Mapping[str, LazyString] = {
    "running": _l("办理中"),
    "completed": _l("已办结"),
    "terminated": _l("已终止"),
    "suspended": _l("已挂起"),
}

STATE_LABELS: Mapping[str, LazyString] = {
    "completed": _l("已完成"),
    "active": _l("办理中"),
    "overdue": _l("已超期"),
    "not_reached": _l("未到达"),
}


@dataclass(frozen=True)
class InboxRow:
    """A task in an inbox, with how urgent it is."""

    task: TaskView
    remaining_days: Fraction | None  # working days left (negative: overdue); None: unknown
    overdue: bool
    card: str | None  # the worse live card of the task or its case: "red", "yellow", None


def worse_card(*colors: str | None) -> str | None:
    """Red over yellow over none."""
    return max(colors, key=lambda c: _CARD_RANK.get(c, 0), default=None)


def cards_by_task(cards: Iterable[CardView]) -> tuple[dict[str, str], dict[int, str]]:
    """The worst live card per task id, and per case id for whole-case cards."""
    by_task: dict[str, str] = {}
    by_case: dict[int, str] = {}
    for card in cards:
        if card.cleared_at is not None:
            continue
        if card.task_id is not None:
            by_task[card.task_id] = worse_card(by_task.get(card.task_id), card.color) or ""
        else:
            by_case[card.case_id] = worse_card(by_case.get(card.case_id), card.color) or ""
    return by_task, by_case


def remaining_days(engine: Engine, now: datetime, due: datetime | None) -> Fraction | None:
    """Working days from now until ``due`` (§82: working days), or None when there is no
    deadline or the calendar has no data for a year in between."""
    if due is None:
        return None
    try:
        return engine.work_calendar().remaining_working_days(now, due)
    except XiaonengError:  # a year without holiday data: the page shows the moment only
        return None


def inbox_rows(
    engine: Engine, tasks: Sequence[TaskView], cards: Iterable[CardView], now: datetime
) -> list[InboxRow]:
    """The inbox's rows in the engine's order (most urgent first)."""
    by_task, by_case = cards_by_task(cards)
    return [
        InboxRow(
            task=task,
            remaining_days=remaining_days(engine, now, task.due_at),
            overdue=task.due_at is not None and task.due_at < now,
            card=worse_card(by_task.get(task.id), by_case.get(task.case_id)),
        )
        for task in tasks
    ]


def clock_stop(history: Iterable[AuditView]) -> AuditView | None:
    """The audit line of the clock stop still running (时限中止), or None while the clock
    runs. ``detail["by"] == "task"``: a step of the diagram stopped it (补正) and its end
    restarts it; otherwise a person stopped it and a person resumes it."""
    running: AuditView | None = None
    for line in history:
        if line.action == "clock_stop":
            running = line
        elif line.action == "clock_resume":
            running = None
    return running


def diagram_states(
    elements: Mapping[str, Element],
    *,
    history: Iterable[AuditView],
    open_tasks: Iterable[TaskView],
    cards: Iterable[CardView],
    now: datetime,
) -> dict[str, str]:
    """Element id → ``completed``, ``active``, ``overdue`` or ``not_reached`` for the
    diagram of a case.

    User tasks are what the engine tracks step by step: a user task with an open task is
    active (overdue past its due moment or with a red card), one completed in the history
    is completed, any other is not reached. Timer events that fired are completed.
    Gateways and other events carry no state: the engine does not record passing them.
    """
    states = {el_id: "not_reached" for el_id, el in elements.items() if el.kind == "userTask"}
    for line in history:
        if line.element_id and line.action in ("complete", "timer"):
            states[line.element_id] = "completed"
    red_tasks = {c.task_id for c in cards if c.color == RED and c.cleared_at is None}
    for task in open_tasks:
        late = (task.due_at is not None and task.due_at < now) or task.id in red_tasks
        if states.get(task.element_id) != "overdue":
            states[task.element_id] = "overdue" if late else "active"
    return {el_id: state for el_id, state in states.items() if el_id in elements}
