"""Forms of the login pages (Flask-WTF: each carries the CSRF token)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, Length


class LoginForm(FlaskForm):
    """User name (the person's id) and password."""

    username = StringField(
        _l("用户名"), validators=[DataRequired(message=_l("请输入用户名。")), Length(max=64)]
    )
    password = PasswordField(
        _l("密码"), validators=[DataRequired(message=_l("请输入密码。")), Length(max=256)]
    )
    next = HiddenField()
    submit = SubmitField(_l("登录"))


class LogoutForm(FlaskForm):
    """Logging out is a POST with the CSRF token, so that no other site can do it."""

    submit = SubmitField(_l("退出"))
