"""Stopped clocks (补正, §45) and extensions (延期, §42): every pending deadline moves."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from engine import ConflictError, Engine, InvalidInputError, NotPermittedError
from engine.clock import FakeClock
from tests.conftest import GENERAL_PERMIT, TEST_ITEMS
from tests.helpers import act, only_task


def bj(y: int, m: int, d: int, h: int, minute: int = 0) -> datetime:
    return datetime(y, m, d, h, minute, tzinfo=UTC) - timedelta(hours=8)


@pytest.fixture
def handling(engine: Engine, clock: FakeClock) -> Engine:
    """A general permit for item T-0101 accepted on Tuesday 2025-11-04, now in 承办."""
    clock.set(bj(2025, 11, 3, 9))  # Monday
    engine.deploy(GENERAL_PERMIT)
    engine.load_items([TEST_ITEMS])
    engine.start_case("general_permit", "GP-1", item="T-0101")  # due Wed 11/12 17:30
    clock.set(bj(2025, 11, 4, 10))
    act(engine, "GP-1", "accept", "window01", {"accepted": "yes"})
    task = only_task(engine, "GP-1", "handle")  # due Fri 11/7 17:30
    engine.claim(task.id, actor="zhangwei")
    return engine


def test_resuming_the_clock_moves_every_deadline(handling: Engine, clock: FakeClock) -> None:
    clock.set(bj(2025, 11, 5, 9))  # Wednesday 09:00: waiting on the applicant
    handling.stop_clock("GP-1", kind="supplement", reason="缺少施工图审查合格书", actor="zhangwei")
    clock.set(bj(2025, 11, 7, 9))  # Friday 09:00: two whole working days later
    resumed = handling.resume_clock("GP-1", actor="zhangwei")
    assert resumed["working_days"] == "2"
    case = handling.get_case("GP-1")
    assert case.due_at == bj(2025, 11, 14, 17, 30)  # Wed 11/12 → Fri 11/14
    assert only_task(handling, "GP-1", "handle").due_at == bj(2025, 11, 11, 17, 30)
    # the 5-day reminder timer on 承办 moved as well: it does not fire on its old moment
    clock.set(bj(2025, 11, 9, 11))
    assert handling.fire_due_timers() == 0
    actions = [h.action for h in case.history]
    assert "clock_stop" in actions and "clock_resume" in actions


def test_timers_do_not_fire_while_the_clock_is_stopped(handling: Engine, clock: FakeClock) -> None:
    handling.stop_clock("GP-1", kind="expert_review", reason="组织专家评审", actor="zhangwei")
    clock.set(bj(2025, 11, 20, 9))  # long after the reminder was due
    assert handling.fire_due_timers() == 0
    handling.resume_clock("GP-1", actor="zhangwei")
    assert handling.fire_due_timers() == 0  # its due moment moved with the stop


def test_clock_stop_rules(handling: Engine) -> None:
    with pytest.raises(InvalidInputError, match="unknown clock stop kind"):
        handling.stop_clock("GP-1", kind="coffee", reason="x", actor="zhangwei")
    with pytest.raises(NotPermittedError, match="holds no open task"):
        handling.stop_clock("GP-1", kind="testing", reason="检测", actor="lina")
    with pytest.raises(ConflictError, match="not stopped"):
        handling.resume_clock("GP-1", actor="zhangwei")
    handling.stop_clock("GP-1", kind="testing", reason="检测", actor="zhangwei")
    with pytest.raises(ConflictError, match="already stopped"):
        handling.stop_clock("GP-1", kind="testing", reason="检测", actor="zhangwei")


def test_approved_extension_moves_deadlines(handling: Engine) -> None:
    request = handling.request_extension("GP-1", days=3, reason="需补充现场踏勘", actor="zhangwei")
    with pytest.raises(NotPermittedError, match="head of the organ"):
        handling.decide_extension(request["extension_id"], approve=True, actor="chenjie")
    decided = handling.decide_extension(
        request["extension_id"], approve=True, actor="zhaomin", opinion="同意延期3个工作日"
    )
    assert decided["state"] == "approved"
    assert decided["due_at"] == bj(2025, 11, 17, 17, 30)  # Wed 11/12 + 3 working days
    assert only_task(handling, "GP-1", "handle").due_at == bj(2025, 11, 12, 17, 30)
    with pytest.raises(ConflictError, match="already approved"):
        handling.decide_extension(request["extension_id"], approve=True, actor="zhaomin")


def test_extensions_beyond_ten_working_days_are_refused(handling: Engine) -> None:
    first = handling.request_extension("GP-1", days=8, reason="原因一", actor="zhangwei")
    handling.decide_extension(first["extension_id"], approve=True, actor="zhaomin")
    with pytest.raises(InvalidInputError, match=r"at most 10 may be added \(§42\)"):
        handling.request_extension("GP-1", days=3, reason="原因二", actor="zhangwei")
    refused = handling.request_extension("GP-1", days=2, reason="原因三", actor="zhangwei")
    result = handling.decide_extension(refused["extension_id"], approve=False, actor="zhaomin")
    assert result["state"] == "refused"
    assert result["due_at"] == handling.get_case("GP-1").due_at


def test_timers_fire_again_after_the_clock_is_resumed(handling: Engine, clock: FakeClock) -> None:
    """A resumed case is no longer marked stopped: its moved deadlines still fire."""
    clock.set(bj(2025, 11, 5, 9))
    handling.stop_clock("GP-1", kind="supplement", reason="缺少施工图审查合格书", actor="zhangwei")
    clock.set(bj(2025, 11, 7, 9))
    handling.resume_clock("GP-1", actor="zhangwei")  # 承办 now due Tue 11/11 17:30
    clock.set(bj(2025, 11, 12, 9))  # past the moved due moment
    assert handling.fire_due_timers() > 0
    cards = handling.cards(case="GP-1")
    assert any(c.color == "red" and c.element_id == "handle" for c in cards)
