"""Cases: start, persistence in head + history segments, cache, rollback."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from engine import ConflictError, Engine, FormValidationError, NotFoundError, ScriptError
from engine.store.models import AuditEntry, Case, CaseHistory, HumanTask, Timer
from tests.helpers import DATA, act, only_task, restore_roundtrip


@pytest.fixture
def deployed(engine: Engine) -> Engine:
    engine.deploy([DATA / "three_step.bpmn", DATA / "loop.bpmn"], actor="admin")
    return engine


def _count(engine: Engine, model: type) -> int:
    with engine.runtime.read() as session:
        return int(session.scalar(sa.select(sa.func.count()).select_from(model)) or 0)


def test_start_case_runs_to_first_user_task(deployed: Engine) -> None:
    case = deployed.start_case("three_step", "C-1", data={"approver": "zhaomin"}, actor="window01")
    assert case.status == "running"
    assert case.definition_version == 1
    task = only_task(deployed, "C-1")
    assert task.element_id == "draft"
    assert task.candidate_groups == ("role:case-officer",)
    assert task.assignee is None


def test_business_key_is_unique(deployed: Engine) -> None:
    deployed.start_case("three_step", "C-1")
    with pytest.raises(ConflictError, match="already exists"):
        deployed.start_case("three_step", "C-1")
    assert _count(deployed, Case) == 1


def test_start_unknown_process_is_not_found(deployed: Engine) -> None:
    with pytest.raises(NotFoundError):
        deployed.start_case("nope", "C-1")


def test_walk_case_to_completion_with_restore_between_steps(deployed: Engine) -> None:
    deployed.start_case("three_step", "C-1", data={"approver": "zhaomin"})
    restore_roundtrip(deployed, "C-1")
    act(deployed, "C-1", "draft", "zhangwei", {"amount": 1200, "urgent": True}, "拟同意")
    restore_roundtrip(deployed, "C-1")
    act(deployed, "C-1", "check", "chenjie", {"checked": "back"}, "材料不全，退回")
    restore_roundtrip(deployed, "C-1")
    act(deployed, "C-1", "draft", "zhangwei", {"amount": 1300}, "已补充")
    restore_roundtrip(deployed, "C-1")
    act(deployed, "C-1", "check", "chenjie", {"checked": "ok"})
    restore_roundtrip(deployed, "C-1")
    sign = only_task(deployed, "C-1", "sign")
    assert sign.assignee == "zhaomin"  # camunda:assignee="${approver}"
    deployed.complete(sign.id, actor="zhaomin", opinion="同意")
    case = deployed.get_case("C-1")
    assert case.status == "completed"
    assert case.ended_at is not None
    assert case.open_tasks == ()
    assert case.data["amount"] == 1300
    actions = [h.action for h in case.history]
    assert actions.count("complete") == 5
    opinions = [h.opinion for h in case.history if h.action == "complete"]
    assert opinions[0] == "拟同意" and opinions[-1] == "同意"


def test_history_is_appended_not_rewritten(deployed: Engine) -> None:
    deployed.start_case("loop", "L-1")
    for _ in range(5):
        act(deployed, "L-1", "work", "zhangwei", {"done": False})
    with deployed.runtime.read() as session:
        segs = session.scalars(sa.select(CaseHistory.seq).order_by(CaseHistory.seq)).all()
        head = session.scalar(sa.select(sa.func.length(Case.state)))
    assert segs == list(range(1, len(segs) + 1))
    assert len(segs) == 6  # start + 5 steps
    # the head holds only unfinished tasks: it does not grow with the loop
    for _ in range(20):
        act(deployed, "L-1", "work", "zhangwei", {"done": False})
    with deployed.runtime.read() as session:
        head_after = session.scalar(sa.select(sa.func.length(Case.state)))
    assert head_after is not None and head is not None
    assert head_after < head * 1.3
    restore_roundtrip(deployed, "L-1")
    act(deployed, "L-1", "work", "zhangwei", {"done": True})
    assert deployed.get_case("L-1").status == "completed"


def test_workflow_cache_is_only_an_optimisation(db_url: str, clock: object) -> None:
    from tests.conftest import make_engine

    cached = make_engine(db_url, clock)  # type: ignore[arg-type]
    uncached = Engine(db_url, clock=clock, workflow_cache_size=0)  # type: ignore[arg-type]
    cached.deploy([DATA / "three_step.bpmn"])
    cached.start_case("three_step", "C-1", data={"approver": "zhaomin"})
    act(cached, "C-1", "draft", "zhangwei", {"amount": 5})
    # another process (no shared cache) acts on the case
    act(uncached, "C-1", "check", "chenjie", {"checked": "ok"})
    # the first engine's cached entry is stale (older row version) and must not be used
    misses = cached.runtime.workflows.misses
    sign = only_task(cached, "C-1", "sign")
    cached.complete(sign.id, actor="zhaomin")
    assert cached.runtime.workflows.misses == misses + 1
    assert cached.get_case("C-1").status == "completed"
    cached.dispose()
    uncached.dispose()


def test_invalid_form_data_changes_nothing(deployed: Engine) -> None:
    deployed.start_case("three_step", "C-1")
    task = only_task(deployed, "C-1")
    deployed.claim(task.id, actor="zhangwei")
    before_audit = _count(deployed, AuditEntry)
    before = deployed.get_case("C-1", with_history=False)
    with pytest.raises(FormValidationError) as info:
        deployed.complete(task.id, actor="zhangwei", data={"amount": "lots"})
    assert "amount" in info.value.to_dict()["fields"]  # type: ignore[operator]
    after = deployed.get_case("C-1", with_history=False)
    assert after.row_version == before.row_version
    assert _count(deployed, AuditEntry) == before_audit
    assert only_task(deployed, "C-1").state == "open"


def test_script_error_mid_step_rolls_back_and_is_audited(deployed: Engine) -> None:
    # no 'approver' in the data: evaluating camunda:assignee="${approver}" fails after
    # the check task ran; the whole call must roll back
    deployed.start_case("three_step", "C-1")
    act(deployed, "C-1", "draft", "zhangwei", {"amount": 1})
    task = only_task(deployed, "C-1", "check")
    deployed.claim(task.id, actor="chenjie")
    version = deployed.get_case("C-1").row_version
    with pytest.raises(ScriptError):
        deployed.complete(task.id, actor="chenjie", data={"checked": "ok"})
    case = deployed.get_case("C-1")
    assert case.row_version == version
    assert only_task(deployed, "C-1").element_id == "check"
    assert case.history[-1].action == "error"
    with deployed.runtime.read() as session:
        rows = session.scalars(sa.select(HumanTask.element_id)).all()
    assert "sign" not in rows
    # the case is unharmed: it goes on once the data is there
    restore_roundtrip(deployed, "C-1")


def test_terminate_closes_open_tasks(deployed: Engine) -> None:
    deployed.start_case("three_step", "C-1")
    deployed.terminate_case("C-1", actor="admin", reason="申请人撤回")
    case = deployed.get_case("C-1")
    assert case.status == "terminated"
    assert deployed.tasks(case="C-1") == []
    assert deployed.tasks(case="C-1", state="cancelled")[0].element_id == "draft"
    with pytest.raises(ConflictError):
        deployed.terminate_case("C-1")


def test_boundary_timer_fires_through_fire_due_timers(deployed: Engine) -> None:
    clock = deployed.clock
    deployed.start_case("three_step", "C-1")
    act(deployed, "C-1", "draft", "zhangwei", {"amount": 1})
    assert deployed.fire_due_timers() == 0
    later = clock.now() + timedelta(hours=3)
    clock.set(later)  # type: ignore[attr-defined]
    assert deployed.fire_due_timers() == 1
    assert only_task(deployed, "C-1").element_id == "escalated"
    history = deployed.history("C-1")
    assert [h.action for h in history if h.element_id == "check"][-1] == "cancel"
    assert any(h.action == "timer" for h in history)
    assert deployed.fire_due_timers() == 0


def test_reading_a_case_does_not_disturb_its_next_step(deployed: Engine) -> None:
    deployed.start_case("three_step", "C-1", data={"approver": "zhaomin"})
    act(deployed, "C-1", "draft", "zhangwei", {"amount": 1})
    task = only_task(deployed, "C-1", "check")
    deployed.get_case("C-1")  # a read hands the cached workflow back
    deployed.get_task(task.id)
    deployed.claim(task.id, actor="chenjie")
    deployed.complete(task.id, actor="chenjie", data={"checked": "ok"})
    assert only_task(deployed, "C-1").element_id == "sign"
    with deployed.runtime.read() as session:
        timers = session.execute(sa.select(Timer.element_id, Timer.state)).all()
    assert [tuple(t) for t in timers] == [("check_timeout", "cancelled")]
    restore_roundtrip(deployed, "C-1")
