"""Seeding for ``bench/web_load.py``: the demo organisation with bench officers, the
process library, its sample items, and many ``general_permit`` cases run through the
engine (start, claim, complete) with a fake clock over the last ``days`` days.

Every case is real engine state: started with ``Engine.start_case`` and moved with
``Engine.claim`` / ``Engine.complete``, so the web app can load and act on it. Several
processes seed at once, each with its own ``Engine``.

:func:`seed_late_cases` then runs a few more cases in one process that finish late: the
clock goes past each step's deadline and the engine's timers fire (yellow and red cards,
accountability records, notices), and a supervisor reviews the records (confirmed or
excused). One process only: a timer fired at one process's clock time could otherwise
belong to a step another process completes at an earlier one. :func:`fire_until` then
fires what is due at the real moment, as ``xiaoneng worker`` would have (cards on the
open cases). ``bench/_bulk_copy.py`` multiplies the completed cases afterwards.
"""

from __future__ import annotations

import multiprocessing
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from engine import Engine, FakeClock, TaskView, XiaonengError

ROOT = Path(__file__).resolve().parent.parent
ORGANISATION = ROOT / "demo" / "organisation.toml"
LIBRARY = ROOT / "bpmn"
PASSWORD = "bench123"  # noqa: S105  (the bench officers' password)
#: Reviews the accountability records of the late cases (demo/organisation.toml).
REVIEWER = "supervisor01"

#: The departments whose items ``general_permit`` handles (bpmn/items/*.toml).
DEPARTMENTS = ("housing-permits", "market-food", "nr-planning", "urban-permits", "health-permits")
STEPS = ("accept", "handle", "review", "approve", "issue_certificate")
#: Where an open case waits: mostly at the steps of the officers who log in during the
#: load, about in proportion to their numbers (a fifth window officers: 受理, 送达; the
#: rest case officers: 承办); some at the section chiefs' and heads' (who do not).
OPEN_AT_WEIGHTS = (0.15, 0.65, 0.05, 0.05, 0.10)
#: Step data that takes the main path (form fields in bpmn/docs/general_permit.md).
STEP_DATA: dict[str, dict[str, Any]] = {
    "accept": {"accepted": "yes"},
    "handle": {"handling_opinion": "材料齐全，符合法定条件。", "next_action": "submit"},
    "review": {"review_result": "pass", "review_opinion": "同意。"},
    "approve": {"decision": "grant", "approval_opinion": "准予许可。"},
    "issue_certificate": {"certificate_no": "ZS-BENCH"},
}


@dataclass(frozen=True)
class Staff:
    """Who works in the bench organisation (all log in with :data:`PASSWORD`)."""

    window: tuple[str, ...]  # window officers (受理, 送达)
    officers: dict[str, tuple[str, ...]]  # department -> case officers (承办)
    supervisors: tuple[str, ...] = ()  # the supervision office (监察员): watch, never act

    def load_officers(self) -> list[str]:
        """Everyone who logs in during the load: window officers, then case officers."""
        return [*self.window, *(p for d in DEPARTMENTS for p in self.officers[d])]


def staff_for(officers: int, supervisors: int = 0) -> Staff:
    """About a fifth window officers, the rest case officers spread over the departments;
    ``supervisors`` supervisors (``bs01`` …) in the supervision office."""
    window = max(1, officers // 5)
    rest = max(len(DEPARTMENTS), officers - window)
    per_dept = {d: rest // len(DEPARTMENTS) for d in DEPARTMENTS}
    for d in DEPARTMENTS[: rest % len(DEPARTMENTS)]:
        per_dept[d] += 1
    return Staff(
        window=tuple(f"bw{n:02d}" for n in range(1, window + 1)),
        officers={
            d: tuple(f"bo-{d}-{n:02d}" for n in range(1, per_dept[d] + 1)) for d in DEPARTMENTS
        },
        supervisors=tuple(f"bs{n:02d}" for n in range(1, supervisors + 1)),
    )


def bench_organisation(staff: Staff) -> dict[str, Any]:
    """The bench people on top of the demo organisation: window and case officers, a
    section chief and a department head in every department (review, approve), and the
    supervisors of the supervision office (demo/organisation.toml: ``supervision``)."""
    people: list[dict[str, Any]] = [
        {"id": p, "name": f"窗口{p}", "password": PASSWORD, "departments": ["service-centre"],
         "roles": ["window-officer"]}
        for p in staff.window
    ]  # fmt: skip
    for d in DEPARTMENTS:
        people += [
            {"id": p, "name": f"承办{p}", "password": PASSWORD, "departments": [d],
             "roles": ["case-officer"]}
            for p in staff.officers[d]
        ]  # fmt: skip
        people.append(
            {"id": f"bc-{d}", "name": f"科长{d}", "departments": [d], "roles": ["section-chief"]}
        )
        people.append(
            {"id": f"bh-{d}", "name": f"局长{d}", "departments": [d], "roles": ["department-head"]}
        )
    people += [
        {"id": p, "name": f"监察{p}", "password": PASSWORD, "departments": ["supervision"],
         "roles": ["supervisor"]}
        for p in staff.supervisors
    ]  # fmt: skip
    return {"people": people}


def set_up(url: str, staff: Staff) -> list[tuple[str, str]]:
    """Schema, organisation, process library and items; return (item code, department)
    of the ``general_permit`` items."""
    engine = Engine(url, create_schema=True)
    try:
        engine.load_organisation(ORGANISATION)
        engine.load_organisation(bench_organisation(staff))
        engine.deploy([LIBRARY], actor="admin")
        engine.load_items([LIBRARY / "items"], actor="admin")
        return [
            (item.code, item.department)
            for item in engine.service_items()
            if item.process == "general_permit" and item.department in DEPARTMENTS
        ]
    finally:
        engine.dispose()


@dataclass(frozen=True)
class Job:
    """A slice of the cases for one seeding process."""

    url: str
    first: int
    count: int
    total: int
    now: datetime
    days: int
    open_fraction: float
    held_fraction: float
    staff: Staff
    items: tuple[tuple[str, str], ...]


def seed_cases(job: Job) -> tuple[int, int]:
    """Run the job's cases through its own engine; return (cases, open tasks left)."""
    clock = FakeClock(job.now)
    engine = Engine(job.url, clock=clock)
    open_left = 0
    try:
        for i in range(job.first, job.first + job.count):
            open_left += _one_case(engine, clock, job, i)
    finally:
        engine.dispose()
    return job.count, open_left


def _one_case(engine: Engine, clock: FakeClock, job: Job, i: int) -> int:
    rng = random.Random(i)
    code, dept = job.items[i % len(job.items)]
    # cases in key order over the period; an open one waits at a step chosen by weight
    started = job.now - timedelta(days=job.days) * (1 - (i + rng.random()) / job.total)
    stop = None
    if rng.random() < job.open_fraction:
        stop = rng.choices(STEPS, OPEN_AT_WEIGHTS)[0]
    latest = job.now - timedelta(minutes=5)
    moment = min(started, latest)
    clock.set(moment)
    case = engine.start_case(
        "general_permit",
        f"WB-{i:06d}",
        actor=rng.choice(job.staff.window),
        data={"applicant": f"示范企业{i % 997:03d}有限公司"},
        title="许可申请",
        item=code,
    )
    task_id = case.open_tasks[0].id
    for step in STEPS:
        actor = _actor(job.staff, step, dept, rng)
        if step == stop:
            if actor in job.staff.load_officers() and rng.random() < job.held_fraction:
                engine.claim(task_id, actor=actor)  # held: in the officer's inbox as 在办
            return 1
        moment = min(moment + timedelta(hours=rng.uniform(0.5, 30)), latest)
        clock.set(moment)
        engine.claim(task_id, actor=actor)
        # completed a little later, never after the seeding's now
        moment = min(moment + timedelta(minutes=rng.uniform(5, 60)), job.now - timedelta(minutes=1))
        clock.set(moment)
        done = engine.complete(task_id, actor=actor, data=STEP_DATA[step], opinion="同意")
        if not done.next_tasks:
            return 0
        task_id = done.next_tasks[0]
    return 0


def _actor(staff: Staff, step: str, dept: str, rng: random.Random) -> str:
    if step in ("accept", "issue_certificate"):
        return rng.choice(staff.window)
    if step == "handle":
        return rng.choice(staff.officers[dept])
    return f"bc-{dept}" if step == "review" else f"bh-{dept}"


def jobs(
    url: str,
    cases: int,
    *,
    now: datetime,
    days: int,
    open_fraction: float,
    held_fraction: float,
    staff: Staff,
    items: list[tuple[str, str]],
    first: int = 0,
    chunk: int = 200,
) -> Iterator[Job]:
    """Slices of ``chunk`` cases, so that the processes share the work evenly."""
    for start in range(first, first + cases, chunk):
        yield Job(
            url, start, min(chunk, first + cases - start), first + cases, now, days,
            open_fraction, held_fraction, staff, tuple(items),
        )  # fmt: skip


def run(all_jobs: list[Job], processes: int, progress: bool = True) -> tuple[int, int, float]:
    """Seed in ``processes`` processes; return (cases, open tasks, seconds)."""
    started = time.perf_counter()
    done = open_tasks = 0
    total = sum(j.count for j in all_jobs)
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(processes) as pool:
        for count, open_left in pool.imap_unordered(seed_cases, all_jobs):
            done += count
            open_tasks += open_left
            if progress:
                elapsed = time.perf_counter() - started
                print(
                    f"\r  seeded {done:>7}/{total} cases  {done / elapsed:6.1f} cases/s",
                    end="",
                    flush=True,
                )
    if progress:
        print()
    return done, open_tasks, time.perf_counter() - started


def seed_late_cases(
    url: str,
    first: int,
    count: int,
    *,
    now: datetime,
    days: int,
    staff: Staff,
    items: list[tuple[str, str]],
) -> tuple[int, int]:
    """Run ``count`` cases (keys ``WB-L…``) that end late, firing the due timers as the
    fake clock passes the deadlines, and review their accountability records; return
    (cases completed, records reviewed). Call it in one process, after :func:`run`."""
    clock = FakeClock(now)
    engine = Engine(url, clock=clock)
    completed = reviewed = 0
    try:
        for k in range(count):
            rng = random.Random(f"late-{first + k}")
            code, dept = items[(first + k) % len(items)]
            # early in the period, so that the case can run late and still end by now
            started = now - timedelta(days=days) * (0.98 - 0.45 * (k + rng.random()) / count)
            ended = _one_late_case(engine, clock, staff, rng, first + k, code, dept, started, now)
            if ended is None:
                continue
            completed += 1
            clock.set(min(ended + timedelta(hours=rng.uniform(2, 48)), now - timedelta(minutes=1)))
            for record in engine.fault_records(case=f"WB-L{first + k:06d}"):
                if record.refers_to is not None or record.decision is not None:
                    continue
                if rng.random() < 0.6:
                    engine.review_fault(
                        record.id, decision="confirmed", actor=REVIEWER, level="admonition"
                    )
                else:
                    engine.review_fault(
                        record.id, decision="excused", actor=REVIEWER, reason="系统故障，情有可原。"
                    )
                reviewed += 1
    finally:
        engine.dispose()
    return completed, reviewed


def _one_late_case(
    engine: Engine,
    clock: FakeClock,
    staff: Staff,
    rng: random.Random,
    i: int,
    code: str,
    dept: str,
    started: datetime,
    now: datetime,
) -> datetime | None:
    """One case whose steps mostly end after their deadlines; its end (None: not ended)."""
    latest = now - timedelta(minutes=5)
    moment = started
    clock.set(moment)
    case = engine.start_case(
        "general_permit",
        f"WB-L{i:06d}",
        actor=rng.choice(staff.window),
        data={"applicant": f"示范企业{i % 997:03d}有限公司"},
        title="许可申请",
        item=code,
    )
    key = case.business_key
    for step in STEPS:
        actor = _actor(staff, step, dept, rng)
        task = _open_task(engine, key, step)
        if task is None:
            return None  # a timer moved the case elsewhere: leave it as it is
        if task.due_at is not None and rng.random() < 0.6:
            moment = max(moment, task.due_at + timedelta(hours=rng.uniform(1, 40)))  # late
        else:
            moment += timedelta(hours=rng.uniform(0.5, 20))
        moment = min(moment, latest)
        clock.set(moment)
        engine.fire_due_timers()
        try:
            # the section chief answers a reminder (催办) the overdue step raised
            urge = _open_task(engine, key, "urge_handling")
            if urge is not None:
                engine.claim(urge.id, actor=f"bc-{dept}")
                engine.complete(urge.id, actor=f"bc-{dept}", data={"urge_note": "请抓紧办理。"})
            engine.claim(task.id, actor=actor)
            moment = min(moment + timedelta(minutes=rng.uniform(5, 60)), now - timedelta(minutes=1))
            clock.set(moment)
            done = engine.complete(task.id, actor=actor, data=STEP_DATA[step], opinion="同意")
        except XiaonengError:
            return None  # a timer moved the case on meanwhile: leave it as it is
        if not done.next_tasks:
            return moment
    return None


def _open_task(engine: Engine, key: str, element: str) -> TaskView | None:
    """The case's open task at ``element``, if any."""
    found = [
        t for t in engine.get_case(key, with_history=False).open_tasks if t.element_id == element
    ]
    return found[0] if found else None


def fire_until(url: str, now: datetime) -> int:
    """Fire every timer due at ``now`` (cards and records on the open cases)."""
    engine = Engine(url, clock=FakeClock(now))
    try:
        return engine.fire_due_timers()
    finally:
        engine.dispose()
