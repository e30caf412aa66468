"""The person's own account pages: their API tokens (/account/tokens).

Any logged-in person may make tokens for the JSON API; a token acts as them, with their
rights. The secret is shown once, on the page that answers the creation, never again.
"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("account", __name__, url_prefix="/account")

from webui.account import routes  # noqa: E402,F401  (registers the routes on bp)
