"""Deploying definitions: versions, content hashes, bundles, hostile XML."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from engine import AuditView, Engine, InvalidDefinitionError, SourceFile
from engine.store.models import AuditEntry, Definition
from tests.helpers import DATA, act, only_task

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d">
  <bpmn:process id="p" isExecutable="true"><bpmn:startEvent id="s" name="&lol3;"/></bpmn:process>
</bpmn:definitions>"""

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d">
  <bpmn:process id="p" isExecutable="true"><bpmn:startEvent id="s" name="&xxe;"/></bpmn:process>
</bpmn:definitions>"""


def _rows(engine: Engine, model: type) -> int:
    with engine.runtime.read() as session:
        return int(session.scalar(sa.select(sa.func.count()).select_from(model)) or 0)


def test_deploy_numbers_versions_and_skips_identical_content(engine: Engine) -> None:
    first = engine.deploy([DATA / "three_step.bpmn"], actor="admin")
    assert first.created == ("three_step",)
    again = engine.deploy([DATA / "three_step.bpmn"], actor="admin")
    assert again.created == () and again.unchanged == ("three_step",)
    changed = (DATA / "three_step.bpmn").read_bytes().replace(b"PT2H", b"PT3H")
    third = engine.deploy([SourceFile("three_step.bpmn", changed)], actor="admin")
    assert third.definitions[0].version == 2
    assert [d.version for d in engine.definitions("three_step")] == [2, 1]
    deploys = [h for h in _audit(engine) if h.action == "deploy"]
    assert len(deploys) == 2 and deploys[0].actor == "admin"


def _audit(engine: Engine) -> list[AuditView]:
    from engine import accountability

    with engine.runtime.read() as session:
        rows = session.scalars(sa.select(AuditEntry).order_by(AuditEntry.id))
        return [accountability.view(r) for r in rows]


def test_running_cases_stay_on_their_version(engine: Engine) -> None:
    engine.deploy([DATA / "three_step.bpmn"])
    engine.start_case("three_step", "OLD", data={"approver": "zhaomin"})
    v2 = (
        (DATA / "three_step.bpmn")
        .read_bytes()
        .replace(b'name="\xe5\xae\xa1\xe6\xa0\xb8"', b'name="\xe5\xa4\x8d\xe6\xa0\xb8"')
    )  # 审核 → 复核
    engine.deploy([SourceFile("three_step.bpmn", v2)])
    engine.start_case("three_step", "NEW", data={"approver": "zhaomin"})
    assert engine.get_case("OLD").definition_version == 1
    assert engine.get_case("NEW").definition_version == 2
    act(engine, "OLD", "draft", "zhangwei", {"amount": 1})
    act(engine, "NEW", "draft", "zhangwei", {"amount": 1})
    assert only_task(engine, "OLD").name == "审核"
    assert only_task(engine, "NEW").name == "复核"
    pinned = engine.start_case("three_step", "PINNED", version=1)
    assert pinned.definition_version == 1


@pytest.mark.parametrize("payload", [BILLION_LAUGHS, XXE], ids=["billion-laughs", "xxe"])
def test_hostile_xml_is_rejected_and_nothing_is_stored(engine: Engine, payload: bytes) -> None:
    with pytest.raises(InvalidDefinitionError) as info:
        engine.deploy([SourceFile("evil.bpmn", payload)])
    problem = info.value.problems[0]
    assert problem.file == "evil.bpmn"
    assert "DOCTYPE" in problem.message or "entit" in problem.message.lower()
    assert _rows(engine, Definition) == 0
    assert _rows(engine, AuditEntry) == 0


def test_bundle_with_one_bad_file_stores_nothing(engine: Engine) -> None:
    bad = (
        (DATA / "loop.bpmn")
        .read_bytes()
        .replace(b'camunda:candidateGroups="role:case-officer" ', b"")
    )
    with pytest.raises(InvalidDefinitionError) as info:
        engine.deploy([DATA / "three_step.bpmn", SourceFile("loop.bpmn", bad)])
    assert [(p.file, p.element_id) for p in info.value.problems] == [("loop.bpmn", "work")]
    assert _rows(engine, Definition) == 0


def test_deploy_folder_of_the_process_library(engine: Engine) -> None:
    from tests.conftest import BPMN

    result = engine.deploy([BPMN])
    assert "general_permit" in result.created


def test_diagram_script_that_imports_is_rejected_at_deploy(engine: Engine) -> None:
    xml = (
        (DATA / "loop.bpmn")
        .read_bytes()
        .replace(
            b'<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="work" />',
            b'<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="sneaky" />'
            b'<bpmn:scriptTask id="sneaky" scriptFormat="python"><bpmn:script>'
            b"import os\nos.popen('id')</bpmn:script></bpmn:scriptTask>"
            b'<bpmn:sequenceFlow id="f1b" sourceRef="sneaky" targetRef="work" />',
        )
    )
    with pytest.raises(InvalidDefinitionError) as info:
        engine.deploy([SourceFile("loop.bpmn", xml)])
    problem = info.value.problems[0]
    assert (problem.file, problem.element_id) == ("loop.bpmn", "sneaky")
    assert "import" in problem.message
    assert _rows(engine, Definition) == 0
