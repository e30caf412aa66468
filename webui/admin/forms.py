"""Forms of the admin's pages (Flask-WTF: each carries the CSRF token).

Buttons that only need the token (resume, cancel an absence, retry a timer) use
:class:`ActionForm`.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired, MultipleFileField
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length
from wtforms.widgets import CheckboxInput, ListWidget

REASON_MAX = 500


class ActionForm(FlaskForm):
    """A button with the CSRF token and nothing else."""

    submit = SubmitField(_l("确定"))


class DeployForm(FlaskForm):
    """One or more process files (.bpmn, .dmn, .form.json) deployed as one bundle."""

    files = MultipleFileField(
        _l("流程文件"),
        validators=[DataRequired(message=_l("请选择至少一个文件。"))],
        description=_l(
            "可同时选择多个文件：.bpmn、.dmn、.form.json。一次上传的文件作为一个整体发布。"
        ),
    )
    submit = SubmitField(_l("发布"))


class FindCaseForm(FlaskForm):
    """Find cases by number (a GET form: no token)."""

    class Meta:
        csrf = False

    q = StringField(_l("办件编号"), validators=[Length(max=100)])


class ReasonForm(FlaskForm):
    """An action on a case that must say why (terminate, suspend)."""

    reason = TextAreaField(
        _l("原因"),
        validators=[
            DataRequired(message=_l("请填写原因。")),
            Length(max=REASON_MAX, message=_l("原因不能超过 %(max)d 个字。", max=REASON_MAX)),
        ],
    )
    submit = SubmitField(_l("确定"))


class MigrateForm(FlaskForm):
    """Move one case to another version of its process."""

    to_version = SelectField(_l("目标版本"), coerce=int, validators=[InputRequired()])
    submit = SubmitField(_l("迁移到此版本"))


class MultiCheckboxField(SelectMultipleField):
    """A list of checkboxes (one per choice)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class BulkMigrateForm(FlaskForm):
    """Move a selected set of cases of one process to one version (or only check)."""

    process_id = HiddenField(validators=[DataRequired()])
    keys = MultiCheckboxField(
        _l("办件"), validators=[DataRequired(message=_l("请至少选择一个办件。"))]
    )
    to_version = SelectField(_l("目标版本"), coerce=int, validators=[InputRequired()])
    check = SubmitField(_l("仅检查，不迁移"))
    submit = SubmitField(_l("迁移所选办件"))


class AbsenceForm(FlaskForm):
    """Mark a person absent (AB岗): their B post takes their tasks meanwhile."""

    person_id = StringField(
        _l("人员账号"),
        validators=[DataRequired(message=_l("请填写人员账号。")), Length(max=64)],
    )
    starts_on = DateField(
        _l("开始日期"), validators=[InputRequired(message=_l("请填写开始日期。"))]
    )
    ends_on = DateField(_l("结束日期"), validators=[InputRequired(message=_l("请填写结束日期。"))])
    reason = StringField(_l("事由"), validators=[Length(max=REASON_MAX)])
    submit = SubmitField(_l("登记请假"))


class CalendarImportForm(FlaskForm):
    """A year's official schedule of days off and make-up working days (TOML)."""

    file = FileField(
        _l("节假日安排文件（TOML）"),
        validators=[FileRequired(message=_l("请选择一个文件。"))],
    )
    replace = BooleanField(_l("替换已导入的同一年份"))
    submit = SubmitField(_l("导入"))


class ItemsLoadForm(FlaskForm):
    """Service items (办理事项) from a TOML file: new ones created, existing updated."""

    file = FileField(
        _l("办理事项文件（TOML）"),
        validators=[FileRequired(message=_l("请选择一个文件。"))],
    )
    submit = SubmitField(_l("导入"))
