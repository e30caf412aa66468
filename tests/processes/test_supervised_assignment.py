"""Scenario: bpmn/supervised_assignment.bpmn (限时督办, S13), every path.

A leader's instruction becomes an assignment with a deadline in working days; the unit
is reminded every 7 days to report progress; a late unit gets a red card and an
overdue record and must give its reason. A serialize/restore round trip runs between
steps.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from engine import Engine, FormValidationError, NotPermittedError
from engine.clock import FakeClock
from engine.parsing import SourceFile
from tests.conftest import BPMN
from tests.helpers import act, only_task, restore_roundtrip


def bj(y: int, m: int, d: int, h: int, minute: int = 0) -> datetime:
    """A Beijing wall-clock moment as an aware UTC datetime."""
    return datetime(y, m, d, h, minute, tzinfo=UTC) - timedelta(hours=8)


# registered Monday 2026-11-23 09:00 with 10 working days: due Monday 12/7 17:30
DEADLINE = bj(2026, 12, 7, 17, 30)


@pytest.fixture
def assignments(engine: Engine) -> Engine:
    engine.deploy([BPMN / "supervised_assignment.bpmn"], actor="admin")
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


def assign(engine: Engine, key: str, limit_days: int = 10) -> str:
    """Register the instruction; zhangwei takes the assignment. Returns its task id."""
    engine.start_case(
        "supervised_assignment",
        key,
        actor="supervisor01",
        data={
            "instruction": "请住建局于限期内完成老旧小区加装电梯审批流程优化",
            "assigned_unit": "housing-permits",
            "limit_days": limit_days,
        },
    )
    restore_roundtrip(engine, key)
    task = only_task(engine, key, "carry_out_assignment")
    assert task.candidate_groups == ("dept:housing-permits",)
    with pytest.raises(NotPermittedError):
        engine.claim(task.id, actor="sunli")  # a case officer of another unit
    engine.claim(task.id, actor="zhangwei")
    return task.id


def pending(engine: Engine) -> dict[str, datetime]:
    return {
        t.element_id or "": t.due_at
        for t in engine.timers(state="pending")
        if t.rule is None  # the diagram's timers, not the engine's card rules
    }


def test_on_time_assignment_is_accepted(assignments: Engine, clock: FakeClock) -> None:
    assign(assignments, "SA-1")
    assert only_task(assignments, "SA-1").due_at == DEADLINE
    assert pending(assignments) == {
        "progress_reminder": bj(2026, 11, 30, 9),  # every 7 days
        "deadline_passed": DEADLINE,
    }
    clock.set(bj(2026, 11, 26, 15))
    step(
        assignments,
        "SA-1",
        "carry_out_assignment",
        "zhangwei",
        {
            "completion_report": "审批流程已优化，办理时限压缩至5个工作日",
            "completed_on": "2026-11-26",
        },
    )
    assert pending(assignments) == {}
    check = only_task(assignments, "SA-1", "check_completion")
    assert check.candidate_groups == ("role:supervisor",)
    step(
        assignments, "SA-1", "check_completion", "supervisor01", {"check_result": "accept"}, "销号"
    )
    case = assignments.get_case("SA-1")
    assert case.status == "completed"
    assert case.data["assignment_deadline"] == DEADLINE.isoformat()
    assert assignments.fault_records(case="SA-1") == []
    assert assignments.cards(case="SA-1", live_only=False) == []


def test_sent_back_once_keeps_the_deadline(assignments: Engine, clock: FakeClock) -> None:
    assign(assignments, "SA-2")
    clock.set(bj(2026, 11, 25, 10))
    step(assignments, "SA-2", "carry_out_assignment", "zhangwei", {"completion_report": "初步完成"})
    step(
        assignments,
        "SA-2",
        "check_completion",
        "supervisor02",
        {"check_result": "send_back", "check_opinion": "未附审批流程图，退回重办"},
    )
    again = only_task(assignments, "SA-2", "carry_out_assignment")
    assert again.due_at == DEADLINE  # sending back does not extend the leader's deadline
    assert pending(assignments)["deadline_passed"] == DEADLINE
    clock.set(bj(2026, 11, 27, 10))
    step(
        assignments,
        "SA-2",
        "carry_out_assignment",
        "lina",
        {"completion_report": "已补充审批流程图"},
    )
    step(assignments, "SA-2", "check_completion", "supervisor02", {"check_result": "accept"})
    case = assignments.get_case("SA-2")
    assert case.status == "completed"
    done = [h.element_id for h in case.history if h.action == "complete"]
    assert done == [
        "carry_out_assignment",
        "check_completion",
        "carry_out_assignment",
        "check_completion",
    ]


def remind_weekly(engine: Engine, key: str, weeks: int) -> None:
    """Let ``weeks`` weekly reminders fire; the unit reports progress after each."""
    mondays = [
        bj(2026, 11, 30, 10),
        bj(2026, 12, 7, 10),
        bj(2026, 12, 14, 10),
        bj(2026, 12, 21, 10),
    ]
    for n, moment in enumerate(mondays[:weeks], start=1):
        engine.clock.set(moment)  # type: ignore[attr-defined]
        assert engine.fire_due_timers() == 1
        restore_roundtrip(engine, key)
        report = only_task(engine, key, "report_progress")
        assert report.candidate_groups == ("dept:housing-permits",)
        with pytest.raises(FormValidationError, match="progress_note"):
            act(engine, key, "report_progress", "lina", {})
        step(engine, key, "report_progress", "lina", {"progress_note": f"第{n}次进展"})
        reminders = [h for h in engine.history(key) if h.action == "reminder"]
        assert len(reminders) == n
        assert reminders[-1].element_id == "carry_out_assignment"


def test_progress_reminders_every_seven_days(assignments: Engine) -> None:
    assign(assignments, "SA-3", limit_days=25)  # due Monday 12/28 17:30
    remind_weekly(assignments, "SA-3", 4)
    notices = assignments.notices("zhangwei")
    assert [(n.kind, n.element_id) for n in notices] == [("reminder", "carry_out_assignment")] * 4
    # it keeps reminding every 7 days while the assignment is open
    assert pending(assignments)["progress_reminder"] == bj(2026, 12, 28, 9)
    reports = [h.detail for h in assignments.history("SA-3") if h.element_id == "report_progress"]
    assert [d["data"]["progress_note"] for d in reports if d and "data" in d] == [
        "第1次进展",
        "第2次进展",
        "第3次进展",
        "第4次进展",
    ]
    assert [t.element_id for t in assignments.tasks(case="SA-3")] == ["carry_out_assignment"]


def test_completion_report_supersedes_an_open_progress_report(assignments: Engine) -> None:
    assign(assignments, "SA-7")
    assignments.clock.set(bj(2026, 11, 30, 10))  # type: ignore[attr-defined]
    assert assignments.fire_due_timers() == 1
    restore_roundtrip(assignments, "SA-7")
    assert sorted(t.element_id for t in assignments.tasks(case="SA-7")) == [
        "carry_out_assignment",
        "report_progress",
    ]
    step(assignments, "SA-7", "carry_out_assignment", "zhangwei", {"completion_report": "已办结"})
    assert only_task(assignments, "SA-7").element_id == "check_completion"
    cancelled = [h.element_id for h in assignments.history("SA-7") if h.action == "cancel"]
    assert cancelled == ["report_progress"]
    assert pending(assignments) == {}
    step(assignments, "SA-7", "check_completion", "supervisor01", {"check_result": "accept"})
    assert assignments.get_case("SA-7").status == "completed"


def test_assignment_completes_after_progress_reports(assignments: Engine) -> None:
    assign(assignments, "SA-6", limit_days=25)
    remind_weekly(assignments, "SA-6", 1)
    step(assignments, "SA-6", "carry_out_assignment", "zhangwei", {"completion_report": "已办结"})


def test_bounded_reminder_cycle_stops_after_its_last_reminder(engine: Engine) -> None:
    source = (BPMN / "supervised_assignment.bpmn").read_text(encoding="utf-8")
    bounded = source.replace(">R/P7D<", ">R4/P7D<")
    engine.deploy([SourceFile("supervised_assignment.bpmn", bounded.encode())])
    assign(engine, "SA-5", limit_days=25)
    remind_weekly(engine, "SA-5", 4)
    assert "progress_reminder" not in pending(engine)


def test_late_unit_gets_a_red_card_and_must_explain(assignments: Engine, clock: FakeClock) -> None:
    task_id = assign(assignments, "SA-4")
    clock.set(bj(2026, 11, 30, 10))
    assert assignments.fire_due_timers() == 1  # first progress reminder
    step(assignments, "SA-4", "report_progress", "zhangwei", {"progress_note": "正在征求意见"})
    clock.set(bj(2026, 12, 4, 18))  # one working day before the deadline
    assert assignments.fire_due_timers() == 1
    (yellow,) = assignments.cards(case="SA-4")
    assert (yellow.color, yellow.element_id) == ("yellow", "carry_out_assignment")
    clock.set(bj(2026, 12, 7, 10))
    assert assignments.fire_due_timers() == 1  # second progress reminder
    step(assignments, "SA-4", "report_progress", "zhangwei", {"progress_note": "意见汇总中"})
    clock.set(bj(2026, 12, 7, 18))  # the deadline has passed
    assert assignments.fire_due_timers() == 2  # the diagram's deadline timer, the red card
    restore_roundtrip(assignments, "SA-4")
    (red,) = assignments.cards(case="SA-4")
    assert (red.color, red.element_id, red.holder) == ("red", "carry_out_assignment", "zhangwei")
    (record,) = assignments.fault_records(case="SA-4")
    assert (record.kind, record.person_id, record.post_id, record.department_id) == (
        "overdue_step",
        "zhangwei",
        "housing-officer-a",
        "housing-permits",
    )
    # the diagram models the overdue path: no engine escalation to the heads
    assert [n.kind for n in assignments.notices("zhaomin")] == []
    assert sorted(t.element_id for t in assignments.tasks(case="SA-4")) == [
        "carry_out_assignment",
        "explain_delay",
    ]
    with pytest.raises(FormValidationError, match="delay_reason"):
        act(assignments, "SA-4", "explain_delay", "zhangwei", {})
    step(
        assignments,
        "SA-4",
        "explain_delay",
        "zhangwei",
        {
            "delay_reason": "涉及消防、规划多部门会签，意见尚未反馈",
            "expected_done_on": "2026-12-09",
        },
    )
    assert assignments.get_case("SA-4").data["delay_reason"].startswith("涉及消防")
    clock.set(bj(2026, 12, 9, 12))
    step(assignments, "SA-4", "carry_out_assignment", "zhangwei", {"completion_report": "已办结"})
    assert assignments.get_task(task_id).completed_by == "zhangwei"
    # the record now carries the final lateness: Mon 17:30 → Wed 12:00 = 1 + 3/8.5 working days
    (closed,) = assignments.fault_records(case="SA-4")
    assert (closed.id, closed.overdue_days) == (record.id, pytest.approx(1 + 3 / 8.5))
    step(assignments, "SA-4", "check_completion", "supervisor01", {"check_result": "accept"})
    case = assignments.get_case("SA-4")
    assert case.status == "completed"
    cards = assignments.cards(case="SA-4", live_only=False)
    assert sorted((c.color, c.cleared_reason) for c in cards) == [
        ("red", "done"),
        ("yellow", "red"),  # the red card replaced the yellow one
    ]
