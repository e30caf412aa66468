"""Cases for the admin: find and list, a case page, and what an admin may do to a case —
terminate (终止), suspend (挂起) and resume, and move cases to another version of their
process (迁移), one case or a selected set.

A move is refused per case with the engine's reason (an active step that the target
version lacks, …); the others of the set move all the same.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from markupsafe import Markup

from engine import (
    CaseSummary,
    ConflictError,
    Engine,
    InvalidInputError,
    MigrationResult,
    NotPermittedError,
)
from webui.admin import bp
from webui.admin.forms import ActionForm, BulkMigrateForm, FindCaseForm, MigrateForm, ReasonForm
from webui.admin.routes import admin_id
from webui.auth import ADMIN_GROUPS, roles_required
from webui.diagram import elements, render_svg
from webui.extensions import get_engine
from webui.progress import CASE_STATES, diagram_states

log = logging.getLogger(__name__)

LIST_LIMIT = 100
FIND_LIMIT = 50
#: What an action may refuse with: shown as a message on the case page.
REFUSALS = (ConflictError, InvalidInputError, NotPermittedError)


def _versions(engine: Engine, process_id: str) -> list[int]:
    return sorted((d.version for d in engine.definitions(process_id)), reverse=True)


@bp.route("/cases")
@roles_required(*ADMIN_GROUPS)
def cases() -> ResponseReturnValue:
    """Find cases by number, or list them by process and status (newest first).

    With one process chosen, the list lets the admin move a selected set of its cases
    to one version.
    """
    engine = get_engine()
    find = FindCaseForm(request.args)
    text = (find.q.data or "").strip()
    process_id = request.args.get("process", "").strip() or None
    status = request.args.get("status", "").strip() or None
    if status not in CASE_STATES:
        status = None
    if text:
        found = _find(engine, text)
    else:
        found = engine.list_cases(process_id=process_id, status=status, limit=LIST_LIMIT)
    bulk: BulkMigrateForm | None = None
    if process_id and not text:
        bulk = BulkMigrateForm(process_id=process_id, formdata=None)
        bulk.keys.choices = [(c.business_key, c.business_key) for c in found]
        bulk.to_version.choices = [(v, f"v{v}") for v in _versions(engine, process_id)]
    return render_template(
        "admin/cases.html",
        find=find,
        text=text,
        cases=found,
        process_id=process_id,
        status=status,
        statuses=CASE_STATES,
        processes=sorted({d.process_id for d in engine.definitions()}),
        bulk=bulk,
        limit=FIND_LIMIT if text else LIST_LIMIT,
    )


def _find(engine: Engine, text: str) -> list[CaseSummary]:
    try:
        return engine.find_cases(text, limit=FIND_LIMIT)
    except InvalidInputError as exc:
        flash(_("无法查找：%(reason)s", reason=exc.message), "error")
        return []


@bp.route("/cases/<key>")
@roles_required(*ADMIN_GROUPS)
def case(key: str) -> ResponseReturnValue:
    """A case: summary, open tasks, diagram, history, and the admin's actions."""
    return _case_page(key)


def _case_page(
    key: str,
    status: int = 200,
    *,
    terminate_form: ReasonForm | None = None,
    suspend_form: ReasonForm | None = None,
    migrate_form: MigrateForm | None = None,
) -> ResponseReturnValue:
    """The case page; a form that failed to validate comes back with its errors."""
    engine = get_engine()
    shown = engine.get_case(key)
    now = engine.clock.now()
    source = engine.definition_xml(shown.process_id, shown.definition_version)
    steps = elements(source, shown.process_id)
    states = diagram_states(
        steps,
        history=shown.history,
        open_tasks=shown.open_tasks,
        cards=engine.cards(case=shown.id),
        now=now,
    )
    try:
        diagram: Markup | None = Markup(  # noqa: S704  (render_svg escapes names and ids)
            render_svg(source, states=states, process_id=shown.process_id)
        )
    except ValueError as exc:  # a diagram without its drawing (BPMNDI)
        log.warning("case %s: diagram not drawn: %s", shown.business_key, exc)
        diagram = None
    migrate_form = migrate_form or MigrateForm(formdata=None)
    newer = [v for v in _versions(engine, shown.process_id) if v > shown.definition_version]
    migrate_form.to_version.choices = [(v, f"v{v}") for v in newer]
    open_case = shown.status in ("running", "suspended")
    return (
        render_template(
            "admin/case.html",
            case=shown,
            steps=steps,
            diagram=diagram,
            terminate_form=terminate_form or ReasonForm(formdata=None, prefix="terminate"),
            suspend_form=suspend_form or ReasonForm(formdata=None, prefix="suspend"),
            action_form=ActionForm(),
            migrate_form=migrate_form,
            may_terminate=open_case,
            may_suspend=shown.status == "running",
            may_resume=shown.status == "suspended",
            may_migrate=shown.status == "running" and bool(newer),
        ),
        status,
    )


@bp.route("/cases/<key>/terminate", methods=["POST"])
@roles_required(*ADMIN_GROUPS)
def terminate(key: str) -> ResponseReturnValue:
    """Terminate a case (a reason is required); its open tasks close."""
    form = ReasonForm(prefix="terminate")
    if not form.validate_on_submit():
        return _case_page(key, 422, terminate_form=form)
    engine = get_engine()
    return _act(
        key,
        lambda: engine.terminate_case(key, actor=admin_id(), reason=form.reason.data.strip()),
        _("办件 %(case)s 已终止。", case=key),
    )


@bp.route("/cases/<key>/suspend", methods=["POST"])
@roles_required(*ADMIN_GROUPS)
def suspend(key: str) -> ResponseReturnValue:
    """Suspend a running case (a reason is required): its timers and tasks wait."""
    form = ReasonForm(prefix="suspend")
    if not form.validate_on_submit():
        return _case_page(key, 422, suspend_form=form)
    engine = get_engine()
    return _act(
        key,
        lambda: engine.suspend_case(key, actor=admin_id(), reason=form.reason.data.strip()),
        _("办件 %(case)s 已挂起。", case=key),
    )


@bp.route("/cases/<key>/resume", methods=["POST"])
@roles_required(*ADMIN_GROUPS)
def resume(key: str) -> ResponseReturnValue:
    """Resume a suspended case."""
    engine = get_engine()
    return _act(
        key,
        lambda: engine.resume_case(key, actor=admin_id()),
        _("办件 %(case)s 已恢复办理。", case=key),
    )


@bp.route("/cases/<key>/migrate", methods=["POST"])
@roles_required(*ADMIN_GROUPS)
def migrate(key: str) -> ResponseReturnValue:
    """Move one case to another version of its process (refused with the reason when
    its active steps are not in that version)."""
    engine = get_engine()
    shown = engine.get_case(key, with_history=False)
    form = MigrateForm()
    form.to_version.choices = [(v, f"v{v}") for v in _versions(engine, shown.process_id)]
    if not form.validate_on_submit():
        return _case_page(key, 422, migrate_form=form)
    try:
        results = engine.migrate_cases([key], to_version=form.to_version.data, actor=admin_id())
    except REFUSALS as exc:
        flash(_("迁移未完成：%(reason)s", reason=exc.message), "error")
    else:
        _flash_results(results, dry_run=False)
    return redirect(url_for("admin.case", key=key))


@bp.route("/cases/migrate", methods=["POST"])
@roles_required(*ADMIN_GROUPS)
def migrate_set() -> ResponseReturnValue:
    """Move the selected cases of one process to one version, or only check whether
    they could move ("仅检查"). Each case's result is shown with its reason."""
    engine = get_engine()
    process_id = request.form.get("process_id", "")
    back = redirect(url_for("admin.cases", process=process_id or None))
    form = BulkMigrateForm()
    form.keys.choices = [(k, k) for k in request.form.getlist("keys")]
    form.to_version.choices = [(v, f"v{v}") for v in _versions(engine, process_id)]
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for error in errors:
                flash(str(error), "error")
        return back
    dry_run = bool(form.check.data)
    try:
        results = engine.migrate_cases(
            list(form.keys.data or []),
            to_version=form.to_version.data,
            actor=admin_id(),
            dry_run=dry_run,
        )
    except REFUSALS as exc:
        flash(_("迁移未完成：%(reason)s", reason=exc.message), "error")
    else:
        _flash_results(results, dry_run=dry_run)
    return back


def _flash_results(results: list[MigrationResult], *, dry_run: bool) -> None:
    """One message per case: moved (or could move), or refused with the reason."""
    for result in results:
        names = {
            "case": result.business_key,
            "old": result.from_version,
            "new": result.to_version,
        }
        if result.migrated and dry_run:
            flash(_("检查：%(case)s 可以从 v%(old)s 迁移到 v%(new)s。", **names), "success")
        elif result.migrated:
            flash(_("%(case)s 已从 v%(old)s 迁移到 v%(new)s。", **names), "success")
        else:
            reason = result.reason or _("未说明原因")
            flash(_("%(case)s 不能迁移到 v%(new)s：%(reason)s", reason=reason, **names), "error")


def _act(key: str, action: Callable[[], object], done: str) -> ResponseReturnValue:
    """Run an action on a case; a refusal becomes a message on the case page."""
    try:
        action()
    except REFUSALS as exc:
        flash(_("操作未完成：%(reason)s", reason=exc.message), "error")
    else:
        flash(done, "success")
    return redirect(url_for("admin.case", key=key))
