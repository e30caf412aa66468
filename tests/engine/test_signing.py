"""Multi-instance signing: 会签 (all), 或签 (any), 票签 (k of N / share), replies kept."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from engine import Engine, SourceFile
from tests.helpers import DATA, restore_roundtrip

SIGNERS = ["zhangwei", "lina", "chenjie", "zhaomin"]


def _deploy(engine: Engine, tmp_path: Path, props: str) -> None:
    xml = (DATA / "signing.bpmn").read_text(encoding="utf-8")
    xml = xml.replace(
        '<camunda:property name="sign_mode" value="vote" />\n'
        '          <camunda:property name="pass_count" value="2" />',
        props,
    )
    engine.deploy([SourceFile("signing.bpmn", xml.encode())])


def _sign(engine: Engine, key: str, person: str, approve: bool, opinion: str = "") -> None:
    task = next(t for t in engine.tasks(case=key) if t.assignee == person)
    engine.complete(task.id, actor=person, data={"approve": approve}, opinion=opinion or None)
    restore_roundtrip(engine, key)


def _end(engine: Engine, key: str) -> str:
    case = engine.get_case(key)
    assert case.status == "completed"
    return [h for h in case.history if h.action == "complete"][-1].element_id or ""


def test_vote_passes_at_k_of_n_and_cancels_the_rest(engine: Engine, tmp_path: Path) -> None:
    _deploy(
        engine,
        tmp_path,
        '<camunda:property name="sign_mode" value="vote" />'
        '<camunda:property name="pass_count" value="2" />',
    )
    engine.start_case("signing", "S-1", data={"signers": SIGNERS})
    assert sorted(t.assignee or "" for t in engine.tasks(case="S-1")) == sorted(SIGNERS)
    _sign(engine, "S-1", "zhangwei", True)
    _sign(engine, "S-1", "lina", False, "不同意")
    _sign(engine, "S-1", "chenjie", True)
    case = engine.get_case("S-1")
    assert case.status == "completed"
    assert case.data["joint_sign_passed"] is True
    assert len(engine.tasks(case="S-1", state="cancelled")) == 1
    assert [(r.signer, r.approve) for r in engine.sign_replies("S-1")] == [
        ("zhangwei", True),
        ("lina", False),
        ("chenjie", True),
    ]


def test_vote_fails_once_k_is_out_of_reach(engine: Engine, tmp_path: Path) -> None:
    _deploy(
        engine,
        tmp_path,
        '<camunda:property name="sign_mode" value="vote" />'
        '<camunda:property name="pass_ratio" value="0.75" />',
    )
    engine.start_case("signing", "S-1", data={"signers": SIGNERS})  # needs 3 of 4
    _sign(engine, "S-1", "zhangwei", False)
    assert engine.get_case("S-1").status == "running"
    _sign(engine, "S-1", "lina", False)
    assert engine.get_case("S-1").data["joint_sign_passed"] is False


def test_any_one_signature_decides(engine: Engine, tmp_path: Path) -> None:
    _deploy(engine, tmp_path, '<camunda:property name="sign_mode" value="any" />')
    engine.start_case("signing", "S-1", data={"signers": SIGNERS})
    _sign(engine, "S-1", "chenjie", True)
    assert engine.get_case("S-1").data["joint_sign_passed"] is True
    assert len(engine.tasks(case="S-1", state="cancelled")) == 3


def test_all_must_sign(engine: Engine, tmp_path: Path) -> None:
    _deploy(engine, tmp_path, '<camunda:property name="sign_mode" value="all" />')
    engine.start_case("signing", "S-1", data={"signers": SIGNERS[:3]})
    _sign(engine, "S-1", "zhangwei", True)
    _sign(engine, "S-1", "lina", True)
    assert engine.get_case("S-1").status == "running"
    _sign(engine, "S-1", "chenjie", True)
    assert engine.get_case("S-1").data["joint_sign_passed"] is True


def test_replies_survive_a_boundary_timer(engine: Engine, tmp_path: Path) -> None:
    _deploy(engine, tmp_path, '<camunda:property name="sign_mode" value="all" />')
    engine.start_case("signing", "S-1", data={"signers": SIGNERS})
    _sign(engine, "S-1", "zhangwei", True, "同意")
    _sign(engine, "S-1", "lina", False, "不同意")
    later = engine.clock.now() + timedelta(days=2)
    engine.clock.set(later)  # type: ignore[attr-defined]
    assert engine.fire_due_timers() == 1
    case = engine.get_case("S-1")
    assert [t.element_id for t in case.open_tasks] == ["chase"]
    kept = case.data["sign_results"]["joint_sign"]["replies"]
    assert [(r["signer"], r["approve"], r["opinion"]) for r in kept] == [
        ("zhangwei", True, "同意"),
        ("lina", False, "不同意"),
    ]
    assert len(engine.sign_replies("S-1", "joint_sign")) == 2


@pytest.mark.parametrize("ratio", ["0.5"])
def test_vote_share_counts_against_all_signers(engine: Engine, tmp_path: Path, ratio: str) -> None:
    _deploy(
        engine,
        tmp_path,
        '<camunda:property name="sign_mode" value="vote" />'
        f'<camunda:property name="pass_ratio" value="{ratio}" />',
    )
    engine.start_case("signing", "S-1", data={"signers": SIGNERS})  # 2 of 4
    _sign(engine, "S-1", "zhangwei", True)
    assert engine.get_case("S-1").status == "running"
    _sign(engine, "S-1", "zhaomin", True)
    assert engine.get_case("S-1").data["joint_sign_passed"] is True


def test_timer_path_reads_kept_replies_through_helper(engine: Engine, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    xml = (DATA / "signing.bpmn").read_text(encoding="utf-8")
    xml = xml.replace(
        '<bpmn:sequenceFlow id="f_late" sourceRef="sign_deadline" targetRef="chase" />',
        '<bpmn:sequenceFlow id="f_late" sourceRef="sign_deadline" targetRef="tally" />'
        '<bpmn:scriptTask id="tally" scriptFormat="python"><bpmn:script>'
        'replied = len(sign_results("joint_sign")["replies"])</bpmn:script></bpmn:scriptTask>'
        '<bpmn:sequenceFlow id="f_tally" sourceRef="tally" targetRef="chase" />',
    )
    engine.deploy([SourceFile("signing.bpmn", xml.encode())])
    engine.start_case("signing", "S-1", data={"signers": SIGNERS})
    _sign(engine, "S-1", "zhangwei", True)
    later = engine.clock.now() + timedelta(days=2)
    engine.clock.set(later)  # type: ignore[attr-defined]
    engine.fire_due_timers()
    chase = engine.tasks(case="S-1")[0]
    assert engine.get_task(chase.id).data["replied"] == 1
