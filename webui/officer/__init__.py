"""The officer's pages (承办人员): inbox (待办) and task pages.

Every route needs a person who can hold tasks (a post or a department); every task goes
through ``webui.permissions`` (404 for a task the person may not see, 403 for acting on
a task someone else holds).
"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("officer", __name__, url_prefix="/officer")

from webui.officer import (  # noqa: E402,F401  (registers the routes on bp)
    actions,
    notices,
    register,
    routes,
)
