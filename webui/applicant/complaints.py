"""效能投诉 (S10): an applicant complains about a case or a department and gets a
receipt with the complaint's own number and query code, then follows it like a case."""

from __future__ import annotations

import logging

from flask import render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import SelectChoice

from webui import once
from webui.applicant import applicant_required, bp, me
from webui.applicant.forms import ComplaintForm
from webui.applicant.guide import department_names
from webui.extensions import get_engine

log = logging.getLogger(__name__)


COMPLAINT_TEXTS = once.Texts(
    done=_l("投诉已受理登记。请保存投诉编号和查询码，用于查询处理进度。"),
    repeated=_l("此投诉已经提交，无需重复提交。"),
    invalid=_l("投诉未提交：请按提示修改。"),
    expired=_l("此投诉表已失效（例如页面打开太久）。请确认内容后再次提交。"),
)


@bp.route("/complaints/new", methods=["GET", "POST"])
@applicant_required
def new_complaint() -> ResponseReturnValue:
    """The complaint form; a POST files the complaint (once per form) and shows its
    receipt."""
    engine = get_engine()
    applicant = me()
    form = ComplaintForm()
    names = department_names()
    form.department.choices = [
        SelectChoice("", _("（不选）")),
        *(SelectChoice(d, name) for d, name in sorted(names.items(), key=lambda d: d[1])),
    ]
    problem: str | None = None
    status = 200
    if form.is_submitted():

        def start(token: str | None) -> str:
            receipt = engine.file_complaint(
                applicant_id=applicant.id,
                complainant=(form.complainant.data or "").strip(),
                contact=(form.contact.data or "").strip(),
                content=(form.content.data or "").strip(),
                concerned_case=(form.concerned_case.data or "").strip() or None,
                department=form.department.data or None,
                person=(form.person.data or "").strip() or None,
                actor=f"applicant:{applicant.id}",
                submission=token,
            )
            log.info("complaint %s by applicant %s", receipt.business_key, applicant.id)
            return receipt.business_key

        outcome = once.submit(
            form,
            COMPLAINT_TEXTS,
            start=start,
            refused=lambda exc: _("投诉未提交：%(why)s", why=exc.message),
            receipt_endpoint="applicant.receipt",
        )
        if not isinstance(outcome, tuple):
            return outcome
        problem, status = outcome
    else:
        form.complainant.data = applicant.name
        form.contact.data = applicant.phone or ""
        form.concerned_case.data = (request.args.get("case") or "").strip()[:64]
        department = (request.args.get("dept") or "").strip()
        form.department.data = department if department in names else ""
    form.submission.data = once.issue()
    return render_template("applicant/complaint.html", form=form, problem=problem), status
