"""The server-side SVG diagram: every shipped diagram draws, states show, input is hostile."""

from __future__ import annotations

import subprocess
import sys
import unicodedata
from itertools import pairwise
from pathlib import Path

import pytest
from lxml import etree

from webui.diagram import STATE_CLASSES, render_svg

ROOT = Path(__file__).resolve().parents[2]
DIAGRAMS = sorted((ROOT / "bpmn").glob("*.bpmn"))

SVG = "http://www.w3.org/2000/svg"
NS = {
    "s": SVG,
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
}
SHAPES = "//s:g[contains(concat(' ', @class, ' '), ' shape ')][@data-element-id]"
EDGES = "//s:g[contains(concat(' ', @class, ' '), ' edge ')][@data-element-id]"

SMALL = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI"
    xmlns:dc="http://www.omg.org/spec/DD/20100524/DC"
    xmlns:di="http://www.omg.org/spec/DD/20100524/DI" id="defs" targetNamespace="x">
  {doctype_use}
  <bpmn:process id="small" name="小流程" isExecutable="true">
    <bpmn:startEvent id="start" name="开始" />
    <bpmn:userTask id="{task_id}" name="{task_name}" />
    <bpmn:endEvent id="end" name="结束" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="{task_id}" />
    <bpmn:sequenceFlow id="f2" name="{task_name}" sourceRef="{task_id}" targetRef="end" />
  </bpmn:process>
  <bpmndi:BPMNDiagram id="d">
    <bpmndi:BPMNPlane id="p" bpmnElement="small">
      <bpmndi:BPMNShape id="start_di" bpmnElement="start">
        <dc:Bounds x="100" y="100" width="36" height="36" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="task_di" bpmnElement="{task_id}">
        <dc:Bounds x="190" y="78" width="100" height="80" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="end_di" bpmnElement="end">
        <dc:Bounds x="350" y="100" width="36" height="36" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNEdge id="f1_di" bpmnElement="f1">
        <di:waypoint x="136" y="118" /><di:waypoint x="190" y="118" />
      </bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="f2_di" bpmnElement="f2">
        <di:waypoint x="290" y="118" /><di:waypoint x="350" y="118" />
      </bpmndi:BPMNEdge>
    </bpmndi:BPMNPlane>
  </bpmndi:BPMNDiagram>
</bpmn:definitions>
"""


# Every kind of element the renderer draws, laid out as Camunda Modeler would.
FEATURES_MODEL = """
  <bpmn:collaboration id="collab">
    <bpmn:participant id="applicant" name="申请人" />
    <bpmn:participant id="organ" name="审批机关" processRef="features" />
    <bpmn:messageFlow id="m_apply" name="提交申请" sourceRef="applicant" targetRef="start_msg" />
    <bpmn:messageFlow id="m_notify" sourceRef="notify" targetRef="applicant" />
  </bpmn:collaboration>
  <bpmn:process id="features" name="要素示例" isExecutable="true">
    <bpmn:laneSet id="ls">
      <bpmn:lane id="lane_a" name="承办" />
      <bpmn:lane id="lane_b" name="Review board" />
    </bpmn:laneSet>
    <bpmn:startEvent id="start_msg" name="收到申请">
      <bpmn:messageEventDefinition id="md1" />
    </bpmn:startEvent>
    <bpmn:serviceTask id="check" name="自动核验" default="f_default" />
    <bpmn:parallelGateway id="split" />
    <bpmn:userTask id="countersign" name="会签">
      <bpmn:multiInstanceLoopCharacteristics />
    </bpmn:userTask>
    <bpmn:userTask id="in_turn" name="逐级审批">
      <bpmn:multiInstanceLoopCharacteristics isSequential="true" />
    </bpmn:userTask>
    <bpmn:boundaryEvent id="recall" name="撤回" attachedToRef="in_turn">
      <bpmn:signalEventDefinition id="sd1" />
    </bpmn:boundaryEvent>
    <bpmn:boundaryEvent id="remind" attachedToRef="countersign" cancelActivity="false">
      <bpmn:messageEventDefinition id="md2" />
    </bpmn:boundaryEvent>
    <bpmn:parallelGateway id="join" />
    <bpmn:eventBasedGateway id="wait" name="等待" />
    <bpmn:intermediateCatchEvent id="wait_timer" name="超时">
      <bpmn:timerEventDefinition id="td1" />
    </bpmn:intermediateCatchEvent>
    <bpmn:intermediateCatchEvent id="wait_msg" name="补正到达">
      <bpmn:messageEventDefinition id="md3" />
    </bpmn:intermediateCatchEvent>
    <bpmn:intermediateThrowEvent id="escalate" name="上报">
      <bpmn:escalationEventDefinition id="ed1" />
    </bpmn:intermediateThrowEvent>
    <bpmn:endEvent id="end_terminate" name="终止">
      <bpmn:terminateEventDefinition id="tm1" />
    </bpmn:endEvent>
    <bpmn:sendTask id="notify" name="通知申请人" />
    <bpmn:endEvent id="end_error" name="出错">
      <bpmn:errorEventDefinition id="er1" />
    </bpmn:endEvent>
    <bpmn:subProcess id="calc" name="计算收费">
      <bpmn:startEvent id="calc_start" />
      <bpmn:scriptTask id="calc_fee" name="计算" />
      <bpmn:sequenceFlow id="c1" sourceRef="calc_start" targetRef="calc_fee" />
    </bpmn:subProcess>
    <bpmn:inclusiveGateway id="incl" name="哪些?" />
    <bpmn:receiveTask id="receive" name="Receive payment slip" />
    <bpmn:businessRuleTask id="rules" name="费率规则" />
    <bpmn:manualTask id="stamp" name="盖章" />
    <bpmn:callActivity id="call" name="延期审批" calledElement="extension_request">
      <bpmn:standardLoopCharacteristics />
    </bpmn:callActivity>
    <bpmn:complexGateway id="cplx" />
    <bpmn:dataObjectReference id="opinions" name="会签意见" dataObjectRef="opinions_do" />
    <bpmn:dataObject id="opinions_do" isCollection="true" />
    <bpmn:dataStoreReference id="archive" name="档案库" />
    <bpmn:textAnnotation id="note">
      <bpmn:text>会签：各部门并行提出意见，全部完成后汇总。</bpmn:text>
    </bpmn:textAnnotation>
    <bpmn:association id="a1" sourceRef="countersign" targetRef="note" />
    <bpmn:sequenceFlow id="f1" sourceRef="start_msg" targetRef="check" />
    <bpmn:sequenceFlow id="f2" name="通过" sourceRef="check" targetRef="split">
      <bpmn:conditionExpression>ok</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f_default" sourceRef="check" targetRef="calc" />
    <bpmn:sequenceFlow id="f3" sourceRef="split" targetRef="countersign" />
    <bpmn:sequenceFlow id="f4" sourceRef="split" targetRef="in_turn" />
    <bpmn:sequenceFlow id="f5" sourceRef="countersign" targetRef="join" />
    <bpmn:sequenceFlow id="f6" sourceRef="in_turn" targetRef="join" />
    <bpmn:sequenceFlow id="f7" sourceRef="join" targetRef="wait" />
    <bpmn:sequenceFlow id="f8" sourceRef="wait" targetRef="wait_timer" />
    <bpmn:sequenceFlow id="f9" sourceRef="wait" targetRef="wait_msg" />
    <bpmn:sequenceFlow id="f10" sourceRef="wait_timer" targetRef="escalate" />
    <bpmn:sequenceFlow id="f11" sourceRef="escalate" targetRef="end_terminate" />
    <bpmn:sequenceFlow id="f12" sourceRef="wait_msg" targetRef="notify" />
    <bpmn:sequenceFlow id="f13" sourceRef="notify" targetRef="end_error" />
    <bpmn:sequenceFlow id="f14" sourceRef="recall" targetRef="end_error" />
    <bpmn:sequenceFlow id="f15" sourceRef="calc" targetRef="incl" />
    <bpmn:sequenceFlow id="f16" sourceRef="incl" targetRef="receive" />
    <bpmn:sequenceFlow id="f17" sourceRef="receive" targetRef="rules" />
    <bpmn:sequenceFlow id="f18" sourceRef="rules" targetRef="stamp" />
    <bpmn:sequenceFlow id="f19" sourceRef="stamp" targetRef="call" />
    <bpmn:sequenceFlow id="f20" sourceRef="call" targetRef="cplx" />
    <bpmn:userTask id="orphan_task" name="无连线" />
  </bpmn:process>
"""
FEATURES_SHAPES = [
    ("applicant", (100, 20, 1300, 80), 'isHorizontal="true"'),
    ("organ", (100, 140, 1300, 560), 'isHorizontal="true"'),
    ("lane_a", (130, 140, 1270, 280), 'isHorizontal="true"'),
    ("lane_b", (130, 420, 1270, 280), 'isHorizontal="true"'),
    ("start_msg", (182, 252, 36, 36), ""),
    ("check", (260, 230, 100, 80), ""),
    ("split", (415, 245, 50, 50), ""),
    ("countersign", (510, 170, 100, 80), ""),
    ("in_turn", (510, 300, 100, 80), ""),
    ("recall", (572, 362, 36, 36), "label 612 392 24 14"),
    ("remind", (592, 152, 36, 36), ""),
    ("join", (665, 245, 50, 50), ""),
    ("wait", (755, 245, 50, 50), ""),
    ("wait_timer", (862, 192, 36, 36), ""),
    ("wait_msg", (862, 312, 36, 36), ""),
    ("escalate", (962, 192, 36, 36), ""),
    ("end_terminate", (1062, 192, 36, 36), ""),
    ("notify", (950, 290, 100, 80), ""),
    ("end_error", (1112, 312, 36, 36), ""),
    ("calc", (200, 460, 260, 160), 'isExpanded="true"'),
    ("calc_start", (222, 532, 36, 36), ""),
    ("calc_fee", (310, 510, 100, 80), ""),
    ("incl", (505, 515, 50, 50), ""),
    ("receive", (600, 500, 100, 80), ""),
    ("rules", (740, 500, 100, 80), ""),
    ("stamp", (880, 500, 100, 80), ""),
    ("call", (1020, 500, 100, 80), ""),
    ("cplx", (1165, 515, 50, 50), ""),
    ("opinions", (1262, 440, 36, 50), ""),
    ("archive", (1255, 600, 50, 50), ""),
    ("note", (680, 150, 150, 60), ""),
    ("orphan_task", (1200, 230, 100, 80), ""),
]
FEATURES_EDGES = [
    ("m_apply", [(200, 100), (200, 252)]),
    ("m_notify", [(1000, 290), (1000, 100)]),
    ("a1", [(610, 190), (680, 180)]),
    ("f1", [(218, 270), (260, 270)]),
    ("f2", [(360, 270), (415, 270)]),
    ("f_default", [(310, 310), (310, 460)]),
    ("f3", [(440, 245), (440, 210), (510, 210)]),
    ("f4", [(440, 295), (440, 340), (510, 340)]),
    ("f5", [(610, 210), (690, 210), (690, 245)]),
    ("f6", [(610, 340), (690, 340), (690, 295)]),
    ("f7", [(715, 270), (755, 270)]),
    ("f8", [(780, 245), (780, 210), (862, 210)]),
    ("f9", [(780, 295), (780, 330), (862, 330)]),
    ("f10", [(898, 210), (962, 210)]),
    ("f11", [(998, 210), (1062, 210)]),
    ("f12", [(898, 330), (950, 330)]),
    ("f13", [(1050, 330), (1112, 330)]),
    ("f14", [(590, 398), (590, 410), (1130, 410), (1130, 348)]),
    ("c1", [(258, 550), (310, 550)]),
    ("f15", [(460, 540), (505, 540)]),
    ("f16", [(555, 540), (600, 540)]),
    ("f17", [(700, 540), (740, 540)]),
    ("f18", [(840, 540), (880, 540)]),
    ("f19", [(980, 540), (1020, 540)]),
    ("f20", [(1120, 540), (1165, 540)]),
]


def features() -> str:
    """The FEATURES_ diagram as BPMN XML with its diagram interchange."""
    shapes = []
    for element_id, (x, y, w, h), extra in FEATURES_SHAPES:
        label = ""
        if extra.startswith("label "):
            lx, ly, lw, lh = extra.split()[1:]
            label = f'<bpmndi:BPMNLabel><dc:Bounds x="{lx}" y="{ly}" width="{lw}" height="{lh}"/>'
            label += "</bpmndi:BPMNLabel>"
            extra = ""
        shapes.append(
            f'<bpmndi:BPMNShape id="{element_id}_di" bpmnElement="{element_id}" {extra}>'
            f'<dc:Bounds x="{x}" y="{y}" width="{w}" height="{h}"/>{label}</bpmndi:BPMNShape>'
        )
    edges = [
        f'<bpmndi:BPMNEdge id="{element_id}_di" bpmnElement="{element_id}">'
        + "".join(f'<di:waypoint x="{x}" y="{y}"/>' for x, y in points)
        + "</bpmndi:BPMNEdge>"
        for element_id, points in FEATURES_EDGES
    ]
    head, _, _ = SMALL.partition("  {doctype_use}")
    return (
        head
        + FEATURES_MODEL
        + '<bpmndi:BPMNDiagram id="d"><bpmndi:BPMNPlane id="plane" bpmnElement="collab">'
        + "\n".join(shapes + edges)
        + "</bpmndi:BPMNPlane></bpmndi:BPMNDiagram></bpmn:definitions>\n"
    )


def small(
    task_name: str = "受理", task_id: str = "accept", doctype: str = "", doctype_use: str = ""
) -> str:
    """A three-element diagram; task_name and task_id go in as XML attribute text."""
    text = SMALL.format(task_name=task_name, task_id=task_id, doctype_use=doctype_use)
    if doctype:
        head, _, rest = text.partition("\n")
        text = f"{head}\n{doctype}\n{rest}"
    return text


def parse_svg(svg: str) -> etree._Element:
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    root = etree.fromstring(svg.encode("utf-8"), parser)
    assert root.tag == f"{{{SVG}}}svg"
    return root


def group(svg: etree._Element, element_id: str) -> etree._Element:
    found = [
        g
        for g in svg.iterfind(f".//{{{SVG}}}g[@data-element-id]")
        if g.get("data-element-id") == element_id
    ]
    assert len(found) == 1, element_id
    return found[0]


def visible_text(svg: etree._Element, element_id: str) -> str:
    """The text drawn for an element: inside its shape, or in its external label."""
    parts = ["".join(group(svg, element_id).itertext(f"{{{SVG}}}tspan"))]
    for label in svg.iterfind(f".//{{{SVG}}}g[@data-label-for]"):
        if label.get("data-label-for") == element_id:
            parts.append("".join(label.itertext(f"{{{SVG}}}tspan")))
    return "".join(parts)


def squeeze(text: str) -> str:
    return "".join(text.split())


def first_plane(bpmn: etree._Element) -> etree._Element:
    for plane in bpmn.iterfind(".//bpmndi:BPMNPlane", NS):
        if plane.find("bpmndi:BPMNShape", NS) is not None:
            return plane
    raise AssertionError("no plane with shapes")


def test_library_is_not_empty() -> None:
    assert len(DIAGRAMS) >= 1


@pytest.mark.parametrize("path", DIAGRAMS, ids=[p.stem for p in DIAGRAMS])
def test_render_draws_every_shape_flow_and_name_of_shipped_diagram(path: Path) -> None:
    data = path.read_bytes()
    svg = parse_svg(render_svg(data))
    bpmn = etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True))
    plane = first_plane(bpmn)
    shape_ids = [s.get("bpmnElement") for s in plane.iterfind("bpmndi:BPMNShape", NS)]
    edge_ids = [e.get("bpmnElement") for e in plane.iterfind("bpmndi:BPMNEdge", NS)]

    # one shape per DI shape, one edge per DI edge, in that order of ids
    assert sorted(g.get("data-element-id") for g in svg.xpath(SHAPES, namespaces=NS)) == sorted(
        shape_ids
    )
    assert sorted(g.get("data-element-id") for g in svg.xpath(EDGES, namespaces=NS)) == sorted(
        edge_ids
    )
    assert float(svg.get("width")) > 0
    assert len(svg.get("viewBox").split()) == 4

    # an arrowhead marker on every sequence flow, defined in the document
    marker_ids = {m.get("id") for m in svg.iterfind(f".//{{{SVG}}}marker")}
    flows = {f.get("id") for f in bpmn.iterfind(".//bpmn:sequenceFlow", NS)}
    drawn_flows = [i for i in edge_ids if i in flows]
    assert drawn_flows
    for flow_id in drawn_flows:
        (line,) = group(svg, flow_id).xpath("s:path[@class='flow']", namespaces=NS)
        ref = line.get("marker-end")
        assert ref is not None, flow_id
        assert ref.startswith("url(#xn-arrow") and ref[5:-1] in marker_ids, ref

    # every named element shows its Chinese name: as text and as its tooltip
    by_id = {el.get("id"): el for el in bpmn.iter() if el.get("id")}
    checked = 0
    for element_id in shape_ids + edge_ids:
        name = by_id[element_id].get("name")
        if not name:
            continue
        g = group(svg, element_id)
        assert g.findtext(f"{{{SVG}}}title") == name
        shown = squeeze(visible_text(svg, element_id))
        if shown.endswith("…"):
            assert squeeze(name).startswith(shown[:-1]), (element_id, shown)
        else:
            assert shown == squeeze(name), (element_id, shown)
        if any(unicodedata.east_asian_width(ch) == "W" for ch in name):
            checked += 1
    assert checked > 0


def test_render_draws_each_kind_of_element_with_its_marker() -> None:
    svg = parse_svg(render_svg(features(), states={"check": "completed", "split": "completed"}))
    bpmn = etree.fromstring(features().encode(), etree.XMLParser(resolve_entities=False))
    assert len(svg.xpath(SHAPES, namespaces=NS)) == len(bpmn.findall(".//bpmndi:BPMNShape", NS))

    def has(element_id: str, xpath: str) -> bool:
        return bool(group(svg, element_id).xpath(xpath, namespaces=NS))

    def classes(element_id: str) -> set[str]:
        return set(group(svg, element_id).get("class").split())

    assert {"participant", "horizontal"} <= classes("organ")
    assert "申请人" in visible_text(svg, "applicant")  # a black-box pool: name in the middle
    assert "Reviewboard" in squeeze(visible_text(svg, "lane_b"))
    assert has("lane_b", "s:text[contains(@transform, 'rotate(-90')]")  # written vertically
    assert {"user-task", "multi-instance"} <= classes("countersign")
    assert {"user-task", "multi-instance-sequential"} <= classes("in_turn")
    assert {"boundary-event", "non-interrupting", "message-event-definition"} <= classes("remind")
    assert {"boundary-event", "signal-event-definition"} <= classes("recall")
    assert "non-interrupting" not in classes("recall")
    assert {"sub-process", "expanded"} <= classes("calc")
    assert "call-activity" in classes("call")
    assert has("call", "s:rect[@class='body'][@stroke-width='5']")  # the thick border
    assert has("end_terminate", "s:g/s:circle[@class='ink']")  # terminate: filled
    assert has("end_error", "s:g/s:path[@class='ink']")  # thrown error: filled
    assert has("wait_msg", "s:g/s:rect[@class='paper']")  # caught message: outlined
    assert has("wait_timer", "s:g/s:circle[@class='paper']")  # the clock face
    assert has("split", "s:g/s:path[@class='ink']")  # parallel +
    assert has("incl", "s:g/s:circle[@class='line']")  # inclusive O
    assert "event-based-gateway" in classes("wait")
    assert "data-store-reference" in classes("archive")
    assert "data-object-reference" in classes("opinions")
    assert "会签意见" in visible_text(svg, "opinions")
    assert squeeze(visible_text(svg, "note")).startswith("会签：各部门并行")
    # flows: message flows dashed with circle and open arrow, conditional and default marks
    (line,) = group(svg, "m_apply").xpath("s:path[@class='flow']", namespaces=NS)
    assert line.get("marker-start") == "url(#xn-message-start)"
    assert line.get("marker-end") == "url(#xn-open-arrow)"
    assert "message-flow" in classes("m_apply")
    assert has("f2", "s:polygon[@class='paper']")  # conditional diamond at the task
    assert not has("f3", "s:polygon")  # not from a gateway
    assert has("f_default", "s:path[@class='line']")  # the default slash
    assert "association" in classes("a1")
    assert "state-completed" in classes("f2")  # check and split both done
    assert "提交申请" in visible_text(svg, "m_apply")


def test_render_applies_state_classes_and_completes_flows_between_done_elements() -> None:
    data = (ROOT / "bpmn" / "general_permit.bpmn").read_bytes()
    states = {
        "accept": "completed",
        "accept_decision": "completed",
        "handle": "completed",
        "review": "active",
        "urge_handling": "overdue",
        "approve": "not_reached",
        "start_application": "bogus",  # unknown states are ignored
    }
    svg = parse_svg(render_svg(data, states=states))

    def classes(element_id: str) -> set[str]:
        return set(group(svg, element_id).get("class", "").split())

    assert "state-completed" in classes("accept")
    assert "state-active" in classes("review")
    assert "state-overdue" in classes("urge_handling")
    assert "state-not_reached" in classes("approve")
    assert not classes("start_application") & set(STATE_CLASSES.values())
    assert not classes("issue_certificate") & set(STATE_CLASSES.values())
    # accept → accept_decision → handle: both ends done; handle → handle_next: not
    assert "state-completed" in classes("flow_accept_to_decision")
    assert "state-completed" in classes("flow_accepted")
    assert not classes("flow_handle_to_next") & set(STATE_CLASSES.values())
    (line,) = group(svg, "flow_accepted").xpath("s:path[@class='flow']", namespaces=NS)
    assert line.get("marker-end") == "url(#xn-arrow-completed)"
    # the styles are embedded and distinct
    style = svg.findtext(f"{{{SVG}}}style")
    for cls in STATE_CLASSES.values():
        assert f".{cls}" in style
    assert '"Noto Sans CJK SC"' in style


def test_render_without_states_applies_no_state_class() -> None:
    svg = render_svg(small())
    for cls in STATE_CLASSES.values():
        assert cls not in svg.split("<style>")[0] + svg.split("</style>")[1]


def test_render_wraps_chinese_by_characters_and_latin_by_words() -> None:
    chinese = "甲乙丙丁戊己庚辛壬癸子丑寅卯辰巳午未申酉"  # 20 characters
    svg = parse_svg(render_svg(small(task_name=chinese)))
    lines = group(svg, "accept").xpath(".//s:tspan/text()", namespaces=NS)
    assert "".join(lines) == chinese
    assert len(lines) == 3
    assert all(len(line) <= 8 for line in lines)

    latin = "Review the application documents"
    svg = parse_svg(render_svg(small(task_name=latin)))
    lines = group(svg, "accept").xpath(".//s:tspan/text()", namespaces=NS)
    assert len(lines) >= 2
    assert " ".join(lines) == latin  # broken between words only


def test_render_escapes_hostile_names() -> None:
    hostile = "<script>alert(1)</script> \"&'"
    attribute = hostile.replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;")
    text = render_svg(small(task_name=attribute))
    svg = parse_svg(text)

    assert "<script" not in text
    assert not svg.xpath("//s:script | //s:foreignObject", namespaces=NS)
    assert not svg.xpath("//@*[local-name()='href']")
    assert group(svg, "accept").findtext(f"{{{SVG}}}title") == hostile
    assert squeeze(visible_text(svg, "accept")) == squeeze(hostile)
    assert squeeze(visible_text(svg, "f2")) == squeeze(hostile)


def test_render_escapes_hostile_ids() -> None:
    hostile_id = 'x" onload="alert(1)"><script>alert(2)</script><g id="'
    attribute = hostile_id.replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;")
    text = render_svg(small(task_id=attribute), states={hostile_id: "active"})
    svg = parse_svg(text)

    assert "<script" not in text
    assert not svg.xpath("//@onload")
    shape = group(svg, hostile_id)
    assert "state-active" in shape.get("class").split()
    assert shape.findtext(f"{{{SVG}}}title") == "受理"


def test_render_refuses_xml_without_diagram_interchange() -> None:
    no_di = small().split("<bpmndi:BPMNDiagram")[0] + "</bpmn:definitions>"
    with pytest.raises(ValueError, match="BPMNDI"):
        render_svg(no_di)
    with pytest.raises(ValueError, match="BPMNDI"):
        render_svg("<notes>not BPMN</notes>")
    with pytest.raises(ValueError, match="well-formed"):
        render_svg("<bpmn:definitions")


def test_render_refuses_entity_declarations() -> None:
    external = '<!DOCTYPE bpmn:definitions [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    with pytest.raises(ValueError, match="entit"):
        render_svg(
            small(doctype=external, doctype_use="<bpmn:documentation>&xxe;</bpmn:documentation>")
        )
    internal = '<!DOCTYPE bpmn:definitions [<!ENTITY boom "EXPANDED">]>'
    with pytest.raises(ValueError, match="entit"):
        render_svg(small(task_name="&boom;", doctype=internal))
    levels = "abcdefgh"
    laughs = (
        '<!DOCTYPE bpmn:definitions [<!ENTITY a "aaaaaaaaaa">'
        + "".join(f'<!ENTITY {c} "{("&" + p + ";") * 10}">' for p, c in pairwise(levels))
        + "]>"
    )
    with pytest.raises(ValueError, match="entit"):
        render_svg(small(task_name="&h;", doctype=laughs))


def test_render_accepts_str_with_encoding_declaration_and_bytes() -> None:
    text = small()
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    assert render_svg(text) == render_svg(text.encode("utf-8"))


def test_render_picks_diagram_by_process_id() -> None:
    svg = parse_svg(render_svg(small(), process_id="small"))
    assert svg.findtext(f"{{{SVG}}}title") == "小流程"
    with pytest.raises(ValueError, match="no diagram of process 'other'"):
        render_svg(small(), process_id="other")
    assert parse_svg(render_svg(small(), title="案件 A&B")).findtext(f"{{{SVG}}}title") == (
        "案件 A&B"
    )


def test_render_svg_cli_writes_the_file(tmp_path: Path) -> None:
    out = tmp_path / "general_permit.svg"
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bpmn" / "tools" / "render_svg.py"),
            str(ROOT / "bpmn" / "general_permit.bpmn"),
            "-o",
            str(out),
            "--state",
            "accept=completed",
            "--state",
            "review=active",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    svg = parse_svg(out.read_text(encoding="utf-8"))
    assert "state-active" in group(svg, "review").get("class").split()

    bad = subprocess.run(
        [sys.executable, str(ROOT / "bpmn" / "tools" / "render_svg.py"), "x.bpmn", "--state", "a"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode == 2
    assert "ID=STATE" in bad.stderr


@pytest.mark.parametrize("value", ["nan", "inf", "1e308", "wide"])
def test_render_refuses_unusable_coordinates(value: str) -> None:
    with pytest.raises(ValueError, match="invalid width"):
        render_svg(small().replace('width="100"', f'width="{value}"', 1))
