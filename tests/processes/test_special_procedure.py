"""Scenario: bpmn/special_procedure.bpmn (特别程序, §45 clock stop), called from a caller.

The caller (drawn here, not shipped) runs 承办 — with a 10-day reminder timer — side by
side with the special procedure, so the stop visibly moves the case's promised deadline,
an open step's due moment and a waiting timer. A serialize/restore round trip runs
between steps.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from engine import Engine, FormValidationError, ScriptError
from engine.clock import FakeClock
from engine.parsing import SourceFile
from tests.conftest import BPMN
from tests.helpers import act, only_task, restore_roundtrip

CALLER = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
                  xmlns:camunda="http://camunda.org/schema/1.0/bpmn"
                  id="procedure_caller_definitions" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="procedure_caller" name="特别程序调用方" isExecutable="true">
    <bpmn:startEvent id="start" name="受理" />
    <bpmn:parallelGateway id="fork" name="分支" />
    <bpmn:userTask id="handle" name="承办" camunda:candidateGroups="role:case-officer">
      <bpmn:extensionElements>
        <camunda:formData>
          <camunda:formField id="handling_opinion" label="承办意见" type="string" />
        </camunda:formData>
      </bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:boundaryEvent id="handle_reminder" name="承办满10日提醒" cancelActivity="false"
                        attachedToRef="handle">
      <bpmn:timerEventDefinition id="handle_reminder_timer">
        <bpmn:timeDuration xsi:type="bpmn:tFormalExpression">P10D</bpmn:timeDuration>
      </bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:endEvent id="end_reminder" name="已提醒" />
    <bpmn:userTask id="order_procedure" name="决定特别程序"
                   camunda:candidateGroups="role:case-officer">
      <bpmn:extensionElements>
        <camunda:formData>
          <camunda:formField id="procedure_kind" label="特别程序种类" type="string" />
          <camunda:formField id="procedure_reason" label="告知申请人的理由" type="string" />
        </camunda:formData>
      </bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:callActivity id="hold_procedure" name="特别程序" calledElement="special_procedure" />
    <bpmn:parallelGateway id="join" name="汇合" />
    <bpmn:endEvent id="end" name="办结" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="fork" />
    <bpmn:sequenceFlow id="f2" sourceRef="fork" targetRef="handle" />
    <bpmn:sequenceFlow id="f3" sourceRef="fork" targetRef="order_procedure" />
    <bpmn:sequenceFlow id="f8" sourceRef="order_procedure" targetRef="hold_procedure" />
    <bpmn:sequenceFlow id="f4" sourceRef="handle" targetRef="join" />
    <bpmn:sequenceFlow id="f5" sourceRef="hold_procedure" targetRef="join" />
    <bpmn:sequenceFlow id="f6" sourceRef="join" targetRef="end" />
    <bpmn:sequenceFlow id="f7" sourceRef="handle_reminder" targetRef="end_reminder" />
  </bpmn:process>
</bpmn:definitions>
"""

ITEMS = """
[[items]]
code = "T-SP"
name = "特别程序测试事项"
department = "housing-permits"
process = "procedure_caller"
statutory_days = 20
promised_days = 10
sample = true
steps = [{ step = "handle", name = "承办", days = 5 }]
"""

REASON = "本申请须组织专家评审，评审时间不计入办理期限，已书面告知申请人"


def bj(y: int, m: int, d: int, h: int, minute: int = 0) -> datetime:
    """A Beijing wall-clock moment as an aware UTC datetime."""
    return datetime(y, m, d, h, minute, tzinfo=UTC) - timedelta(hours=8)


# started Monday 2026-11-23 09:00: promised 10 working days, 承办 5 working days
CASE_DUE = bj(2026, 12, 7, 17, 30)
HANDLE_DUE = bj(2026, 11, 30, 17, 30)


@pytest.fixture
def procedures(engine: Engine, tmp_path: Path) -> Engine:
    engine.deploy(
        [BPMN / "special_procedure.bpmn", SourceFile("procedure_caller.bpmn", CALLER.encode())],
        actor="admin",
    )
    items = tmp_path / "items.toml"
    items.write_text(ITEMS, encoding="utf-8")
    engine.load_items([items])
    return engine


def start(engine: Engine, key: str, kind: str = "expert_review") -> None:
    """Start a case and order the procedure at once (Monday 09:00)."""
    engine.start_case("procedure_caller", key, actor="zhangwei", item="T-SP")
    restore_roundtrip(engine, key)
    act(
        engine,
        key,
        "order_procedure",
        "zhangwei",
        {"procedure_kind": kind, "procedure_reason": REASON},
    )
    restore_roundtrip(engine, key)


def reminder_due(engine: Engine) -> datetime:
    (timer,) = [t for t in engine.timers(state="pending") if t.element_id == "handle_reminder"]
    return timer.due_at


def test_stopped_clock_moves_every_deadline(procedures: Engine, clock: FakeClock) -> None:
    start(procedures, "SP-1")
    assert sorted(t.element_id for t in procedures.tasks(case="SP-1")) == [
        "conduct_procedure",
        "handle",
    ]
    case = procedures.get_case("SP-1")
    (stop,) = [h for h in case.history if h.action == "clock_stop"]
    assert stop.opinion == REASON  # the applicant-facing reason is on record
    assert stop.detail is not None and stop.detail["kind"] == "expert_review"
    assert reminder_due(procedures) == bj(2026, 12, 3, 9)  # 承办 + 10 calendar days
    clock.set(bj(2026, 11, 27, 9))  # Friday 09:00: four working days later
    assert procedures.fire_due_timers() == 0
    task = only_task(procedures, "SP-1", "conduct_procedure")
    procedures.claim(task.id, actor="lina")
    with pytest.raises(FormValidationError, match="procedure_result"):
        procedures.complete(task.id, actor="lina", data={})
    procedures.complete(
        task.id,
        actor="lina",
        data={"procedure_result": "专家评审通过", "procedure_ended_on": "2026-11-27"},
    )
    restore_roundtrip(procedures, "SP-1")
    case = procedures.get_case("SP-1")
    (resume,) = [h for h in case.history if h.action == "clock_resume"]
    assert resume.detail is not None and resume.detail["working_days"] == "4"
    assert case.due_at == bj(2026, 12, 11, 17, 30)  # Mon 12/7 + 4 working days
    assert only_task(procedures, "SP-1", "handle").due_at == bj(2026, 12, 4, 17, 30)
    # Thu 12/3 09:00 + 4 working days: Tue 12/8 17:30 (the same working instant as Wed 09:00)
    assert reminder_due(procedures) == bj(2026, 12, 8, 17, 30)
    assert case.data["procedure_done"] is True
    assert case.data["procedure_result"] == "专家评审通过"
    clock.set(bj(2026, 12, 3, 10))  # the reminder's old moment has passed: nothing fires
    assert procedures.fire_due_timers() == 0
    assert procedures.notices("zhangwei") == []
    act(procedures, "SP-1", "handle", "zhangwei", {"handling_opinion": "准予"})
    restore_roundtrip(procedures, "SP-1")
    assert procedures.get_case("SP-1").status == "completed"


def test_no_timer_fires_while_the_clock_is_stopped(procedures: Engine, clock: FakeClock) -> None:
    start(procedures, "SP-2", kind="hearing")
    # 承办 was due Mon 11/30 (yellow card Fri 11/27): neither card comes while stopped
    clock.set(bj(2026, 12, 1, 9))
    assert procedures.fire_due_timers() == 0
    assert procedures.cards(case="SP-2") == []
    assert procedures.notices("zhangwei") == []
    act(procedures, "SP-2", "conduct_procedure", "zhangwei", {"procedure_result": "听证已举行"})
    restore_roundtrip(procedures, "SP-2")
    # six working days stopped (Mon 11/23 09:00 → Tue 12/1 09:00): 承办 now due Tue 12/8
    handle = only_task(procedures, "SP-2", "handle")
    assert handle.due_at == bj(2026, 12, 8, 17, 30)
    assert procedures.fire_due_timers() == 0
    assert procedures.cards(case="SP-2") == []
    clock.set(bj(2026, 12, 7, 18))  # one working day before the moved due moment
    assert procedures.fire_due_timers() == 1
    restore_roundtrip(procedures, "SP-2")
    (card,) = procedures.cards(case="SP-2")
    assert (card.color, card.element_id, card.due_at) == ("yellow", "handle", handle.due_at)


def test_unknown_procedure_kind_is_refused(procedures: Engine) -> None:
    with pytest.raises(ScriptError, match="unknown kind 'coffee'") as failed:
        start(procedures, "SP-3", kind="coffee")
    assert failed.value.element_id == "stop_procedure_clock"
    restore_roundtrip(procedures, "SP-3")
    case = procedures.get_case("SP-3")  # the step failed and nothing changed
    assert sorted(t.element_id for t in case.open_tasks) == ["handle", "order_procedure"]
    assert "clock_stop" not in [h.action for h in case.history]


def test_timer_due_during_the_stop_waits_for_its_moved_moment(
    procedures: Engine, clock: FakeClock
) -> None:
    start(procedures, "SP-4")
    clock.set(bj(2026, 12, 4, 9))  # after the reminder's unshifted moment (Thu 12/3 09:00)
    assert procedures.fire_due_timers() == 0
    act(procedures, "SP-4", "conduct_procedure", "zhangwei", {"procedure_result": "检验合格"})
    # 9 working days stopped: the reminder moves to Tue 12/15 17:30 and has not fired
    assert reminder_due(procedures) == bj(2026, 12, 15, 17, 30)
