"""The service catalogue (bpmn/items/*.toml, sample data) against the law and the diagrams.

Every shipped item is marked as sample data, promises less than the statutory limit
(限时办结制, S2), has step limits that fit the promise and name user tasks of its own
process, and joint items (联合办理, 45 working days under §42) run the joint review
(会审, S4). Then the whole process library is deployed and a case is started for every
item: it gets the promised deadline and its first task the item's step limit.
"""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime
from typing import Any

from lxml import etree

from engine import Engine, FakeClock
from engine.items import Item, parse_file
from tests.conftest import BPMN, DEMO_ORG

ITEMS_DIR = BPMN / "items"
ITEM_FILES = sorted(ITEMS_DIR.glob("*.toml"))
BPMN_NS = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL"}
JOINT_PROCESS = "major_project_joint_review"
JOINT_STATUTORY_DAYS = 45  # §42 ¶2: joint or centralised handling
# Monday 2026-03-02 09:00 Beijing: the longest promise (30 working days) ends within 2026,
# the last year the working-day calendar knows
START = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


def _catalogue() -> list[Item]:
    return [i for p in ITEM_FILES for i in parse_file(p.read_bytes(), name=p.name)]


def _user_tasks() -> dict[str, set[str]]:
    """Process id → the ids of its user tasks, for every diagram in bpmn/."""
    found: dict[str, set[str]] = {}
    for path in sorted(BPMN.glob("*.bpmn")):
        tree = etree.parse(str(path))
        for process in tree.iterfind("bpmn:process", BPMN_NS):
            tasks = process.iterfind(".//bpmn:userTask", BPMN_NS)
            found[str(process.get("id"))] = {str(t.get("id")) for t in tasks}
    return found


def _parent_organs() -> dict[str, str]:
    """Department id → its parent's id, from the demo organisation."""
    org = tomllib.loads(DEMO_ORG.read_text(encoding="utf-8"))
    return {d["id"]: d["parent"] for d in org["departments"] if "parent" in d}


def _start_data(item: Item) -> dict[str, Any]:
    """What the item's process reads when it starts.

    ``major_project_joint_review`` assigns ``intake`` to ``'dept:' + lead_department`` and
    the meeting and decision to ``'dept:' + lead_organ`` (the organ whose head decides);
    ``general_permit`` assigns by role; it gets only the applicant, as from the window.
    """
    if item.process == JOINT_PROCESS:
        return {"lead_department": item.department, "lead_organ": _parent_organs()[item.department]}
    return {"applicant": "示例申请人"}


CATALOGUE = _catalogue()


def test_every_items_file_says_it_is_sample_data() -> None:
    assert {"general-permits.sample.toml", "catalogue.sample.toml"} <= {p.name for p in ITEM_FILES}
    for path in ITEM_FILES:
        header = path.read_text(encoding="utf-8")[:600]
        assert "SAMPLE DATA (示例数据)" in header, path.name
        assert "not any real organ's" in header.lower(), path.name


def test_catalogue_fits_the_law_and_the_diagrams(engine: Engine) -> None:
    engine.deploy([BPMN], actor="admin")
    codes = engine.load_items([ITEMS_DIR], actor="admin")
    items = engine.service_items()
    assert sorted(codes) == sorted(i.code for i in CATALOGUE) == [i.code for i in items]
    assert len(items) >= 12
    assert len({i.department for i in items}) >= 5
    deployed = {d.process_id for d in engine.definitions()}
    user_tasks = _user_tasks()
    prefixes: dict[str, set[str]] = {}
    for item in items:
        label = f"{item.code} {item.name}"
        assert item.sample, label
        assert 0 < item.promised_days < item.statutory_days, label
        assert sum(s.days for s in item.steps) <= item.promised_days, label
        assert item.process in user_tasks and item.process in deployed, label
        assert item.steps, label
        for step in item.steps:
            assert step.step in user_tasks[item.process], f"{label}: step {step.step}"
        assert item.joint == (item.process == JOINT_PROCESS), label
        if item.joint:
            assert item.statutory_days == JOINT_STATUTORY_DAYS, label
        assert item.legal_basis.startswith("《"), label
        assert item.conditions and item.fees, label
        assert item.materials and any(m.required for m in item.materials), label
        assert all(m.copies >= 1 for m in item.materials), label
        prefixes.setdefault(item.department, set()).add(item.code.split("-")[0])
    # one code prefix per department (JS 住建, SC 市场监管, ZR 自然资源, …), none shared
    assert all(len(p) == 1 for p in prefixes.values()), prefixes
    assert len({next(iter(p)) for p in prefixes.values()}) == len(prefixes)


def test_the_catalogue_has_the_expected_items() -> None:
    by_name = {i.name: i for i in CATALOGUE}
    expected = {
        "建设项目用地预审与选址意见书": "nr-planning",
        "建设工程规划许可证核发": "nr-planning",
        "企业投资项目核准": "dev-investment",
        "政府投资项目可行性研究报告审批": "dev-investment",
        "商品房预售许可": "housing-permits",
        "户外广告设施设置许可": "urban-permits",
        "城市道路挖掘占用许可": "urban-permits",
        "公共场所卫生许可": "health-permits",
        "食品生产许可": "market-food",
        "医疗机构执业登记": "health-permits",
    }
    for name, department in expected.items():
        assert by_name[name].department == department, name
    for name in ("企业投资项目核准", "政府投资项目可行性研究报告审批"):
        assert by_name[name].joint and by_name[name].process == JOINT_PROCESS


def test_a_case_starts_for_every_item(engine: Engine, clock: FakeClock) -> None:
    clock.set(START)
    engine.deploy([BPMN], actor="admin")
    engine.load_items([ITEMS_DIR], actor="admin")
    calendar = engine.work_calendar()
    for item in engine.service_items():
        key = f"CAT-{item.code}"
        case = engine.start_case(
            item.process, key, actor="window01", item=item.code, data=_start_data(item)
        )
        assert case.item_code == item.code
        assert case.due_at == calendar.add_working_days(START, item.promised_days), key
        started = engine.get_case(key)
        assert started.status == "running", (key, started.error)
        assert started.open_tasks, key
        for task in started.open_tasks:
            days = item.step_days(task.element_id)
            assert days is not None, f"{key}: first task {task.element_id} has no step limit"
            assert task.due_at == calendar.add_working_days(START, days), key
            assert task.candidate_groups, key
            assert not any("${" in g for g in task.candidate_groups), key
    assert len(engine.list_cases()) == len(CATALOGUE)
