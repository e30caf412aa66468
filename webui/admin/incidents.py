"""Timer incidents (定时任务故障): timers that failed every attempt and wait for an
admin. Retrying runs one again at once with fresh attempts.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from engine import ConflictError, NotFoundError
from webui.admin import bp
from webui.admin.forms import ActionForm
from webui.admin.routes import admin_id
from webui.auth import ADMIN_GROUPS, roles_required
from webui.extensions import get_engine

INCIDENT = "incident"


@bp.route("/timers")
@roles_required(*ADMIN_GROUPS)
def incidents() -> ResponseReturnValue:
    """The timer incidents with their last error, and a retry button each."""
    engine = get_engine()
    shown = engine.timers(state=INCIDENT)
    keys: dict[int, str] = {}
    for timer in shown:
        if timer.case_id is not None and timer.case_id not in keys:
            try:
                case = engine.get_case(timer.case_id, with_history=False)
                keys[timer.case_id] = case.business_key
            except NotFoundError:
                keys[timer.case_id] = str(timer.case_id)
    return render_template(
        "admin/incidents.html", timers=shown, case_keys=keys, retry_form=ActionForm()
    )


@bp.route("/timers/retry", methods=["POST"])
@roles_required(*ADMIN_GROUPS)
def retry_timer() -> ResponseReturnValue:
    """Run an incident again now (the timer id comes in the form: ids hold colons)."""
    timer_id = request.form.get("timer_id", "").strip()
    if not timer_id:
        flash(_("没有指定要重试的定时任务。"), "error")
        return redirect(url_for("admin.incidents"))
    try:
        get_engine().retry_timer(timer_id, actor=admin_id())
    except NotFoundError:
        flash(_("定时任务 %(id)s 不存在。", id=timer_id), "error")
    except ConflictError as exc:
        flash(_("无法重试：%(reason)s", reason=exc.message), "error")
    else:
        flash(_("定时任务 %(id)s 已重新排队，将立即执行。", id=timer_id), "success")
    return redirect(url_for("admin.incidents"))
