"""The public portal (申请人): service guide, applicant accounts, applying online,
receipts, the progress query, supplements, ratings and complaints (DOMAIN.md S1, S7,
S10, S12, S14).

Applicants are not officers: their session key (:data:`SESSION_APPLICANT`) is not the
officers' ``person``, so every officer, supervisor and admin page treats them as
visitors. A case page of the portal answers 404 to anyone but the applicant who owns
the case.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from flask import Blueprint, Flask, abort, g, redirect, request, session, url_for

from engine import ApplicantView, NotFoundError
from webui.extensions import get_engine

if TYPE_CHECKING:
    from flask_limiter import Limiter

bp = Blueprint("applicant", __name__, url_prefix="/portal")

SESSION_APPLICANT = "applicant"
P = ParamSpec("P")
R = TypeVar("R")


def current_applicant() -> ApplicantView | None:
    """The logged-in applicant of this request, or None."""
    return g.get("applicant")


def me() -> ApplicantView:
    """The logged-in applicant (views behind :func:`applicant_required`)."""
    found = current_applicant()
    if found is None:  # applicant_required lets no such request in
        raise RuntimeError("a portal route ran without a logged-in applicant")
    return found


def applicant_required(view: Callable[P, R]) -> Callable[P, R | Any]:
    """Send visitors who are not logged in as an applicant to the portal's login page."""

    @functools.wraps(view)
    def wrapped(*args: P.args, **kwargs: P.kwargs) -> R | Any:
        if current_applicant() is None:
            target = request.full_path if request.method == "GET" else request.path
            return redirect(url_for("applicant.login", next=target.rstrip("?")))
        return view(*args, **kwargs)

    return wrapped


def owned_case(key: str) -> str:
    """``key`` when the logged-in applicant owns the case, else the 404 page (the same
    answer for a case that does not exist: no one learns which case numbers exist)."""
    if not get_engine().owns_case(key, me().id):
        abort(404)
    return key


@bp.before_request
def load_applicant() -> None:
    """Before each portal request: the session's applicant, if still there."""
    g.applicant = None
    applicant_id = session.get(SESSION_APPLICANT)
    if not applicant_id:
        return
    try:
        g.applicant = get_engine().applicant(int(applicant_id))
    except (NotFoundError, TypeError, ValueError):
        session.pop(SESSION_APPLICANT, None)


@bp.context_processor
def _portal_context() -> dict[str, Any]:
    from webui.applicant.forms import ACCEPT, LogoutForm, max_file_bytes

    return {
        "portal_applicant": g.get("applicant"),
        "portal_logout_form": LogoutForm() if g.get("applicant") else None,
        "upload_accept": ACCEPT,
        "max_file_mb": max_file_bytes() // (1024 * 1024),
    }


def init_app(app: Flask, limiter: Limiter) -> None:
    """Register the portal and its rate limits: login attempts per address and login
    name, registrations and progress queries per address."""
    app.register_blueprint(bp)
    login_limit = limiter.limit(
        app.config["LOGIN_RATE_LIMIT"], key_func=account.login_attempt_key, methods=["POST"]
    )
    app.view_functions["applicant.login"] = login_limit(account.login)
    register_limit = limiter.limit(app.config["PORTAL_REGISTER_RATE_LIMIT"], methods=["POST"])
    app.view_functions["applicant.register"] = register_limit(account.register)
    query_limit = limiter.limit(
        app.config["PROGRESS_RATE_LIMIT"], exempt_when=progress.is_blank_query
    )
    app.view_functions["applicant.progress"] = query_limit(progress.query)


from webui.applicant import (  # noqa: E402  (register the routes on bp)
    account,
    cases,
    complaints,
    guide,
    progress,
)

__all__ = [
    "SESSION_APPLICANT",
    "applicant_required",
    "bp",
    "cases",
    "complaints",
    "current_applicant",
    "guide",
    "init_app",
    "me",
    "owned_case",
]
