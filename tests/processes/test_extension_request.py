"""Scenario: bpmn/extension_request.bpmn (延期审批, §42), called from a caller diagram.

The caller (drawn here, not shipped) runs 承办 and the extension request side by side, so
an approved extension visibly moves both the case's promised deadline and an open step.
A serialize/restore round trip runs between steps.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from engine import Engine, NotPermittedError, ScriptError
from engine.parsing import SourceFile
from tests.conftest import BPMN
from tests.helpers import act, only_task, restore_roundtrip

CALLER = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:camunda="http://camunda.org/schema/1.0/bpmn"
                  id="extension_caller_definitions" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="extension_caller" name="延期调用方" isExecutable="true">
    <bpmn:startEvent id="start" name="受理" />
    <bpmn:parallelGateway id="fork" name="分支" />
    <bpmn:userTask id="handle" name="承办" camunda:candidateGroups="role:case-officer">
      <bpmn:extensionElements>
        <camunda:formData>
          <camunda:formField id="handling_opinion" label="承办意见" type="string" />
        </camunda:formData>
      </bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:callActivity id="ask_extension" name="申请延期" calledElement="extension_request" />
    <bpmn:parallelGateway id="join" name="汇合" />
    <bpmn:endEvent id="end" name="办结" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="fork" />
    <bpmn:sequenceFlow id="f2" sourceRef="fork" targetRef="handle" />
    <bpmn:sequenceFlow id="f3" sourceRef="fork" targetRef="ask_extension" />
    <bpmn:sequenceFlow id="f4" sourceRef="handle" targetRef="join" />
    <bpmn:sequenceFlow id="f5" sourceRef="ask_extension" targetRef="join" />
    <bpmn:sequenceFlow id="f6" sourceRef="join" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>
"""

ITEMS = """
[[items]]
code = "T-EXT"
name = "延期测试事项"
department = "housing-permits"
process = "extension_caller"
statutory_days = 20
promised_days = 10
sample = true
steps = [{ step = "handle", name = "承办", days = 5 }]

[[items]]
code = "T-JOINT"
name = "联合办理测试事项"
department = "housing-permits"
process = "extension_caller"
statutory_days = 45
promised_days = 10
joint = true
sample = true
steps = [{ step = "handle", name = "承办", days = 5 }]
"""


def bj(y: int, m: int, d: int, h: int, minute: int = 0) -> datetime:
    """A Beijing wall-clock moment as an aware UTC datetime."""
    return datetime(y, m, d, h, minute, tzinfo=UTC) - timedelta(hours=8)


# started Monday 2026-11-23 09:00: promised 10 working days, 承办 5 working days
CASE_DUE = bj(2026, 12, 7, 17, 30)
HANDLE_DUE = bj(2026, 11, 30, 17, 30)


@pytest.fixture
def extensions(engine: Engine, tmp_path: Path) -> Engine:
    engine.deploy(
        [BPMN / "extension_request.bpmn", SourceFile("extension_caller.bpmn", CALLER.encode())],
        actor="admin",
    )
    items = tmp_path / "items.toml"
    items.write_text(ITEMS, encoding="utf-8")
    engine.load_items([items])
    return engine


def start(engine: Engine, key: str, days: int, item: str = "T-EXT") -> None:
    engine.start_case(
        "extension_caller",
        key,
        actor="zhangwei",
        item=item,
        data={"extension_days": days, "extension_reason": "需组织现场踏勘，现有时限内无法作出决定"},
    )
    restore_roundtrip(engine, key)
    assert sorted(t.element_id for t in engine.tasks(case=key)) == ["decide_extension", "handle"]
    assert engine.get_case(key).due_at == CASE_DUE
    assert only_task(engine, key, "handle").due_at == HANDLE_DUE


def decide(engine: Engine, key: str, data: dict[str, object], opinion: str | None = None) -> None:
    act(engine, key, "decide_extension", "liqiang", data, opinion)
    restore_roundtrip(engine, key)


def finish(engine: Engine, key: str) -> None:
    act(engine, key, "handle", "zhangwei", {"handling_opinion": "已办"})
    restore_roundtrip(engine, key)
    assert engine.get_case(key).status == "completed"


def test_approved_extension_moves_every_deadline(extensions: Engine) -> None:
    start(extensions, "EXT-1", 3)
    decide(extensions, "EXT-1", {"extension_approved": "yes", "extension_opinion": "同意延期3日"})
    case = extensions.get_case("EXT-1")
    assert case.due_at == bj(2026, 12, 10, 17, 30)  # + 3 working days
    assert only_task(extensions, "EXT-1", "handle").due_at == bj(2026, 12, 3, 17, 30)
    assert case.data["extension_granted"] is True
    assert case.data["extension_approved"] == "yes"
    (line,) = [h for h in case.history if h.action == "extension_decision"]
    assert line.detail is not None
    assert (line.detail["days"], line.detail["state"]) == (3, "approved")
    assert line.opinion == "需组织现场踏勘，现有时限内无法作出决定"
    decided = [h for h in case.history if h.action == "complete"]
    assert [(h.element_id, h.actor) for h in decided] == [("decide_extension", "liqiang")]
    finish(extensions, "EXT-1")


def test_only_the_organ_head_decides(extensions: Engine) -> None:
    start(extensions, "EXT-2", 3)
    task = only_task(extensions, "EXT-2", "decide_extension")
    assert task.candidate_groups == ("role:organ-head",)
    with pytest.raises(NotPermittedError):
        extensions.claim(task.id, actor="zhaomin")  # a department head is not the organ head


def test_refused_extension_moves_nothing(extensions: Engine) -> None:
    start(extensions, "EXT-3", 3)
    decide(extensions, "EXT-3", {"extension_approved": "no"}, "理由不充分，按原时限办结")
    case = extensions.get_case("EXT-3")
    assert case.due_at == CASE_DUE
    assert only_task(extensions, "EXT-3", "handle").due_at == HANDLE_DUE
    assert case.data["extension_granted"] is False
    assert "extension_decision" not in [h.action for h in case.history]
    finish(extensions, "EXT-3")


def test_extension_over_the_cap_fails_and_changes_nothing(extensions: Engine) -> None:
    start(extensions, "EXT-4", 11)
    task = only_task(extensions, "EXT-4", "decide_extension")
    extensions.claim(task.id, actor="liqiang")
    with pytest.raises(ScriptError, match=r"at most 10 may be added \(§42\)") as failed:
        extensions.complete(task.id, actor="liqiang", data={"extension_approved": "yes"})
    assert failed.value.element_id == "apply_extension"
    restore_roundtrip(extensions, "EXT-4")
    case = extensions.get_case("EXT-4")
    assert case.status == "running"
    assert case.due_at == CASE_DUE
    assert only_task(extensions, "EXT-4", "handle").due_at == HANDLE_DUE
    still = only_task(extensions, "EXT-4", "decide_extension")
    assert (still.id, still.assignee) == (task.id, "liqiang")
    actions = [h.action for h in case.history]
    assert "extension_decision" not in actions and "complete" not in actions
    (error,) = [h for h in case.history if h.action == "error"]
    assert error.element_id == "apply_extension"
    # the head can still refuse
    extensions.complete(task.id, actor="liqiang", data={"extension_approved": "no"})
    restore_roundtrip(extensions, "EXT-4")
    assert extensions.get_case("EXT-4").data["extension_granted"] is False
    finish(extensions, "EXT-4")


def test_joint_item_allows_up_to_fifteen_days(extensions: Engine) -> None:
    start(extensions, "EXT-5", 12, item="T-JOINT")
    decide(extensions, "EXT-5", {"extension_approved": "yes"})
    assert extensions.get_case("EXT-5").due_at == bj(2026, 12, 23, 17, 30)  # + 12 working days
    finish(extensions, "EXT-5")
