"""Forms of the officer's pages (Flask-WTF: each carries the CSRF token)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    IntegerField,
    SelectChoice,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange

REASON_MAX = 2000

#: Kinds of a special procedure (特别程序, §45) that stop the clock; the engine's
#: ``limits.STOP_KINDS`` without ``supplement`` (the one-time notice has its own action).
PROCEDURE_KINDS = (
    ("hearing", _l("听证")),
    ("tendering", _l("招标")),
    ("auction", _l("拍卖")),
    ("inspection", _l("检验")),
    ("testing", _l("检测")),
    ("quarantine", _l("检疫")),
    ("appraisal", _l("鉴定")),
    ("expert_review", _l("专家评审")),
)


def _reason(label: str | object, required: bool = True) -> TextAreaField:
    checks = [DataRequired(message=_l("请填写理由。"))] if required else []
    return TextAreaField(label, validators=[*checks, Length(max=REASON_MAX)])


class ClaimForm(FlaskForm):
    """Claim (认领) a task offered to the person's group: a button and the CSRF token."""

    submit = SubmitField(_l("认领"))


class UnclaimForm(FlaskForm):
    """Give a claimed task back to the candidates (退回认领池)."""

    submit = SubmitField(_l("退回认领池"))


class PersonForm(FlaskForm):
    """Hand the task to a person (转办, 委派, 加签): their id and a reason."""

    person = StringField(
        _l("接收人工号"),
        validators=[DataRequired(message=_l("请填写接收人的工号。")), Length(max=100)],
    )
    reason = _reason(_l("理由"))
    submit = SubmitField(_l("提交"))


class ResolveForm(FlaskForm):
    """The delegate's answer (委派办结): the task goes back to its owner."""

    opinion = _reason(_l("办理意见"))
    submit = SubmitField(_l("办结并交回"))


class ExtensionForm(FlaskForm):
    """Ask for more working days (申请延期, §42); a head decides."""

    days = IntegerField(
        _l("延长工作日数"),
        validators=[
            InputRequired(message=_l("请填写延长的工作日数。")),
            NumberRange(min=1, max=15, message=_l("延长天数应为 1 至 15 个工作日。")),
        ],
    )
    reason = _reason(_l("延期理由（告知申请人）"))
    submit = SubmitField(_l("申请延期"))


class StopClockForm(FlaskForm):
    """Stop the clock for a special procedure (特别程序, §45)."""

    kind = SelectField(
        _l("特别程序种类"), choices=[SelectChoice(k, label) for k, label in PROCEDURE_KINDS]
    )
    reason = _reason(_l("理由（书面告知申请人）"))
    submit = SubmitField(_l("中止计时"))


class ResumeClockForm(FlaskForm):
    """Restart a stopped clock."""

    submit = SubmitField(_l("恢复计时"))


class ReturnForm(FlaskForm):
    """Return the case to an earlier step (退回) with a reason."""

    to = SelectField(_l("退回到"), choices=[], validate_choice=True)
    reason = _reason(_l("退回理由"))
    submit = SubmitField(_l("退回"))


class NoticeForm(FlaskForm):
    """The one-time notice of missing materials (一次性告知补正材料)."""

    missing_materials = TextAreaField(
        _l("需补正的全部材料（逐项列明）"),
        validators=[
            DataRequired(message=_l("请逐项列明需补正的全部材料。")),
            Length(max=REASON_MAX),
        ],
    )
    submit = SubmitField(_l("一次性告知补正材料"))


class AnswerNoticeForm(FlaskForm):
    """Answer a notice (督办回复): what was done about an escalation, a reminder, an urge or
    a bad rating's follow-up."""

    response = TextAreaField(_l("办理情况"), validators=[Length(max=REASON_MAX)])
    submit = SubmitField(_l("答复"))
