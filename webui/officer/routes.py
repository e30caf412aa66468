"""Inbox (待办), done (已办), search, the task page with completing it, the case page,
and claiming a task. The other actions on a task are in ``webui.officer.actions``."""

from __future__ import annotations

import logging

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from engine import CaseSummary, ConflictError, FormValidationError
from webui.auth import OFFICER_GROUPS, roles_required
from webui.extensions import get_engine
from webui.officer import bp
from webui.officer.forms import ClaimForm
from webui.officer.pages import case_context, current_officer, forget_prefill, render_task
from webui.officer.task_form import form_class, show_problems, submitted_data
from webui.permissions import (
    may_see_case,
    require_claimable,
    require_holder,
    visible_case,
    visible_task,
)
from webui.progress import inbox_rows, remaining_days

log = logging.getLogger(__name__)
SEARCH_LIMIT = 50
_me = current_officer


@bp.route("/inbox")
@roles_required(*OFFICER_GROUPS)
def inbox() -> ResponseReturnValue:
    """The person's open tasks, most urgent first: those they hold, then those offered
    to them or their groups (认领)."""
    engine = get_engine()
    me = _me()
    now = engine.clock.now()
    tasks = engine.inbox(me)
    cards = engine.cards(case_ids={t.case_id for t in tasks})  # of these cases only
    rows = inbox_rows(engine, tasks, cards, now)
    return render_template(
        "officer/inbox.html",
        held=[r for r in rows if r.task.assignee == me.id],
        claimable=[r for r in rows if r.task.assignee is None],
        claim_form=ClaimForm(),
        now=now,
        query="",
    )


@bp.route("/tasks/<task_id>")
@roles_required(*OFFICER_GROUPS)
def task(task_id: str) -> ResponseReturnValue:
    """A task with its case: summary, the task's form and actions, history and diagram."""
    engine = get_engine()
    me = _me()
    return render_task(engine, me, visible_task(engine, me, task_id))


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


@bp.route("/tasks/<task_id>/complete", methods=["POST"])
@roles_required(*OFFICER_GROUPS)
def complete(task_id: str) -> ResponseReturnValue:
    """Complete the task with its form and an opinion (审批意见), then back to the inbox.

    Pressing submit twice acts once: the second request finds the task completed by this
    person and says so. A page loaded before the case changed (another step moved it) is
    refused (409) with the entered values kept, so the person can look and submit again.
    """
    engine = get_engine()
    me = _me()
    shown = visible_task(engine, me, task_id)
    if shown.state != "open":
        return _already_done(shown.id, shown.completed_by == me.id, shown.business_key)
    require_holder(me, shown)
    form = form_class(shown.form)()
    if not form.validate_on_submit():
        return render_task(engine, me, shown, status=422, task_form=form)
    try:
        version = int(form.expected_version.data or "")
    except ValueError:
        version = None
    try:
        engine.complete(
            shown.id,
            actor=me.id,
            data=submitted_data(form, shown.form),
            opinion=form.opinion.data or None,
            expected_version=version,
        )
    except FormValidationError as exc:
        unplaced = show_problems(form, exc.problems)
        problem = _("请按提示修改后重新提交。") + (" " + "；".join(unplaced) if unplaced else "")
        return render_task(engine, me, shown, status=422, task_form=form, problem=problem)
    except ConflictError:
        now = engine.get_task(shown.id)
        if now.state != "open":  # the same form, sent twice at the same moment
            return _already_done(now.id, now.completed_by == me.id, now.business_key)
        form.expected_version.data = str(engine.get_case(shown.case_id).row_version)
        problem = _(
            "提交未生效：打开本页后，办件已被他人更新。请查看下方最新情况，确认后再次提交。"
        )
        return render_task(engine, me, now, status=409, task_form=form, problem=problem)
    forget_prefill(shown.id)
    flash(
        _(
            "已办理：%(step)s（%(case)s）",
            step=shown.name or shown.element_id,
            case=shown.business_key,
        ),
        "success",
    )
    return redirect(url_for("officer.inbox"))


def _already_done(task_id: str, by_me: bool, key: str) -> ResponseReturnValue:
    if by_me:
        flash(_("已办理：此任务您已经办理完成，无需重复提交。"), "info")
        return redirect(url_for("officer.inbox"))
    flash(_("此任务已由他人办理或已取消，无需再办理。请查看办件的最新情况。"), "warning")
    return redirect(url_for("officer.case", key=key))


@bp.route("/done")
@roles_required(*OFFICER_GROUPS)
def done() -> ResponseReturnValue:
    """The tasks the person completed, newest first (已办)."""
    engine = get_engine()
    return render_template("officer/done.html", tasks=engine.done(_me().id))


@bp.route("/cases/<key>")
@roles_required(*OFFICER_GROUPS)
def case(key: str) -> ResponseReturnValue:
    """A case: summary, open steps, timeline and diagram (404 unless the person holds,
    held or may claim a task of it)."""
    engine = get_engine()
    ctx = case_context(engine, visible_case(engine, _me(), key))
    ctx["open_remaining"] = {
        t.id: remaining_days(engine, ctx["now"], t.due_at) for t in ctx["case"].open_tasks
    }
    return render_template("officer/case.html", **ctx)


@bp.route("/search")
@roles_required(*OFFICER_GROUPS)
def search() -> ResponseReturnValue:
    """Cases by number or applicant (only those the person may see)."""
    engine = get_engine()
    me = _me()
    query = (request.args.get("q") or "").strip()[:100]
    found: list[CaseSummary] = []
    if query:
        candidates = engine.find_cases(query, limit=SEARCH_LIMIT)
        found = [c for c in candidates if may_see_case(engine, me, c)]
    return render_template("officer/search.html", query=query, cases=found)
