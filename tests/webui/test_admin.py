"""The admin's pages (系统管理): who may open them, deploying, versions, organisation and
absences, holiday calendar, service items, timer incidents.

Cases (find, terminate, suspend, resume, migrate) are in ``test_admin_cases.py``.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from engine import Engine, FakeClock, timers
from engine.runtime import Call
from tests.conftest import GENERAL_PERMIT, ROOT, TEST_ITEMS, make_engine
from tests.helpers import DATA, csrf_token, post_form

Login = Callable[..., FlaskClient]

#: Every admin page a GET opens (with the ``permit`` fixture's data).
PAGES = [
    "/admin/",
    "/admin/deploy",
    "/admin/processes",
    "/admin/processes/general_permit/v1",
    "/admin/cases",
    "/admin/cases?process=general_permit",
    "/admin/cases?status=running",
    "/admin/cases?q=GP",
    "/admin/cases/GP-1",
    "/admin/organisation",
    "/admin/absences",
    "/admin/calendar",
    "/admin/calendar/2026",
    "/admin/items",
    "/admin/timers",
]
#: Values for the URL arguments of every admin route (the authorization matrix).
ROUTE_ARGS: dict[str, Any] = {
    "key": "GP-1",
    "process_id": "general_permit",
    "version": 1,
    "year": 2026,
    "absence_id": 1,
}


@pytest.fixture
def admin(login_as: Login) -> FlaskClient:
    return login_as("admin")


def _text(response: Any, status: int = 200) -> str:
    assert response.status_code == status, (response.status_code, response.get_data()[:300])
    return str(response.get_data(as_text=True))


def _admin_routes(app: Flask) -> list[tuple[str, str]]:
    """(method, url) of every admin route."""
    found: list[tuple[str, str]] = []
    with app.test_request_context():
        for rule in app.url_map.iter_rules():
            if not rule.endpoint.startswith("admin."):
                continue
            url = app.url_for(rule.endpoint, **{a: ROUTE_ARGS[a] for a in rule.arguments})
            found.extend((m, url) for m in sorted((rule.methods or set()) & {"GET", "POST"}))
    return found


def _upload(admin: FlaskClient, page: str, action: str, field: str, *files: tuple[str, bytes]):  # type: ignore[no-untyped-def]
    token = csrf_token(admin.get(page).get_data(as_text=True))
    data: dict[str, Any] = {
        "csrf_token": token,
        field: [(io.BytesIO(content), name) for name, content in files],
    }
    return admin.post(action, data=data, content_type="multipart/form-data")


def _deploy(admin: FlaskClient, *files: tuple[str, bytes]):  # type: ignore[no-untyped-def]
    return _upload(admin, "/admin/deploy", "/admin/deploy", "files", *files)


# -- who may open what ----------------------------------------------------------------------


@pytest.mark.parametrize("page", PAGES)
def test_every_admin_page_renders_for_the_admin(
    permit: Engine, admin: FlaskClient, page: str
) -> None:
    text = _text(admin.get(page))
    assert 'aria-current="page"' in text  # the admin area's navigation


def test_an_officer_gets_403_on_every_admin_route(
    permit: Engine, app: Flask, login_as: Login
) -> None:
    officer = login_as("window01")
    token = csrf_token(officer.get("/officer/inbox").get_data(as_text=True))
    routes = _admin_routes(app)
    assert len(routes) >= 20
    for method, url in routes:
        if method == "GET":
            response = officer.get(url)
        else:
            response = officer.post(url, data={"csrf_token": token, "reason": "x"})
        assert response.status_code == 403, (method, url, response.status_code)
    assert permit.get_case("GP-1").status == "running"


def test_anonymous_visitors_are_sent_to_the_login_page(permit: Engine, app: Flask) -> None:
    web = app.test_client()
    token = csrf_token(web.get("/login").get_data(as_text=True))
    for method, url in _admin_routes(app):
        response = web.get(url) if method == "GET" else web.post(url, data={"csrf_token": token})
        assert response.status_code == 302, (method, url)
        assert response.headers["Location"].startswith("/login"), (method, url)


def test_a_post_without_the_csrf_token_is_refused(permit: Engine, admin: FlaskClient) -> None:
    response = admin.post("/admin/cases/GP-1/terminate", data={"terminate-reason": "x"})
    assert response.status_code == 400
    assert permit.get_case("GP-1").status == "running"


def test_start_page_shows_counts(permit: Engine, admin: FlaskClient) -> None:
    text = _text(admin.get("/admin/"))
    assert "3 个流程，3 个版本" in text  # general_permit and the two it calls
    assert "1 件办理中" in text
    assert "0 个待处理" in text


# -- deploying and versions ------------------------------------------------------------------


def test_deploying_a_file_lists_the_new_version(engine: Engine, admin: FlaskClient) -> None:
    response = _deploy(admin, ("three_step.bpmn", (DATA / "three_step.bpmn").read_bytes()))
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/processes"
    text = _text(admin.get("/admin/processes"))
    assert "已发布新版本：three_step 第 1 版" in text
    assert "/admin/processes/three_step/v1" in text
    assert [d.deployed_by for d in engine.definitions("three_step")] == ["admin"]


def test_deploying_several_files_as_one_bundle(engine: Engine, admin: FlaskClient) -> None:
    response = _deploy(admin, *((p.name, p.read_bytes()) for p in GENERAL_PERMIT))
    assert response.status_code == 302
    assert {d.process_id for d in engine.definitions()} == {
        "general_permit",
        "extension_request",
        "special_procedure",
    }


def test_identical_upload_makes_no_new_version(engine: Engine, admin: FlaskClient) -> None:
    content = (DATA / "three_step.bpmn").read_bytes()
    _deploy(admin, ("three_step.bpmn", content))
    admin.get("/admin/processes")  # the first flash is read
    response = _deploy(admin, ("three_step.bpmn", content))
    assert response.status_code == 302
    text = _text(admin.get("/admin/processes"))
    assert "three_step 的内容与已发布的第 1 版相同，未产生新版本" in text
    assert [d.version for d in engine.definitions("three_step")] == [1]
    changed = content.replace('name="三级审批"'.encode(), 'name="三级审批（修订）"'.encode())
    _deploy(admin, ("three_step.bpmn", changed))
    assert "已发布新版本：three_step 第 2 版" in _text(admin.get("/admin/processes"))


def test_a_bad_diagram_lists_its_problems_by_element_and_deploys_nothing(
    engine: Engine, admin: FlaskClient
) -> None:
    xml = (
        (DATA / "loop.bpmn")
        .read_bytes()
        .replace(
            b'<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="work" />',
            b'<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="sneaky" />'
            b'<bpmn:scriptTask id="sneaky" scriptFormat="python"><bpmn:script>'
            b"import os\nos.popen('id')</bpmn:script></bpmn:scriptTask>"
            b'<bpmn:sequenceFlow id="f1b" sourceRef="sneaky" targetRef="work" />',
        )
    )
    good = (DATA / "three_step.bpmn").read_bytes()
    text = _text(_deploy(admin, ("loop.bpmn", xml), ("three_step.bpmn", good)), 422)
    assert "未发布：发现 1 个问题" in text
    assert "<td>loop.bpmn</td><td><code>sneaky</code></td>" in text
    assert "import" in text
    assert engine.definitions() == []  # the good file of the bundle is not deployed either


def test_hostile_xml_is_rejected(engine: Engine, admin: FlaskClient) -> None:
    xxe = (
        b'<?xml version="1.0"?>\n<!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
        b'<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL">'
        b"<bpmn:process id='evil'>&xxe;</bpmn:process></bpmn:definitions>"
    )
    text = _text(_deploy(admin, ("evil.bpmn", xxe)), 422)
    assert "DOCTYPE" in text
    assert "root:" not in text
    assert engine.definitions() == []


def test_a_file_of_another_type_is_refused(engine: Engine, admin: FlaskClient) -> None:
    text = _text(_deploy(admin, ("notes.txt", b"hello")), 422)
    assert "文件类型不支持" in text and "notes.txt" in text
    assert engine.definitions() == []


def test_deploying_without_a_file_says_what_to_do(engine: Engine, admin: FlaskClient) -> None:
    text = _text(post_form(admin, "/admin/deploy", "/admin/deploy"), 422)
    assert "请选择至少一个文件" in text


def test_an_upload_over_the_size_limit_gets_a_clear_page(
    engine: Engine, app: Flask, admin: FlaskClient
) -> None:
    app.config["MAX_CONTENT_LENGTH"] = 4096
    token = csrf_token(admin.get("/admin/deploy").get_data(as_text=True))
    response = admin.post(
        "/admin/deploy",
        data={"csrf_token": token, "files": [(io.BytesIO(b"x" * 10_000), "big.bpmn")]},
        content_type="multipart/form-data",
    )
    text = _text(response, 413)
    assert "上传的内容太大（上限 4 KB）" in text
    assert engine.definitions() == []


def test_the_version_page_shows_the_diagram_and_the_cases_on_it(
    permit: Engine, admin: FlaskClient
) -> None:
    text = _text(admin.get("/admin/processes/general_permit/v1"))
    assert "<svg" in text
    assert "GP-1" in text and "1 件" in text
    assert _text(admin.get("/admin/processes")).count('href="/admin/cases?process=general_permit"')
    source = admin.get("/admin/processes/general_permit/v1.bpmn")
    assert source.status_code == 200
    assert b'id="general_permit"' in source.data
    assert admin.get("/admin/processes/general_permit/v9").status_code == 404


# -- organisation and absences --------------------------------------------------------------


def test_the_organisation_page_lists_departments_posts_and_people(
    engine: Engine, admin: FlaskClient
) -> None:
    text = _text(admin.get("/admin/organisation"))
    assert "建筑管理科" in text  # a department
    assert "window-b" in text or "B 岗" in text
    assert "zhangwei" in text and "admin" in text  # people and a role


def test_absence_is_added_and_cancelled(engine: Engine, admin: FlaskClient) -> None:
    response = post_form(
        admin,
        "/admin/absences",
        "/admin/absences",
        {
            "person_id": "zhangwei",
            "starts_on": "2026-11-24",
            "ends_on": "2026-11-26",
            "reason": "年休假",
        },
    )
    assert response.status_code == 302
    [absence] = engine.absences("zhangwei")
    assert absence.created_by == "admin"
    text = _text(admin.get("/admin/absences"))
    assert "已登记 zhangwei 请假" in text and "年休假" in text and "未开始" in text
    response = post_form(admin, "/admin/absences", f"/admin/absences/{absence.id}/cancel")
    assert response.status_code == 302
    assert engine.absences("zhangwei")[0].cancelled_at is not None
    assert "已取消该请假登记" in _text(admin.get("/admin/absences"))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"person_id": "nobody", "starts_on": "2026-11-24", "ends_on": "2026-11-25"},
            "没有账号为 nobody 的人员",
        ),
        (
            {"person_id": "zhangwei", "starts_on": "2026-11-25", "ends_on": "2026-11-24"},
            "结束日期不能早于开始日期",
        ),
        ({"person_id": "zhangwei", "starts_on": "", "ends_on": "2026-11-24"}, "请填写开始日期"),
    ],
)
def test_a_wrong_absence_is_refused_with_a_reason(
    engine: Engine, admin: FlaskClient, data: dict[str, str], message: str
) -> None:
    text = _text(post_form(admin, "/admin/absences", "/admin/absences", data), 422)
    assert message in text
    assert engine.absences() == []


# -- holiday calendar ------------------------------------------------------------------------


def _calendar_upload(admin: FlaskClient, content: bytes, **extra: str):  # type: ignore[no-untyped-def]
    token = csrf_token(admin.get("/admin/calendar").get_data(as_text=True))
    data: dict[str, Any] = {
        "csrf_token": token,
        "file": (io.BytesIO(content), "year.toml"),
        **extra,
    }
    return admin.post("/admin/calendar", data=data, content_type="multipart/form-data")


def test_calendar_year_is_imported_from_an_upload(engine: Engine, admin: FlaskClient) -> None:
    content = (ROOT / "demo" / "holidays-2027.example.toml").read_bytes()
    response = _calendar_upload(admin, content, replace="y")
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/calendar/2027"
    text = _text(admin.get("/admin/calendar/2027"))
    assert "已导入 2027 年节假日安排" in text
    assert "2027-02-08" in text and "春节" in text
    assert 2027 in [y["year"] for y in engine.calendar_years()]
    assert "EXAMPLE" in _text(admin.get("/admin/calendar"))


def test_a_bad_calendar_file_lists_its_problems(engine: Engine, admin: FlaskClient) -> None:
    before = engine.calendar_years()
    text = _text(_calendar_upload(admin, b'year = 2031\nsource = "x"\nbogus = 1\n'), 422)
    assert "未导入：文件有误" in text and "bogus" in text
    assert engine.calendar_years() == before


def test_an_unknown_calendar_year_says_so(engine: Engine, admin: FlaskClient) -> None:
    response = admin.get("/admin/calendar/2099")
    assert response.status_code == 302
    assert "尚未导入 2099 年的节假日安排" in _text(admin.get(response.headers["Location"]))


# -- service items ---------------------------------------------------------------------------


def _items_upload(admin: FlaskClient, content: bytes, name: str = "items.toml"):  # type: ignore[no-untyped-def]
    token = csrf_token(admin.get("/admin/items").get_data(as_text=True))
    data = {"csrf_token": token, "file": (io.BytesIO(content), name)}
    return admin.post("/admin/items", data=data, content_type="multipart/form-data")


def test_service_items_are_loaded_from_an_upload(engine: Engine, admin: FlaskClient) -> None:
    content = (TEST_ITEMS / "test-items.toml").read_bytes()
    response = _items_upload(admin, content)
    assert response.status_code == 302
    text = _text(admin.get("/admin/items"))
    assert "已导入" in text and "T-0101" in text and "测试事项（一般许可）" in text
    assert "T-0101" in [i.code for i in engine.service_items()]


def test_a_bad_items_file_lists_every_problem_and_changes_nothing(
    engine: Engine, admin: FlaskClient
) -> None:
    bad = (
        b'[[items]]\ncode = "X-1"\nname = "a"\n\n'
        b'[[items]]\ncode = "X-2"\nname = "b"\ndepartment = "housing-permits"\n'
    )
    text = _text(_items_upload(admin, bad), 422)
    assert "未导入：文件有误" in text
    assert text.count("<li>items.toml: item #") >= 2  # one line per item with problems
    assert engine.service_items() == []
    text = _text(_items_upload(admin, b"not toml ["), 422)
    assert "not a valid TOML file" in text
    text = _text(_items_upload(admin, b"", name="items.txt"), 422)
    assert "请上传 .toml 文件" in text


# -- timer incidents -------------------------------------------------------------------------

BROKEN = "test_admin_broken"
BROKEN_NOW = {"failing": True}


@timers.rule(BROKEN)
def _broken(call: Call, timer: timers.DueTimer) -> None:
    if BROKEN_NOW["failing"]:
        raise RuntimeError("the mail gateway is down")


@pytest.fixture
def incident_engine(db_url: str, clock: FakeClock) -> Iterator[Engine]:
    """An engine whose timers become incidents after one failed attempt."""
    eng = make_engine(db_url, clock, timer_attempts=1)
    yield eng
    eng.dispose()


@pytest.fixture
def incident_app(incident_engine: Engine) -> Flask:
    from webui import create_app
    from webui.config import TEST_CONFIG

    return create_app(TEST_CONFIG, engine=incident_engine)


def test_a_timer_incident_is_listed_and_retried(
    incident_engine: Engine, incident_app: Flask, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.helpers import log_in

    with incident_engine.runtime.call() as call:
        timer_id = timers.schedule(call, rule=BROKEN, ref="r1", due_at=clock.now())
    clock.advance(timedelta(minutes=1))
    incident_engine.fire_due_timers()
    [incident] = incident_engine.timers(state="incident")
    assert incident.id == timer_id

    admin = incident_app.test_client()
    log_in(admin, "admin")
    text = _text(admin.get("/admin/timers"))
    assert timer_id in text and "the mail gateway is down" in text
    assert "1 个待处理" in _text(admin.get("/admin/"))

    monkeypatch.setitem(BROKEN_NOW, "failing", False)
    response = post_form(admin, "/admin/timers", "/admin/timers/retry", {"timer_id": timer_id})
    assert response.status_code == 302
    text = _text(admin.get("/admin/timers"))
    assert f"定时任务 {timer_id} 已重新排队" in text
    assert "没有定时任务故障" in text
    assert incident_engine.timers(state="incident") == []
    assert incident_engine.fire_due_timers() == 1
    assert incident_engine.timers(state="fired")[0].id == timer_id

    response = post_form(admin, "/admin/timers", "/admin/timers/retry", {"timer_id": timer_id})
    assert "无法重试" in _text(admin.get(response.headers["Location"]))  # fired: no retry
