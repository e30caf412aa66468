"""Case operations: suspend/resume (挂起/恢复), version migration (版本迁移), return to an
earlier step (退回) and adding a signer (加签)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from engine import (
    ConflictError,
    Engine,
    InvalidInputError,
    NotFoundError,
    NotPermittedError,
    SourceFile,
)
from engine.clock import FakeClock
from engine.store.models import CaseHistory, Timer
from tests.conftest import GENERAL_PERMIT
from tests.helpers import DATA, act, only_task, restore_roundtrip

THREE_STEP = (DATA / "three_step.bpmn").read_text(encoding="utf-8")
# v2: a countersign step before the sign-off; the escalation step renamed
THREE_STEP_V2 = THREE_STEP.replace(
    '<bpmn:sequenceFlow id="f_ok" sourceRef="check_gateway" targetRef="sign" />',
    '<bpmn:sequenceFlow id="f_ok" sourceRef="check_gateway" targetRef="countersign" />'
    '<bpmn:userTask id="countersign" name="会签" camunda:candidateGroups="role:department-head" />'
    '<bpmn:sequenceFlow id="f_cs" sourceRef="countersign" targetRef="sign" />',
).replace('"escalated"', '"escalated_v2"')


@pytest.fixture
def deployed(engine: Engine) -> Engine:
    engine.deploy([DATA / "three_step.bpmn"], actor="admin")
    return engine


def _audit(engine: Engine, key: str, action: str) -> list[tuple[str | None, str | None]]:
    return [(h.actor, h.opinion) for h in engine.get_case(key).history if h.action == action]


def _at_check(engine: Engine, key: str) -> None:
    engine.start_case("three_step", key, data={"approver": "zhaomin"})
    act(engine, key, "draft", "zhangwei", {"amount": 100})


# -- suspend / resume ------------------------------------------------------------------------


def test_suspended_case_refuses_task_actions_until_resumed(deployed: Engine) -> None:
    deployed.start_case("three_step", "C-1", data={"approver": "zhaomin"})
    task = only_task(deployed, "C-1")
    summary = deployed.suspend_case("C-1", actor="admin", reason="等待上级批示")
    assert summary.status == "suspended"
    for attempt in (
        lambda: deployed.claim(task.id, actor="zhangwei"),
        lambda: deployed.complete(task.id, actor="zhangwei", data={"amount": 1}),
        lambda: deployed.transfer(task.id, actor="zhangwei", to="lina"),
        lambda: deployed.return_task(task.id, actor="zhangwei", to="draft", reason="x"),
    ):
        with pytest.raises(ConflictError, match="suspended"):
            attempt()
    assert deployed.resume_case("C-1", actor="admin").status == "running"
    act(deployed, "C-1", "draft", "zhangwei", {"amount": 100})
    assert only_task(deployed, "C-1").element_id == "check"
    assert _audit(deployed, "C-1", "suspend") == [("admin", "等待上级批示")]
    assert _audit(deployed, "C-1", "resume") == [("admin", None)]


def test_suspend_needs_a_reason_and_a_running_case(deployed: Engine) -> None:
    deployed.start_case("three_step", "C-1")
    with pytest.raises(InvalidInputError, match="reason"):
        deployed.suspend_case("C-1", actor="admin", reason="  ")
    with pytest.raises(ConflictError, match="not suspended"):
        deployed.resume_case("C-1", actor="admin")
    deployed.suspend_case("C-1", actor="admin", reason="核查")
    with pytest.raises(ConflictError, match="only a running case"):
        deployed.suspend_case("C-1", actor="admin", reason="again")
    deployed.terminate_case("C-1", actor="admin", reason="撤回")  # still possible
    assert deployed.get_case("C-1").status == "terminated"
    assert deployed.tasks(case="C-1") == []
    with pytest.raises(ConflictError, match="terminated"):
        deployed.suspend_case("C-1", actor="admin", reason="late")
    with pytest.raises(NotFoundError):
        deployed.suspend_case("C-404", actor="admin", reason="x")


def test_timers_of_a_suspended_case_wait_for_the_resume(deployed: Engine, clock: FakeClock) -> None:
    _at_check(deployed, "C-1")
    deployed.suspend_case("C-1", actor="admin", reason="暂停")
    clock.advance(timedelta(hours=3))  # the 2-hour boundary timer on check is due
    assert deployed.fire_due_timers() == 0
    assert only_task(deployed, "C-1").element_id == "check"
    with deployed.runtime.read() as session:
        states = session.scalars(sa.select(Timer.state).where(Timer.rule.is_(None))).all()
    assert states == ["pending"]
    deployed.resume_case("C-1", actor="admin")
    assert deployed.fire_due_timers() >= 1
    assert only_task(deployed, "C-1").element_id == "escalated"


# -- version migration -----------------------------------------------------------------------


def _deploy_v2(engine: Engine) -> None:
    engine.deploy([SourceFile("three_step.bpmn", THREE_STEP_V2.encode())], actor="admin")


def test_migrated_case_continues_on_the_new_version(deployed: Engine, clock: FakeClock) -> None:
    _at_check(deployed, "C-1")
    before = deployed.get_case("C-1")
    with deployed.runtime.read() as session:
        due = session.scalar(sa.select(Timer.due_at).where(Timer.state == "pending"))
    _deploy_v2(deployed)
    clock.advance(timedelta(minutes=30))
    [result] = deployed.migrate_cases(["C-1"], to_version=2, actor="admin")
    assert (result.business_key, result.from_version, result.to_version) == ("C-1", 1, 2)
    assert result.migrated and result.reason is None
    after = deployed.get_case("C-1")
    assert after.definition_version == 2
    assert after.row_version > before.row_version
    assert [t.id for t in after.open_tasks] == [t.id for t in before.open_tasks]
    with deployed.runtime.read() as session:
        assert session.scalar(sa.select(Timer.due_at).where(Timer.state == "pending")) == due
        assert session.scalar(sa.select(sa.func.count()).select_from(CaseHistory)) == 1
    restore_roundtrip(deployed, "C-1")
    act(deployed, "C-1", "check", "chenjie", {"checked": "ok"})
    restore_roundtrip(deployed, "C-1")
    act(deployed, "C-1", "countersign", "zhaomin")  # only in v2
    act(deployed, "C-1", "sign", "zhaomin")
    assert deployed.get_case("C-1").status == "completed"
    assert _audit(deployed, "C-1", "migrate") == [("admin", None)]


def test_case_whose_step_is_gone_is_refused_and_unchanged(
    deployed: Engine, clock: FakeClock
) -> None:
    _at_check(deployed, "C-1")
    _at_check(deployed, "C-2")
    clock.advance(timedelta(hours=3))
    deployed.fire_due_timers()  # C-1 and C-2 wait at "escalated"
    deployed.start_case("three_step", "C-3", data={"approver": "zhaomin"})
    _deploy_v2(deployed)
    before = deployed.get_case("C-1")
    results = deployed.migrate_cases(["C-1", "C-3", "C-404"], to_version=2, actor="admin")
    assert [r.migrated for r in results] == [False, True, False]
    assert results[0].reason is not None and "escalated" in results[0].reason
    assert results[2].reason is not None and "C-404" in results[2].reason
    after = deployed.get_case("C-1")
    assert (after.definition_version, after.row_version) == (1, before.row_version)
    act(deployed, "C-1", "escalated", "zhaomin")
    assert deployed.get_case("C-1").status == "completed"


def test_migration_refuses_bad_targets_and_dry_run_changes_nothing(deployed: Engine) -> None:
    _at_check(deployed, "C-1")
    [same] = deployed.migrate_cases(["C-1"], to_version=1, actor="admin")
    assert not same.migrated and same.reason is not None and "not newer" in same.reason
    [missing] = deployed.migrate_cases(["C-1"], to_version=5, actor="admin")
    assert not missing.migrated and missing.reason is not None and "no version 5" in missing.reason
    _deploy_v2(deployed)
    before = deployed.get_case("C-1")
    [dry] = deployed.migrate_cases(["C-1"], to_version=2, actor="admin", dry_run=True)
    assert dry.migrated
    after = deployed.get_case("C-1")
    assert (after.definition_version, after.row_version) == (1, before.row_version)
    deployed.terminate_case("C-1", actor="admin")
    [ended] = deployed.migrate_cases(["C-1"], to_version=2, actor="admin")
    assert not ended.migrated and ended.reason is not None and "terminated" in ended.reason


# -- return to an earlier step ---------------------------------------------------------------


@pytest.fixture
def permit(engine: Engine) -> Engine:
    engine.deploy(GENERAL_PERMIT, actor="admin")
    return engine


def test_review_returns_to_handle_and_the_case_goes_on(permit: Engine) -> None:
    permit.start_case("general_permit", "GP-1", actor="window01")
    act(permit, "GP-1", "accept", "window01", {"accepted": "yes"})
    act(permit, "GP-1", "handle", "zhangwei", {"handling_opinion": "符合条件"})
    restore_roundtrip(permit, "GP-1")
    review = only_task(permit, "GP-1", "review")
    assert permit.return_targets(review.id) == [("handle", "承办"), ("accept", "受理")]
    permit.claim(review.id, actor="chenjie")
    returned = permit.return_task(review.id, actor="chenjie", to="handle", reason="材料不全")
    assert returned.state == "cancelled"
    handle = only_task(permit, "GP-1", "handle")
    assert handle.assignee == "zhangwei"  # who completed it last
    assert returned.next_tasks == (handle.id,)
    assert _audit(permit, "GP-1", "return") == [("chenjie", "材料不全")]
    restore_roundtrip(permit, "GP-1")
    with permit.runtime.read() as session:  # the reminder timer was armed again
        assert (
            session.scalar(
                sa.select(sa.func.count())
                .select_from(Timer)
                .where(Timer.state == "pending", Timer.element_id == "handle_reminder")
            )
            == 1
        )
    act(permit, "GP-1", "handle", "zhangwei", {"handling_opinion": "已补正"})
    restore_roundtrip(permit, "GP-1")
    act(permit, "GP-1", "review", "chenjie", {"review_result": "pass"})
    act(permit, "GP-1", "approve", "zhaomin", {"decision": "grant"})
    act(permit, "GP-1", "issue_certificate", "window01", {"certificate_no": "JZ-1"})
    case = permit.get_case("GP-1")
    assert case.status == "completed"
    assert case.data["handling_opinion"] == "已补正"


def test_return_refuses_other_targets_people_and_missing_reasons(permit: Engine) -> None:
    permit.start_case("general_permit", "GP-1", actor="window01")
    act(permit, "GP-1", "accept", "window01", {"accepted": "yes"})
    handle = only_task(permit, "GP-1", "handle")
    permit.claim(handle.id, actor="zhangwei")
    with pytest.raises(NotPermittedError):
        permit.return_task(handle.id, actor="lina", to="accept", reason="x")
    with pytest.raises(InvalidInputError, match="reason"):
        permit.return_task(handle.id, actor="zhangwei", to="accept", reason=" ")
    with pytest.raises(InvalidInputError, match="cannot be returned to 'review'"):
        permit.return_task(handle.id, actor="zhangwei", to="review", reason="x")
    assert only_task(permit, "GP-1").id == handle.id
    permit.return_task(handle.id, actor="zhangwei", to="accept", reason="重新受理")
    accept = only_task(permit, "GP-1", "accept")
    assert accept.assignee == "window01"
    act(permit, "GP-1", "accept", "window01", {"accepted": "yes"})
    assert only_task(permit, "GP-1").element_id == "handle"


# -- add a signer ----------------------------------------------------------------------------


def _deploy_signing(engine: Engine, props: str) -> None:
    xml = (DATA / "signing.bpmn").read_text(encoding="utf-8")
    xml = xml.replace(
        '<camunda:property name="sign_mode" value="vote" />\n'
        '          <camunda:property name="pass_count" value="2" />',
        props,
    )
    engine.deploy([SourceFile("signing.bpmn", xml.encode())])


def _sign(engine: Engine, key: str, person: str, approve: bool) -> None:
    task = next(t for t in engine.tasks(case=key) if t.assignee == person)
    engine.complete(task.id, actor=person, data={"approve": approve})
    restore_roundtrip(engine, key)


def test_added_signer_must_sign_too(engine: Engine) -> None:
    _deploy_signing(engine, '<camunda:property name="sign_mode" value="all" />')
    engine.start_case("signing", "S-1", data={"signers": ["zhangwei", "lina"]})
    task = next(t for t in engine.tasks(case="S-1") if t.assignee == "zhangwei")
    with pytest.raises(NotFoundError):
        engine.add_signer(task.id, actor="zhangwei", person="nobody")
    with pytest.raises(NotPermittedError):
        engine.add_signer(task.id, actor="lina", person="chenjie")
    with pytest.raises(ConflictError, match="already signs"):
        engine.add_signer(task.id, actor="zhangwei", person="lina")
    engine.add_signer(task.id, actor="zhangwei", person="chenjie", reason="涉及规划")
    restore_roundtrip(engine, "S-1")
    assert sorted(t.assignee or "" for t in engine.tasks(case="S-1")) == [
        "chenjie",
        "lina",
        "zhangwei",
    ]
    _sign(engine, "S-1", "zhangwei", True)
    _sign(engine, "S-1", "lina", True)
    assert engine.get_case("S-1").status == "running"  # chenjie has not signed
    _sign(engine, "S-1", "chenjie", True)
    case = engine.get_case("S-1")
    assert case.status == "completed" and case.data["joint_sign_passed"] is True
    assert [r.signer for r in engine.sign_replies("S-1")] == ["zhangwei", "lina", "chenjie"]
    assert _audit(engine, "S-1", "add_signer") == [("zhangwei", "涉及规划")]


def test_added_signer_counts_in_a_vote(engine: Engine) -> None:
    _deploy_signing(
        engine,
        '<camunda:property name="sign_mode" value="vote" />'
        '<camunda:property name="pass_ratio" value="1" />',
    )
    engine.start_case("signing", "S-1", data={"signers": ["zhangwei", "lina"]})
    task = next(t for t in engine.tasks(case="S-1") if t.assignee == "zhangwei")
    engine.add_signer(task.id, actor="zhangwei", person="chenjie")
    _sign(engine, "S-1", "zhangwei", True)
    _sign(engine, "S-1", "lina", True)
    assert engine.get_case("S-1").status == "running"  # 3 of 3 needed
    _sign(engine, "S-1", "chenjie", False)
    assert engine.get_case("S-1").data["joint_sign_passed"] is False


def test_add_signer_on_a_plain_step_asks_them_first(deployed: Engine) -> None:
    deployed.start_case("three_step", "C-1")
    draft = only_task(deployed, "C-1")
    deployed.claim(draft.id, actor="zhangwei")
    lent = deployed.add_signer(draft.id, actor="zhangwei", person="chenjie", reason="请先会签")
    assert (lent.assignee, lent.owner, lent.delegation) == ("chenjie", "zhangwei", "pending")
    back = deployed.resolve(draft.id, actor="chenjie", opinion="同意")
    assert back.assignee == "zhangwei"
    assert _audit(deployed, "C-1", "add_signer") == [("zhangwei", "请先会签")]
    assert _audit(deployed, "C-1", "resolve") == [("chenjie", "同意")]
