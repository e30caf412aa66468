"""The supervision office's pages (监察/督查, 电子监察): dashboard, charts, figures,
accountability records and their review, exports.

Every route needs a supervisor (``webui.auth.SUPERVISOR_GROUPS``). Supervisors oversee
every department, so their case page (read only) opens any case.
"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("supervisor", __name__, url_prefix="/supervision")

from webui.supervisor import routes  # noqa: E402,F401  (registers the routes on bp)
