"""The timer worker with real processes and threads, and the timer service's failure path.

Real worker subprocesses on PostgreSQL (one SIGKILLed mid-run) fire each timer exactly
once; an in-process worker on the system clock sleeps until the next timer and is woken
early by an engine call in its process or, on PostgreSQL, by LISTEN/NOTIFY from another;
a failing rule is retried with backoff, becomes an incident and fires after a retry.
Waits poll the database (or the worker) until a condition holds or a deadline passes.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, cast

import pytest
import sqlalchemy as sa

from engine import Engine, FakeClock, SystemClock, signals, timers
from engine.store.models import AuditEntry, Timer
from engine.worker import TimerWorker
from tests.conftest import ROOT
from tests.engine import timer_probe
from tests.engine.timer_probe import FLAKY, PROBE, PROBES

TIMERS = cast(sa.Table, Timer.__table__)
SYSTEM_CLOCK = SystemClock()  # the workers here run on real time

# a worker process: the probe rules registered, named, killed or stopped by the test
WORKER_SCRIPT = """
import sys
from datetime import timedelta
from engine import Engine
from engine.worker import TimerWorker
from tests.engine import timer_probe

url, name = sys.argv[1], sys.argv[2]
timer_probe.WORKER = name
engine = Engine(url)
TimerWorker(engine, name=name, batch=20, lease=timedelta(seconds=2)).run_forever()
engine.dispose()
"""


def wait_for(condition: Callable[[], Any], what: str, timeout: float = 60) -> Any:
    """Poll ``condition`` until it is truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"gave up after {timeout:.0f} s waiting for {what}")
        time.sleep(0.05)


@pytest.fixture
def probe_engine() -> Iterator[Callable[..., Engine]]:
    """Make engines with the schema and the probe table; dispose them after the test."""
    made: list[Engine] = []

    def make(url: str, *, probe_table: bool = True, **kwargs: Any) -> Engine:
        engine = Engine(url, create_schema=probe_table, **kwargs)
        if probe_table:
            timer_probe.create_table(engine.sa_engine)
        made.append(engine)
        return engine

    yield make
    for engine in made:
        engine.dispose()


def scalar(engine: Engine, stmt: Any) -> Any:
    with engine.sa_engine.connect() as conn:
        return conn.scalar(stmt)


def probes(engine: Engine) -> list[Any]:
    """The probe rows in firing order."""
    with engine.sa_engine.connect() as conn:
        return list(conn.execute(sa.select(PROBES).order_by(PROBES.c.id)).all())


def arm(engine: Engine, ref: str, due_at: datetime, rule: str = PROBE) -> str:
    """Arm a rule timer through an engine call; return its id."""
    with engine.runtime.call() as call:
        return timers.schedule(call, rule=rule, ref=ref, due_at=due_at)


def timer_audit(engine: Engine) -> list[Any]:
    """The audit lines of timer incidents and retries, oldest first."""
    with engine.sa_engine.connect() as conn:
        return list(
            conn.execute(
                sa.select(AuditEntry.action, AuditEntry.detail)
                .where(AuditEntry.action.in_(["timer_incident", "timer_retry"]))
                .order_by(AuditEntry.id)
            ).all()
        )


# -- real worker processes ----------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.slow
def test_worker_processes_fire_each_timer_once_though_one_is_killed(
    pg_url: str, tmp_path: Path, probe_engine: Callable[..., Engine]
) -> None:
    engine = probe_engine(pg_url)
    count = 2000
    now = SYSTEM_CLOCK.now()
    with engine.sa_engine.begin() as conn:
        conn.execute(
            TIMERS.insert(),
            [
                {
                    "id": timers.rule_id(PROBE, str(i)),
                    "kind": "rule",
                    "rule": PROBE,
                    "ref": str(i),
                    "due_at": now - timedelta(seconds=30) + timedelta(milliseconds=i),
                    "run_at": now - timedelta(seconds=30) + timedelta(milliseconds=i),
                    "state": timers.PENDING,
                    "attempts": 0,
                    "created_at": now,
                }
                for i in range(count)
            ],
        )
    fired = sa.select(sa.func.count()).select_from(PROBES)
    processes: dict[str, subprocess.Popen[bytes]] = {}
    try:
        for name in ("w0", "w1", "w2"):
            with (tmp_path / f"{name}.log").open("wb") as log:  # the child keeps its own
                processes[name] = subprocess.Popen(
                    [sys.executable, "-c", WORKER_SCRIPT, pg_url, name],
                    cwd=ROOT,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
        by_w0 = fired.where(PROBES.c.worker == "w0")
        wait_for(lambda: scalar(engine, by_w0) >= 20, "w0 to fire some timers")
        os.kill(processes["w0"].pid, signal.SIGKILL)
        processes["w0"].wait(timeout=30)
        fired_at_kill = scalar(engine, fired)
        assert fired_at_kill < count, "the kill came too late to land mid-run"
        wait_for(lambda: scalar(engine, fired) >= count, "every timer to fire", timeout=120)
        for name in ("w1", "w2"):
            processes[name].send_signal(signal.SIGTERM)
        for name in ("w1", "w2"):
            assert processes[name].wait(timeout=30) == 0, (tmp_path / f"{name}.log").read_text()
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.kill()
                process.wait()

    with engine.sa_engine.connect() as conn:
        per_timer = {
            timer_id: n
            for timer_id, n in conn.execute(
                sa.select(PROBES.c.timer_id, sa.func.count()).group_by(PROBES.c.timer_id)
            )
        }
        states = {
            state: n
            for state, n in conn.execute(
                sa.select(TIMERS.c.state, sa.func.count()).group_by(TIMERS.c.state)
            )
        }
        disagreeing = conn.scalar(
            sa.select(sa.func.count())
            .select_from(TIMERS.join(PROBES, PROBES.c.timer_id == TIMERS.c.id))
            .where(TIMERS.c.fired_by != PROBES.c.worker)
        )
        workers = set(conn.scalars(sa.select(PROBES.c.worker).distinct()))
    assert per_timer == {timers.rule_id(PROBE, str(i)): 1 for i in range(count)}
    assert states == {timers.FIRED: count}
    assert disagreeing == 0  # the row was marked by the worker whose firing committed
    assert workers == {"w0", "w1", "w2"}


# -- an in-process worker on the system clock ----------------------------------------------


LISTENERS = sa.text(
    "SELECT count(*) FROM pg_stat_activity"
    " WHERE datname = current_database() AND query LIKE 'LISTEN xiaoneng_timers%'"
)


def start_worker(engine: Engine, name: str) -> TimerWorker:
    """Start a worker and wait until it sleeps for the safety interval with nothing to do
    (on PostgreSQL: after its LISTEN session is open)."""
    postgres = engine.sa_engine.dialect.name == "postgresql"
    before = scalar(engine, LISTENERS) if postgres else 0
    worker = TimerWorker(engine, name=name)
    worker.start()
    if postgres:
        wait_for(lambda: scalar(engine, LISTENERS) > before, "the worker to LISTEN")

    def asleep_for_long() -> bool:
        wake = worker.next_wake
        return wake is not None and wake > SYSTEM_CLOCK.now() + timedelta(minutes=4)

    wait_for(asleep_for_long, "the worker to sleep for the safety interval")
    return worker


def test_worker_wakes_for_a_timer_armed_in_its_process(
    db_url: str, probe_engine: Callable[..., Engine]
) -> None:
    engine = probe_engine(db_url)
    worker = start_worker(engine, "in-process")
    try:
        due = SYSTEM_CLOCK.now() + timedelta(seconds=1)
        timer_id = arm(engine, "soon", due)
        wake = worker.next_wake
        assert wake is not None and wake <= due  # told after the commit: not 5 min away
        rows = wait_for(lambda: probes(engine), "the timer to fire", timeout=30)
    finally:
        worker.stop()
    assert [(r.timer_id, r.worker) for r in rows] == [(timer_id, "in-process")]
    assert rows[0].fired_at >= due
    view = engine.timers(state=timers.FIRED)[0]
    assert (view.id, view.fired_by) == (timer_id, "in-process")


@pytest.mark.postgres
def test_worker_is_woken_by_a_timer_armed_in_another_process(
    pg_url: str, probe_engine: Callable[..., Engine]
) -> None:
    engine = probe_engine(pg_url)
    # its own pool and no worker: another process, as far as the worker can tell
    other = probe_engine(pg_url, probe_table=False)
    worker = start_worker(engine, "listener")
    heard: list[datetime] = []
    notify = worker.notify

    def recording(run_at: datetime) -> None:  # only the LISTEN thread calls it now
        heard.append(run_at)
        notify(run_at)

    worker.notify = recording  # type: ignore[method-assign]
    try:
        due = SYSTEM_CLOCK.now() + timedelta(seconds=2)
        timer_id = arm(other, "from-afar", due)
        wait_for(lambda: due in heard, "the NOTIFY of the other engine", timeout=10)
        wake = worker.next_wake
        assert wake is not None and wake <= due
        rows = wait_for(lambda: probes(engine), "the timer to fire", timeout=30)
    finally:
        worker.stop()
    assert [(r.timer_id, r.worker) for r in rows] == [(timer_id, "in-process")]
    assert rows[0].fired_at >= due


# -- failures, incidents, catching up (fake clock) -----------------------------------------


def test_failing_rule_is_retried_with_backoff_then_becomes_an_incident(
    db_url: str,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
    probe_engine: Callable[..., Engine],
) -> None:
    engine = probe_engine(db_url, clock=clock, timer_attempts=2)
    monkeypatch.setattr(timer_probe, "FAILING", True)
    timer_id = arm(engine, "case-7", clock.now() + timedelta(minutes=1), rule=FLAKY)
    incidents: list[dict[str, Any]] = []

    def on_incident(_sender: str, **event: Any) -> None:
        incidents.append(event)

    clock.advance(minutes=1)
    with signals.timer_incident.connected_to(on_incident):
        assert engine.fire_due_timers() == 0
        [first] = engine.timers(state=timers.PENDING)
        assert (first.id, first.attempts) == (timer_id, 1)
        assert first.run_at == clock.now() + timers.backoff(1)
        assert first.last_error == "the flaky probe is down"
        assert engine.fire_due_timers() == 0  # not before the backoff has passed
        assert engine.timers(state=timers.PENDING)[0].attempts == 1

        clock.advance(timers.backoff(1))
        assert engine.fire_due_timers() == 0
        [incident] = engine.timers(state=timers.INCIDENT)
        assert (incident.id, incident.attempts) == (timer_id, 2)
        assert incidents == [
            {"timer_id": timer_id, "case_id": None, "error": "the flaky probe is down"}
        ]
        clock.advance(hours=2)
        assert engine.fire_due_timers() == 0  # an incident waits for an admin
    assert probes(engine) == []
    assert [(a.action, a.detail["timer_id"]) for a in timer_audit(engine)] == [
        ("timer_incident", timer_id)
    ]

    monkeypatch.setattr(timer_probe, "FAILING", False)
    retried = engine.retry_timer(timer_id, actor="admin")
    assert (retried.state, retried.attempts, retried.run_at) == (timers.PENDING, 0, clock.now())
    assert engine.fire_due_timers() == 1
    assert engine.fire_due_timers() == 0
    assert [r.timer_id for r in probes(engine)] == [timer_id]
    assert engine.timers(state=timers.FIRED)[0].id == timer_id
    assert [(a.action, a.detail["timer_id"]) for a in timer_audit(engine)] == [
        ("timer_incident", timer_id),
        ("timer_retry", timer_id),
    ]


def test_timers_that_came_due_meanwhile_fire_in_due_order(
    db_url: str, clock: FakeClock, probe_engine: Callable[..., Engine]
) -> None:
    engine = probe_engine(db_url, clock=clock)
    start = clock.now()
    minutes = [30, 10, 50, 20, 40, 5, 45]
    for m in minutes:
        arm(engine, f"m{m}", start + timedelta(minutes=m))
    clock.advance(hours=2)  # nothing ran meanwhile
    assert engine.fire_due_timers(limit=3) == len(minutes)  # three claims
    rows = probes(engine)
    assert [r.due_at for r in rows] == [start + timedelta(minutes=m) for m in sorted(minutes)]
    assert all(r.fired_at == clock.now() for r in rows)
    assert engine.fire_due_timers() == 0
