"""The public portal: the service guide, applicant accounts, applying online with
materials (and abusing the upload), the receipt."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from engine import Engine
from engine.clock import FakeClock
from tests.conftest import BPMN, GENERAL_PERMIT, TEST_ITEMS, make_engine
from tests.helpers import csrf_token, log_in
from tests.webui.portal_support import (
    ITEM,
    PDF,
    PNG,
    application,
    apply,
    key_of,
    log_in_applicant,
)


@pytest.fixture
def engine(db_url: str, clock: FakeClock, tmp_path: Path) -> Iterator[Engine]:
    """The demo organisation, general_permit and the complaint process, the test and
    sample items; materials under the test's folder."""
    eng = make_engine(db_url, clock, materials_dir=tmp_path / "materials")
    eng.deploy([*GENERAL_PERMIT, BPMN / "efficiency_complaint.bpmn"], actor="admin")
    eng.load_items([TEST_ITEMS, BPMN / "items" / "general-permits.sample.toml"])
    yield eng
    eng.dispose()


@pytest.fixture
def zhang(engine: Engine, app: Flask) -> FlaskClient:
    """The applicant 张三 logged in through the portal."""
    engine.register_applicant("zhangsan", "secret-pass-1", "张三", phone="13800000000")
    web = app.test_client()
    log_in_applicant(web, "zhangsan")
    return web


def _text(response: object, status: int = 200) -> str:
    assert response.status_code == status, response.status_code  # type: ignore[attr-defined]
    return str(response.get_data(as_text=True))  # type: ignore[attr-defined]


def _stored_files(tmp_path: Path) -> list[Path]:
    return sorted(
        p for p in tmp_path.rglob("*") if p.is_file() and not p.name.startswith("xiaoneng.db")
    )


# -- the service guide -------------------------------------------------------------------------


def test_guide_lists_items_for_everyone_without_login(client: FlaskClient) -> None:
    page = _text(client.get("/portal/"))
    assert "办事指南" in page and "建筑工程施工许可" in page and "食品经营许可" in page


def test_guide_searches_by_name_and_by_department(client: FlaskClient) -> None:
    page = _text(client.get("/portal/?q=食品"))
    assert "食品经营许可" in page and "建筑工程施工许可" not in page
    page = _text(client.get("/portal/?dept=housing-permits"))
    assert "建筑工程施工许可" in page and "食品经营许可" not in page
    page = _text(client.get("/portal/?q=没有这个事项"))
    assert "没有找到符合条件的事项" in page


def test_item_guide_shows_basis_materials_limits_and_the_procedure_diagram(
    client: FlaskClient,
) -> None:
    page = _text(client.get(f"/portal/items/{ITEM}"))
    for expected in ("建筑管理科", "施工图设计文件审查合格书", "法定时限", "承诺时限", "<svg"):
        assert expected in page, expected
    assert f"/portal/items/{ITEM}/apply" in page


def test_unknown_item_is_404(client: FlaskClient) -> None:
    assert client.get("/portal/items/NO-SUCH").status_code == 404


def test_everyone_sees_the_public_service_link(client: FlaskClient) -> None:
    assert 'href="/portal/"' in _text(client.get("/login"))


# -- accounts ----------------------------------------------------------------------------------


def test_register_creates_an_account_and_logs_in(client: FlaskClient, engine: Engine) -> None:
    token = csrf_token(_text(client.get("/portal/register")))
    response = client.post(
        "/portal/register",
        data={
            "csrf_token": token,
            "login": "lisi",
            "name": "李四",
            "kind": "person",
            "phone": "13900000000",
            "password": "long-enough-1",
            "confirm": "long-enough-1",
        },
    )
    assert response.status_code == 302
    assert "李四" in _text(client.get("/portal/my"))
    assert engine.check_applicant("lisi", "long-enough-1") is not None


def test_register_refuses_a_taken_login_and_a_short_password(
    client: FlaskClient, engine: Engine
) -> None:
    engine.register_applicant("lisi", "long-enough-1", "李四")
    page = _text(client.get("/portal/register"))
    data = {
        "csrf_token": csrf_token(page),
        "login": "lisi",
        "name": "另一个李四",
        "kind": "person",
        "phone": "1",
        "password": "long-enough-2",
        "confirm": "long-enough-2",
    }
    assert "已被使用" in _text(client.post("/portal/register", data=data), 409)
    data.update(login="wangwu", password="short", confirm="short")  # noqa: S106
    assert "至少 8 个字符" in _text(client.post("/portal/register", data=data), 422)


def test_applicant_login_with_a_wrong_password_is_refused(
    client: FlaskClient, engine: Engine
) -> None:
    engine.register_applicant("zhangsan", "secret-pass-1", "张三")
    token = csrf_token(_text(client.get("/portal/login")))
    page = _text(
        client.post(
            "/portal/login", data={"csrf_token": token, "login": "zhangsan", "password": "x" * 9}
        )
    )
    assert "登录名或密码不正确" in page
    assert client.get("/portal/my").status_code == 302


def test_applicant_login_is_rate_limited(client: FlaskClient, engine: Engine) -> None:
    token = csrf_token(_text(client.get("/portal/login")))
    statuses = [
        client.post(
            "/portal/login", data={"csrf_token": token, "login": "zhangsan", "password": "wrong"}
        ).status_code
        for _ in range(11)
    ]
    assert statuses[:10] == [200] * 10 and statuses[10] == 429


def test_an_applicant_is_not_an_officer(zhang: FlaskClient) -> None:
    for url in ("/officer/inbox", "/admin/", "/"):
        response = zhang.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert zhang.get("/api/v1/tasks").status_code == 401


def test_an_officer_is_not_an_applicant(app: Flask) -> None:
    web = app.test_client()
    log_in(web, "window01")
    response = web.get("/portal/my")
    assert response.status_code == 302 and "/portal/login" in response.headers["Location"]


def test_applicant_logout_ends_the_session(zhang: FlaskClient) -> None:
    token = csrf_token(_text(zhang.get("/portal/my")))
    assert zhang.post("/portal/logout", data={"csrf_token": token}).status_code == 302
    assert zhang.get("/portal/my").status_code == 302


def test_login_never_redirects_outside_the_portal(client: FlaskClient, engine: Engine) -> None:
    engine.register_applicant("zhangsan", "secret-pass-1", "张三")
    token = csrf_token(_text(client.get("/portal/login")))
    response = client.post(
        "/portal/login",
        data={
            "csrf_token": token,
            "login": "zhangsan",
            "password": "secret-pass-1",
            "next": "//evil.example/",
        },
    )
    assert response.headers["Location"] == "/portal/my"


# -- applying online ---------------------------------------------------------------------------


def test_apply_needs_an_applicant_login(client: FlaskClient) -> None:
    response = client.get(f"/portal/items/{ITEM}/apply")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/portal/login?next=")


def test_apply_form_has_one_file_input_per_material_and_the_applicant_filled_in(
    zhang: FlaskClient,
) -> None:
    page = _text(zhang.get(f"/portal/items/{ITEM}/apply"))
    assert 'enctype="multipart/form-data"' in page
    assert page.count('type="file"') == 5
    assert 'value="张三"' in page and 'name="csrf_token"' in page


def test_apply_starts_the_case_stores_materials_and_shows_the_receipt(
    zhang: FlaskClient, engine: Engine
) -> None:
    response = apply(zhang)
    assert response.status_code == 302
    key = key_of(response)
    assert key.startswith(f"{ITEM}-20261123-")
    receipt = engine.receipt(key)
    assert len(receipt.materials) == 5 and receipt.missing_required == ()
    page = _text(zhang.get(f"/portal/cases/{key}/receipt"))
    for expected in (key, receipt.query_code, "施工图设计文件审查合格书", "承诺办结时间"):
        assert expected in page, expected
    assert "portal.css" in page
    case = engine.get_case(key)
    assert case.data["applicant"] == "张三建筑有限公司" and case.item_code == ITEM


def test_sending_the_application_twice_starts_one_case(zhang: FlaskClient, engine: Engine) -> None:
    page = _text(zhang.get(f"/portal/items/{ITEM}/apply"))
    first = zhang.post(
        f"/portal/items/{ITEM}/apply", data=application(page), content_type="multipart/form-data"
    )
    second = zhang.post(
        f"/portal/items/{ITEM}/apply", data=application(page), content_type="multipart/form-data"
    )
    assert first.status_code == second.status_code == 302
    assert key_of(first) == key_of(second)
    applicant = engine.check_applicant("zhangsan", "secret-pass-1")
    assert applicant is not None
    assert len(engine.applicant_cases(applicant.id)) == 1


def test_the_same_application_sent_twice_at_once_starts_one_case(
    zhang: FlaskClient, engine: Engine, app: Flask
) -> None:
    page = _text(zhang.get(f"/portal/items/{ITEM}/apply"))
    twin = app.test_client()  # a second connection with the same session cookie
    cookie = zhang.get_cookie(app.config["SESSION_COOKIE_NAME"])
    assert cookie is not None
    twin.set_cookie(cookie.key, cookie.value)
    start = threading.Barrier(2)
    answers: list[str] = []

    def send(web: FlaskClient) -> None:
        data = application(page)
        start.wait()
        response = web.post(
            f"/portal/items/{ITEM}/apply", data=data, content_type="multipart/form-data"
        )
        answers.append(key_of(response))

    threads = [threading.Thread(target=send, args=(web,)) for web in (zhang, twin)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(answers) == 2 and answers[0] == answers[1]
    assert len(engine.list_cases(process_id="general_permit")) == 1


def test_apply_without_csrf_token_is_refused_and_stores_nothing(
    zhang: FlaskClient, engine: Engine, tmp_path: Path
) -> None:
    page = _text(zhang.get(f"/portal/items/{ITEM}/apply"))
    data = application(page)
    data.pop("csrf_token")
    response = zhang.post(
        f"/portal/items/{ITEM}/apply", data=data, content_type="multipart/form-data"
    )
    assert response.status_code == 400
    assert _stored_files(tmp_path) == []


def test_apply_without_a_required_material_names_it_and_stores_nothing(
    zhang: FlaskClient, engine: Engine, tmp_path: Path
) -> None:
    page = _text(zhang.get(f"/portal/items/{ITEM}/apply"))
    data = application(page)
    data.pop("file_2")
    response = zhang.post(
        f"/portal/items/{ITEM}/apply", data=data, content_type="multipart/form-data"
    )
    text = _text(response, 422)
    assert "请上传此项必需材料" in text
    assert _stored_files(tmp_path) == []
    assert engine.list_cases(process_id="general_permit") == []


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("run.exe", b"MZ\x90\x00", "类型不受理"),
        ("page.html", b"<script>alert(1)</script>", "类型不受理"),
        ("empty.pdf", b"", "空文件"),
        ("fake.pdf", b"<html><script>alert(1)</script></html>", "not a file of an allowed type"),
        ("picture.pdf", PNG, "does not match"),
    ],
)
def test_apply_refuses_a_file_of_the_wrong_type_and_stores_nothing(
    zhang: FlaskClient,
    engine: Engine,
    tmp_path: Path,
    name: str,
    content: bytes,
    message: str,
) -> None:
    page = _text(zhang.get(f"/portal/items/{ITEM}/apply"))
    data = application(page, file_1=(io.BytesIO(content), name))
    response = zhang.post(
        f"/portal/items/{ITEM}/apply", data=data, content_type="multipart/form-data"
    )
    text = _text(response, 422)
    assert message in text
    assert "file_1-errors" in text  # the error stands next to the file's input
    assert _stored_files(tmp_path) == []
    assert engine.list_cases(process_id="general_permit") == []


def test_apply_refuses_a_file_over_the_engines_limit(
    zhang: FlaskClient, engine: Engine, tmp_path: Path
) -> None:
    engine.max_material_bytes = 2048  # small: the test client spools big bodies to disk
    big = PDF + b"0" * 2048
    response = apply(zhang, file_0=(io.BytesIO(big), "big.pdf"))
    assert "太大" in _text(response, 422)
    assert _stored_files(tmp_path) == []


def test_a_request_over_max_content_length_gets_the_413_page(
    zhang: FlaskClient, app: Flask, tmp_path: Path
) -> None:
    app.config["MAX_CONTENT_LENGTH"] = 4096
    response = apply(zhang, file_0=(io.BytesIO(PDF + b"0" * 8192), "big.pdf"))
    text = _text(response, 413)
    assert "上传的内容过大" in text
    assert _stored_files(tmp_path) == []


@pytest.mark.parametrize(
    "name",
    ["../../../etc/passwd.pdf", "..\\..\\windows\\win.ini.pdf", "/abs/path.pdf", "a\x00b.pdf"],
)
def test_path_tricks_in_file_names_store_nothing_outside_the_folder(
    zhang: FlaskClient, engine: Engine, tmp_path: Path, name: str
) -> None:
    response = apply(zhang, file_0=(io.BytesIO(PDF), name))
    key = key_of(response)
    materials = engine.materials(key)
    root = (tmp_path / "materials").resolve()
    for material in materials:
        _shown, path = engine.material_file(material.id)
        assert path.resolve().is_relative_to(root)
        assert "/" not in material.filename and "\\" not in material.filename
    assert all(p.resolve().is_relative_to(root) for p in _stored_files(tmp_path))
    # and the download offers a plain name
    response = zhang.get(f"/portal/materials/{materials[0].id}")
    response.close()
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment") and ".." not in disposition
    assert "/" not in disposition.split("filename", 1)[1]


def test_receipt_is_only_for_its_owner(zhang: FlaskClient, engine: Engine, app: Flask) -> None:
    key = key_of(apply(zhang))
    engine.register_applicant("lisi", "secret-pass-1", "李四")
    other = app.test_client()
    log_in_applicant(other, "lisi")
    assert other.get(f"/portal/cases/{key}/receipt").status_code == 404
    assert other.get(f"/portal/cases/{key}").status_code == 404
    assert other.get("/portal/cases/NO-SUCH-CASE/receipt").status_code == 404
    anonymous = app.test_client().get(f"/portal/cases/{key}/receipt")
    assert anonymous.status_code == 302


def test_my_cases_lists_only_the_applicants_own(
    zhang: FlaskClient, engine: Engine, app: Flask
) -> None:
    key = key_of(apply(zhang))
    engine.register_applicant("lisi", "secret-pass-1", "李四")
    other = app.test_client()
    log_in_applicant(other, "lisi")
    assert key in _text(zhang.get("/portal/my"))
    assert key not in _text(other.get("/portal/my"))


# -- material downloads ------------------------------------------------------------------------


def test_owner_downloads_a_material_as_an_attachment_with_safe_headers(
    zhang: FlaskClient, engine: Engine
) -> None:
    key = key_of(apply(zhang))
    material = engine.materials(key)[0]
    response = zhang.get(f"/portal/materials/{material.id}")
    body = response.get_data()
    response.close()
    assert response.status_code == 200
    assert body == PDF
    assert response.headers["Content-Type"] == "application/pdf"
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response.headers["Content-Security-Policy"]


def test_another_applicant_cannot_download_a_material(
    zhang: FlaskClient, engine: Engine, app: Flask
) -> None:
    key = key_of(apply(zhang))
    material = engine.materials(key)[0]
    engine.register_applicant("lisi", "secret-pass-1", "李四")
    other = app.test_client()
    log_in_applicant(other, "lisi")
    assert other.get(f"/portal/materials/{material.id}").status_code == 404
    assert other.get("/portal/materials/999999").status_code == 404


def test_officers_download_materials_of_cases_they_may_see(
    zhang: FlaskClient, engine: Engine, login_as: object
) -> None:
    key = key_of(apply(zhang))
    material = engine.materials(key)[0]
    window = login_as("window01")  # type: ignore[operator]
    response = window.get(f"/officer/materials/{material.id}")
    body = response.get_data()
    response.close()
    assert response.status_code == 200 and body == PDF
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert f"/officer/materials/{material.id}" in _text(window.get(f"/officer/cases/{key}"))
    outsider = login_as("sunli")  # type: ignore[operator]
    assert outsider.get(f"/officer/materials/{material.id}").status_code == 404
    assert zhang.get(f"/officer/materials/{material.id}").status_code == 302


def test_docx_downloads_as_octet_stream(zhang: FlaskClient, engine: Engine) -> None:
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as package:
        package.writestr("[Content_Types].xml", "<Types/>")
        package.writestr("word/document.xml", "<document/>")
    key = key_of(apply(zhang, file_0=(io.BytesIO(buffer.getvalue()), "申请表.docx")))
    material = next(m for m in engine.materials(key) if m.filename.endswith(".docx"))
    response = zhang.get(f"/portal/materials/{material.id}")
    response.close()
    assert response.headers["Content-Type"] == "application/octet-stream"
    assert "attachment" in response.headers["Content-Disposition"]


def test_every_material_input_is_shown_again_after_a_refusal(zhang: FlaskClient) -> None:
    response = apply(zhang, **{f"file_{i}": (io.BytesIO(b""), "") for i in range(5)})
    text = _text(response, 422)
    assert text.count('type="file"') == 5 and "申请未提交" in text


def test_item_guide_links_a_materials_sample_document(
    client: FlaskClient, engine: Engine, tmp_path: Path
) -> None:
    source = tmp_path / "sampled.toml"
    source.write_text(
        """
[[items]]
code = "T-0900"
name = "带样表的测试事项"
department = "housing-permits"
process = "general_permit"
statutory_days = 20
promised_days = 10
materials = [
  { name = "申请表", required = true, sample = "https://example.gov.cn/samples/form.pdf" },
  { name = "说明", required = false, sample = "按实际情况填写，加盖公章" },
]
""",
        encoding="utf-8",
    )
    engine.load_items([source])
    page = _text(client.get("/portal/items/T-0900"))
    assert 'href="https://example.gov.cn/samples/form.pdf"' in page
    assert "按实际情况填写，加盖公章" in page
