"""Who is logged in, and what they may open.

The session keeps only the person's id; every request reloads the person (name, groups,
still active) from the engine into ``g.person``. Groups are the organisation's
(``engine.person(id).groups``): ``role:admin``, ``dept:housing-permits``, ``post:window-a``.

Views use :func:`login_required` and :func:`roles_required`; a person who may not open a
page gets the 403 page, a visitor who is not logged in is sent to the login page.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from flask import Blueprint, Flask, abort, g, redirect, request, session, url_for
from flask_babel import lazy_gettext as _l

from engine import NotFoundError, PersonView
from webui.extensions import get_engine

if TYPE_CHECKING:
    from flask_limiter import Limiter

bp = Blueprint("auth", __name__)

SESSION_PERSON = "person"
P = ParamSpec("P")
R = TypeVar("R")

#: Groups of people who handle tasks (待办): anyone with a post or in a department.
OFFICER_GROUPS = ("dept:*", "post:*")
SUPERVISOR_GROUPS = ("role:supervisor", "dept:supervision")
ADMIN_GROUPS = ("role:admin",)


def current_person() -> PersonView | None:
    """The logged-in person of this request, or None."""
    return g.get("person")


def has_group(person: PersonView | None, patterns: Iterable[str]) -> bool:
    """True when the person belongs to a group matching any of the patterns
    (``fnmatch`` style: ``role:admin``, ``dept:*``)."""
    if person is None:
        return False
    return any(fnmatchcase(group, pattern) for pattern in patterns for group in person.groups)


def is_officer(person: PersonView | None) -> bool:
    """True for people who can hold tasks (待办)."""
    return has_group(person, OFFICER_GROUPS)


def login_required(view: Callable[P, R]) -> Callable[P, R | Any]:
    """Send visitors who are not logged in to the login page (and back afterwards)."""

    @functools.wraps(view)
    def wrapped(*args: P.args, **kwargs: P.kwargs) -> R | Any:
        if current_person() is None:
            target = request.full_path if request.method == "GET" else request.path
            return redirect(url_for("auth.login", next=target.rstrip("?")))
        return view(*args, **kwargs)

    return wrapped


def roles_required(*groups: str) -> Callable[[Callable[P, R]], Callable[P, R | Any]]:
    """Let in people in any one of ``groups`` (patterns such as ``role:admin``,
    ``dept:*``); others get the 403 page. Implies :func:`login_required`."""
    if not groups:
        raise ValueError("roles_required needs at least one group")

    def decorate(view: Callable[P, R]) -> Callable[P, R | Any]:
        @functools.wraps(view)
        def wrapped(*args: P.args, **kwargs: P.kwargs) -> R | Any:
            if not has_group(current_person(), groups):
                abort(403, description=_l("您的岗位或角色无权打开此页面。"))
            return view(*args, **kwargs)

        return login_required(wrapped)

    return decorate


def load_person() -> None:
    """Before each request: the session's person, if still there and active."""
    person_id = session.get(SESSION_PERSON)
    g.person = None
    if not person_id:
        return
    try:
        person = get_engine().person(str(person_id))
    except NotFoundError:
        person = None
    if person is None or not person.active:
        session.pop(SESSION_PERSON, None)
        return
    g.person = person


def init_app(app: Flask, limiter: Limiter) -> None:
    """Register the login pages, load the person before each request, and rate-limit
    login attempts per client address and user name."""
    app.register_blueprint(bp)
    app.before_request(load_person)
    limit = limiter.limit(
        app.config["LOGIN_RATE_LIMIT"], key_func=routes.login_attempt_key, methods=["POST"]
    )
    app.view_functions["auth.login"] = limit(routes.login)


from webui.auth import routes  # noqa: E402  (registers the routes on bp)
