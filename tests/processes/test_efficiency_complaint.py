"""Scenario: bpmn/efficiency_complaint.bpmn (效能投诉, S10), every path.

The clock starts on Monday 2026-11-23 09:00 Beijing time; a serialize/restore round trip
runs between steps.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from engine import Engine, FormValidationError, NotPermittedError
from engine.clock import FakeClock
from tests.conftest import BPMN
from tests.helpers import act, only_task, restore_roundtrip

COMPLAINT = {
    "complainant": "陈先生",
    "complainant_contact": "13800000000",
    "complaint_channel": "visit",
    "concerned_case_no": "GP-2026-0815",
    "respondent_department": "housing-permits",
    "respondent_person": "zhangwei",
    "complaint_content": "施工许可申请材料齐全，承办人无故拖延十余日未办理。",
}
REPLY = {
    "reply_text": "经调查，投诉反映情况属实，已对相关责任人作出处理。",
    "replied_on": "2026-11-30",
    "reply_method": "by_phone",
}


def bj(y: int, m: int, d: int, h: int, minute: int = 0) -> datetime:
    """A Beijing wall-clock moment as an aware UTC datetime."""
    return datetime(y, m, d, h, minute, tzinfo=UTC) - timedelta(hours=8)


@pytest.fixture
def complaints(engine: Engine) -> Engine:
    engine.deploy([BPMN / "efficiency_complaint.bpmn"], actor="admin")
    return engine


def step(
    engine: Engine,
    key: str,
    element_id: str,
    person: str,
    data: dict[str, object],
    opinion: str | None = None,
) -> None:
    act(engine, key, element_id, person, data, opinion)
    restore_roundtrip(engine, key)


def _register_and_assign(engine: Engine, key: str, complaint: dict[str, object]) -> None:
    engine.start_case("efficiency_complaint", key, actor="supervisor01")
    restore_roundtrip(engine, key)
    step(engine, key, "register_complaint", "supervisor01", complaint)
    assign = only_task(engine, key, "assign_investigator")
    assert assign.due_at == bj(2026, 11, 25, 17, 30)  # two working days
    assert assign.candidate_groups == ("role:supervisor", "dept:supervision")
    step(engine, key, "assign_investigator", "supervisor01", {"investigator": "supervisor02"})


def _completed_steps(engine: Engine, key: str) -> list[str]:
    case = engine.get_case(key)
    assert case.status == "completed"
    return [h.element_id or "" for h in case.history if h.action == "complete"]


def test_upheld_complaint_is_answered_and_recorded_for_review(complaints: Engine) -> None:
    _register_and_assign(complaints, "TS-1", COMPLAINT)
    investigation = only_task(complaints, "TS-1", "investigate")
    assert investigation.assignee == "supervisor02"  # chosen in the assignment form
    assert investigation.due_at == bj(2026, 12, 7, 17, 30)  # ten working days
    assert [t.element_id for t in complaints.inbox("supervisor02")] == ["investigate"]
    findings = "承办人张伟对材料齐全的申请拖延办理，投诉属实。"
    step(
        complaints,
        "TS-1",
        "investigate",
        "supervisor02",
        {"complaint_holds": "yes", "findings": findings},
    )
    reply = only_task(complaints, "TS-1", "reply_complainant")
    assert (reply.assignee, reply.due_at) == ("supervisor02", bj(2026, 11, 30, 17, 30))
    step(complaints, "TS-1", "reply_complainant", "supervisor02", REPLY)

    assert _completed_steps(complaints, "TS-1") == [
        "register_complaint",
        "assign_investigator",
        "investigate",
        "reply_complainant",
    ]
    records = complaints.fault_records(kind="complaint")
    assert len(records) == 1
    record = records[0]
    assert (record.person_id, record.department_id, record.post_id) == (
        "zhangwei",
        "housing-permits",
        "housing-officer-a",
    )
    assert record.business_key == "TS-1"
    assert record.detail == {"summary": findings}
    assert record.decision is None  # waiting for the supervisors' review
    data = complaints.get_case("TS-1").data
    assert data["complaint_record_id"] == record.id
    assert data["concerned_case_no"] == "GP-2026-0815"
    audit = [h for h in complaints.history("TS-1") if h.action == "complaint_record"]
    assert [(h.detail or {}).get("person") for h in audit] == ["zhangwei"]

    # the supervision office reviews the record through the normal accountability review
    with pytest.raises(NotPermittedError):
        complaints.review_fault(record.id, decision="confirmed", actor="zhangwei", level="warning")
    reviewed = complaints.review_fault(
        record.id, decision="confirmed", actor="supervisor01", level="admonition"
    )
    assert (reviewed.decision, reviewed.level) == ("confirmed", "admonition")
    confirmed = complaints.fault_records(kind="complaint", decision="confirmed")
    assert [(r.id, r.person_id, r.level) for r in confirmed] == [
        (record.id, "zhangwei", "admonition")
    ]


def test_unfounded_complaint_is_answered_without_a_record(complaints: Engine) -> None:
    _register_and_assign(complaints, "TS-2", COMPLAINT)
    step(
        complaints,
        "TS-2",
        "investigate",
        "supervisor02",
        {"complaint_holds": "no", "findings": "申请材料不齐全，已一次性告知补正，不存在拖延。"},
    )
    step(
        complaints,
        "TS-2",
        "reply_complainant",
        "supervisor02",
        REPLY | {"reply_method": "by_letter"},
    )
    assert _completed_steps(complaints, "TS-2")[-1] == "reply_complainant"
    assert complaints.fault_records(kind="complaint") == []
    assert complaints.fault_records(case="TS-2") == []
    assert "complaint_record_id" not in complaints.get_case("TS-2").data


def test_portal_complaint_against_a_department_only(complaints: Engine) -> None:
    portal = COMPLAINT | {"complaint_channel": "portal", "respondent_person": None}
    complaints.start_case("efficiency_complaint", "TS-3", data=portal)
    restore_roundtrip(complaints, "TS-3")
    assert complaints.get_case("TS-3").data["complaint_channel"] == "portal"
    # the officer checks the portal data and registers it
    step(complaints, "TS-3", "register_complaint", "supervisor02", portal)
    step(
        complaints, "TS-3", "assign_investigator", "supervisor02", {"investigator": "supervisor01"}
    )
    step(
        complaints,
        "TS-3",
        "investigate",
        "supervisor01",
        {"complaint_holds": "yes", "findings": "科室未落实首问负责制。"},
    )
    step(
        complaints, "TS-3", "reply_complainant", "supervisor01", REPLY | {"reply_method": "online"}
    )
    record = complaints.fault_records(kind="complaint")[0]
    assert (record.person_id, record.department_id) == (None, "housing-permits")


def test_registration_and_reply_forms_require_their_fields(complaints: Engine) -> None:
    complaints.start_case("efficiency_complaint", "TS-4")
    register = only_task(complaints, "TS-4", "register_complaint")
    complaints.claim(register.id, actor="supervisor01")
    with pytest.raises(FormValidationError, match="complaint_content"):
        complaints.complete(register.id, actor="supervisor01", data={"complainant": "陈先生"})
    complaints.complete(register.id, actor="supervisor01", data=COMPLAINT)
    step(
        complaints, "TS-4", "assign_investigator", "supervisor01", {"investigator": "supervisor02"}
    )
    step(
        complaints,
        "TS-4",
        "investigate",
        "supervisor02",
        {"complaint_holds": "no", "findings": "不属实"},
    )
    reply = only_task(complaints, "TS-4", "reply_complainant")
    with pytest.raises(FormValidationError) as failed:
        complaints.complete(reply.id, actor="supervisor02", data={"reply_text": "已答复"})
    message = str(failed.value)
    assert "replied_on" in message and "reply_method" in message
    complaints.complete(reply.id, actor="supervisor02", data=REPLY)
    submitted = complaints.get_case("TS-4").data
    assert (submitted["replied_on"], submitted["reply_method"]) == ("2026-11-30", "by_phone")


def test_late_investigation_is_reminded_carded_escalated_and_recorded(
    complaints: Engine, clock: FakeClock
) -> None:
    _register_and_assign(complaints, "TS-5", COMPLAINT)
    # seven working days: the diagram's reminder timer (催办) tells the investigator
    clock.set(bj(2026, 12, 2, 17, 31))
    complaints.fire_due_timers()
    restore_roundtrip(complaints, "TS-5")
    reminders = complaints.notices("supervisor02")
    assert [(n.kind, n.recipient, n.element_id) for n in reminders] == [
        ("reminder", "supervisor02", "investigate")
    ]
    assert "reminder" in [h.action for h in complaints.history("TS-5")]
    assert [t.element_id for t in complaints.tasks(case="TS-5")] == ["investigate"]
    # one working day left: yellow card; then the due moment passes: red card
    clock.set(bj(2026, 12, 4, 17, 31))
    complaints.fire_due_timers()
    assert [(c.color, c.element_id) for c in complaints.cards(case="TS-5")] == [
        ("yellow", "investigate")
    ]
    clock.set(bj(2026, 12, 7, 17, 31))
    complaints.fire_due_timers()
    restore_roundtrip(complaints, "TS-5")
    cards = complaints.cards(case="TS-5")
    assert [(c.color, c.element_id, c.holder, c.department_id) for c in cards] == [
        ("red", "investigate", "supervisor02", "supervision")
    ]
    records = complaints.fault_records(case="TS-5")
    assert [(r.kind, r.element_id, r.person_id) for r in records] == [
        ("escalation", "investigate", "supervisor02"),
        ("overdue_step", "investigate", "supervisor02"),
    ]
    overdue = records[1]
    assert (overdue.post_id, overdue.department_id) == ("supervisor-b", "supervision")
    assert records[0].detail is not None and records[0].detail["level"] == 1
    assert complaints.notices("zhaomin") == []  # another department's head is not told
    # level 2: the supervision office two working days after the due moment
    clock.set(bj(2026, 12, 9, 17, 31))
    complaints.fire_due_timers()
    escalations = [n for n in complaints.notices("supervisor01") if n.kind == "escalation"]
    assert [(n.level, n.recipient_group, n.element_id) for n in escalations] == [
        (2, "role:supervisor", "investigate")
    ]
    complaints.acknowledge_notice(
        escalations[0].id, actor="supervisor01", response="已督促调查人两日内报送结论"
    )
    # the finding comes late: the cards clear and the final lateness is on record
    clock.set(bj(2026, 12, 10, 10))
    step(
        complaints,
        "TS-5",
        "investigate",
        "supervisor02",
        {"complaint_holds": "yes", "findings": "投诉属实。"},
    )
    assert complaints.cards(case="TS-5") == []
    final = next(r for r in complaints.fault_records(case="TS-5") if r.id == overdue.id)
    assert final.overdue_days is not None and 2 < final.overdue_days < 2.5  # Tue, Wed, 1 h
    step(complaints, "TS-5", "reply_complainant", "supervisor02", REPLY)
    kinds = sorted(r.kind for r in complaints.fault_records(case="TS-5"))
    assert kinds == ["complaint", "escalation", "escalation", "overdue_step"]


def test_late_reply_gets_a_red_card_against_the_investigator(
    complaints: Engine, clock: FakeClock
) -> None:
    _register_and_assign(complaints, "TS-6", COMPLAINT)
    step(
        complaints,
        "TS-6",
        "investigate",
        "supervisor02",
        {"complaint_holds": "no", "findings": "不属实"},
    )
    assert only_task(complaints, "TS-6", "reply_complainant").due_at == bj(2026, 11, 30, 17, 30)
    clock.set(bj(2026, 11, 30, 17, 31))
    complaints.fire_due_timers()
    assert [(c.color, c.element_id) for c in complaints.cards(case="TS-6")] == [
        ("red", "reply_complainant")
    ]
    overdue = [r for r in complaints.fault_records(case="TS-6") if r.kind == "overdue_step"]
    assert [(r.element_id, r.person_id) for r in overdue] == [("reply_complainant", "supervisor02")]
    step(complaints, "TS-6", "reply_complainant", "supervisor02", REPLY)
    assert complaints.get_case("TS-6").status == "completed"
    assert complaints.cards(case="TS-6") == []
