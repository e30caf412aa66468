"""Engine throughput against raw SpiffWorkflow, and the cost of a step in a long case.

Prints, in one run on one machine:
  (a) raw SpiffWorkflow in memory: cases/s for a 3-user-task approval with a boundary
      timer, parsed once;
  (b) the same through the engine, every step its own transaction, on a SQLite file;
  (c) the same on PostgreSQL (XIAONENG_BENCH_POSTGRES_URL, default 127.0.0.1:5432/test);
  the ratios b/a and c/a (target b/a >= 0.30);
  and the cost of one step at the 10th and at the 500th task of one looping case
  (target ratio <= 1.5).

Usage: python bench/engine_throughput.py [--cases N] [--long-steps N] [--no-postgres]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import sqlalchemy as sa
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.camunda.parser import CamundaParser
from SpiffWorkflow.task import TaskState

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine import Engine  # noqa: E402

APPROVAL = Path(__file__).with_name("approval.bpmn")
LOOP = ROOT / "tests" / "engine" / "data" / "loop.bpmn"
ORG = {
    "departments": [{"id": "bench", "name": "基准"}],
    "posts": [{"id": "bench-post", "name": "基准岗", "department": "bench"}],
    "people": [
        {"id": "zhangwei", "name": "张伟", "posts": ["bench-post"], "roles": ["case-officer"]}
    ],
}


def parsed_spec() -> tuple[object, dict[str, object]]:
    parser = CamundaParser()
    parser.add_bpmn_file(str(APPROVAL))
    return parser.get_spec("bench_approval"), parser.get_subprocess_specs("bench_approval")


def raw_spiff(cases: int, spec: object, subs: dict[str, object]) -> float:
    started = time.perf_counter()
    for _ in range(cases):
        wf = BpmnWorkflow(spec, subs)
        wf.do_engine_steps()
        for _step in range(3):
            task = wf.get_tasks(state=TaskState.READY, manual=True)[0]
            task.run()
            wf.do_engine_steps()
        assert wf.completed
    return cases / (time.perf_counter() - started)


def through_engine(engine: Engine, cases: int, prefix: str) -> float:
    started = time.perf_counter()
    for i in range(cases):
        _one_case(engine, f"{prefix}-{i}")
    return cases / (time.perf_counter() - started)


def _one_case(engine: Engine, key: str) -> None:
    case = engine.start_case("bench_approval", key)
    task_id = case.open_tasks[0].id
    for _step in range(3):
        done = engine.complete(task_id, actor="zhangwei")
        if done.next_tasks:
            task_id = done.next_tasks[0]


def long_case(engine: Engine, steps: int) -> tuple[float, float]:
    engine.deploy([LOOP])
    engine.start_case("loop", "LONG")
    task_id = engine.tasks(case="LONG")[0].id
    engine.claim(task_id, actor="zhangwei")
    samples_at: dict[int, list[float]] = {10: [], steps: []}
    for n in range(1, steps + 11):
        t0 = time.perf_counter()
        engine.complete(task_id, actor="zhangwei", data={"done": False})
        elapsed = time.perf_counter() - t0
        for mark in samples_at:
            if mark <= n < mark + 10:
                samples_at[mark].append(elapsed)
        task_id = engine.tasks(case="LONG")[0].id
        engine.claim(task_id, actor="zhangwei")
    costs = {mark: statistics.median(v) for mark, v in samples_at.items()}
    return costs[10], costs[steps]


def _engine(url: str) -> Engine:
    engine = Engine(url, create_schema=True)
    engine.load_organisation(ORG)
    return engine


def compare(
    engine: Engine, raw_spec: tuple[object, dict[str, object]], cases: int, rounds: int, prefix: str
) -> tuple[float, float]:
    """Median cases/s of raw SpiffWorkflow and of the engine, measured in turns.

    The two are measured alternately, round by round, so that a slow spell of the
    machine weighs on both sides alike; the ratio is taken between the medians.
    """
    engine.deploy([APPROVAL])
    _one_case(engine, f"{prefix}-warm")  # parse the definition, open connections
    raw_rates, engine_rates = [], []
    for r in range(rounds):
        raw_rates.append(raw_spiff(cases, *raw_spec))
        engine_rates.append(through_engine(engine, cases, f"{prefix}{r}"))
    return statistics.median(raw_rates), statistics.median(engine_rates)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100, help="cases per round")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--long-steps", type=int, default=500)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()

    raw_spec = parsed_spec()
    print(f"{args.rounds} rounds of {args.cases} cases, raw and engine in turns; medians")
    with tempfile.TemporaryDirectory() as tmp:
        sqlite = _engine(f"sqlite:///{tmp}/bench.db")
        raw, b = compare(sqlite, raw_spec, args.cases, args.rounds, "S")
        print(f"(a) raw SpiffWorkflow in memory      {raw:8.1f} cases/s")
        print(
            f"(b) engine on SQLite (4 tx per case) {b:8.1f} cases/s   b/a = {b / raw:.2f}"
            "  (target >= 0.30)"
        )
        t10, t500 = long_case(sqlite, args.long_steps)
        print(
            f"    long case on SQLite: step at task 10 {t10 * 1000:.2f} ms, at task "
            f"{args.long_steps} {t500 * 1000:.2f} ms, ratio {t500 / t10:.2f} (target <= 1.5)"
        )
        sqlite.dispose()

    if args.no_postgres:
        return
    base = os.environ.get(
        "XIAONENG_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    )
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(base)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        pg = _engine(f"{base}?options=-csearch_path%3D{schema}")
        raw_c, c = compare(pg, raw_spec, args.cases, args.rounds, "P")
        print(
            f"(c) engine on PostgreSQL             {c:8.1f} cases/s   c/a = {c / raw_c:.2f}"
            f"  (raw in the same rounds: {raw_c:.1f} cases/s)"
        )
        t10, t500 = long_case(pg, args.long_steps)
        print(
            f"    long case on PostgreSQL: step at task 10 {t10 * 1000:.2f} ms, at task "
            f"{args.long_steps} {t500 * 1000:.2f} ms, ratio {t500 / t10:.2f}"
        )
        pg.dispose()
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


if __name__ == "__main__":
    main()
