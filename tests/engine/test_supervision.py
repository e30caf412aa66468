"""Electronic supervision: cards, escalation, deemed consent/acceptance, records, reviews."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from engine import Engine, InvalidInputError, NotPermittedError, SourceFile, signals
from engine.clock import FakeClock
from tests.conftest import GENERAL_PERMIT, TEST_ITEMS
from tests.helpers import act, only_task


def bj(y: int, m: int, d: int, h: int, minute: int = 0) -> datetime:
    return datetime(y, m, d, h, minute, tzinfo=UTC) - timedelta(hours=8)


@pytest.fixture
def received(engine: Engine) -> Iterator[list[tuple[str, dict[str, Any]]]]:
    """Every signal sent while the test runs."""
    seen: list[tuple[str, dict[str, Any]]] = []

    def receiver(sender: str, **event: Any) -> None:
        seen.append((sender, event))

    for name in signals.SIGNAL_DOCS:
        signals.signal(name).connect(receiver)
    yield seen
    for name in signals.SIGNAL_DOCS:
        signals.signal(name).disconnect(receiver)


@pytest.fixture
def permit(engine: Engine, clock: FakeClock) -> Engine:
    """Item T-0101 received Monday 2025-11-03 09:00; 受理 is due Tuesday 17:30."""
    clock.set(bj(2025, 11, 3, 9))
    engine.deploy(GENERAL_PERMIT)
    engine.load_items([TEST_ITEMS])
    engine.start_case("general_permit", "GP-1", item="T-0101")
    return engine


def _cards(engine: Engine, **kwargs: Any) -> list[tuple[str, str | None, str]]:
    return [(c.color, c.element_id, c.business_key) for c in engine.cards(**kwargs)]


def test_a_step_gets_a_yellow_then_a_red_card_while_the_case_is_on_time(
    permit: Engine, clock: FakeClock, received: list[tuple[str, dict[str, Any]]]
) -> None:
    clock.set(bj(2025, 11, 3, 17, 29))
    permit.fire_due_timers()
    assert _cards(permit) == []
    clock.set(bj(2025, 11, 3, 17, 31))  # one working day left
    permit.fire_due_timers()
    assert _cards(permit) == [("yellow", "accept", "GP-1")]
    reminder = permit.notices("window01")
    assert [(n.kind, n.recipient_group) for n in reminder] == [("reminder", "role:window-officer")]
    clock.set(bj(2025, 11, 4, 17, 31))  # overdue
    permit.fire_due_timers()
    assert _cards(permit) == [("red", "accept", "GP-1")]  # the red card replaced the yellow
    history = permit.cards(live_only=False)
    assert {(c.color, c.cleared_reason) for c in history} == {("yellow", "red"), ("red", None)}
    case = permit.get_case("GP-1")
    assert case.due_at == bj(2025, 11, 12, 17, 30)  # the case itself is on time
    records = permit.fault_records(case="GP-1")
    assert [(r.kind, r.element_id, r.department_id) for r in records] == [
        ("escalation", "accept", "housing-permits"),
        ("overdue_step", "accept", "housing-permits"),
    ]
    names = [name for name, _event in received]
    assert names.count("task_warning") == 1
    assert names.count("task_overdue") == 1
    assert names.count("case_escalated") == 1
    overdue = next(event for name, event in received if name == "task_overdue")
    assert overdue["business_key"] == "GP-1" and overdue["element_id"] == "accept"


def test_overdue_step_escalates_to_the_department_head_then_the_supervision_office(
    permit: Engine, clock: FakeClock
) -> None:
    clock.set(bj(2025, 11, 4, 17, 31))
    permit.fire_due_timers()
    head = permit.notices("zhaomin")  # head of 住建局, above 建筑管理科
    assert [(n.kind, n.level) for n in head] == [("escalation", 1)]
    assert permit.notices("zhengqiang") == []  # another department's head
    assert [n.kind for n in permit.notices("supervisor01")] == []
    clock.set(bj(2025, 11, 6, 17, 29))  # level 2 comes two working days after the due moment
    permit.fire_due_timers()
    assert [n.level for n in permit.notices("supervisor01")] == []
    clock.set(bj(2025, 11, 6, 17, 31))
    permit.fire_due_timers()
    assert [(n.kind, n.level) for n in permit.notices("supervisor01")] == [("escalation", 2)]
    with pytest.raises(InvalidInputError, match="needs a response"):
        permit.acknowledge_notice(head[0].id, actor="zhaomin")
    with pytest.raises(NotPermittedError, match="not addressed"):
        permit.acknowledge_notice(head[0].id, actor="zhengqiang", response="已督促")
    done = permit.acknowledge_notice(head[0].id, actor="zhaomin", response="已督促窗口办理")
    assert done.acked_by == "zhaomin"
    assert permit.notices("zhaomin") == []
    kinds = [r.kind for r in permit.fault_records(case="GP-1")]
    assert kinds.count("escalation") == 2


def test_completing_an_overdue_step_clears_its_cards_and_records_the_final_lateness(
    permit: Engine, clock: FakeClock
) -> None:
    clock.set(bj(2025, 11, 4, 17, 31))
    permit.fire_due_timers()
    clock.set(bj(2025, 11, 5, 17, 30))  # one working day late
    act(permit, "GP-1", "accept", "window01", {"accepted": "yes"})
    assert [c for c in permit.cards() if c.element_id == "accept"] == []
    overdue = permit.fault_records(kind="overdue_step")[0]
    assert overdue.person_id is None  # nobody had claimed it at the due moment
    assert overdue.overdue_days == pytest.approx(1.0)
    clock.set(bj(2025, 11, 20, 9))  # the level-2 escalation does not come any more
    permit.fire_due_timers()
    assert permit.notices("supervisor01") == []


def test_the_holder_at_the_due_moment_is_on_the_record_with_post(
    permit: Engine, clock: FakeClock
) -> None:
    clock.set(bj(2025, 11, 4, 10))
    act(permit, "GP-1", "accept", "window01", {"accepted": "yes"})
    handle = only_task(permit, "GP-1", "handle")  # 3 working days: due Fri 11/7 17:30
    permit.claim(handle.id, actor="zhangwei")
    clock.set(bj(2025, 11, 7, 17, 31))
    permit.fire_due_timers()
    record = permit.fault_records(kind="overdue_step")[0]
    assert (record.person_id, record.post_id, record.element_id) == (
        "zhangwei",
        "housing-officer-a",
        "handle",
    )
    # 承办 has a reminder timer on it: the diagram models its overdue path, no engine escalation
    assert [r.kind for r in permit.fault_records(case="GP-1")] == ["overdue_step"]


def test_case_gets_its_own_cards_against_the_promised_deadline(
    permit: Engine, clock: FakeClock, received: list[tuple[str, dict[str, Any]]]
) -> None:
    clock.set(bj(2025, 11, 10, 17, 31))  # two working days before Wed 11/12 17:30
    permit.fire_due_timers()
    assert ("yellow", None, "GP-1") in _cards(permit)
    clock.set(bj(2025, 11, 12, 17, 31))
    permit.fire_due_timers()
    assert ("red", None, "GP-1") in _cards(permit)
    assert "case_overdue" in [name for name, _ in received]
    assert "overdue_case" in [r.kind for r in permit.fault_records(case="GP-1")]
    permit.terminate_case("GP-1", actor="admin", reason="测试")
    assert _cards(permit) == []


def test_cards_of_some_cases_only(permit: Engine, clock: FakeClock) -> None:
    permit.start_case("general_permit", "GP-2", item="T-0101")
    clock.set(bj(2025, 11, 3, 17, 31))  # both cases' 受理 has one working day left
    permit.fire_due_timers()
    first, second = (permit.get_case(key).id for key in ("GP-1", "GP-2"))
    assert {key for _, _, key in _cards(permit)} == {"GP-1", "GP-2"}
    assert _cards(permit, case_ids=[second]) == [("yellow", "accept", "GP-2")]
    assert {key for _, _, key in _cards(permit, case_ids={first, second})} == {"GP-1", "GP-2"}
    assert _cards(permit, case_ids=[]) == []  # an empty inbox asks for no cards


def test_no_card_turns_red_while_the_clock_is_stopped_and_an_extension_clears_it(
    permit: Engine, clock: FakeClock
) -> None:
    clock.set(bj(2025, 11, 4, 10))
    act(permit, "GP-1", "accept", "window01", {"accepted": "yes"})
    handle = only_task(permit, "GP-1", "handle")  # due Fri 11/7 17:30
    permit.claim(handle.id, actor="zhangwei")
    clock.set(bj(2025, 11, 6, 17, 31))
    permit.fire_due_timers()
    assert ("yellow", "handle", "GP-1") in _cards(permit)
    permit.stop_clock("GP-1", kind="expert_review", reason="专家评审", actor="zhangwei")
    clock.set(bj(2025, 11, 13, 17, 31))  # a week of expert review: no card turns red
    permit.fire_due_timers()
    assert ("red", "handle", "GP-1") not in _cards(permit)
    permit.resume_clock("GP-1", actor="zhangwei")
    # the same working day is left as when the clock stopped: the yellow card stays
    assert ("yellow", "handle", "GP-1") in _cards(permit)
    ext = permit.request_extension("GP-1", days=3, reason="需补充现场核查", actor="zhangwei")
    permit.decide_extension(ext["extension_id"], approve=True, actor="zhaomin")
    assert ("yellow", "handle", "GP-1") not in _cards(permit)  # four working days left now
    moved = [c for c in permit.cards(live_only=False) if c.cleared_reason == "moved"]
    assert [(c.color, c.element_id) for c in moved] == [("yellow", "handle")]
    clock.set(bj(2025, 11, 18, 17, 31))  # the new yellow moment (due Wed 11/19 17:30)
    permit.fire_due_timers()
    assert ("yellow", "handle", "GP-1") in _cards(permit)


def test_deemed_acceptance_when_no_notice_is_issued_within_five_working_days(
    permit: Engine, clock: FakeClock, received: list[tuple[str, dict[str, Any]]]
) -> None:
    clock.set(bj(2025, 11, 10, 17, 29))
    permit.fire_due_timers()
    assert permit.get_case("GP-1").data.get("deemed_acceptance") is None
    assert "deemed_acceptance" not in [r.kind for r in permit.fault_records()]
    clock.set(bj(2025, 11, 10, 17, 31))  # Mon 11/3 09:00 + 5 working days
    permit.fire_due_timers()
    record = next(r for r in permit.fault_records() if r.kind == "deemed_acceptance")
    assert record.element_id is None and record.department_id == "housing-permits"
    assert "deemed_acceptance" in [name for name, _ in received]
    assert "deemed_acceptance" in [h.action for h in permit.history("GP-1")]
    with permit.runtime.call(readonly=True) as call:
        from engine.store.records import load_case

        case = load_case(call.conn, "GP-1")
    assert case is not None and case.deemed_accepted
    assert case.accepted_at == bj(2025, 11, 3, 9)  # the receipt date (§32)


def test_no_deemed_acceptance_after_a_timely_notice_or_acceptance(
    permit: Engine, engine: Engine, clock: FakeClock
) -> None:
    accept = only_task(permit, "GP-1", "accept")
    permit.claim(accept.id, actor="window01")
    permit.stop_clock("GP-1", kind="supplement", reason="缺少资金证明", actor="window01")
    permit.resume_clock("GP-1", actor="window01")
    permit.start_case("general_permit", "GP-2", item="T-0101")
    act(permit, "GP-2", "accept", "window01", {"accepted": "yes"})
    clock.set(bj(2025, 11, 20, 9))
    permit.fire_due_timers()
    assert "deemed_acceptance" not in [r.kind for r in permit.fault_records()]


CONSENT = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="x">
  <bpmn:process id="request" isExecutable="true">
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="answer" />
    <bpmn:userTask id="answer" name="上级批复" camunda:assignee="zhaomin"
        camunda:dueDate="${working_days(3)}">
      <bpmn:extensionElements>
        <camunda:properties>
          <camunda:property name="on_overdue" value="deemed_consent" />
        </camunda:properties>
      </bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="f2" sourceRef="answer" targetRef="carry_out" />
    <bpmn:userTask id="carry_out" name="执行" camunda:assignee="zhangwei" />
    <bpmn:sequenceFlow id="f3" sourceRef="carry_out" targetRef="end" />
    <bpmn:endEvent id="end" />
  </bpmn:process>
</bpmn:definitions>"""


def test_silence_past_the_limit_is_deemed_consent_recorded_apart_from_approval(
    engine: Engine, clock: FakeClock, received: list[tuple[str, dict[str, Any]]]
) -> None:
    clock.set(bj(2025, 11, 3, 9))
    engine.deploy([SourceFile("request.bpmn", CONSENT.encode())])
    engine.start_case("request", "RQ-1")
    answer = only_task(engine, "RQ-1", "answer")
    assert answer.due_at == bj(2025, 11, 6, 17, 30)
    clock.set(bj(2025, 11, 6, 17, 31))
    engine.fire_due_timers()
    assert only_task(engine, "RQ-1").element_id == "carry_out"
    data = engine.get_case("RQ-1").data
    assert data["approved"] is True and data["deemed_consent"] is True
    done = engine.tasks(case="RQ-1", state="completed")
    assert [(t.element_id, t.completed_by) for t in done] == [("answer", None)]
    kinds = [r.kind for r in engine.fault_records(case="RQ-1")]
    assert "deemed_consent" in kinds and "escalation" not in kinds
    record = next(r for r in engine.fault_records(case="RQ-1") if r.kind == "deemed_consent")
    assert record.person_id == "zhaomin"
    assert "deemed_consent" in [name for name, _ in received]


ESCALATING = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="x">
  <bpmn:escalation id="late" name="超期督办" escalationCode="LATE" />
  <bpmn:process id="esc" isExecutable="true">
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="work" />
    <bpmn:userTask id="work" name="办理" camunda:assignee="zhangwei" />
    <bpmn:boundaryEvent id="too_late" attachedToRef="work" cancelActivity="false">
      <bpmn:timerEventDefinition>
        <bpmn:timeDuration>P2D</bpmn:timeDuration>
      </bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:sequenceFlow id="f2" sourceRef="too_late" targetRef="raise" />
    <bpmn:intermediateThrowEvent id="raise" name="上报督办">
      <bpmn:escalationEventDefinition escalationRef="late" />
    </bpmn:intermediateThrowEvent>
    <bpmn:sequenceFlow id="f3" sourceRef="raise" targetRef="end_late" />
    <bpmn:endEvent id="end_late" />
    <bpmn:sequenceFlow id="f4" sourceRef="work" targetRef="end" />
    <bpmn:endEvent id="end" />
  </bpmn:process>
</bpmn:definitions>"""


def test_a_diagram_escalation_and_its_reminder_timer_are_recorded(
    engine: Engine, clock: FakeClock, received: list[tuple[str, dict[str, Any]]]
) -> None:
    clock.set(bj(2025, 11, 3, 9))
    engine.deploy([SourceFile("esc.bpmn", ESCALATING.encode())])
    engine.start_case("esc", "ESC-1")
    clock.advance(days=2, minutes=1)
    engine.fire_due_timers()
    records = engine.fault_records(case="ESC-1")
    assert [(r.kind, (r.detail or {}).get("code")) for r in records] == [("escalation", "LATE")]
    assert records[0].person_id == "zhangwei"
    notices = engine.notices("zhangwei")
    assert [n.kind for n in notices] == ["reminder"]
    names = [name for name, _ in received]
    assert "case_escalated" in names and "reminder" in names


def test_reviews_excuse_or_confirm_and_the_latest_review_counts(
    permit: Engine, clock: FakeClock, received: list[tuple[str, dict[str, Any]]]
) -> None:
    clock.set(bj(2025, 11, 4, 17, 31))
    permit.fire_due_timers()
    record = permit.fault_records(kind="overdue_step")[0]
    with pytest.raises(NotPermittedError, match="supervision office"):
        permit.review_fault(record.id, decision="confirmed", actor="zhaomin", level="admonition")
    with pytest.raises(InvalidInputError, match="needs a reason"):
        permit.review_fault(record.id, decision="excused", actor="supervisor01")
    with pytest.raises(InvalidInputError, match="needs a level"):
        permit.review_fault(record.id, decision="confirmed", actor="supervisor01", level="x")
    confirmed = permit.review_fault(
        record.id, decision="confirmed", actor="supervisor01", level="admonition"
    )
    assert (confirmed.decision, confirmed.level) == ("confirmed", "admonition")
    corrected = permit.review_fault(
        record.id, decision="excused", actor="supervisor01", reason="系统故障导致未能签收"
    )
    assert corrected.decision == "excused"
    assert permit.fault_records(decision="confirmed") == []
    assert [r.id for r in permit.fault_records(decision="excused")] == [record.id]
    names = [name for name, _ in received]
    assert "fault_confirmed" in names and "fault_excused" in names
    # append-only: the original row and both reviews are kept
    with permit.runtime.call(readonly=True) as call:
        from sqlalchemy import func, select

        from engine.store.models import FaultRecord

        reviews = call.conn.scalar(select(func.count()).where(FaultRecord.refers_to == record.id))
    assert reviews == 2


def test_three_confirmed_faults_in_a_year_flag_the_person(
    permit: Engine, clock: FakeClock, received: list[tuple[str, dict[str, Any]]]
) -> None:
    for n in (2, 3):
        permit.start_case("general_permit", f"GP-{n}", item="T-0101")
    for n in (1, 2, 3):
        accept = only_task(permit, f"GP-{n}", "accept")
        permit.claim(accept.id, actor="window01")
    clock.set(bj(2025, 11, 4, 17, 31))
    permit.fire_due_timers()
    records = permit.fault_records(kind="overdue_step", person="window01")
    assert len(records) == 3
    for record in records[:2]:
        permit.review_fault(
            record.id, decision="confirmed", actor="supervisor01", level="admonition"
        )
    assert permit.flagged_people(2025) == []
    permit.review_fault(
        records[2].id, decision="confirmed", actor="supervisor01", level="circulated_criticism"
    )
    assert permit.flagged_people(2025) == [{"person_id": "window01", "confirmed_faults": 3}]
    assert permit.flagged_people(2026) == []
    flagged = [event for name, event in received if name == "person_flagged"]
    assert flagged == [{"person_id": "window01", "year": 2025, "confirmed_faults": 3}]


def test_urging_a_step_is_for_supervisors_and_heads(permit: Engine) -> None:
    accept = only_task(permit, "GP-1", "accept")
    permit.claim(accept.id, actor="window01")
    with pytest.raises(NotPermittedError, match="urge"):
        permit.urge(accept.id, actor="zhangwei")
    notice = permit.urge(accept.id, actor="supervisor01", message="申请人来电催问")
    assert (notice.kind, notice.recipient) == ("urge", "window01")
    assert [n.message for n in permit.notices("window01")] == ["催办：申请人来电催问"]
    assert "urge" in [h.action for h in permit.history("GP-1")]


def test_a_failing_subscriber_does_not_break_the_engine(
    permit: Engine, clock: FakeClock, received: list[tuple[str, dict[str, Any]]]
) -> None:
    def broken(sender: str, **event: Any) -> None:
        raise RuntimeError("SMS gateway down")

    signals.task_overdue.connect(broken)
    try:
        clock.set(bj(2025, 11, 4, 17, 31))
        permit.fire_due_timers()  # the failure is logged
    finally:
        signals.task_overdue.disconnect(broken)
    assert ("red", "accept", "GP-1") in _cards(permit)
    assert "task_overdue" in [name for name, _ in received]


def test_rules_read_from_the_environment() -> None:
    from fractions import Fraction

    from engine.supervision import EscalationLevel, rules_from_env

    rules = rules_from_env(
        {
            "XIAONENG_YELLOW_DAYS": "1/2",
            "XIAONENG_ESCALATION": "role:section-chief@0, role:supervisor@3!",
        }
    )
    assert rules.task_yellow_days == Fraction(1, 2)
    assert rules.escalation == (
        EscalationLevel("role:section-chief", 0, True),
        EscalationLevel("role:supervisor", 3, False),
    )
    with pytest.raises(InvalidInputError, match="group@working-days"):
        rules_from_env({"XIAONENG_ESCALATION": "role:x@soon"})


def test_the_documented_sms_hook_texts_the_holder_of_an_overdue_step(
    permit: Engine, clock: FakeClock
) -> None:
    from demo.hooks import sms_log

    sms_log.sent.clear()
    accept = only_task(permit, "GP-1", "accept")
    permit.claim(accept.id, actor="window01")
    clock.set(bj(2025, 11, 4, 17, 31))
    permit.fire_due_timers()
    assert sms_log.sent[0].startswith("window01: 【效能提醒】办件 GP-1")
    assert any(line.startswith("role:department-head:") for line in sms_log.sent)


CYCLE = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="x">
  <bpmn:process id="nag" isExecutable="true">
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="work" />
    <bpmn:userTask id="work" name="办理" camunda:assignee="zhangwei" />
    <bpmn:boundaryEvent id="daily_reminder" name="每日催办" attachedToRef="work"
        cancelActivity="false">
      <bpmn:timerEventDefinition>
        <bpmn:timeCycle>R3/P1D</bpmn:timeCycle>
      </bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:sequenceFlow id="f2" sourceRef="daily_reminder" targetRef="noted" />
    <bpmn:endEvent id="noted" />
    <bpmn:sequenceFlow id="f3" sourceRef="work" targetRef="end" />
    <bpmn:endEvent id="end" />
  </bpmn:process>
</bpmn:definitions>"""


def test_a_reminder_cycle_on_a_step_reminds_its_holder_each_time(
    engine: Engine, clock: FakeClock
) -> None:
    clock.set(bj(2025, 11, 3, 9))
    engine.deploy([SourceFile("nag.bpmn", CYCLE.encode())])
    engine.start_case("nag", "NAG-1")
    for _day in range(5):
        clock.advance(days=1, minutes=1)
        engine.fire_due_timers()
    notices = engine.notices("zhangwei")
    assert [n.kind for n in notices] == ["reminder"] * 3  # R3: three times, then no more
    assert [h.action for h in engine.history("NAG-1")].count("reminder") == 3
    act(engine, "NAG-1", "work", "zhangwei", {})
    assert engine.get_case("NAG-1").status == "completed"


@pytest.mark.parametrize(
    ("properties", "attributes", "message"),
    [
        ('<camunda:property name="on_overdue" value="approve" />', "", "on_overdue must be"),
        (
            '<camunda:property name="on_overdue" value="deemed_consent" />',
            "",
            "needs a camunda:dueDate",
        ),
        ('<camunda:property name="escalation" value="sms" />', "", "escalation must be"),
        ('<camunda:property name="accepts_case" value="import os" />', "", "accepts_case is"),
        ('<camunda:property name="consent_field" value="ok" />', "", "consent_field needs"),
    ],
)
def test_supervision_properties_are_checked_at_deploy(
    engine: Engine, properties: str, attributes: str, message: str
) -> None:
    from engine import InvalidDefinitionError

    diagram = CONSENT.replace(
        '<camunda:property name="on_overdue" value="deemed_consent" />', properties
    ).replace(' camunda:dueDate="${working_days(3)}"', attributes)
    with pytest.raises(InvalidDefinitionError) as raised:
        engine.deploy([SourceFile("request.bpmn", diagram.encode())])
    assert message in str([p.message for p in raised.value.problems])


def test_figures_for_a_period_reaching_into_the_future_count_nothing_not_yet_due(
    permit: Engine, clock: FakeClock
) -> None:
    from datetime import date

    (figures,) = permit.department_figures(date(2025, 11, 1), date(2025, 11, 30))
    assert (figures.department_id, figures.received) == ("housing-permits", 1)
    assert (figures.overdue_open, figures.steps_overdue_open) == (0, 0)
    clock.set(bj(2025, 11, 4, 17, 31))  # 受理 is overdue now
    (figures,) = permit.department_figures(date(2025, 11, 1), date(2025, 11, 30))
    assert (figures.overdue_open, figures.steps_overdue_open) == (0, 1)
