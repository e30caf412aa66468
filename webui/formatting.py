"""Jinja filters: moments in the organ's time zone, working days, labels."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from fractions import Fraction

from flask import Flask
from flask_babel import format_datetime, format_decimal
from flask_babel import gettext as _
from flask_babel.speaklater import LazyString

from webui.progress import ACTION_LABELS, CASE_STATES, STATE_LABELS, TASK_STATES


def moment(value: datetime | None) -> str:
    """A moment as ``2026-11-25 17:30`` in the organ's time zone ("—" for none)."""
    if value is None:
        return "—"
    return format_datetime(value, "yyyy-MM-dd HH:mm")


def working_days(value: Fraction | None) -> str:
    """Working days left as a page says it: "3 个工作日", "超期 1.5 个工作日"."""
    if value is None:
        return "—"
    amount = format_decimal(round(float(abs(value)), 1), format="#,##0.#")
    if value < 0:
        return _("超期 %(days)s 个工作日", days=amount)
    return _("%(days)s 个工作日", days=amount)


def _label(table: Mapping[str, LazyString]) -> Callable[[str | None], str]:
    def label(code: str | None) -> str:
        if code is None:
            return "—"
        found = table.get(code)
        return str(found) if found is not None else code

    return label


def init_app(app: Flask) -> None:
    """Register the filters."""
    app.add_template_filter(moment)
    app.add_template_filter(working_days)
    app.add_template_filter(_label(ACTION_LABELS), "action_label")
    app.add_template_filter(_label(TASK_STATES), "task_state")
    app.add_template_filter(_label(CASE_STATES), "case_state")
    app.add_template_filter(_label(STATE_LABELS), "diagram_state")
