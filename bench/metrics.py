"""Performance metrics (绩效考评) on a large synthetic data set.

Loads ``--cases`` cases spread over three years before a fixed moment, ``--tasks-per-case``
steps each, a fault record for every late step and case and reviews for about half of them
(some reviewed twice); then times ``department_figures`` and ``person_figures`` for the
current month, the current year and a month a year back, and prints the medians and the
number of rows each returned.

PostgreSQL (the default) is loaded with ``COPY`` into a fresh schema that is dropped
afterwards; SQLite (``--url sqlite:///file.db``, a new file, removed afterwards) with
batched ``executemany``. Both get the same rows.

Usage: python bench/metrics.py [--url URL] [--cases N] [--tasks-per-case N] [--repeat N]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine import Engine  # noqa: E402
from engine.metrics import department_figures, period_bounds, person_figures  # noqa: E402
from engine.store.models import Case, Definition, FaultRecord, HumanTask  # noqa: E402

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
NOW = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)  # the data ends here (the tests' clock)
SPAN = timedelta(days=3 * 365)
DEPARTMENTS = 40
PEOPLE_PER_DEPARTMENT = 25
ZONE = "Asia/Shanghai"
BATCH = 20_000

CASE_COLUMNS = (
    "id",
    "business_key",
    "definition_id",
    "process_id",
    "status",
    "started_at",
    "updated_at",
    "ended_at",
    "state",
    "history_segments",
    "row_version",
    "due_at",
    "department_id",
    "deemed_accepted",
    "working_days_used",
)
TASK_COLUMNS = (
    "id",
    "case_id",
    "element_id",
    "state",
    "assignee",
    "completed_by",
    "candidate_users",
    "candidate_groups",
    "created_at",
    "ended_at",
    "due_at",
    "department_id",
    "row_version",
    "working_days_used",
)
FAULT_COLUMNS = (
    "id",
    "kind",
    "refers_to",
    "department_id",
    "person_id",
    "decision",
    "level",
    "created_at",
)

Row = tuple[Any, ...]


class Generator:
    """Deterministic synthetic cases, steps and faults (a seeded random generator)."""

    def __init__(self, cases: int, tasks_per_case: int, seed: int = 7) -> None:
        self.cases = cases
        self.tasks_per_case = tasks_per_case
        self.rng = random.Random(seed)
        self.case_rows: list[Row] = []
        self.task_rows: list[Row] = []
        self.fault_rows: list[Row] = []
        self.review_rows: list[Row] = []
        self._fault_id = 0

    def batches(self) -> Iterator[tuple[list[Row], list[Row], list[Row], list[Row]]]:
        """Yield (cases, tasks, faults, reviews) batches of about ``BATCH`` cases."""
        for first in range(1, self.cases + 1, BATCH):
            self.case_rows, self.task_rows, self.fault_rows, self.review_rows = [], [], [], []
            for case_id in range(first, min(first + BATCH, self.cases + 1)):
                self._case(case_id)
            yield self.case_rows, self.task_rows, self.fault_rows, self.review_rows

    def _case(self, case_id: int) -> None:
        rng = self.rng
        dept_no = rng.randrange(DEPARTMENTS)
        dept = None if rng.random() < 0.03 else f"dept-{dept_no:02d}"
        started = NOW - SPAN * (1 - (case_id - rng.random()) / self.cases)  # in id order
        limit = timedelta(days=rng.choice((5, 10, 15, 20, 30)) * 1.4)
        taken = limit * rng.uniform(0.2, 1.1)  # about one case in nine is late
        due = None if rng.random() < 0.05 else started + limit
        ended: datetime | None = started + taken
        if ended > NOW:  # type: ignore[operator]
            status, ended = ("suspended" if rng.random() < 0.02 else "running"), None
        else:
            status = "terminated" if rng.random() < 0.03 else "completed"
        days = taken.total_seconds() / 86400 * 5 / 7 if status == "completed" else None
        self.case_rows.append(
            (case_id, f"B{case_id}", 1, "permit", status, started, ended or started, ended,
             "{}", 0, 1, due, dept, False, days)
        )  # fmt: skip
        # the steps follow one another; each has its own limit, about one in nine is late
        k = self.tasks_per_case
        person = ""
        for j in range(k):
            created = started + taken * j / k
            if created > NOW:
                break
            done_at: datetime | None = started + taken * (j + 1) / k
            step_due = created + limit / k * rng.uniform(0.7, 1.5)
            person = f"p{dept_no:02d}{rng.randrange(PEOPLE_PER_DEPARTMENT):02d}"
            state, by = "completed", person
            if done_at > NOW:  # type: ignore[operator]
                state, done_at, by = "open", None, None
            elif status == "terminated" and j == k - 1:
                state, by = "cancelled", None
            elif rng.random() < 0.05:  # transferred: someone else completed it
                by = f"p{dept_no:02d}{rng.randrange(PEOPLE_PER_DEPARTMENT):02d}"
            step_days = (
                (done_at - created).total_seconds() / 86400 * 5 / 7 if by and done_at else None
            )
            self.task_rows.append(
                (f"{case_id}-{j}", case_id, f"step_{j}", state, person, by, "[]", "[]",
                 created, done_at, step_due, dept, 1, step_days)
            )  # fmt: skip
            late = done_at > step_due if done_at else step_due < NOW
            if late and state != "cancelled":
                self._fault("overdue_step", dept, by or person, step_due)
        if due is not None and (ended > due if ended else due < NOW):
            self._fault("overdue_case", dept, person, due)

    def _fault(self, kind: str, dept: str | None, person: str, at: datetime) -> None:
        rng = self.rng
        self._fault_id += 1
        original = self._fault_id
        self.fault_rows.append((original, kind, None, dept, person, None, None, at))
        reviews = 0 if rng.random() < 0.5 else (2 if rng.random() < 0.1 else 1)
        for n in range(reviews):
            self._fault_id += 1
            decision = "confirmed" if rng.random() < 0.6 else "excused"
            level = "warning" if decision == "confirmed" else None
            when = at + timedelta(days=3 + 5 * n)
            self.review_rows.append(
                (self._fault_id, "review", original, dept, person, decision, level, when)
            )


def load_postgres(engine: Engine, generator: Generator) -> None:
    """COPY the rows in; indexes and foreign keys are dropped first and rebuilt at the end."""
    indexes = [
        index for model in (Case, HumanTask, FaultRecord) for index in model.__table__.indexes
    ]
    tables = ("cases", "human_tasks", "fault_records")
    with engine.sa_engine.begin() as conn:
        # foreign keys too: checked row by row they cost more than the COPY itself
        foreign_keys = conn.execute(
            sa.text(
                "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid)"
                " FROM pg_constraint WHERE contype = 'f' AND conrelid::regclass::text IN :tables"
            ).bindparams(sa.bindparam("tables", expanding=True)),
            {"tables": list(tables)},
        ).all()
        for table, name, _definition in foreign_keys:
            conn.execute(sa.text(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"'))
        for index in indexes:
            index.drop(conn)
        started = time.perf_counter()
        cursor = conn.connection.cursor()
        for cases, tasks, faults, reviews in generator.batches():
            for table, columns, rows in (
                ("cases", CASE_COLUMNS, cases),
                ("human_tasks", TASK_COLUMNS, tasks),
                ("fault_records", FAULT_COLUMNS, faults),
                ("fault_records", FAULT_COLUMNS, reviews),
            ):
                with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
        copied = time.perf_counter()
        for index in indexes:
            index.create(conn)
        for table, name, definition in foreign_keys:
            conn.execute(sa.text(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}'))
        indexed = time.perf_counter()
    with engine.sa_engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for table in tables:
            conn.execute(sa.text(f"VACUUM ANALYZE {table}"))
    print(
        f"generated and copied in {copied - started:.1f} s, {len(indexes)} indexes and "
        f"{len(foreign_keys)} foreign keys rebuilt in "
        f"{indexed - copied:.1f} s, vacuum analyze {time.perf_counter() - indexed:.1f} s"
    )


def load_sqlite(engine: Engine, generator: Generator) -> None:
    with engine.sa_engine.begin() as conn:
        for cases, tasks, faults, reviews in generator.batches():
            for model, columns, rows in (
                (Case, CASE_COLUMNS, cases),
                (HumanTask, TASK_COLUMNS, tasks),
                (FaultRecord, FAULT_COLUMNS, faults),
                (FaultRecord, FAULT_COLUMNS, reviews),
            ):
                if rows:
                    conn.execute(
                        sa.insert(model), [dict(zip(columns, r, strict=True)) for r in rows]
                    )
    with engine.sa_engine.connect() as conn:
        conn.execute(sa.text("ANALYZE"))


def median_ms(run: Callable[[], Sequence[object]], repeat: int) -> tuple[float, int]:
    timings, rows = [], 0
    for _ in range(repeat):
        started = time.perf_counter()
        rows = len(run())
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings), rows


def measure(engine: Engine, repeat: int) -> None:
    local_today = NOW.astimezone(ZoneInfo(ZONE)).date()
    month_start = local_today.replace(day=1)
    month_end = (month_start + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    periods = {
        "this month": period_bounds(month_start, month_end, ZONE),
        "this year": period_bounds(local_today.replace(month=1, day=1),
                                   local_today.replace(month=12, day=31), ZONE),
        "month a year back": period_bounds(month_start.replace(year=month_start.year - 1),
                                           month_end.replace(year=month_end.year - 1), ZONE),
    }  # fmt: skip
    print(f"{'period':<20}{'query':<22}{'median ms':>10}{'rows':>8}")
    with engine.sa_engine.connect().execution_options(xiaoneng_readonly=True) as conn:
        for label, (start, end) in periods.items():
            queries: dict[str, Callable[[], Sequence[object]]] = {
                "department_figures": lambda s=start, e=end: department_figures(conn, s, e),
                "person_figures": lambda s=start, e=end: person_figures(conn, s, e),
                "  one department": lambda s=start, e=end: department_figures(
                    conn, s, e, department="dept-07"
                ),
                "  one person": lambda s=start, e=end: person_figures(conn, s, e, person="p0712"),
            }
            for name, run in queries.items():
                run()  # warm the cache
                ms, rows = median_ms(run, repeat)
                print(f"{label:<20}{name:<22}{ms:>10.1f}{rows:>8}")
                conn.rollback()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=DEFAULT_URL, help="PostgreSQL or sqlite:/// URL")
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--tasks-per-case", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per query")
    parser.add_argument("--keep", action="store_true", help="keep the schema or file")
    args = parser.parse_args()

    url, cleanup = prepare(args.url)
    engine = None
    try:
        engine = Engine(url, create_schema=True)
        with engine.sa_engine.begin() as conn:
            conn.execute(
                sa.insert(Definition),
                {"id": 1, "process_id": "permit", "version": 1, "content_hash": "0" * 64,
                 "source_file": "permit.bpmn", "sources": [], "deployed_at": NOW - SPAN},
            )  # fmt: skip
        generator = Generator(args.cases, args.tasks_per_case)
        started = time.perf_counter()
        if engine.sa_engine.dialect.name == "postgresql":
            load_postgres(engine, generator)
        else:
            load_sqlite(engine, generator)
        with engine.sa_engine.connect() as conn:
            counts = {
                model.__tablename__: conn.scalar(sa.select(sa.func.count()).select_from(model))
                for model in (Case, HumanTask, FaultRecord)
            }
        print(
            f"loaded {counts} on {engine.sa_engine.dialect.name} "
            f"in {time.perf_counter() - started:.1f} s"
        )
        measure(engine, args.repeat)
    finally:
        if engine is not None:
            engine.dispose()
        if args.keep:
            print(f"kept: {url}")
        else:
            cleanup()


def prepare(url: str) -> tuple[str, Callable[[], None]]:
    """Return the URL to load into and how to remove what was created."""
    if url.startswith("sqlite"):
        path = Path(sa.make_url(url).database or "")
        if path.exists():
            raise SystemExit(f"{path} exists: give a new SQLite file")

        def remove() -> None:
            for leftover in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
                leftover.unlink(missing_ok=True)

        return url, remove
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(url)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))

    def drop() -> None:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()

    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options=-csearch_path%3D{schema}", drop


if __name__ == "__main__":
    main()
