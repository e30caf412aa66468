"""The actions on a task besides claiming and completing it: give back (退回认领池), transfer
(转办), delegate (委派) and resolve, return to an earlier step (退回), add a signer (加签),
request an extension (申请延期), stop and resume the clock (特别程序), and the one-time
notice of missing materials (一次性告知).

Each is a small CSRF-checked form on the task page, posted here, shown only to the task's
holder; anyone else gets 403 (404 if they may not even see the task). Bad input shows
the task page again (422) with the message next to the field and nothing changed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import abort, flash, redirect, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_wtf import FlaskForm

from engine import (
    ConflictError,
    FormValidationError,
    InvalidInputError,
    NotFoundError,
    NotPermittedError,
    PersonView,
    TaskView,
    XiaonengError,
)
from webui.auth import OFFICER_GROUPS, roles_required
from webui.errors import status_of
from webui.extensions import get_engine
from webui.officer import bp, forms, notice
from webui.officer.pages import (
    carry_prefill,
    current_officer,
    render_task,
    return_choices,
)
from webui.officer.task_form import problem_text
from webui.permissions import require_holder, visible_task
from webui.progress import clock_stop


def _held(task_id: str) -> tuple[PersonView, TaskView]:
    """The person and the open task they hold (404 / 403 / 409 otherwise)."""
    me = current_officer()
    shown = visible_task(get_engine(), me, task_id)
    if shown.state != "open":
        abort(409, description=_("此任务已办结或已取消，不能再操作。"))
    require_holder(me, shown)
    return me, shown


def _act(
    me: PersonView,
    task: TaskView,
    name: str,
    form: FlaskForm,
    act: Callable[[], Any],
    done: str,
    *,
    to_inbox: bool = False,
) -> ResponseReturnValue:
    """Validate ``form``, run ``act``; on success flash ``done`` and redirect, else show
    the task page again with ``form`` (its errors) and why the engine refused."""
    engine = get_engine()
    if not form.validate_on_submit():
        return render_task(
            engine, me, task, status=422, problem=_("请按提示修改后重新提交。"), **{name: form}
        )
    try:
        act()
    except FormValidationError as exc:
        text = "；".join(problem_text(p.message) for p in exc.problems)
        return render_task(engine, me, task, status=422, problem=text, **{name: form})
    except (InvalidInputError, NotPermittedError, ConflictError, NotFoundError) as exc:
        problem = _("操作未完成：%(reason)s", reason=exc.message)
        return render_task(engine, me, task, status=status_of(exc), problem=problem, **{name: form})
    flash(done, "success")
    if to_inbox:
        return redirect(url_for("officer.inbox"))
    return redirect(url_for("officer.task", task_id=task.id))


def _person_problem(form: forms.PersonForm, me: PersonView) -> bool:
    """Put a problem with the chosen person on the field; True when there is one."""
    person_id = (form.person.data or "").strip()
    form.person.data = person_id
    if not person_id:
        return False  # the form's own check says it is required
    message: str | None = None
    if person_id == me.id:
        message = _("不能选择自己，请填写另一位工作人员的工号。")
    else:
        try:
            if not get_engine().person(person_id).active:
                message = _("%(person)s 已停用，不能接收任务。", person=person_id)
        except NotFoundError:
            message = _("查无此人：%(person)s。请填写正确的工号。", person=person_id)
    if message is None:
        return False
    form.person.errors = [*form.person.errors, message]
    return True


def _person_action(
    task_id: str, prefix: str, call: Callable[[str, str, str], Any], done: str
) -> ResponseReturnValue:
    me, shown = _held(task_id)
    form = forms.PersonForm(prefix=prefix)
    name = f"{prefix}_form"
    if form.validate_on_submit() and _person_problem(form, me):
        problem = _("请按提示修改后重新提交。")
        return render_task(get_engine(), me, shown, status=422, problem=problem, **{name: form})
    return _act(
        me,
        shown,
        name,
        form,
        lambda: call(shown.id, form.person.data or "", form.reason.data or ""),
        done,
        to_inbox=True,
    )


@bp.route("/tasks/<task_id>/unclaim", methods=["POST"])
@roles_required(*OFFICER_GROUPS)
def unclaim(task_id: str) -> ResponseReturnValue:
    """Give the task back to its candidates (退回认领池)."""
    me, shown = _held(task_id)
    return _act(
        me,
        shown,
        "unclaim_form",
        forms.UnclaimForm(),
        lambda: get_engine().unclaim(shown.id, actor=me.id),
        _("已退回认领池：%(step)s（%(case)s）", step=shown.name or "", case=shown.business_key),
    )


@bp.route("/tasks/<task_id>/transfer", methods=["POST"])
@roles_required(*OFFICER_GROUPS)
def transfer(task_id: str) -> ResponseReturnValue:
    """转办: hand the task to another person for good."""
    me = current_officer()
    return _person_action(
        task_id,
        "transfer",
        lambda t, to, why: get_engine().transfer(t, actor=me.id, to=to, reason=why),
        _("已转办。"),
    )


@bp.route("/tasks/<task_id>/delegate", methods=["POST"])
@roles_required(*OFFICER_GROUPS)
def delegate(task_id: str) -> ResponseReturnValue:
    """委派: lend the task to another person; it comes back when they resolve it."""
    me = current_officer()
    return _person_action(
        task_id,
        "delegate",
        lambda t, to, why: get_engine().delegate(t, actor=me.id, to=to, reason=why),
        _("已委派，对方办结后任务将交回给您。"),
    )


@bp.route("/tasks/<task_id>/signer", methods=["POST"])
@roles_required(*OFFICER_GROUPS)
def add_signer(task_id: str) -> ResponseReturnValue:
    """加签: add a person who signs this step too."""
    me = current_officer()
    return _person_action(
        task_id,
        "signer",
        lambda t, who, why: get_engine().add_signer(t, actor=me.id, person=who, reason=why),
        _("已加签。"),
    )


@bp.route("/tasks/<task_id>/resolve", methods=["POST"])
@roles_required(*OFFICER_GROUPS)
def resolve(task_id: str) -> ResponseReturnValue:
    """The delegate's answer (委派办结): the task goes back to its owner."""
    me, shown = _held(task_id)
    form = forms.ResolveForm()
    return _act(
        me,
        shown,
        "resolve_form",
        form,
        lambda: get_engine().resolve(shown.id, actor=me.id, opinion=form.opinion.data),
        _("已办结并交回委派人。"),
        to_inbox=True,
    )


@bp.route("/tasks/<task_id>/return", methods=["POST"])
@roles_required(*OFFICER_GROUPS)
def return_task(task_id: str) -> ResponseReturnValue:
    """退回: send the case back to an earlier step, with a reason."""
    me, shown = _held(task_id)
    form = forms.ReturnForm()
    form.to.choices = return_choices(shown)
    return _act(
        me,
        shown,
        "return_form",
        form,
        lambda: get_engine().return_task(
            shown.id, actor=me.id, to=form.to.data or "", reason=form.reason.data or ""
        ),
        _("已退回：%(case)s", case=shown.business_key),
        to_inbox=True,
    )


@bp.route("/tasks/<task_id>/extension", methods=["POST"])
@roles_required(*OFFICER_GROUPS)
def extension(task_id: str) -> ResponseReturnValue:
    """申请延期 (§42): ask a head for more working days."""
    me, shown = _held(task_id)
    form = forms.ExtensionForm()
    return _act(
        me,
        shown,
        "extension_form",
        form,
        lambda: get_engine().request_extension(
            shown.case_id, days=form.days.data or 0, reason=form.reason.data or "", actor=me.id
        ),
        _("已提交延期申请，待负责人审批。"),
    )


@bp.route("/tasks/<task_id>/stop-clock", methods=["POST"])
@roles_required(*OFFICER_GROUPS)
def stop_clock(task_id: str) -> ResponseReturnValue:
    """特别程序 (§45): stop the case's clock for a hearing, an inspection …"""
    me, shown = _held(task_id)
    form = forms.StopClockForm()
    return _act(
        me,
        shown,
        "stop_form",
        form,
        lambda: get_engine().stop_clock(
            shown.case_id, kind=form.kind.data, reason=form.reason.data or "", actor=me.id
        ),
        _("已中止计时（特别程序期间不计入办理时限）。"),
    )


@bp.route("/tasks/<task_id>/resume-clock", methods=["POST"])
@roles_required(*OFFICER_GROUPS)
def resume_clock(task_id: str) -> ResponseReturnValue:
    """Restart the case's clock; the deadlines move by the time it stood."""
    me, shown = _held(task_id)
    return _act(
        me,
        shown,
        "resume_form",
        forms.ResumeClockForm(),
        lambda: get_engine().resume_clock(shown.case_id, actor=me.id),
        _("已恢复计时，办理期限已相应顺延。"),
    )


@bp.route("/tasks/<task_id>/notice", methods=["POST"])
@roles_required(*OFFICER_GROUPS)
def one_time_notice(task_id: str) -> ResponseReturnValue:
    """一次性告知补正材料: as the diagram models it (see ``webui.officer.notice``)."""
    engine = get_engine()
    me, shown = _held(task_id)
    case = engine.get_case(shown.case_id)
    how = notice.notice_for(
        shown,
        case,
        engine.definition_xml(case.process_id, case.definition_version),
        clock_stop(case.history),
    )
    if how is None:
        abort(409, description=_("此环节不能发出一次性告知。"))
    form = forms.NoticeForm()
    listing = (form.missing_materials.data or "").strip()
    reason = _("一次性告知补正材料：%(materials)s", materials=listing)
    if how.mode == "clock":
        return _act(
            me,
            shown,
            "notice_form",
            form,
            lambda: engine.stop_clock(shown.case_id, kind="supplement", reason=reason, actor=me.id),
            _("已一次性告知补正材料，补正期间停止计时。收到补正材料后请点击“恢复计时”。"),
        )
    data: dict[str, Any] = {how.field or "": how.value}
    if any(spec.id == notice.MISSING_FIELD for spec in shown.form):
        data[notice.MISSING_FIELD] = listing
    outcome: list[TaskView] = []
    response = _act(
        me,
        shown,
        "notice_form",
        form,
        lambda: outcome.append(engine.complete(shown.id, actor=me.id, data=data, opinion=reason)),
        _("已确定材料不齐全。请出具一次性告知书。"),
        to_inbox=True,
    )
    if not outcome:
        return response
    following = _notice_step(me, outcome[0].next_tasks)
    if following is None:
        return response
    carry_prefill(following, {notice.MISSING_FIELD: listing})
    return redirect(url_for("officer.task", task_id=following))


def _notice_step(me: PersonView, task_ids: tuple[str, ...]) -> str | None:
    """The next step that writes the notice, claimed for the person when they may."""
    engine = get_engine()
    for task_id in task_ids:
        following = engine.get_task(task_id)
        if not any(spec.id == notice.MISSING_FIELD for spec in following.form):
            continue
        if following.assignee is None:
            try:
                engine.claim(following.id, actor=me.id)
            except XiaonengError:
                return None  # someone else's step: the inbox shows where the case went
        return following.id if following.assignee in (None, me.id) else None
    return None
