"""Forms of the supervision pages: the period filter (a GET form, no token) and the
review of an accountability record (CSRF-checked)."""

from __future__ import annotations

from datetime import timedelta

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, Optional, ValidationError

from engine import FAULT_LEVELS

REASON_MAX = 1000
LONGEST_PERIOD = timedelta(days=366)


class PeriodForm(FlaskForm):
    """A period of local dates and, optionally, one department (a GET form)."""

    class Meta:
        csrf = False

    start = DateField(_l("开始日期"), validators=[Optional()])
    end = DateField(_l("结束日期"), validators=[Optional()])
    department = SelectField(_l("部门"), choices=[], default="", validate_choice=True)
    submit = SubmitField(_l("查询"))

    def validate_end(self, field: DateField) -> None:
        """The period ends on or after its start and lasts at most a year."""
        if self.start.data is None or field.data is None:
            return
        if field.data < self.start.data:
            raise ValidationError(_l("结束日期不能早于开始日期。"))
        if field.data - self.start.data > LONGEST_PERIOD:
            raise ValidationError(_l("查询期间最长一年。"))


class RecordFilterForm(PeriodForm):
    """Filters of the accountability records (a GET form)."""

    kind = SelectField(_l("类型"), choices=[], default="", validate_choice=True)
    decision = SelectField(_l("审核结论"), choices=[], default="", validate_choice=True)
    person = StringField(_l("责任人编号"), validators=[Length(max=64)])


class ReviewForm(FlaskForm):
    """Excuse a record with a reason, or confirm it as a fault with a level."""

    decision = RadioField(
        _l("审核结论"),
        choices=[
            SelectChoice("excused", _l("免责（须说明理由）")),
            SelectChoice("confirmed", _l("确认过错（须选择等级）")),
        ],
        validators=[InputRequired(message=_l("请选择审核结论。"))],
    )
    level = SelectField(
        _l("过错等级"),
        choices=[
            SelectChoice("", _l("（免责时不选）")),
            *(SelectChoice(code, name) for code, name in FAULT_LEVELS.items()),
        ],
        default="",
        validate_choice=True,
    )
    reason = TextAreaField(
        _l("理由"),
        validators=[Length(max=REASON_MAX)],
        description=_l("免责必须说明理由，如不可抗力、系统故障；确认过错可补充说明。"),
    )
    submit = SubmitField(_l("提交审核"))

    def validate_reason(self, field: TextAreaField) -> None:
        """Excusing needs a reason."""
        if self.decision.data == "excused" and not (field.data or "").strip():
            raise ValidationError(_l("免责必须说明理由。"))

    def validate_level(self, field: SelectField) -> None:
        """Confirming needs a level."""
        if self.decision.data == "confirmed" and not field.data:
            raise ValidationError(_l("确认过错必须选择过错等级。"))
