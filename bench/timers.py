"""Timer firing under load: lateness, burst throughput, exactly-once across a worker crash.

On PostgreSQL (a fresh schema, dropped at the end): ``--timers`` pending rule timers due
uniformly over the next ``--spread`` seconds plus ``--burst`` timers all due in the same
second ``--burst-at``; two worker processes (``TimerWorker`` in ``python bench/timers.py
worker``); worker 1 is killed with SIGKILL at ``--kill-at`` (mid-burst by default) and
restarted ``--restart-after`` seconds later. Every firing inserts a row into
``bench_fires`` in the firing's own transaction, so a firing that rolled back leaves none.

Prints: load time; firing lateness (fired - due) p50/p90/p99/max overall and in steady
load (the burst and the kill window left out; target p99 <= 1 s); the burst's fires per
second and lateness; timers fired twice and never fired (both must be 0); leftover
states; recovery after the restart; fires per worker. Exit status 1 when a timer fired
twice or never fired.

All moments are relative to T0, a few seconds (``--lead``) after the load: the workers
start before T0, so that no timer is due while they are still importing.

Usage: python bench/timers.py [--timers N] [--spread S] [--burst N] [--burst-at S]
                              [--kill-at S] [--restart-after S] [--lease S] [--keep]
       python bench/timers.py --timers 20000 --spread 120 --burst-at 30   (a quick run)
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine import Engine  # noqa: E402
from engine import timers as timer_service  # noqa: E402
from engine.runtime import Call  # noqa: E402
from engine.store.models import Timer, UTCDateTime  # noqa: E402
from engine.worker import TimerWorker  # noqa: E402

DEFAULT_URL = os.environ.get(
    "XIAONENG_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
RULE = "bench_probe"
TIMERS = cast(sa.Table, Timer.__table__)

metadata = sa.MetaData()
# bench only: one row per firing, written in the firing's transaction
BENCH_FIRES = sa.Table(
    "bench_fires",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("timer_id", sa.String(120), nullable=False),
    sa.Column("due_at", UTCDateTime(), nullable=False),
    sa.Column("fired_at", UTCDateTime(), nullable=False),
    sa.Column("worker", sa.String(100), nullable=False),
)

WORKER_NAME = "?"  # set in a worker process


@timer_service.rule(RULE)
def probe(call: Call, timer: timer_service.DueTimer) -> None:
    """Record the firing with the real wall-clock time (same transaction as the firing)."""
    call.conn.execute(
        BENCH_FIRES.insert().values(
            timer_id=timer.id,
            due_at=timer.due_at,
            fired_at=datetime.fromtimestamp(time.time(), tz=UTC),
            worker=WORKER_NAME,
        )
    )


# -- the worker process -----------------------------------------------------------------------


def run_worker(url: str, name: str, lease: float, batch: int) -> None:
    """One worker process: fire timers until SIGTERM."""
    global WORKER_NAME
    WORKER_NAME = name
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(name)s %(levelname)s %(message)s"
    )
    engine = Engine(url)
    worker = TimerWorker(engine, name=name, batch=batch, lease=timedelta(seconds=lease))
    worker.run_forever()
    engine.dispose()
    print(f"worker {name} stopped after firing {worker.fired}", flush=True)


# -- the harness ------------------------------------------------------------------------------


@dataclass
class Worker:
    name: str
    process: subprocess.Popen[bytes]
    log: Path


def start_worker(args: argparse.Namespace, url: str, name: str, logs: Path) -> Worker:
    log = logs / f"{name}.log"
    with log.open("wb") as out:  # the child keeps its own descriptor
        process = subprocess.Popen(
            [
                sys.executable,
                str(Path(__file__).resolve()),
                "worker",
                "--url",
                url,
                "--name",
                name,
                "--lease",
                str(args.lease),
                "--batch",
                str(args.batch),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )
    return Worker(name, process, log)


def load(engine: sa.Engine, n: int, spread: float, burst: int, t0: float, burst_at: float) -> None:
    """Insert the timers straight into ``timers`` (one INSERT … SELECT generate_series each)."""
    now = datetime.fromtimestamp(time.time(), tz=UTC)

    def insert(first: int, last: int, due: Any) -> sa.Insert:
        series = sa.select(
            sa.func.generate_series(first, last).label("n"), due.label("due")
        ).subquery()
        columns = ["id", "kind", "rule", "ref", "due_at", "run_at", "state", "attempts"]
        rows = sa.select(
            sa.literal(f"{RULE}:") + sa.cast(series.c.n, sa.String),
            sa.literal("rule"),
            sa.literal(RULE),
            sa.cast(series.c.n, sa.String),
            series.c.due,
            series.c.due,
            sa.literal(timer_service.PENDING),
            sa.literal(0),
            sa.literal(now, UTCDateTime()),
        )
        return TIMERS.insert().from_select([*columns, "created_at"], rows)

    spread_due = sa.func.to_timestamp(t0 + sa.func.random() * spread)
    burst_due = sa.func.to_timestamp(sa.literal(t0 + burst_at, sa.Float))
    with engine.begin() as conn:
        conn.execute(sa.select(sa.func.setseed(0.42)))
        if n:
            conn.execute(insert(0, n - 1, spread_due))
        if burst:
            conn.execute(insert(n, n + burst - 1, burst_due))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("ANALYZE timers"))  # as autovacuum would after such a load


def pct(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of sorted values."""
    if not values:
        return float("nan")
    return values[min(len(values) - 1, max(0, round(q / 100 * len(values) + 0.5) - 1))]


def describe(values: list[float]) -> str:
    values = sorted(values)
    if not values:
        return "(none)"
    return (
        f"p50 {pct(values, 50):7.3f} s  p90 {pct(values, 90):7.3f} s  "
        f"p99 {pct(values, 99):7.3f} s  max {values[-1]:7.3f} s  (n={len(values)})"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", nargs="?", choices=["run", "worker"], default="run")
    parser.add_argument("--url", default=None, help="PostgreSQL URL (default: the test db)")
    parser.add_argument("--timers", type=int, default=100_000)
    parser.add_argument("--spread", type=float, default=3600.0, help="seconds")
    parser.add_argument("--burst", type=int, default=5000)
    parser.add_argument("--burst-at", type=float, default=60.0, help="seconds after T0")
    parser.add_argument("--kill-at", type=float, default=None, help="default burst-at + 2")
    parser.add_argument("--restart-after", type=float, default=5.0)
    parser.add_argument("--lease", type=float, default=10.0, help="worker lease, seconds")
    parser.add_argument("--batch", type=int, default=100, help="timers claimed per transaction")
    parser.add_argument("--lead", type=float, default=5.0, help="seconds from load to T0")
    parser.add_argument("--name", default="w1", help="(worker) the worker's name")
    parser.add_argument("--keep", action="store_true", help="keep the bench schema")
    args = parser.parse_args()
    if args.command == "worker":
        run_worker(args.url, args.name, args.lease, args.batch)
        return 0
    return run(args)


def run(args: argparse.Namespace) -> int:
    base = args.url or DEFAULT_URL
    kill_at = args.kill_at if args.kill_at is not None else args.burst_at + 2
    schema = f"bench_timers_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(base)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in base else "?"
    url = f"{base}{sep}options=-csearch_path%3D{schema}"
    workers: list[Worker] = []
    logs = Path(tempfile.mkdtemp(prefix="bench_timers_"))
    try:
        Engine(url, create_schema=True).dispose()
        db = sa.create_engine(url)
        metadata.create_all(db)
        print(
            f"schema {schema}: {args.timers} timers over {args.spread:.0f} s + a burst of "
            f"{args.burst} at T0+{args.burst_at:.0f} s; 2 workers (lease {args.lease:.0f} s, "
            f"batch {args.batch}); SIGKILL w1 at T0+{kill_at:.0f} s, restart after "
            f"{args.restart_after:.0f} s",
            flush=True,
        )
        print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        started = time.perf_counter()
        t0 = time.time() + args.lead + 2  # the load itself takes a moment
        load(db, args.timers, args.spread, args.burst, t0, args.burst_at)
        print(f"load: {args.timers + args.burst} rows in {time.perf_counter() - started:.2f} s")
        if time.time() > t0:
            print("warning: the load ended after T0; raise --lead", flush=True)

        workers = [start_worker(args, url, "w1", logs), start_worker(args, url, "w2", logs)]
        killed_at = restarted_at = None
        last_due = t0 + max(args.spread, args.burst_at)
        deadline = last_due + 120
        next_report = time.time() + 30
        left = None
        exited: set[str] = set()
        caught_up: list[float] = []  # poll moments with no timer overdue by more than 1 s
        while time.time() < deadline:
            now = time.time()
            if killed_at is None and now >= t0 + kill_at:
                os.kill(workers[0].process.pid, signal.SIGKILL)
                workers[0].process.wait()
                killed_at = time.time()
                print(f"T0+{killed_at - t0:.1f} s: SIGKILL w1", flush=True)
            if (
                killed_at is not None
                and restarted_at is None
                and now >= killed_at + args.restart_after
            ):
                workers.append(start_worker(args, url, "w1b", logs))
                restarted_at = time.time()
                print(f"T0+{restarted_at - t0:.1f} s: w1 restarted as w1b", flush=True)
            with db.connect() as conn:
                left = conn.scalar(
                    sa.select(sa.func.count()).where(
                        TIMERS.c.state.in_([timer_service.PENDING, timer_service.INCIDENT])
                    )
                )
                backlog = conn.scalar(
                    sa.select(sa.func.count()).where(
                        TIMERS.c.state == timer_service.PENDING,
                        TIMERS.c.run_at <= datetime.fromtimestamp(now - 1, tz=UTC),
                    )
                )
                if not backlog:
                    caught_up.append(now)
                if now >= next_report:
                    print(
                        f"T0+{now - t0:6.0f} s: {left} not fired yet, {backlog} overdue by > 1 s",
                        flush=True,
                    )
                    next_report = now + 30
            if left == 0 and now > last_due and restarted_at is not None:
                break
            for w in workers[1:]:
                if w.process.poll() is not None and w.name not in exited:
                    exited.add(w.name)
                    print(f"worker {w.name} exited with {w.process.returncode}", flush=True)
            time.sleep(1)
        else:
            print(f"timeout: {left} timers still not fired", flush=True)
        time.sleep(1)  # a firing still in flight would show as a double below
        for w in workers:
            if w.process.poll() is None:
                w.process.send_signal(signal.SIGTERM)
        for w in workers:
            try:
                w.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                w.process.kill()
                print(f"worker {w.name} did not stop on SIGTERM: killed")
        return report(args, db, workers, t0, kill_at, killed_at, restarted_at, caught_up)
    finally:
        for w in workers:
            if w.process.poll() is None:
                w.process.kill()
                w.process.wait()
        with admin.begin() as conn:
            if args.keep:
                print(f"kept schema {schema}; worker logs in {logs}")
            else:
                conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def report(
    args: argparse.Namespace,
    db: sa.Engine,
    workers: list[Worker],
    t0: float,
    kill_at: float,
    killed_at: float | None,
    restarted_at: float | None,
    caught_up: list[float],
) -> int:
    with db.connect() as conn:
        fires = conn.execute(
            sa.select(
                BENCH_FIRES.c.timer_id,
                BENCH_FIRES.c.due_at,
                BENCH_FIRES.c.fired_at,
                BENCH_FIRES.c.worker,
            )
        ).all()
        states: dict[str, int] = dict(
            conn.execute(sa.select(TIMERS.c.state, sa.func.count()).group_by(TIMERS.c.state)).all()
        )
        counts: dict[str, int] = dict(
            conn.execute(
                sa.select(BENCH_FIRES.c.timer_id, sa.func.count())
                .group_by(BENCH_FIRES.c.timer_id)
                .having(sa.func.count() > 1)
            ).all()
        )
        never = conn.scalar(
            sa.select(sa.func.count())
            .select_from(TIMERS)
            .where(~sa.exists().where(BENCH_FIRES.c.timer_id == TIMERS.c.id))
        )
    burst_moment = t0 + args.burst_at
    burst_first = args.timers
    lateness: list[float] = []
    burst: list[float] = []
    by_worker: dict[str, int] = {}
    late_by_worker: dict[str, int] = {}
    burst_end = recovery_end = 0.0
    for timer_id, due_at, fired_at, worker in fires:
        due, fired = due_at.timestamp(), fired_at.timestamp()
        late = fired - due
        lateness.append(late)
        by_worker[worker] = by_worker.get(worker, 0) + 1
        if late > 1:
            late_by_worker[worker] = late_by_worker.get(worker, 0) + 1
        if int(timer_id.rsplit(":", 1)[1]) >= burst_first:
            burst.append(late)
            burst_end = max(burst_end, fired)
        if killed_at is not None and due < killed_at:
            recovery_end = max(recovery_end, fired)
    # the disturbed window: from the burst (or the kill) until the burst is drained, every
    # timer due before the kill has fired, the worker is back and the harness saw no timer
    # overdue by more than a second (the backlog the burst left behind is gone)
    disturbed_from = min(burst_moment, killed_at or burst_moment)
    disturbed_to = max(burst_end, recovery_end, restarted_at or 0.0)
    disturbed_to = min((t for t in caught_up if t >= disturbed_to), default=disturbed_to)
    before: list[float] = []
    after: list[float] = []
    for timer_id, due_at, fired_at, _ in fires:
        due = due_at.timestamp()
        if int(timer_id.rsplit(":", 1)[1]) >= burst_first:
            continue
        late = fired_at.timestamp() - due
        if due < disturbed_from:
            before.append(late)
        elif due > disturbed_to:
            after.append(late)
    steady = before + after

    print()
    print(
        f"load average at the end (1/5/15 min; {os.cpu_count()} CPUs): "
        + " ".join(f"{x:.2f}" for x in os.getloadavg())
    )
    print(f"fired rows: {len(fires)} for {args.timers + args.burst} timers")
    print(f"lateness (fired - due), all     {describe(lateness)}")
    print(
        f"lateness in steady load         {describe(steady)}   target p99 <= 1 s: "
        f"{'met' if steady and pct(sorted(steady), 99) <= 1 else 'NOT met'}"
    )
    print(
        f"  (left out: timers due T0+{disturbed_from - t0:.1f} s .. T0+{disturbed_to - t0:.1f} s,"
        " the burst and the kill window, until no timer was overdue by > 1 s)"
    )
    print(f"  before the burst              {describe(before)}")
    print(f"  after the recovery            {describe(after)}")
    if burst:
        took = burst_end - burst_moment
        print(
            f"burst: {len(burst)} fired, last {took:.2f} s after the burst second "
            f"-> {len(burst) / took:.0f} fires/s; lateness {describe(burst)}"
        )
        drain = sorted(burst)  # all due at the burst second: lateness = time to drain
        t95 = pct(drain, 95)
        per_second: dict[int, int] = {}
        for _, _, fired_at, _ in fires:
            second = int(fired_at.timestamp() - burst_moment)
            if 0 <= second < int(t95):
                per_second[second] = per_second.get(second, 0) + 1
        rates = sorted(per_second.values())
        print(
            f"  drain: 50% fired by {pct(drain, 50):.2f} s, 90% by {pct(drain, 90):.2f} s, "
            f"95% by {t95:.2f} s -> {0.95 * len(drain) / t95:.0f} burst fires/s until 95% "
            f"(the last ones waited for the killed worker's {args.lease:.0f} s leases)"
        )
        if rates:
            print(
                f"  all timers fired per whole second until then: median {pct(rates, 50)}, "
                f"best {rates[-1]}"
            )
    print(f"timers fired twice: {len(counts)}   (must be 0)")
    print(f"timers never fired: {never}   (must be 0)")
    print(f"timer states: {dict(sorted(states.items()))}")
    if killed_at is not None and restarted_at is not None:
        first_after = [
            f.fired_at.timestamp() for f in fires if f.worker == "w1b"
        ]  # the restarted worker
        first = f"{min(first_after) - restarted_at:.2f} s" if first_after else "never"
        print(
            f"recovery: w1 killed at T0+{killed_at - t0:.1f} s (planned {kill_at:.0f}), "
            f"restarted at T0+{restarted_at - t0:.1f} s; first fire by the restarted worker "
            f"{first} after the restart; every timer due before the kill fired by "
            f"T0+{recovery_end - t0:.1f} s = {recovery_end - killed_at:.2f} s after the kill, "
            f"{recovery_end - restarted_at:+.2f} s from the restart"
        )
    print(
        "fires per worker: "
        + ", ".join(
            f"{w} {n} ({late_by_worker.get(w, 0)} late > 1 s)" for w, n in sorted(by_worker.items())
        )
    )
    for w in workers:
        text = w.log.read_text(errors="replace")
        skipped = text.count("maximum number of running instances")
        failed = text.count("firing round failed")
        if skipped or failed or "Traceback" in text:
            print(
                f"worker {w.name} log: {skipped} wake-ups skipped by APScheduler "
                f"(max instances), {failed} failed rounds; tail:"
            )
            print("  " + "\n  ".join(text.strip().splitlines()[-8:]))
    return 1 if counts or never else 0


if __name__ == "__main__":
    sys.exit(main())
