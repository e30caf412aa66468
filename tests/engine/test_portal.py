"""The applicant portal's engine side: accounts, applications and receipts, the progress
query (right code or owner only, nothing internal), supplements, complaints."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta

import pytest

from engine import (
    ConflictError,
    Engine,
    FakeClock,
    InvalidInputError,
    NotFoundError,
    NotPermittedError,
    Upload,
)
from engine import portal as portal_module
from engine.items import parse_file
from engine.portal import QUERY_CODE_ALPHABET
from tests.conftest import BPMN
from tests.engine.portal_support import (
    PDF,
    applicant,
    apply_online,
    files_under,
    pdf,
    refuse_at_acceptance,
)

TODAY = "20261123"  # the fake clock's local date


def _complete(engine: Engine, key: str, element_id: str, person: str, data: dict, opinion: str):  # type: ignore[no-untyped-def,type-arg]
    task = next(t for t in engine.tasks(case=key) if t.element_id == element_id)
    if task.assignee != person:
        engine.claim(task.id, actor=person)
    return engine.complete(task.id, actor=person, data=data, opinion=opinion)


# -- accounts ----------------------------------------------------------------------------------


def test_registered_applicant_logs_in_with_the_password_only(engine: Engine) -> None:
    account = engine.register_applicant(
        "LiHua_01", "secret-pass-1", " 李华 ", phone="138 0000 0000", email="li@example.cn"
    )

    assert (account.login, account.name, account.kind) == ("lihua_01", "李华", "person")
    assert engine.applicant(account.id) == account
    assert engine.check_applicant("lihua_01", "secret-pass-1") == account
    assert engine.check_applicant("LIHUA_01", "secret-pass-1") == account
    assert engine.check_applicant("lihua_01", "wrong-pass-1") is None
    assert engine.check_applicant("nobody", "secret-pass-1") is None
    assert "secret-pass-1" not in json.dumps(account.to_dict())


def test_taken_login_is_a_conflict_whatever_the_letter_case(engine: Engine) -> None:
    engine.register_applicant("lihua", "secret-pass-1", "李华")

    with pytest.raises(ConflictError, match="taken"):
        engine.register_applicant("LiHua", "other-pass-2", "另一个李华")


@pytest.mark.parametrize(
    ("login", "password", "name", "kind", "message"),
    [
        ("ab", "secret-pass-1", "李华", "person", "3-64 characters"),
        ("li hua", "secret-pass-1", "李华", "person", "3-64 characters"),
        ("../admin", "secret-pass-1", "李华", "person", "3-64 characters"),
        ("x" * 65, "secret-pass-1", "李华", "person", "3-64 characters"),
        ("lihua", "short", "李华", "person", "at least 8"),
        ("lihua", "secret-pass-1", "  ", "person", "name"),
        ("lihua", "secret-pass-1", "李华", "robot", "unknown kind"),
    ],
)
def test_bad_registration_is_refused_and_nothing_is_written(
    engine: Engine, login: str, password: str, name: str, kind: str, message: str
) -> None:
    with pytest.raises(InvalidInputError, match=message):
        engine.register_applicant(login, password, name, kind=kind)
    with pytest.raises(NotFoundError):
        engine.applicant(1)


def test_bad_contact_details_are_refused(engine: Engine) -> None:
    with pytest.raises(InvalidInputError, match="e-mail"):
        engine.register_applicant("lihua", "secret-pass-1", "李华", email="not-an-address")
    with pytest.raises(InvalidInputError, match="phone"):
        engine.register_applicant("lihua", "secret-pass-1", "李华", phone="<script>")


def test_organisation_may_register(engine: Engine) -> None:
    account = engine.register_applicant(
        "jianshe", "secret-pass-1", "某某建设有限公司", kind="organisation"
    )
    assert account.kind == "organisation"


# -- applying and the receipt ------------------------------------------------------------------


def test_online_application_starts_the_item_with_a_number_and_a_query_code(
    permit: Engine,
) -> None:
    owner = applicant(permit)

    receipt = apply_online(permit, owner, pdf())
    second = apply_online(permit, owner)

    assert receipt.business_key == f"T-0101-{TODAY}-0001"
    assert second.business_key == f"T-0101-{TODAY}-0002"
    assert re.fullmatch(f"[{QUERY_CODE_ALPHABET}]{{8}}", receipt.query_code)
    assert receipt.query_code != second.query_code
    assert (receipt.item_code, receipt.item_name) == ("T-0101", "测试事项（一般许可）")
    assert (receipt.department_id, receipt.department_name) == ("housing-permits", "建筑管理科")
    assert receipt.applicant == "李华"
    assert receipt.promised_days == 7
    case = permit.get_case(receipt.business_key)
    assert receipt.promised_at == case.due_at is not None
    assert receipt.received_at == case.started_at
    assert receipt.received_by is None
    assert case.data["applicant"] == "李华"
    assert case.started_by == f"applicant:{owner}"
    assert [m.material for m in receipt.materials] == ["建筑工程施工许可申请表"]
    assert permit.receipt(receipt.business_key) == receipt  # printed again: the same
    assert permit.owns_case(receipt.business_key, owner)


def test_application_at_the_window_names_the_officer_on_the_receipt(permit: Engine) -> None:
    receipt = permit.apply(
        "T-0101",
        applicant_name="某某建设有限公司",
        data={"project": "某某小区"},
        actor="window01",
    )

    assert receipt.received_by == "window01"
    assert permit.get_case(receipt.business_key).data["project"] == "某某小区"
    assert permit.progress(receipt.business_key, query_code=receipt.query_code)


def test_receipt_lists_the_required_materials_still_missing(permit: Engine) -> None:
    permit.load_items([BPMN / "items" / "general-permits.sample.toml"])
    owner = applicant(permit)

    receipt = permit.apply(
        "JS-0101",
        applicant_name="李华",
        materials=[pdf("建筑工程施工许可申请表"), pdf("建设资金落实承诺书", "承诺书.pdf")],
        applicant_id=owner,
        actor=f"applicant:{owner}",
    )

    assert receipt.missing_required == (
        "建设工程规划许可证",
        "施工图设计文件审查合格书",
        "中标通知书或直接发包批准手续",
    )


def test_applicant_acts_for_their_own_account_only(permit: Engine) -> None:
    owner = applicant(permit)
    other = applicant(permit, "other")

    with pytest.raises(NotPermittedError):
        permit.apply(
            "T-0101", applicant_name="李华", applicant_id=owner, actor=f"applicant:{other}"
        )
    with pytest.raises(NotPermittedError):
        permit.apply("T-0101", applicant_name="李华", actor=f"applicant:{owner}")
    with pytest.raises(NotFoundError):
        permit.apply("T-0101", applicant_name="李华", applicant_id=999, actor="window01")
    assert permit.applicant_cases(owner) == []


def test_application_for_an_unknown_item_writes_nothing(permit: Engine) -> None:
    owner = applicant(permit)

    with pytest.raises(NotFoundError, match="NO-SUCH"):
        apply_online_item(permit, owner, "NO-SUCH")
    assert files_under(permit.materials_dir) == []
    assert permit.applicant_cases(owner) == []


def apply_online_item(engine: Engine, owner: int, item: str) -> None:
    engine.apply(
        item,
        applicant_name="李华",
        materials=[pdf()],
        applicant_id=owner,
        actor=f"applicant:{owner}",
    )


@pytest.mark.parametrize("name", ["", "   ", "名" * 201])
def test_application_needs_the_applicants_name(permit: Engine, name: str) -> None:
    with pytest.raises(InvalidInputError, match="applicant's name"):
        permit.apply("T-0101", applicant_name=name, actor="window01")


def test_case_number_taken_meanwhile_is_retried_with_the_next(
    permit: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    permit.start_case("general_permit", f"T-0101-{TODAY}-0007", actor="window01")
    real = portal_module.next_case_number
    numbers = iter([f"T-0101-{TODAY}-0007"])  # a concurrent call took it after we looked

    def next_number(call, prefix, timezone):  # type: ignore[no-untyped-def]
        return next(numbers, None) or real(call, prefix, timezone)

    monkeypatch.setattr(portal_module, "next_case_number", next_number)
    owner = applicant(permit)

    receipt = apply_online(permit, owner, pdf())

    assert receipt.business_key == f"T-0101-{TODAY}-0008"
    assert len(files_under(permit.materials_dir)) == 1  # the first try's file is gone


def test_form_submitted_twice_starts_one_case(permit: Engine) -> None:
    owner = applicant(permit)
    other = applicant(permit, "other")

    first = permit.apply(
        "T-0101",
        applicant_name="李华",
        materials=[pdf()],
        applicant_id=owner,
        actor=f"applicant:{owner}",
        submission="form-token-1",
    )
    again = permit.apply(
        "T-0101",
        applicant_name="李华",
        materials=[pdf()],
        applicant_id=owner,
        actor=f"applicant:{owner}",
        submission="form-token-1",
    )
    theirs = permit.apply(
        "T-0101",
        applicant_name="王五",
        applicant_id=other,
        actor=f"applicant:{other}",
        submission="form-token-1",
    )

    assert again == first
    assert theirs.business_key != first.business_key
    assert len(permit.applicant_cases(owner)) == 1
    assert len(files_under(permit.materials_dir)) == 1
    with pytest.raises(InvalidInputError, match="submission key"):
        permit.apply("T-0101", applicant_name="李华", actor="window01", submission="x" * 101)


def test_applicant_cases_are_theirs_newest_first(permit: Engine, clock: FakeClock) -> None:
    permit.deploy([BPMN / "efficiency_complaint.bpmn"], actor="admin")
    owner = applicant(permit)
    other = applicant(permit, "other")
    first = apply_online(permit, owner).business_key
    apply_online(permit, other)
    clock.advance(timedelta(hours=1))
    complaint = permit.file_complaint(
        applicant_id=owner,
        complainant="李华",
        contact="13800000000",
        content="办件超期未办结",
        concerned_case=first,
        actor=f"applicant:{owner}",
    ).business_key

    assert [c.business_key for c in permit.applicant_cases(owner)] == [complaint, first]
    assert not permit.owns_case(first, other)
    assert not permit.owns_case("NO-SUCH-CASE", owner)


# -- the progress query --------------------------------------------------------------------------


def test_progress_query_with_wrong_code_reveals_nothing(permit: Engine) -> None:
    owner = applicant(permit)
    receipt = apply_online(permit, owner, pdf())
    key = receipt.business_key
    wrong = "A" * 8 if receipt.query_code != "A" * 8 else "B" * 8

    with pytest.raises(NotFoundError) as unknown:
        permit.progress(f"T-0101-{TODAY}-0999", query_code=receipt.query_code)
    for code in (wrong, "", None, receipt.query_code[:7], receipt.query_code + "X", "查询码"):
        with pytest.raises(NotFoundError) as refused:
            permit.progress(key, query_code=code)
        assert refused.value.message.replace(key, "?") == unknown.value.message.replace(
            f"T-0101-{TODAY}-0999", "?"
        )
    with pytest.raises(NotFoundError):
        permit.progress(key, applicant_id=applicant(permit, "other"))
    assert permit.progress(key, query_code=f" {receipt.query_code.lower()} ").business_key == key
    assert permit.progress(key, applicant_id=owner).business_key == key


def test_case_started_without_a_query_code_is_not_opened_by_an_empty_code(
    permit: Engine,
) -> None:
    with pytest.raises(NotFoundError):
        permit.progress("GP-1", query_code="")  # GP-1 came in without the portal


def test_progress_shows_steps_with_departments_and_never_opinions_or_officers(
    permit: Engine, clock: FakeClock
) -> None:
    owner = applicant(permit)
    receipt = apply_online(permit, owner, pdf())
    key = receipt.business_key
    clock.advance(timedelta(hours=1))
    _complete(permit, key, "accept", "window01", {"accepted": "yes"}, "内部意见甲：材料齐全")
    clock.advance(timedelta(hours=1))
    _complete(
        permit,
        key,
        "handle",
        "zhangwei",
        {"handling_opinion": "内部意见乙：符合条件"},
        "内部意见丙：拟同意",
    )

    view = permit.progress(key, query_code=receipt.query_code)

    assert [(s.name, s.current) for s in view.steps] == [
        ("受理", False),
        ("承办", False),
        ("审核", True),
    ]
    assert view.steps[1].department_name == "建筑管理科"
    assert view.steps[0].ended_at is not None
    assert view.steps[2].due_at is not None and view.steps[2].ended_at is None
    assert (view.status, view.outcome, view.item_name) == ("running", None, "测试事项（一般许可）")
    assert view.department_name == "建筑管理科"
    assert view.accepted_at is not None
    assert view.promised_at == permit.get_case(key).due_at
    text = json.dumps(view.to_dict(), ensure_ascii=False)
    for secret in ("内部意见", "window01", "zhangwei", "chenjie", "handling_opinion"):
        assert secret not in text
    assert not view.can_rate


def test_progress_tells_the_outcome_once_ended(permit: Engine) -> None:
    owner = applicant(permit)
    key = apply_online(permit, owner).business_key
    refuse_at_acceptance(permit, key)

    view = permit.progress(key, applicant_id=owner)

    assert (view.status, view.outcome) == ("completed", "not_accepted")
    assert view.ended_at is not None
    assert view.can_rate
    assert "不属于本机关职权范围" not in json.dumps(view.to_dict(), ensure_ascii=False)


def test_progress_shows_stops_and_extensions_with_their_reasons(permit: Engine) -> None:
    owner = applicant(permit)
    key = apply_online(permit, owner).business_key
    _complete(permit, key, "accept", "window01", {"accepted": "yes"}, "同意受理")
    handle = next(t for t in permit.tasks(case=key) if t.element_id == "handle")
    permit.claim(handle.id, actor="zhangwei")
    permit.stop_clock(key, kind="inspection", reason="现场检验", actor="zhangwei")
    permit.resume_clock(key, actor="zhangwei")
    ext = permit.request_extension(key, days=3, reason="需要补充核查", actor="zhangwei")
    permit.decide_extension(
        ext["extension_id"], approve=True, actor="zhaomin", opinion="内部意见：同意延期"
    )

    view = permit.progress(key, applicant_id=owner)

    assert [(s.kind, s.reason, s.ended_at is not None) for s in view.stops] == [
        ("inspection", "现场检验", True)
    ]
    assert [(e.days, e.reason, e.decision) for e in view.extensions] == [
        (3, "需要补充核查", "granted")
    ]
    assert view.supplement_requested is None
    text = json.dumps(view.to_dict(), ensure_ascii=False)
    assert "zhaomin" not in text and "内部意见" not in text


# -- supplements (补正) -------------------------------------------------------------------------


def _one_time_notice(engine: Engine, key: str, reason: str = "请补正：建设工程规划许可证") -> None:
    accept = next(t for t in engine.tasks(case=key) if t.element_id == "accept")
    engine.claim(accept.id, actor="window01")
    engine.stop_clock(key, kind="supplement", reason=reason, actor="window01")


def test_supplement_restarts_a_stopped_clock(permit: Engine, clock: FakeClock) -> None:
    owner = applicant(permit)
    key = apply_online(permit, owner, pdf()).business_key
    _one_time_notice(permit, key)
    stopped = permit.progress(key, applicant_id=owner)
    assert stopped.supplement_requested == "请补正：建设工程规划许可证"
    clock.advance(timedelta(days=2))  # Wednesday: two working days with the clock stopped

    view = permit.supplement(
        key,
        applicant_id=owner,
        materials=[pdf("建设工程规划许可证", "规划许可证.pdf")],
        actor=f"applicant:{owner}",
        note="已补齐",
    )

    assert view.supplement_requested is None
    assert view.stops[0].ended_at == clock.now()
    assert view.promised_at is not None and stopped.promised_at is not None
    assert permit.work_calendar().working_days_between(stopped.promised_at, view.promised_at) == 2
    assert [(m.material, m.round) for m in view.materials] == [
        ("建筑工程施工许可申请表", 0),
        ("建设工程规划许可证", 1),
    ]
    actions = [(a.action, a.actor) for a in permit.history(key)]
    assert ("supplement", f"applicant:{owner}") in actions
    assert ("clock_resume", f"applicant:{owner}") in actions
    supplement = next(a for a in permit.history(key) if a.action == "supplement")
    assert supplement.opinion == "已补齐"
    assert supplement.detail == {
        "round": 1,
        "materials": [view.materials[1].id],
        "clock_resumed": True,
    }


def test_supplement_without_a_stopped_clock_only_adds_the_files(permit: Engine) -> None:
    owner = applicant(permit)
    key = apply_online(permit, owner).business_key
    promised = permit.get_case(key).due_at

    view = permit.supplement(key, applicant_id=owner, materials=[pdf()], actor=f"applicant:{owner}")
    again = permit.supplement(
        key, applicant_id=owner, materials=[pdf()], actor=f"applicant:{owner}"
    )

    assert [m.round for m in again.materials] == [1, 2]
    assert view.promised_at == promised
    assert "clock_resume" not in [a.action for a in permit.history(key)]


def test_supplement_at_the_window_by_an_officer(permit: Engine) -> None:
    receipt = permit.apply("T-0101", applicant_name="某某公司", actor="window01")
    key = receipt.business_key
    _one_time_notice(permit, key)

    view = permit.supplement(key, applicant_id=None, materials=[pdf()], actor="window01")

    assert view.supplement_requested is None
    assert view.materials[0].uploaded_by == "window01"


def test_supplement_needs_files(permit: Engine) -> None:
    owner = applicant(permit)
    key = apply_online(permit, owner).business_key
    _one_time_notice(permit, key)

    with pytest.raises(InvalidInputError, match="at least one file"):
        permit.supplement(key, applicant_id=owner, materials=[], actor=f"applicant:{owner}")
    assert permit.progress(key, applicant_id=owner).supplement_requested is not None


def test_supplement_to_an_ended_case_is_refused(permit: Engine) -> None:
    owner = applicant(permit)
    key = apply_online(permit, owner).business_key
    refuse_at_acceptance(permit, key)

    with pytest.raises(ConflictError, match="has ended"):
        permit.supplement(key, applicant_id=owner, materials=[pdf()], actor=f"applicant:{owner}")
    assert files_under(permit.materials_dir) == []


def test_supplement_to_someone_elses_case_is_not_found(permit: Engine) -> None:
    owner = applicant(permit)
    other = applicant(permit, "other")
    key = apply_online(permit, owner).business_key

    with pytest.raises(NotFoundError):
        permit.supplement(key, applicant_id=other, materials=[pdf()], actor=f"applicant:{other}")
    with pytest.raises(NotPermittedError):
        permit.supplement(key, applicant_id=None, materials=[pdf()], actor=f"applicant:{other}")
    assert files_under(permit.materials_dir) == []


def test_bad_file_in_a_supplement_stores_nothing(permit: Engine) -> None:
    owner = applicant(permit)
    key = apply_online(permit, owner).business_key
    _one_time_notice(permit, key)

    with pytest.raises(InvalidInputError, match=r"evil\.html"):
        permit.supplement(
            key,
            applicant_id=owner,
            materials=[pdf(), Upload("说明", "evil.html", b"<html></html>")],
            actor=f"applicant:{owner}",
        )
    assert permit.materials(key) == []
    assert permit.progress(key, applicant_id=owner).supplement_requested is not None


# -- efficiency complaints (效能投诉) -----------------------------------------------------------


@pytest.fixture
def complaints(permit: Engine) -> Engine:
    permit.deploy([BPMN / "efficiency_complaint.bpmn"], actor="admin")
    return permit


def test_complaint_starts_efficiency_complaint_with_the_registration_data(
    complaints: Engine,
) -> None:
    owner = applicant(complaints)
    concerned = apply_online(complaints, owner).business_key

    receipt = complaints.file_complaint(
        applicant_id=owner,
        complainant="李华",
        contact="13800000000",
        content="承办人员推诿，办件超期",
        concerned_case=concerned,
        person="zhangwei",
        actor=f"applicant:{owner}",
    )

    assert receipt.business_key == f"TS-{TODAY}-0001"
    assert re.fullmatch(f"[{QUERY_CODE_ALPHABET}]{{8}}", receipt.query_code)
    assert (receipt.item_code, receipt.promised_days, receipt.promised_at) == ("", 0, None)
    case = complaints.get_case(receipt.business_key)
    assert case.process_id == "efficiency_complaint"
    assert {
        k: case.data.get(k)
        for k in (
            "complainant",
            "complainant_contact",
            "complaint_channel",
            "concerned_case_no",
            "respondent_department",
            "respondent_person",
            "complaint_content",
        )
    } == {
        "complainant": "李华",
        "complainant_contact": "13800000000",
        "complaint_channel": "portal",
        "concerned_case_no": concerned,
        "respondent_department": "housing-permits",  # the concerned case's department
        "respondent_person": "zhangwei",
        "complaint_content": "承办人员推诿，办件超期",
    }
    assert [t.element_id for t in case.open_tasks] == ["register_complaint"]
    view = complaints.progress(receipt.business_key, query_code=receipt.query_code)
    assert [s.name for s in view.steps] == [case.open_tasks[0].name]
    assert complaints.owns_case(receipt.business_key, owner)


def test_complaint_submitted_twice_starts_one_case(complaints: Engine) -> None:
    given = {
        "applicant_id": None,
        "complainant": "王五",
        "contact": "13800000000",
        "content": "窗口排队时间过长",
        "department": "service-centre",
        "actor": "window01",
        "submission": "complaint-token",
    }

    first = complaints.file_complaint(**given)  # type: ignore[arg-type]
    again = complaints.file_complaint(**given)  # type: ignore[arg-type]

    assert again == first
    assert len(complaints.list_cases(process_id="efficiency_complaint")) == 1


def test_complaint_about_a_department_without_a_case(complaints: Engine) -> None:
    receipt = complaints.file_complaint(
        applicant_id=None,
        complainant="王五",
        contact="wang@example.cn",
        content="窗口排队时间过长",
        department="service-centre",
        actor="window01",
    )

    data = complaints.get_case(receipt.business_key).data
    assert data["respondent_department"] == "service-centre"
    assert data["concerned_case_no"] is None
    assert receipt.received_by == "window01"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"department": None, "concerned_case": None}, "which case or which department"),
        ({"department": "no-such-dept"}, "unknown department"),
        ({"content": "  "}, "complaint"),
        ({"contact": ""}, "contact"),
        ({"complainant": ""}, "complainant"),
        ({"content": "长" * 5001}, "longer than 5000"),
    ],
)
def test_bad_complaint_is_refused_and_starts_nothing(
    complaints: Engine, fields: dict[str, object], message: str
) -> None:
    given: dict[str, object] = {
        "applicant_id": None,
        "complainant": "王五",
        "contact": "13800000000",
        "content": "窗口排队时间过长",
        "department": "service-centre",
        "actor": "window01",
    } | fields

    with pytest.raises(InvalidInputError, match=message):
        complaints.file_complaint(**given)  # type: ignore[arg-type]
    assert complaints.list_cases(process_id="efficiency_complaint") == []


# -- service guide: sample documents of materials ------------------------------------------------


def test_material_may_name_a_sample_document() -> None:
    (item,) = parse_file(
        b"""
[[items]]
code = "X-1"
name = "x"
department = "housing-permits"
process = "general_permit"
statutory_days = 5
promised_days = 3
materials = [
  { name = "\xe7\x94\xb3\xe8\xaf\xb7\xe8\xa1\xa8", sample = "https://example.gov.cn/x.pdf" },
  { name = "b" },
]
""",
        name="x.toml",
    )
    assert [m.sample for m in item.materials] == ["https://example.gov.cn/x.pdf", ""]
    assert item.to_dict()["materials"][0]["sample"] == "https://example.gov.cn/x.pdf"


def test_material_sample_must_be_text() -> None:
    with pytest.raises(InvalidInputError, match="'sample' must be text"):
        parse_file(
            b"""
[[items]]
code = "X-1"
name = "x"
department = "d"
process = "p"
statutory_days = 5
promised_days = 3
materials = [{ name = "a", sample = 3 }]
""",
            name="x.toml",
        )


def test_shipped_items_still_load_with_the_sample_field(permit: Engine) -> None:
    codes = permit.load_items([BPMN / "items"])
    assert "JS-0101" in codes
    assert all(m.sample == "" or m.sample for m in permit.service_item("JS-0101").materials)


def test_rating_counts_period_is_in_local_dates(permit: Engine) -> None:
    assert permit.rating_counts(date(2026, 11, 1), date(2026, 11, 30)) == dict.fromkeys(
        range(1, 6), 0
    )


def test_receipt_of_an_unknown_case_is_not_found(permit: Engine) -> None:
    with pytest.raises(NotFoundError):
        permit.receipt("NO-SUCH")
    with pytest.raises(NotFoundError):
        permit.materials("NO-SUCH")


def test_upload_keeps_its_content_out_of_its_repr() -> None:
    assert "PDF" not in repr(Upload("申请书", "a.pdf", PDF))
