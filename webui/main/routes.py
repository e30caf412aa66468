"""The home page and the language switch."""

from __future__ import annotations

from flask import abort, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue

from webui.auth import current_person, is_officer, login_required
from webui.i18n import LANGUAGES
from webui.i18n import SESSION_KEY as LANGUAGE_KEY
from webui.main import bp
from webui.navigation import entries_for
from webui.urls import safe_next


@bp.route("/")
@login_required
def index() -> ResponseReturnValue:
    """Officers go to their inbox (待办); others see the areas open to them."""
    person = current_person()
    if is_officer(person):
        return redirect(url_for("officer.inbox"))
    return render_template("home.html", entries=entries_for(person))


@bp.route("/language/<code>")
def language(code: str) -> ResponseReturnValue:
    """Switch the language (kept in the session) and go back where the person was."""
    if code not in LANGUAGES:
        abort(404)
    session[LANGUAGE_KEY] = code
    return redirect(safe_next(request.args.get("next")) or url_for("main.index"))
