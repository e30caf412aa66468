"""Rule timers for the worker tests, importable by worker subprocesses too.

``test_probe`` writes one row into ``timer_probe`` per firing, in the firing's own
transaction (a firing that rolls back leaves no row). ``test_flaky`` does the same but
raises while :data:`FAILING` is true.
"""

from __future__ import annotations

import sqlalchemy as sa

from engine import timers
from engine.runtime import Call
from engine.store.models import UTCDateTime

PROBE = "test_probe"
FLAKY = "test_flaky"
WORKER = "in-process"  # a worker subprocess sets its own name here
FAILING = False  # test_flaky raises while this is true

metadata = sa.MetaData()
PROBES = sa.Table(
    "timer_probe",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("timer_id", sa.String(120), nullable=False),
    sa.Column("due_at", UTCDateTime(), nullable=False),
    sa.Column("fired_at", UTCDateTime(), nullable=False),
    sa.Column("worker", sa.String(100), nullable=False),
)


def create_table(sa_engine: sa.Engine) -> None:
    """Create ``timer_probe`` next to the engine's tables."""
    metadata.create_all(sa_engine)


@timers.rule(PROBE)
def probe(call: Call, timer: timers.DueTimer) -> None:
    """Record the firing."""
    call.conn.execute(
        PROBES.insert().values(
            timer_id=timer.id, due_at=timer.due_at, fired_at=call.now, worker=WORKER
        )
    )


@timers.rule(FLAKY)
def flaky(call: Call, timer: timers.DueTimer) -> None:
    """Fail while FAILING is set, then record the firing like ``probe``."""
    if FAILING:
        raise RuntimeError("the flaky probe is down")
    probe(call, timer)
