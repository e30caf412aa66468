"""The JSON API (/api/v1) for integrations: token-authenticated, CSRF-exempt, described
by the OpenAPI document it serves (``openapi.py``).

``auth`` reads the bearer token, ``bodies`` the request bodies, ``errors`` turns every
failure into one JSON error shape, ``routes`` has the operations.
"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

from webui.api import errors, routes  # noqa: E402,F401  (registers handlers and routes on bp)
