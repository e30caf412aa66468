"""The officer's done (已办), case and search pages, and who may open which officer route."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask.testing import FlaskClient

from engine import Engine
from tests.helpers import act, csrf_token, only_task

Login = Callable[..., FlaskClient]


@pytest.fixture
def permit(permit: Engine) -> Engine:
    """GP-1 (item T-0101, housing) with its acceptance step held by window01."""
    permit.claim(only_task(permit, "GP-1").id, actor="window01")
    return permit


def _page(web: FlaskClient, url: str) -> str:
    response = web.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return str(response.get_data(as_text=True))


def test_done_lists_what_the_person_completed(permit: Engine, login_as: Login) -> None:
    web = login_as("window01")
    assert "您还没有办理完成的任务" in _page(web, "/officer/done")
    act(permit, "GP-1", "accept", "window01", {"accepted": "yes"}, "同意受理")
    page = _page(web, "/officer/done")
    assert "GP-1" in page and "受理" in page and "同意受理" in page
    assert "/officer/done" in _page(web, "/officer/inbox")  # linked from the inbox


def test_case_page_shows_summary_open_steps_and_timeline(permit: Engine, login_as: Login) -> None:
    act(permit, "GP-1", "accept", "window01", {"accepted": "yes"}, "同意受理")
    handle = only_task(permit, "GP-1", "handle")
    page = _page(login_as("window01"), "/officer/cases/GP-1")  # held a step: may look
    assert "某某建设有限公司" in page and "建筑工程施工许可" in page
    assert f"/officer/tasks/{handle.id}" in page and "承办" in page  # the open step
    assert "王晓燕" in page and "办理完成" in page and "同意受理" in page  # timeline
    assert "<svg" in page
    assert "GP-1" in _page(login_as("zhangwei"), "/officer/cases/GP-1")  # may claim handle


def test_case_page_is_404_for_people_without_a_task_of_it(permit: Engine, login_as: Login) -> None:
    for person in ("sunli", "zhangwei"):  # not (yet) a step of theirs
        response = login_as(person).get("/officer/cases/GP-1")
        assert response.status_code == 404, person
        assert "建筑工程施工许可" not in response.get_data(as_text=True)
    assert login_as("window01").get("/officer/cases/NO-SUCH").status_code == 404


def test_search_finds_visible_cases_by_number_or_applicant(permit: Engine, login_as: Login) -> None:
    web = login_as("window01")
    assert 'name="q"' in _page(web, "/officer/inbox")
    page = _page(web, "/officer/search?q=GP-1")
    assert "/officer/cases/GP-1" in page
    page = _page(web, "/officer/search?q=某某建设")
    assert "/officer/cases/GP-1" in page
    page = _page(web, "/officer/search?q=GP-404")
    assert "没有找到" in page
    other = _page(login_as("sunli"), "/officer/search?q=GP-1")
    assert "/officer/cases/GP-1" not in other and "没有找到" in other
    assert "查找办件" in _page(web, "/officer/search")  # no query: just the box


# -- authorization table ----------------------------------------------------------------------

PAGES = ("/officer/inbox", "/officer/done", "/officer/search?q=GP-1")
TASK_PAGES = ("/officer/tasks/{task}", "/officer/cases/GP-1")
TASK_ACTIONS = (
    "claim",
    "complete",
    "transfer",
    "delegate",
    "resolve",
    "signer",
    "return",
    "extension",
    "stop-clock",
    "resume-clock",
    "notice",
    "unclaim",  # last: it gives the task back (the holder test stops holding it)
)


def _routes(task_id: str) -> list[tuple[str, str, bool]]:
    """(method, url, of the task) for every officer route."""
    routes = [("GET", url, False) for url in PAGES]
    routes += [("GET", url.format(task=task_id), True) for url in TASK_PAGES]
    routes += [("POST", f"/officer/tasks/{task_id}/{a}", True) for a in TASK_ACTIONS]
    return routes


def _call(web: FlaskClient, method: str, url: str, token: str):  # type: ignore[no-untyped-def]
    if method == "GET":
        return web.get(url)
    return web.post(url, data={"csrf_token": token})


def test_anonymous_visitors_are_sent_to_the_login_page(permit: Engine, client: FlaskClient) -> None:
    token = csrf_token(client.get("/login").get_data(as_text=True))
    for method, url, _ in _routes(only_task(permit, "GP-1").id):
        response = _call(client, method, url, token)
        assert response.status_code == 302, (method, url)
        assert response.headers["Location"].startswith("/login"), (method, url)


def test_an_admin_without_posts_gets_403(permit: Engine, login_as: Login) -> None:
    web = login_as("admin")
    token = csrf_token(_page(web, "/"))
    for method, url, _ in _routes(only_task(permit, "GP-1").id):
        assert _call(web, method, url, token).status_code == 403, (method, url)


def test_an_officer_of_another_department_gets_404_for_the_task(
    permit: Engine, login_as: Login
) -> None:
    task = only_task(permit, "GP-1")
    before = len(permit.history("GP-1"))
    web = login_as("sunli")
    token = csrf_token(_page(web, "/officer/inbox"))
    for method, url, of_task in _routes(task.id):
        expected = 404 if of_task else 200
        assert _call(web, method, url, token).status_code == expected, (method, url)
    assert len(permit.history("GP-1")) == before


def test_the_holder_may_open_and_use_every_route(permit: Engine, login_as: Login) -> None:
    task = only_task(permit, "GP-1")
    web = login_as("window01")
    token = csrf_token(_page(web, "/officer/inbox"))
    for method, url, _ in _routes(task.id):
        response = _call(web, method, url, token)
        if method == "GET":
            assert response.status_code == 200, (method, url)
        else:  # an empty form: refused for its content or state, never for who asks
            assert response.status_code in (302, 409, 422), (url, response.status_code)
    assert permit.get_task(task.id).state == "open"
