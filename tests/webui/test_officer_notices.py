"""Notices on the officer's pages (督办、催办): listed for the people they are addressed to,
answered with what was done; escalations must be answered."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from flask.testing import FlaskClient

from engine import Engine
from engine.clock import FakeClock
from tests.helpers import csrf_token, only_task

Login = Callable[..., FlaskClient]


def _escalated(permit: Engine, clock: FakeClock) -> int:
    """Let GP-1's acceptance run late: the housing bureau head (zhaomin) gets level 1."""
    clock.advance(timedelta(days=3))
    permit.fire_due_timers()
    notices = permit.notices("zhaomin")
    assert [n.kind for n in notices] == ["escalation"]
    return notices[0].id


def test_inbox_links_to_the_notices_page(permit: Engine, login_as: Login) -> None:
    page = login_as("window01").get("/officer/inbox").get_data(as_text=True)
    assert "/officer/notices" in page


def test_urge_shows_to_the_holder_who_answers_it(permit: Engine, login_as: Login) -> None:
    task = only_task(permit, "GP-1", "accept")
    permit.claim(task.id, actor="window01")
    urged = permit.urge(task.id, actor="supervisor01", message="请尽快受理")
    web = login_as("window01")
    page = web.get("/officer/notices").get_data(as_text=True)
    assert "催办" in page and "请尽快受理" in page and "GP-1" in page
    answer = web.post(
        f"/officer/notices/{urged.id}/answer",
        data={"csrf_token": csrf_token(page), f"n{urged.id}-response": "今日办理"},
    )
    assert answer.status_code == 302
    assert permit.notices("window01") == []
    page = web.get("/officer/notices").get_data(as_text=True)
    assert "没有待答复的通知" in page and "今日办理" in page


def test_an_escalation_without_an_answer_is_refused_and_stays_open(
    permit: Engine, clock: FakeClock, login_as: Login
) -> None:
    notice_id = _escalated(permit, clock)
    web = login_as("zhaomin")
    page = web.get("/officer/notices").get_data(as_text=True)
    assert "督办" in page
    refused = web.post(
        f"/officer/notices/{notice_id}/answer",
        data={"csrf_token": csrf_token(page), f"n{notice_id}-response": ""},
    )
    assert refused.status_code == 422
    assert "必须答复" in refused.get_data(as_text=True)
    assert [n.id for n in permit.notices("zhaomin")] == [notice_id]


def test_a_notice_addressed_to_someone_else_cannot_be_answered(
    permit: Engine, clock: FakeClock, login_as: Login
) -> None:
    notice_id = _escalated(permit, clock)
    web = login_as("zhengqiang")  # head of another bureau
    page = web.get("/officer/notices").get_data(as_text=True)
    assert f"notice-{notice_id}" not in page
    refused = web.post(
        f"/officer/notices/{notice_id}/answer",
        data={"csrf_token": csrf_token(page), f"n{notice_id}-response": "已督促"},
    )
    assert refused.status_code == 403
    assert [n.id for n in permit.notices("zhaomin")] == [notice_id]


def test_answering_twice_says_it_was_answered(
    permit: Engine, clock: FakeClock, login_as: Login
) -> None:
    notice_id = _escalated(permit, clock)
    web = login_as("zhaomin")
    token = csrf_token(web.get("/officer/notices").get_data(as_text=True))
    data = {"csrf_token": token, f"n{notice_id}-response": "已督促窗口办理"}
    assert web.post(f"/officer/notices/{notice_id}/answer", data=data).status_code == 302
    again = web.post(f"/officer/notices/{notice_id}/answer", data=data, follow_redirects=True)
    assert again.status_code == 200
    assert "已经答复过了" in again.get_data(as_text=True)
