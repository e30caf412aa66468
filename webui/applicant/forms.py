"""Forms of the portal (Flask-WTF: every form that changes something carries the CSRF
token; the progress query is a GET form and changes nothing).

The application, supplement and window-registration forms have one file input per
material of the service item (:func:`materials_form`); their files are checked here for
what a person can fix at once (an empty file, a type the portal does not take) and by
the engine for everything (size, content matching the extension).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import PurePosixPath, PureWindowsPath
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from werkzeug.datastructures import FileStorage
from wtforms import (
    Field,
    HiddenField,
    PasswordField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    Email,
    EqualTo,
    InputRequired,
    Length,
    Optional,
    Regexp,
    ValidationError,
)

from engine import MATERIAL_EXTENSIONS, RATING_LEVELS
from webui.extensions import get_engine

#: File types the forms take: the engine's (it checks the content as well).
ACCEPT = ",".join(MATERIAL_EXTENSIONS)
TEXT_MAX = 2000
KINDS = [SelectChoice("person", _l("自然人")), SelectChoice("organisation", _l("法人或其他组织"))]


def _text(label: Any, *, required: bool = True, max_len: int = 200) -> StringField:
    checks: list[Any] = [DataRequired(message=_l("请填写此项。"))] if required else [Optional()]
    return StringField(label, validators=[*checks, Length(max=max_len)])


class RegisterForm(FlaskForm):
    """A new applicant account (自然人 or 法人)."""

    login = StringField(
        _l("登录名"),
        validators=[
            DataRequired(message=_l("请填写登录名。")),
            Length(min=3, max=64, message=_l("登录名为 3 至 64 个字符。")),
            Regexp(
                r"^[A-Za-z0-9_.@-]+$",
                message=_l("登录名只能包含英文字母、数字和 _ . @ -。"),
            ),
        ],
    )
    name = _text(_l("姓名或单位名称"), max_len=100)
    kind = SelectField(_l("申请人类型"), choices=KINDS, default="person")
    phone = _text(_l("联系电话"), max_len=30)
    email = StringField(
        _l("电子邮箱"),
        validators=[Optional(), Email(message=_l("电子邮箱格式不正确。")), Length(max=200)],
    )
    password = PasswordField(
        _l("密码"),
        validators=[
            DataRequired(message=_l("请设置密码。")),
            Length(min=8, max=256, message=_l("密码至少 8 个字符。")),
        ],
    )
    confirm = PasswordField(
        _l("确认密码"),
        validators=[EqualTo("password", message=_l("两次输入的密码不一致。"))],
    )
    submit = SubmitField(_l("注册"))


class LoginForm(FlaskForm):
    """The applicant's login name and password."""

    login = StringField(
        _l("登录名"), validators=[DataRequired(message=_l("请输入登录名。")), Length(max=64)]
    )
    password = PasswordField(
        _l("密码"), validators=[DataRequired(message=_l("请输入密码。")), Length(max=256)]
    )
    next = HiddenField()
    submit = SubmitField(_l("登录"))


class LogoutForm(FlaskForm):
    """Logging out is a POST with the CSRF token."""

    submit = SubmitField(_l("退出"))


class ProgressQueryForm(FlaskForm):
    """办件进度查询: the case number and its query code (GET, no CSRF: it changes
    nothing)."""

    class Meta:
        csrf = False

    case = StringField(
        _l("办件编号"),
        validators=[DataRequired(message=_l("请填写办件编号。")), Length(max=64)],
    )
    code = StringField(
        _l("查询码"),
        validators=[DataRequired(message=_l("请填写查询码。")), Length(max=32)],
    )
    submit = SubmitField(_l("查询"))


def max_file_bytes() -> int:
    """The engine's limit for one file."""
    return get_engine().max_material_bytes


def _size(upload: FileStorage) -> int:
    stream = upload.stream
    here = stream.tell()
    stream.seek(0, 2)
    size = stream.tell()
    stream.seek(here)
    return size


def file_problem(upload: FileStorage | None) -> str | None:
    """What is wrong with an uploaded file that the person can see at once (its type by
    the extension, empty, too large), or None. The engine checks the content too."""
    if upload is None or not upload.filename:
        return None
    name = upload.filename[:100]
    suffix = PureWindowsPath(PurePosixPath(upload.filename).name).suffix.lower()
    if suffix not in MATERIAL_EXTENSIONS:
        return _(
            "文件“%(name)s”的类型不受理：请上传 PDF、JPG、PNG、OFD、DOCX 或 XLSX 文件。",
            name=name,
        )
    size = _size(upload)
    if size == 0:
        return _("文件“%(name)s”是空文件，请重新选择。", name=name)
    limit = max_file_bytes()
    if size > limit:
        return _(
            "文件“%(name)s”太大：单个文件不能超过 %(mb)s MB。",
            name=name,
            mb=limit // (1024 * 1024),
        )
    return None


class _MaterialFile:
    """Checks a material's file input: required ones need a file; types we take."""

    def __init__(self, required: bool) -> None:
        self.required = required
        self.field_flags = {"required": True} if required else {}

    def __call__(self, form: FlaskForm, field: Field) -> None:
        upload = field.data if isinstance(field.data, FileStorage) else None
        if upload is None or not upload.filename:
            if self.required:
                raise ValidationError(_("请上传此项必需材料。"))
            return
        problem = file_problem(upload)
        if problem:
            raise ValidationError(problem)


class MaterialsForm(FlaskForm):
    """A form with one file input per material (``file_0`` …); subclasses add fields."""

    materials: tuple[tuple[str, bool], ...] = ()

    def material_fields(self) -> list[tuple[str, bool, Field]]:
        """(material name, required, its file field), in the item's order."""
        return [
            (name, required, self[f"file_{i}"]) for i, (name, required) in enumerate(self.materials)
        ]

    def uploads(self) -> list[tuple[str, str, FileStorage]]:
        """(material name, field name, upload) of every file sent."""
        found = []
        for i, (name, _required) in enumerate(self.materials):
            data = self[f"file_{i}"].data
            if isinstance(data, FileStorage) and data.filename:
                found.append((name, f"file_{i}", data))
        return found


class ApplyForm(MaterialsForm):
    """An application (在线申请): who applies, how to reach them, what for."""

    applicant_name = _text(_l("申请人（姓名或单位名称）"), max_len=100)
    applicant_kind = SelectField(_l("申请人类型"), choices=KINDS, default="person")
    contact_person = _text(_l("联系人"), required=False, max_len=100)
    phone = _text(_l("联系电话"), max_len=30)
    email = StringField(
        _l("电子邮箱"),
        validators=[Optional(), Email(message=_l("电子邮箱格式不正确。")), Length(max=200)],
    )
    title = _text(_l("申请事由（标题）"), max_len=200)
    summary = TextAreaField(_l("申请内容说明"), validators=[Optional(), Length(max=TEXT_MAX)])
    submission = HiddenField()
    submit = SubmitField(_l("提交申请"))


class SupplementForm(MaterialsForm):
    """Materials sent after a one-time notice (补正材料)."""

    note = TextAreaField(_l("补正说明"), validators=[Optional(), Length(max=TEXT_MAX)])
    submit = SubmitField(_l("提交补正材料"))

    def validate(self, extra_validators: Any = None) -> bool:
        ok = super().validate(extra_validators)
        if ok and not self.uploads():
            self.form_errors.append(_("请至少上传一个补正材料文件。"))
            return False
        return ok


class WindowRegisterForm(ApplyForm):
    """The window's registration of an application (首问负责制, S1)."""

    submit = SubmitField(_l("登记并出具收件回执"))


_classes: dict[tuple[type[MaterialsForm], tuple[tuple[str, bool], ...]], type[Any]] = {}


def materials_form(
    base: type[MaterialsForm], materials: Sequence[tuple[str, bool]], *, enforce: bool = True
) -> type[Any]:
    """``base`` with a file input per material (name, required); ``enforce`` False makes
    every file optional (supplements, the window: missing ones get a one-time notice)."""
    spec = tuple((name, required and enforce) for name, required in materials)
    key = (base, spec)
    if key not in _classes:
        fields: dict[str, Any] = {"materials": spec}
        for i, (name, required) in enumerate(spec):
            fields[f"file_{i}"] = FileField(name, validators=[_MaterialFile(required)])
        _classes[key] = type(f"{base.__name__}WithFiles", (base,), fields)
    return _classes[key]


class RatingForm(FlaskForm):
    """好差评 (GB/T 39734): five levels and a comment."""

    level = RadioField(
        _l("评价"),
        choices=[
            SelectChoice(str(level), label)
            for level, label in sorted(RATING_LEVELS.items(), reverse=True)
        ],
        validators=[InputRequired(message=_l("请选择评价等级。"))],
    )
    comment = TextAreaField(_l("意见或建议"), validators=[Optional(), Length(max=TEXT_MAX)])
    submit = SubmitField(_l("提交评价"))


class ComplaintForm(FlaskForm):
    """效能投诉 about a case or a department (at least one of them)."""

    complainant = _text(_l("投诉人"), max_len=100)
    contact = _text(_l("联系电话"), max_len=100)
    concerned_case = _text(_l("所涉办件编号"), required=False, max_len=64)
    department = SelectField(_l("被投诉部门"), choices=[], validators=[Optional()])
    person = _text(_l("被投诉人员（如知道）"), required=False, max_len=100)
    content = TextAreaField(
        _l("投诉内容"),
        validators=[DataRequired(message=_l("请写明投诉内容。")), Length(max=TEXT_MAX)],
    )
    submission = HiddenField()
    submit = SubmitField(_l("提交投诉"))

    def validate(self, extra_validators: Any = None) -> bool:
        ok = super().validate(extra_validators)
        if ok and not (self.concerned_case.data or self.department.data):
            self.concerned_case.errors = [
                *self.concerned_case.errors,
                _("请填写所涉办件编号，或选择被投诉部门。"),
            ]
            return False
        return ok
