"""Clock stops, extensions and complaint records driven by the diagram itself."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from engine import Engine, InvalidDefinitionError, ScriptError, SourceFile
from engine.clock import FakeClock
from engine.limits import STOP_KINDS
from engine.parsing import STOP_KINDS as PARSER_STOP_KINDS
from tests.helpers import act, only_task, restore_roundtrip


def bj(y: int, m: int, d: int, h: int, minute: int = 0) -> datetime:
    return datetime(y, m, d, h, minute, tzinfo=UTC) - timedelta(hours=8)


def _diagram(body: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="x">\n'
        + textwrap.dedent(body)
        + "</bpmn:definitions>\n"
    ).encode()


SUPPLEMENT = _diagram(
    """
    <bpmn:process id="supp" isExecutable="true">
      <bpmn:startEvent id="start" />
      <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="fork" />
      <bpmn:parallelGateway id="fork" />
      <bpmn:sequenceFlow id="f2" sourceRef="fork" targetRef="work" />
      <bpmn:sequenceFlow id="f3" sourceRef="fork" targetRef="await_supplement" />
      <bpmn:userTask id="work" name="审查" camunda:assignee="zhangwei"
          camunda:dueDate="${working_days(3)}" />
      <bpmn:userTask id="await_supplement" name="等待申请人补正" camunda:assignee="window01">
        <bpmn:extensionElements>
          <camunda:properties>
            <camunda:property name="stops_clock" value="supplement" />
          </camunda:properties>
        </bpmn:extensionElements>
      </bpmn:userTask>
      <bpmn:sequenceFlow id="f4" sourceRef="work" targetRef="join" />
      <bpmn:sequenceFlow id="f5" sourceRef="await_supplement" targetRef="join" />
      <bpmn:parallelGateway id="join" />
      <bpmn:sequenceFlow id="f6" sourceRef="join" targetRef="end" />
      <bpmn:endEvent id="end" />
    </bpmn:process>
    """
)


def test_a_stops_clock_task_stops_the_clock_while_it_is_open(
    engine: Engine, clock: FakeClock
) -> None:
    clock.set(bj(2025, 11, 3, 9))  # Monday
    engine.deploy([SourceFile("supp.bpmn", SUPPLEMENT)])
    engine.start_case("supp", "S-1")
    assert only_task(engine, "S-1", "work").due_at == bj(2025, 11, 6, 17, 30)
    assert [h.action for h in engine.history("S-1")].count("clock_stop") == 1
    clock.set(bj(2025, 11, 12, 10))  # long past the due moment: the clock is stopped
    engine.fire_due_timers()
    assert engine.cards() == []
    restore_roundtrip(engine, "S-1")
    act(engine, "S-1", "await_supplement", "window01", {})  # Mon 9:00 → Wed 11/12 10:00
    # 7 working days and one working hour passed while stopped: the due moment moved on
    work = only_task(engine, "S-1", "work")
    assert work.due_at == bj(2025, 11, 18, 10, 0)  # Thu 11/6 17:30 + 7 days + 1 hour
    assert "clock_resume" in [h.action for h in engine.history("S-1")]
    clock.set(bj(2025, 11, 18, 10, 1))
    engine.fire_due_timers()
    assert [(c.color, c.element_id) for c in engine.cards()] == [("red", "work")]


def test_cancelling_the_case_restarts_a_clock_a_task_stopped(
    engine: Engine, clock: FakeClock
) -> None:
    engine.deploy([SourceFile("supp.bpmn", SUPPLEMENT)])
    engine.start_case("supp", "S-2")
    engine.terminate_case("S-2", actor="admin", reason="申请人撤回")
    actions = [h.action for h in engine.history("S-2")]
    assert actions.count("clock_stop") == actions.count("clock_resume") == 1


HELPERS = _diagram(
    """
    <bpmn:process id="helpers" isExecutable="true">
      <bpmn:startEvent id="start" />
      <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="decide" />
      <bpmn:userTask id="decide" name="决定" camunda:assignee="liqiang" />
      <bpmn:sequenceFlow id="f2" sourceRef="decide" targetRef="apply" />
      <bpmn:scriptTask id="apply" name="执行" scriptFormat="python">
        <bpmn:script>outcome = extend_deadline(days, "需要组织现场核查")
    complaint = record_complaint("zhangwei", "housing-permits", "超期未答复申请人")
    stopped = stop_clock("expert_review", "组织专家评审")</bpmn:script>
      </bpmn:scriptTask>
      <bpmn:sequenceFlow id="f3" sourceRef="apply" targetRef="review" />
      <bpmn:userTask id="review" name="专家评审" camunda:assignee="zhangwei" />
      <bpmn:sequenceFlow id="f4" sourceRef="review" targetRef="resume" />
      <bpmn:scriptTask id="resume" name="恢复计时" scriptFormat="python">
        <bpmn:script>resumed = resume_clock()</bpmn:script>
      </bpmn:scriptTask>
      <bpmn:sequenceFlow id="f5" sourceRef="resume" targetRef="finish" />
      <bpmn:userTask id="finish" name="办结" camunda:assignee="zhangwei" />
      <bpmn:sequenceFlow id="f6" sourceRef="finish" targetRef="end" />
      <bpmn:endEvent id="end" />
    </bpmn:process>
    """
)

ITEM = """
[[items]]
code = "T-1"
name = "测试事项"
department = "housing-permits"
process = "helpers"
statutory_days = 20
promised_days = 10
"""


@pytest.fixture
def helpers(engine: Engine, clock: FakeClock, tmp_path: Path) -> Engine:
    clock.set(bj(2025, 11, 3, 9))
    engine.deploy([SourceFile("helpers.bpmn", HELPERS)])
    (tmp_path / "items.toml").write_text(ITEM, encoding="utf-8")
    engine.load_items([tmp_path / "items.toml"])
    return engine


def test_script_helpers_extend_record_a_complaint_and_stop_the_clock(
    helpers: Engine, clock: FakeClock
) -> None:
    helpers.start_case("helpers", "H-1", item="T-1", data={"days": 3})
    assert helpers.get_case("H-1").due_at == bj(2025, 11, 17, 17, 30)
    act(helpers, "H-1", "decide", "liqiang", {})
    restore_roundtrip(helpers, "H-1")
    case = helpers.get_case("H-1")
    assert case.due_at == bj(2025, 11, 20, 17, 30)  # +3 working days (§42)
    assert case.data["outcome"] == "approved"
    complaint = helpers.fault_records(kind="complaint")[0]
    assert (complaint.person_id, complaint.department_id) == ("zhangwei", "housing-permits")
    assert complaint.post_id == "housing-officer-a"
    clock.set(bj(2025, 11, 5, 9))  # two working days of expert review
    act(helpers, "H-1", "review", "zhangwei", {})
    case = helpers.get_case("H-1")
    assert case.data["resumed"] == "2"
    assert case.due_at == bj(2025, 11, 24, 17, 30)
    actions = [h.action for h in case.history]
    assert "extension_decision" in actions and "complaint_record" in actions
    assert actions.count("clock_stop") == actions.count("clock_resume") == 1


def test_an_extension_over_the_legal_cap_fails_the_step_and_changes_nothing(
    helpers: Engine,
) -> None:
    helpers.start_case("helpers", "H-2", item="T-1", data={"days": 11})
    before = helpers.get_case("H-2")
    decide = only_task(helpers, "H-2", "decide")
    with pytest.raises(ScriptError, match="at most 10 may be added"):
        helpers.complete(decide.id, actor="liqiang")
    after = helpers.get_case("H-2")
    assert (after.due_at, after.row_version) == (before.due_at, before.row_version)
    assert helpers.fault_records(kind="complaint") == []
    assert only_task(helpers, "H-2").element_id == "decide"


def test_stop_kinds_agree_between_parser_and_engine() -> None:
    assert set(PARSER_STOP_KINDS) == set(STOP_KINDS)


def test_an_unknown_stops_clock_kind_is_refused_at_deploy(engine: Engine) -> None:
    with pytest.raises(InvalidDefinitionError) as raised:
        engine.deploy(
            [SourceFile("supp.bpmn", SUPPLEMENT.replace(b'value="supplement"', b'value="lunch"'))]
        )
    assert "stops_clock must be one of" in str([p.message for p in raised.value.problems])


AT_START = _diagram(
    """
    <bpmn:process id="at_start" isExecutable="true">
      <bpmn:startEvent id="start" />
      <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="hold" />
      <bpmn:scriptTask id="hold" name="先行中止计时" scriptFormat="python">
        <bpmn:script>held = stop_clock("inspection", "现场检验")
    noted = record_complaint(None, "housing-permits", "窗口推诿")</bpmn:script>
      </bpmn:scriptTask>
      <bpmn:sequenceFlow id="f2" sourceRef="hold" targetRef="inspect" />
      <bpmn:userTask id="inspect" name="检验" camunda:assignee="zhangwei" />
      <bpmn:sequenceFlow id="f3" sourceRef="inspect" targetRef="end" />
      <bpmn:endEvent id="end" />
    </bpmn:process>
    """
)


def test_helpers_work_in_the_very_first_step_of_a_new_case(engine: Engine) -> None:
    engine.deploy([SourceFile("at_start.bpmn", AT_START)])
    engine.start_case("at_start", "AS-1")
    actions = [h.action for h in engine.history("AS-1")]
    assert "clock_stop" in actions and "complaint_record" in actions
    assert engine.fault_records(kind="complaint")[0].department_id == "housing-permits"
    restore_roundtrip(engine, "AS-1")
