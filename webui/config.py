"""The web UI's settings: defaults, ``XIAONENG_*`` environment variables, test settings.

``create_app`` layers them: :data:`DEFAULTS`, then :func:`from_env`, then the mapping the
caller passes (tests pass :data:`TEST_CONFIG`).

========================================  ==============================================
variable                                  setting (default)
========================================  ==============================================
``XIAONENG_SECRET_KEY``                   ``SECRET_KEY``, signs the session cookie
                                          (random per process, with a warning)
``XIAONENG_DATABASE_URL``                 ``DATABASE_URL`` (``sqlite:///xiaoneng.db``)
``XIAONENG_RATELIMIT_STORAGE_URI``        ``RATELIMIT_STORAGE_URI`` (``memory://``: per
                                          process; ``redis://…`` shares it between workers)
``XIAONENG_LOGIN_RATE_LIMIT``             ``LOGIN_RATE_LIMIT``, per client address and
                                          user name (``10 per minute``)
``XIAONENG_SESSION_COOKIE_SECURE``        ``SESSION_COOKIE_SECURE`` (on, except in debug
                                          and tests)
``XIAONENG_SESSION_HOURS``                ``PERMANENT_SESSION_LIFETIME`` (8 hours)
``XIAONENG_TRUSTED_PROXIES``              ``TRUSTED_PROXIES``: reverse proxies in front
                                          whose X-Forwarded-* headers count (0)
``XIAONENG_EMBEDDED_WORKER``              ``EMBEDDED_WORKER``: a timer worker in the web
                                          process (off)
``XIAONENG_DEBUG``                        ``DEBUG`` (off)
========================================  ==============================================
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

ENV_PREFIX = "XIAONENG_"

DEFAULTS: Mapping[str, Any] = {
    "SECRET_KEY": None,  # from XIAONENG_SECRET_KEY; create_app makes one up (with a warning)
    "DATABASE_URL": None,  # None: the engine's default (XIAONENG_DATABASE_URL or SQLite)
    "CREATE_SCHEMA": False,  # production runs `xiaoneng init-db`; tests and serve say True
    "EMBEDDED_WORKER": False,  # STYLE rule 4: only the single-process mode asks for one
    "DEBUG": False,
    "TESTING": False,
    # i18n (Flask-Babel): source strings are Simplified Chinese; webui/translations has en
    "BABEL_DEFAULT_LOCALE": "zh_CN",
    "BABEL_DEFAULT_TIMEZONE": None,  # None: the engine's time zone (XIAONENG_TIMEZONE)
    # login rate limit (Flask-Limiter); an explicit storage, so that it never guesses
    "RATELIMIT_STORAGE_URI": "memory://",
    # a shared storage (Redis …) that goes away must not lock everyone out: count in
    # memory meanwhile
    "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
    "RATELIMIT_HEADERS_ENABLED": True,
    "LOGIN_RATE_LIMIT": "10 per minute",
    # session cookie
    "SESSION_COOKIE_NAME": "xiaoneng_session",
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "SESSION_COOKIE_SECURE": None,  # None: on unless DEBUG or TESTING
    "PERMANENT_SESSION_LIFETIME": timedelta(hours=8),
    # CSRF (Flask-WTF): on for every form; the token lives as long as the session
    "WTF_CSRF_ENABLED": True,
    "WTF_CSRF_TIME_LIMIT": None,
    "TRUSTED_PROXIES": 0,
    # one request at most: an application with its materials (each file at most the
    # engine's max_material_bytes, 20 MiB); more is refused with the 413 page
    "MAX_CONTENT_LENGTH": 64 * 1024 * 1024,
    # the public portal: new accounts and progress queries (办件进度查询) per address
    "PORTAL_REGISTER_RATE_LIMIT": "10 per hour",
    "PROGRESS_RATE_LIMIT": "30 per minute",
}

#: Settings for the test suite: fixed key, no secure-only cookie (the test client speaks
#: HTTP), CSRF and the rate limit on because tests check them.
TEST_CONFIG: Mapping[str, Any] = {
    "TESTING": True,
    "SECRET_KEY": "test-secret-key-not-for-production",
    "SESSION_COOKIE_SECURE": False,
    "WTF_CSRF_ENABLED": True,
    "RATELIMIT_STORAGE_URI": "memory://",
    "EMBEDDED_WORKER": False,
}

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _flag(name: str, text: str) -> bool:
    value = text.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(f"{ENV_PREFIX}{name} must be 1/0, true/false, yes/no or on/off: {text!r}")


def from_env(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The settings given as ``XIAONENG_*`` environment variables (see the module doc)."""
    env = os.environ if environ is None else environ
    found: dict[str, Any] = {}
    text_settings = (
        "SECRET_KEY",
        "DATABASE_URL",
        "RATELIMIT_STORAGE_URI",
        "LOGIN_RATE_LIMIT",
    )
    for name in text_settings:
        if env.get(ENV_PREFIX + name):
            found[name] = env[ENV_PREFIX + name]
    for name in ("SESSION_COOKIE_SECURE", "EMBEDDED_WORKER", "DEBUG"):
        if ENV_PREFIX + name in env:
            found[name] = _flag(name, env[ENV_PREFIX + name])
    if env.get(ENV_PREFIX + "SESSION_HOURS"):
        found["PERMANENT_SESSION_LIFETIME"] = timedelta(
            hours=float(env[ENV_PREFIX + "SESSION_HOURS"])
        )
    if env.get(ENV_PREFIX + "TRUSTED_PROXIES"):
        found["TRUSTED_PROXIES"] = int(env[ENV_PREFIX + "TRUSTED_PROXIES"])
    return found
