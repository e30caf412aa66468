"""What the task and case pages show, and which action forms a person gets on a task.

Routes call :func:`render_task` (also to show a refused action again, with its errors
next to the fields and the status the refusal deserves) and :func:`case_context`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from flask import render_template, session
from flask.typing import ResponseReturnValue
from flask_wtf import FlaskForm
from markupsafe import Markup
from wtforms import SelectChoice

from engine import CaseSummary, Engine, NotFoundError, PersonView, TaskView
from webui.auth import current_person
from webui.diagram import elements, render_svg
from webui.extensions import get_engine
from webui.officer import forms, notice
from webui.officer.task_form import TaskFormBase, form_class, initial_values
from webui.progress import cards_by_task, clock_stop, diagram_states, remaining_days, worse_card

log = logging.getLogger(__name__)

PREFILL = "officer_prefill"  # session key: task id → field values carried to the next step


def current_officer() -> PersonView:
    """The logged-in person (officer routes run behind ``roles_required``)."""
    person = current_person()
    if person is None:  # roles_required lets no such request in
        raise RuntimeError("an officer route ran without a logged-in person")
    return person


def carry_prefill(task_id: str, values: dict[str, str]) -> None:
    """Fill in fields of the next task's form (e.g. the list of a one-time notice); only
    the latest carry is kept, so the session cookie stays small."""
    session[PREFILL] = {task_id: values}


def forget_prefill(task_id: str) -> None:
    """Drop what was carried to a task once it is done."""
    if task_id in session.get(PREFILL, {}):
        session.pop(PREFILL)


def return_choices(task: TaskView) -> list[SelectChoice]:
    """The earlier steps the task may go back to, as (element id, name)."""
    targets = get_engine().return_targets(task.id)
    return [SelectChoice(element_id, name or element_id) for element_id, name in targets]


def names(person_ids: Iterable[str | None]) -> dict[str, str]:
    """Person id → name, for the people a page mentions."""
    wanted = {p for p in person_ids if p}
    found = get_engine().person_names(wanted)
    return {person_id: found.get(person_id, person_id) for person_id in wanted}


def _people_of(case: CaseSummary, extra: Iterable[str | None] = ()) -> dict[str, str]:
    ids: set[str | None] = set(extra)
    for line in case.history:
        ids.add(line.actor)
        for key in ("from", "to", "owner", "delegate", "signer", "assignee"):
            value = (line.detail or {}).get(key)
            if isinstance(value, str):
                ids.add(value)
    for task in case.open_tasks:
        ids.update((task.assignee, task.owner))
    return names(ids)


def case_context(engine: Engine, case: CaseSummary) -> dict[str, Any]:
    """Summary, diagram, timeline and urgency of a case (the task and case pages)."""
    now = engine.clock.now()
    cards = engine.cards(case=case.id)
    by_task, by_case = cards_by_task(cards)
    source = engine.definition_xml(case.process_id, case.definition_version)
    steps = elements(source, case.process_id)
    states = diagram_states(
        steps, history=case.history, open_tasks=case.open_tasks, cards=cards, now=now
    )
    try:
        diagram: Markup | None = Markup(  # noqa: S704  (render_svg escapes names and ids)
            render_svg(source, states=states, process_id=case.process_id)
        )
    except ValueError as exc:  # a diagram without its drawing (BPMNDI)
        log.warning("case %s: diagram not drawn: %s", case.business_key, exc)
        diagram = None
    item_name = None
    if case.item_code:
        try:
            item_name = engine.service_item(case.item_code).name
        except NotFoundError:
            item_name = None
    return {
        "case": case,
        "source": source,
        "item_name": item_name,
        "applicant": case.data.get("applicant") or case.data.get("applicant_name"),
        "case_remaining": remaining_days(engine, now, case.due_at),
        "case_card": by_case.get(case.id),
        "task_cards": by_task,
        "steps": steps,
        "states": states,
        "diagram": diagram,
        "stop": clock_stop(case.history),
        "names": _people_of(case),
        "now": now,
        "materials": engine.materials(case.business_key),  # application materials (S12)
    }


def _fresh_task_form(task: TaskView, case: CaseSummary) -> TaskFormBase:
    values = initial_values(task.form, task.data)
    carried = session.get(PREFILL, {}).get(task.id, {})
    for field_id, value in carried.items():
        if not values.get("f_" + field_id):
            values["f_" + field_id] = value
    form = form_class(task.form)(formdata=None, data=values)
    form.expected_version.data = str(case.row_version)
    return form


def render_task(
    engine: Engine,
    me: PersonView,
    task: TaskView,
    *,
    status: int = 200,
    task_form: TaskFormBase | None = None,
    problem: str | None = None,
    **action_forms: FlaskForm,
) -> ResponseReturnValue:
    """The task page; ``task_form`` / ``action_forms`` replace the fresh forms (to show
    what the person entered with the errors), ``problem`` says why an action failed."""
    case = engine.get_case(task.case_id)
    ctx = case_context(engine, case)
    holder = task.state == "open" and task.assignee == me.id and case.status == "running"
    delegated = task.delegation == "pending"
    stop = ctx["stop"]
    may = {
        "claim": task.state == "open" and task.assignee is None,
        "complete": holder and not delegated,
        "unclaim": holder
        and not delegated
        and task.owner is None
        and bool(task.candidate_users or task.candidate_groups),
        "transfer": holder and not delegated,
        "delegate": holder and not delegated,
        "resolve": holder and delegated,
        "extension": holder and not delegated,
        "stop_clock": holder and not delegated and stop is None,
        "resume_clock": holder
        and not delegated
        and stop is not None
        and (stop.detail or {}).get("by") != "task",
        "return": holder and not delegated,
        "add_signer": holder and not delegated,
    }
    found = notice.notice_for(task, case, ctx["source"], stop) if may["complete"] else None
    fresh: dict[str, FlaskForm] = {
        "claim_form": forms.ClaimForm(formdata=None),
        "unclaim_form": forms.UnclaimForm(formdata=None),
        "transfer_form": forms.PersonForm(formdata=None, prefix="transfer"),
        "delegate_form": forms.PersonForm(formdata=None, prefix="delegate"),
        "signer_form": forms.PersonForm(formdata=None, prefix="signer"),
        "resolve_form": forms.ResolveForm(formdata=None),
        "extension_form": forms.ExtensionForm(formdata=None),
        "stop_form": forms.StopClockForm(formdata=None),
        "resume_form": forms.ResumeClockForm(formdata=None),
        "return_form": forms.ReturnForm(formdata=None),
        "notice_form": forms.NoticeForm(formdata=None),
    }
    fresh.update(action_forms)
    if may["return"]:
        choices = return_choices(task)
        fresh["return_form"].to.choices = choices  # type: ignore[attr-defined]
        may["return"] = bool(choices)
    ctx["names"].update(names([task.assignee, task.owner]))
    return (
        render_template(
            "officer/task.html",
            task=task,
            task_form=task_form or _fresh_task_form(task, case),
            task_remaining=remaining_days(engine, ctx["now"], task.due_at),
            task_card=worse_card(ctx["task_cards"].get(task.id)),
            may=may,
            notice=found,
            problem=problem,
            **fresh,
            **ctx,
        ),
        status,
    )
