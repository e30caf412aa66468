"""The form of a task, built from its definition (``TaskView.form``), and the engine's
field problems shown next to the fields they concern.

The browser form only carries what the person typed; the engine checks and converts it
(``Engine.complete`` raises :class:`~engine.FormValidationError`), so one rule decides
what a valid submission is, for the web pages and the JSON API alike.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    Field,
    HiddenField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import Length
from wtforms.widgets import CheckboxInput, ListWidget

from engine import FieldProblem, FormFieldView

PREFIX = "f_"  # form field ids become ``f_<id>``: never clashing with opinion or csrf_token
MAX_OPINION = 2000


class TaskFormBase(FlaskForm):
    """What every task form carries besides its fields: the opinion (审批意见) and the
    case's row version seen when the page was loaded (a stale page is refused)."""

    opinion = TextAreaField(_l("审批意见"), validators=[Length(max=MAX_OPINION)])
    expected_version = HiddenField()
    submit = SubmitField(_l("办理完成"))


class _MultiCheckbox(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def _field(spec: FormFieldView) -> Field:
    label = spec.label or spec.id
    kw: dict[str, Any] = {"render_kw": {"required": True} if spec.required else {}}
    if spec.type == "text":
        return TextAreaField(label, **kw)
    if spec.type == "boolean":
        return BooleanField(label)
    if spec.type == "enum":
        choices = [SelectChoice(v, text) for v, text in spec.choices]
        if not spec.required:
            choices.insert(0, SelectChoice("", _l("（请选择）")))
        return SelectField(label, choices=choices, validate_choice=False, **kw)
    if spec.type == "multi_enum":
        options = [SelectChoice(v, text) for v, text in spec.choices]
        return _MultiCheckbox(label, choices=options, validate_choice=False)
    if spec.type == "date":
        kw["render_kw"]["type"] = "date"
    elif spec.type == "datetime":
        kw["render_kw"]["type"] = "datetime-local"
    elif spec.type in ("long", "decimal"):
        kw["render_kw"]["inputmode"] = "numeric" if spec.type == "long" else "decimal"
    return StringField(label, **kw)


def form_class(fields: Sequence[FormFieldView]) -> type[TaskFormBase]:
    """A form class with one field per task form field, in the definition's order."""
    attributes: dict[str, Any] = {PREFIX + spec.id: _field(spec) for spec in fields}
    return type("TaskForm", (TaskFormBase,), attributes)


def initial_values(fields: Sequence[FormFieldView], data: Mapping[str, Any]) -> dict[str, Any]:
    """The values a fresh form shows: the case's current data, else the field's default."""
    values: dict[str, Any] = {}
    for spec in fields:
        value = data.get(spec.id)
        if value is None:
            value = spec.default
        if value is None:
            continue
        if spec.type == "multi_enum" and not isinstance(value, list | tuple):
            value = [value]
        elif spec.type not in ("boolean", "multi_enum"):
            value = str(value)
        values[PREFIX + spec.id] = value
    return values


def submitted_data(form: TaskFormBase, fields: Sequence[FormFieldView]) -> dict[str, Any]:
    """The task data of a submitted form, as the engine takes it (blank = not given)."""
    data: dict[str, Any] = {}
    for spec in fields:
        value = form[PREFIX + spec.id].data
        if spec.type == "boolean":
            data[spec.id] = bool(value)
        elif spec.type == "multi_enum":
            data[spec.id] = [v for v in (value or []) if v]
        elif value not in (None, ""):
            data[spec.id] = value
    return data


def show_problems(form: TaskFormBase, problems: Iterable[FieldProblem]) -> list[str]:
    """Put each problem next to its field; return those no field shows."""
    unplaced: list[str] = []
    for problem in problems:
        name = problem.field if problem.field == "opinion" else PREFIX + problem.field
        if name in form:
            form[name].errors = [*form[name].errors, problem_text(problem.message)]
        else:
            unplaced.append(f"{problem.field}: {problem_text(problem.message)}")
    return unplaced


_CHOICE = re.compile(r"^'?.*'? is not one of: ")


def problem_text(message: str) -> str:
    """An engine field problem in the person's language (unknown ones as the engine says)."""
    known = {
        "this field is required": _("此项必填。"),
        "unknown field": _("表单中没有此字段。"),
        "must be text": _("请填写文字。"),
        "must be a whole number": _("请填写整数。"),
        "number is too large": _("数值过大。"),
        "must be a number": _("请填写数字。"),
        "must be a finite number": _("请填写数字。"),
        "must be true or false": _("请选择是或否。"),
        "must be a date in the form YYYY-MM-DD": _("请按 年-月-日 填写日期，例如 2026-11-23。"),
        "is not a real date": _("日期不存在。"),
        "must be a date and time in ISO 8601 form": _("请填写日期和时间。"),
        "must be a list of choices": _("请从列出的选项中选择。"),
        "field is read-only": _("此项不可修改。"),
    }
    if message in known:
        return known[message]
    if _CHOICE.match(message):
        return _("请从列出的选项中选择。")
    if message.startswith("at most "):
        return _("内容过长（%(detail)s）。", detail=message)
    return message
