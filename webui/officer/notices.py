"""Notices to act on (督办、催办、提醒、差评回访): escalations, reminders and urges about
steps, and the follow-up of a bad rating (好差评), addressed to the person or to a group
of theirs. The person answers each one with what was done; the engine checks that the
notice is theirs and that escalations and follow-ups carry an answer.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from engine import (
    NOTICES_NEEDING_ANSWER,
    ConflictError,
    InvalidInputError,
    NotFoundError,
    NotPermittedError,
)
from webui.auth import OFFICER_GROUPS, roles_required
from webui.extensions import get_engine
from webui.officer import bp
from webui.officer.forms import AnswerNoticeForm
from webui.officer.pages import current_officer

#: How a notice's kind reads on the page.
KINDS = {
    "escalation": _l("督办（逐级上报）"),
    "reminder": _l("提醒"),
    "urge": _l("催办"),
    "rating_followup": _l("差评回访"),
}
ANSWERED_SHOWN = 50


@bp.route("/notices")
@roles_required(*OFFICER_GROUPS)
def notices() -> ResponseReturnValue:
    """Open notices to answer, then the latest answered ones."""
    return _page()


@bp.route("/notices/<int:notice_id>/answer", methods=["POST"])
@roles_required(*OFFICER_GROUPS)
def answer(notice_id: int) -> ResponseReturnValue:
    """Answer a notice (CSRF-checked POST, then back to the list)."""
    me = current_officer()
    form = AnswerNoticeForm(prefix=f"n{notice_id}")
    if not form.validate_on_submit():
        return _page(notice_id, form, status=422)
    try:
        get_engine().acknowledge_notice(notice_id, actor=me.id, response=form.response.data)
    except NotFoundError:
        return _page(notice_id, form, problem=_("没有这条通知。"), status=404)
    except NotPermittedError:
        return _page(notice_id, form, problem=_("这条通知不是发给您的。"), status=403)
    except ConflictError:
        flash(_("这条通知已经答复过了。"), "info")
        return redirect(url_for("officer.notices"))
    except InvalidInputError:
        problem = _("请写明办理情况：督办和差评回访必须答复。")
        return _page(notice_id, form, problem=problem, status=422)
    flash(_("已答复通知。"))
    return redirect(url_for("officer.notices"))


def _page(
    failed: int | None = None,
    form: AnswerNoticeForm | None = None,
    *,
    problem: str | None = None,
    status: int = 200,
) -> ResponseReturnValue:
    me = current_officer()
    everything = get_engine().notices(me.id, open_only=False)
    open_ = [n for n in everything if n.acked_at is None]
    answered = [n for n in everything if n.acked_at is not None][:ANSWERED_SHOWN]
    forms = {n.id: AnswerNoticeForm(formdata=None, prefix=f"n{n.id}") for n in open_}
    if failed is not None and form is not None and failed in forms:
        forms[failed] = form
    return (
        render_template(
            "officer/notices.html",
            open_notices=open_,
            answered=answered,
            forms=forms,
            kinds=KINDS,
            required=NOTICES_NEEDING_ANSWER,
            failed=failed,
            problem=problem,
        ),
        status,
    )
