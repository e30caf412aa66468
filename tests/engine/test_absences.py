"""Absences and AB posts (AB岗): A's tasks go to the B post while A is away, and back.

Demo organisation: window01 holds window-a, whose backup post window-b window02 holds;
window-b has no backup. The clock starts on Monday 2026-11-23, 09:00 Beijing time.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import select, update

from engine import ConflictError, Engine, InvalidInputError, NotFoundError, signals
from engine.cli import main
from engine.clock import FakeClock
from engine.store.models import Absence, AuditEntry, HumanTask, Timer
from tests.conftest import DEMO_ORG
from tests.helpers import DATA, only_task

A, B = "window01", "window02"
TUE, WED, THU, FRI = date(2026, 11, 24), date(2026, 11, 25), date(2026, 11, 26), date(2026, 11, 27)
# local midnights (Asia/Shanghai, UTC+8) as UTC moments
TUE_START = datetime(2026, 11, 23, 16, 0, tzinfo=UTC)
FRI_START = datetime(2026, 11, 26, 16, 0, tzinfo=UTC)


@pytest.fixture
def office(engine: Engine) -> Engine:
    """The demo organisation and a process whose two steps go to ``officer``."""
    engine.deploy([DATA / "absence_steps.bpmn"])
    return engine


@pytest.fixture
def substituted() -> Iterator[list[dict[str, Any]]]:
    """Events of the ``task_substituted`` signal, as a subscriber receives them."""
    received: list[dict[str, Any]] = []

    def receiver(sender: str, **event: Any) -> None:
        received.append(event)

    with signals.task_substituted.connected_to(receiver):
        yield received


def start(engine: Engine, key: str, officer: str = A) -> str:
    """Start a case whose first step is assigned to ``officer``; return the task id."""
    engine.start_case("absence_steps", key, data={"officer": officer})
    return only_task(engine, key).id


def row(engine: Engine, task_id: str) -> HumanTask:
    with engine.runtime.read() as session:
        found = session.get(HumanTask, task_id)
        assert found is not None
        session.expunge(found)  # still readable after the read's rollback
        return found


def inbox_keys(engine: Engine, person: str) -> list[str]:
    return sorted(t.business_key for t in engine.inbox(person))


def audit(engine: Engine, action: str) -> list[AuditEntry]:
    with engine.runtime.read() as session:
        lines = list(
            session.scalars(
                select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
            )
        )
        session.expunge_all()
        return lines


# -- the start ------------------------------------------------------------------------------


def test_absence_from_tomorrow_moves_tasks_when_it_starts(office: Engine, clock: FakeClock) -> None:
    first, second = start(office, "C-1"), start(office, "C-2")
    before = row(office, first)

    absence = office.mark_absent(A, TUE, THU, reason="年休假", actor="admin")

    assert absence.substitute == B
    assert office.fire_due_timers() == 0
    assert inbox_keys(office, A) == ["C-1", "C-2"]
    assert inbox_keys(office, B) == []

    clock.set(TUE_START)
    assert office.fire_due_timers() == 1
    assert inbox_keys(office, A) == []
    assert inbox_keys(office, B) == ["C-1", "C-2"]
    moved = row(office, first)
    assert (moved.assignee, moved.substitute_for) == (B, A)
    assert moved.row_version == before.row_version + 1
    assert moved.claimed_at == before.claimed_at
    assert row(office, second).substitute_for == A


def test_absence_starting_today_moves_tasks_at_once(office: Engine) -> None:
    task_id = start(office, "C-1")

    absence = office.mark_absent(A, date(2026, 11, 23), TUE)

    assert (row(office, task_id).assignee, row(office, task_id).substitute_for) == (B, A)
    with office.runtime.read() as session:
        armed = set(session.scalars(select(Timer.id).where(Timer.state == "pending")))
    assert f"absence_end:{absence.id}" in armed
    assert f"absence_start:{absence.id}" not in armed


def test_timers_are_armed_at_local_midnights(office: Engine) -> None:
    absence = office.mark_absent(A, TUE, THU)

    with office.runtime.read() as session:
        due = dict(
            session.execute(
                select(Timer.id, Timer.due_at).where(Timer.rule.like("absence_%"))
            ).all()
        )
    assert due == {f"absence_start:{absence.id}": TUE_START, f"absence_end:{absence.id}": FRI_START}


def test_new_task_during_absence_goes_to_the_backup(office: Engine, clock: FakeClock) -> None:
    office.mark_absent(A, TUE, THU)
    clock.set(TUE_START)
    office.fire_due_timers()

    task_id = start(office, "C-9")

    task = row(office, task_id)
    assert (task.assignee, task.substitute_for) == (B, A)
    assert inbox_keys(office, B) == ["C-9"]


def test_new_task_before_or_after_absence_stays_with_the_person(
    office: Engine, clock: FakeClock
) -> None:
    office.mark_absent(A, TUE, THU)
    assert row(office, start(office, "C-1")).assignee == A  # Monday: not yet away
    clock.set(FRI_START)
    office.fire_due_timers()
    task = row(office, start(office, "C-2"))
    assert (task.assignee, task.substitute_for) == (A, None)


# -- the end and cancelling -----------------------------------------------------------------


def test_tasks_go_back_at_the_end_except_those_the_backup_completed(
    office: Engine, clock: FakeClock
) -> None:
    first, second = start(office, "C-1"), start(office, "C-2")
    office.mark_absent(A, TUE, THU)
    clock.set(TUE_START)
    office.fire_due_timers()
    office.complete(first, actor=B)  # B handles C-1; its next step is A's, so B's too
    reply = only_task(office, "C-1").id
    assert (row(office, reply).assignee, row(office, reply).substitute_for) == (B, A)

    clock.set(FRI_START)
    assert office.fire_due_timers() == 1

    done = row(office, first)
    assert (done.state, done.completed_by, done.assignee) == ("completed", B, B)
    for task_id in (second, reply):
        back = row(office, task_id)
        assert (back.assignee, back.substitute_for) == (A, None)
    assert inbox_keys(office, B) == []
    assert inbox_keys(office, A) == ["C-1", "C-2"]


def test_task_the_backup_lent_out_returns_to_the_person(office: Engine, clock: FakeClock) -> None:
    task_id = start(office, "C-1")
    office.mark_absent(A, TUE, THU)
    clock.set(TUE_START)
    office.fire_due_timers()
    office.delegate(task_id, actor=B, to="lina")

    clock.set(FRI_START)
    office.fire_due_timers()
    lent = row(office, task_id)
    assert (lent.owner, lent.assignee, lent.substitute_for) == (A, "lina", None)
    office.resolve(task_id, actor="lina", opinion="已核")
    assert row(office, task_id).assignee == A


def test_cancel_gives_tasks_back_at_once(office: Engine, clock: FakeClock) -> None:
    task_id = start(office, "C-1")
    absence = office.mark_absent(A, TUE, FRI)
    clock.set(TUE_START)
    office.fire_due_timers()
    assert row(office, task_id).assignee == B

    cancelled = office.cancel_absence(absence.id, actor="admin")

    assert cancelled.cancelled_at == TUE_START
    assert (row(office, task_id).assignee, row(office, task_id).substitute_for) == (A, None)
    assert row(office, start(office, "C-2")).assignee == A  # new tasks stay with A again
    with office.runtime.read() as session:
        assert session.scalar(select(Timer.state).where(Timer.id.like("absence_end:%"))) == (
            "cancelled"
        )


def test_cancel_before_the_start_moves_nothing(office: Engine, clock: FakeClock) -> None:
    task_id = start(office, "C-1")
    absence = office.mark_absent(A, TUE, THU)

    office.cancel_absence(absence.id)
    clock.set(TUE_START)

    assert office.fire_due_timers() == 0
    assert row(office, task_id).assignee == A
    assert audit(office, "substitute") == []


def test_cancel_twice_or_unknown_is_refused(office: Engine) -> None:
    absence = office.mark_absent(A, TUE, THU)
    office.cancel_absence(absence.id)
    with pytest.raises(ConflictError, match="already cancelled"):
        office.cancel_absence(absence.id)
    with pytest.raises(NotFoundError):
        office.cancel_absence(999)


def test_timer_of_a_cancelled_absence_does_nothing(office: Engine, clock: FakeClock) -> None:
    task_id = start(office, "C-1")
    absence = office.mark_absent(A, TUE, THU)
    with office.runtime.call() as call:  # cancelled without disarming (e.g. by an old version)
        call.conn.execute(
            update(Absence).where(Absence.id == absence.id).values(cancelled_at=call.now)
        )

    clock.set(TUE_START)

    assert office.fire_due_timers() == 1  # fired, did nothing
    assert row(office, task_id).assignee == A


# -- refusals -------------------------------------------------------------------------------


def test_overlapping_absence_is_refused(office: Engine) -> None:
    office.mark_absent(A, TUE, THU)
    with pytest.raises(ConflictError, match="already absent from 2026-11-24 to 2026-11-26"):
        office.mark_absent(A, THU, FRI)
    office.mark_absent(A, FRI, FRI)  # the day after is free


def test_person_without_backup_post_is_refused(office: Engine) -> None:
    with pytest.raises(InvalidInputError, match=r"no backup post .* window-b"):
        office.mark_absent(B, TUE, THU)  # window-b names no backup
    with pytest.raises(InvalidInputError, match="holds no post"):
        office.mark_absent("admin", TUE, THU)


def test_absent_backup_holder_is_refused(office: Engine) -> None:
    office.load_organisation(
        {
            "posts": [
                {
                    "id": "window-b",
                    "name": "综合受理窗口（B岗）",
                    "department": "service-centre",
                    "backup": "window-a",
                }
            ]
        }
    )
    office.mark_absent(B, WED, WED)
    with pytest.raises(InvalidInputError, match=r"backup post window-b .*window02\) are absent"):
        office.mark_absent(A, TUE, THU)
    office.mark_absent(A, THU, FRI)  # B is back by then


def test_another_present_holder_of_the_backup_post_stands_in(
    office: Engine, clock: FakeClock
) -> None:
    office.load_organisation(
        {
            "posts": [
                {
                    "id": "window-b",
                    "name": "综合受理窗口（B岗）",
                    "department": "service-centre",
                    "backup": "window-a",
                }
            ],
            "people": [{"id": "window03", "name": "陈静", "posts": ["window-b"]}],
        }
    )
    office.mark_absent(B, TUE, FRI)
    absence = office.mark_absent(A, TUE, THU)
    assert absence.substitute == "window03"
    task_id = start(office, "C-1")
    clock.set(TUE_START)
    office.fire_due_timers()
    assert row(office, task_id).assignee == "window03"


@pytest.mark.parametrize(
    ("starts_on", "ends_on", "message"),
    [
        (date(2026, 11, 20), date(2026, 11, 22), "the absence is over"),
        (THU, TUE, "ends .* before it starts"),
        ("2026-13-01", "2026-12-02", "not a date"),
        (TUE_START, THU, "not a moment"),
    ],
)
def test_bad_dates_are_refused(office: Engine, starts_on: Any, ends_on: Any, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        office.mark_absent(A, starts_on, ends_on)


def test_unknown_person_is_refused(office: Engine) -> None:
    with pytest.raises(NotFoundError):
        office.mark_absent("nobody", TUE, THU)


# -- records --------------------------------------------------------------------------------


def test_every_change_is_in_the_audit_trail(office: Engine, clock: FakeClock) -> None:
    task_id = start(office, "C-1")
    absence = office.mark_absent(A, TUE, THU, reason="出差", actor="admin")
    clock.set(TUE_START)
    office.fire_due_timers()
    office.cancel_absence(absence.id, actor="admin")

    marked = audit(office, "absence")[0]
    assert (marked.actor, marked.case_id) == ("admin", None)
    assert marked.detail == {
        "absence_id": absence.id,
        "person": A,
        "starts_on": "2026-11-24",
        "ends_on": "2026-11-26",
        "reason": "出差",
        "substitute": B,
    }
    assert audit(office, "absence_cancel")[0].detail == {
        "absence_id": absence.id,
        "person": A,
        "started": True,
    }
    lines = [(h.action, h.actor, h.task_id, h.detail) for h in office.history("C-1")]
    assert ("substitute", None, task_id, {"from": A, "to": B, "absence_id": absence.id}) in lines
    assert ("substitute_end", None, task_id, {"from": B, "to": A, "absence_id": absence.id}) in (
        lines
    )


def test_moves_send_signals(
    office: Engine, clock: FakeClock, substituted: list[dict[str, Any]]
) -> None:
    task_id = start(office, "C-1")
    case_id = office.get_case("C-1").id
    office.mark_absent(A, TUE, THU)
    clock.set(TUE_START)
    office.fire_due_timers()
    clock.set(FRI_START)
    office.fire_due_timers()

    common = {"task_id": task_id, "case_id": case_id, "absent": A, "substitute": B}
    assert substituted == [{**common, "returned": False}, {**common, "returned": True}]


def test_listing_shows_active_absences(office: Engine, clock: FakeClock) -> None:
    first = office.mark_absent(A, TUE, TUE)
    second = office.mark_absent(A, THU, FRI, reason="培训")
    office.cancel_absence(second.id)
    third = office.mark_absent(A, date(2026, 12, 1), date(2026, 12, 2))

    assert [a.id for a in office.absences()] == [first.id, second.id, third.id]
    assert [a.id for a in office.absences(A, active_only=True)] == [first.id, third.id]
    assert office.absences(B) == []
    clock.set(datetime(2026, 11, 25, 0, 0, tzinfo=UTC))  # Wednesday: the first is over
    listed = office.absences(active_only=True)
    assert [(a.id, a.substitute) for a in listed] == [(third.id, B)]


# -- command line ---------------------------------------------------------------------------


def test_cli_adds_lists_and_cancels_absences(
    db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("XIAONENG_DATABASE_URL", db_url)
    assert main(["init-db"]) == 0
    assert main(["org", "load", str(DEMO_ORG)]) == 0
    capsys.readouterr()

    # the command line runs on the wall clock: dates far ahead
    args = ["absence", "add", A, "--from", "2099-05-04", "--to", "2099-05-08"]
    assert main(["--json", *args, "--reason", "年休假", "--as", "admin"]) == 0
    added = json.loads(capsys.readouterr().out)
    assert (added["person_id"], added["starts_on"], added["substitute"]) == (A, "2099-05-04", B)

    assert main(["--json", "absence", "list", "--person", A, "--active"]) == 0
    assert [a["id"] for a in json.loads(capsys.readouterr().out)] == [added["id"]]

    assert main(["absence", "add", A, "--from", "2099-05-06", "--to", "2099-05-06"]) == 1
    assert "already absent" in capsys.readouterr().err

    assert main(["--json", "absence", "cancel", str(added["id"])]) == 0
    assert json.loads(capsys.readouterr().out)["cancelled_at"]
    assert main(["--json", "absence", "list", "--active"]) == 0
    assert json.loads(capsys.readouterr().out) == []
