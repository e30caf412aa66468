"""The officer's pages: inbox (待办), task page, claiming; who may see and act on what."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

from flask.testing import FlaskClient
from lxml import etree

from engine import Engine, FakeClock
from tests.helpers import act, csrf_token, only_task, post_form

Login = Callable[..., FlaskClient]


def _text(response) -> str:  # type: ignore[no-untyped-def]
    assert response.status_code == 200, response.status_code
    return str(response.get_data(as_text=True))


def test_inbox_shows_the_window_officers_task(permit: Engine, login_as: Login) -> None:
    task = only_task(permit, "GP-1")
    page = _text(login_as("window01").get("/officer/inbox"))
    assert "GP-1" in page and "受理" in page
    assert f"/officer/tasks/{task.id}/claim" in page  # a claimable group task
    # due: 1 working day (the accept step's limit) after Monday 09:00, Beijing time
    assert "2026-11-24 17:30" in page
    assert "2 个工作日" in page  # left: all of Monday and Tuesday (business hours)


def test_inbox_of_an_officer_of_another_post_does_not_show_it(
    permit: Engine, login_as: Login
) -> None:
    page = _text(login_as("zhangwei").get("/officer/inbox"))
    assert "GP-1" not in page
    assert "没有可认领的任务" in page


def test_claim_by_post_takes_the_task(permit: Engine, login_as: Login) -> None:
    task = only_task(permit, "GP-1")
    web = login_as("window01")
    response = post_form(web, "/officer/inbox", f"/officer/tasks/{task.id}/claim")
    assert response.status_code == 302
    assert response.headers["Location"] == f"/officer/tasks/{task.id}"
    assert permit.get_task(task.id).assignee == "window01"
    page = _text(web.get(f"/officer/tasks/{task.id}"))
    assert "已认领任务" in page  # the flash message
    page = _text(web.get("/officer/inbox"))
    assert "我在办的（1）" in page and "可认领的（0）" in page


def test_claiming_twice_acts_once(permit: Engine, login_as: Login) -> None:
    task = only_task(permit, "GP-1")
    web = login_as("window01")
    page = _text(web.get("/officer/inbox"))
    token = csrf_token(page)
    for _press in range(2):
        response = web.post(f"/officer/tasks/{task.id}/claim", data={"csrf_token": token})
        assert response.status_code == 302
    claims = [h for h in permit.history("GP-1") if h.action == "claim"]
    assert len(claims) == 1
    assert "您已认领此任务" in _text(web.get(f"/officer/tasks/{task.id}"))


def test_claim_without_csrf_token_is_refused(permit: Engine, login_as: Login) -> None:
    task = only_task(permit, "GP-1")
    response = login_as("window01").post(f"/officer/tasks/{task.id}/claim")
    assert response.status_code == 400
    assert permit.get_task(task.id).assignee is None


def test_claiming_a_task_someone_else_holds_gets_the_403_page(
    permit: Engine, login_as: Login
) -> None:
    task = only_task(permit, "GP-1")
    permit.claim(task.id, actor="window02")
    web = login_as("window01")
    # window01 still sees the task (a candidate), held by window02
    page = _text(web.get(f"/officer/tasks/{task.id}"))
    assert "刘洋" in page
    token = csrf_token(page)
    response = web.post(f"/officer/tasks/{task.id}/claim", data={"csrf_token": token})
    assert response.status_code == 403
    text = response.get_data(as_text=True)
    assert "无权操作" in text and "window02" in text and "转办" in text
    assert permit.get_task(task.id).assignee == "window02"


def test_officer_of_another_department_cannot_see_or_claim_the_task(
    permit: Engine, login_as: Login
) -> None:
    task = only_task(permit, "GP-1")
    for person in ("zhangwei", "sunli"):  # housing and food officers: not window officers
        web = login_as(person)
        response = web.get(f"/officer/tasks/{task.id}")
        assert response.status_code == 404, person
        assert "GP-1" not in response.get_data(as_text=True)
        token = csrf_token(_text(web.get("/officer/inbox")))
        claim = web.post(f"/officer/tasks/{task.id}/claim", data={"csrf_token": token})
        assert claim.status_code == 404, person
    assert permit.get_task(task.id).assignee is None


def test_unknown_task_is_a_404_page(permit: Engine, login_as: Login) -> None:
    response = login_as("window01").get("/officer/tasks/no-such-task")
    assert response.status_code == 404
    assert "页面不存在" in response.get_data(as_text=True)


def test_task_page_shows_case_form_history_and_diagram(permit: Engine, login_as: Login) -> None:
    task = only_task(permit, "GP-1")
    page = _text(login_as("window01").get(f"/officer/tasks/{task.id}"))
    assert "某某建设有限公司" in page  # applicant
    assert "建筑工程施工许可" in page  # title
    assert "受理结论" in page and "不予受理" in page  # the task's form fields and choices
    assert "发起申请" in page  # history: the start
    svg = _svg(page)
    assert _state_of(svg, "accept") == "active"
    assert _state_of(svg, "handle") == "not_reached"


def test_task_page_diagram_marks_completed_and_overdue_steps(
    permit: Engine, clock: FakeClock, login_as: Login
) -> None:
    act(permit, "GP-1", "accept", "window01", {"accepted": "yes"}, "材料齐全，予以受理")
    handle = only_task(permit, "GP-1", "handle")
    assert handle.due_at is not None
    clock.advance(handle.due_at - clock.now() + timedelta(hours=1))
    web = login_as("zhangwei")
    page = _text(web.get(f"/officer/tasks/{handle.id}"))
    svg = _svg(page)
    assert _state_of(svg, "accept") == "completed"
    assert _state_of(svg, "handle") == "overdue"
    assert _state_of(svg, "review") == "not_reached"
    assert "材料齐全，予以受理" in page  # the opinion in the timeline
    assert "王晓燕" in page  # who accepted, by name
    inbox = _text(web.get("/officer/inbox"))
    assert 'class="late"' in inbox  # overdue in the inbox


def test_inbox_shows_yellow_and_red_cards(
    permit: Engine, clock: FakeClock, login_as: Login
) -> None:
    task = only_task(permit, "GP-1")
    assert task.due_at is not None
    clock.advance(task.due_at - clock.now() + timedelta(minutes=1))
    permit.fire_due_timers()
    assert any(c.task_id == task.id and c.color == "red" for c in permit.cards())
    page = _text(login_as("window01").get("/officer/inbox"))
    assert 'class="mark red"' in page


def test_inbox_needs_a_post_or_department(permit: Engine, login_as: Login) -> None:
    assert login_as("admin").get("/officer/inbox").status_code == 403


def _svg(page: str) -> etree._Element:
    found = re.search(r"<svg .*?</svg>", page, re.S)
    assert found, "no inline SVG diagram on the page"
    return etree.fromstring(found.group(0).encode())


def _state_of(svg: etree._Element, element_id: str) -> str | None:
    for el in svg.iter():
        if el.get("data-element-id") == element_id:
            for cls in (el.get("class") or "").split():
                if cls.startswith("state-"):
                    return cls.removeprefix("state-")
            return None
    raise AssertionError(f"{element_id} is not in the diagram")


def test_case_officer_of_another_department_does_not_see_the_handle_step(
    permit: Engine, login_as: Login
) -> None:
    act(permit, "GP-1", "accept", "window01", {"accepted": "yes"})
    handle = only_task(permit, "GP-1", "handle")  # a housing-permits case (item T-0101)
    assert "GP-1" in _text(login_as("zhangwei").get("/officer/inbox"))
    food_officer = login_as("sunli")  # market-food: not this case's department
    assert "GP-1" not in _text(food_officer.get("/officer/inbox"))
    assert food_officer.get(f"/officer/tasks/{handle.id}").status_code == 404
