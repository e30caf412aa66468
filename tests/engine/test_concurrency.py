"""Two calls on one case at the same time: one wins, the other gets ConflictError.

Real threads against a real SQLite file and a real PostgreSQL server.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import event

from engine import ConflictError, Engine
from tests.conftest import make_engine
from tests.helpers import DATA, only_task


@pytest.fixture(params=["sqlite", "postgres"])
def any_db(request: pytest.FixtureRequest) -> str:
    if request.param == "sqlite":
        return str(request.getfixturevalue("sqlite_url"))
    return str(request.getfixturevalue("pg_url"))


def _race(*calls: Callable[[], Any]) -> list[Any]:
    """Run the calls in threads released together; return results or exceptions."""
    start = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(i: int) -> None:
        start.wait()
        try:
            results[i] = calls[i]()
        except Exception as exc:  # collected and asserted on by the test
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


def _two_engines(url: str) -> tuple[Engine, Engine]:
    first = make_engine(url)
    second = Engine(url)  # another "process": its own pool and caches
    first.deploy([DATA / "three_step.bpmn"])
    return first, second


def test_same_task_completed_twice_concurrently(any_db: str) -> None:
    first, second = _two_engines(any_db)
    first.start_case("three_step", "C-1")
    task = only_task(first, "C-1")
    first.claim(task.id, actor="zhangwei")
    results = _race(
        lambda: first.complete(task.id, actor="zhangwei", data={"amount": 1}),
        lambda: second.complete(task.id, actor="zhangwei", data={"amount": 2}),
    )
    errors = [r for r in results if isinstance(r, Exception)]
    assert len(errors) == 1 and isinstance(errors[0], ConflictError), results
    assert [h.action for h in first.history("C-1")].count("complete") == 1
    assert only_task(first, "C-1").element_id == "check"
    first.dispose()
    second.dispose()


def test_same_task_claimed_by_two_people_concurrently(any_db: str) -> None:
    first, second = _two_engines(any_db)
    first.start_case("three_step", "C-1")
    task = only_task(first, "C-1")
    results = _race(
        lambda: first.claim(task.id, actor="zhangwei"),
        lambda: second.claim(task.id, actor="sunli"),
    )
    errors = [r for r in results if isinstance(r, Exception)]
    assert len(errors) == 1 and isinstance(errors[0], ConflictError), results
    winner = only_task(first, "C-1").assignee
    assert winner in ("zhangwei", "sunli")
    assert [h.actor for h in first.history("C-1") if h.action == "claim"] == [winner]
    first.dispose()
    second.dispose()


def test_overlapping_transactions_on_postgres_lose_optimistically(pg_url: str) -> None:
    """Both calls load the case before either writes: the row version decides."""
    first, second = _two_engines(pg_url)
    first.start_case("three_step", "C-1")
    task = only_task(first, "C-1")
    first.claim(task.id, actor="zhangwei")
    both_loaded = threading.Barrier(2)
    waited = threading.local()

    # the first write of each call waits for the other call: by then both have loaded
    # the case at the same row version
    def before_write(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if getattr(waited, "done", False):
            return
        if statement.lstrip().split(" ", 1)[0].upper() in ("INSERT", "UPDATE", "DELETE"):
            waited.done = True
            both_loaded.wait(timeout=30)

    for eng in (first, second):
        event.listen(eng.sa_engine, "before_cursor_execute", before_write)
    try:
        results = _race(
            lambda: first.complete(task.id, actor="zhangwei", data={"amount": 1}),
            lambda: second.complete(task.id, actor="zhangwei", data={"amount": 2}),
        )
    finally:
        for eng in (first, second):
            event.remove(eng.sa_engine, "before_cursor_execute", before_write)
    errors = [r for r in results if isinstance(r, Exception)]
    assert len(errors) == 1 and isinstance(errors[0], ConflictError), results
    assert "changed by someone else" in str(errors[0])
    assert [h.action for h in first.history("C-1")].count("complete") == 1
    first.dispose()
    second.dispose()


def test_reads_do_not_wait_for_a_writer_on_sqlite(sqlite_url: str) -> None:
    import sqlite3

    engine, _second = _two_engines(sqlite_url)
    engine.start_case("three_step", "C-1")
    writer = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"), isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    try:
        assert engine.get_case("C-1").status == "running"
        assert [t.element_id for t in engine.tasks(case="C-1")] == ["draft"]
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    engine.dispose()
    _second.dispose()
