"""Pages for everyone: the home page and the language switch."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("main", __name__)

from webui.main import routes  # noqa: E402,F401  (registers the routes on bp)
