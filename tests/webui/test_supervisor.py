"""The supervision pages (监察): dashboard, case page, figures, records and their review,
a person's history, flagged people, and who may open them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from flask.testing import FlaskClient

from engine import Engine
from engine.clock import FakeClock
from tests.engine.test_dashboard import NOW, seed
from tests.helpers import csrf_token, only_task

Login = Callable[..., FlaskClient]

PAGES = (
    "/supervision/",
    "/supervision/charts",
    "/supervision/figures",
    "/supervision/records",
    "/supervision/flagged",
    "/supervision/people/zhangwei",
    "/supervision/export.csv",
    "/supervision/export.xlsx",
)


@pytest.fixture
def seeded(engine: Engine, clock: FakeClock) -> Engine:
    """The dashboard data set of the engine tests, the clock at its moment."""
    clock.set(NOW)
    seed(engine)
    return engine


def _page(web: FlaskClient, url: str) -> str:
    response = web.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return str(response.get_data(as_text=True))


# -- who may open the pages ---------------------------------------------------------------------


@pytest.mark.parametrize("person", ["window01", "sunli", "admin"])
def test_supervision_pages_are_forbidden_to_others(
    seeded: Engine, login_as: Login, person: str
) -> None:
    web = login_as(person)
    for url in (*PAGES, "/supervision/cases/DB-1", "/supervision/records/1"):
        assert web.get(url).status_code == 403, (person, url)
    assert "/supervision/" not in _page(web, "/account/tokens")  # no navigation entry either


def test_supervision_pages_send_visitors_to_the_login_page(client: FlaskClient) -> None:
    for url in PAGES:
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"], url


def test_supervisor_reaches_every_page_from_the_navigation(seeded: Engine, login_as: Login) -> None:
    web = login_as("supervisor01")
    assert 'href="/supervision/"' in _page(web, "/account/tokens")
    for url in PAGES:
        assert web.get(url).status_code == 200, url


# -- the dashboard ------------------------------------------------------------------------------


def test_dashboard_shows_cards_overdue_nearing_deemed_and_complaints(
    seeded: Engine, login_as: Login
) -> None:
    page = _page(login_as("supervisor01"), "/supervision/")
    assert "建筑管理科" in page and "食品经营监管科" in page  # departments by name
    assert '<span class="mark red">2</span>' in page  # housing's red cards
    # overdue steps and cases link to the supervisor's case page, with holders by name
    assert 'href="/supervision/cases/DB-1"' in page and "张伟" in page and "受理" in page
    assert "甲公司施工许可" in page and "审核（陈杰）" in page
    assert "DB-4" in page and "DB-9" in page  # nearing their limits
    assert 'href="/supervision/records/3"' in page  # the deemed acceptance
    assert "视为受理" in page and "确认过错" in page
    assert "投诉：办件拖延" in page  # the open complaint


def test_dashboard_of_one_department(seeded: Engine, login_as: Login) -> None:
    page = _page(login_as("supervisor01"), "/supervision/?department=market-food")
    assert "DB-9" in page and "DB-1" not in page and "投诉：办件拖延" not in page


def test_dashboard_refuses_an_unknown_department(seeded: Engine, login_as: Login) -> None:
    response = login_as("supervisor01").get("/supervision/?department=nowhere")
    assert response.status_code == 422
    assert "不是有效的选择" in response.get_data(as_text=True)


# -- the case page -------------------------------------------------------------------------------


def test_supervisor_opens_any_case_read_only(permit: Engine, login_as: Login) -> None:
    web = login_as("supervisor01")
    assert web.get("/officer/cases/GP-1").status_code == 404  # not a step of theirs
    page = _page(web, "/supervision/cases/GP-1")
    assert "建筑工程施工许可" in page and "某某建设有限公司" in page
    assert "受理" in page and "<svg" in page  # open step and diagram
    assert "/officer/tasks/" not in page  # nothing to act on here
    assert web.get("/supervision/cases/NO-SUCH").status_code == 404


def test_case_page_lists_the_case_records(
    permit: Engine, clock: FakeClock, login_as: Login
) -> None:
    permit.claim(only_task(permit, "GP-1").id, actor="window01")
    clock.advance(timedelta(days=5))  # 受理 (due next working day) runs late
    permit.fire_due_timers()
    [record] = permit.fault_records(case="GP-1", kind="overdue_step")
    page = _page(login_as("supervisor01"), "/supervision/cases/GP-1")
    assert f'href="/supervision/records/{record.id}"' in page and "环节超期" in page
    assert "红牌" in page


# -- figures -----------------------------------------------------------------------------------


def test_figures_page_shows_department_and_person_figures(seeded: Engine, login_as: Login) -> None:
    page = _page(login_as("supervisor01"), "/supervision/figures?start=2026-11-01&end=2026-11-30")
    assert "部门绩效" in page and "个人绩效" in page
    assert "食品经营监管科" in page and "0.0%" in page  # case 3 completed late
    assert "孙丽" in page and 'href="/supervision/people/sunli"' in page
    assert "export.xlsx?start=2026-11-01&amp;end=2026-11-30" in page


def test_figures_page_filters_one_department(seeded: Engine, login_as: Login) -> None:
    page = _page(
        login_as("supervisor01"),
        "/supervision/figures?start=2026-11-01&end=2026-11-30&department=market-food",
    )
    assert "孙丽" in page and "张伟" not in page
    assert "department=market-food" in page  # the exports keep the filter


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("start=2026-11-30&end=2026-11-01", "结束日期不能早于开始日期"),
        ("start=2024-01-01&end=2026-11-01", "查询期间最长一年"),
        ("start=yesterday", "不是有效的日期值"),
    ],
)
def test_figures_page_refuses_a_bad_period(
    seeded: Engine, login_as: Login, query: str, message: str
) -> None:
    response = login_as("supervisor01").get(f"/supervision/figures?{query}")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert message in page and "部门绩效" not in page


# -- accountability records and their review ---------------------------------------------


def test_records_list_filters_by_kind_decision_and_person(seeded: Engine, login_as: Login) -> None:
    web = login_as("supervisor01")
    page = _page(web, "/supervision/records")
    for record_id in (1, 3, 4):
        assert f'href="/supervision/records/{record_id}"' in page
    page = _page(web, "/supervision/records?kind=deemed_acceptance")
    assert 'href="/supervision/records/3"' in page and 'href="/supervision/records/1"' not in page
    page = _page(web, "/supervision/records?decision=pending&person=zhangwei")
    assert 'href="/supervision/records/1"' in page and 'href="/supervision/records/3"' not in page
    assert web.get("/supervision/records?decision=maybe").status_code == 422


def test_review_confirms_then_a_later_review_excuses(seeded: Engine, login_as: Login) -> None:
    web = login_as("supervisor01")
    page = _page(web, "/supervision/records/1")
    assert "尚未审核" in page and "视为同意（默许）" in page and "通报批评" in page
    token = csrf_token(page)
    response = web.post(
        "/supervision/records/1/review",
        data={"csrf_token": token, "decision": "confirmed", "level": "circulated_criticism"},
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/supervision/records/1")
    page = _page(web, "/supervision/records/1")
    assert "已确认过错" in page and "通报批评" in page and "黄磊" in page  # the reviewer
    [record] = seeded.fault_records(kind="deemed_consent")
    assert (record.decision, record.level, record.reviewed_by) == (
        "confirmed",
        "circulated_criticism",
        "supervisor01",
    )
    web.post(
        "/supervision/records/1/review",
        data={"csrf_token": token, "decision": "excused", "reason": "系统故障，非本人原因"},
    )
    [record] = seeded.fault_records(kind="deemed_consent")
    assert (record.decision, record.level, record.reason) == (
        "excused",
        None,
        "系统故障，非本人原因",
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"decision": "excused", "reason": "  "}, "免责必须说明理由"),
        ({"decision": "confirmed"}, "确认过错必须选择过错等级"),
        ({"decision": "confirmed", "level": "beheading"}, "不是有效的选择"),
        ({"reason": "无结论"}, "请选择审核结论"),
    ],
)
def test_review_refuses_incomplete_input_and_changes_nothing(
    seeded: Engine, login_as: Login, data: dict[str, str], message: str
) -> None:
    web = login_as("supervisor01")
    token = csrf_token(_page(web, "/supervision/records/1"))
    response = web.post("/supervision/records/1/review", data={"csrf_token": token, **data})
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert seeded.fault_records(kind="deemed_consent")[0].decision is None


def test_review_needs_the_csrf_token(seeded: Engine, login_as: Login) -> None:
    response = login_as("supervisor01").post(
        "/supervision/records/1/review", data={"decision": "excused", "reason": "不可抗力"}
    )
    assert response.status_code == 400
    assert seeded.fault_records(kind="deemed_consent")[0].decision is None


def test_a_review_is_not_a_record_of_its_own(seeded: Engine, login_as: Login) -> None:
    web = login_as("supervisor01")
    assert web.get("/supervision/records/5").status_code == 404  # record 5 is a review
    assert web.get("/supervision/records/999").status_code == 404
    token = csrf_token(_page(web, "/supervision/records/1"))
    response = web.post(
        "/supervision/records/999/review",
        data={"csrf_token": token, "decision": "excused", "reason": "x"},
    )
    assert response.status_code == 404


# -- a person's history and flagged people ---------------------------------------------------------


def _confirm(engine: Engine, *record_ids: int) -> None:
    for record_id in record_ids:
        engine.review_fault(record_id, decision="confirmed", actor="supervisor01", level="warning")


def test_three_confirmed_faults_in_a_year_flag_the_person(seeded: Engine, login_as: Login) -> None:
    web = login_as("supervisor01")
    _confirm(seeded, 1, 4)
    assert "张伟" not in _page(web, "/supervision/flagged?year=2026")
    _confirm(seeded, 2)  # the deemed acceptance of 40 days ago: also 2026
    page = _page(web, "/supervision/flagged?year=2026")
    assert "张伟" in page and 'href="/supervision/people/zhangwei"' in page
    assert "张伟" not in _page(web, "/supervision/flagged?year=2025")
    page = _page(web, "/supervision/people/zhangwei")
    assert "年度考核不合格" in page and "警告" in page
    for record_id in (1, 2, 4):
        assert f'href="/supervision/records/{record_id}"' in page


def test_person_history_of_someone_unknown_is_not_found(seeded: Engine, login_as: Login) -> None:
    assert login_as("supervisor01").get("/supervision/people/nobody").status_code == 404


def test_flagged_refuses_a_nonsense_year(seeded: Engine, login_as: Login) -> None:
    web = login_as("supervisor01")
    assert web.get("/supervision/flagged?year=abc").status_code == 422
    assert web.get("/supervision/flagged?year=1900").status_code == 422
