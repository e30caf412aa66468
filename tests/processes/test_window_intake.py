"""Scenario: bpmn/window_intake.bpmn (首问负责・一窗受理, S1 and §32), every path.

The case starts on Monday 2026-11-23 09:00 Beijing time (the ``clock`` fixture). A
serialize/restore round trip runs between steps.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from engine import Engine, FormValidationError
from engine.clock import FakeClock
from engine.store.records import CaseRecord, load_case
from tests.conftest import BPMN
from tests.helpers import act, only_task, restore_roundtrip

# A service item handled by this process, for the tests that need a promised deadline,
# step limits and the §32 deemed-acceptance check (only cases started for an item get them).
ITEM = """
[[items]]
code = "WI-T01"
name = "一窗受理测试事项"
department = "service-centre"
process = "window_intake"
statutory_days = 20
promised_days = 10
sample = true
steps = [
  { step = "register_application", name = "登记收件", days = 1 },
  { step = "check_materials", name = "审查申请材料", days = 2 },
  { step = "notify_missing", name = "一次性告知补正材料", days = 1 },
  { step = "issue_acceptance", name = "出具受理通知书", days = 1 },
  { step = "issue_refusal", name = "出具不予受理通知书", days = 1 },
  { step = "decide_on_spot", name = "当场办结", days = 1 },
  { step = "refer_matter", name = "告知向有权机关申请", days = 1 },
  { step = "close_tracking", name = "跟踪办结", days = 1 },
]
materials = [
  { name = "申请书", required = true, copies = 1 },
  { name = "营业执照", required = true, copies = 1, note = "复印件" },
  { name = "场所平面图", required = true, copies = 1 },
]
"""

REGISTRATION: dict[str, Any] = {
    "applicant_name": "某某餐饮有限公司",
    "applicant_contact": "王五 13800000000",
    "applicant_id_no": "91000000MA0000000X",
    "item_code": "WI-T01",
    "item_name": "一窗受理测试事项",
    "materials_received": "申请书1份；营业执照复印件1份",
    "receipt_no": "SJ-2026-0001",
    "applicant_confirmed": True,
}


def bj(y: int, m: int, d: int, h: int, minute: int = 0) -> datetime:
    """A Beijing wall-clock moment as an aware UTC datetime."""
    return datetime(y, m, d, h, minute, tzinfo=UTC) - timedelta(hours=8)


@pytest.fixture
def intake(engine: Engine, tmp_path: Path) -> Engine:
    engine.deploy([BPMN / "window_intake.bpmn"], actor="admin")
    items = tmp_path / "window-intake-items.toml"
    items.write_text(ITEM, encoding="utf-8")
    engine.load_items([items])
    return engine


def step(
    engine: Engine,
    key: str,
    element_id: str,
    person: str,
    data: dict[str, Any],
    opinion: str | None = None,
) -> None:
    act(engine, key, element_id, person, data, opinion)
    restore_roundtrip(engine, key)


def start(engine: Engine, key: str, *, item: str | None = None) -> None:
    engine.start_case("window_intake", key, actor="window01", item=item)
    restore_roundtrip(engine, key)


def register(engine: Engine, key: str, route: str, person: str = "window01") -> None:
    step(engine, key, "register_application", person, {**REGISTRATION, "intake_route": route})


def completed_steps(engine: Engine, key: str) -> list[str]:
    case = engine.get_case(key)
    assert case.status == "completed"
    assert case.open_tasks == ()
    return [h.element_id or "" for h in case.history if h.action == "complete"]


def case_row(engine: Engine, key: str) -> CaseRecord:
    with engine.runtime.call(readonly=True) as call:
        case = load_case(call.conn, key)
    assert case is not None
    return case


def actions(engine: Engine, key: str) -> list[str]:
    return [h.action for h in engine.history(key)]


# -- registration and receipt (登记收件, 收件回执) -------------------------------------------


def test_registration_needs_the_applicant_materials_receipt_and_route(intake: Engine) -> None:
    start(intake, "WI-1")
    task = only_task(intake, "WI-1", "register_application")
    assert task.candidate_groups == ("role:window-officer",)
    assert task.due_at == bj(2026, 11, 24, 17, 30)  # ${working_days(1)}
    intake.claim(task.id, actor="window01")
    with pytest.raises(FormValidationError) as raised:
        intake.complete(task.id, actor="window01", data={"applicant_name": "某某餐饮有限公司"})
    missing = {p.field for p in raised.value.problems}
    assert {
        "applicant_contact",
        "item_name",
        "materials_received",
        "receipt_no",
        "intake_route",
    } <= missing
    with pytest.raises(FormValidationError, match="intake_route"):
        intake.complete(
            task.id, actor="window01", data={**REGISTRATION, "intake_route": "elsewhere"}
        )
    assert only_task(intake, "WI-1").element_id == "register_application"


def test_decided_on_the_spot_ends_at_the_window(intake: Engine) -> None:
    start(intake, "WI-2")
    register(intake, "WI-2", "on_spot")
    data = intake.get_case("WI-2").data
    assert data["receipt_issued"] is True and data["receipt_no"] == "SJ-2026-0001"
    assert only_task(intake, "WI-2").element_id == "decide_on_spot"
    step(
        intake,
        "WI-2",
        "decide_on_spot",
        "window01",
        {"spot_decision_no": "DC-2026-0001", "spot_result": "当场作出准予许可决定并交付"},
    )
    assert completed_steps(intake, "WI-2") == ["register_application", "decide_on_spot"]
    assert "accept" in actions(intake, "WI-2")  # 当场受理并办结
    assert case_row(intake, "WI-2").accepted_at == bj(2026, 11, 23, 9)


# -- review: accept, refuse, one notice and supplement -------------------------------------


def test_complete_materials_are_accepted_with_a_written_voucher(intake: Engine) -> None:
    start(intake, "WI-3")
    register(intake, "WI-3", "review")
    step(intake, "WI-3", "check_materials", "window02", {"check_result": "complete"})
    task = only_task(intake, "WI-3", "issue_acceptance")
    intake.claim(task.id, actor="window02")
    with pytest.raises(FormValidationError, match="acceptance_voucher_no"):
        intake.complete(task.id, actor="window02", data={})
    assert case_row(intake, "WI-3").accepted_at is None
    intake.complete(
        task.id,
        actor="window02",
        data={"acceptance_voucher_no": "SL-2026-0001", "accepted_on": "2026-11-23"},
    )
    restore_roundtrip(intake, "WI-3")
    assert completed_steps(intake, "WI-3") == [
        "register_application",
        "check_materials",
        "issue_acceptance",
    ]
    case = case_row(intake, "WI-3")
    assert case.accepted_at == bj(2026, 11, 23, 9) and not case.deemed_accepted
    assert intake.get_case("WI-3").data["acceptance_voucher_no"] == "SL-2026-0001"


def test_refusal_needs_a_voucher_and_reasons_and_tells_the_remedies(intake: Engine) -> None:
    start(intake, "WI-4")
    register(intake, "WI-4", "review")
    step(
        intake,
        "WI-4",
        "check_materials",
        "window01",
        {"check_result": "inadmissible", "check_opinion": "申请事项依法不需要取得行政许可"},
    )
    task = only_task(intake, "WI-4", "issue_refusal")
    intake.claim(task.id, actor="window01")
    with pytest.raises(FormValidationError) as raised:
        intake.complete(task.id, actor="window01", data={"refusal_voucher_no": "BSL-1"})
    assert [p.field for p in raised.value.problems] == ["refusal_reasons"]
    intake.complete(
        task.id,
        actor="window01",
        data={"refusal_voucher_no": "BSL-1", "refusal_reasons": "该事项依法不需要取得行政许可"},
    )
    restore_roundtrip(intake, "WI-4")
    assert completed_steps(intake, "WI-4")[-1] == "issue_refusal"
    data = intake.get_case("WI-4").data
    assert data["refusal_reasons"] == "该事项依法不需要取得行政许可"
    assert "行政复议" in data["remedy_notice"]  # the default remedy notice
    assert "accept" not in actions(intake, "WI-4")
    assert case_row(intake, "WI-4").accepted_at is None


def test_incomplete_materials_get_one_notice_and_a_supplement_with_the_clock_stopped(
    intake: Engine, clock: FakeClock
) -> None:
    start(intake, "WI-5", item="WI-T01")
    promised = intake.get_case("WI-5").due_at
    assert promised == bj(2026, 12, 7, 17, 30)  # 10 working days (the item's promise)
    register(intake, "WI-5", "review")
    step(intake, "WI-5", "check_materials", "window01", {"check_result": "incomplete"})
    notice = only_task(intake, "WI-5", "notify_missing")
    intake.claim(notice.id, actor="window01")
    with pytest.raises(FormValidationError, match="missing_materials"):
        intake.complete(notice.id, actor="window01", data={"missing_notice_no": "BZ-1"})
    clock.set(bj(2026, 11, 24, 9))  # the next day: within the 5 days of §32
    intake.complete(
        notice.id,
        actor="window01",
        data={
            "missing_notice_no": "BZ-1",
            "missing_materials": "场所平面图1份；营业执照原件（核验）",
            "supplement_requirements": "平面图须标明设备布局并加盖公章",
        },
    )
    restore_roundtrip(intake, "WI-5")
    supplement = only_task(intake, "WI-5", "await_supplement")
    assert supplement.candidate_groups == ("role:window-officer",)
    assert actions(intake, "WI-5").count("clock_stop") == 1

    # Three weeks waiting on the applicant, past the promised deadline: nothing fires.
    clock.set(bj(2026, 12, 15, 9))
    assert intake.fire_due_timers() == 0
    assert intake.cards() == []
    assert intake.fault_records(case="WI-5") == []
    step(
        intake,
        "WI-5",
        "await_supplement",
        "window02",
        {"supplement_received": "场所平面图1份", "supplement_received_on": "2026-12-15"},
    )
    # 15 working days stopped (Tue 11/24 09:00 → Tue 12/15 09:00): the promise moved on.
    assert intake.get_case("WI-5").due_at == bj(2026, 12, 28, 17, 30)
    assert actions(intake, "WI-5").count("clock_resume") == 1

    # Still incomplete: no second notice (一次性告知), back to waiting on the applicant.
    step(intake, "WI-5", "check_materials", "window02", {"check_result": "incomplete"})
    assert only_task(intake, "WI-5").element_id == "await_supplement"
    assert actions(intake, "WI-5").count("clock_stop") == 2
    clock.set(bj(2026, 12, 16, 9))  # one more working day stopped
    step(intake, "WI-5", "await_supplement", "window02", {"supplement_received": "营业执照原件"})
    assert intake.get_case("WI-5").due_at == bj(2026, 12, 29, 17, 30)
    step(intake, "WI-5", "check_materials", "window02", {"check_result": "complete"})
    step(intake, "WI-5", "issue_acceptance", "window02", {"acceptance_voucher_no": "SL-5"})

    assert completed_steps(intake, "WI-5") == [
        "register_application",
        "check_materials",
        "notify_missing",
        "await_supplement",
        "check_materials",
        "await_supplement",
        "check_materials",
        "issue_acceptance",
    ]
    case = case_row(intake, "WI-5")
    assert case.accepted_at == bj(2026, 12, 16, 9) and not case.deemed_accepted
    assert intake.get_case("WI-5").data["missing_notice_no"] == "BZ-1"
    assert intake.cards() == []
    assert intake.fault_records(case="WI-5") == []


# -- transfer inside the organ, referral to another organ ----------------------------------


def test_transfer_inside_the_organ_is_tracked_to_the_end(intake: Engine, clock: FakeClock) -> None:
    start(intake, "WI-6")
    register(intake, "WI-6", "transfer")
    transfer = only_task(intake, "WI-6", "transfer_matter")
    intake.claim(transfer.id, actor="window01")
    with pytest.raises(FormValidationError) as raised:
        intake.complete(transfer.id, actor="window01", data={})
    assert {p.field for p in raised.value.problems} == {"receiving_unit", "handover_note"}
    intake.complete(
        transfer.id,
        actor="window01",
        data={
            "receiving_unit": "housing-permits",
            "handover_note": "移交施工许可咨询及申请材料2份，申请人联系电话已登记",
        },
    )
    restore_roundtrip(intake, "WI-6")
    handle = only_task(intake, "WI-6", "handle_transfer")
    assert handle.candidate_groups == ("dept:housing-permits",)
    assert handle.lane == "承接单位（本机关其他单位）"
    assert handle.due_at == bj(2026, 11, 30, 17, 30)  # ${working_days(5)}
    assert [t.element_id for t in intake.inbox("zhangwei")] == ["handle_transfer"]
    assert intake.inbox("sunli") == []  # another unit does not see it

    # The receiving unit lets it run late: red card and escalation to its department head.
    intake.claim(handle.id, actor="zhangwei")
    clock.set(bj(2026, 11, 30, 17, 31))
    intake.fire_due_timers()
    restore_roundtrip(intake, "WI-6")
    assert [(c.color, c.element_id, c.department_id) for c in intake.cards(case="WI-6")] == [
        ("red", "handle_transfer", "housing-permits")
    ]
    overdue = intake.fault_records(case="WI-6", kind="overdue_step")
    assert [(r.person_id, r.department_id) for r in overdue] == [("zhangwei", "housing-permits")]
    assert [(n.kind, n.element_id) for n in intake.notices("zhaomin")] == [
        ("escalation", "handle_transfer")
    ]

    clock.set(bj(2026, 12, 1, 17, 30))  # the unit reports back one working day late
    step(
        intake,
        "WI-6",
        "handle_transfer",
        "zhangwei",
        {"transfer_outcome": "accepted", "transfer_feedback": "已受理，受理通知书编号 JZ-SL-7"},
    )
    assert "accept" in actions(intake, "WI-6")  # the receiving unit accepted (§32)
    assert intake.cards(case="WI-6") == []
    [record] = intake.fault_records(case="WI-6", kind="overdue_step")
    assert record.overdue_days == 1.0  # the final lateness, once the step is done
    tracking = only_task(intake, "WI-6", "close_tracking")
    assert tracking.candidate_groups == ("role:window-officer",)
    step(
        intake,
        "WI-6",
        "close_tracking",
        "window01",
        {"tracking_result": "承接单位已受理，已电话告知申请人", "applicant_informed": True},
    )
    assert completed_steps(intake, "WI-6") == [
        "register_application",
        "transfer_matter",
        "handle_transfer",
        "close_tracking",
    ]


def test_a_transfer_the_unit_answers_without_accepting_leaves_the_case_unaccepted(
    intake: Engine,
) -> None:
    start(intake, "WI-7")
    register(intake, "WI-7", "transfer")
    step(
        intake,
        "WI-7",
        "transfer_matter",
        "window02",
        {"receiving_unit": "market-food", "handover_note": "移交食品经营咨询"},
    )
    step(
        intake,
        "WI-7",
        "handle_transfer",
        "sunli",
        {"transfer_outcome": "answered", "transfer_feedback": "已当面解答，申请人暂不申请"},
    )
    step(intake, "WI-7", "close_tracking", "window02", {"tracking_result": "已答复，结束跟踪"})
    assert completed_steps(intake, "WI-7")[-1] == "close_tracking"
    assert "accept" not in actions(intake, "WI-7")


def test_referral_names_the_competent_organ_its_phone_and_the_reason(intake: Engine) -> None:
    start(intake, "WI-8")
    register(intake, "WI-8", "refer")
    task = only_task(intake, "WI-8", "refer_matter")
    intake.claim(task.id, actor="window01")
    with pytest.raises(FormValidationError) as raised:
        intake.complete(task.id, actor="window01", data={"competent_organ": "某省某厅"})
    assert {p.field for p in raised.value.problems} == {
        "referral_reason",
        "competent_organ_phone",
        "referral_mode",
        "referral_notice_no",
    }
    intake.complete(
        task.id,
        actor="window01",
        data={
            "referral_reason": "该事项属省级机关审批权限，不属于本机关职权范围",
            "competent_organ": "某省住房和城乡建设厅",
            "competent_organ_phone": "0000-88888888",
            "referral_mode": "inform",
            "referral_notice_no": "GZ-2026-0001",
        },
    )
    restore_roundtrip(intake, "WI-8")
    assert completed_steps(intake, "WI-8") == ["register_application", "refer_matter"]
    data = intake.get_case("WI-8").data
    assert (data["competent_organ"], data["competent_organ_phone"]) == (
        "某省住房和城乡建设厅",
        "0000-88888888",
    )
    assert "accept" not in actions(intake, "WI-8")


# -- §32 deemed acceptance and the registration step's cards -------------------------------


def test_no_notice_within_five_working_days_is_deemed_acceptance_on_receipt(
    intake: Engine, clock: FakeClock
) -> None:
    start(intake, "WI-9", item="WI-T01")
    register(intake, "WI-9", "review")
    check = only_task(intake, "WI-9", "check_materials")
    assert check.due_at == bj(2026, 11, 25, 17, 30)  # the item's step limit: 2 working days
    intake.claim(check.id, actor="window02")
    clock.set(bj(2026, 11, 30, 17, 29))  # just short of 5 working days after receipt
    intake.fire_due_timers()
    assert intake.fault_records(case="WI-9", kind="deemed_acceptance") == []
    assert case_row(intake, "WI-9").accepted_at is None
    clock.set(bj(2026, 11, 30, 17, 31))  # Mon 11/23 09:00 + 5 working days
    intake.fire_due_timers()
    restore_roundtrip(intake, "WI-9")
    [record] = intake.fault_records(case="WI-9", kind="deemed_acceptance")
    assert (record.person_id, record.department_id) == ("window02", "service-centre")
    assert record.detail is not None
    assert record.detail["received_at"] == bj(2026, 11, 23, 9).isoformat()
    [line] = [h for h in intake.history("WI-9") if h.action == "deemed_acceptance"]
    assert line.actor is None and "§32" in (line.opinion or "")
    case = case_row(intake, "WI-9")
    assert case.deemed_accepted and case.accepted_at == bj(2026, 11, 23, 9)  # receipt date
    # The late check step has its own red card and record, apart from §32.
    assert ("red", "check_materials") in [(c.color, c.element_id) for c in intake.cards()]
    # The case goes on; completing the acceptance step later keeps the receipt date.
    step(intake, "WI-9", "check_materials", "window02", {"check_result": "complete"})
    step(intake, "WI-9", "issue_acceptance", "window02", {"acceptance_voucher_no": "SL-9"})
    assert completed_steps(intake, "WI-9")[-1] == "issue_acceptance"
    assert case_row(intake, "WI-9").accepted_at == bj(2026, 11, 23, 9)


def test_a_timely_one_time_notice_stops_the_clock_and_prevents_deemed_acceptance(
    intake: Engine, clock: FakeClock
) -> None:
    start(intake, "WI-10", item="WI-T01")
    register(intake, "WI-10", "review")
    clock.set(bj(2026, 11, 25, 10))  # Wednesday: within 5 working days
    step(intake, "WI-10", "check_materials", "window01", {"check_result": "incomplete"})
    step(
        intake,
        "WI-10",
        "notify_missing",
        "window01",
        {"missing_notice_no": "BZ-10", "missing_materials": "营业执照复印件1份"},
    )
    assert only_task(intake, "WI-10").element_id == "await_supplement"
    clock.set(bj(2026, 12, 2, 9))  # past the §32 moment while the clock is stopped
    assert intake.fire_due_timers() == 0
    step(intake, "WI-10", "await_supplement", "window01", {"supplement_received": "营业执照"})
    intake.fire_due_timers()  # the §32 check runs once the clock restarts: a notice was given
    assert intake.fault_records(case="WI-10", kind="deemed_acceptance") == []
    assert "deemed_acceptance" not in actions(intake, "WI-10")
    case = case_row(intake, "WI-10")
    assert case.accepted_at is None and not case.deemed_accepted
    step(intake, "WI-10", "check_materials", "window01", {"check_result": "complete"})
    step(intake, "WI-10", "issue_acceptance", "window01", {"acceptance_voucher_no": "SL-10"})
    assert case_row(intake, "WI-10").accepted_at == bj(2026, 12, 2, 9)


def test_late_registration_gets_a_yellow_then_a_red_card(intake: Engine, clock: FakeClock) -> None:
    start(intake, "WI-11", item="WI-T01")
    task = only_task(intake, "WI-11", "register_application")
    intake.claim(task.id, actor="window01")
    clock.set(bj(2026, 11, 23, 17, 29))
    intake.fire_due_timers()
    assert intake.cards() == []
    clock.set(bj(2026, 11, 23, 17, 31))  # one working day left
    intake.fire_due_timers()
    restore_roundtrip(intake, "WI-11")
    assert [(c.color, c.element_id, c.holder) for c in intake.cards()] == [
        ("yellow", "register_application", "window01")
    ]
    assert [(n.kind, n.element_id) for n in intake.notices("window01")] == [
        ("reminder", "register_application")
    ]
    clock.set(bj(2026, 11, 24, 17, 31))  # past close of business on the next working day
    intake.fire_due_timers()
    restore_roundtrip(intake, "WI-11")
    assert [(c.color, c.element_id, c.department_id) for c in intake.cards()] == [
        ("red", "register_application", "service-centre")
    ]
    [record] = intake.fault_records(case="WI-11", kind="overdue_step")
    assert (record.person_id, record.post_id, record.element_id) == (
        "window01",
        "window-a",
        "register_application",
    )
    clock.set(bj(2026, 11, 25, 17, 30))  # registered one working day late
    register(intake, "WI-11", "review")
    assert intake.cards() == []
    [closed] = intake.fault_records(case="WI-11", kind="overdue_step")
    assert closed.id == record.id and closed.overdue_days == 1.0  # final lateness
    assert only_task(intake, "WI-11").element_id == "check_materials"
