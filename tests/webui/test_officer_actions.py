"""The officer's task page acting: completing the form, and the other actions on a task."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from engine import Engine
from tests.conftest import BPMN
from tests.helpers import act, csrf_token, only_task

Login = Callable[..., FlaskClient]
_VERSION = re.compile(r'name="expected_version" type="hidden" value="(\d+)"')


@pytest.fixture
def permit(permit: Engine) -> Engine:
    """GP-1 (item T-0101, housing) with its acceptance step held by window01."""
    permit.claim(only_task(permit, "GP-1").id, actor="window01")
    return permit


def _page(web: FlaskClient, url: str) -> str:
    response = web.get(url)
    assert response.status_code == 200, response.status_code
    return str(response.get_data(as_text=True))


def _complete_form(page: str, **fields: str) -> dict[str, str]:
    found = _VERSION.search(page)
    assert found, "no expected_version on the page"
    return {"csrf_token": csrf_token(page), "expected_version": found.group(1), **fields}


def _actions(engine: Engine, key: str = "GP-1") -> list[str]:
    return [line.action for line in engine.history(key)]


# -- completing the task's form ---------------------------------------------------------------


def test_complete_with_a_valid_form_goes_to_the_inbox_naming_step_and_case(
    permit: Engine, login_as: Login
) -> None:
    task = only_task(permit, "GP-1")
    web = login_as("window01")
    page = _page(web, f"/officer/tasks/{task.id}")
    assert 'name="f_accepted"' in page and "审批意见" in page
    data = _complete_form(page, f_accepted="yes", f_reason="材料齐全", opinion="同意受理")
    response = web.post(f"/officer/tasks/{task.id}/complete", data=data)
    assert response.status_code == 302
    assert response.headers["Location"] == "/officer/inbox"
    done = permit.get_task(task.id)
    assert done.state == "completed" and done.completed_by == "window01"
    assert done.opinion == "同意受理"
    assert only_task(permit, "GP-1").element_id == "handle"
    inbox = _page(web, "/officer/inbox")
    assert "已办理：受理（GP-1）" in inbox


def test_field_errors_are_shown_with_the_entered_values_and_nothing_changes(
    permit: Engine, login_as: Login
) -> None:
    task = only_task(permit, "GP-1")
    web = login_as("window01")
    before = _actions(permit)
    data = _complete_form(
        _page(web, f"/officer/tasks/{task.id}"), f_reason="缺营业执照", opinion="再看看"
    )
    response = web.post(f"/officer/tasks/{task.id}/complete", data=data)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="f_accepted-errors"' in page and "此项必填" in page
    assert 'value="缺营业执照"' in page and "再看看</textarea>" in page
    assert permit.get_task(task.id).state == "open"
    assert _actions(permit) == before


def test_submitting_twice_completes_once_and_says_so(permit: Engine, login_as: Login) -> None:
    task = only_task(permit, "GP-1")
    web = login_as("window01")
    data = _complete_form(_page(web, f"/officer/tasks/{task.id}"), f_accepted="yes")
    first = web.post(f"/officer/tasks/{task.id}/complete", data=data)
    second = web.post(f"/officer/tasks/{task.id}/complete", data=data)
    assert first.status_code == second.status_code == 302
    assert second.headers["Location"] == "/officer/inbox"
    assert _actions(permit).count("complete") == 1
    assert "无需重复提交" in _page(web, "/officer/inbox")


def test_a_stale_page_is_refused_with_the_values_kept(permit: Engine, login_as: Login) -> None:
    task = only_task(permit, "GP-1")
    web = login_as("window01")
    data = _complete_form(_page(web, f"/officer/tasks/{task.id}"), f_accepted="no")
    data["expected_version"] = str(int(data["expected_version"]) - 1)  # loaded earlier
    response = web.post(f"/officer/tasks/{task.id}/complete", data=data)
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "办件已被他人更新" in page
    assert re.search(r'<option selected value="no">|<option value="no" selected>', page)
    assert permit.get_task(task.id).state == "open"


def test_acting_on_a_task_someone_else_holds_is_403_and_changes_nothing(
    permit: Engine, login_as: Login
) -> None:
    task = only_task(permit, "GP-1")
    web = login_as("window02")  # a window officer too: sees the task, does not hold it
    page = _page(web, f"/officer/tasks/{task.id}")
    assert 'name="f_accepted"' not in page  # no form to fill in
    token = csrf_token(page)
    before = _actions(permit)
    for action, data in (
        ("complete", {"f_accepted": "yes"}),
        ("unclaim", {}),
        ("transfer", {"transfer-person": "window02", "transfer-reason": "我来办"}),
        ("delegate", {"delegate-person": "window02", "delegate-reason": "请协助"}),
        ("extension", {"days": "3", "reason": "需要现场核查"}),
        ("stop-clock", {"kind": "hearing", "reason": "听证"}),
        ("notice", {"missing_materials": "营业执照"}),
        ("signer", {"signer-person": "window02", "signer-reason": "会签"}),
        ("return", {"to": "start_application", "reason": "退回"}),
    ):
        response = web.post(
            f"/officer/tasks/{task.id}/{action}", data={"csrf_token": token, **data}
        )
        assert response.status_code == 403, action
    assert _actions(permit) == before
    assert permit.get_task(task.id).assignee == "window01"


# -- the other actions ------------------------------------------------------------------------


def _post(web: FlaskClient, task_id: str, action: str, data: dict[str, str]):  # type: ignore[no-untyped-def]
    token = csrf_token(_page(web, f"/officer/tasks/{task_id}"))
    return web.post(f"/officer/tasks/{task_id}/{action}", data={"csrf_token": token, **data})


def test_unclaim_gives_the_task_back_to_the_pool(permit: Engine, login_as: Login) -> None:
    task = only_task(permit, "GP-1")
    web = login_as("window01")
    assert "退回认领池" in _page(web, f"/officer/tasks/{task.id}")
    response = _post(web, task.id, "unclaim", {})
    assert response.status_code == 302
    assert permit.get_task(task.id).assignee is None
    assert "可认领的（1）" in _page(web, "/officer/inbox")


def test_transfer_hands_the_task_over_with_the_reason(permit: Engine, login_as: Login) -> None:
    task = only_task(permit, "GP-1")
    web = login_as("window01")
    response = _post(
        web, task.id, "transfer", {"transfer-person": "window02", "transfer-reason": "外出开会"}
    )
    assert response.status_code == 302
    assert permit.get_task(task.id).assignee == "window02"
    page = _page(login_as("window02"), f"/officer/tasks/{task.id}")
    assert "转办" in page and "外出开会" in page and "→ 刘洋" in page  # the timeline, by name


@pytest.mark.parametrize(
    ("person", "message"),
    [("nobody", "查无此人"), ("window01", "不能选择自己"), ("", "请填写接收人的工号")],
)
def test_transfer_to_a_bad_person_shows_why_and_changes_nothing(
    permit: Engine, login_as: Login, person: str, message: str
) -> None:
    task = only_task(permit, "GP-1")
    web = login_as("window01")
    before = _actions(permit)
    response = _post(
        web, task.id, "transfer", {"transfer-person": person, "transfer-reason": "外出"}
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert message in page and "外出</textarea>" in page
    assert permit.get_task(task.id).assignee == "window01"
    assert _actions(permit) == before


def test_delegate_and_resolve_bring_the_task_back(permit: Engine, login_as: Login) -> None:
    task = only_task(permit, "GP-1")
    owner = login_as("window01")
    bad = _post(owner, task.id, "delegate", {"delegate-person": "window02"})
    assert bad.status_code == 422 and "请填写理由" in bad.get_data(as_text=True)
    assert permit.get_task(task.id).delegation is None
    response = _post(
        owner, task.id, "delegate", {"delegate-person": "window02", "delegate-reason": "请核对材料"}
    )
    assert response.status_code == 302
    assert permit.get_task(task.id).assignee == "window02"
    helper = login_as("window02")
    page = _page(helper, f"/officer/tasks/{task.id}")
    assert "办结并交回" in page and 'name="f_accepted"' not in page  # the owner completes
    response = _post(helper, task.id, "resolve", {"opinion": "材料已核对无误"})
    assert response.status_code == 302
    back = permit.get_task(task.id)
    assert back.assignee == "window01" and back.delegation == "resolved"
    assert "材料已核对无误" in _page(owner, f"/officer/tasks/{task.id}")


def test_request_an_extension(permit: Engine, login_as: Login) -> None:
    task = only_task(permit, "GP-1")
    web = login_as("window01")
    bad = _post(web, task.id, "extension", {"days": "0", "reason": "需要现场核查"})
    assert bad.status_code == 422 and "1 至 15 个工作日" in bad.get_data(as_text=True)
    assert "extension_request" not in _actions(permit)
    response = _post(web, task.id, "extension", {"days": "5", "reason": "需要现场核查"})
    assert response.status_code == 302
    assert "extension_request" in _actions(permit)
    assert "申请延期" in _page(web, f"/officer/tasks/{task.id}")  # in the timeline


def test_stop_the_clock_for_a_special_procedure_and_resume_it(
    permit: Engine, login_as: Login
) -> None:
    task = only_task(permit, "GP-1")
    web = login_as("window01")
    bad = _post(web, task.id, "stop-clock", {"kind": "hearing", "reason": " "})
    assert bad.status_code == 422 and "请填写理由" in bad.get_data(as_text=True)
    bad = _post(web, task.id, "stop-clock", {"kind": "picnic", "reason": "组织听证"})
    assert bad.status_code == 422
    assert "clock_stop" not in _actions(permit)
    response = _post(web, task.id, "stop-clock", {"kind": "hearing", "reason": "组织听证"})
    assert response.status_code == 302
    page = _page(web, f"/officer/tasks/{task.id}")
    assert "已中止计时" in page and "恢复计时" in page and "时限中止" in page
    response = _post(web, task.id, "resume-clock", {})
    assert response.status_code == 302
    assert _actions(permit)[-2:] == ["clock_stop", "clock_resume"]
    again = _post(web, task.id, "resume-clock", {})  # the clock runs already
    assert again.status_code == 409


# -- the one-time notice of missing materials (一次性告知) -------------------------------------


def test_notice_before_acceptance_stops_the_clock_with_the_list(
    permit: Engine, login_as: Login
) -> None:
    task = only_task(permit, "GP-1")
    web = login_as("window01")
    assert "一次性告知补正材料" in _page(web, f"/officer/tasks/{task.id}")
    bad = _post(web, task.id, "notice", {"missing_materials": ""})
    assert bad.status_code == 422 and "请逐项列明" in bad.get_data(as_text=True)
    assert "clock_stop" not in _actions(permit)
    response = _post(web, task.id, "notice", {"missing_materials": "1. 营业执照复印件"})
    assert response.status_code == 302
    stop = next(line for line in permit.history("GP-1") if line.action == "clock_stop")
    assert stop.detail is not None and stop.detail["kind"] == "supplement"
    assert stop.opinion is not None and "营业执照复印件" in stop.opinion
    page = _page(web, f"/officer/tasks/{task.id}")
    assert "恢复计时" in page
    assert 'action="/officer/tasks/' + task.id + '/notice"' not in page  # once only


WINDOW_ITEMS = """
[[items]]
code = "WI-T01"
name = "一窗受理测试事项"
department = "service-centre"
process = "window_intake"
statutory_days = 20
promised_days = 10
"""


def test_notice_on_the_material_check_leads_to_the_notice_step_filled_in(
    engine: Engine, login_as: Login, tmp_path: Path
) -> None:
    engine.deploy([BPMN / "window_intake.bpmn"], actor="admin")
    items = tmp_path / "items.toml"
    items.write_text(WINDOW_ITEMS, encoding="utf-8")
    engine.load_items([items])
    engine.start_case("window_intake", "WI-1", actor="window01", item="WI-T01")
    registration = {
        "applicant_name": "某某餐饮有限公司",
        "applicant_contact": "王五 13800000000",
        "item_name": "一窗受理测试事项",
        "materials_received": "申请书1份",
        "receipt_no": "SJ-2026-0001",
        "applicant_confirmed": True,
        "intake_route": "review",
    }
    act(engine, "WI-1", "register_application", "window01", registration)
    check = only_task(engine, "WI-1", "check_materials")
    engine.claim(check.id, actor="window01")
    web = login_as("window01")
    response = _post(web, check.id, "notice", {"missing_materials": "营业执照复印件；场所平面图"})
    assert response.status_code == 302
    notify = only_task(engine, "WI-1", "notify_missing")
    assert response.headers["Location"] == f"/officer/tasks/{notify.id}"
    assert notify.assignee == "window01"
    assert engine.get_task(check.id).data["check_result"] == "incomplete"
    page = _page(web, f"/officer/tasks/{notify.id}")
    assert 'value="营业执照复印件；场所平面图"' in page  # carried to the notice's form
    data = _complete_form(
        page, f_missing_notice_no="GZ-2026-001", f_missing_materials="营业执照复印件；场所平面图"
    )
    assert web.post(f"/officer/tasks/{notify.id}/complete", data=data).status_code == 302
    assert only_task(engine, "WI-1").element_id == "await_supplement"
    assert "clock_stop" in _actions(engine, "WI-1")


# -- return to an earlier step (退回) and add a signer (加签) ----------------------------------


def test_return_to_an_earlier_step_reopens_it_for_its_last_officer(
    permit: Engine, login_as: Login
) -> None:
    task = only_task(permit, "GP-1")
    permit.complete(task.id, actor="window01", data={"accepted": "yes"})
    handle = only_task(permit, "GP-1", "handle")
    permit.claim(handle.id, actor="zhangwei")
    web = login_as("zhangwei")
    page = _page(web, f"/officer/tasks/{handle.id}")
    assert '<option value="accept">受理</option>' in page
    bad = _post(web, handle.id, "return", {"to": "accept", "reason": ""})
    assert bad.status_code == 422 and "请填写理由" in bad.get_data(as_text=True)
    assert permit.get_task(handle.id).state == "open"
    bad = _post(web, handle.id, "return", {"to": "approve", "reason": "材料有误"})
    assert bad.status_code == 422  # not an earlier step
    response = _post(web, handle.id, "return", {"to": "accept", "reason": "受理材料缺页"})
    assert response.status_code == 302
    again = only_task(permit, "GP-1")
    assert again.element_id == "accept" and again.assignee == "window01"
    page = _page(login_as("window01"), f"/officer/tasks/{again.id}")
    assert "退回" in page and "受理材料缺页" in page


def test_add_a_signer_asks_them_to_sign_first(permit: Engine, login_as: Login) -> None:
    task = only_task(permit, "GP-1")
    web = login_as("window01")
    bad = _post(web, task.id, "signer", {"signer-person": "nobody", "signer-reason": "会签"})
    assert bad.status_code == 422 and "查无此人" in bad.get_data(as_text=True)
    response = _post(
        web, task.id, "signer", {"signer-person": "window02", "signer-reason": "请先会签"}
    )
    assert response.status_code == 302
    now = permit.get_task(task.id)
    assert now.assignee == "window02" and now.owner == "window01"
    page = _page(login_as("window02"), f"/officer/tasks/{task.id}")
    assert "加签" in page and "+ 刘洋" in page and "办结并交回" in page
