"""The authorization matrix: every route of the app × every kind of person.

Each route has one rule (``RULES``), and the test asks every route as each person:

* ``anonymous``: not logged in (no token for the API);
* ``holder``: ``window01``, who holds the case's current step (受理) and is a window
  officer;
* ``other_officer``: ``sunli``, a case officer of another department (market-food);
* ``supervisor``: ``supervisor01``, an officer of the supervision office;
* ``admin``: ``admin``, an administrator with no post;
* ``applicant``: ``zhangsan``, an applicant account of the portal who owns a case of
  their own, logged in through ``/portal/login``. Unless a rule says otherwise they get
  what a visitor gets (they are not officers); the portal pages of another applicant's
  case (GP-1, a material of 李四's case) answer them 404.

Every answer is "allowed" (anything but 401, 403, 404 and a server error; a form sent
empty may well be refused with 422 or 409, that is still allowed) or the status the
rule names. A route missing from ``RULES`` fails the test, so a new route cannot skip
the matrix. Forms are posted empty (with their CSRF token): nothing the matrix sends
may change anything, and where an empty form still acts (``unclaim``) the holder takes
the task back before the next route.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from flask import Flask
from flask.testing import FlaskClient

from engine import Engine, Upload
from tests.conftest import GENERAL_PERMIT, TEST_ITEMS
from tests.helpers import csrf_token, log_in, only_task
from tests.webui.portal_support import log_in_applicant

PEOPLE = {
    "anonymous": None,
    "holder": "window01",
    "other_officer": "sunli",
    "supervisor": "supervisor01",
    "admin": "admin",
    "applicant": "zhangsan",
}
ALLOWED = "allowed"
LOGIN = "login"  # redirected to the login page
APPLICANT_PASSWORD = "secret-pass-1"  # noqa: S105  (a test account)
MISSING_OBJECT = 999_999  # ids of absences, tokens: an admin may get 404 for these


@dataclass(frozen=True)
class Rule:
    """Who may use a route: the answer per kind of person (``ALLOWED`` if not named)."""

    anonymous: object = LOGIN
    holder: object = ALLOWED
    other_officer: object = ALLOWED
    supervisor: object = ALLOWED
    admin: object = ALLOWED
    missing_object_ok: bool = False  # the URL names an object that does not exist
    applicant: object = None  # None: as ``anonymous``

    def expected(self, who: str) -> object:
        value: object = getattr(self, who)
        if value is None and who == "applicant":
            return self.anonymous
        return value


PUBLIC = Rule(anonymous=ALLOWED)
LOGGED_IN = Rule()
#: pages of one task or case of another department: "not found" (404), never 403
OFFICER_OBJECT = Rule(other_officer=404, supervisor=404, admin=403)
OFFICER = Rule(admin=403)
ADMIN = Rule(holder=403, other_officer=403, supervisor=403)
ADMIN_MISSING = Rule(holder=403, other_officer=403, supervisor=403, missing_object_ok=True)
API_PUBLIC = Rule(anonymous=ALLOWED)
API_LOGGED_IN = Rule(anonymous=401)
API_OFFICER = Rule(anonymous=401, admin=403)
API_TASK = Rule(anonymous=401, other_officer=404, supervisor=404, admin=403)
API_CASE = Rule(anonymous=401, other_officer=404)
API_ADMIN = Rule(anonymous=401, holder=403, other_officer=403, supervisor=403)
API_START = Rule(anonymous=401, other_officer=403, supervisor=403)
#: the portal: public pages, pages of a logged-in applicant, pages of one applicant's case
#: (officers are not applicants: the portal's login page)
PORTAL_PUBLIC = Rule(anonymous=ALLOWED, applicant=ALLOWED)
PORTAL_APPLICANT = Rule(LOGIN, LOGIN, LOGIN, LOGIN, LOGIN, applicant=ALLOWED)
PORTAL_OWNER = Rule(LOGIN, LOGIN, LOGIN, LOGIN, LOGIN, applicant=404)
WINDOW = Rule(other_officer=403, supervisor=403, admin=403)
SUPERVISOR = Rule(holder=403, other_officer=403, admin=403)
SUPERVISOR_MISSING = Rule(holder=403, other_officer=403, admin=403, missing_object_ok=True)

RULES: dict[str, Rule] = {
    "static": PUBLIC,
    "auth.login": PUBLIC,
    "auth.logout": PUBLIC,
    "main.language": PUBLIC,
    "main.index": LOGGED_IN,
    "account.tokens": LOGGED_IN,
    "account.create_token": LOGGED_IN,
    "account.revoke_token": Rule(missing_object_ok=True),
    "officer.inbox": OFFICER,
    "officer.done": OFFICER,
    "officer.notices": OFFICER,
    "officer.answer": Rule(admin=403, missing_object_ok=True),
    "officer.search": OFFICER,
    "officer.case": OFFICER_OBJECT,
    "officer.task": OFFICER_OBJECT,
    "officer.claim": OFFICER_OBJECT,
    "officer.complete": OFFICER_OBJECT,
    "officer.delegate": OFFICER_OBJECT,
    "officer.extension": OFFICER_OBJECT,
    "officer.one_time_notice": OFFICER_OBJECT,
    "officer.resolve": OFFICER_OBJECT,
    "officer.resume_clock": OFFICER_OBJECT,
    "officer.return_task": OFFICER_OBJECT,
    "officer.add_signer": OFFICER_OBJECT,
    "officer.stop_clock": OFFICER_OBJECT,
    "officer.transfer": OFFICER_OBJECT,
    "officer.unclaim": OFFICER_OBJECT,
    "admin.index": ADMIN,
    "admin.absences": ADMIN,
    "admin.add_absence": ADMIN,
    "admin.cancel_absence": ADMIN_MISSING,
    "admin.calendar": ADMIN,
    "admin.import_calendar": ADMIN,
    "admin.calendar_year": ADMIN,
    "admin.cases": ADMIN,
    "admin.case": ADMIN,
    "admin.migrate": ADMIN,
    "admin.resume": ADMIN,
    "admin.suspend": ADMIN,
    "admin.terminate": ADMIN,
    "admin.migrate_set": ADMIN,
    "admin.deploy": ADMIN,
    "admin.items": ADMIN,
    "admin.load_items": ADMIN,
    "admin.organisation": ADMIN,
    "admin.processes": ADMIN,
    "admin.version": ADMIN,
    "admin.version_source": ADMIN,
    "admin.incidents": ADMIN,
    "admin.retry_timer": ADMIN,
    "supervisor.index": SUPERVISOR,
    "supervisor.case": SUPERVISOR,
    "supervisor.charts_page": SUPERVISOR,
    "supervisor.figures": SUPERVISOR,
    "supervisor.export_csv": SUPERVISOR,
    "supervisor.export_xlsx": SUPERVISOR,
    "supervisor.records": SUPERVISOR,
    "supervisor.record": SUPERVISOR_MISSING,
    "supervisor.review": SUPERVISOR_MISSING,
    "supervisor.person": SUPERVISOR,
    "supervisor.flagged": SUPERVISOR,
    "applicant.index": PORTAL_PUBLIC,
    "applicant.item": PORTAL_PUBLIC,
    "applicant.progress": PORTAL_PUBLIC,
    "applicant.register": PORTAL_PUBLIC,
    "applicant.login": PORTAL_PUBLIC,
    "applicant.logout": PORTAL_PUBLIC,
    "applicant.apply": PORTAL_APPLICANT,
    "applicant.my_cases": PORTAL_APPLICANT,
    "applicant.new_complaint": PORTAL_APPLICANT,
    "applicant.case": PORTAL_OWNER,
    "applicant.receipt": PORTAL_OWNER,
    "applicant.supplement": PORTAL_OWNER,
    "applicant.rate": PORTAL_OWNER,
    "applicant.material": PORTAL_OWNER,
    "officer.register": WINDOW,
    "officer.receipt": OFFICER_OBJECT,
    "officer.material": OFFICER_OBJECT,
    "api.health": API_PUBLIC,
    "api.openapi": API_PUBLIC,
    "api.unknown": Rule(404, 404, 404, 404, 404),  # no such route, token or not
    "api.whoami": API_LOGGED_IN,
    "api.items": API_LOGGED_IN,
    "api.tasks": API_OFFICER,
    "api.task": API_TASK,
    "api.claim": API_TASK,
    "api.complete": API_TASK,
    "api.delegate": API_TASK,
    "api.resolve": API_TASK,
    "api.transfer": API_TASK,
    "api.unclaim": API_TASK,
    "api.case": API_CASE,
    "api.case_history": API_CASE,
    "api.start_case": API_START,
    "api.definitions": API_ADMIN,
    "api.deploy": API_ADMIN,
}


@pytest.fixture
def setting(engine: Engine) -> Engine:
    """general_permit with case GP-1 (item T-0101, housing-permits) whose 受理 step
    window01 holds."""
    engine.deploy(GENERAL_PERMIT, actor="admin")
    engine.load_items([TEST_ITEMS])
    engine.start_case(
        "general_permit",
        "GP-1",
        actor="window01",
        data={"applicant": "某某建设有限公司"},
        item="T-0101",
    )
    engine.claim(only_task(engine, "GP-1", "accept").id, actor="window01")
    # two applicants, each with a case of their own (李四's has a material)
    for login, name in (("zhangsan", "张三"), ("lisi", "李四")):
        account = engine.register_applicant(login, APPLICANT_PASSWORD, name)
        engine.apply(
            "T-0101",
            applicant_name=name,
            applicant_id=account.id,
            actor=f"applicant:{account.id}",
            materials=[Upload("申请书", "申请书.pdf", b"%PDF-1.4\n%%EOF\n")],
        )
    return engine


def _urls(app: Flask, engine: Engine) -> Iterator[tuple[str, str, str]]:
    """(endpoint, method, URL) for every route of the app, its parameters filled in."""
    task = only_task(engine, "GP-1", "accept")
    values = {
        "task_id": task.id,
        "key": "GP-1",
        "process_id": "general_permit",
        "version": 1,
        "year": 2026,
        "code": "en",
        "filename": "xiaoneng.css",
        "rest": "nothing-here",
        "absence_id": MISSING_OBJECT,
        "token_id": MISSING_OBJECT,
        "item_code": "T-0101",
        "material_id": _material_of(engine, "lisi"),
        "record_id": MISSING_OBJECT,
        "notice_id": MISSING_OBJECT,
        "person_id": "zhangwei",
    }
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: (r.rule, r.endpoint)):
        url = rule.rule
        for name in rule.arguments:
            url = re.sub(rf"<(?:[a-z]+:)?{name}>", str(values[name]), url)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            yield rule.endpoint, method, url


def _material_of(engine: Engine, login: str) -> int:
    """The id of the material on the applicant's case."""
    account = engine.check_applicant(login, APPLICANT_PASSWORD)
    assert account is not None
    case = engine.applicant_cases(account.id)[0]
    return engine.materials(case.business_key)[0].id


def _client(app: Flask, engine: Engine, who: str) -> tuple[FlaskClient, dict[str, str], str]:
    """A client for the person, the API headers for them, and a CSRF token of theirs."""
    web = app.test_client()
    person = PEOPLE[who]
    headers: dict[str, str] = {}
    if who == "applicant" and person is not None:
        log_in_applicant(web, person, APPLICANT_PASSWORD)  # no API token: not an officer
        return web, headers, csrf_token(web.get("/portal/my").get_data(as_text=True))
    if person is not None:
        log_in(web, person)
        _, secret = engine.create_api_token(person, label="matrix", actor=person)
        headers["Authorization"] = f"Bearer {secret}"
    page = "/login" if person is None else "/account/tokens"
    return web, headers, csrf_token(web.get(page).get_data(as_text=True))


@pytest.mark.parametrize("who", list(PEOPLE))
def test_every_route_answers_each_person_as_its_rule_says(
    setting: Engine, app: Flask, who: str
) -> None:
    web, headers, token = _client(app, setting, who)
    task_id = only_task(setting, "GP-1", "accept").id
    wrong: list[str] = []
    for endpoint, method, url in _urls(app, setting):
        rule = RULES.get(endpoint)
        if rule is None:
            wrong.append(f"{endpoint}: not in the matrix (add a rule to RULES)")
            continue
        if endpoint in ("auth.logout", "applicant.logout"):
            continue  # logging out ends this client's session: asked by every test below
        api = url.startswith("/api/")
        if method == "GET":
            response = web.get(url, headers=headers if api else None)
        elif api:
            response = web.open(url, method=method, headers=headers, json={})
        else:
            response = web.open(url, method=method, data={"csrf_token": token})
        status = response.status_code
        response.close()
        expected = rule.expected(who)
        if expected == LOGIN:
            ok = status == 302 and "/login" in response.headers.get("Location", "")
        elif expected == ALLOWED:
            refused = {401, 403} if rule.missing_object_ok else {401, 403, 404}
            ok = status < 500 and status not in refused
        else:
            ok = status == expected
        if not ok:
            wrong.append(f"{method} {url} ({endpoint}) as {who}: {status}, expected {expected}")
        if who == "holder" and setting.get_task(task_id).assignee is None:
            setting.claim(task_id, actor="window01")  # an empty unclaim form still acts
    assert not wrong, "\n".join(wrong)
    if who != "holder":  # nobody but the holder changed anything
        task = setting.get_task(task_id)
        assert (task.state, task.assignee) == ("open", "window01")
