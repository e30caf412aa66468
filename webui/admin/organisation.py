"""The organisation for the admin: departments, posts with their B posts (AB岗), people
with their roles; absences (请假) — while a person is away, the holder of their backup
post takes their tasks.
"""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from flask import flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from engine import ConflictError, Engine, InvalidInputError, NotFoundError, PersonView
from webui.admin import bp
from webui.admin.forms import AbsenceForm, ActionForm
from webui.admin.routes import admin_id
from webui.auth import ADMIN_GROUPS, roles_required
from webui.extensions import get_engine


@dataclass(frozen=True)
class PersonRow:
    """A person as the organisation page lists them: posts and roles from their groups."""

    person: PersonView
    posts: tuple[str, ...]
    departments: tuple[str, ...]
    roles: tuple[str, ...]


def person_row(person: PersonView) -> PersonRow:
    """The person's posts, departments and roles (``post:``, ``dept:``, ``role:`` groups)."""

    def named(prefix: str) -> tuple[str, ...]:
        return tuple(sorted(g.removeprefix(prefix) for g in person.groups if g.startswith(prefix)))

    return PersonRow(person, named("post:"), named("dept:"), named("role:"))


@bp.route("/organisation")
@roles_required(*ADMIN_GROUPS)
def organisation() -> ResponseReturnValue:
    """Departments, posts (with their B posts) and people (with their roles)."""
    engine = get_engine()
    departments = engine.departments()
    posts = engine.posts()
    return render_template(
        "admin/organisation.html",
        departments=departments,
        department_names={d.id: d.name for d in departments},
        posts=posts,
        post_names={p.id: p.name for p in posts},
        people=[person_row(p) for p in engine.people()],
    )


@bp.route("/absences")
@roles_required(*ADMIN_GROUPS)
def absences() -> ResponseReturnValue:
    """Absences, earliest first, and the form to add one."""
    return _absences_page(AbsenceForm(formdata=None))


def _absences_page(form: AbsenceForm, status: int = 200) -> ResponseReturnValue:
    engine = get_engine()
    shown = engine.absences()
    today = engine.clock.now().astimezone(ZoneInfo(engine.timezone)).date()
    return (
        render_template(
            "admin/absences.html",
            absences=shown,
            form=form,
            cancel_form=ActionForm(),
            today=today,
            names=_names(
                engine, {a.person_id for a in shown} | {a.substitute or "" for a in shown}
            ),
        ),
        status,
    )


def _names(engine: Engine, ids: set[str]) -> dict[str, str]:
    found = engine.person_names(ids)
    return {person_id: found.get(person_id, person_id) for person_id in ids if person_id}


@bp.route("/absences", methods=["POST"])
@roles_required(*ADMIN_GROUPS)
def add_absence() -> ResponseReturnValue:
    """Mark a person absent for some days; the page says who takes their tasks."""
    form = AbsenceForm()
    if not form.validate_on_submit():
        return _absences_page(form, 422)
    if form.ends_on.data < form.starts_on.data:
        form.ends_on.errors = [_("结束日期不能早于开始日期。")]
        return _absences_page(form, 422)
    engine = get_engine()
    person_id = form.person_id.data.strip()
    try:
        absence = engine.mark_absent(
            person_id,
            form.starts_on.data,
            form.ends_on.data,
            reason=(form.reason.data or "").strip() or None,
            actor=admin_id(),
        )
    except NotFoundError:
        form.person_id.errors = [_("没有账号为 %(id)s 的人员。", id=person_id)]
        return _absences_page(form, 422)
    except (InvalidInputError, ConflictError) as exc:
        form.person_id.errors = [exc.message]
        return _absences_page(form, 422)
    if absence.substitute:
        flash(
            _(
                "已登记 %(person)s 请假；其间任务由 %(substitute)s 办理。",
                person=person_id,
                substitute=absence.substitute,
            ),
            "success",
        )
    else:
        flash(
            _("已登记 %(person)s 请假；其岗位没有 B 岗人员，任务将留在原处。", person=person_id),
            "info",
        )
    return redirect(url_for("admin.absences"))


@bp.route("/absences/<int:absence_id>/cancel", methods=["POST"])
@roles_required(*ADMIN_GROUPS)
def cancel_absence(absence_id: int) -> ResponseReturnValue:
    """Cancel an absence; if it had started, the person's tasks come back at once."""
    engine = get_engine()
    try:
        engine.cancel_absence(absence_id, actor=admin_id())
    except (InvalidInputError, ConflictError) as exc:
        flash(_("无法取消：%(reason)s", reason=exc.message), "error")
    else:
        flash(_("已取消该请假登记。"), "success")
    return redirect(url_for("admin.absences"))
