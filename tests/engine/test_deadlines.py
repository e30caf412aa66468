"""Working-day helpers in diagrams: due dates and timers on the organ's calendar."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from engine import Engine, SourceFile
from engine.calendar import MissingYearError
from engine.clock import FakeClock
from tests.helpers import only_task

DIAGRAM = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:camunda="http://camunda.org/schema/1.0/bpmn"
                  id="wd_defs" targetNamespace="http://xiaoneng.example/tests">
  <bpmn:process id="wd" isExecutable="true">
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="review" />
    <bpmn:userTask id="review" camunda:candidateGroups="role:section-chief"
                   camunda:dueDate="${working_days(3)}" />
    <bpmn:boundaryEvent id="review_late" attachedToRef="review" cancelActivity="false">
      <bpmn:timerEventDefinition id="review_late_def">
        <bpmn:timeDate>${working_days(5)}</bpmn:timeDate>
      </bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:sequenceFlow id="f_late" sourceRef="review_late" targetRef="urge" />
    <bpmn:userTask id="urge" camunda:candidateGroups="role:department-head" />
    <bpmn:sequenceFlow id="f_urge" sourceRef="urge" targetRef="end_urge" />
    <bpmn:endEvent id="end_urge" />
    <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="end" />
    <bpmn:endEvent id="end" />
  </bpmn:process>
</bpmn:definitions>"""


def _beijing(y: int, m: int, d: int, h: int, minute: int = 0) -> datetime:
    return datetime(y, m, d, h, minute, tzinfo=UTC) - timedelta(hours=8)


def test_due_date_and_timer_count_working_days(engine: Engine, clock: FakeClock) -> None:
    # Friday 2025-09-26 10:00 Beijing, before National Day: Sunday 9/28 is a make-up
    # working day (1), 9/29 (2), 9/30 (3); 10/1-10/8 are off; 10/9 (4), 10/10 (5).
    clock.set(_beijing(2025, 9, 26, 10))
    engine.deploy([SourceFile("wd.bpmn", DIAGRAM)])
    engine.start_case("wd", "WD-1")
    task = only_task(engine, "WD-1")
    assert task.due_at == _beijing(2025, 9, 30, 17, 30)
    clock.set(_beijing(2025, 10, 10, 17, 0))
    engine.fire_due_timers()  # the step is overdue (red card) but the timer waits
    assert [t.element_id for t in engine.tasks(case="WD-1")] == ["review"]
    clock.set(_beijing(2025, 10, 10, 17, 31))
    engine.fire_due_timers()
    assert sorted(t.element_id for t in engine.tasks(case="WD-1")) == ["review", "urge"]


def test_deadline_in_a_year_without_data_fails_the_call_cleanly(
    engine: Engine, clock: FakeClock
) -> None:
    clock.set(_beijing(2026, 12, 28, 10))
    engine.deploy([SourceFile("wd.bpmn", DIAGRAM)])
    with pytest.raises(MissingYearError) as info:
        engine.start_case("wd", "WD-2")
    assert info.value.year == 2027
    assert engine.list_cases() == []


def test_case_started_for_an_item_gets_promised_and_step_deadlines(
    engine: Engine, clock: FakeClock
) -> None:
    from tests.conftest import GENERAL_PERMIT, TEST_ITEMS
    from tests.helpers import act

    # Monday 2025-11-03 09:00 Beijing; T-0101: promised 7 working days, 受理 1, 承办 3
    clock.set(_beijing(2025, 11, 3, 9))
    engine.deploy(GENERAL_PERMIT)
    engine.load_items([TEST_ITEMS])
    case = engine.start_case("general_permit", "GP-1", item="T-0101")
    assert case.item_code == "T-0101"
    assert case.due_at == _beijing(2025, 11, 12, 17, 30)  # 11/4-11/7, 11/10-11/12
    assert case.open_tasks[0].due_at == _beijing(2025, 11, 4, 17, 30)  # accept: 1 day
    clock.set(_beijing(2025, 11, 4, 10))
    act(engine, "GP-1", "accept", "window01", {"accepted": "yes"})
    handle = only_task(engine, "GP-1", "handle")
    assert handle.due_at == _beijing(2025, 11, 7, 17, 30)  # handle: 3 days from 11/4
    assert engine.get_case("GP-1").due_at == case.due_at


def test_item_must_belong_to_the_process(engine: Engine) -> None:
    from engine import InvalidInputError
    from tests.conftest import TEST_ITEMS

    engine.deploy([SourceFile("wd.bpmn", DIAGRAM)])
    engine.load_items([TEST_ITEMS])
    with pytest.raises(InvalidInputError, match="handled by process 'general_permit'"):
        engine.start_case("wd", "WD-3", item="T-0101")


def test_diagram_reads_promised_and_step_deadlines(engine: Engine, clock: FakeClock) -> None:
    from tests.conftest import TEST_ITEMS

    clock.set(_beijing(2025, 11, 3, 9))
    diagram = (
        DIAGRAM.replace(b'id="wd"', b'id="general_permit"')
        .replace(b"${working_days(3)}", b"${step_deadline('handle')}")
        .replace(b"${working_days(5)}", b"${promised_deadline()}")
    )
    engine.deploy([SourceFile("general_permit.bpmn", diagram)])
    engine.load_items([TEST_ITEMS])
    engine.start_case("general_permit", "GP-2", item="T-0101")
    assert only_task(engine, "GP-2").due_at == _beijing(2025, 11, 6, 17, 30)
    clock.set(_beijing(2025, 11, 12, 17, 30))
    engine.fire_due_timers()
    assert "urge" not in {t.element_id for t in engine.tasks(case="GP-2")}
    clock.set(_beijing(2025, 11, 12, 17, 31))
    engine.fire_due_timers()
    assert "urge" in {t.element_id for t in engine.tasks(case="GP-2")}


def test_step_deadline_falls_back_to_a_default_without_an_item(
    engine: Engine, clock: FakeClock
) -> None:
    from tests.conftest import GENERAL_PERMIT
    from tests.helpers import act

    clock.set(_beijing(2025, 11, 3, 9))  # Monday
    engine.deploy(GENERAL_PERMIT)
    engine.start_case("general_permit", "GP-9")
    act(engine, "GP-9", "accept", "window01", {"accepted": "yes"})
    act(engine, "GP-9", "handle", "zhangwei", {"handling_opinion": "符合条件"})
    act(engine, "GP-9", "review", "chenjie", {"review_result": "pass"})
    act(engine, "GP-9", "approve", "zhaomin", {"decision": "grant"})
    # §44: served within 10 working days of the decision when no item sets the step
    assert only_task(engine, "GP-9", "issue_certificate").due_at == _beijing(2025, 11, 17, 17, 30)
