"""Scenario: bpmn/general_permit.bpmn (一般项目主办部门负责制), every path.

The diagram calls bpmn/special_procedure.bpmn (§45) and bpmn/extension_request.bpmn (§42),
so the three are deployed as one bundle. The clock starts on Monday 2026-11-23 09:00
Beijing time; a serialize/restore round trip runs between steps.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from engine import Engine, FormValidationError, ScriptError
from engine.clock import FakeClock
from tests.conftest import GENERAL_PERMIT, TEST_ITEMS
from tests.helpers import act, only_task, restore_roundtrip


def bj(y: int, m: int, d: int, h: int, minute: int = 0) -> datetime:
    """A Beijing wall-clock moment as an aware UTC datetime."""
    return datetime(y, m, d, h, minute, tzinfo=UTC) - timedelta(hours=8)


@pytest.fixture
def permit(engine: Engine) -> Engine:
    engine.deploy(GENERAL_PERMIT, actor="admin")
    engine.load_items([TEST_ITEMS])
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


def _ended_at(engine: Engine, key: str) -> list[str]:
    case = engine.get_case(key)
    assert case.status == "completed"
    return [h.element_id or "" for h in case.history if h.action == "complete"]


def _accepted_for_item(engine: Engine, key: str) -> None:
    """A case for the test item T-0101 (promised 7 working days: due Wed 12/2 17:30), accepted."""
    engine.start_case("general_permit", key, actor="window01", item="T-0101")
    restore_roundtrip(engine, key)
    step(engine, key, "accept", "window01", {"accepted": "yes"})


def test_happy_path_grants_and_serves_certificate(permit: Engine) -> None:
    permit.start_case(
        "general_permit", "GP-1", actor="window01", data={"applicant": "某某建设有限公司"}
    )
    restore_roundtrip(permit, "GP-1")
    step(permit, "GP-1", "accept", "window01", {"accepted": "yes"}, "材料齐全，予以受理")
    step(permit, "GP-1", "handle", "zhangwei", {"handling_opinion": "符合条件"}, "拟准予")
    assert permit.get_case("GP-1").data["next_action"] == "submit"  # the default
    step(permit, "GP-1", "review", "chenjie", {"review_result": "pass"}, "同意")
    step(permit, "GP-1", "approve", "zhaomin", {"decision": "grant"}, "准予许可")
    step(
        permit,
        "GP-1",
        "issue_certificate",
        "window02",
        {"certificate_no": "JZ-2026-0001", "served_on": "2026-11-30"},
    )
    assert _ended_at(permit, "GP-1") == [
        "accept",
        "handle",
        "review",
        "approve",
        "issue_certificate",
    ]


def test_item_step_limits_apply_to_every_step(permit: Engine, clock: FakeClock) -> None:
    _accepted_for_item(permit, "GP-10")
    case = permit.get_case("GP-10")
    assert case.due_at == bj(2026, 12, 2, 17, 30)
    assert only_task(permit, "GP-10", "handle").due_at == bj(2026, 11, 26, 17, 30)  # 3 days
    clock.set(bj(2026, 11, 24, 10))
    step(permit, "GP-10", "handle", "zhangwei", {"handling_opinion": "符合条件"})
    assert only_task(permit, "GP-10", "review").due_at == bj(2026, 11, 25, 17, 30)  # 1 day
    step(permit, "GP-10", "review", "chenjie", {"review_result": "pass"})
    assert only_task(permit, "GP-10", "approve").due_at == bj(2026, 11, 25, 17, 30)
    step(permit, "GP-10", "approve", "zhaomin", {"decision": "grant"})
    # §44 allows ten days to serve the certificate; the item promises one
    assert only_task(permit, "GP-10", "issue_certificate").due_at == bj(2026, 11, 25, 17, 30)
    step(permit, "GP-10", "issue_certificate", "window01", {"certificate_no": "JZ-10"})
    assert permit.get_case("GP-10").status == "completed"
    assert permit.cards(case="GP-10") == []


def test_not_accepted_ends_at_once(permit: Engine) -> None:
    permit.start_case("general_permit", "GP-2")
    step(permit, "GP-2", "accept", "window01", {"accepted": "no", "reason": "不属于本机关职权"})
    assert _ended_at(permit, "GP-2") == ["accept"]


def test_refusal_path_notifies_reasons_and_remedies(permit: Engine) -> None:
    permit.start_case("general_permit", "GP-3")
    step(permit, "GP-3", "accept", "window01", {"accepted": "yes"})
    step(permit, "GP-3", "handle", "zhangwei", {"handling_opinion": "不符合规划条件"})
    step(permit, "GP-3", "review", "chenjie", {"review_result": "pass"})
    step(permit, "GP-3", "approve", "zhaomin", {"decision": "refuse"}, "不予许可")
    task = only_task(permit, "GP-3", "notify_refusal")
    permit.claim(task.id, actor="window01")
    with pytest.raises(FormValidationError, match="refusal_reasons"):
        permit.complete(task.id, actor="window01", data={})
    permit.complete(task.id, actor="window01", data={"refusal_reasons": "不符合控制性详细规划"})
    assert _ended_at(permit, "GP-3")[-1] == "notify_refusal"
    data = permit.get_case("GP-3").data
    assert "行政复议" in data["remedy_notice"] and "行政诉讼" in data["remedy_notice"]  # §38


def test_review_returns_to_handling(permit: Engine) -> None:
    permit.start_case("general_permit", "GP-4")
    step(permit, "GP-4", "accept", "window01", {"accepted": "yes"})
    step(permit, "GP-4", "handle", "zhangwei", {"handling_opinion": "初审"})
    step(permit, "GP-4", "review", "chenjie", {"review_result": "return"}, "退回补充核查")
    assert only_task(permit, "GP-4").element_id == "handle"
    step(permit, "GP-4", "handle", "zhangwei", {"handling_opinion": "已核查"})
    step(permit, "GP-4", "review", "chenjie", {"review_result": "pass"})
    step(permit, "GP-4", "approve", "zhaomin", {"decision": "grant"})
    step(permit, "GP-4", "issue_certificate", "window01", {"certificate_no": "JZ-2"})
    assert _ended_at(permit, "GP-4").count("handle") == 2


def test_handling_reminder_timer_raises_urge_task(permit: Engine) -> None:
    permit.start_case("general_permit", "GP-5")
    step(permit, "GP-5", "accept", "window01", {"accepted": "yes"})
    later = permit.clock.now() + timedelta(days=6)
    permit.clock.set(later)  # type: ignore[attr-defined]
    assert permit.fire_due_timers() == 1
    restore_roundtrip(permit, "GP-5")
    open_ids = sorted(t.element_id for t in permit.tasks(case="GP-5"))
    assert open_ids == ["handle", "urge_handling"]
    step(permit, "GP-5", "urge_handling", "chenjie", {"urge_note": "请于两日内办结"})
    step(permit, "GP-5", "handle", "zhangwei", {"handling_opinion": "已办"})
    assert only_task(permit, "GP-5").element_id == "review"


def test_special_procedure_stops_the_clock_and_returns_to_handling(
    permit: Engine, clock: FakeClock
) -> None:
    _accepted_for_item(permit, "GP-6")
    clock.set(bj(2026, 11, 24, 9))
    step(
        permit,
        "GP-6",
        "handle",
        "zhangwei",
        {
            "handling_opinion": "需组织专家评审",
            "next_action": "special_procedure",
            "procedure_kind": "expert_review",
            "procedure_reason": "涉及超限高层建筑，须组织专家评审，评审时间不计入办理时限。",
        },
    )
    assert [t.element_id for t in permit.tasks(case="GP-6")] == ["conduct_procedure"]
    assert "clock_stop" in [h.action for h in permit.history("GP-6")]
    # five working days of expert review: the case's yellow card (due Mon 11/30 17:30)
    # does not come while the clock is stopped
    clock.set(bj(2026, 12, 1, 9))
    permit.fire_due_timers()
    assert permit.cards(case="GP-6") == []
    step(
        permit,
        "GP-6",
        "conduct_procedure",
        "zhangwei",
        {"procedure_result": "专家评审通过", "procedure_ended_on": "2026-12-01"},
    )
    case = permit.get_case("GP-6")
    assert case.data["procedure_done"] is True
    assert case.due_at == bj(2026, 12, 9, 17, 30)  # Wed 12/2 + the five stopped days
    handle = only_task(permit, "GP-6", "handle")
    assert handle.due_at == bj(2026, 12, 4, 17, 30)  # a fresh 3-day step limit from 12/1
    assert [h.action for h in case.history].count("clock_resume") == 1
    step(permit, "GP-6", "handle", "zhangwei", {"handling_opinion": "经专家评审，符合条件"})
    step(permit, "GP-6", "review", "chenjie", {"review_result": "pass"})
    step(permit, "GP-6", "approve", "zhaomin", {"decision": "grant"})
    step(permit, "GP-6", "issue_certificate", "window01", {"certificate_no": "JZ-6"})
    assert _ended_at(permit, "GP-6") == [
        "accept",
        "handle",
        "conduct_procedure",
        "handle",
        "review",
        "approve",
        "issue_certificate",
    ]


def test_special_procedure_needs_its_kind(permit: Engine) -> None:
    permit.start_case("general_permit", "GP-7")
    step(permit, "GP-7", "accept", "window01", {"accepted": "yes"})
    handle = only_task(permit, "GP-7", "handle")
    permit.claim(handle.id, actor="zhangwei")
    with pytest.raises(ScriptError, match="stop_clock"):
        permit.complete(
            handle.id,
            actor="zhangwei",
            data={"handling_opinion": "需检测", "next_action": "special_procedure"},
        )
    restore_roundtrip(permit, "GP-7")
    assert only_task(permit, "GP-7").element_id == "handle"  # nothing changed


def test_approved_extension_moves_deadlines_and_returns_to_handling(permit: Engine) -> None:
    _accepted_for_item(permit, "GP-8")
    step(
        permit,
        "GP-8",
        "handle",
        "zhangwei",
        {
            "handling_opinion": "需补充现场踏勘",
            "next_action": "extend",
            "extension_days": 3,
            "extension_reason": "需补充现场踏勘，申请延长3个工作日。",
        },
    )
    decide = only_task(permit, "GP-8", "decide_extension")
    assert decide.candidate_groups == ("role:organ-head",)
    step(permit, "GP-8", "decide_extension", "liqiang", {"extension_approved": "yes"})
    case = permit.get_case("GP-8")
    assert case.data["extension_granted"] is True
    assert case.due_at == bj(2026, 12, 7, 17, 30)  # Wed 12/2 + 3 working days
    assert "extension_decision" in [h.action for h in case.history]
    step(permit, "GP-8", "handle", "zhangwei", {"handling_opinion": "踏勘完毕，符合条件"})
    step(permit, "GP-8", "review", "chenjie", {"review_result": "pass"})
    step(permit, "GP-8", "approve", "zhaomin", {"decision": "refuse"})
    step(permit, "GP-8", "notify_refusal", "window01", {"refusal_reasons": "现场不具备施工条件"})
    assert _ended_at(permit, "GP-8").count("handle") == 2


def test_refused_extension_keeps_deadlines(permit: Engine) -> None:
    _accepted_for_item(permit, "GP-9")
    with pytest.raises(FormValidationError, match="extension_days"):
        act(
            permit,
            "GP-9",
            "handle",
            "zhangwei",
            {"handling_opinion": "x", "next_action": "extend", "extension_days": 0},
        )
    step(
        permit,
        "GP-9",
        "handle",
        "zhangwei",
        {
            "handling_opinion": "申请延期",
            "next_action": "extend",
            "extension_days": 5,
            "extension_reason": "材料复杂",
        },
    )
    step(
        permit,
        "GP-9",
        "decide_extension",
        "liqiang",
        {"extension_approved": "no", "extension_opinion": "应在承诺时限内办结"},
    )
    case = permit.get_case("GP-9")
    assert case.data["extension_granted"] is False
    assert case.due_at == bj(2026, 12, 2, 17, 30)
    assert only_task(permit, "GP-9").element_id == "handle"
