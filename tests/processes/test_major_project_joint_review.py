"""Scenario: bpmn/major_project_joint_review.bpmn (重大项目会审, 主办/协办), every path.

The case is started for a joint service item (联合办理: promised 40, statutory 45 working
days, +15 at most by extension, §42). The lead department (主办) is ``dev-investment``
under ``development``; the assisting departments (协办) are sections of other organs, so
an overdue reply escalates to that organ's head. A serialize/restore round trip runs
between steps.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from engine import Engine, FakeClock, FormValidationError, NotPermittedError, ScriptError
from tests.conftest import BPMN
from tests.helpers import act, only_task, restore_roundtrip

KEY = "ZD-2026-001"
ITEM = "ZD-0001"
LEAD = {"lead_department": "dev-investment", "lead_organ": "development"}
ASSISTING = "nr-planning, urban-permits，health-permits"
# Monday 2026-06-01 09:00 Beijing time: 40 + 15 working days stay within 2026
START = datetime(2026, 6, 1, 1, 0, tzinfo=UTC)
# assist_review: 5 working days → close of business (17:30) on Monday 2026-06-08
ASSIST_DUE = datetime(2026, 6, 8, 9, 30, tzinfo=UTC)

ITEM_TOML = f"""
[[items]]
code = "{ITEM}"
name = "重大建设项目联合审批"
department = "dev-investment"
process = "major_project_joint_review"
statutory_days = 45
promised_days = 40
joint = true
sample = true
legal_basis = "《中华人民共和国行政许可法》第二十六条、第四十二条"
steps = [
  {{ step = "intake", name = "受理并确定协办部门", days = 1 }},
  {{ step = "assist_review", name = "协办部门审查", days = 5 }},
  {{ step = "joint_meeting", name = "联席会议", days = 5 }},
  {{ step = "decide", name = "作出许可决定", days = 5 }},
  {{ step = "serve_permit", name = "送达准予许可决定", days = 3 }},
  {{ step = "serve_refusal", name = "送达不予许可决定书", days = 3 }},
]
"""


@pytest.fixture
def review(engine: Engine, clock: FakeClock, tmp_path: Path) -> Engine:
    clock.set(START)
    engine.deploy(
        [BPMN / "major_project_joint_review.bpmn", BPMN / "extension_request.bpmn"],
        actor="admin",
    )
    items = tmp_path / "joint-items.toml"
    items.write_text(ITEM_TOML, encoding="utf-8")
    engine.load_items([items], actor="admin")
    return engine


def step(
    engine: Engine,
    element_id: str,
    person: str,
    data: dict[str, object],
    opinion: str | None = None,
) -> None:
    act(engine, KEY, element_id, person, data, opinion)
    restore_roundtrip(engine, KEY)


def reply(engine: Engine, department: str, person: str, agree: str, opinion: str) -> None:
    """One assisting department's reply to the lead (its own instance of assist_review)."""
    task = next(
        t
        for t in engine.tasks(case=KEY)
        if t.element_id == "assist_review" and t.candidate_groups == (f"dept:{department}",)
    )
    if task.assignee is None:
        engine.claim(task.id, actor=person)
    engine.complete(
        task.id, actor=person, data={"agree": agree, "assist_opinion": opinion}, opinion=opinion
    )
    restore_roundtrip(engine, KEY)


def start(engine: Engine, assisting: str = ASSISTING) -> None:
    engine.start_case(
        "major_project_joint_review",
        KEY,
        actor="tangjun",
        item=ITEM,
        data={**LEAD, "project_name": "示范市新能源产业园一期工程"},
    )
    restore_roundtrip(engine, KEY)
    step(engine, "intake", "tangjun", {"assisting_department_ids": assisting}, "材料齐全，予以受理")


def open_ids(engine: Engine) -> list[str]:
    return sorted(t.element_id for t in engine.tasks(case=KEY))


def completed(engine: Engine) -> list[str]:
    case = engine.get_case(KEY)
    assert case.status == "completed"
    return [h.element_id or "" for h in case.history if h.action == "complete"]


def test_all_assisting_departments_agree_and_the_lead_grants(review: Engine) -> None:
    start(review)
    case = review.get_case(KEY)
    assert case.data["assisting_departments"] == ["nr-planning", "urban-permits", "health-permits"]
    assert case.due_at == review.work_calendar().add_working_days(START, 40)
    assert [h.action for h in case.history].count("accept") == 1
    assist = review.tasks(case=KEY)
    assert sorted(t.candidate_groups[0] for t in assist) == [
        "dept:health-permits",
        "dept:nr-planning",
        "dept:urban-permits",
    ]
    assert {t.due_at for t in assist} == {ASSIST_DUE}
    nr_task = next(t for t in assist if t.candidate_groups == ("dept:nr-planning",))
    with pytest.raises(NotPermittedError):  # each department answers only for itself
        review.claim(nr_task.id, actor="songtao")
    reply(review, "nr-planning", "gaofei", "yes", "符合国土空间规划")
    reply(review, "urban-permits", "songtao", "yes", "同意")
    assert open_ids(review) == ["assist_review"]
    reply(review, "health-permits", "yangfan", "yes", "无卫生许可障碍")
    case = review.get_case(KEY)
    assert case.data["assist_agreed"] is True
    assert case.data["assist_reply_count"] == 3
    assert case.data["assist_dissenters"] == []
    assert [(r.signer, r.approve) for r in review.sign_replies(KEY, "assist_review")] == [
        ("gaofei", True),
        ("songtao", True),
        ("yangfan", True),
    ]
    decide = only_task(review, KEY, "decide")
    assert decide.candidate_groups == ("dept:development",)
    with pytest.raises(NotPermittedError):  # an assisting organ's head is not the lead
        review.claim(decide.id, actor="heyun")
    step(review, "decide", "xuhui", {"decision": "grant", "decision_reasons": "符合条件"})
    step(review, "serve_permit", "luoqing", {"permit_no": "FG-2026-018"})
    assert completed(review) == [
        "intake",
        "assist_review",
        "assist_review",
        "assist_review",
        "decide",
        "serve_permit",
    ]


def test_intake_without_an_assisting_department_comes_back(review: Engine) -> None:
    start(review, assisting=" dev-investment , ，")  # only the lead itself: nobody to consult
    assert open_ids(review) == ["intake"]
    assert review.get_case(KEY).data["assisting_departments"] == []
    step(review, "intake", "luoqing", {"assisting_department_ids": "nr-planning"})
    assert only_task(review, KEY).candidate_groups == ("dept:nr-planning",)


def test_a_conditional_reply_calls_a_joint_meeting_before_the_decision(review: Engine) -> None:
    start(review)
    reply(review, "nr-planning", "gaofei", "yes", "符合国土空间规划")
    reply(review, "urban-permits", "hanxue", "conditional", "需另行办理临时占道手续")
    task = only_task(review, KEY, "assist_review")
    review.claim(task.id, actor="cuilan")
    with pytest.raises(FormValidationError, match="assist_opinion"):
        review.complete(task.id, actor="cuilan", data={"agree": "yes"})
    reply(review, "health-permits", "cuilan", "yes", "同意")
    case = review.get_case(KEY)
    assert case.data["assist_agreed"] is False
    assert case.data["assist_dissenters"] == ["hanxue"]
    assert case.data["sign_results"]["assist_review"]["rejections"] == 1
    meeting = only_task(review, KEY, "joint_meeting")
    assert meeting.candidate_groups == ("dept:development",)
    assert meeting.due_at == review.work_calendar().add_working_days(START, 5)
    step(
        review,
        "joint_meeting",
        "xuhui",
        {
            "meeting_date": "2026-06-03",
            "meeting_participants": "发改委、自然资源和规划局、城市管理局、卫生健康委",
            "meeting_minutes": "同意项目实施，开工前办理临时占道手续",
            "joint_conclusion": "consensus_with_conditions",
        },
    )
    assert review.get_case(KEY).data["joint_conclusion"] == "consensus_with_conditions"
    step(review, "decide", "xuhui", {"decision": "grant", "decision_reasons": "附条件准予"})
    step(review, "serve_permit", "tangjun", {"permit_no": "FG-2026-019", "served_on": "2026-06-04"})
    assert completed(review)[-3:] == ["joint_meeting", "decide", "serve_permit"]


def test_refusal_after_a_dissent_serves_reasons_and_remedies(review: Engine) -> None:
    start(review, assisting="nr-planning,urban-permits")
    reply(review, "nr-planning", "mali", "no", "项目用地不符合国土空间规划")
    reply(review, "urban-permits", "songtao", "yes", "同意")
    step(
        review,
        "joint_meeting",
        "xuhui",
        {"meeting_minutes": "规划部门意见不能协调", "joint_conclusion": "no_consensus"},
    )
    task = only_task(review, KEY, "decide")
    review.claim(task.id, actor="xuhui")
    with pytest.raises(FormValidationError, match="decision_reasons"):
        review.complete(task.id, actor="xuhui", data={"decision": "refuse"})
    review.complete(
        task.id,
        actor="xuhui",
        data={"decision": "refuse", "decision_reasons": "项目用地不符合国土空间规划（§38）"},
    )
    restore_roundtrip(review, KEY)
    refusal = only_task(review, KEY, "serve_refusal")
    assert refusal.candidate_groups == ("dept:dev-investment",)
    step(review, "serve_refusal", "tangjun", {"refusal_notice_no": "FG-BY-2026-003"})
    case = review.get_case(KEY)
    assert case.data["decision_reasons"] == "项目用地不符合国土空间规划（§38）"
    assert case.data["remedy_notice"].startswith("如不服本决定")
    assert completed(review)[-2:] == ["decide", "serve_refusal"]


def test_a_late_assisting_department_gets_cards_and_escalates_to_its_head(
    review: Engine, clock: FakeClock
) -> None:
    start(review, assisting="nr-planning,urban-permits")
    reply(review, "urban-permits", "songtao", "yes", "同意")
    late = only_task(review, KEY, "assist_review")
    review.claim(late.id, actor="gaofei")
    assert late.due_at == ASSIST_DUE

    clock.set(datetime(2026, 6, 8, 4, 0, tzinfo=UTC))  # Monday 12:00, the due day
    review.fire_due_timers()
    restore_roundtrip(review, KEY)
    (yellow,) = review.cards(case=KEY)
    assert (yellow.color, yellow.task_id, yellow.department_id) == (
        "yellow",
        late.id,
        "nr-planning",
    )
    assert [n.kind for n in review.notices("gaofei")] == ["reminder"]

    clock.set(datetime(2026, 6, 9, 1, 0, tzinfo=UTC))  # Tuesday 09:00: overdue
    review.fire_due_timers()
    restore_roundtrip(review, KEY)
    (red,) = review.cards(case=KEY)
    assert (red.color, red.task_id, red.department_id, red.holder) == (
        "red",
        late.id,
        "nr-planning",
        "gaofei",
    )
    (overdue,) = review.fault_records(case=KEY, kind="overdue_step")
    assert overdue.overdue_days == 0.0
    assert (overdue.department_id, overdue.person_id, overdue.post_id, overdue.element_id) == (
        "nr-planning",
        "gaofei",
        "nr-officer-a",
        "assist_review",
    )
    (escalated,) = review.notices("heyun")  # head of 自然资源和规划局, above nr-planning
    assert (escalated.kind, escalated.level, escalated.task_id) == ("escalation", 1, late.id)
    assert escalated.department_id == "nr-planning"
    assert review.notices("fengbo") == []  # the head of the department that replied
    assert review.notices("xuhui") == []
    review.acknowledge_notice(escalated.id, actor="heyun", response="已督促承办人今日答复")

    clock.set(datetime(2026, 6, 11, 1, 0, tzinfo=UTC))  # Thursday 09:00: two working days late
    review.fire_due_timers()
    (supervised,) = review.notices("supervisor01")
    assert supervised.level == 2
    assert [r.detail["level"] for r in review.fault_records(case=KEY, kind="escalation")] == [2, 1]

    reply(review, "nr-planning", "gaofei", "yes", "符合国土空间规划（逾期答复）")
    assert review.cards(case=KEY) == []
    (overdue,) = review.fault_records(case=KEY, kind="overdue_step")
    assert overdue.overdue_days == 2.0  # final lateness, from its overdue_closed record
    assert review.get_case(KEY).data["assist_agreed"] is True
    step(review, "decide", "xuhui", {"decision": "grant", "decision_reasons": "符合条件"})
    step(review, "serve_permit", "tangjun", {"permit_no": "FG-2026-020"})
    assert completed(review)[-2:] == ["decide", "serve_permit"]


def _ask_extension(engine: Engine, days: int) -> None:
    step(
        engine,
        "decide",
        "xuhui",
        {
            "decision": "extend",
            "decision_reasons": "需组织专家论证",
            "extension_days": days,
            "extension_reason": "项目涉及多部门协调，联合办理期限内不能作出决定",
        },
    )
    assert open_ids(engine) == ["decide_extension"]


def _all_agree(engine: Engine) -> None:
    start(engine, assisting="nr-planning,urban-permits")
    reply(engine, "nr-planning", "gaofei", "yes", "同意")
    reply(engine, "urban-permits", "songtao", "yes", "同意")


def test_extension_of_fifteen_days_is_granted_once(review: Engine) -> None:
    _all_agree(review)
    calendar = review.work_calendar()
    assert review.get_case(KEY).due_at == calendar.add_working_days(START, 40)
    _ask_extension(review, 15)
    step(review, "decide_extension", "liqiang", {"extension_approved": "yes"}, "同意延长十五日")
    case = review.get_case(KEY)
    assert case.due_at == calendar.add_working_days(START, 55)  # §42: 45 + 15 at most
    assert case.data["extension_granted"] is True
    assert [h.detail["days"] for h in case.history if h.action == "extension_decision"] == [15]
    assert open_ids(review) == ["decide"]

    # the joint cap is reached: one more day fails and changes nothing
    _ask_extension(review, 1)
    task = only_task(review, KEY, "decide_extension")
    review.claim(task.id, actor="liqiang")
    with pytest.raises(ScriptError, match="§42, joint handling"):
        review.complete(task.id, actor="liqiang", data={"extension_approved": "yes"})
    restore_roundtrip(review, KEY)
    assert review.get_case(KEY).due_at == calendar.add_working_days(START, 55)
    step(review, "decide_extension", "liqiang", {"extension_approved": "no"}, "已达上限")
    assert review.get_case(KEY).data["extension_granted"] is False
    step(review, "decide", "xuhui", {"decision": "grant", "decision_reasons": "符合条件"})
    step(review, "serve_permit", "tangjun", {"permit_no": "FG-2026-021"})
    assert completed(review).count("decide") == 3


def test_extension_of_sixteen_days_fails_cleanly(review: Engine) -> None:
    _all_agree(review)
    before = review.get_case(KEY)
    _ask_extension(review, 16)
    task = only_task(review, KEY, "decide_extension")
    review.claim(task.id, actor="liqiang")
    with pytest.raises(ScriptError, match=r"at most 15 may be added \(§42, joint handling\)"):
        review.complete(task.id, actor="liqiang", data={"extension_approved": "yes"})
    restore_roundtrip(review, KEY)
    after = review.get_case(KEY)
    assert after.status == "running"
    assert after.due_at == before.due_at
    assert "extension_decision" not in [h.action for h in after.history]
    assert only_task(review, KEY).id == task.id  # still open, still held
    assert review.get_task(task.id).assignee == "liqiang"


def test_the_extension_moves_the_case_yellow_card_away(review: Engine, clock: FakeClock) -> None:
    _all_agree(review)
    calendar = review.work_calendar()
    clock.set(calendar.add_working_days(START, 38))  # 2 working days before the promised 40
    review.fire_due_timers()
    restore_roundtrip(review, KEY)
    cards = {(c.element_id, c.color) for c in review.cards(case=KEY)}
    assert cards == {(None, "yellow"), ("decide", "red")}  # case on yellow, the step late
    assert [n.level for n in review.notices("xuhui") if n.kind == "escalation"] == [1]
    _ask_extension(review, 15)
    step(review, "decide_extension", "liqiang", {"extension_approved": "yes"})
    assert review.get_case(KEY).due_at == calendar.add_working_days(START, 55)
    assert review.cards(case=KEY) == []
    cleared = {
        (c.element_id, c.color, c.cleared_reason) for c in review.cards(case=KEY, live_only=False)
    }
    assert cleared == {
        (None, "yellow", "moved"),  # the promised deadline moved by 15 working days
        ("decide", "yellow", "red"),
        ("decide", "red", "done"),
    }
    assert only_task(review, KEY, "decide").due_at == calendar.add_working_days(clock.now(), 5)
