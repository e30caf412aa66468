"""Several rule timers fired per transaction, each in a savepoint.

A firing that raises is undone alone — its rows, audit lines, signals, after-commit
actions and armed timers — and goes through the failure path (backoff, incident); a
database error that may have ended the whole transaction makes the batch fire one by
one. ``fire_due_timers`` fires BPMN timers one per transaction; ``fire_many`` handed
BPMN and rule timers of one case still fires them right in one transaction and leaves
the workflow cache at the committed state. Runs on SQLite and, with
``XIAONENG_TEST_DATABASE_URL``, on PostgreSQL; the deadlock test always needs PostgreSQL.
"""

from __future__ import annotations

import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest
import sqlalchemy as sa

from engine import Engine, FakeClock, SourceFile, accountability, timers
from engine.runtime import Call
from engine.store.models import AuditEntry, Timer
from tests.conftest import make_engine
from tests.engine import timer_probe
from tests.engine.timer_probe import PROBES
from tests.helpers import act, restore_roundtrip

TIMERS = cast(sa.Table, Timer.__table__)
BATCH = "test_batch"

# what the batch rule does, by timer ref (reset for every test)
FAIL: set[str] = set()  # raise after doing everything else
DB_ERROR_ONCE: set[str] = set()  # raise an OperationalError, the first time only
DUPLICATE: set[str] = set()  # flush an ORM row that breaks the primary key
# in the thread named "first": say so (first event), wait for the second before firing
GATES: dict[str, tuple[threading.Event, threading.Event]] = {}
AFTER_COMMIT: list[str] = []  # refs whose after-commit action ran


@timers.rule(BATCH)
def batch_probe(call: Call, timer: timers.DueTimer) -> None:
    """Leave a trace of every kind a firing can leave, then fail if told to."""
    ref = str(timer.ref)
    gate = GATES.get(ref)
    if gate is not None and threading.current_thread().name == "first":
        reached, go = gate
        reached.set()
        assert go.wait(timeout=30)
    if ref in DB_ERROR_ONCE:
        DB_ERROR_ONCE.discard(ref)
        raise sa.exc.OperationalError("SELECT 1", {}, Exception("deadlock detected"))
    call.conn.execute(
        PROBES.insert().values(
            timer_id=timer.id,
            due_at=timer.due_at,
            fired_at=call.now,
            worker=threading.current_thread().name,
        )
    )
    accountability.record(
        call.conn, at=call.now, action="reminder", actor=None, detail={"ref": ref}
    )
    call.signal("reminder", ref=ref)
    call.after_commit.append(lambda: AFTER_COMMIT.append(ref))
    call.created_tasks.append({"id": ref})
    if not ref.endswith("-next"):
        # a follow-up |n - 3| + 1 hours later: timer 3's is the earliest
        later = timedelta(hours=abs(int(ref) - 3) + 1)
        timers.schedule(call, rule=BATCH, ref=f"{ref}-next", due_at=call.now + later)
    if ref in DUPLICATE:
        call.session.add(
            Timer(
                id=timer.id,
                kind="rule",
                rule=BATCH,
                ref=ref,
                due_at=call.now,
                run_at=call.now,
                state=timers.PENDING,
                attempts=0,
                created_at=call.now,
            )
        )
        call.session.flush()
    if ref in FAIL:
        raise RuntimeError(f"batch probe {ref} failed")


@pytest.fixture(autouse=True)
def _reset_probe() -> Iterator[None]:
    yield
    FAIL.clear()
    DB_ERROR_ONCE.clear()
    DUPLICATE.clear()
    GATES.clear()
    AFTER_COMMIT.clear()


@pytest.fixture
def probed(db_url: str, clock: FakeClock) -> Iterator[Engine]:
    """An engine with the probe table, its signals and wake-ups recorded."""
    engine = Engine(db_url, clock=clock, create_schema=True)
    timer_probe.create_table(engine.sa_engine)
    yield engine
    engine.dispose()


class Recorder:
    """Signals sent, workers woken and transactions committed by an engine."""

    def __init__(self, engine: Engine) -> None:
        self.signals: list[tuple[str, dict[str, Any]]] = []
        self.woken: list[datetime] = []
        self.commits = 0
        engine.runtime.send_signal = lambda name, payload: self.signals.append((name, payload))
        engine.runtime.timer_listeners.append(self.woken.append)
        sa.event.listen(engine.sa_engine, "commit", self._committed)

    def _committed(self, _conn: Any) -> None:
        self.commits += 1


def arm(engine: Engine, *refs: str) -> list[str]:
    """Arm batch-rule timers due a minute apart, in the order given."""
    start = engine.clock.now()
    with engine.runtime.call() as call:
        return [
            timers.schedule(
                call, rule=BATCH, ref=ref, due_at=start + timedelta(minutes=1, seconds=i)
            )
            for i, ref in enumerate(refs)
        ]


def fired_refs(engine: Engine) -> list[str]:
    with engine.sa_engine.connect() as conn:
        return [
            t.rsplit(":", 1)[1]
            for t in conn.scalars(sa.select(PROBES.c.timer_id).order_by(PROBES.c.id))
        ]


def audit_refs(engine: Engine, action: str = "reminder") -> list[str]:
    with engine.sa_engine.connect() as conn:
        return [
            d["ref"]
            for d in conn.scalars(
                sa.select(AuditEntry.detail)
                .where(AuditEntry.action == action)
                .order_by(AuditEntry.id)
            )
        ]


def timer_row(engine: Engine, timer_id: str) -> Any:
    with engine.sa_engine.connect() as conn:
        return conn.execute(sa.select(TIMERS).where(TIMERS.c.id == timer_id)).one()


# -- rule timers ---------------------------------------------------------------------------


def test_a_failing_timer_is_undone_alone_and_the_batch_goes_on(
    probed: Engine, clock: FakeClock
) -> None:
    ids = arm(probed, "1", "2", "3", "4", "5")
    FAIL.add("3")
    seen = Recorder(probed)
    clock.advance(minutes=2)

    assert probed.fire_due_timers() == 4
    assert seen.commits == 3  # the claim, the batch, the failure's backoff
    assert fired_refs(probed) == ["1", "2", "4", "5"]
    assert audit_refs(probed) == ["1", "2", "4", "5"]
    assert seen.signals == [("reminder", {"ref": r}) for r in ("1", "2", "4", "5")]
    assert AFTER_COMMIT == ["1", "2", "4", "5"]
    # timer 3 armed the earliest follow-up (1 h; 2 and 4: 2 h): undone with the rest
    assert seen.woken == [clock.now() + timedelta(hours=2)]
    pending = {t.id for t in probed.timers(state=timers.PENDING)}
    assert pending == {timers.rule_id(BATCH, f"{r}-next") for r in ("1", "2", "4", "5")} | {ids[2]}
    for timer_id in (ids[0], ids[1], ids[3], ids[4]):
        row = timer_row(probed, timer_id)
        assert (row.state, row.attempts, row.fired_by) == (timers.FIRED, 0, "embedded")
    failed = timer_row(probed, ids[2])
    assert (failed.state, failed.attempts) == (timers.PENDING, 1)
    assert failed.run_at == clock.now() + timers.backoff(1)
    assert failed.last_error == "batch probe 3 failed"
    assert failed.fired_at is None

    clock.advance(timers.backoff(1))
    FAIL.clear()
    assert probed.fire_due_timers() == 1  # the retry, alone now
    assert fired_refs(probed) == ["1", "2", "4", "5", "3"]
    assert probed.fire_due_timers() == 0


def test_a_timer_that_keeps_failing_in_batches_becomes_an_incident(
    db_url: str, clock: FakeClock
) -> None:
    engine = Engine(db_url, clock=clock, create_schema=True, timer_attempts=2)
    timer_probe.create_table(engine.sa_engine)
    try:
        ids = arm(engine, "1", "2")
        FAIL.add("1")
        seen = Recorder(engine)
        clock.advance(minutes=2)
        assert engine.fire_due_timers() == 1
        clock.advance(timers.backoff(1))
        arm(engine, "5")  # a companion, so the retry fires in a batch again
        clock.advance(minutes=2)
        assert engine.fire_due_timers() == 1
        [incident] = engine.timers(state=timers.INCIDENT)
        assert (incident.id, incident.attempts) == (ids[0], 2)
        assert fired_refs(engine) == ["2", "5"]
        assert seen.signals[:2] == [("reminder", {"ref": "2"}), ("reminder", {"ref": "5"})]
        assert [name for name, _ in seen.signals[2:]] == ["timer_incident"]
        with engine.sa_engine.connect() as conn:
            incidents = conn.scalars(
                sa.select(AuditEntry.detail).where(AuditEntry.action == "timer_incident")
            ).all()
        assert [d["timer_id"] for d in incidents] == [ids[0]]
    finally:
        engine.dispose()


def test_a_failed_orm_flush_is_undone_alone(probed: Engine, clock: FakeClock) -> None:
    ids = arm(probed, "1", "2", "3")
    DUPLICATE.add("2")  # IntegrityError: the session rolls the savepoint back itself
    seen = Recorder(probed)
    clock.advance(minutes=2)

    assert probed.fire_due_timers() == 2
    assert seen.commits == 3  # the claim, the batch, the failure's backoff
    assert fired_refs(probed) == ["1", "3"]
    assert AFTER_COMMIT == ["1", "3"]
    failed = timer_row(probed, ids[1])
    assert (failed.state, failed.attempts) == (timers.PENDING, 1)


def test_a_database_error_makes_the_batch_fire_one_by_one(probed: Engine, clock: FakeClock) -> None:
    arm(probed, "1", "2", "3", "4", "5")
    DB_ERROR_ONCE.add("4")  # after 1-3 fired in the batch's transaction
    seen = Recorder(probed)
    clock.advance(minutes=2)

    assert probed.fire_due_timers() == 5
    assert seen.commits == 1 + 5  # the claim; the batch rolled back; five alone
    assert fired_refs(probed) == ["1", "2", "3", "4", "5"]
    assert audit_refs(probed) == ["1", "2", "3", "4", "5"]
    assert AFTER_COMMIT == ["1", "2", "3", "4", "5"]
    assert [payload["ref"] for _, payload in seen.signals] == ["1", "2", "3", "4", "5"]
    assert {t.attempts for t in probed.timers(state=timers.FIRED)} == {0}


def test_batches_fire_in_due_order_per_transaction(probed: Engine, clock: FakeClock) -> None:
    refs = [str(n) for n in range(1, 8)]
    arm(probed, *refs)
    seen = Recorder(probed)
    clock.advance(minutes=2)
    # claims of 5: 3 timers per transaction -> [3, 2] and [2]
    assert probed.fire_due_timers(limit=5, per_transaction=3) == 7
    assert seen.commits == 2 + 3
    assert fired_refs(probed) == refs


# -- savepoints ----------------------------------------------------------------------------


def test_a_savepoint_keeps_orm_writes_when_it_succeeds_and_undoes_all_when_it_raises(
    probed: Engine, clock: FakeClock
) -> None:
    def timer(ref: str) -> Timer:
        return Timer(
            id=f"orm:{ref}",
            kind="rule",
            rule=BATCH,
            ref=ref,
            due_at=clock.now(),
            run_at=clock.now(),
            state=timers.PENDING,
            attempts=0,
            created_at=clock.now(),
        )

    with probed.runtime.call() as call:
        call.session.add(timer("before"))  # pending in the call's own session
        call.signal("reminder", ref="before")
        with call.savepoint():
            call.session.add(timer("kept"))
            call.timer_armed(clock.now() + timedelta(hours=1))

        def fail_after_everything() -> None:
            call.session.add(timer("undone"))
            call.session.flush()
            call.signal("reminder", ref="undone")
            call.after_commit.append(lambda: AFTER_COMMIT.append("undone"))
            call.created_tasks.append({"id": "undone"})
            call.open_tasks = ("undone",)
            call.actor = "someone"
            call.timer_armed(clock.now())
            raise RuntimeError("undo me")

        with pytest.raises(RuntimeError, match="undo me"), call.savepoint():
            fail_after_everything()
        assert call.signals == [("reminder", {"ref": "before"})]
        assert (call.after_commit, call.created_tasks, call.open_tasks, call.actor) == (
            [],
            [],
            None,
            None,
        )
        assert call.earliest_timer == clock.now() + timedelta(hours=1)
        call.session.add(timer("after"))
    with probed.sa_engine.connect() as conn:
        stored = set(conn.scalars(sa.select(TIMERS.c.id).where(TIMERS.c.id.like("orm:%"))))
    assert stored == {"orm:before", "orm:kept", "orm:after"}
    assert AFTER_COMMIT == []


# -- BPMN timers ---------------------------------------------------------------------------

TWO_TIMERS = (
    textwrap.dedent(
        """\
        <?xml version="1.0" encoding="UTF-8"?>
        <bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
            xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="x">
          <bpmn:process id="two_timers" isExecutable="true">
            <bpmn:startEvent id="start" />
            <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="fork" />
            <bpmn:parallelGateway id="fork" />
            <bpmn:sequenceFlow id="f2" sourceRef="fork" targetRef="review" />
            <bpmn:sequenceFlow id="f3" sourceRef="fork" targetRef="wait_an_hour" />
            <bpmn:sequenceFlow id="f4" sourceRef="fork" targetRef="wait_two_hours" />
            <bpmn:userTask id="review" name="审查" camunda:assignee="zhangwei"
                camunda:dueDate="${working_days(1)}" />
            <bpmn:intermediateCatchEvent id="wait_an_hour">
              <bpmn:timerEventDefinition>
                <bpmn:timeDuration>PT1H</bpmn:timeDuration>
              </bpmn:timerEventDefinition>
            </bpmn:intermediateCatchEvent>
            <bpmn:intermediateCatchEvent id="wait_two_hours">
              <bpmn:timerEventDefinition>
                <bpmn:timeDuration>PT2H</bpmn:timeDuration>
              </bpmn:timerEventDefinition>
            </bpmn:intermediateCatchEvent>
            <bpmn:sequenceFlow id="f5" sourceRef="wait_an_hour" targetRef="after_an_hour" />
            <bpmn:sequenceFlow id="f6" sourceRef="wait_two_hours" targetRef="after_two_hours" />
            <bpmn:userTask id="after_an_hour" name="一小时后" camunda:assignee="zhangwei" />
            <bpmn:userTask id="after_two_hours" name="两小时后" camunda:assignee="zhangwei" />
            <bpmn:sequenceFlow id="f7" sourceRef="review" targetRef="join" />
            <bpmn:sequenceFlow id="f8" sourceRef="after_an_hour" targetRef="join" />
            <bpmn:sequenceFlow id="f9" sourceRef="after_two_hours" targetRef="join" />
            <bpmn:parallelGateway id="join" />
            <bpmn:sequenceFlow id="f10" sourceRef="join" targetRef="end" />
            <bpmn:endEvent id="end" />
          </bpmn:process>
        </bpmn:definitions>
        """
    )
).encode()


@pytest.fixture
def two_timers(db_url: str, clock: FakeClock) -> Iterator[Engine]:
    engine = make_engine(db_url, clock)
    engine.deploy([SourceFile("two_timers.bpmn", TWO_TIMERS)])
    yield engine
    engine.dispose()


def case_timers(engine: Engine, case_id: int) -> dict[str, tuple[str | None, str]]:
    """(rule or element, state) of the case's timers by id."""
    with engine.sa_engine.connect() as conn:
        return {
            row.id: (row.rule or row.element_id, row.state)
            for row in conn.execute(
                sa.select(TIMERS.c.id, TIMERS.c.rule, TIMERS.c.element_id, TIMERS.c.state).where(
                    TIMERS.c.case_id == case_id
                )
            )
        }


def fire_together(engine: Engine) -> tuple[int, list[timers.Failure]]:
    """Claim every due timer and fire them all in one transaction (BPMN ones included,
    which ``fire_due_timers`` fires one per transaction)."""
    with engine.runtime.call() as call:
        due = timers.claim(call.conn, "together", call.now, 100)
    with engine.runtime.call() as call:
        return timers.fire_many(call, due, "together")


def test_bpmn_and_rule_timers_of_one_case_fire_right_in_one_transaction(
    two_timers: Engine, clock: FakeClock
) -> None:
    engine = two_timers
    case = engine.start_case("two_timers", "T-1", actor="window01")
    armed = case_timers(engine, case.id)
    assert sorted(what for what, _ in armed.values()) == [
        "task_overdue",
        "task_yellow",
        "wait_an_hour",
        "wait_two_hours",
    ]
    seen = Recorder(engine)
    clock.advance(days=2)  # every one is due

    # in due order: the first BPMN timer takes the case from the cache, runs it on and
    # fires both of its timers (2); the second then finds its row fired (0); the yellow
    # card (1); the overdue rule checks the case out again — the cache handed it out
    # already, so from the rows the first firing wrote in this transaction (1)
    assert fire_together(engine) == (4, [])
    assert seen.commits == 2  # the claim and the batch
    states = case_timers(engine, case.id)
    assert {states[timer_id] for timer_id in armed} == {
        (what, timers.FIRED) for what, _ in armed.values()
    }
    assert sorted(a.element_id for a in engine.history("T-1") if a.action == "timer") == [
        "wait_an_hour",
        "wait_two_hours",
    ]
    assert [c.color for c in engine.cards(case="T-1")] == ["red"]
    assert sorted(t.element_id for t in engine.tasks(case="T-1")) == [
        "after_an_hour",
        "after_two_hours",
        "review",
    ]
    # the cache holds the committed workflow, at the committed row version
    hits = engine.runtime.workflows.hits
    summary = engine.get_case("T-1", with_history=False)
    assert engine.runtime.workflows.hits == hits + 1
    assert summary.row_version == case.row_version + 1  # one firing saved the case
    restore_roundtrip(engine, "T-1")
    for element in ("after_an_hour", "after_two_hours", "review"):
        act(engine, "T-1", element, "zhangwei")
    assert engine.get_case("T-1").status == "completed"


def test_a_bpmn_firing_that_fails_after_saving_is_undone_alone(
    two_timers: Engine, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = two_timers
    first = engine.start_case("two_timers", "T-1", actor="window01")
    engine.start_case("two_timers", "T-2", actor="window01")
    clock.advance(minutes=90)  # the one-hour timers of both cases

    from engine import instances

    real = instances.fire_timers

    def fire_timers(call: Call, case: Any) -> int:
        fired = real(call, case)  # the case ran on and was saved …
        if case.id == first.id:
            raise RuntimeError("T-1 broke after saving")  # … and is undone
        return fired

    monkeypatch.setattr(instances, "fire_timers", fire_timers)
    fired, failures = fire_together(engine)
    monkeypatch.undo()

    assert fired == 1  # T-2's (the review's cards come later)
    assert [(f.timer.case_id, str(f.error)) for f in failures] == [
        (first.id, "T-1 broke after saving")
    ]
    assert [t.element_id for t in engine.tasks(case="T-1") if t.element_id != "review"] == []
    assert [t.element_id for t in engine.tasks(case="T-2") if t.element_id != "review"] == [
        "after_an_hour"
    ]
    assert engine.get_case("T-1").row_version == first.row_version  # rolled back
    assert [a.action for a in engine.history("T-1")].count("timer") == 0
    restore_roundtrip(engine, "T-1")  # the workflow T-1's firing changed was not kept
    restore_roundtrip(engine, "T-2")

    clock.advance(timers.LEASE + timedelta(seconds=1))  # no failure recorded: the lease ends
    assert engine.fire_due_timers() == 1  # T-1's
    assert [t.element_id for t in engine.tasks(case="T-1") if t.element_id != "review"] == [
        "after_an_hour"
    ]


def test_bpmn_timers_fire_one_per_transaction_between_batches_of_rule_timers(
    two_timers: Engine, clock: FakeClock
) -> None:
    engine = two_timers
    engine.start_case("two_timers", "T-1", actor="window01")
    seen = Recorder(engine)
    clock.advance(days=2)
    # the claim, then [first BPMN timer: fires both] [second: already fired] and the
    # two rule timers together: [yellow, overdue]
    assert engine.fire_due_timers() == 4
    assert seen.commits == 1 + 3
    assert sorted(t.element_id for t in engine.tasks(case="T-1")) == [
        "after_an_hour",
        "after_two_hours",
        "review",
    ]
    restore_roundtrip(engine, "T-1")


def test_claimed_timers_are_grouped_in_order_rule_timers_together_bpmn_alone() -> None:
    def due(name: str) -> timers.DueTimer:
        rule = None if name.startswith("b") else BATCH
        return timers.DueTimer(name, None, None, "rule", rule, name, datetime.now(UTC), 0)

    names = ["r1", "r2", "r3", "b1", "r4", "b2", "b3", "r5", "r6", "r7", "r8"]
    grouped = [[t.id for t in g] for g in timers.groups([due(n) for n in names], size=3)]
    assert grouped == [
        ["r1", "r2", "r3"],
        ["b1"],
        ["r4"],
        ["b2"],
        ["b3"],
        ["r5", "r6", "r7"],
        ["r8"],
    ]


# -- two workers whose batches overlap (PostgreSQL) ----------------------------------------


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what}")
        time.sleep(0.02)


@pytest.mark.postgres
def test_overlapping_batches_that_deadlock_fire_each_timer_once(
    pg_url: str, clock: FakeClock
) -> None:
    """Two workers hold the same five timers (a lease was retaken) and fire them in
    opposite orders: they deadlock; PostgreSQL aborts one batch, which then fires its
    timers one by one and finds them fired."""
    url = f"{pg_url}&application_name={APP}"
    engine = Engine(url, clock=clock, create_schema=True)
    other = Engine(url, clock=clock)
    timer_probe.create_table(engine.sa_engine)
    try:
        arm(engine, "1", "2", "3", "4", "5")
        clock.advance(minutes=2)
        with engine.runtime.call() as call:
            due = timers.claim(call.conn, "first", call.now, 10)
        assert [t.ref for t in due] == ["1", "2", "3", "4", "5"]
        reached, go = GATES["3"] = (threading.Event(), threading.Event())
        results: dict[str, int] = {}

        def run(name: str, eng: Engine, order: list[timers.DueTimer]) -> None:
            results[name] = eng._fire_timers(order, name)

        first = threading.Thread(target=run, args=("first", engine, due), name="first")
        second = threading.Thread(target=run, args=("second", other, due[::-1]), name="second")
        first.start()  # fires 1, 2 and waits in 3 holding their row locks
        assert reached.wait(timeout=30)
        second.start()  # fires 5, 4, then waits for 3's row lock
        wait_until(lambda: waiting_on_locks(engine) == 1, "the second batch to wait")
        go.set()  # the first goes on to 4: held by the second -> deadlock
        first.join(timeout=60)
        second.join(timeout=60)
        assert not first.is_alive() and not second.is_alive()

        assert sorted(fired_refs(engine)) == ["1", "2", "3", "4", "5"]  # once each
        assert results["first"] + results["second"] == 5
        assert {t.state for t in engine.timers() if t.id in {d.id for d in due}} == {timers.FIRED}
        with engine.sa_engine.connect() as conn:
            disagreeing = conn.scalar(
                sa.select(sa.func.count())
                .select_from(TIMERS.join(PROBES, PROBES.c.timer_id == TIMERS.c.id))
                .where(TIMERS.c.fired_by != PROBES.c.worker)
            )
        assert disagreeing == 0
    finally:
        other.dispose()
        engine.dispose()


APP = "xiaoneng_timer_batches"


def waiting_on_locks(engine: Engine) -> int:
    """Sessions of this test waiting for a lock."""
    with engine.sa_engine.connect() as conn:
        return int(
            conn.scalar(
                sa.text(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE application_name = :app AND wait_event_type = 'Lock'"
                ),
                {"app": APP},
            )
        )
