"""Parsing and validating deployments: hostile XML, engine rules, canonical specs."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.camunda.serializer.config import CAMUNDA_CONFIG
from SpiffWorkflow.util.task import TaskState

from engine.errors import DefinitionProblem, InvalidDefinitionError
from engine.parsing import (
    DEPLOYMENT,
    MAX_BUNDLE_BYTES,
    MAX_FILE_BYTES,
    ParsedBundle,
    SourceFile,
    build_specs,
    parse_bundle,
    parse_xml,
    split_list,
)

DATA = Path(__file__).resolve().parent / "data"
PERMIT_FILES = ("permit_application.bpmn", "archive.bpmn", "intake.form.json", "fee_rule.dmn")

HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:camunda="http://camunda.org/schema/1.0/bpmn"
                  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
                  id="defs" targetNamespace="http://xiaoneng.example/tests">"""

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d"
    targetNamespace="x"><bpmn:documentation>&lol9;</bpmn:documentation></bpmn:definitions>"""

XXE = b"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE definitions [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d"
    targetNamespace="x">
  <bpmn:process id="p" name="&secret;" isExecutable="true"/>
</bpmn:definitions>"""

DOCTYPE_MESSAGE = "DOCTYPE/entity declarations are not allowed"
NO_PEOPLE = "user task has no assignee, candidate users/groups or lane"
HOOKS = "Java/connector hooks are not supported"


def bpmn(body: str, *, process_id: str = "p", executable: bool = True) -> bytes:
    """A BPMN document with one process holding ``body``."""
    flag = "true" if executable else "false"
    return (
        f'{HEAD}\n  <bpmn:process id="{process_id}" name="测试" isExecutable="{flag}">\n'
        f"{body}\n  </bpmn:process>\n</bpmn:definitions>\n"
    ).encode()


def one_task(task: str, *, task_id: str = "task", process_id: str = "p", extra: str = "") -> bytes:
    """start → ``task`` → end, plus ``extra`` elements."""
    return bpmn(
        f"""
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="to_task" sourceRef="start" targetRef="{task_id}"/>
    {task}
    <bpmn:sequenceFlow id="to_end" sourceRef="{task_id}" targetRef="end"/>
    <bpmn:endEvent id="end"/>
    {extra}""",
        process_id=process_id,
    )


def user_task(attributes: str = 'camunda:assignee="zhangwei"', inner: str = "") -> bytes:
    return one_task(f'<bpmn:userTask id="task" name="办理" {attributes}>{inner}</bpmn:userTask>')


def problems_of(*files: SourceFile, **kwargs: object) -> list[DefinitionProblem]:
    with pytest.raises(InvalidDefinitionError) as error:
        parse_bundle(list(files), **kwargs)  # type: ignore[arg-type]
    return error.value.problems


def permit_bundle() -> ParsedBundle:
    return parse_bundle([SourceFile(name, (DATA / name).read_bytes()) for name in PERMIT_FILES])


def spec_dict(spec: object) -> dict[str, object]:
    serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(CAMUNDA_CONFIG))
    return serializer.to_dict(spec)  # type: ignore[no-any-return]


def task_spec(bundle: ParsedBundle, process_id: str, name: str) -> object:
    spec, _ = bundle.spec(process_id)
    return spec.task_specs[name]


# -- hostile and broken XML ------------------------------------------------------------------


def test_parse_rejects_billion_laughs() -> None:
    assert problems_of(SourceFile("lol.bpmn", BILLION_LAUGHS)) == [
        DefinitionProblem("lol.bpmn", None, DOCTYPE_MESSAGE),
    ]


def test_parse_rejects_xxe_file_reference() -> None:
    assert problems_of(SourceFile("evil.bpmn", XXE)) == [
        DefinitionProblem("evil.bpmn", None, DOCTYPE_MESSAGE),
    ]


def test_parse_rejects_doctype_hidden_in_utf16() -> None:
    text = XXE.decode().replace('encoding="UTF-8"', 'encoding="UTF-16"')
    content = codecs.BOM_UTF16_LE + text.encode("utf-16-le")

    with pytest.raises(InvalidDefinitionError) as error:
        parse_xml("evil.bpmn", content)

    assert error.value.problems == [DefinitionProblem("evil.bpmn", None, DOCTYPE_MESSAGE)]


def test_parse_keeps_doctype_text_inside_content() -> None:
    body = "<bpmn:documentation><![CDATA[<!DOCTYPE html>]]></bpmn:documentation>"
    root = parse_xml("p.bpmn", one_task(f'<bpmn:task id="task">{body}</bpmn:task>'))

    assert "<!DOCTYPE html>" in root.findtext(".//{*}documentation")


def test_parse_rejects_malformed_xml_naming_the_line() -> None:
    content = (
        b'<?xml version="1.0"?>\n<bpmn:definitions xmlns:bpmn="x">\n<oops>\n</bpmn:definitions>'
    )

    [problem] = problems_of(SourceFile("broken.bpmn", content))

    assert (problem.file, problem.element_id) == ("broken.bpmn", None)
    assert problem.message.startswith("malformed XML at line 4:")


def test_parse_rejects_oversized_file_and_bundle() -> None:
    big = SourceFile("big.bpmn", b" " * (MAX_FILE_BYTES + 1))
    assert problems_of(big) == [
        DefinitionProblem("big.bpmn", None, f"file is larger than {MAX_FILE_BYTES} bytes"),
    ]
    parts = [SourceFile(f"part{i}.bpmn", b" " * MAX_FILE_BYTES) for i in range(5)]
    total = 5 * MAX_FILE_BYTES
    assert total > MAX_BUNDLE_BYTES
    assert problems_of(*parts) == [
        DefinitionProblem(
            DEPLOYMENT, None, f"a deployment may have at most {MAX_BUNDLE_BYTES} bytes, not {total}"
        ),
    ]


def test_schema_violation_names_element_and_line() -> None:
    content = one_task('<bpmn:task id="task"/>').replace(
        b'<bpmn:sequenceFlow id="to_end" sourceRef="task" targetRef="end"/>',
        b'<bpmn:sequenceFlow id="to_end" sourceRef="task" targetRef="end" bogus="1"/>',
    )

    line = (
        content.decode()
        .splitlines()
        .index('    <bpmn:sequenceFlow id="to_end" sourceRef="task" targetRef="end" bogus="1"/>')
        + 1
    )

    [problem] = problems_of(SourceFile("p.bpmn", content))

    assert (problem.file, problem.element_id) == ("p.bpmn", "to_end")
    assert problem.message.startswith(f"schema violation at line {line}:")
    assert "bogus" in problem.message


def test_unknown_file_type_and_non_bpmn_root_are_rejected() -> None:
    other = SourceFile("notes.txt", b"hello")
    not_bpmn = SourceFile("x.bpmn", b"<definitions/>")

    assert problems_of(other, not_bpmn) == [
        DefinitionProblem(
            "notes.txt", None, "unsupported file type: expected .bpmn, .dmn or .form.json"
        ),
        DefinitionProblem(
            "x.bpmn", None, "not a BPMN 2.0 file: the root element must be bpmn:definitions"
        ),
    ]


# -- a realistic deployment ------------------------------------------------------------------


def test_realistic_bundle_parses_processes_sources_and_forms() -> None:
    bundle = permit_bundle()

    assert [p.process_id for p in bundle.processes] == ["permit_application", "archive"]
    permit = bundle.process("permit_application")
    assert (permit.name, permit.file) == ("许可申请", "permit_application.bpmn")
    assert [s.name for s in permit.sources] == [
        "permit_application.bpmn",
        "intake.form.json",
        "fee_rule.dmn",
        "archive.bpmn",
    ]
    assert [s.name for s in bundle.sources_for("archive")] == ["archive.bpmn"]
    assert permit.called_processes == ("archive",)
    assert list(bundle.forms) == ["intake"]
    assert permit.start_form == bundle.forms["intake"]
    assert [t.element_id for t in permit.user_tasks] == ["accept", "review", "joint_sign"]
    accept = permit.user_tasks[0]
    assert (accept.lane, accept.form_key, accept.form) == (
        "role:window-clerk",
        "intake",
        bundle.forms["intake"],
    )


def test_assignee_and_candidates_read_into_extensions() -> None:
    bundle = permit_bundle()

    review = task_spec(bundle, "permit_application", "review")

    extensions = review.extensions  # type: ignore[attr-defined]
    assert extensions["assignee"] is None
    assert extensions["candidate_users"] == ["liqiang", "${applicant_manager}"]
    assert extensions["candidate_groups"] == ["role:section-chief", "role:deputy-head"]
    assert extensions["due_date"] == "P3D"
    assert extensions["priority"] == 60
    assert extensions["form_key"] is None
    assert [f["id"] for f in extensions["form"]["fields"]] == ["approved", "remark"]
    assert review.lane == "role:section-chief"  # type: ignore[attr-defined]
    [info] = [
        t for t in bundle.process("permit_application").user_tasks if t.element_id == "review"
    ]
    assert info.candidate_users == ("liqiang", "${applicant_manager}")
    assert info.priority == 60


def test_multi_instance_signing_is_exposed_on_task_and_wrapper() -> None:
    bundle = permit_bundle()

    [info] = [
        t for t in bundle.process("permit_application").user_tasks if t.element_id == "joint_sign"
    ]
    wrapper = task_spec(bundle, "permit_application", "joint_sign")

    assert info.assignee == "${signer}"
    assert info.multi_instance is not None
    assert info.multi_instance.sign_mode == "vote"
    assert info.multi_instance.pass_ratio == 0.5
    assert info.multi_instance.pass_count is None
    assert info.multi_instance.sign_field == "approve"
    assert info.multi_instance.collection == "signers"  # ${signers} normalized to the name
    assert info.multi_instance.element_variable == "signer"
    assert wrapper.extensions["sign_mode"] == "vote"  # type: ignore[attr-defined]


def test_start_event_keeps_form_and_initiator() -> None:
    start = task_spec(permit_bundle(), "permit_application", "submitted")

    assert start.extensions["form_key"] == "embedded:deployment:intake.form"  # type: ignore[attr-defined]
    assert start.extensions["initiator"] == "applicant"  # type: ignore[attr-defined]
    assert start.extensions["form"]["key"] == "intake"  # type: ignore[attr-defined]


def test_conditions_scripts_and_timers_are_rewritten_in_canonical_xml() -> None:
    from engine import scripting

    bundle = permit_bundle()
    canonical = bundle.process("permit_application").sources[0].content.decode()

    condition = scripting.check_expression("${approved && fee >= 0}")
    timer = scripting.normalize_timer_expression("PT1H")
    assert "${approved" not in canonical
    spec, _ = bundle.spec("permit_application")
    gateway = spec.task_specs["decide"]
    assert [c.args[0] for c, _ in gateway.cond_task_specs if c] == [condition]
    boundary = spec.task_specs["review_timeout"]
    assert boundary.event_definition.expression == timer
    script = spec.task_specs["note_fee"]
    assert script.script == scripting.check_script('fee_note = "fee: " + str(fee)')


def test_build_specs_from_stored_sources_matches_the_bundle() -> None:
    bundle = permit_bundle()
    stored = [
        SourceFile(s.name, bytes(s.content)) for s in bundle.sources_for("permit_application")
    ]

    built = build_specs(stored, "permit_application")
    spec, subprocess_specs = bundle.spec("permit_application")

    assert spec_dict(built.spec) == spec_dict(spec)
    assert list(built.subprocess_specs) == ["archive"] == list(subprocess_specs)
    assert built.forms["accept"] == bundle.forms["intake"]
    assert built.forms["submitted"] == bundle.forms["intake"]
    assert set(built.forms) == {"submitted", "accept", "review", "joint_sign"}
    assert {(t.process_id, t.element_id) for t in built.user_tasks} == {
        ("permit_application", "accept"),
        ("permit_application", "review"),
        ("permit_application", "joint_sign"),
        ("archive", "file_papers"),
    }


def test_canonical_sources_parse_again_to_the_same_bytes() -> None:
    bundle = permit_bundle()

    again = parse_bundle(list(bundle.files))

    assert again.files == bundle.files


def test_build_specs_rejects_a_process_not_in_the_sources() -> None:
    sources = permit_bundle().sources_for("archive")

    with pytest.raises(InvalidDefinitionError) as error:
        build_specs(sources, "permit_application")

    assert error.value.problems == [
        DefinitionProblem(
            DEPLOYMENT, "permit_application", "process 'permit_application' is not in the sources"
        ),
    ]


def test_realistic_process_runs_from_rebuilt_specs_with_save_and_restore() -> None:
    built = build_specs(permit_bundle().sources_for("permit_application"), "permit_application")
    serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(CAMUNDA_CONFIG))
    workflow = BpmnWorkflow(built.spec, built.subprocess_specs)

    def step(name: str, data: dict[str, object]) -> None:
        nonlocal workflow
        workflow.do_engine_steps()
        workflow = serializer.deserialize_json(serializer.serialize_json(workflow))
        ready = [
            t
            for t in workflow.get_tasks(state=TaskState.READY, manual=True)
            if t.task_spec.bpmn_id == name
        ]
        assert ready, [t.task_spec.bpmn_id for t in workflow.get_tasks(state=TaskState.READY)]
        ready[0].data.update(data)
        ready[0].run()

    step("accept", {"applicant_name": "张伟", "amount": 2000, "decision": "approve"})
    workflow.do_engine_steps()
    [timer] = workflow.waiting_events()  # the quoted PT1H timer evaluates
    assert timer.event_type == "DurationTimerEventDefinition"
    step("review", {"approved": True, "signers": ["a", "b"]})
    step("joint_sign", {"approve": True})
    step("joint_sign", {"approve": True})
    step("file_papers", {})
    workflow.do_engine_steps()

    assert workflow.is_completed()
    assert workflow.data["fee"] == 50
    assert workflow.data["fee_note"] == "fee: 50"


# -- engine rules ----------------------------------------------------------------------------


def test_user_task_without_candidates_is_rejected_with_element_id() -> None:
    assert problems_of(SourceFile("p.bpmn", user_task(""))) == [
        DefinitionProblem("p.bpmn", "task", NO_PEOPLE),
    ]


def test_user_task_in_a_named_lane_needs_no_candidates() -> None:
    lanes = """<bpmn:laneSet id="lanes"><bpmn:lane id="clerks" name="role:clerk">
      <bpmn:flowNodeRef>task</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>"""
    content = one_task('<bpmn:userTask id="task"/>', extra=lanes)

    [info] = parse_bundle([SourceFile("p.bpmn", content)]).process("p").user_tasks

    assert info.lane == "role:clerk"


@pytest.mark.parametrize(
    ("task", "detail"),
    [
        ('<bpmn:serviceTask id="task" camunda:class="org.example.Send"/>', "camunda:class"),
        (
            '<bpmn:serviceTask id="task" camunda:delegateExpression="${sender}"/>',
            "camunda:delegateExpression",
        ),
        ('<bpmn:sendTask id="task" camunda:expression="${mail.send()}"/>', "camunda:expression"),
        (
            '<bpmn:serviceTask id="task" camunda:type="external" camunda:topic="pay"/>',
            "camunda:type='external'",
        ),
        (
            """<bpmn:serviceTask id="task"><bpmn:extensionElements><camunda:connector>
           <camunda:connectorId>http-connector</camunda:connectorId></camunda:connector>
           </bpmn:extensionElements></bpmn:serviceTask>""",
            "camunda:connector",
        ),
        (
            """<bpmn:userTask id="task" camunda:assignee="a"><bpmn:extensionElements>
           <camunda:taskListener event="create" class="org.example.Listener"/>
           </bpmn:extensionElements></bpmn:userTask>""",
            "camunda:taskListener: listeners are not run",
        ),
        (
            """<bpmn:task id="task"><bpmn:extensionElements>
           <camunda:executionListener event="start">
           <camunda:script scriptFormat="python">x = 1</camunda:script>
           </camunda:executionListener></bpmn:extensionElements></bpmn:task>""",
            "camunda:executionListener: listeners are not run",
        ),
    ],
)
def test_camunda_class_hook_rejected(task: str, detail: str) -> None:
    assert problems_of(SourceFile("p.bpmn", one_task(task))) == [
        DefinitionProblem("p.bpmn", "task", f"{HOOKS} ({detail})"),
    ]


def test_missing_called_process_rejected() -> None:
    content = one_task('<bpmn:callActivity id="task" calledElement="archive"/>')

    assert problems_of(SourceFile("p.bpmn", content)) == [
        DefinitionProblem("p.bpmn", "task", "called process 'archive' not found in the deployment"),
    ]


def test_called_process_already_deployed_is_resolved_and_bundled() -> None:
    stored = permit_bundle().sources_for("archive")
    asked: list[str] = []

    def deployed(process_id: str) -> list[SourceFile] | None:
        asked.append(process_id)
        return stored if process_id == "archive" else None

    content = one_task('<bpmn:callActivity id="task" calledElement="archive"/>')
    bundle = parse_bundle([SourceFile("p.bpmn", content)], deployed=deployed)

    assert asked == ["archive"]
    assert [p.process_id for p in bundle.processes] == ["p"]
    assert [s.name for s in bundle.sources_for("p")] == ["p.bpmn", "archive.bpmn"]
    built = build_specs(bundle.sources_for("p"), "p")
    assert list(built.subprocess_specs) == ["archive"]


def test_called_process_that_is_not_executable_rejected() -> None:
    caller = one_task('<bpmn:callActivity id="task" calledElement="draft"/>')
    draft = bpmn('<bpmn:startEvent id="s"/>', process_id="draft", executable=False)

    assert problems_of(SourceFile("p.bpmn", caller), SourceFile("draft.bpmn", draft)) == [
        DefinitionProblem("p.bpmn", "task", "called process 'draft' is not executable"),
    ]


def test_process_without_start_event_rejected() -> None:
    content = bpmn('<bpmn:userTask id="task" camunda:assignee="a"/>')

    assert problems_of(SourceFile("p.bpmn", content)) == [
        DefinitionProblem("p.bpmn", "p", "process has no start event"),
    ]


def test_duplicate_process_ids_across_files_rejected() -> None:
    content = user_task()

    assert problems_of(SourceFile("a.bpmn", content), SourceFile("b.bpmn", content)) == [
        DefinitionProblem("b.bpmn", "p", "duplicate process id 'p' (also in a.bpmn)"),
    ]


def test_no_executable_process_rejected() -> None:
    content = bpmn('<bpmn:startEvent id="s"/>', executable=False)

    assert problems_of(SourceFile("p.bpmn", content)) == [
        DefinitionProblem(DEPLOYMENT, None, "no executable process found"),
    ]


def test_invalid_condition_rejected_with_element_id() -> None:
    content = bpmn("""
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="to_gate" sourceRef="start" targetRef="gate"/>
    <bpmn:exclusiveGateway id="gate" default="to_end"/>
    <bpmn:sequenceFlow id="to_task" sourceRef="gate" targetRef="end_big">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression"
        >${amount &gt;}</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="to_end" sourceRef="gate" targetRef="end"/>
    <bpmn:endEvent id="end_big"/>
    <bpmn:endEvent id="end"/>""")

    [problem] = problems_of(SourceFile("p.bpmn", content))

    assert (problem.file, problem.element_id) == ("p.bpmn", "to_task")
    assert problem.message.startswith("condition is invalid: ")


def test_condition_in_another_language_rejected() -> None:
    content = bpmn("""
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="to_end" sourceRef="start" targetRef="end">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression" language="groovy"
        >amount &gt; 1</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:endEvent id="end"/>""")

    assert problems_of(SourceFile("p.bpmn", content)) == [
        DefinitionProblem("p.bpmn", "to_end", "condition language 'groovy' is not supported"),
    ]


def test_invalid_script_and_script_format_rejected() -> None:
    broken = one_task(
        '<bpmn:scriptTask id="task" scriptFormat="python">'
        "<bpmn:script>x = = 1</bpmn:script></bpmn:scriptTask>"
    )
    groovy = one_task(
        '<bpmn:scriptTask id="task" scriptFormat="groovy">'
        "<bpmn:script>x = 1</bpmn:script></bpmn:scriptTask>",
        process_id="q",
    )

    problems = problems_of(SourceFile("p.bpmn", broken), SourceFile("q.bpmn", groovy))

    assert [(p.file, p.element_id) for p in problems] == [("p.bpmn", "task"), ("q.bpmn", "task")]
    assert problems[0].message.startswith("script is invalid: ")
    assert problems[1].message == "script format 'groovy' is not supported; use python"


def test_invalid_timer_rejected_with_event_id() -> None:
    timer = """<bpmn:boundaryEvent id="late" attachedToRef="task">
      <bpmn:timerEventDefinition id="late_def"><bpmn:timeDuration>${(}</bpmn:timeDuration>
      </bpmn:timerEventDefinition></bpmn:boundaryEvent>
      <bpmn:sequenceFlow id="to_late_end" sourceRef="late" targetRef="late_end"/>
      <bpmn:endEvent id="late_end"/>"""
    content = one_task('<bpmn:userTask id="task" camunda:assignee="a"/>', extra=timer)

    [problem] = problems_of(SourceFile("p.bpmn", content))

    assert (problem.file, problem.element_id) == ("p.bpmn", "late")
    assert problem.message.startswith("timer timeDuration is invalid: ")


def test_invalid_assignee_expression_rejected() -> None:
    [problem] = problems_of(SourceFile("p.bpmn", user_task('camunda:assignee="${a b}"')))

    assert (problem.file, problem.element_id) == ("p.bpmn", "task")
    assert problem.message.startswith("camunda:assignee is invalid: ")


def test_priority_and_due_date_literals_are_checked() -> None:
    content = user_task('camunda:assignee="a" camunda:priority="high" camunda:dueDate="soon"')

    assert problems_of(SourceFile("p.bpmn", content)) == [
        DefinitionProblem(
            "p.bpmn",
            "task",
            "camunda:dueDate must be an ISO 8601 date, date-time or duration, or an expression",
        ),
        DefinitionProblem(
            "p.bpmn", "task", "camunda:priority must be a whole number or an expression"
        ),
    ]


@pytest.mark.parametrize(
    "form_key",
    [
        "intake",
        "forms/intake",
        "embedded:deployment:intake.form",
        "camunda-forms:deployment:intake.form",
    ],
)
def test_form_key_resolves_to_form_file_by_basename(form_key: str) -> None:
    content = user_task(f'camunda:assignee="a" camunda:formKey="{form_key}"')
    form_file = SourceFile("forms/intake.form.json", (DATA / "intake.form.json").read_bytes())

    bundle = parse_bundle([SourceFile("p.bpmn", content), form_file])

    [info] = bundle.process("p").user_tasks
    assert info.form == bundle.forms["intake"]
    assert [s.name for s in bundle.sources_for("p")] == ["p.bpmn", "forms/intake.form.json"]


def test_form_key_without_form_file_rejected() -> None:
    content = user_task('camunda:assignee="a" camunda:formKey="embedded:deployment:intake.form"')

    assert problems_of(SourceFile("p.bpmn", content)) == [
        DefinitionProblem(
            "p.bpmn",
            "task",
            "form 'intake' not found in the deployment (expected file intake.form.json)",
        ),
    ]


def test_form_key_and_form_data_together_rejected() -> None:
    inner = """<bpmn:extensionElements><camunda:formData>
      <camunda:formField id="a" type="string"/></camunda:formData></bpmn:extensionElements>"""
    content = user_task('camunda:assignee="a" camunda:formKey="intake"', inner)
    form_file = SourceFile("intake.form.json", (DATA / "intake.form.json").read_bytes())

    assert problems_of(SourceFile("p.bpmn", content), form_file) == [
        DefinitionProblem("p.bpmn", "task", "use camunda:formKey or camunda:formData, not both"),
    ]


def test_bad_form_data_field_rejected_with_task_id() -> None:
    inner = """<bpmn:extensionElements><camunda:formData>
      <camunda:formField id="photo" type="file"/></camunda:formData></bpmn:extensionElements>"""

    assert problems_of(SourceFile("p.bpmn", user_task('camunda:assignee="a"', inner))) == [
        DefinitionProblem("p.bpmn", "task", "form field 'photo': unsupported type 'file'"),
    ]


def test_bad_form_file_is_reported_with_the_bundle() -> None:
    bad = SourceFile("intake.form.json", b'{"fields": [{"id": "x", "type": "blob"}]}')

    problems = problems_of(SourceFile("p.bpmn", user_task()), bad)

    assert [(p.file, p.element_id) for p in problems] == [("intake.form.json", "x")]


def _signing_task(properties: dict[str, str], *, loop: bool = True) -> bytes:
    props = "".join(
        f'<camunda:property name="{name}" value="{value}"/>' for name, value in properties.items()
    )
    mi = (
        (
            '<bpmn:multiInstanceLoopCharacteristics camunda:collection="signers" '
            'camunda:elementVariable="signer"/>'
        )
        if loop
        else ""
    )
    inner = (
        f"<bpmn:extensionElements><camunda:properties>{props}</camunda:properties>"
        f"</bpmn:extensionElements>{mi}"
    )
    return user_task('camunda:assignee="${signer}"', inner)


@pytest.mark.parametrize(
    ("properties", "loop", "message"),
    [
        (
            {"sign_mode": "vote"},
            True,
            "sign_mode vote needs exactly one of pass_count or pass_ratio",
        ),
        (
            {"sign_mode": "vote", "pass_count": "2", "pass_ratio": "0.5"},
            True,
            "sign_mode vote needs exactly one of pass_count or pass_ratio",
        ),
        (
            {"sign_mode": "vote", "pass_count": "0"},
            True,
            "pass_count must be a whole number of at least 1",
        ),
        (
            {"sign_mode": "vote", "pass_ratio": "1.5"},
            True,
            "pass_ratio must be a number greater than 0 and at most 1",
        ),
        (
            {"sign_mode": "any", "pass_count": "2"},
            True,
            "pass_count and pass_ratio are only for sign_mode vote",
        ),
        ({"sign_mode": "most"}, True, "sign_mode must be all, any or vote, not 'most'"),
        ({"sign_mode": "all"}, False, "sign_mode all needs a multi-instance task"),
        ({"pass_ratio": "0.5"}, True, "pass_count, pass_ratio and sign_field need sign_mode"),
        ({"sign_mode": "all", "form": "x"}, True, "camunda:property 'form' is reserved"),
    ],
)
def test_sign_mode_properties_are_validated(
    properties: dict[str, str], loop: bool, message: str
) -> None:
    content = _signing_task(properties, loop=loop)

    assert problems_of(SourceFile("p.bpmn", content)) == [
        DefinitionProblem("p.bpmn", "task", message),
    ]


def test_sign_mode_vote_with_pass_count_is_exposed() -> None:
    bundle = parse_bundle(
        [SourceFile("p.bpmn", _signing_task({"sign_mode": "vote", "pass_count": "2"}))]
    )

    [info] = bundle.process("p").user_tasks

    assert info.multi_instance is not None
    assert (info.multi_instance.sign_mode, info.multi_instance.pass_count) == ("vote", 2)


def test_multi_instance_collection_must_be_a_variable() -> None:
    inner = (
        '<bpmn:multiInstanceLoopCharacteristics camunda:collection="${svc.list()}" '
        'camunda:elementVariable="signer"/>'
    )

    assert problems_of(SourceFile("p.bpmn", user_task('camunda:assignee="a"', inner))) == [
        DefinitionProblem(
            "p.bpmn",
            "task",
            "camunda:collection must name a case variable, like approvers or ${approvers}",
        ),
    ]


def test_missing_decision_rejected() -> None:
    content = one_task('<bpmn:businessRuleTask id="task" camunda:decisionRef="fees"/>')

    assert problems_of(SourceFile("p.bpmn", content)) == [
        DefinitionProblem("p.bpmn", "task", "decision 'fees' not found in the deployment"),
    ]


def test_unsupported_camunda_mappings_rejected() -> None:
    inner = """<bpmn:extensionElements><camunda:inputOutput>
      <camunda:inputParameter name="x">1</camunda:inputParameter>
      </camunda:inputOutput></bpmn:extensionElements>"""

    assert problems_of(SourceFile("p.bpmn", user_task('camunda:assignee="a"', inner))) == [
        DefinitionProblem("p.bpmn", "task", "camunda:inputOutput mappings are not supported"),
    ]


def test_spiffworkflow_validation_error_becomes_problem() -> None:
    content = bpmn("""
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="to_task" sourceRef="start" targetRef="task"/>
    <bpmn:manualTask id="task"/>
    <bpmn:sequenceFlow id="to_a" sourceRef="task" targetRef="end_a"/>
    <bpmn:sequenceFlow id="to_b" sourceRef="task" targetRef="end_b"/>
    <bpmn:endEvent id="end_a"/>
    <bpmn:endEvent id="end_b"/>""")

    [problem] = problems_of(SourceFile("p.bpmn", content))

    assert (problem.file, problem.element_id) == ("p.bpmn", "task")
    assert problem.message.startswith("Multiple outgoing flows are not supported")


def test_all_problems_across_files_are_collected() -> None:
    hook = one_task('<bpmn:serviceTask id="task" camunda:class="x.Y"/>', process_id="q")

    problems = problems_of(
        SourceFile("p.bpmn", user_task("")),
        SourceFile("q.bpmn", hook),
        SourceFile("evil.bpmn", XXE),
    )

    assert problems == [
        DefinitionProblem("evil.bpmn", None, DOCTYPE_MESSAGE),
        DefinitionProblem("q.bpmn", "task", f"{HOOKS} (camunda:class)"),
        DefinitionProblem("p.bpmn", "task", NO_PEOPLE),
    ]


def test_split_list_keeps_commas_inside_expressions() -> None:
    assert split_list(" alice, ${pick(a, 'x,y')} ,, bob ") == ["alice", "${pick(a, 'x,y')}", "bob"]
    assert split_list(None) == []


def test_bundle_file_wins_over_deployed_file_of_the_same_name() -> None:
    old_archive = one_task(
        '<bpmn:userTask id="task" camunda:assignee="old"/>', process_id="archive"
    )
    stored = [SourceFile("archive.bpmn", old_archive)]
    caller = one_task('<bpmn:callActivity id="task" calledElement="helper"/>')
    helper_sources = [
        SourceFile(
            "helper.bpmn",
            one_task('<bpmn:callActivity id="task" calledElement="archive"/>', process_id="helper"),
        ),
        *stored,
    ]
    new_archive = SourceFile("archive.bpmn", (DATA / "archive.bpmn").read_bytes())

    bundle = parse_bundle(
        [SourceFile("p.bpmn", caller), new_archive],
        deployed=lambda pid: helper_sources if pid == "helper" else None,
    )

    sources = {s.name: s for s in bundle.sources_for("p")}
    assert list(sources) == ["p.bpmn", "helper.bpmn", "archive.bpmn"]
    assert sources["archive.bpmn"] == bundle.process("archive").sources[0]


def test_user_task_info_reads_specs_restored_from_a_serialized_workflow() -> None:
    from engine.parsing import user_task_info

    built = build_specs(permit_bundle().sources_for("permit_application"), "permit_application")
    serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(CAMUNDA_CONFIG))
    workflow = BpmnWorkflow(built.spec, built.subprocess_specs)
    restored = serializer.deserialize_json(serializer.serialize_json(workflow))

    review = restored.spec.task_specs["review"]

    assert user_task_info("permit_application", review) == next(
        t for t in built.user_tasks if t.element_id == "review"
    )
