"""Log in and out."""

from __future__ import annotations

import logging

from flask import flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_limiter.util import get_remote_address

from webui.auth import SESSION_PERSON, bp, current_person
from webui.auth.forms import LoginForm, LogoutForm
from webui.extensions import get_engine
from webui.i18n import SESSION_KEY as LANGUAGE_KEY
from webui.urls import safe_next

log = logging.getLogger(__name__)


def login_attempt_key() -> str:
    """The rate limit's key: the client address and the user name tried, so that one
    person mistyping does not lock out a whole office behind one address."""
    username = (request.form.get("username") or "").strip().lower()[:64]
    return f"{get_remote_address()}|{username}"


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    """The login page; a POST checks the password (rate-limited, see ``init_app``)."""
    if current_person() is not None:
        return redirect(url_for("main.index"))
    form = LoginForm()
    if request.method == "GET":
        form.next.data = safe_next(request.args.get("next")) or ""
    if form.validate_on_submit():
        person_id = (form.username.data or "").strip()
        if get_engine().check_password(person_id, form.password.data or ""):
            language = session.get(LANGUAGE_KEY)
            session.clear()  # nothing from before the login survives but the language
            if language:
                session[LANGUAGE_KEY] = language
            session[SESSION_PERSON] = person_id
            session.permanent = True
            log.info("login: %s from %s", person_id, get_remote_address())
            return redirect(safe_next(form.next.data) or url_for("main.index"))
        log.warning("failed login for %r from %s", person_id[:64], get_remote_address())
        form.password.errors = [_("用户名或密码不正确。")]
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
def logout() -> ResponseReturnValue:
    """End the session (a POST: the form carries the CSRF token)."""
    form = LogoutForm()
    if form.validate_on_submit():
        language = session.get(LANGUAGE_KEY)
        session.clear()
        if language:
            session[LANGUAGE_KEY] = language
        flash(_("您已退出。"), "info")
    return redirect(url_for("auth.login"))
