"""The admin's case pages: find and list, terminate (a reason is required), suspend and
resume, and move one case or a selected set to a newer version (refused per case with
the reason)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient

from engine import Engine, SourceFile
from tests.helpers import DATA, post_form

Login = Callable[..., FlaskClient]
THREE_STEP = (DATA / "three_step.bpmn").read_bytes()


@pytest.fixture
def three(engine: Engine) -> Engine:
    """three_step v1 with two running cases TS-1 and TS-2, waiting at ``draft``."""
    engine.deploy([SourceFile("three_step.bpmn", THREE_STEP)], actor="admin")
    for key in ("TS-1", "TS-2"):
        engine.start_case("three_step", key, actor="window01", title=f"测试 {key}")
    return engine


@pytest.fixture
def admin(login_as: Login) -> FlaskClient:
    return login_as("admin")


def _text(response: Any, status: int = 200) -> str:
    assert response.status_code == status, (response.status_code, response.get_data()[:300])
    return str(response.get_data(as_text=True))


def _deploy_v2(engine: Engine, *, rename_draft: bool = False) -> None:
    """Version 2: a new name, and (``rename_draft``) without the step ``draft``."""
    content = THREE_STEP.replace('name="三级审批"'.encode(), 'name="三级审批 v2"'.encode())
    if rename_draft:
        content = content.replace(b'"draft"', b'"prepare"')
    result = engine.deploy([SourceFile("three_step.bpmn", content)], actor="admin")
    assert result.definitions[0].version == 2


def test_cases_are_found_by_number(three: Engine, admin: FlaskClient) -> None:
    text = _text(admin.get("/admin/cases?q=TS-2"))
    assert "/admin/cases/TS-2" in text and "/admin/cases/TS-1" not in text
    assert "没有符合条件的办件" in _text(admin.get("/admin/cases?q=nothing-like-it"))


def test_cases_are_listed_by_process_and_status(three: Engine, admin: FlaskClient) -> None:
    text = _text(admin.get("/admin/cases?process=three_step&status=running"))
    assert "TS-1" in text and "TS-2" in text
    assert 'name="keys" value="TS-1"' in text  # a set can be moved from here
    text = _text(admin.get("/admin/cases?status=terminated"))
    assert "TS-1" not in text and "没有符合条件的办件" in text


def test_the_case_page_shows_the_case_and_its_actions(three: Engine, admin: FlaskClient) -> None:
    text = _text(admin.get("/admin/cases/TS-1"))
    assert "测试 TS-1" in text and "拟办" in text  # the open step
    assert "/admin/cases/TS-1/terminate" in text and "/admin/cases/TS-1/suspend" in text
    assert "/admin/cases/TS-1/migrate" not in text  # no newer version yet
    assert admin.get("/admin/cases/NO-SUCH").status_code == 404


def test_terminating_needs_a_reason(three: Engine, admin: FlaskClient) -> None:
    page = "/admin/cases/TS-1"
    text = _text(post_form(admin, page, f"{page}/terminate", {"terminate-reason": "  "}), 422)
    assert "请填写原因" in text
    assert three.get_case("TS-1").status == "running"

    response = post_form(admin, page, f"{page}/terminate", {"terminate-reason": "申请人撤回申请"})
    assert response.status_code == 302
    assert response.headers["Location"] == page
    case = three.get_case("TS-1")
    assert case.status == "terminated" and case.open_tasks == ()
    text = _text(admin.get(page))
    assert "办件 TS-1 已终止" in text and "申请人撤回申请" in text
    assert f"{page}/terminate" not in text  # nothing left to terminate

    response = post_form(admin, "/admin/cases/TS-2", f"{page}/terminate", {"terminate-reason": "x"})
    assert "操作未完成" in _text(admin.get(response.headers["Location"]))  # already ended


def test_suspending_and_resuming_a_case(three: Engine, admin: FlaskClient) -> None:
    page = "/admin/cases/TS-1"
    text = _text(post_form(admin, page, f"{page}/suspend", {"suspend-reason": ""}), 422)
    assert "请填写原因" in text
    assert three.get_case("TS-1").status == "running"

    response = post_form(admin, page, f"{page}/suspend", {"suspend-reason": "等待司法裁定"})
    assert response.status_code == 302
    assert three.get_case("TS-1").status == "suspended"
    text = _text(admin.get(page))
    assert "办件 TS-1 已挂起" in text and f"{page}/resume" in text
    assert f"{page}/suspend" not in text

    response = post_form(admin, page, f"{page}/resume")
    assert response.status_code == 302
    assert three.get_case("TS-1").status == "running"
    assert "办件 TS-1 已恢复办理" in _text(admin.get(page))


def test_moving_one_case_to_a_newer_version(three: Engine, admin: FlaskClient) -> None:
    _deploy_v2(three)
    page = "/admin/cases/TS-1"
    assert f"{page}/migrate" in _text(admin.get(page))
    response = post_form(admin, page, f"{page}/migrate", {"to_version": "2"})
    assert response.status_code == 302
    assert three.get_case("TS-1").definition_version == 2
    assert three.get_case("TS-2").definition_version == 1
    assert "TS-1 已从 v1 迁移到 v2" in _text(admin.get(page))


def test_a_move_is_refused_when_the_active_step_is_not_in_the_version(
    three: Engine, admin: FlaskClient
) -> None:
    _deploy_v2(three, rename_draft=True)
    page = "/admin/cases/TS-1"
    response = post_form(admin, page, f"{page}/migrate", {"to_version": "2"})
    text = _text(admin.get(response.headers["Location"]))
    assert "TS-1 不能迁移到 v2" in text and "draft" in text
    assert three.get_case("TS-1").definition_version == 1


def test_moving_a_selected_set_reports_each_case(three: Engine, admin: FlaskClient) -> None:
    three.start_case("three_step", "TS-3", actor="window01")
    three.terminate_case("TS-3", actor="admin", reason="撤回")
    _deploy_v2(three)
    listing = "/admin/cases?process=three_step"
    form: dict[str, Any] = {"process_id": "three_step", "to_version": "2", "keys": ["TS-1", "TS-3"]}

    response = post_form(admin, listing, "/admin/cases/migrate", {**form, "check": "y"})
    assert response.status_code == 302
    assert response.headers["Location"] == listing
    text = _text(admin.get(listing))
    assert "检查：TS-1 可以从 v1 迁移到 v2" in text
    assert "TS-3 不能迁移到 v2" in text and "terminated" in text
    assert three.get_case("TS-1").definition_version == 1  # only checked

    post_form(admin, listing, "/admin/cases/migrate", {**form, "submit": "y"})
    text = _text(admin.get(listing))
    assert "TS-1 已从 v1 迁移到 v2" in text and "TS-3 不能迁移到 v2" in text
    versions = {k: three.get_case(k).definition_version for k in ("TS-1", "TS-2", "TS-3")}
    assert versions == {"TS-1": 2, "TS-2": 1, "TS-3": 1}


def test_moving_a_set_needs_a_selection(three: Engine, admin: FlaskClient) -> None:
    _deploy_v2(three)
    listing = "/admin/cases?process=three_step"
    data = {"process_id": "three_step", "to_version": "2", "submit": "y"}
    response = post_form(admin, listing, "/admin/cases/migrate", data)
    assert "请至少选择一个办件" in _text(admin.get(response.headers["Location"]))
    assert three.get_case("TS-1").definition_version == 1
