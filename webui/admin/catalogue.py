"""The holiday calendar (节假日安排) and the service items (办理事项) for the admin:
list them, import a year's schedule, load items from a TOML file.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable
from datetime import date
from pathlib import Path

from flask import flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from engine import ConflictError, InvalidInputError, NotFoundError, XiaonengError
from webui.admin import bp
from webui.admin.forms import CalendarImportForm, ItemsLoadForm
from webui.admin.routes import admin_id, upload_name
from webui.auth import ADMIN_GROUPS, roles_required
from webui.extensions import get_engine

ITEMS_INVALID = "service items are invalid: "
WEEKDAYS = (
    _l("星期一"),
    _l("星期二"),
    _l("星期三"),
    _l("星期四"),
    _l("星期五"),
    _l("星期六"),
    _l("星期日"),
)


# -- holiday calendar ------------------------------------------------------------------------


@bp.route("/calendar")
@roles_required(*ADMIN_GROUPS)
def calendar() -> ResponseReturnValue:
    """The years with a stored schedule, and the import form."""
    return _calendar_page(CalendarImportForm(formdata=None))


def _calendar_page(
    form: CalendarImportForm, problems: list[str] | None = None, status: int = 200
) -> ResponseReturnValue:
    return (
        render_template(
            "admin/calendar.html",
            years=get_engine().calendar_years(),
            form=form,
            problems=problems or [],
        ),
        status,
    )


@bp.route("/calendar", methods=["POST"])
@roles_required(*ADMIN_GROUPS)
def import_calendar() -> ResponseReturnValue:
    """Import one year's schedule from an uploaded TOML file (docs/holidays.md)."""
    form = CalendarImportForm()
    if not form.validate_on_submit():
        return _calendar_page(form, status=422)
    upload = form.file.data
    try:
        result = get_engine().import_calendar(
            upload.read(),
            name=upload_name(upload) or "upload.toml",
            actor=admin_id(),
            replace=bool(form.replace.data),
        )
    except ConflictError as exc:
        problems = [exc.message, _("如确需替换，请勾选“替换已导入的同一年份”后重新导入。")]
        return _calendar_page(form, problems, 409)
    except XiaonengError as exc:  # CalendarError: the file breaks the format
        problems = list(getattr(exc, "problems", ()) or ()) or [exc.message]
        if exc.message not in problems:
            problems.insert(0, exc.message)
        return _calendar_page(form, problems, 422)
    flash(
        _(
            "已导入 %(year)s 年节假日安排：%(holidays)s 天休息日，%(workdays)s 天调休上班日。",
            year=result["year"],
            holidays=result["holidays"],
            workdays=result["workdays"],
        ),
        "success",
    )
    return redirect(url_for("admin.calendar_year", year=result["year"]))


@bp.route("/calendar/<int:year>")
@roles_required(*ADMIN_GROUPS)
def calendar_year(year: int) -> ResponseReturnValue:
    """One year's schedule: the days off and the make-up working days, with their names."""
    try:
        schedule = get_engine().calendar_year(year)
    except NotFoundError:
        return _no_year(year)
    names = dict(schedule.names)

    def rows(days: Iterable[date]) -> list[tuple[date, str, str | None]]:
        return [(d, str(WEEKDAYS[d.weekday()]), names.get(d)) for d in sorted(days)]

    return render_template(
        "admin/calendar_year.html",
        schedule=schedule,
        holidays=rows(schedule.holidays),
        workdays=rows(schedule.workdays),
    )


def _no_year(year: int) -> ResponseReturnValue:
    flash(_("尚未导入 %(year)s 年的节假日安排。", year=year), "error")
    return redirect(url_for("admin.calendar"))


# -- service items ---------------------------------------------------------------------------


@bp.route("/items")
@roles_required(*ADMIN_GROUPS)
def items() -> ResponseReturnValue:
    """The service items, by code, and the load form."""
    return _items_page(ItemsLoadForm(formdata=None))


def _items_page(
    form: ItemsLoadForm, problems: list[str] | None = None, status: int = 200
) -> ResponseReturnValue:
    return (
        render_template(
            "admin/items.html",
            items=get_engine().service_items(),
            form=form,
            problems=problems or [],
        ),
        status,
    )


@bp.route("/items", methods=["POST"])
@roles_required(*ADMIN_GROUPS)
def load_items() -> ResponseReturnValue:
    """Create or update service items from an uploaded TOML file; a file with any
    problem changes nothing and lists every problem."""
    form = ItemsLoadForm()
    if not form.validate_on_submit():
        return _items_page(form, status=422)
    upload = form.file.data
    name = upload_name(upload) or "items.toml"
    if not name.lower().endswith(".toml"):
        form.file.errors = [_("请上传 .toml 文件。")]
        return _items_page(form, status=422)
    with tempfile.TemporaryDirectory(prefix="xiaoneng-items-") as folder:
        path = Path(folder) / name
        path.write_bytes(upload.read())
        try:
            codes = get_engine().load_items([path], actor=admin_id())
        except (InvalidInputError, NotFoundError, ConflictError) as exc:
            return _items_page(form, _item_problems(exc.message), 422)
    flash(
        _("已导入 %(count)s 个办理事项：%(codes)s", count=len(codes), codes="、".join(codes)),
        "success",
    )
    return redirect(url_for("admin.items"))


def _item_problems(message: str) -> list[str]:
    """The engine's message as a list: one line per problem."""
    if message.startswith(ITEMS_INVALID):
        return [p for p in message.removeprefix(ITEMS_INVALID).split("; ") if p]
    return [message]
