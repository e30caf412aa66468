"""Process-wide state of an engine and the transaction of one engine call.

A :class:`Runtime` holds what lives longer than a call: the session factory, the
clock, parsed definitions and deserialized workflows (both caches are only
optimisations: dropping them changes nothing but speed). A :class:`Call` is one engine
call: one session, one transaction, one "now", and work to do after commit.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, text
from sqlalchemy.engine import Engine as SAEngine
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError, PendingRollbackError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from engine.clock import Clock, SystemClock
from engine.errors import ConflictError
from engine.store.serializer import Snapshot, StateCodec
from engine.workflow import engine_now

# PostgreSQL channel on which a call announces a timer armed to run soon (LISTEN/NOTIFY)
TIMER_CHANNEL = "xiaoneng_timers"
# a sleeping worker looks at the timers at least this often; sooner timers are announced
TIMER_HORIZON = timedelta(minutes=5)


@dataclass
class CachedWorkflow:
    """A deserialized workflow and what the database holds of it at ``row_version``."""

    row_version: int
    workflow: Any
    snapshot: Snapshot
    # what the database holds at row_version: open human-task ids, pending timer dues
    # (None: not known, read from the database when needed)
    open_tasks: frozenset[str] | None = None
    timers: dict[str, Any] | None = None


class WorkflowCache:
    """An LRU of deserialized workflows keyed by case id, valid for one row version.

    Workflows are mutable and not thread-safe, so the cache hands an entry out at most
    once (:meth:`take` removes it); the call that took it puts the new state back only
    after its transaction committed. A failed call never returns its workflow.
    """

    def __init__(self, capacity: int = 2000) -> None:
        self.capacity = capacity
        self._items: OrderedDict[int, CachedWorkflow] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def take(self, case_id: int, row_version: int) -> CachedWorkflow | None:
        """Remove and return the entry for ``case_id`` if it is at ``row_version``."""
        with self._lock:
            entry = self._items.pop(case_id, None)
            if entry is not None and entry.row_version == row_version:
                self.hits += 1
                return entry
            self.misses += 1
            return None

    def put(self, case_id: int, entry: CachedWorkflow) -> None:
        """Store the state committed at ``entry.row_version``."""
        if self.capacity <= 0:
            return
        with self._lock:
            self._items[case_id] = entry
            self._items.move_to_end(case_id)
            while len(self._items) > self.capacity:
                self._items.popitem(last=False)

    def discard(self, case_id: int) -> None:
        """Forget the case (e.g. after an administrative change)."""
        with self._lock:
            self._items.pop(case_id, None)

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self._items.clear()


class Call:
    """One engine call: one connection inside one transaction, one "now".

    Hot paths use ``conn`` (Core statements); ``session`` is an ORM session on the same
    connection and transaction, created on first use and flushed before the commit.
    :meth:`savepoint` runs a part of the call that may fail alone (one of several timers).
    """

    __slots__ = (
        "_session",
        "actor",
        "after_commit",
        "checkout",
        "conn",
        "created_tasks",
        "earliest_timer",
        "now",
        "open_tasks",
        "runtime",
        "signals",
    )

    def __init__(self, conn: Connection, runtime: Runtime, now: datetime) -> None:
        self.conn = conn
        self.runtime = runtime
        self.now = now
        self.after_commit: list[Callable[[], None]] = []
        # the case's open human tasks after the last save of this call (None: not saved)
        self.open_tasks: tuple[str, ...] | None = None
        # human-task rows inserted by this call (as written)
        self.created_tasks: list[dict[str, Any]] = []
        # the earliest moment a timer was armed for in this call (wakes the workers)
        self.earliest_timer: datetime | None = None
        # (signal name, payload) sent to subscribers after the commit
        self.signals: list[tuple[str, dict[str, Any]]] = []
        # the case checkout whose engine steps run now (instances.Checkout)
        self.checkout: Any = None
        # who acts in this call (the completer of a task), for diagram helpers' records
        self.actor: str | None = None
        self._session: Session | None = None

    def timer_armed(self, run_at: datetime) -> None:
        """Note that a timer will run at ``run_at`` (workers are told after the commit)."""
        if self.earliest_timer is None or run_at < self.earliest_timer:
            self.earliest_timer = run_at

    def signal(self, signal_name: str, /, **payload: Any) -> None:
        """Send the signal ``signal_name`` to its subscribers once this call has committed."""
        self.signals.append((signal_name, payload))

    @property
    def session(self) -> Session:
        """The ORM session of this call (same connection, same transaction)."""
        if self._session is None:
            self._session = Session(
                bind=self.conn,
                autoflush=False,
                expire_on_commit=False,
                # join the connection's current transaction (or savepoint) and never end
                # it: the default would open a savepoint of its own inside ours, which
                # close() rolls back
                join_transaction_mode="rollback_only",
            )
        return self._session

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """Run a part of this call in a SAVEPOINT; if it raises, undo only that part.

        Undone: its writes, and what it queued for after the commit (signals, actions such
        as putting workflows back in the cache, the earliest armed timer, created task
        rows). The ORM session is scoped to the savepoint: flushed and closed at its end
        (or discarded), so no object loaded or changed inside outlives a rollback.
        """
        self._end_session(flush=True)
        signals, actions, created = (
            len(self.signals),
            len(self.after_commit),
            len(self.created_tasks),
        )
        earliest, open_tasks, checkout, actor = (
            self.earliest_timer,
            self.open_tasks,
            self.checkout,
            self.actor,
        )
        nested = self.conn.begin_nested()
        try:
            yield
            self._end_session(flush=True)
        except BaseException:
            self._end_session(flush=False)
            del self.signals[signals:]
            del self.after_commit[actions:]
            del self.created_tasks[created:]
            # the earliest timer armed before the savepoint: later armings were undone
            self.earliest_timer = earliest
            self.open_tasks, self.checkout, self.actor = open_tasks, checkout, actor
            if nested.is_active:
                nested.rollback()  # raises if the whole transaction is gone
            raise
        nested.commit()

    def _end_session(self, *, flush: bool) -> None:
        if self._session is not None:
            session, self._session = self._session, None
            try:
                if flush:
                    session.flush()
            finally:
                session.close()

    def _finish(self) -> None:
        if self._session is not None:
            self._session.flush()
        soon = self.earliest_timer
        if (
            soon is not None
            and soon <= self.now + TIMER_HORIZON
            and self.conn.dialect.name == "postgresql"
        ):
            # delivered at commit, only if the transaction commits
            self.conn.execute(
                text("SELECT pg_notify(:channel, :payload)"),
                {"channel": TIMER_CHANNEL, "payload": soon.isoformat()},
            )

    def _close(self) -> None:
        if self._session is not None:
            self._session.close()


current_call: ContextVar[Call | None] = ContextVar("current_call", default=None)


class Runtime:
    """Long-lived parts of an engine: connections, clock, caches, codec."""

    def __init__(
        self,
        sa_engine: SAEngine,
        *,
        clock: Clock | None = None,
        workflow_cache_size: int = 2000,
    ) -> None:
        self.sa_engine = sa_engine
        self.sessions = sessionmaker(sa_engine, expire_on_commit=False, autoflush=False)
        self.clock: Clock = clock or SystemClock()
        self.codec = StateCodec()
        self.workflows = WorkflowCache(workflow_cache_size)
        self.definitions: dict[int, Any] = {}
        self.definitions_lock = threading.Lock()
        # set by the Engine: the working-day calendar, read on the given connection
        self.calendar: Callable[[Connection], Any] | None = None
        # in-process timer workers: told of a timer armed to run soon (after the commit)
        self.timer_listeners: list[Callable[[datetime], None]] = []
        # the supervision rules (engine.supervision.SupervisionRules, set by the Engine)
        self.supervision: Any = None
        # delivers the signals of a committed call (set by the Engine)
        self.send_signal: Callable[[str, dict[str, Any]], None] | None = None

    @contextmanager
    def call(self, *, readonly: bool = False) -> Iterator[Call]:
        """Run one engine call in one transaction; map lost races to ConflictError.

        ``readonly`` calls take no write lock on SQLite (a deferred BEGIN: readers do not
        wait for writers in WAL mode); they must not write.
        """
        call: Call | None = None
        try:
            with (
                self.sa_engine.connect().execution_options(xiaoneng_readonly=readonly) as conn,
                conn.begin(),
            ):
                call = Call(conn, self, self.clock.now())
                token = engine_now.set(call.now)  # SpiffWorkflow's timers read this clock
                call_token = current_call.set(call)  # diagram helpers read the case through it
                try:
                    yield call
                    call._finish()
                finally:
                    current_call.reset(call_token)
                    engine_now.reset(token)
                    call._close()
        except StaleDataError as exc:
            raise ConflictError(
                "the case or task was changed by someone else at the same time; reload and retry"
            ) from exc
        except IntegrityError as exc:
            raise ConflictError(
                "a conflicting change was saved at the same time (duplicate or stale row); "
                f"reload and retry ({str(exc.orig).splitlines()[0]})"
            ) from exc
        except OperationalError as exc:
            if _is_lock_conflict(exc):
                raise ConflictError("the database is busy with a conflicting change") from exc
            raise
        assert call is not None  # noqa: S101  (the with block ran)
        for action in call.after_commit:
            action()
        if call.earliest_timer is not None:
            for listener in list(self.timer_listeners):
                listener(call.earliest_timer)
        if call.signals and self.send_signal is not None:
            for name, payload in call.signals:
                self.send_signal(name, payload)

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only session (still one transaction, rolled back at the end)."""
        session = self.sessions()
        try:
            # a deferred BEGIN on SQLite: readers do not queue behind writers (WAL)
            session.connection(execution_options={"xiaoneng_readonly": True})
            yield session
        finally:
            session.rollback()
            session.close()


def aborts_transaction(exc: BaseException) -> bool:
    """True when ``exc`` may have ended the whole transaction, not only a savepoint:
    a lost connection, a deadlock or serialization failure, SQLite's busy lock."""
    if isinstance(exc, DBAPIError):
        return exc.connection_invalidated or isinstance(exc, OperationalError)
    return isinstance(exc, PendingRollbackError)


def _is_lock_conflict(exc: OperationalError) -> bool:
    text = str(exc.orig).lower()
    return (
        "database is locked" in text or "could not serialize" in text or "deadlock detected" in text
    )
