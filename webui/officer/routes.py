"""Inbox (待办), the read-only task page, and claiming a task."""

from __future__ import annotations

import logging

from flask import flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from markupsafe import Markup

from engine import CaseSummary, NotFoundError, PersonView
from webui.auth import OFFICER_GROUPS, current_person, roles_required
from webui.diagram import elements, render_svg
from webui.extensions import get_engine
from webui.officer import bp
from webui.officer.forms import ClaimForm
from webui.permissions import require_claimable, visible_task
from webui.progress import cards_by_task, diagram_states, inbox_rows, remaining_days, worse_card

log = logging.getLogger(__name__)


def _me() -> PersonView:
    person = current_person()
    if person is None:  # roles_required lets no such request in
        raise RuntimeError("an officer route ran without a logged-in person")
    return person


@bp.route("/inbox")
@roles_required(*OFFICER_GROUPS)
def inbox() -> ResponseReturnValue:
    """The person's open tasks, most urgent first: those they hold, then those offered
    to them or their groups (认领)."""
    engine = get_engine()
    me = _me()
    now = engine.clock.now()
    rows = inbox_rows(engine, engine.inbox(me.id), engine.cards(), now)
    return render_template(
        "officer/inbox.html",
        held=[r for r in rows if r.task.assignee == me.id],
        claimable=[r for r in rows if r.task.assignee is None],
        claim_form=ClaimForm(),
        now=now,
    )


@bp.route("/tasks/<task_id>")
@roles_required(*OFFICER_GROUPS)
def task(task_id: str) -> ResponseReturnValue:
    """A task with its case: summary, the task's form fields, history and diagram."""
    engine = get_engine()
    me = _me()
    shown = visible_task(engine, me, task_id)
    case = engine.get_case(shown.case_id)
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
    return render_template(
        "officer/task.html",
        task=shown,
        case=case,
        item_name=_item_name(case),
        applicant=case.data.get("applicant"),
        task_remaining=remaining_days(engine, now, shown.due_at),
        case_remaining=remaining_days(engine, now, case.due_at),
        task_card=worse_card(by_task.get(shown.id)),
        case_card=by_case.get(case.id),
        steps=steps,
        states=states,
        diagram=diagram,
        names=_names({line.actor for line in case.history} | {shown.assignee}),
        claim_form=ClaimForm(),
        may_claim=shown.state == "open" and shown.assignee is None,
        now=now,
    )


@bp.route("/tasks/<task_id>/claim", methods=["POST"])
@roles_required(*OFFICER_GROUPS)
def claim(task_id: str) -> ResponseReturnValue:
    """Claim a task offered to the person's group (CSRF-checked POST, then redirect).

    Pressing the button twice claims once: the second time the task is already theirs.
    """
    engine = get_engine()
    me = _me()
    shown = visible_task(engine, me, task_id)
    if shown.assignee == me.id:
        flash(_("您已认领此任务。"), "info")
    else:
        require_claimable(me, shown)
        engine.claim(shown.id, actor=me.id)
        flash(_("已认领任务：%(name)s（%(case)s）", name=shown.name or "", case=shown.business_key))
    return redirect(url_for("officer.task", task_id=shown.id))


def _item_name(case: CaseSummary) -> str | None:
    if not case.item_code:
        return None
    try:
        return get_engine().service_item(case.item_code).name
    except NotFoundError:
        return None


def _names(person_ids: set[str | None]) -> dict[str, str]:
    """Person id → name, for the people a page mentions."""
    engine = get_engine()
    names: dict[str, str] = {}
    for person_id in sorted(p for p in person_ids if p):
        try:
            names[person_id] = engine.person(person_id).name
        except NotFoundError:
            names[person_id] = person_id
    return names
