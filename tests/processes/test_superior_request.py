"""Scenario: bpmn/superior_request.bpmn (请示批复, S2), every path.

The superior answers within 5 working days or is deemed to consent (默许). A
serialize/restore round trip runs between steps.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from engine import Engine, FormValidationError, NotPermittedError
from engine.clock import FakeClock
from tests.conftest import BPMN
from tests.helpers import act, only_task, restore_roundtrip


def bj(y: int, m: int, d: int, h: int, minute: int = 0) -> datetime:
    """A Beijing wall-clock moment as an aware UTC datetime."""
    return datetime(y, m, d, h, minute, tzinfo=UTC) - timedelta(hours=8)


# the request reaches the superior on Monday 2026-11-23 09:00: 5 working days
ANSWER_DUE = bj(2026, 11, 30, 17, 30)


@pytest.fixture
def requests(engine: Engine) -> Engine:
    engine.deploy([BPMN / "superior_request.bpmn"], actor="admin")
    return engine


def step(
    engine: Engine,
    key: str,
    element_id: str,
    person: str,
    data: dict[str, object],
    opinion: str | None = None,
) -> None:
    act(engine, key, element_id, person, data, opinion)
    restore_roundtrip(engine, key)


def submit(engine: Engine, key: str) -> None:
    """Draft and sign off a request: it waits for the superior's answer."""
    engine.start_case(
        "superior_request",
        key,
        actor="zhangwei",
        data={"requesting_department": "housing-permits"},
        title="关于调整施工许可审查流程的请示",
    )
    restore_roundtrip(engine, key)
    draft = only_task(engine, key, "draft_request")
    assert draft.candidate_groups == ("dept:housing-permits",)
    step(
        engine,
        key,
        "draft_request",
        "zhangwei",
        {
            "subject": "关于调整施工许可审查流程的请示",
            "content": "拟将施工图审查合格书改为告知承诺，请予批示。",
            "requested_by_date": "2026-11-30",
        },
    )
    step(engine, key, "sign_off_request", "zhaomin", {"signoff_result": "sign"}, "同意报送")
    answer = only_task(engine, key, "superior_answer")
    assert answer.candidate_groups == ("role:organ-head",)
    assert answer.due_at == ANSWER_DUE


def completions(engine: Engine, key: str) -> list[tuple[str | None, str | None]]:
    return [(h.element_id, h.actor) for h in engine.history(key) if h.action == "complete"]


def test_real_approval_is_carried_out(requests: Engine) -> None:
    submit(requests, "SR-1")
    step(requests, "SR-1", "superior_answer", "liqiang", {"approved": True, "reply": "同意"})
    data = requests.get_case("SR-1").data
    assert data["approved"] is True and "deemed_consent" not in data
    step(requests, "SR-1", "carry_out_reply", "lina", {"implementation_note": "已按批复调整"})
    case = requests.get_case("SR-1")
    assert case.status == "completed"
    assert completions(requests, "SR-1") == [
        ("draft_request", "zhangwei"),
        ("sign_off_request", "zhaomin"),
        ("superior_answer", "liqiang"),
        ("carry_out_reply", "lina"),
    ]
    assert requests.fault_records(case="SR-1") == []


def test_only_the_requesting_unit_drafts(requests: Engine) -> None:
    requests.start_case(
        "superior_request", "SR-2", data={"requesting_department": "housing-permits"}
    )
    task = only_task(requests, "SR-2", "draft_request")
    with pytest.raises(NotPermittedError):
        requests.claim(task.id, actor="sunli")  # a case officer of another unit
    requests.claim(task.id, actor="zhangwei")
    with pytest.raises(FormValidationError, match="content"):
        requests.complete(task.id, actor="zhangwei", data={"subject": "请示"})


def test_head_sends_the_draft_back(requests: Engine) -> None:
    requests.start_case(
        "superior_request", "SR-3", data={"requesting_department": "housing-permits"}
    )
    step(requests, "SR-3", "draft_request", "zhangwei", {"subject": "请示", "content": "初稿"})
    step(requests, "SR-3", "sign_off_request", "zhaomin", {"signoff_result": "redo"}, "依据不足")
    assert only_task(requests, "SR-3").element_id == "draft_request"
    step(requests, "SR-3", "draft_request", "zhangwei", {"subject": "请示", "content": "修改稿"})
    step(requests, "SR-3", "sign_off_request", "zhaomin", {"signoff_result": "sign"})
    assert only_task(requests, "SR-3").element_id == "superior_answer"
    assert [e for e, _ in completions(requests, "SR-3")].count("draft_request") == 2


def test_real_refusal_is_filed(requests: Engine) -> None:
    submit(requests, "SR-4")
    step(
        requests,
        "SR-4",
        "superior_answer",
        "liqiang",
        {"approved": False, "reply": "不同意，按现行规定执行"},
    )
    assert only_task(requests, "SR-4").element_id == "file_reply"
    step(requests, "SR-4", "file_reply", "zhangwei", {"filing_note": "已归档，按现行规定执行"})
    case = requests.get_case("SR-4")
    assert case.status == "completed"
    assert case.data["approved"] is False
    assert [e for e, _ in completions(requests, "SR-4")][-1] == "file_reply"


def test_yellow_card_before_the_limit(requests: Engine, clock: FakeClock) -> None:
    submit(requests, "SR-5")
    task = only_task(requests, "SR-5", "superior_answer")
    requests.claim(task.id, actor="liqiang")
    clock.set(bj(2026, 11, 27, 17))  # Friday 17:00: more than a working day left
    assert requests.fire_due_timers() == 0
    clock.set(bj(2026, 11, 27, 18))  # one working day before the limit
    assert requests.fire_due_timers() == 1
    restore_roundtrip(requests, "SR-5")
    (card,) = requests.cards(case="SR-5")
    assert (card.color, card.element_id, card.holder) == ("yellow", "superior_answer", "liqiang")
    (notice,) = requests.notices("liqiang")
    assert (notice.kind, notice.element_id) == ("reminder", "superior_answer")
    step(requests, "SR-5", "superior_answer", "liqiang", {"approved": True, "reply": "同意"})
    assert requests.cards(case="SR-5") == []
    (done,) = requests.cards(case="SR-5", live_only=False)
    assert done.cleared_reason == "done"
    assert requests.fault_records(case="SR-5") == []


def test_silence_past_the_limit_is_deemed_consent(requests: Engine, clock: FakeClock) -> None:
    submit(requests, "SR-6")
    task = only_task(requests, "SR-6", "superior_answer")
    requests.claim(task.id, actor="liqiang")
    clock.set(bj(2026, 11, 30, 18))  # Monday 18:00: the limit has passed without an answer
    assert requests.fire_due_timers() == 2  # the yellow card's moment, then the limit
    restore_roundtrip(requests, "SR-6")
    answered = requests.get_task(task.id)
    assert answered.state == "completed"
    assert answered.completed_by is None  # nobody answered
    assert answered.opinion == "逾期未答复，视为同意（默许）"
    case = requests.get_case("SR-6")
    assert case.data["approved"] is True
    assert case.data["deemed_consent"] is True  # told apart from a real approval
    (line,) = [h for h in case.history if h.action == "deemed_consent"]
    assert line.actor is None and line.element_id == "superior_answer"
    records = requests.fault_records(case="SR-6")
    assert [(r.kind, r.element_id, r.person_id, r.post_id) for r in records] == [
        ("deemed_consent", "superior_answer", "liqiang", "mayor"),
        ("overdue_step", "superior_answer", "liqiang", "mayor"),
    ]
    red = [c for c in requests.cards(case="SR-6", live_only=False) if c.color == "red"]
    assert [(c.element_id, c.cleared_reason) for c in red] == [("superior_answer", "done")]
    assert [n.kind for n in requests.notices("zhaomin")] == []  # no escalation
    # the requesting unit carries the request out as consented
    step(
        requests, "SR-6", "carry_out_reply", "zhangwei", {"implementation_note": "视为同意，已落实"}
    )
    assert requests.get_case("SR-6").status == "completed"
    assert ("superior_answer", "liqiang") not in completions(requests, "SR-6")
