"""Scenario: bpmn/general_permit.bpmn (一般项目主办部门负责制), every path.

A serialize/restore round trip runs between steps.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from engine import Engine, FormValidationError
from tests.conftest import BPMN
from tests.helpers import act, only_task, restore_roundtrip


@pytest.fixture
def permit(engine: Engine) -> Engine:
    engine.deploy([BPMN / "general_permit.bpmn"], actor="admin")
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


def test_happy_path_grants_and_serves_certificate(permit: Engine) -> None:
    permit.start_case(
        "general_permit", "GP-1", actor="window01", data={"applicant": "某某建设有限公司"}
    )
    restore_roundtrip(permit, "GP-1")
    step(permit, "GP-1", "accept", "window01", {"accepted": "yes"}, "材料齐全，予以受理")
    step(permit, "GP-1", "handle", "zhangwei", {"handling_opinion": "符合条件"}, "拟准予")
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
