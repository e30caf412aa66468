"""Xiaoneng's web UI: the Flask app factory.

``create_app()`` builds the app on the engine's public API (``engine``). Production::

    gunicorn -w 2 --threads 4 'webui:create_app()'      # plus `xiaoneng worker` processes

Single process on SQLite (web + timer worker): ``xiaoneng serve`` (``webui.cli``).
"""

from __future__ import annotations

import atexit
import logging
import secrets
from collections.abc import Mapping
from typing import Any

from flask import Flask, g
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from werkzeug.middleware.proxy_fix import ProxyFix

from engine import Engine, TimerWorker
from webui import applicant, auth, errors, formatting
from webui.account import bp as account_bp
from webui.admin import bp as admin_bp
from webui.api import bp as api_bp
from webui.auth.forms import LogoutForm
from webui.config import DEFAULTS, from_env
from webui.extensions import ENGINE_KEY, WORKER_KEY, babel, csrf
from webui.i18n import LANGUAGES, current_language, html_lang, select_locale, select_timezone
from webui.main import bp as main_bp
from webui.navigation import entries_for
from webui.officer import bp as officer_bp
from webui.supervisor import bp as supervisor_bp

__all__ = ["create_app", "stop_worker"]

log = logging.getLogger(__name__)

#: Security headers on every response. Styles may be inline: the diagram SVG carries its
#: own <style>; no script runs from anywhere but this site.
SECURITY_HEADERS: Mapping[str, str] = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
        "script-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
        "frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


def create_app(config: Mapping[str, Any] | None = None, *, engine: Engine | None = None) -> Flask:
    """Create the web app.

    Args:
        config: settings over the defaults and the ``XIAONENG_*`` environment variables
            (``webui.config``; tests pass ``webui.config.TEST_CONFIG``).
        engine: the engine to serve; by default one on ``DATABASE_URL``. The app keeps it
            in ``app.extensions["xiaoneng"]``.

    The app starts no timer worker unless ``EMBEDDED_WORKER`` is true (STYLE.md rule 4);
    then it starts an ``engine.TimerWorker`` and stops it when the process exits.
    """
    app = Flask(__name__)
    settings: dict[str, Any] = {**DEFAULTS, **from_env(), **(config or {})}
    if not settings.get("SECRET_KEY"):
        settings["SECRET_KEY"] = secrets.token_urlsafe(32)
        log.warning(
            "XIAONENG_SECRET_KEY is not set: using a random key for this process. Sessions "
            "end when it restarts and are not shared between workers; set "
            "XIAONENG_SECRET_KEY in production."
        )
    if settings.get("SESSION_COOKIE_SECURE") is None:
        settings["SESSION_COOKIE_SECURE"] = not (settings["DEBUG"] or settings["TESTING"])
    app.config.update(settings)

    if engine is None:
        engine = Engine(app.config["DATABASE_URL"], create_schema=app.config["CREATE_SCHEMA"])
        atexit.register(engine.dispose)
    app.extensions[ENGINE_KEY] = engine
    if app.config["BABEL_DEFAULT_TIMEZONE"] is None:
        app.config["BABEL_DEFAULT_TIMEZONE"] = engine.timezone

    if app.config["TRUSTED_PROXIES"]:
        hops = int(app.config["TRUSTED_PROXIES"])
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_prefix=hops
        )

    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)
    csrf.init_app(app)
    # one limiter per app: Flask-Limiter keeps its storage on the instance
    limiter = Limiter(get_remote_address, app=app, default_limits=[])
    # with RATELIMIT_ENABLED off Flask-Limiter keeps no reference to itself on the app,
    # and the limited views hold it weakly: keep it alive for the app's lifetime
    app.extensions["xiaoneng.limiter"] = limiter

    errors.init_app(app)
    formatting.init_app(app)
    auth.init_app(app, limiter)
    applicant.init_app(app, limiter)  # the public portal (/portal)

    app.register_blueprint(main_bp)
    app.register_blueprint(officer_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(supervisor_bp)
    app.register_blueprint(account_bp)
    csrf.exempt(api_bp)  # token-authenticated, no cookies: no CSRF
    app.register_blueprint(api_bp)

    app.context_processor(_template_context)
    app.after_request(_security_headers)

    if app.config["EMBEDDED_WORKER"]:
        _start_worker(app, engine)
    return app


def _template_context() -> dict[str, Any]:
    """What every page's layout needs: the person, their navigation, the languages."""
    person = g.get("person")
    language = current_language()
    return {
        "person": person,
        "navigation": entries_for(person),
        "logout_form": LogoutForm() if person is not None else None,
        "languages": LANGUAGES,
        "language": language,
        "html_lang": html_lang(language),
    }


def _security_headers(response: Any) -> Any:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def _start_worker(app: Flask, engine: Engine) -> None:
    """The embedded single-process mode: fire timers in this process, stop at exit."""
    worker = TimerWorker(engine, name="embedded-web")
    worker.start()
    app.extensions[WORKER_KEY] = worker
    atexit.register(stop_worker, app)


def stop_worker(app: Flask) -> None:
    """Stop the app's embedded timer worker, if it has one running (once)."""
    worker: TimerWorker | None = app.extensions.pop(WORKER_KEY, None)
    if worker is not None:
        worker.stop()
