"""Assignment expressions with text around them, and who completed an earlier step."""

from __future__ import annotations

import pytest

from engine import Engine, InvalidDefinitionError, SourceFile
from tests.helpers import act, only_task, restore_roundtrip

DIAGRAM = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="x">
  <bpmn:process id="first_officer" isExecutable="true">
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="register" />
    <bpmn:userTask id="register" name="登记" camunda:candidateGroups="role:window-officer" />
    <bpmn:sequenceFlow id="f2" sourceRef="register" targetRef="unit_review" />
    <bpmn:userTask id="unit_review" name="承接单位办理"
        camunda:candidateGroups="dept:${unit}, post:${unit}-chief" />
    <bpmn:sequenceFlow id="f3" sourceRef="unit_review" targetRef="close" />
    <bpmn:userTask id="close" name="办结告知" camunda:assignee="${completed_by('register')}" />
    <bpmn:sequenceFlow id="f4" sourceRef="close" targetRef="end" />
    <bpmn:endEvent id="end" />
  </bpmn:process>
</bpmn:definitions>"""


def test_text_around_an_expression_and_the_first_officer_keeps_the_case(
    engine: Engine,
) -> None:
    engine.deploy([SourceFile("first_officer.bpmn", DIAGRAM.encode())])
    engine.start_case("first_officer", "FO-1", data={"unit": "housing"})
    act(engine, "FO-1", "register", "window02", {})
    restore_roundtrip(engine, "FO-1")
    review = only_task(engine, "FO-1", "unit_review")
    assert review.candidate_groups == ("dept:housing", "post:housing-chief")
    act(engine, "FO-1", "unit_review", "zhaomin", {})
    assert only_task(engine, "FO-1", "close").assignee == "window02"  # 首问负责


def test_a_bad_expression_inside_text_is_refused_at_deploy(engine: Engine) -> None:
    bad = DIAGRAM.replace("dept:${unit}", "dept:${__import__('os')}")
    with pytest.raises(InvalidDefinitionError, match="candidateGroups is invalid"):
        engine.deploy([SourceFile("first_officer.bpmn", bad.encode())])


COMBINED = DIAGRAM.replace(
    'camunda:candidateGroups="dept:${unit}, post:${unit}-chief"',
    'camunda:candidateGroups="role:department-head&amp;dept:${unit}"',
)


def test_a_combined_group_needs_both_the_role_and_the_department(engine: Engine) -> None:
    from engine import NotPermittedError

    engine.deploy([SourceFile("first_officer.bpmn", COMBINED.encode())])
    engine.start_case("first_officer", "FO-2", data={"unit": "housing"})
    act(engine, "FO-2", "register", "window01", {})
    review = only_task(engine, "FO-2", "unit_review")
    assert review.candidate_groups == ("role:department-head&dept:housing",)
    assert [t.id for t in engine.inbox("zhaomin")] == [review.id]  # head of housing
    assert engine.inbox("zhengqiang") == []  # a head, of another organ
    assert engine.inbox("zhangwei") == []  # in housing-permits, not a head
    with pytest.raises(NotPermittedError):
        engine.claim(review.id, actor="zhengqiang")
    engine.claim(review.id, actor="zhaomin")


def test_defined_tells_whether_the_start_gave_a_variable(engine: Engine) -> None:
    diagram = DIAGRAM.replace(
        "camunda:assignee=\"${completed_by('register')}\"",
        "camunda:assignee=\"${defined('via_portal') ? 'window02' : 'window01'}\"",
    )
    engine.deploy([SourceFile("first_officer.bpmn", diagram.encode())])
    for key, data in (
        ("FO-3", {"unit": "housing"}),
        ("FO-4", {"unit": "housing", "via_portal": 1}),
    ):
        engine.start_case("first_officer", key, data=data)
        act(engine, key, "register", "window01", {})
        act(engine, key, "unit_review", "zhaomin", {})
    assert only_task(engine, "FO-3", "close").assignee == "window01"
    assert only_task(engine, "FO-4", "close").assignee == "window02"


def test_a_combined_group_reaches_the_role_in_the_departments_above(engine: Engine) -> None:
    engine.deploy([SourceFile("first_officer.bpmn", COMBINED.encode())])
    engine.start_case("first_officer", "FO-5", data={"unit": "housing-permits"})
    act(engine, "FO-5", "register", "window01", {})
    review = only_task(engine, "FO-5", "unit_review")
    assert review.candidate_groups == ("role:department-head&dept:housing-permits",)
    # the head of the housing bureau heads its permits section too; a market head does not
    assert [t.id for t in engine.inbox("zhaomin")] == [review.id]
    assert engine.inbox("zhengqiang") == []


def test_a_qualifier_that_evaluates_to_nothing_is_left_out(engine: Engine) -> None:
    engine.deploy([SourceFile("first_officer.bpmn", COMBINED.encode())])
    engine.start_case("first_officer", "FO-6", data={"unit": None})
    act(engine, "FO-6", "register", "window01", {})
    review = only_task(engine, "FO-6", "unit_review")
    assert review.candidate_groups == ("role:department-head",)


def test_general_permit_keeps_handling_in_the_items_department(engine: Engine) -> None:
    from tests.conftest import GENERAL_PERMIT, TEST_ITEMS

    engine.deploy(GENERAL_PERMIT)
    engine.load_items([TEST_ITEMS])
    item = engine.service_item("T-0101")
    engine.start_case("general_permit", "GP-9", data={"applicant": "某公司"}, item=item.code)
    act(engine, "GP-9", "accept", "window01", {"accepted": "yes"})
    handle = only_task(engine, "GP-9", "handle")
    assert handle.candidate_groups == (f"role:case-officer&dept:{item.department}",)
    assert [t.id for t in engine.inbox("zhangwei")] == [handle.id]  # housing-permits
    assert engine.inbox("sunli") == []  # a case officer of market-food
