"""Bearer-token authentication of API requests.

Each request carries ``Authorization: Bearer <secret>`` (a token a person made at
/account/tokens); the engine names the person (``Engine.person_for_api_token``). No
cookie counts: the API is exempt from CSRF because it never uses the session.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from flask import g, request
from flask_babel import gettext as _

from engine import NotFoundError, NotPermittedError, PersonView
from webui.api.errors import ApiError, unauthorized
from webui.auth import has_group
from webui.extensions import get_engine

P = ParamSpec("P")
R = TypeVar("R")

_SCHEME = "bearer"


def authenticate() -> PersonView:
    """The person of the request's bearer token, or a 401."""
    header = request.headers.get("Authorization", "")
    scheme, _sep, secret = header.strip().partition(" ")
    secret = secret.strip()
    if scheme.lower() != _SCHEME or not secret:
        raise unauthorized()
    if len(secret) > 512 or not secret.isprintable():
        raise unauthorized(_("访问令牌无效、已过期或已撤销。"))
    try:
        person = get_engine().person_for_api_token(secret)
    except (NotPermittedError, NotFoundError) as exc:
        raise unauthorized(_("访问令牌无效、已过期或已撤销。")) from exc
    if not person.active:
        raise unauthorized(_("访问令牌无效、已过期或已撤销。"))
    return person


def token_required(view: Callable[P, R]) -> Callable[P, R]:
    """Authenticate the request (401 without a valid token); ``me()`` is its person."""

    @functools.wraps(view)
    def wrapped(*args: P.args, **kwargs: P.kwargs) -> R:
        g.api_person = authenticate()
        return view(*args, **kwargs)

    return wrapped


def groups_required(*patterns: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Like :func:`token_required`, and 403 unless the person is in a matching group
    (``webui.auth.has_group`` patterns, as the web UI's ``roles_required``)."""

    def decorate(view: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(view)
        def wrapped(*args: P.args, **kwargs: P.kwargs) -> R:
            person = authenticate()
            g.api_person = person
            if not has_group(person, patterns):
                raise ApiError(403, _("您的岗位或角色无权进行此操作。"))
            return view(*args, **kwargs)

        return wrapped

    return decorate


def me() -> PersonView:
    """The authenticated person of this request."""
    person: Any = g.get("api_person")
    if person is None:  # token_required lets no such request in
        raise RuntimeError("an API route ran without an authenticated person")
    return person  # type: ignore[no-any-return]
