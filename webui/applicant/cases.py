"""The applicant's own cases: applying online, the receipt (收件回执), my cases, the case
page with supplements (补正) and the rating (好差评), and downloading their materials.

Every page of a case answers 404 unless the logged-in applicant owns it.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from engine import RATING_LEVELS, ConflictError, InvalidInputError, NotFoundError
from webui import once
from webui.applicant import applicant_required, bp, me, owned_case
from webui.applicant.forms import ApplyForm, RatingForm, SupplementForm, materials_form
from webui.applicant.intake import apply as start_application
from webui.applicant.intake import place_refusal, uploads_of
from webui.downloads import send_material
from webui.extensions import get_engine

log = logging.getLogger(__name__)


def item_materials(item: Any) -> list[tuple[str, bool]]:
    """(name, required) of the item's materials."""
    return [(m.name, m.required) for m in item.materials]


APPLY_TEXTS = once.Texts(
    done=_l("申请已提交。请保存或打印收件回执，凭办件编号和查询码查询进度。"),
    repeated=_l("此申请已经提交，无需重复提交。"),
    invalid=_l("申请未提交：请按提示修改，并重新选择要上传的文件。"),
    expired=_l("此申请表已失效（例如页面打开太久）。请重新选择文件后再提交。"),
)


@bp.route("/items/<item_code>/apply", methods=["GET", "POST"])
@applicant_required
def apply(item_code: str) -> ResponseReturnValue:
    """Apply online for an item: the application form and one file per material.

    The form carries a one-time token: sending it twice starts one case, and the second
    send shows the first one's receipt.
    """
    engine = get_engine()
    applicant = me()
    item = engine.service_item(item_code)
    form = materials_form(ApplyForm, item_materials(item))()
    problem: str | None = None
    status = 200
    if form.is_submitted():

        def start(token: str | None) -> str:
            receipt = start_application(
                engine,
                form,
                item.code,
                actor=f"applicant:{applicant.id}",
                applicant_id=applicant.id,
            )
            log.info("online application %s by applicant %s", receipt.business_key, applicant.id)
            return receipt.business_key

        outcome = once.submit(
            form,
            APPLY_TEXTS,
            start=start,
            refused=lambda exc: place_refusal(form, exc),
            receipt_endpoint="applicant.receipt",
        )
        if not isinstance(outcome, tuple):
            return outcome
        problem, status = outcome
    else:
        form.applicant_name.data = applicant.name
        form.applicant_kind.data = applicant.kind
        form.phone.data = applicant.phone or ""
        form.email.data = applicant.email or ""
        form.title.data = item.name
    form.submission.data = once.issue()
    return (
        render_template("applicant/apply.html", item=item, form=form, problem=problem),
        status,
    )


@bp.route("/cases/<key>/receipt")
@applicant_required
def receipt(key: str) -> ResponseReturnValue:
    """The receipt (收件回执) to print: case number, query code, materials, promise."""
    engine = get_engine()
    shown = engine.receipt(owned_case(key))
    return render_template("applicant/receipt.html", receipt=shown, officer_name=None)


@bp.route("/my")
@applicant_required
def my_cases() -> ResponseReturnValue:
    """The applicant's applications and complaints, newest first."""
    cases = get_engine().applicant_cases(me().id)
    return render_template("applicant/my.html", cases=cases)


def render_case(
    key: str,
    *,
    status: int = 200,
    supplement_form: Any = None,
    rating_form: RatingForm | None = None,
    problem: str | None = None,
) -> ResponseReturnValue:
    """The owner's case page (with a form's errors shown again when given)."""
    engine = get_engine()
    progress = engine.progress(key, applicant_id=me().id)
    case = engine.get_case(key, with_history=False)
    materials: list[tuple[str, bool]] = []
    if case.item_code:
        try:
            materials = item_materials(engine.service_item(case.item_code))
        except NotFoundError:
            materials = []
    if supplement_form is None:
        supplement_form = materials_form(SupplementForm, materials, enforce=False)(formdata=None)
    return (
        render_template(
            "applicant/case.html",
            progress=progress,
            owner=True,
            supplement_form=supplement_form,
            rating_form=rating_form or RatingForm(formdata=None),
            problem=problem,
            levels=RATING_LEVELS,
        ),
        status,
    )


@bp.route("/cases/<key>")
@applicant_required
def case(key: str) -> ResponseReturnValue:
    """The owner's case: progress, materials, supplement and rating forms."""
    return render_case(owned_case(key))


@bp.route("/cases/<key>/supplement", methods=["POST"])
@applicant_required
def supplement(key: str) -> ResponseReturnValue:
    """Send the materials a one-time notice asked for (补正); the clock restarts."""
    engine = get_engine()
    owned_case(key)
    case = engine.get_case(key, with_history=False)
    materials: list[tuple[str, bool]] = []
    if case.item_code:
        materials = item_materials(engine.service_item(case.item_code))
    form = materials_form(SupplementForm, materials, enforce=False)()
    if not form.validate_on_submit():
        problem = " ".join(form.form_errors) or _("补正材料未提交：请按提示修改。")
        return render_case(key, status=422, supplement_form=form, problem=problem)
    try:
        engine.supplement(
            key,
            applicant_id=me().id,
            materials=uploads_of(form),
            actor=f"applicant:{me().id}",
            note=(form.note.data or "").strip() or None,
        )
    except InvalidInputError as exc:
        return render_case(key, status=422, supplement_form=form, problem=place_refusal(form, exc))
    except ConflictError as exc:
        flash(_("补正材料未提交：%(why)s", why=exc.message), "warning")
        return redirect(url_for("applicant.case", key=key))
    flash(_("补正材料已提交，办理时限恢复计算。"), "success")
    return redirect(url_for("applicant.case", key=key))


@bp.route("/cases/<key>/rating", methods=["POST"])
@applicant_required
def rate(key: str) -> ResponseReturnValue:
    """Rate the service (好差评, GB/T 39734) once the case has ended."""
    engine = get_engine()
    owned_case(key)
    form = RatingForm()
    if not form.validate_on_submit():
        return render_case(
            key, status=422, rating_form=form, problem=_("评价未提交：请选择评价等级。")
        )
    try:
        engine.rate(
            key,
            applicant_id=me().id,
            level=int(form.level.data or 0),
            comment=(form.comment.data or "").strip() or None,
        )
    except ConflictError:
        flash(_("此办件已评价过，或尚未办结，暂不能评价。"), "warning")
        return redirect(url_for("applicant.case", key=key))
    except InvalidInputError as exc:
        return render_case(key, status=422, rating_form=form, problem=exc.message)
    flash(_("感谢您的评价。"), "success")
    return redirect(url_for("applicant.case", key=key))


@bp.route("/materials/<int:material_id>")
@applicant_required
def material(material_id: int) -> ResponseReturnValue:
    """Download one of the applicant's own materials (404 for anyone else's)."""
    engine = get_engine()
    shown, path = engine.material_file(material_id)
    owned_case(shown.business_key)
    return send_material(shown, path)
