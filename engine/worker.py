"""The timer worker: sleeps until the next timer is due, then fires what is due.

``xiaoneng worker`` runs one :class:`TimerWorker` in its own process (production: as
many as you like, on PostgreSQL); ``xiaoneng serve`` runs one inside the web process on
SQLite (embedded mode). The worker does not poll at a fixed interval: an APScheduler job
is set for the earliest pending timer and moved whenever an earlier one is armed —

* in the same process, the engine tells its listeners after each commit;
* across processes on PostgreSQL, engine calls ``NOTIFY xiaoneng_timers`` in the
  transaction that arms a timer due within ``TIMER_HORIZON`` and the worker ``LISTEN``s.

As a safety net a sleeping worker looks again at least every ``TIMER_HORIZON`` (a lost
notification, a timer armed by hand in SQL). Timers that came due while no worker ran
fire at once on start, in due order. Exactly-once firing is the timer service's job
(``engine.timers``); any number of workers may run.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
from datetime import UTC, datetime, timedelta
from types import FrameType
from typing import TYPE_CHECKING

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.date import DateTrigger

from engine import timers
from engine.runtime import TIMER_CHANNEL, TIMER_HORIZON

if TYPE_CHECKING:
    from engine.api import Engine

log = logging.getLogger(__name__)

RETRY_AFTER_ERROR = timedelta(seconds=5)
_JOB = "fire-due-timers"


class TimerWorker:
    """Fires due timers of one engine, waking exactly when the next one is due.

    Args:
        engine: the engine whose timers to fire.
        name: the worker's name in leases and fired rows (default host:pid).
        batch: timers claimed per transaction.
        lease: how long a claimed timer stays reserved for this worker; a worker that
            dies holding leases delays those timers by at most this long.
        max_sleep: the longest sleep without looking at the timers.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        name: str | None = None,
        batch: int = 100,
        lease: timedelta = timers.LEASE,
        max_sleep: timedelta = TIMER_HORIZON,
    ) -> None:
        self.engine = engine
        self.name = name or f"{socket.gethostname()}:{os.getpid()}"
        self.batch = batch
        self.lease = lease
        self.max_sleep = max_sleep
        self.fired = 0
        self.scheduler = BackgroundScheduler(timezone=UTC)
        self._lock = threading.Lock()
        self._running = False  # a firing round is under way
        self._again = False  # a timer was armed during the round: go round once more
        self._next: datetime | None = None  # when the job is set to run
        self._armed: datetime | None = None  # earliest timer armed during a round
        self._stop = threading.Event()
        self._listener: threading.Thread | None = None

    # -- life cycle --------------------------------------------------------------------------

    def start(self) -> None:
        """Start in background threads; overdue timers fire at once."""
        self.engine.runtime.timer_listeners.append(self.notify)
        self.scheduler.start()
        if self.engine.sa_engine.dialect.name == "postgresql":
            self._listener = threading.Thread(
                target=self._listen, name="xiaoneng-timer-listen", daemon=True
            )
            self._listener.start()
        self._wake(_utcnow())
        log.info("timer worker %s started", self.name)

    def stop(self) -> None:
        """Stop after the round under way (if any) has finished."""
        self._stop.set()
        if self.notify in self.engine.runtime.timer_listeners:
            self.engine.runtime.timer_listeners.remove(self.notify)
        if self.scheduler.running:
            self.scheduler.shutdown(wait=True)
        if self._listener is not None:
            self._listener.join(timeout=5)
        log.info("timer worker %s stopped after firing %d timers", self.name, self.fired)

    def run_forever(self) -> None:
        """Run until SIGINT or SIGTERM (``xiaoneng worker``)."""

        def on_signal(signum: int, _frame: FrameType | None) -> None:
            log.info("timer worker %s: signal %d, stopping", self.name, signum)
            self._stop.set()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        self.start()
        try:
            self._stop.wait()
        finally:
            self.stop()

    @property
    def next_wake(self) -> datetime | None:
        """When the worker will next look at the timers."""
        return self._next

    # -- waking --------------------------------------------------------------------------------

    def notify(self, run_at: datetime) -> None:
        """A timer was armed to run at ``run_at``: wake by then."""
        with self._lock:
            if self._running:
                # the round may have read the next moment already: it takes this one too
                if self._armed is None or run_at < self._armed:
                    self._armed = run_at
                return
            if self._next is not None and self._next <= run_at:
                return
        self._wake(run_at)

    def _wake(self, moment: datetime) -> None:
        if self._stop.is_set():
            return
        with self._lock:
            if self._running:
                self._again = True
                return
            self._schedule(moment)

    def _schedule(self, moment: datetime) -> None:
        """Set the job to run at ``moment`` (caller holds the lock)."""
        moment = min(moment, _utcnow() + self.max_sleep)
        self._next = moment
        if self._stop.is_set() or not self.scheduler.running:
            return
        self.scheduler.add_job(
            self._round,
            trigger=DateTrigger(run_date=moment, timezone=UTC),
            id=_JOB,
            replace_existing=True,
            misfire_grace_time=None,
            coalesce=True,
            # the next run may come due while this one is still returning: never skip it
            max_instances=2,
        )

    def _round(self) -> None:
        """Fire everything due, then sleep until the next timer."""
        with self._lock:
            if self._running:
                return  # a round is under way: it goes on while anything is due
            self._running = True
            self._again = False
            self._armed = None
        retry_at: datetime | None = None
        rounds = 0
        while not self._stop.is_set():
            rounds += 1
            try:
                self.fired += self.engine.fire_due_timers(
                    worker=self.name, limit=self.batch, lease=self.lease
                )
                upcoming = self.engine.next_timer_at()
            except Exception:  # the database went away: log it and try again shortly
                log.exception("timer worker %s: firing round failed", self.name)
                retry_at = _utcnow() + RETRY_AFTER_ERROR
                upcoming = None
            with self._lock:
                if retry_at is None:
                    if self._again:
                        self._again = False
                        continue
                    # due already (armed meanwhile, or more than one batch): go on at once
                    if upcoming is not None and upcoming <= _utcnow() and rounds < 50:
                        continue
                self._running = False
                moment = retry_at or upcoming or _utcnow() + self.max_sleep
                if self._armed is not None and self._armed < moment:
                    moment = self._armed
                self._armed = None
                if moment <= _utcnow():
                    # still due after many rounds: a clock ahead of ours; look again shortly
                    moment = _utcnow() + timedelta(milliseconds=200)
                self._schedule(moment)
                return

    # -- PostgreSQL LISTEN ------------------------------------------------------------------

    def _listen(self) -> None:
        import psycopg

        url = self.engine.sa_engine.url.set(drivername="postgresql")
        conninfo = url.render_as_string(hide_password=False)
        while not self._stop.is_set():
            try:
                with psycopg.connect(conninfo, autocommit=True) as conn:
                    conn.execute(f"LISTEN {TIMER_CHANNEL}")
                    # notifications sent while not listening are lost: look now
                    self._wake(_utcnow())
                    while not self._stop.is_set():
                        # the timeout only bounds how long stop() waits for this thread
                        for note in conn.notifies(timeout=1.0):
                            self.notify(_parse_moment(note.payload))
            except psycopg.Error:
                log.warning("timer worker %s: LISTEN connection lost", self.name, exc_info=True)
                self._stop.wait(RETRY_AFTER_ERROR.total_seconds())


def _parse_moment(payload: str) -> datetime:
    try:
        moment = datetime.fromisoformat(payload)
    except ValueError:
        return _utcnow()
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _utcnow() -> datetime:
    # the worker sleeps on wall time (APScheduler does); the engine's clock decides what
    # is due — in production both are the system clock
    from engine.clock import SystemClock

    return SystemClock().now()
