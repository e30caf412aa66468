"""Human tasks: candidates, claim/unclaim, complete, transfer, delegate/resolve."""

from __future__ import annotations

import pytest

from engine import ConflictError, Engine, NotFoundError, NotPermittedError
from tests.helpers import DATA, act, only_task


@pytest.fixture
def case(engine: Engine) -> Engine:
    engine.deploy([DATA / "three_step.bpmn"])
    engine.start_case("three_step", "C-1", data={"approver": "zhaomin"})
    return engine


def test_inbox_shows_claimable_group_tasks_to_members_only(case: Engine) -> None:
    assert [t.business_key for t in case.inbox("zhangwei")] == ["C-1"]  # role:case-officer
    assert [t.business_key for t in case.inbox("sunli")] == ["C-1"]  # also a case officer
    assert case.inbox("chenjie") == []  # section chief
    assert case.inbox("window01") == []


def test_claim_rejects_non_candidate(case: Engine) -> None:
    task = only_task(case, "C-1")
    with pytest.raises(NotPermittedError, match="not a candidate"):
        case.claim(task.id, actor="chenjie")
    assert only_task(case, "C-1").assignee is None


def test_claim_twice_is_a_conflict(case: Engine) -> None:
    task = only_task(case, "C-1")
    case.claim(task.id, actor="zhangwei")
    with pytest.raises(ConflictError, match="already claimed by zhangwei"):
        case.claim(task.id, actor="sunli")
    with pytest.raises(ConflictError, match="already claimed by you"):
        case.claim(task.id, actor="zhangwei")
    assert case.inbox("sunli") == []


def test_complete_requires_the_holder(case: Engine) -> None:
    task = only_task(case, "C-1")
    with pytest.raises(NotPermittedError, match="claim it first"):
        case.complete(task.id, actor="zhangwei", data={"amount": 1})
    case.claim(task.id, actor="zhangwei")
    with pytest.raises(NotPermittedError, match="held by zhangwei"):
        case.complete(task.id, actor="sunli", data={"amount": 1})


def test_double_completion_is_a_conflict(case: Engine) -> None:
    task = only_task(case, "C-1")
    case.claim(task.id, actor="zhangwei")
    case.complete(task.id, actor="zhangwei", data={"amount": 1})
    with pytest.raises(ConflictError, match="already completed"):
        case.complete(task.id, actor="zhangwei", data={"amount": 1})
    assert [h.action for h in case.history("C-1")].count("complete") == 1


def test_stale_expected_version_is_a_conflict(case: Engine) -> None:
    version = case.get_case("C-1").row_version
    act(case, "C-1", "draft", "zhangwei", {"amount": 1})
    task = only_task(case, "C-1")
    case.claim(task.id, actor="chenjie")
    with pytest.raises(ConflictError, match="changed since you loaded it"):
        case.complete(task.id, actor="chenjie", data={"checked": "ok"}, expected_version=version)


def test_unclaim_returns_task_to_pool(case: Engine) -> None:
    task = only_task(case, "C-1")
    case.claim(task.id, actor="zhangwei")
    with pytest.raises(NotPermittedError):
        case.unclaim(task.id, actor="sunli")
    case.unclaim(task.id, actor="zhangwei")
    assert only_task(case, "C-1").assignee is None
    assert [t.id for t in case.inbox("sunli")] == [task.id]


def test_transfer_moves_task_for_good(case: Engine) -> None:
    task = only_task(case, "C-1")
    case.claim(task.id, actor="zhangwei")
    moved = case.transfer(task.id, actor="zhangwei", to="lina", reason="出差，转同事办理")
    assert moved.assignee == "lina" and moved.owner is None
    with pytest.raises(NotPermittedError):
        case.complete(task.id, actor="zhangwei", data={"amount": 1})
    case.complete(task.id, actor="lina", data={"amount": 2})
    line = next(h for h in case.history("C-1") if h.action == "transfer")
    assert line.detail == {"from": "zhangwei", "to": "lina"}
    assert line.opinion == "出差，转同事办理"


def test_transfer_to_unknown_person_is_not_found(case: Engine) -> None:
    task = only_task(case, "C-1")
    case.claim(task.id, actor="zhangwei")
    with pytest.raises(NotFoundError):
        case.transfer(task.id, actor="zhangwei", to="ghost")


def test_delegate_and_resolve_returns_task_to_owner(case: Engine) -> None:
    task = only_task(case, "C-1")
    case.claim(task.id, actor="zhangwei")
    lent = case.delegate(task.id, actor="zhangwei", to="chenjie", reason="请协助核对金额")
    assert (lent.assignee, lent.owner, lent.delegation) == ("chenjie", "zhangwei", "pending")
    # the delegate answers but may not complete; the owner may not complete meanwhile
    with pytest.raises(NotPermittedError, match="delegated"):
        case.complete(task.id, actor="chenjie", data={"amount": 1})
    with pytest.raises(NotPermittedError, match="delegated"):
        case.complete(task.id, actor="zhangwei", data={"amount": 1})
    back = case.resolve(task.id, actor="chenjie", opinion="金额无误")
    assert (back.assignee, back.delegation) == ("zhangwei", "resolved")
    case.complete(task.id, actor="zhangwei", data={"amount": 1})
    actions = [h.action for h in case.history("C-1")]
    assert actions[-3:] == ["delegate", "resolve", "complete"]


def test_resolve_by_someone_else_is_refused(case: Engine) -> None:
    task = only_task(case, "C-1")
    case.claim(task.id, actor="zhangwei")
    case.delegate(task.id, actor="zhangwei", to="chenjie")
    with pytest.raises(NotPermittedError):
        case.resolve(task.id, actor="sunli")


def test_get_task_shows_form_fields(case: Engine) -> None:
    view = case.get_task(only_task(case, "C-1").id)
    fields = {f.id: f for f in view.form}
    assert fields["amount"].type == "long" and fields["amount"].required
    assert fields["urgent"].type == "boolean"
    assert view.data["approver"] == "zhaomin"


def test_done_lists_completed_tasks(case: Engine) -> None:
    act(case, "C-1", "draft", "zhangwei", {"amount": 1}, "拟同意")
    done = case.done("zhangwei")
    assert [(t.element_id, t.opinion) for t in done] == [("draft", "拟同意")]


def test_unknown_task_is_not_found(case: Engine) -> None:
    with pytest.raises(NotFoundError):
        case.claim("00000000-0000-0000-0000-000000000000", actor="zhangwei")


LANES = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  id="lanes_defs" targetNamespace="http://xiaoneng.example/tests">
  <bpmn:collaboration id="lanes_collab">
    <bpmn:participant id="lanes_pool" processRef="lanes" />
  </bpmn:collaboration>
  <bpmn:process id="lanes" isExecutable="true">
    <bpmn:laneSet id="lanes_set">
      <bpmn:lane id="lane_chief" name="role:section-chief">
        <bpmn:flowNodeRef>start</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>check</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>end</bpmn:flowNodeRef>
      </bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="check" />
    <bpmn:userTask id="check" name="check" />
    <bpmn:sequenceFlow id="f2" sourceRef="check" targetRef="end" />
    <bpmn:endEvent id="end" />
  </bpmn:process>
</bpmn:definitions>"""


def test_lane_name_is_the_candidate_group(engine: Engine) -> None:
    from engine import SourceFile

    engine.deploy([SourceFile("lanes.bpmn", LANES)])
    engine.start_case("lanes", "L-1")
    task = only_task(engine, "L-1")
    assert task.lane == "role:section-chief"
    assert task.candidate_groups == ("role:section-chief",)
    assert [t.id for t in engine.inbox("chenjie")] == [task.id]
    assert engine.inbox("zhangwei") == []
