"""Performance metrics (绩效考评): hand-computed figures on a small data set.

The period is November 2026 in UTC: [2026-11-01 00:00, 2026-12-01 00:00).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from engine import Engine, InvalidInputError
from engine.clock import FakeClock
from engine.metrics import (
    DepartmentFigures,
    FiguresCache,
    PersonFigures,
    department_figures,
    period_bounds,
    person_figures,
)
from engine.store.models import Case, Definition, FaultRecord, HumanTask
from tests.conftest import GENERAL_PERMIT, TEST_ITEMS, make_engine

START = datetime(2026, 11, 1, tzinfo=UTC)
END = datetime(2026, 12, 1, tzinfo=UTC)


def at(month: int, day: int, hour: int = 12, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, second, tzinfo=UTC)


def case(
    case_id: int,
    department: str | None,
    started: datetime,
    status: str = "running",
    ended: datetime | None = None,
    due: datetime | None = None,
    days: float | None = None,
) -> dict[str, Any]:
    return {
        "id": case_id,
        "business_key": f"B-{case_id}",
        "definition_id": 1,
        "process_id": "permit",
        "status": status,
        "started_at": started,
        "updated_at": ended or started,
        "ended_at": ended,
        "state": "{}",
        "due_at": due,
        "department_id": department,
        "working_days_used": days,
    }


def step(
    task_id: str,
    case_id: int,
    department: str | None,
    created: datetime,
    *,
    assignee: str | None,
    state: str = "open",
    completed_by: str | None = None,
    ended: datetime | None = None,
    due: datetime | None = None,
    days: float | None = None,
) -> dict[str, Any]:
    return {
        "id": task_id,
        "case_id": case_id,
        "element_id": "handle",
        "state": state,
        "assignee": assignee,
        "completed_by": completed_by,
        "created_at": created,
        "ended_at": ended,
        "due_at": due,
        "department_id": department,
        "working_days_used": days,
    }


def fault(
    fault_id: int,
    kind: str,
    created: datetime,
    *,
    department: str | None,
    person: str | None,
    refers_to: int | None = None,
    decision: str | None = None,
) -> dict[str, Any]:
    return {
        "id": fault_id,
        "kind": kind,
        "refers_to": refers_to,
        "department_id": department,
        "person_id": person,
        "decision": decision,
        "level": "warning" if decision == "confirmed" else None,
        "created_at": created,
    }


CASES = [
    # d1
    case(1, "d1", at(11, 2), "completed", at(11, 10), due=at(11, 20), days=6.0),
    case(2, "d1", at(11, 3), "completed", at(11, 25), due=at(11, 20), days=16.0),  # late
    case(3, "d1", at(10, 20), "completed", at(11, 5), days=11.0),  # no limit: on time
    case(4, "d1", START, due=at(11, 28)),  # received at the first moment; open past due
    case(5, "d1", at(11, 30, 23, 59, 59), due=at(12, 10)),  # open, not yet due
    case(6, "d1", END, due=at(12, 5)),  # started at the end: outside
    case(7, "d1", at(10, 1), "completed", END, due=at(10, 15)),  # ends at the end: open then
    case(8, "d1", at(10, 1), "completed", START, due=at(10, 30)),  # late, no working days
    case(9, "d1", at(11, 4), "terminated", at(11, 6), due=at(11, 5)),  # terminated: neither
    case(10, "d1", at(11, 5), "completed", at(11, 15), due=at(11, 15), days=7.0),  # on the dot
    case(11, "d1", at(9, 1), "suspended", due=at(10, 1)),  # suspended counts as open
    case(12, "d1", at(11, 10)),  # open, no limit
    # d2
    case(20, "d2", at(11, 6), "completed", at(11, 7), due=at(11, 8), days=1.0),
    case(21, "d2", at(10, 1), "completed", at(10, 20), due=at(10, 25), days=3.0),
    # d3: active only before the period
    case(30, "d3", at(9, 1), "completed", at(10, 1), due=at(10, 5), days=20.0),
    # no department: left out of department figures
    case(40, None, at(11, 2), "completed", at(11, 3), due=at(11, 1), days=1.0),
    case(41, None, at(9, 2), due=at(9, 3)),
]

STEPS = [
    step("t1", 1, "d1", at(11, 2), assignee="li", state="completed", completed_by="li",
         ended=at(11, 4), due=at(11, 5), days=2.0),
    # transferred: done by li although assigned to wang
    step("t2", 2, "d1", at(11, 3), assignee="wang", state="completed", completed_by="li",
         ended=at(11, 12), due=at(11, 8), days=7.0),
    step("t3", 4, "d1", START, assignee="wang", due=at(11, 20)),
    step("t4", 5, "d1", at(11, 30), assignee="wang", due=at(12, 3)),
    step("t5", 3, "d1", at(10, 25), assignee="li", state="completed", completed_by="li",
         ended=at(11, 5), days=4.0),
    step("t6", 7, "d1", at(10, 1), assignee="zhao", state="completed", completed_by="zhao",
         ended=END, due=at(10, 10), days=30.0),
    step("t7", 9, "d1", at(11, 4), assignee="zhao", state="cancelled", ended=at(11, 6),
         due=at(11, 5)),
    step("t8", 20, "d2", at(11, 6), assignee="chen", state="completed", completed_by="chen",
         ended=at(11, 7), due=at(11, 7), days=1.0),
    step("t9", 12, "d1", at(11, 10), assignee=None, due=at(11, 11)),  # in nobody's hands
    step("t10", 20, "d2", at(11, 6), assignee="li", state="completed", completed_by="li",
         ended=at(11, 6), due=at(11, 7), days=0.5),
    step("t11", 6, "d1", END, assignee="wang", due=at(12, 2)),  # created at the end: outside
]  # fmt: skip

FAULTS = [
    fault(1, "overdue_step", at(11, 9), department="d1", person="li"),
    fault(2, "overdue_case", at(11, 21), department="d1", person="wang"),
    fault(3, "deemed_consent", at(11, 22), department="d1", person="wang"),
    fault(4, "escalation", at(11, 23), department="d1", person="li"),  # never reviewed
    fault(5, "overdue_step", at(10, 30), department="d1", person="li"),  # before the period
    fault(6, "overdue_step", END, department="d2", person="sun"),  # at the end: outside
    fault(7, "deemed_acceptance", START, department="d2", person="sun"),
    fault(8, "overdue_step", at(11, 12), department=None, person="li"),
    fault(9, "overdue_step", at(11, 13), department="d1", person=None),
    # reviews carry the original's department and person: they must not count themselves
    fault(101, "review", at(12, 5), department="d1", person="li", refers_to=1,
          decision="confirmed"),
    fault(102, "review", at(11, 22), department="d1", person="wang", refers_to=2,
          decision="confirmed"),
    fault(103, "review", at(11, 24), department="d1", person="wang", refers_to=2,
          decision="excused"),  # a correction: the latest review decides
    fault(104, "review", at(11, 23), department="d1", person="wang", refers_to=3,
          decision="excused"),
    fault(105, "review", at(11, 25), department="d1", person="wang", refers_to=3,
          decision="confirmed"),
    fault(106, "review", at(11, 1), department="d1", person="li", refers_to=5,
          decision="confirmed"),
    fault(107, "review", at(12, 2), department="d2", person="sun", refers_to=6,
          decision="confirmed"),
    fault(108, "review", at(11, 2), department="d2", person="sun", refers_to=7,
          decision="confirmed"),
    fault(109, "review", at(11, 13), department=None, person="li", refers_to=8,
          decision="confirmed"),
    fault(110, "review", at(11, 14), department="d1", person=None, refers_to=9,
          decision="confirmed"),
]  # fmt: skip

D1 = DepartmentFigures(
    department_id="d1",
    received=7,  # cases 1, 2, 4, 5, 9, 10, 12
    completed=5,  # cases 1, 2, 3, 8, 10
    on_time=3,  # cases 1, 3, 10
    overdue=5,  # late 2 and 8, open past due 4, 7, 11
    overdue_open=3,
    avg_working_days=10.0,  # (6 + 16 + 11 + 7) / 4: case 8 has none
    on_time_rate=0.6,
    confirmed_faults=3,  # 1, 3 and 9
    steps_completed=3,  # t1, t2, t5
    steps_on_time=2,  # t1, t5
    steps_overdue=4,  # late t2, open past due t3, t6, t9
    steps_overdue_open=3,
)
D2 = DepartmentFigures(
    department_id="d2",
    received=1,
    completed=1,
    on_time=1,
    overdue=0,
    overdue_open=0,
    avg_working_days=1.0,
    on_time_rate=1.0,
    confirmed_faults=1,  # 7
    steps_completed=2,
    steps_on_time=2,
    steps_overdue=0,
    steps_overdue_open=0,
)


def person(
    person_id: str,
    received: int = 0,
    completed: int = 0,
    on_time: int = 0,
    overdue: int = 0,
    overdue_open: int = 0,
    avg_working_days: float | None = None,
    confirmed_faults: int = 0,
) -> PersonFigures:
    return PersonFigures(
        person_id=person_id,
        received=received,
        completed=completed,
        on_time=on_time,
        overdue=overdue,
        overdue_open=overdue_open,
        avg_working_days=avg_working_days,
        on_time_rate=on_time / completed if completed else None,
        confirmed_faults=confirmed_faults,
    )


CHEN = person("chen", received=1, completed=1, on_time=1, avg_working_days=1.0)
# li: t1, t2 (completed by li), t10 received; t1, t2, t5, t10 completed; t2 late; faults 1, 8
LI = person(
    "li", received=3, completed=4, on_time=3, overdue=1, avg_working_days=3.375,
    confirmed_faults=2,
)  # fmt: skip
SUN = person("sun", confirmed_faults=1)
WANG = person("wang", received=2, overdue=1, overdue_open=1, confirmed_faults=1)
ZHAO = person("zhao", received=1, overdue=1, overdue_open=1)  # t7 cancelled, t6 open at end


@pytest.fixture
def conn(engine: Engine) -> Iterator[sa.Connection]:
    with engine.sa_engine.begin() as connection:
        connection.execute(
            sa.insert(Definition),
            {
                "id": 1,
                "process_id": "permit",
                "version": 1,
                "content_hash": "0" * 64,
                "source_file": "permit.bpmn",
                "sources": [],
                "deployed_at": at(1, 1),
            },
        )
        connection.execute(sa.insert(Case), CASES)
        connection.execute(sa.insert(HumanTask), STEPS)
        connection.execute(sa.insert(FaultRecord), [f for f in FAULTS if f["refers_to"] is None])
        connection.execute(sa.insert(FaultRecord), [f for f in FAULTS if f["refers_to"]])
    with engine.sa_engine.connect().execution_options(xiaoneng_readonly=True) as connection:
        yield connection


def test_department_figures_follow_the_definitions(conn: sa.Connection) -> None:
    assert department_figures(conn, START, END) == [D1, D2]


def test_department_filter_keeps_one_department(conn: sa.Connection) -> None:
    assert department_figures(conn, START, END, department="d2") == [D2]
    assert department_figures(conn, START, END, department="d3") == []


def test_department_active_only_in_an_earlier_period_appears_there(conn: sa.Connection) -> None:
    figures = department_figures(conn, at(9, 1, 0), at(10, 1, 0), department="d3")
    # case 30 ends on 1 October at noon: still open (not past due) at the period's end
    assert figures == [
        DepartmentFigures(
            department_id="d3",
            received=1,
            completed=0,
            on_time=0,
            overdue=0,
            overdue_open=0,
            avg_working_days=None,
            on_time_rate=None,
            confirmed_faults=0,
            steps_completed=0,
            steps_on_time=0,
            steps_overdue=0,
            steps_overdue_open=0,
        )
    ]


def test_period_start_is_inclusive_and_end_exclusive(conn: sa.Connection) -> None:
    # one microsecond later: case 4 (started at START) and case 8 (ended at START) drop out,
    # case 6 (started at END) and case 7 (completed at END, late) come in
    later = START.replace(microsecond=1), END.replace(microsecond=1)
    [d1, _d2] = department_figures(conn, *later)
    assert (d1.received, d1.completed, d1.on_time) == (D1.received, 5, 3)
    # late: 2 and 7; open past due at the end: 4 and 11
    assert (d1.overdue, d1.overdue_open) == (4, 2)


def test_person_figures_follow_the_definitions(conn: sa.Connection) -> None:
    assert person_figures(conn, START, END) == [CHEN, LI, SUN, WANG, ZHAO]


def test_person_is_who_completed_a_step_else_who_holds_it(conn: sa.Connection) -> None:
    [wang] = person_figures(conn, START, END, person="wang")
    # t2 was assigned to wang but li completed it: it is li's
    assert wang == WANG
    [li] = person_figures(conn, START, END, person="li")
    assert li == LI
    assert person_figures(conn, START, END, person="nobody") == []


def test_person_figures_filtered_by_department(conn: sa.Connection) -> None:
    # d1's steps only: li loses t10 (d2) and fault 8 (no department); chen and sun go
    li_d1 = person(
        "li", received=2, completed=3, on_time=2, overdue=1, avg_working_days=13 / 3,
        confirmed_faults=1,
    )  # fmt: skip
    assert person_figures(conn, START, END, department="d1") == [li_d1, WANG, ZHAO]
    assert person_figures(conn, START, END, department="d1", person="li") == [li_d1]
    assert person_figures(conn, START, END, department="d2") == [CHEN, person(
        "li", received=1, completed=1, on_time=1, avg_working_days=0.5
    ), SUN]  # fmt: skip


def test_latest_review_decides_whether_a_fault_is_confirmed(
    engine: Engine, conn: sa.Connection
) -> None:
    with engine.sa_engine.begin() as writer:
        # fault 1 excused on appeal, fault 4 confirmed at last
        writer.execute(
            sa.insert(FaultRecord),
            [
                fault(201, "review", at(12, 9), department="d1", person="li", refers_to=1,
                      decision="excused"),
                fault(202, "review", at(12, 9), department="d1", person="li", refers_to=4,
                      decision="confirmed"),
            ],
        )  # fmt: skip
    [d1] = department_figures(conn, START, END, department="d1")
    assert d1.confirmed_faults == 3  # 3, 4 and 9
    [li] = person_figures(conn, START, END, person="li")
    assert li.confirmed_faults == 2  # 4 and 8


def test_figures_convert_to_dicts(conn: sa.Connection) -> None:
    [wang] = person_figures(conn, START, END, person="wang")
    assert wang.to_dict()["overdue_open"] == 1
    assert department_figures(conn, START, END)[0].to_dict()["department_id"] == "d1"


def test_period_bounds_turn_local_days_into_utc() -> None:
    start, end = period_bounds(date(2026, 11, 1), date(2026, 11, 30), "Asia/Shanghai")
    assert start == datetime(2026, 10, 31, 16, 0, tzinfo=UTC)
    assert end == datetime(2026, 11, 30, 16, 0, tzinfo=UTC)
    assert period_bounds(date(2026, 1, 1), date(2026, 1, 1), "UTC") == (
        datetime(2026, 1, 1, tzinfo=UTC),
        datetime(2026, 1, 2, tzinfo=UTC),
    )


def test_local_period_counts_a_case_received_just_after_local_midnight(
    conn: sa.Connection,
) -> None:
    # local 1 December is [30 November 16:00, 1 December 16:00) UTC: it receives case 5
    # (30 November 23:59:59 UTC) and case 6 (1 December 00:00 UTC) and completes case 7
    bounds = period_bounds(date(2026, 12, 1), date(2026, 12, 1), "Asia/Shanghai")
    [d1] = department_figures(conn, *bounds, department="d1")
    assert (d1.received, d1.completed, d1.overdue) == (2, 1, 3)


@pytest.mark.parametrize(
    ("start", "end", "zone"),
    [
        (date(2026, 11, 2), date(2026, 11, 1), "Asia/Shanghai"),
        (date(2026, 11, 1), date(2026, 11, 2), "Mars/Olympus_Mons"),
    ],
)
def test_period_bounds_reject_bad_input(start: date, end: date, zone: str) -> None:
    with pytest.raises(InvalidInputError):
        period_bounds(start, end, zone)


def test_figures_reject_naive_or_empty_periods(conn: sa.Connection) -> None:
    with pytest.raises(InvalidInputError):
        department_figures(conn, START.replace(tzinfo=None), END)
    with pytest.raises(InvalidInputError):
        person_figures(conn, END, START)
    with pytest.raises(InvalidInputError):
        person_figures(conn, START, START)


def test_figures_are_kept_for_the_cache_time_then_computed_again(
    db_url: str, clock: FakeClock
) -> None:
    """With ``figures_cache_seconds`` a period's figures are computed once and reused until
    they are that old on the engine's clock (the supervision pages ask again and again)."""
    engine = make_engine(db_url, clock, figures_cache_seconds=60)
    try:
        engine.deploy(GENERAL_PERMIT)
        engine.load_items([TEST_ITEMS])
        today = clock.now().astimezone(ZoneInfo("Asia/Shanghai")).date()

        def received() -> int:
            found = engine.department_figures(today, today, department="housing-permits")
            return sum(f.received for f in found)

        engine.start_case("general_permit", "GP-1", item="T-0101")
        assert received() == 1
        engine.start_case("general_permit", "GP-2", item="T-0101")
        assert received() == 1  # kept: computed less than 60 s ago
        everyone = engine.department_figures(today, today)  # another key: computed now
        assert sum(f.received for f in everyone) == 2
        clock.advance(seconds=61)
        assert received() == 2
    finally:
        engine.dispose()


def test_figures_cache_time_zero_computes_on_every_call(engine: Engine) -> None:
    assert engine.figures_cache.seconds == 0  # the suite's engines (tests/conftest.py)
    with pytest.raises(InvalidInputError, match="cache seconds"):
        FiguresCache(-1)
