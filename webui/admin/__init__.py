"""The admin's pages (系统管理): deployments and process versions, cases, organisation,
holiday calendar, service items and timer incidents.

Every route needs ``role:admin`` (``webui.auth.ADMIN_GROUPS``). One module per area:
``routes`` (start page, deploy, versions), ``cases``, ``organisation`` (with absences),
``catalogue`` (calendar and service items), ``incidents`` (timer incidents).
"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")

# the modules register their routes on bp
from webui.admin import routes  # noqa: E402,F401,I001
from webui.admin import cases, catalogue, incidents, organisation  # noqa: E402,F401
