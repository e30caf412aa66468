"""The supervision dashboard: counts and lists on a small hand-made data set, the period
figures per process step and per week, and one run of the real supervision rules.

The engine's clock stands at Monday 2026-11-23 09:00 Beijing time (01:00 UTC).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from engine import Engine, InvalidInputError
from engine.clock import FakeClock
from engine.store.models import Card, Case, ClockStop, Definition, FaultRecord, HumanTask
from tests.conftest import GENERAL_PERMIT, TEST_ITEMS

NOW = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
HOUSING = "housing-permits"
FOOD = "market-food"


def bj(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    """A Beijing wall-clock moment of 2026 as UTC."""
    return datetime(2026, month, day, hour, minute, tzinfo=UTC) - timedelta(hours=8)


def _case(
    case_id: int,
    department: str | None,
    started: datetime,
    *,
    status: str = "running",
    due: datetime | None = None,
    ended: datetime | None = None,
    process: str = "general_permit",
    title: str | None = None,
) -> dict[str, Any]:
    return {
        "id": case_id,
        "business_key": f"DB-{case_id}",
        "definition_id": 1,
        "process_id": process,
        "status": status,
        "title": title,
        "started_at": started,
        "updated_at": ended or started,
        "ended_at": ended,
        "state": "{}",
        "due_at": due,
        "department_id": department,
    }


def _step(
    task_id: str,
    case_id: int,
    department: str | None,
    created: datetime,
    *,
    element: str = "handle",
    name: str | None = "承办",
    assignee: str | None = None,
    state: str = "open",
    due: datetime | None = None,
    ended: datetime | None = None,
) -> dict[str, Any]:
    return {
        "id": task_id,
        "case_id": case_id,
        "element_id": element,
        "name": name,
        "state": state,
        "assignee": assignee,
        "completed_by": assignee if state == "completed" else None,
        "created_at": created,
        "ended_at": ended,
        "due_at": due,
        "department_id": department,
    }


def _card(
    card_id: int, case_id: int, department: str | None, color: str, cleared: bool = False
) -> dict[str, Any]:
    return {
        "id": card_id,
        "case_id": case_id,
        "color": color,
        "department_id": department,
        "due_at": NOW,
        "raised_at": NOW - timedelta(days=1),
        "cleared_at": NOW if cleared else None,
    }


def _fault(
    fault_id: int,
    kind: str,
    created: datetime,
    *,
    case_id: int | None = None,
    department: str | None = HOUSING,
    person: str | None = "zhangwei",
    refers_to: int | None = None,
    decision: str | None = None,
) -> dict[str, Any]:
    return {
        "id": fault_id,
        "kind": kind,
        "refers_to": refers_to,
        "case_id": case_id,
        "department_id": department,
        "person_id": person,
        "decision": decision,
        "level": "warning" if decision == "confirmed" else None,
        "reason": "确有过错" if decision else None,
        "actor": "supervisor01" if decision else None,
        "created_at": created,
    }


CASES = [
    _case(1, HOUSING, NOW - timedelta(days=20), due=bj(11, 19, 17, 30), title="甲公司施工许可"),
    _case(2, HOUSING, NOW - timedelta(days=10), status="suspended", due=NOW - timedelta(hours=1)),
    _case(3, FOOD, NOW - timedelta(days=30), status="completed", due=NOW - timedelta(days=9),
          ended=NOW - timedelta(days=8)),
    _case(4, HOUSING, NOW - timedelta(days=5), due=bj(11, 24, 17, 30)),  # 2 working days left
    _case(5, HOUSING, NOW - timedelta(days=5), due=bj(11, 25, 17, 30)),  # 3 left: not nearing
    _case(6, FOOD, NOW - timedelta(days=5), due=bj(11, 23, 17, 30)),  # clock stopped
    _case(7, "service-centre", NOW - timedelta(days=3), due=bj(12, 1, 17, 30),
          process="efficiency_complaint", title="投诉：办件拖延"),
    _case(8, "service-centre", NOW - timedelta(days=9), status="completed",
          ended=NOW - timedelta(days=1), process="efficiency_complaint"),
    _case(9, FOOD, NOW - timedelta(days=4), due=bj(11, 23, 16, 0)),  # nearing: today
]  # fmt: skip

STEPS = [
    _step("t1", 1, HOUSING, NOW - timedelta(days=6), assignee="zhangwei",
          due=NOW - timedelta(days=2)),
    _step("t2", 2, HOUSING, NOW - timedelta(days=3), element="accept", name="受理",
          due=NOW - timedelta(hours=1)),
    _step("t3", 3, FOOD, NOW - timedelta(days=20), assignee="sunli", state="completed",
          due=NOW - timedelta(days=12), ended=NOW - timedelta(days=10)),
    _step("t4", 4, HOUSING, NOW - timedelta(days=2), assignee="lina", due=bj(11, 24, 17, 30)),
    _step("t5", 1, HOUSING, NOW - timedelta(days=9), state="cancelled",
          due=NOW - timedelta(days=7), ended=NOW - timedelta(days=6)),
    _step("t6", 1, HOUSING, NOW - timedelta(days=6), element="review", name="审核",
          assignee="chenjie"),  # parallel to t1, no due moment
]  # fmt: skip

CARDS = [
    _card(1, 1, HOUSING, "red"),
    _card(2, 2, HOUSING, "red"),
    _card(3, 4, HOUSING, "yellow"),
    _card(4, 6, FOOD, "yellow"),
    _card(5, 3, FOOD, "red", cleared=True),
]

FAULTS = [
    _fault(1, "deemed_consent", NOW - timedelta(days=5), case_id=1),
    _fault(2, "deemed_acceptance", NOW - timedelta(days=40), case_id=2),  # too long ago
    _fault(3, "deemed_acceptance", NOW - timedelta(days=1), case_id=6, department=FOOD,
           person="sunli"),
    _fault(4, "overdue_step", NOW - timedelta(days=1), case_id=1),  # another kind
    _fault(5, "review", NOW - timedelta(hours=2), case_id=6, department=FOOD, person="sunli",
           refers_to=3, decision="confirmed"),
]  # fmt: skip


def seed(engine: Engine) -> None:
    """Write the data set straight into the engine's tables (a definition row, the
    cases, steps, cards, accountability records and a running clock stop of case 6)."""
    with engine.sa_engine.begin() as conn:
        conn.execute(
            sa.insert(Definition),
            {
                "id": 1,
                "process_id": "general_permit",
                "version": 1,
                "content_hash": "0" * 64,
                "source_file": "general_permit.bpmn",
                "sources": [],
                "deployed_at": NOW - timedelta(days=100),
            },
        )
        conn.execute(sa.insert(Case), CASES)
        conn.execute(sa.insert(HumanTask), STEPS)
        conn.execute(sa.insert(Card), CARDS)
        conn.execute(sa.insert(FaultRecord), [f for f in FAULTS if f["refers_to"] is None])
        conn.execute(sa.insert(FaultRecord), [f for f in FAULTS if f["refers_to"]])
        conn.execute(
            sa.insert(ClockStop),
            {
                "case_id": 6,
                "kind": "supplement",
                "reason": "补正材料",
                "started_at": NOW - timedelta(days=2),
            },
        )
        if conn.dialect.name == "postgresql":  # explicit ids leave the sequences behind
            for table in ("definitions", "cases", "cards", "fault_records"):
                conn.execute(
                    sa.text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT max(id) FROM {table}))"
                    )
                )


@pytest.fixture
def seeded(engine: Engine, clock: FakeClock) -> Engine:
    clock.set(NOW)
    seed(engine)
    return engine


def test_dashboard_counts_live_cards_per_department_red_first(seeded: Engine) -> None:
    board = seeded.dashboard()
    assert [(c.department_id, c.yellow, c.red) for c in board.cards] == [
        (HOUSING, 1, 2),
        (FOOD, 1, 0),  # its red card was cleared
    ]
    assert board.at == NOW


def test_dashboard_lists_open_overdue_steps_most_overdue_first(seeded: Engine) -> None:
    board = seeded.dashboard()
    assert board.overdue_steps_total == 2  # not the completed t3 nor the cancelled t5
    assert [(s.task_id, s.business_key, s.name, s.holder) for s in board.overdue_steps] == [
        ("t1", "DB-1", "承办", "zhangwei"),
        ("t2", "DB-2", "受理", None),
    ]
    assert board.overdue_steps[0].due_at == NOW - timedelta(days=2)
    assert board.overdue_steps[0].process_id == "general_permit"


def test_dashboard_lists_open_overdue_cases_with_their_open_steps(seeded: Engine) -> None:
    board = seeded.dashboard()
    assert board.overdue_cases_total == 2  # the suspended case 2 too; not the completed 3
    first, second = board.overdue_cases
    assert (first.business_key, first.title, first.status) == ("DB-1", "甲公司施工许可", "running")
    assert first.open_steps == (("承办", "zhangwei"), ("审核", "chenjie"))
    assert first.remaining_days == -1.0  # due Thursday 17:30: Friday lost
    assert (second.business_key, second.status, second.open_steps) == (
        "DB-2",
        "suspended",
        (("受理", None),),
    )


def test_dashboard_nearing_uses_working_days_and_skips_stopped_clocks(seeded: Engine) -> None:
    board = seeded.dashboard(nearing_days=2)
    assert board.nearing_total == 2
    assert [(c.business_key, c.remaining_days) for c in board.nearing] == [
        ("DB-9", pytest.approx(7 / 8.5)),  # due today 16:00: 7 of 8.5 business hours left
        ("DB-4", 2.0),  # due Tuesday 17:30: two working days
    ]
    # Wednesday 17:30 is three working days away; Friday's (11-27) limit lies within five
    assert [c.business_key for c in seeded.dashboard(nearing_days=3).nearing] == [
        "DB-9",
        "DB-4",
        "DB-5",
    ]


def test_nearing_counts_working_days_over_a_weekend(seeded: Engine, clock: FakeClock) -> None:
    clock.set(bj(11, 20, 17, 0))  # Friday 17:00: half an hour of Friday, then Monday
    board = seeded.dashboard(nearing_days=1)
    # horizon: Monday 16:30 — cases 2 (Monday 08:00) and 9 (16:00) are within, 6 is stopped
    assert [c.business_key for c in board.nearing] == ["DB-2", "DB-9"]


def test_dashboard_counts_recent_deemed_consents_and_acceptances(seeded: Engine) -> None:
    board = seeded.dashboard(deemed_days=30)
    assert (board.deemed_consents, board.deemed_acceptances) == (1, 1)
    assert [(r.id, r.kind, r.business_key, r.decision) for r in board.deemed] == [
        (3, "deemed_acceptance", "DB-6", "confirmed"),
        (1, "deemed_consent", "DB-1", None),
    ]
    board = seeded.dashboard(deemed_days=60)
    assert board.deemed_acceptances == 2


def test_dashboard_lists_open_efficiency_complaints(seeded: Engine) -> None:
    board = seeded.dashboard()
    assert board.complaints_total == 1
    assert [(c.business_key, c.title) for c in board.complaints] == [("DB-7", "投诉：办件拖延")]


def test_dashboard_of_one_department_keeps_its_rows_only(seeded: Engine) -> None:
    board = seeded.dashboard(department=FOOD)
    assert [(c.department_id, c.yellow, c.red) for c in board.cards] == [(FOOD, 1, 0)]
    assert board.overdue_steps_total == board.overdue_cases_total == 0
    assert [c.business_key for c in board.nearing] == ["DB-9"]
    assert (board.deemed_consents, board.deemed_acceptances) == (0, 1)
    assert board.complaints_total == 0


def test_dashboard_lists_are_limited_but_totals_count_all(seeded: Engine) -> None:
    board = seeded.dashboard(limit=1)
    assert board.overdue_steps_total == 2 and len(board.overdue_steps) == 1
    assert board.overdue_cases_total == 2 and len(board.overdue_cases) == 1
    assert len(board.deemed) == 1
    assert board.to_dict()["overdue_steps"][0]["task_id"] == "t1"


@pytest.mark.parametrize(
    "arguments",
    [{"limit": 0}, {"limit": 201}, {"nearing_days": 0}, {"deemed_days": 0}, {"deemed_days": 400}],
)
def test_dashboard_rejects_bad_arguments(seeded: Engine, arguments: dict[str, int]) -> None:
    with pytest.raises(InvalidInputError):
        seeded.dashboard(**arguments)


def test_empty_dashboard_has_nothing_to_show(engine: Engine) -> None:
    board = engine.dashboard()
    assert board.cards == () and board.overdue_steps == () and board.nearing == ()
    assert board.overdue_steps_total == board.complaints_total == 0


# -- period figures -------------------------------------------------------------------------


def test_overdue_by_step_groups_steps_like_the_metrics(seeded: Engine) -> None:
    rows = seeded.overdue_by_step(date(2026, 11, 1), date(2026, 11, 30))
    assert [(r.process_id, r.element_id, r.name, r.late, r.overdue_open) for r in rows] == [
        ("general_permit", "handle", "承办", 1, 1),  # t3 completed late, t1 open
        ("general_permit", "accept", "受理", 0, 1),
    ]
    assert rows[0].overdue == 2
    # the same steps the department figures count as overdue
    figures = seeded.department_figures(date(2026, 11, 1), date(2026, 11, 30))
    assert sum(f.steps_overdue for f in figures) == sum(r.overdue for r in rows)
    only_food = seeded.overdue_by_step(date(2026, 11, 1), date(2026, 11, 30), department=FOOD)
    assert [(r.element_id, r.late) for r in only_food] == [("handle", 1)]
    assert seeded.overdue_by_step(date(2026, 11, 1), date(2026, 11, 30), limit=1) == rows[:1]


def test_overdue_by_step_rejects_a_period_that_ends_before_it_starts(seeded: Engine) -> None:
    with pytest.raises(InvalidInputError):
        seeded.overdue_by_step(date(2026, 11, 30), date(2026, 11, 1))


def test_weekly_figures_are_the_department_figures_of_each_week(seeded: Engine) -> None:
    weeks = seeded.weekly_figures(weeks=8)
    assert len(weeks) == 8
    assert weeks[-1].start == date(2026, 11, 23) and weeks[-1].end == date(2026, 11, 29)
    assert weeks[0].start == date(2026, 10, 5)
    assert all(w.start.weekday() == 0 for w in weeks)
    for week in weeks:
        assert list(week.departments) == seeded.department_figures(week.start, week.end)
    # case 3 (food) was completed late on Sunday 15 November
    week = next(w for w in weeks if w.start == date(2026, 11, 9))
    food = next(f for f in week.departments if f.department_id == FOOD)
    assert (food.department_id, food.completed, food.on_time_rate) == (FOOD, 1, 0.0)
    assert weeks[-1].to_dict()["start"] == "2026-11-23"


def test_weekly_figures_of_one_department_up_to_a_chosen_week(seeded: Engine) -> None:
    weeks = seeded.weekly_figures(weeks=2, until=date(2026, 11, 15), department=FOOD)
    assert [(w.start, [f.department_id for f in w.departments]) for w in weeks] == [
        (date(2026, 11, 2), []),
        (date(2026, 11, 9), [FOOD]),
    ]
    future = seeded.weekly_figures(weeks=1, until=date(2026, 12, 31))
    assert future[0].departments == ()


@pytest.mark.parametrize("weeks", [0, 54])
def test_weekly_figures_reject_a_bad_number_of_weeks(seeded: Engine, weeks: int) -> None:
    with pytest.raises(InvalidInputError):
        seeded.weekly_figures(weeks=weeks)


# -- with the real supervision rules -----------------------------------------------------------


def test_a_step_running_late_shows_on_the_dashboard_and_leaves_it_when_done(
    engine: Engine, clock: FakeClock
) -> None:
    clock.set(bj(11, 2, 9))  # Monday; 受理 of T-0101 is due Tuesday 17:30
    engine.deploy(GENERAL_PERMIT)
    engine.load_items([TEST_ITEMS])
    engine.start_case("general_permit", "GP-1", item="T-0101")
    clock.set(bj(11, 2, 17, 31))
    engine.fire_due_timers()
    board = engine.dashboard()
    assert [(c.department_id, c.yellow, c.red) for c in board.cards] == [(HOUSING, 1, 0)]
    assert board.overdue_steps_total == 0
    clock.set(bj(11, 3, 17, 31))
    engine.fire_due_timers()
    board = engine.dashboard()
    assert [(c.department_id, c.yellow, c.red) for c in board.cards] == [(HOUSING, 0, 1)]
    assert [(s.business_key, s.element_id) for s in board.overdue_steps] == [("GP-1", "accept")]
    task = engine.tasks(case="GP-1")[0]
    engine.claim(task.id, actor="window01")
    engine.complete(task.id, actor="window01", data={"accepted": "yes"})
    board = engine.dashboard()
    assert board.overdue_steps_total == 0
    assert all(c.red == 0 for c in board.cards)
