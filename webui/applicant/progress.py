"""办件进度查询 (S12): anyone with a case number and its query code sees where the case
stands — steps and dates, the promise, suspensions and extensions with their reasons —
and nothing internal (no opinions, no officers). A wrong code and an unknown case get
the same answer; queries are rate-limited per address (``init_app``)."""

from __future__ import annotations

import logging

from flask import render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_limiter.util import get_remote_address

from engine import NotFoundError, ProgressView
from webui.applicant import bp
from webui.applicant.forms import ProgressQueryForm
from webui.extensions import get_engine

log = logging.getLogger(__name__)


def is_blank_query() -> bool:
    """True for the empty query page (it does not count against the rate limit)."""
    return not (request.args.get("case") or request.args.get("code"))


@bp.route("/progress", endpoint="progress")
def query() -> ResponseReturnValue:
    """The query form, and the case's progress when the number and code match."""
    form = ProgressQueryForm(request.args)
    found: ProgressView | None = None
    problem: str | None = None
    status = 200
    if not is_blank_query():
        if form.validate():
            key = (form.case.data or "").strip()
            code = (form.code.data or "").strip()
            try:
                found = get_engine().progress(key, query_code=code)
            except NotFoundError:
                log.info("progress query without a match from %s", get_remote_address())
                problem = _("办件编号或查询码不正确。请核对收件回执上的办件编号和查询码。")
                status = 404
        else:
            status = 422
    return (
        render_template("applicant/progress.html", form=form, progress=found, problem=problem),
        status,
    )
