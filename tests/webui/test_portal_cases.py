"""The portal after applying: the public progress query, the owner's case page with
supplements (补正) and ratings (好差评), complaints (效能投诉), and the window's
registration (首问负责制) with its receipt."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from engine import Engine
from engine.clock import FakeClock
from tests.conftest import BPMN, GENERAL_PERMIT, TEST_ITEMS, make_engine
from tests.helpers import act, csrf_token, only_task
from tests.webui.portal_support import (
    ITEM,
    PDF,
    apply,
    form_tokens,
    key_of,
    log_in_applicant,
)


@pytest.fixture
def engine(db_url: str, clock: FakeClock, tmp_path: Path) -> Iterator[Engine]:
    """general_permit, the complaint process, the sample items; materials in tmp."""
    eng = make_engine(db_url, clock, materials_dir=tmp_path / "materials")
    eng.deploy([*GENERAL_PERMIT, BPMN / "efficiency_complaint.bpmn"], actor="admin")
    eng.load_items([TEST_ITEMS, BPMN / "items" / "general-permits.sample.toml"])
    yield eng
    eng.dispose()


@pytest.fixture
def zhang(engine: Engine, app: Flask) -> FlaskClient:
    engine.register_applicant("zhangsan", "secret-pass-1", "张三", phone="13800000000")
    web = app.test_client()
    log_in_applicant(web, "zhangsan")
    return web


@pytest.fixture
def key(zhang: FlaskClient) -> str:
    """张三's application for JS-0101, with all five materials."""
    return key_of(apply(zhang))


def _text(response: object, status: int = 200) -> str:
    assert response.status_code == status, response.status_code  # type: ignore[attr-defined]
    return str(response.get_data(as_text=True))  # type: ignore[attr-defined]


def _grant(engine: Engine, key: str) -> None:
    """Walk the case to 办结 (granted), with opinions an applicant must never see."""
    act(engine, key, "accept", "window01", {"accepted": "yes"}, opinion="内部意见：材料齐全")
    act(engine, key, "handle", "zhangwei", {"handling_opinion": "内部承办意见"})
    act(engine, key, "review", "chenjie", {"review_result": "pass"})
    act(engine, key, "approve", "zhaomin", {"decision": "grant"})
    act(engine, key, "issue_certificate", "window01", {"certificate_no": "JS-2026-001"})


def _notice(engine: Engine, key: str, reason: str) -> None:
    """The window's one-time notice (一次性告知): the clock stops for the supplement."""
    engine.claim(only_task(engine, key, "accept").id, actor="window01")
    engine.stop_clock(key, kind="supplement", reason=reason, actor="window01")


# -- the public progress query -----------------------------------------------------------------


def test_progress_query_with_the_right_code_shows_steps_and_promise(
    client: FlaskClient, engine: Engine, key: str
) -> None:
    code = engine.receipt(key).query_code
    page = _text(client.get(f"/portal/progress?case={key}&code={code}"))
    for expected in (key, "建筑工程施工许可", "受理", "正在办理", "承诺办结时间", "建筑管理科"):
        assert expected in page, expected


def test_progress_query_accepts_the_code_in_lower_case(
    client: FlaskClient, engine: Engine, key: str
) -> None:
    code = engine.receipt(key).query_code.lower()
    assert key in _text(client.get(f"/portal/progress?case={key}&code={code}"))


def test_progress_query_with_wrong_code_reveals_nothing(
    client: FlaskClient, engine: Engine, key: str
) -> None:
    wrong = client.get(f"/portal/progress?case={key}&code=AAAAAAAA")
    unknown = client.get("/portal/progress?case=JS-0101-20991231-9999&code=AAAAAAAA")
    assert wrong.status_code == unknown.status_code == 404
    wrong_text = wrong.get_data(as_text=True).replace(key, "")
    unknown_text = unknown.get_data(as_text=True).replace("JS-0101-20991231-9999", "")
    assert wrong_text == unknown_text
    assert "办件编号或查询码不正确" in wrong_text
    assert "建筑工程施工许可" not in wrong_text.split("</nav>", 2)[-1]


def test_progress_query_reveals_no_opinions_and_no_officers(
    client: FlaskClient, engine: Engine, key: str
) -> None:
    _grant(engine, key)
    code = engine.receipt(key).query_code
    page = _text(client.get(f"/portal/progress?case={key}&code={code}"))
    assert "准予许可" in page and "办结时间" in page
    for secret in (
        "内部意见",
        "内部承办意见",
        "王晓燕",
        "window01",
        "zhangwei",
        "zhaomin",
        "chenjie",
    ):
        assert secret not in page, secret


def test_progress_query_shows_suspensions_and_extensions_with_reasons(
    client: FlaskClient, engine: Engine, key: str
) -> None:
    act(engine, key, "accept", "window01", {"accepted": "yes"})
    engine.claim(only_task(engine, key, "handle").id, actor="zhangwei")
    engine.stop_clock(key, kind="expert_review", reason="组织专家论证结构安全", actor="zhangwei")
    code = engine.receipt(key).query_code
    page = _text(client.get(f"/portal/progress?case={key}&code={code}"))
    assert "专家评审" in page and "组织专家论证结构安全" in page and "进行中" in page


def test_progress_query_form_alone_is_not_an_error(client: FlaskClient) -> None:
    page = _text(client.get("/portal/progress"))
    assert 'name="case"' in page and 'name="code"' in page
    assert "不正确" not in page


def test_progress_query_is_rate_limited_per_address(
    client: FlaskClient, app: Flask, key: str
) -> None:
    statuses = [
        client.get(f"/portal/progress?case={key}&code=WRONG{i:03d}").status_code for i in range(31)
    ]
    assert statuses[:30] == [404] * 30 and statuses[30] == 429
    assert client.get("/portal/progress").status_code == 200  # the empty form still opens


# -- the owner's case page: supplement, rating ---------------------------------------------------


def test_case_page_shows_progress_and_materials_with_download_links(
    zhang: FlaskClient, engine: Engine, key: str
) -> None:
    page = _text(zhang.get(f"/portal/cases/{key}"))
    material = engine.materials(key)[0]
    assert f"/portal/materials/{material.id}" in page and "受理" in page
    assert "提交补正材料" not in page and "服务评价" not in page


def test_supplement_after_a_one_time_notice_restarts_the_clock(
    zhang: FlaskClient, engine: Engine, key: str
) -> None:
    _notice(engine, key, "请补交建设资金落实承诺书原件扫描件")
    page = _text(zhang.get(f"/portal/cases/{key}"))
    assert "请补交建设资金落实承诺书原件扫描件" in page and "提交补正材料" in page
    response = zhang.post(
        f"/portal/cases/{key}/supplement",
        data={
            "csrf_token": csrf_token(page),
            "file_4": (io.BytesIO(PDF), "承诺书.pdf"),
            "note": "已补交",
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    progress = engine.progress(key, query_code=engine.receipt(key).query_code)
    assert progress.supplement_requested is None
    assert all(stop.ended_at is not None for stop in progress.stops)
    assert [m.round for m in engine.materials(key)][-1] == 1


def test_supplement_without_files_is_refused_and_changes_nothing(
    zhang: FlaskClient, engine: Engine, key: str
) -> None:
    _notice(engine, key, "补交承诺书")
    page = _text(zhang.get(f"/portal/cases/{key}"))
    response = zhang.post(
        f"/portal/cases/{key}/supplement",
        data={"csrf_token": csrf_token(page)},
        content_type="multipart/form-data",
    )
    assert "请至少上传一个补正材料文件" in _text(response, 422)
    assert engine.progress(key, query_code=engine.receipt(key).query_code).supplement_requested


def test_rating_after_the_case_has_ended(zhang: FlaskClient, engine: Engine, key: str) -> None:
    _grant(engine, key)
    page = _text(zhang.get(f"/portal/cases/{key}"))
    assert "服务评价" in page and "非常满意" in page and "非常不满意" in page
    response = zhang.post(
        f"/portal/cases/{key}/rating",
        data={"csrf_token": csrf_token(page), "level": "2", "comment": "等待太久"},
    )
    assert response.status_code == 302
    page = _text(zhang.get(f"/portal/cases/{key}"))
    assert "我的评价" in page and "不满意" in page and "等待太久" in page
    again = zhang.post(
        f"/portal/cases/{key}/rating", data={"csrf_token": csrf_token(page), "level": "5"}
    )
    assert again.status_code == 302
    assert (
        engine.progress(
            key, applicant_id=engine.check_applicant("zhangsan", "secret-pass-1").id
        ).rating.level
        == 2
    )  # type: ignore[union-attr]


def test_rating_before_the_end_is_refused(zhang: FlaskClient, engine: Engine, key: str) -> None:
    page = _text(zhang.get(f"/portal/cases/{key}"))
    response = zhang.post(
        f"/portal/cases/{key}/rating", data={"csrf_token": csrf_token(page), "level": "5"}
    )
    assert response.status_code == 302
    assert "尚未办结" in _text(zhang.get(f"/portal/cases/{key}"))


def test_rating_and_supplement_of_another_applicants_case_are_404(
    zhang: FlaskClient, engine: Engine, app: Flask, key: str
) -> None:
    engine.register_applicant("lisi", "secret-pass-1", "李四")
    other = app.test_client()
    log_in_applicant(other, "lisi")
    token = csrf_token(_text(other.get("/portal/my")))
    assert (
        other.post(
            f"/portal/cases/{key}/rating", data={"csrf_token": token, "level": "1"}
        ).status_code
        == 404
    )
    assert (
        other.post(f"/portal/cases/{key}/supplement", data={"csrf_token": token}).status_code == 404
    )


def test_rating_without_csrf_token_is_refused(zhang: FlaskClient, engine: Engine, key: str) -> None:
    _grant(engine, key)
    assert zhang.post(f"/portal/cases/{key}/rating", data={"level": "5"}).status_code == 400


# -- complaints ----------------------------------------------------------------------------------


def test_complaint_about_a_case_gets_its_own_receipt_and_query_code(
    zhang: FlaskClient, engine: Engine, key: str, client: FlaskClient
) -> None:
    page = _text(zhang.get(f"/portal/complaints/new?case={key}"))
    assert f'value="{key}"' in page
    csrf, submission = form_tokens(page)
    data = {
        "csrf_token": csrf,
        "submission": submission,
        "complainant": "张三",
        "contact": "13800000000",
        "concerned_case": key,
        "department": "housing-permits",
        "content": "超过承诺时限仍未受理",
    }
    first = zhang.post("/portal/complaints/new", data=data)
    second = zhang.post("/portal/complaints/new", data=data)
    complaint = key_of(first)
    assert complaint.startswith("TS-") and key_of(second) == complaint
    receipt = engine.receipt(complaint)
    page = _text(zhang.get(f"/portal/cases/{complaint}/receipt"))
    assert receipt.query_code in page and "投诉" in page
    assert complaint in _text(zhang.get("/portal/my"))
    progress = _text(client.get(f"/portal/progress?case={complaint}&code={receipt.query_code}"))
    assert complaint in progress


def test_complaint_needs_a_case_or_a_department(zhang: FlaskClient, engine: Engine) -> None:
    page = _text(zhang.get("/portal/complaints/new"))
    csrf, submission = form_tokens(page)
    response = zhang.post(
        "/portal/complaints/new",
        data={
            "csrf_token": csrf,
            "submission": submission,
            "complainant": "张三",
            "contact": "138",
            "content": "态度不好",
        },
    )
    assert "请填写所涉办件编号，或选择被投诉部门" in _text(response, 422)
    assert engine.list_cases(process_id="efficiency_complaint") == []


# -- the window (首问负责制) ---------------------------------------------------------------------


def test_window_officer_registers_an_application_and_prints_the_receipt(
    engine: Engine, login_as: object
) -> None:
    window = login_as("window01")  # type: ignore[operator]
    assert 'href="/officer/register"' in _text(window.get("/officer/inbox"))
    page = _text(window.get(f"/officer/register?item={ITEM}"))
    assert page.count('type="file"') == 5
    csrf, submission = form_tokens(page)
    data = {
        "csrf_token": csrf,
        "submission": submission,
        "applicant_name": "李四",
        "applicant_kind": "person",
        "phone": "13900000000",
        "title": "个人住宅施工许可",
        "file_0": (io.BytesIO(PDF), "申请表.pdf"),
    }
    response = window.post(
        f"/officer/register?item={ITEM}", data=data, content_type="multipart/form-data"
    )
    assert response.status_code == 302
    assert "/officer/cases/" in response.headers["Location"]
    key = response.headers["Location"].split("/officer/cases/")[1].split("/")[0]
    receipt = engine.receipt(key)
    assert receipt.received_by == "window01" and len(receipt.missing_required) == 4
    page = _text(window.get(f"/officer/cases/{key}/receipt"))
    assert receipt.query_code in page and "王晓燕" in page and "尚缺的必需材料" in page
    assert _text(window.get(f"/officer/cases/{key}")).count("/officer/materials/") == 1


def test_window_registration_is_for_window_officers_only(engine: Engine, login_as: object) -> None:
    other = login_as("sunli")  # type: ignore[operator]
    assert other.get("/officer/register").status_code == 403
    assert "/officer/register" not in _text(other.get("/officer/inbox"))


def test_officer_receipt_of_a_case_out_of_sight_is_404(
    engine: Engine, key: str, login_as: object
) -> None:
    assert login_as("window01").get(f"/officer/cases/{key}/receipt").status_code == 200  # type: ignore[operator]
    assert login_as("sunli").get(f"/officer/cases/{key}/receipt").status_code == 404  # type: ignore[operator]


def test_accept_task_page_lists_the_materials(engine: Engine, key: str, login_as: object) -> None:
    task = only_task(engine, key, "accept")
    page = _text(login_as("window01").get(f"/officer/tasks/{task.id}"))  # type: ignore[operator]
    assert page.count("/officer/materials/") == 5
