"""效能投诉 (S10): an applicant complains about a case or a department and gets a
receipt with the complaint's own number and query code, then follows it like a case."""

from __future__ import annotations

import logging

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from wtforms import SelectChoice

from engine import InvalidInputError
from webui import once
from webui.applicant import applicant_required, bp, me
from webui.applicant.forms import ComplaintForm
from webui.applicant.guide import department_names
from webui.applicant.intake import one_submission
from webui.extensions import get_engine

log = logging.getLogger(__name__)


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
        token = form.submission.data or None
        with one_submission(token) as prior:
            if isinstance(prior, str):
                flash(_("此投诉已经提交，无需重复提交。"), "info")
                return redirect(url_for("applicant.receipt", key=prior))
            if not form.validate():
                status = 422
                problem = _("投诉未提交：请按提示修改。")
            elif prior is once.UNKNOWN:
                status = 409
                problem = _("此投诉表已失效（例如页面打开太久）。请确认内容后再次提交。")
            else:
                try:
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
                except InvalidInputError as exc:
                    status = 422
                    problem = _("投诉未提交：%(why)s", why=exc.message)
                else:
                    if token:
                        once.spend(token, receipt.business_key)
                    log.info("complaint %s by applicant %s", receipt.business_key, applicant.id)
                    flash(
                        _("投诉已受理登记。请保存投诉编号和查询码，用于查询处理进度。"), "success"
                    )
                    return redirect(url_for("applicant.receipt", key=receipt.business_key))
    else:
        form.complainant.data = applicant.name
        form.contact.data = applicant.phone or ""
        form.concerned_case.data = (request.args.get("case") or "").strip()[:64]
        department = (request.args.get("dept") or "").strip()
        form.department.data = department if department in names else ""
    form.submission.data = once.issue()
    return render_template("applicant/complaint.html", form=form, problem=problem), status
