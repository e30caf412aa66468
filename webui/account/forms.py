"""Forms of the account pages (Flask-WTF: each carries the CSRF token)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField, SubmitField
from wtforms.validators import DataRequired, Length

#: As the engine allows (``engine.tokens.MAX_LABEL``).
MAX_LABEL = 200


class NewTokenForm(FlaskForm):
    """Make an API token: what it is for."""

    label = StringField(
        _l("用途说明"),
        validators=[DataRequired(_l("请说明令牌的用途。")), Length(max=MAX_LABEL)],
        description=_l("例如：不动产登记系统对接、移动办公 App"),
    )
    submit = SubmitField(_l("生成令牌"))


class RevokeTokenForm(FlaskForm):
    """Revoke a token: a button and the CSRF token."""

    submit = SubmitField(_l("撤销"))
