"""Forms of the officer's pages (Flask-WTF: each carries the CSRF token)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SubmitField


class ClaimForm(FlaskForm):
    """Claim (认领) a task offered to the person's group: a button and the CSRF token."""

    submit = SubmitField(_l("认领"))
