"""Plain records of the two hot tables (cases, human tasks) with prebuilt Core statements.

Every engine step reads one case and usually one task and writes them back. Doing that
through the ORM costs several times the database work itself (statement construction,
identity map, unit of work), so the hot path uses these records and statements built once.
Updates check the row version: a write that lost a race raises ConflictError and the
caller's transaction rolls back.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any, cast

import orjson
from sqlalchemy import JSON, Connection, Table, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError

from engine.errors import ConflictError
from engine.store.models import (
    AuditEntry,
    Case,
    CaseHistory,
    ClockStop,
    Definition,
    HumanTask,
    TaskCandidate,
    Timer,
)

_CASES = cast(Table, Case.__table__)
_TASKS = cast(Table, HumanTask.__table__)

LOST_RACE = "the case or task was changed by someone else at the same time; reload and retry"


@dataclass(slots=True)
class CaseRecord:
    """A row of ``cases`` (``id`` is 0 until the case is inserted)."""

    id: int
    business_key: str
    definition_id: int
    process_id: str
    status: str
    title: str | None
    started_by: str | None
    started_at: datetime
    updated_at: datetime
    ended_at: datetime | None
    state: str
    history_segments: int
    error: str | None
    row_version: int
    item_code: str | None = None
    due_at: datetime | None = None
    department_id: str | None = None
    accepted_at: datetime | None = None
    deemed_accepted: bool = False
    working_days_used: float | None = None


@dataclass(slots=True)
class TaskRecord:
    """A row of ``human_tasks``."""

    id: str
    case_id: int
    element_id: str
    name: str | None
    lane: str | None
    form_key: str | None
    priority: int | None
    state: str
    assignee: str | None
    owner: str | None
    delegation: str | None
    candidate_users: list[Any]
    candidate_groups: list[Any]
    multi_instance_of: str | None
    due_at: datetime | None
    created_at: datetime
    claimed_at: datetime | None
    ended_at: datetime | None
    completed_by: str | None
    opinion: str | None
    submitted: dict[str, Any] | None
    row_version: int
    department_id: str | None = None
    substitute_for: str | None = None
    working_days_used: float | None = None


class FastWrite:
    """A prebuilt INSERT/UPDATE/DELETE that SQLite runs straight on the driver.

    On SQLite the statement is compiled once per parameter shape and executed on the
    DBAPI cursor with SQLAlchemy's own bind processors (UTC datetimes, JSON), skipping
    the per-call execution machinery that costs several times the write itself. Other
    backends go through SQLAlchemy as usual.
    """

    __slots__ = ("_plans", "statement")

    def __init__(self, statement: Any) -> None:
        self.statement = statement
        self._plans: dict[tuple[str, ...], tuple[str, tuple[tuple[str, Any], ...]]] = {}

    def run(self, conn: Connection, params: dict[str, Any] | list[dict[str, Any]]) -> int:
        """Execute with one parameter dict (or many); return the affected row count."""
        if conn.dialect.name != "sqlite":
            return int(conn.execute(self.statement, params).rowcount)
        batch = params if isinstance(params, list) else [params]
        shape = tuple(batch[0])
        plan = self._plans.get(shape)
        if plan is None:
            compiled = self.statement.compile(dialect=conn.dialect, column_keys=list(shape))
            processors = compiled._bind_processors
            order = tuple((name, processors.get(name)) for name in compiled.positiontup or ())
            plan = self._plans[shape] = (compiled.string, order)
        sql, order = plan
        rows = [
            tuple(p[name] if proc is None else proc(p[name]) for name, proc in order) for p in batch
        ]
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            if len(rows) == 1:
                cursor.execute(sql, rows[0])
            else:
                cursor.executemany(sql, rows)
            return int(cursor.rowcount)
        finally:
            cursor.close()


class FastRead:
    """A prebuilt SELECT that SQLite runs straight on the driver, decoding the columns
    itself (UTC datetimes from SQLite's text, JSON with orjson). Other backends go
    through SQLAlchemy."""

    __slots__ = ("_decoders", "_sql", "statement")

    def __init__(self, statement: Any) -> None:
        self.statement = statement
        # SQL text, bind order, and the values of binds the statement fixes (e.g. LIMIT)
        self._sql: tuple[str, tuple[str, ...], dict[str, Any]] | None = None
        self._decoders = tuple(_decoder(c.type) for c in statement.selected_columns)

    def first(self, conn: Connection, params: dict[str, Any]) -> tuple[Any, ...] | None:
        """The first row, or None."""
        rows = self._fetch(conn, params, one=True)
        return rows[0] if rows else None

    def all(self, conn: Connection, params: dict[str, Any]) -> list[tuple[Any, ...]]:
        """Every row."""
        return self._fetch(conn, params, one=False)

    def _fetch(
        self, conn: Connection, params: dict[str, Any], *, one: bool
    ) -> list[tuple[Any, ...]]:
        if conn.dialect.name != "sqlite":
            result = conn.execute(self.statement, params)
            if one:
                row = result.first()
                return [tuple(row)] if row is not None else []
            return [tuple(r) for r in result]
        if self._sql is None:
            compiled = self.statement.compile(dialect=conn.dialect)
            fixed = {
                name: bind.value
                for name, bind in compiled.binds.items()
                if bind.value is not None and not bind.required
            }
            self._sql = (compiled.string, tuple(compiled.positiontup or ()), fixed)
        sql, order, fixed = self._sql
        values = {**fixed, **params}
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute(sql, tuple(values[name] for name in order))
            raws = [cursor.fetchone()] if one else cursor.fetchall()
        finally:
            cursor.close()
        decoders = self._decoders
        return [
            tuple(v if d is None or v is None else d(v) for v, d in zip(raw, decoders, strict=True))
            for raw in raws
            if raw is not None
        ]


def _decoder(column_type: Any) -> Any:
    from engine.store.models import UTCDateTime

    if isinstance(column_type, UTCDateTime):
        return _utc_from_sqlite
    if isinstance(column_type, JSON):
        return orjson.loads
    return None


def _utc_from_sqlite(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


_CASE_FIELDS = tuple(f.name for f in fields(CaseRecord))
_TASK_FIELDS = tuple(f.name for f in fields(TaskRecord))
_CASE_MUTABLE = tuple(
    f
    for f in _CASE_FIELDS
    if f
    not in (
        "id",
        "business_key",
        "definition_id",
        "process_id",
        "started_at",
        "started_by",
        "row_version",
    )
)

_SELECT_CASE_BY_ID = FastRead(
    select(*(_CASES.c[f] for f in _CASE_FIELDS)).where(_CASES.c.id == bindparam("key"))
)
_SELECT_CASE_BY_KEY = FastRead(
    select(*(_CASES.c[f] for f in _CASE_FIELDS)).where(_CASES.c.business_key == bindparam("key"))
)
_INSERT_CASE = insert(_CASES).returning(_CASES.c.id)
_INSERT_CASE_FAST = FastWrite(insert(_CASES))
_UPDATE_CASE = FastWrite(
    update(_CASES).where(
        _CASES.c.id == bindparam("b_id"), _CASES.c.row_version == bindparam("b_version")
    )
)
_SELECT_TASK = select(*(_TASKS.c[f] for f in _TASK_FIELDS)).where(_TASKS.c.id == bindparam("key"))
_UPDATE_TASK = FastWrite(
    update(_TASKS).where(
        _TASKS.c.id == bindparam("b_id"), _TASKS.c.row_version == bindparam("b_version")
    )
)


def load_case(conn: Connection, key: str | int) -> CaseRecord | None:
    """The case with this id (int) or business key (str)."""
    stmt = _SELECT_CASE_BY_ID if isinstance(key, int) else _SELECT_CASE_BY_KEY
    row = stmt.first(conn, {"key": key})
    return CaseRecord(*row) if row is not None else None


def insert_case(conn: Connection, case: CaseRecord) -> None:
    """Insert a new case and set its id; a taken business key is a ConflictError."""
    values = {f: getattr(case, f) for f in _CASE_FIELDS if f != "id"}
    try:
        if conn.dialect.name == "sqlite":
            _INSERT_CASE_FAST.run(conn, values)
            case.id = int(
                conn.connection.dbapi_connection.execute(  # type: ignore[union-attr]
                    "SELECT last_insert_rowid()"
                ).fetchone()[0]
            )
        else:
            case.id = conn.execute(_INSERT_CASE, values).scalar_one()
    except (IntegrityError, sqlite3.IntegrityError) as exc:
        if "business_key" in str(getattr(exc, "orig", exc)):
            raise ConflictError(f"case number already exists: {case.business_key}") from exc
        raise


def save_case(conn: Connection, case: CaseRecord) -> None:
    """Write the mutable columns if the row is still at ``case.row_version``; bump it."""
    params = {f: getattr(case, f) for f in _CASE_MUTABLE}
    params.update(b_id=case.id, b_version=case.row_version, row_version=case.row_version + 1)
    if _UPDATE_CASE.run(conn, params) != 1:
        raise ConflictError(LOST_RACE)
    case.row_version += 1


def load_task(conn: Connection, task_id: str) -> TaskRecord | None:
    """The human task with this id."""
    row = conn.execute(_SELECT_TASK, {"key": task_id}).first()
    return TaskRecord(*row) if row is not None else None


def save_task(conn: Connection, task: TaskRecord, *names: str) -> None:
    """Write the named columns if the row is still at ``task.row_version``; bump it."""
    params: dict[str, Any] = {name: getattr(task, name) for name in names}
    params.update(b_id=task.id, b_version=task.row_version, row_version=task.row_version + 1)
    if _UPDATE_TASK.run(conn, params) != 1:
        raise ConflictError(LOST_RACE)
    task.row_version += 1


def task_from_orm(row: HumanTask) -> TaskRecord:
    """A record from an ORM row (for read paths that query with the ORM)."""
    return TaskRecord(*(getattr(row, f) for f in _TASK_FIELDS))


def case_from_orm(row: Case) -> CaseRecord:
    """A record from an ORM row."""
    return CaseRecord(*(getattr(row, f) for f in _CASE_FIELDS))


def _table(model: Any) -> Table:
    return cast(Table, model.__table__)


INSERT_AUDIT = FastWrite(insert(_table(AuditEntry)))
INSERT_HISTORY = FastWrite(insert(_table(CaseHistory)))
INSERT_TASKS = FastWrite(insert(_TASKS))
INSERT_CANDIDATES = FastWrite(insert(_table(TaskCandidate)))
INSERT_TIMERS = FastWrite(insert(_table(Timer)))
DELETE_CANDIDATES = FastWrite(
    _table(TaskCandidate).delete().where(_table(TaskCandidate).c.task_id == bindparam("b_task_id"))
)
_DEFINITIONS = _table(Definition)
SELECT_LATEST_DEFINITION = FastRead(
    select(_DEFINITIONS.c.id)
    .where(_DEFINITIONS.c.process_id == bindparam("process_id"))
    .order_by(_DEFINITIONS.c.version.desc())
    .limit(1)
)
SELECT_DEFINITION_VERSION = select(_DEFINITIONS.c.id).where(
    _DEFINITIONS.c.process_id == bindparam("process_id"),
    _DEFINITIONS.c.version == bindparam("version"),
)
_TIMERS = _table(Timer)
MOVE_TIMER = FastWrite(
    update(_TIMERS)
    .where(_TIMERS.c.id == bindparam("b_id"))
    .values(due_at=bindparam("b_due"), run_at=bindparam("b_due"))
)
END_TIMER = FastWrite(
    update(_TIMERS)
    .where(_TIMERS.c.id == bindparam("b_id"))
    .values(state=bindparam("b_state"), fired_at=bindparam("b_fired_at"))
)
_STOPS = _table(ClockStop)
SELECT_CLOCK_STOPS = FastRead(
    select(_STOPS.c.started_at, _STOPS.c.ended_at).where(_STOPS.c.case_id == bindparam("case_id"))
)
SELECT_OPEN_STOP = FastRead(
    select(_STOPS.c.id)
    .where(_STOPS.c.case_id == bindparam("case_id"), _STOPS.c.ended_at.is_(None))
    .limit(1)
)
SELECT_TASK_STOPS = FastRead(
    select(_STOPS.c.task_id).where(
        _STOPS.c.case_id == bindparam("case_id"),
        _STOPS.c.ended_at.is_(None),
        _STOPS.c.task_id.is_not(None),
    )
)
_SELECT_TASK_AND_CASE = FastRead(
    select(*(_TASKS.c[f] for f in _TASK_FIELDS), *(_CASES.c[f] for f in _CASE_FIELDS))
    .select_from(_TASKS.join(_CASES, _CASES.c.id == _TASKS.c.case_id))
    .where(_TASKS.c.id == bindparam("key"))
)


def load_task_and_case(conn: Connection, task_id: str) -> tuple[TaskRecord, CaseRecord] | None:
    """A human task and its case, in one query."""
    row = _SELECT_TASK_AND_CASE.first(conn, {"key": task_id})
    if row is None:
        return None
    split = len(_TASK_FIELDS)
    return TaskRecord(*row[:split]), CaseRecord(*row[split:])
