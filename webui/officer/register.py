"""The window (首问负责制, S1): the officer at the window registers an application for
the applicant standing there, with the materials they brought, and prints the receipt
(收件回执). Missing materials do not stop the registration: the receipt lists them and
the acceptance step issues the one-time notice. Also: downloading a case's materials
for officers who may see the case."""

from __future__ import annotations

import logging
from typing import Any

from flask import abort, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext as _l

from engine import NotFoundError
from webui import once
from webui.applicant.forms import ACCEPT, WindowRegisterForm, materials_form
from webui.applicant.intake import apply as start_application
from webui.applicant.intake import place_refusal
from webui.auth import OFFICER_GROUPS, current_person, has_group, roles_required
from webui.downloads import send_material
from webui.extensions import get_engine
from webui.officer import bp
from webui.officer.pages import current_officer
from webui.permissions import may_see_case, visible_case

log = logging.getLogger(__name__)

#: Who registers at the window: window officers and the holders of window posts.
WINDOW_GROUPS = ("role:window-officer", "post:window-*")


@bp.context_processor
def _window_context() -> dict[str, Any]:
    """Officer pages offer the window's registration to those who may register."""
    return {"may_register": has_group(current_person(), WINDOW_GROUPS)}


REGISTER_TEXTS = once.Texts(
    done=_l("已登记，请打印收件回执交申请人确认。"),
    repeated=_l("此申请已经登记，无需重复登记。"),
    invalid=_l("未登记：请按提示修改，并重新选择要上传的文件。"),
    expired=_l("此登记表已失效。请重新选择文件后再提交。"),
)


@bp.route("/register", methods=["GET", "POST"])
@roles_required(*WINDOW_GROUPS)
def register() -> ResponseReturnValue:
    """Choose the item (``?item=``), then fill in the application and the materials."""
    engine = get_engine()
    me = current_officer()
    items = engine.service_items()
    code = (request.values.get("item") or "").strip()
    item = next((i for i in items if i.code == code), None)
    if item is None:
        return render_template("officer/register.html", items=items, item=None, form=None)
    spec = [(m.name, m.required) for m in item.materials]
    form = materials_form(WindowRegisterForm, spec, enforce=False)()
    problem: str | None = None
    status = 200
    if form.is_submitted():

        def start(token: str | None) -> str:
            receipt = start_application(engine, form, item.code, actor=me.id, applicant_id=None)
            log.info("window registration %s by %s", receipt.business_key, me.id)
            return receipt.business_key

        outcome = once.submit(
            form,
            REGISTER_TEXTS,
            start=start,
            refused=lambda exc: place_refusal(form, exc),
            receipt_endpoint="officer.receipt",
        )
        if not isinstance(outcome, tuple):
            return outcome
        problem, status = outcome
    form.submission.data = once.issue()
    return (
        render_template(
            "officer/register.html",
            items=items,
            item=item,
            form=form,
            problem=problem,
            upload_accept=ACCEPT,
        ),
        status,
    )


@bp.route("/cases/<key>/receipt")
@roles_required(*OFFICER_GROUPS)
def receipt(key: str) -> ResponseReturnValue:
    """The receipt of a case: for the officer who registered it and for people who may
    see the case (404 for anyone else)."""
    engine = get_engine()
    me = current_officer()
    try:
        shown = engine.receipt(key)
    except NotFoundError:
        abort(404)
    if shown.received_by != me.id:
        visible_case(engine, me, key)
    officer_name: Any = None
    if shown.received_by:
        try:
            officer_name = engine.person(shown.received_by).name
        except NotFoundError:
            officer_name = shown.received_by
    return render_template("officer/receipt.html", receipt=shown, officer_name=officer_name)


@bp.route("/materials/<int:material_id>")
@roles_required(*OFFICER_GROUPS)
def material(material_id: int) -> ResponseReturnValue:
    """Download a material of a case the officer may see (404 otherwise)."""
    engine = get_engine()
    shown, path = engine.material_file(material_id)
    case = engine.get_case(shown.business_key, with_history=False)
    if not may_see_case(engine, current_officer(), case):
        abort(404)
    return send_material(shown, path)
