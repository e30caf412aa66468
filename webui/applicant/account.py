"""Applicant accounts: register, log in, log out (rate limits: ``init_app``)."""

from __future__ import annotations

import logging

from flask import flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_limiter.util import get_remote_address

from engine import ConflictError, InvalidInputError
from webui import once
from webui.applicant import SESSION_APPLICANT, bp, current_applicant
from webui.applicant.forms import LoginForm, LogoutForm, RegisterForm
from webui.extensions import get_engine
from webui.i18n import SESSION_KEY as LANGUAGE_KEY
from webui.urls import safe_next

log = logging.getLogger(__name__)


def login_attempt_key() -> str:
    """The login rate limit's key: the client address and the login name tried."""
    login = (request.form.get("login") or "").strip().lower()[:64]
    return f"portal|{get_remote_address()}|{login}"


def _start_session(applicant_id: int) -> None:
    """A fresh session for the applicant: nothing from before survives but the
    language (an officer logged in in the same browser is logged out)."""
    language = session.get(LANGUAGE_KEY)
    session.clear()
    if language:
        session[LANGUAGE_KEY] = language
    session[SESSION_APPLICANT] = applicant_id
    session.permanent = True


def _portal_next(target: str | None) -> str | None:
    """A ``next`` target inside the portal only."""
    found = safe_next(target)
    return found if found and found.startswith(url_for("applicant.index")) else None


@bp.route("/register", methods=["GET", "POST"])
def register() -> ResponseReturnValue:
    """Create an applicant account and log in with it."""
    if current_applicant() is not None:
        return redirect(url_for("applicant.my_cases"))
    form = RegisterForm()
    status = 200
    if form.validate_on_submit():
        try:
            created = get_engine().register_applicant(
                (form.login.data or "").strip(),
                form.password.data or "",
                (form.name.data or "").strip(),
                kind=form.kind.data or "person",
                phone=(form.phone.data or "").strip() or None,
                email=(form.email.data or "").strip() or None,
            )
        except ConflictError:
            form.login.errors = [_("此登录名已被使用，请换一个。")]
            status = 409
        except InvalidInputError as exc:
            form.login.errors = [_("注册信息不符合要求：%(why)s", why=exc.message)]
            status = 422
        else:
            _start_session(created.id)
            log.info("applicant registered: %s from %s", created.id, get_remote_address())
            flash(_("注册成功，欢迎使用网上办事服务。"), "success")
            return redirect(url_for("applicant.index"))
    elif request.method == "POST":
        status = 422
    return render_template("applicant/register.html", form=form), status


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    """The applicant's login page; a POST checks the password (rate-limited)."""
    if current_applicant() is not None:
        return redirect(url_for("applicant.my_cases"))
    form = LoginForm()
    if request.method == "GET":
        form.next.data = _portal_next(request.args.get("next")) or ""
    if form.validate_on_submit():
        login_name = (form.login.data or "").strip()
        found = get_engine().check_applicant(login_name, form.password.data or "")
        if found is not None:
            _start_session(found.id)
            log.info("applicant login: %s from %s", found.id, get_remote_address())
            return redirect(_portal_next(form.next.data) or url_for("applicant.my_cases"))
        log.warning("failed applicant login for %r from %s", login_name[:64], get_remote_address())
        form.password.errors = [_("登录名或密码不正确。")]
    return render_template("applicant/login.html", form=form)


@bp.route("/logout", methods=["POST"])
def logout() -> ResponseReturnValue:
    """End the applicant's session (a POST with the CSRF token)."""
    form = LogoutForm()
    if form.validate_on_submit() and session.pop(SESSION_APPLICANT, None) is not None:
        session.pop(once.SESSION_KEY, None)
        flash(_("您已退出。"), "info")
    return redirect(url_for("applicant.index"))
