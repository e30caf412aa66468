"""What the portal tests share (not fixtures): files to upload, logging in an applicant,
applying through the form."""

from __future__ import annotations

import io
import re
from typing import TYPE_CHECKING

from tests.helpers import csrf_token

if TYPE_CHECKING:
    from flask.testing import FlaskClient
    from werkzeug.test import TestResponse

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
#: JS-0101 (建筑工程施工许可, housing-permits): five required materials
ITEM = "JS-0101"
ITEM_MATERIALS = 5
_SUBMISSION = re.compile(r'name="submission" type="hidden" value="([^"]+)"')
_KEY = re.compile(r"/portal/cases/([A-Z0-9-]+)/receipt")


PASSWORD = "secret-pass-1"  # noqa: S105  (test accounts)


def log_in_applicant(client: FlaskClient, login: str, password: str = PASSWORD) -> None:
    """Log in through the portal's login form."""
    token = csrf_token(client.get("/portal/login").get_data(as_text=True))
    response = client.post(
        "/portal/login", data={"login": login, "password": password, "csrf_token": token}
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:500]


def form_tokens(page: str) -> tuple[str, str]:
    """The CSRF token and the one-time submission token of a form page."""
    found = _SUBMISSION.search(page)
    assert found, "no submission token in the page"
    return csrf_token(page), found.group(1)


def files(count: int = ITEM_MATERIALS, content: bytes = PDF, name: str = "材料.pdf") -> dict:
    """One upload per material input (``file_0`` …)."""
    return {f"file_{i}": (io.BytesIO(content), name) for i in range(count)}


def application(page: str, **overrides: object) -> dict:
    """The application form's fields as a browser sends them, files included."""
    csrf, submission = form_tokens(page)
    data: dict = {
        "csrf_token": csrf,
        "submission": submission,
        "applicant_name": "张三建筑有限公司",
        "applicant_kind": "organisation",
        "phone": "13800000000",
        "title": "某小区 3 号楼施工许可",
        "summary": "新建住宅楼一栋",
        **files(),
    }
    data.update(overrides)
    return data


def apply(client: FlaskClient, item: str = ITEM, **overrides: object) -> TestResponse:
    """Open the application form and send it."""
    page = client.get(f"/portal/items/{item}/apply").get_data(as_text=True)
    return client.post(
        f"/portal/items/{item}/apply",
        data=application(page, **overrides),
        content_type="multipart/form-data",
    )


def key_of(response: TestResponse) -> str:
    """The case number a redirect to a receipt names."""
    found = _KEY.search(response.headers.get("Location", ""))
    assert found, response.headers.get("Location")
    return found.group(1)
