"""Web UI under load: officers, supervisors and the public on PostgreSQL behind gunicorn.

Creates its own PostgreSQL database (``xiaoneng_bench_web``; dropped at the end unless
``--keep``), seeds it (below: the demo organisation plus bench officers and supervisors,
the process library ``bpmn/`` and its sample items, ``--cases`` ``general_permit`` cases
over the last ``--days`` days, each with a query code), starts
``gunicorn -w N 'webui:create_app()'`` on it, and runs the ``--scenario`` (``all``: the
three below one after another on the same server, each with its own table):

``officers`` (issue 5): ``--officers`` officers work at once; each logs in through the
login form, then loops over

    GET /officer/inbox → (POST /officer/tasks/<id>/claim when nothing is held)
    → GET /officer/tasks/<id> → POST /officer/tasks/<id>/complete

Target: p95 ≤ 150 ms for the inbox and for completing a task.

``supervision`` (issue 6): ``--supervisors`` supervisors of the supervision office log in
and loop over the dashboard ``GET /supervision/`` → the figures of the last ``--days``
days ``GET /supervision/figures?start=…&end=…`` → (one round in three) the charts of the
same period ``GET /supervision/charts?start=…&end=…``; one request in four is filtered to
one department (``&department=…``), as a supervisor looking closer would. Target: p95 ≤
300 ms for the dashboard and the figures (the charts are measured, without a target).

``progress`` (issue 6): ``--public`` members of the public query cases without logging in
(办件进度查询). Each visit opens the empty form ``GET /portal/progress``, then queries a
case with its number and query code ``GET /portal/progress?case=…&code=…`` (one visit in
ten mistypes the code first: the 404 answer is the right one there), and one visit in
three reloads the answer. Half the queried cases are still open, half ended. The query is
rate-limited per client address (``PROGRESS_RATE_LIMIT`` of ``webui/config.py``, 30 per
minute): the bench leaves that limit as it is and gives every visit its own address, as
members of the public have (``X-Forwarded-For``, with ``XIAONENG_TRUSTED_PROXIES=1`` as
behind one reverse proxy), so that no visit comes near it; a 429 would count as an error.
Target: p95 ≤ 50 ms for the query with the right code.

Every answer other than the expected one counts as an error (officers: any 2xx/3xx but a
claim another officer won first; supervisors and the public: 200, and 404 for a wrong
code). ``--think`` seconds (mean, exponential) pass between two requests of one user
(``--think 0``: no pause, the server's saturation). Requests before every user has logged
in and during ``--warmup`` seconds after that are not counted. Each scenario prints
p50/p95/p99/max latency per route, requests/s, the machine's load average and its targets
as met or missed; the exit code does not depend on them.

The officers are bench people added to the demo organisation: a fifth of them window
officers (受理, 送达: claimable by all of them), the rest case officers (承办) spread over
the five departments whose items ``general_permit`` handles. The supervisors are bench
people too (``bs01`` …, role supervisor, department ``supervision``): one login each, as
an office of that size would have, rather than 50 sessions of the demo's supervisor01.
The client threads run on the same machine as gunicorn and PostgreSQL, and take their
share of its cores.

Seeding has three parts. First ``--template-cases`` cases (at most ``--cases``) go
through the engine (``Engine.start_case`` / ``claim`` / ``complete``: real engine state)
in ``--seed-processes`` processes: ``--open`` of them left waiting at a step (half of
those already claimed by an officer): the cases the officers act on. ``--late`` of them
are run late in one process, the clock passing their deadlines and the timers firing
(cards, accountability records, notices; a supervisor reviews the records), and the
timers due now are fired, as ``xiaoneng worker`` would have. The engine manages 5 to 10
cases/s on the 2-core machine. Then, when ``--cases`` is larger, the ended engine cases
are copied in SQL on the server (``bench/_bulk_copy.py``: new ids and keys ``WB-H…``,
task ids rewritten, every row that refers to a case, timestamps moved by whole days
within the last ``--days`` days) up to ``--cases``: several hundred cases/s. The copies
are only read (history, metrics, supervision, progress); all open cases are engine
cases. Last, every case without a query code (cases started with ``Engine.start_case``
get none: only ``Engine.apply`` gives one) gets a random one in one ``UPDATE``. The
issue's 100,000 cases take about 13 minutes; the time is printed apart from the figures,
with the engine's department figures for the period as a check. Seed once and measure
several times with ``--keep`` and then ``--reuse`` (which upgrades a kept database to the
engine's newest schema, adds missing bench people and query codes).

Options (``--help``): ``--scenario``, ``--cases``, ``--template-cases``, ``--days``,
``--open``, ``--late``, ``--officers``, ``--supervisors``, ``--public``, ``--duration``,
``--warmup``, ``--think``, ``--workers``, ``--threads``, ``--seed-processes``,
``--server``, ``--database``, ``--quick``, ``--keep``, ``--reuse``, ``--add-open``,
``--seed-only``, ``--drop-only``.

Usage:
    python bench/web_load.py                        # issues 5 and 6: all three scenarios
    python bench/web_load.py --quick                # 300 cases, 10 users each, 20 s each
    python bench/web_load.py --quick --scenario progress
    python bench/web_load.py --cases 5000 --keep    # seed and keep the database
    python bench/web_load.py --seed-only            # seed 100,000 cases and keep them
    python bench/web_load.py --reuse --scenario supervision  # measure on the kept data
    python bench/web_load.py --reuse --add-open 800 --scenario officers  # fresh work first
    python bench/web_load.py --drop-only            # drop the kept database

Needs gunicorn: ``pip install -e '.[production]'``.
"""

from __future__ import annotations

import argparse
import html
import http.client
import itertools
import os
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import ClassVar
from zoneinfo import ZoneInfo

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import _bulk_copy as bulk  # noqa: E402
import _web_seed as seed  # noqa: E402

from engine import Engine  # noqa: E402
from engine.portal import QUERY_CODE_ALPHABET, QUERY_CODE_LENGTH  # noqa: E402
from webui.config import DEFAULTS as WEB_DEFAULTS  # noqa: E402

SERVER = "postgresql://postgres@127.0.0.1:5432"
DATABASE = "xiaoneng_bench_web"
CLAIM = "POST /officer/tasks/<id>/claim"
#: Answers to a claim that lost the race for a task: held by another officer (403),
#: already completed and gone from the person's view (404), changed meanwhile (409).
LOST_RACE = (403, 404, 409)
#: The portal's limit on progress queries per client address (not set from the
#: environment: the bench runs with it as it is).
PROGRESS_RATE_LIMIT = str(WEB_DEFAULTS["PROGRESS_RATE_LIMIT"])
#: Cases (number and query code) the public's progress queries pick from.
PROGRESS_CASES = 5000


# -- the database ------------------------------------------------------------------------


def database_url(server: str, name: str) -> str:
    return f"{server.replace('postgresql://', 'postgresql+psycopg://', 1)}/{name}"


def database_exists(server: str, name: str) -> bool:
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        row = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        return row is not None


def create_database(server: str, name: str) -> None:
    if database_exists(server, name):
        raise SystemExit(
            f"database {name} exists (kept by an earlier run?): measure on it with --reuse, "
            f"or drop it with --drop-only"
        )
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')


def drop_database(server: str, name: str) -> None:
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def analyze(server: str, name: str) -> None:
    with psycopg.connect(f"{server}/{name}", autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")


def plain_url(url: str) -> str:
    """The SQLAlchemy URL as libpq takes it."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def counts(url: str) -> dict[str, int]:
    """Cases, their open tasks, and all tasks in the database."""
    with psycopg.connect(plain_url(url)) as conn:
        queries = {
            "cases": "SELECT count(*) FROM cases",
            "completed cases": "SELECT count(*) FROM cases WHERE status = 'completed'",
            "tasks": "SELECT count(*) FROM human_tasks",
            "open tasks": "SELECT count(*) FROM human_tasks WHERE state = 'open'",
            "open tasks held": (
                "SELECT count(*) FROM human_tasks WHERE state = 'open' AND assignee IS NOT NULL"
            ),
        }
        found: dict[str, int] = {}
        for label, sql in queries.items():
            row = conn.execute(sql).fetchone()
            found[label] = int(row[0]) if row else 0
        return found


def set_query_codes(url: str) -> int:
    """Give every case without a query code a random one (cases started with
    ``Engine.start_case`` get none), in one UPDATE; return how many."""
    pick = (
        f"substr('{QUERY_CODE_ALPHABET}', 1 + floor(random() * {len(QUERY_CODE_ALPHABET)})::int, 1)"
    )
    with psycopg.connect(plain_url(url)) as conn:
        return conn.execute(
            f"UPDATE cases SET query_code = {' || '.join([pick] * QUERY_CODE_LENGTH)} "
            "WHERE query_code IS NULL"
        ).rowcount


def progress_cases(url: str, n: int) -> list[tuple[str, str, bool]]:
    """(case number, query code, ended) of up to ``n`` random cases: half of them open
    (when there are so many), the rest ended."""
    with psycopg.connect(plain_url(url)) as conn:
        sample = (
            "SELECT business_key, query_code, ended_at IS NOT NULL FROM cases "
            "WHERE query_code IS NOT NULL AND ended_at IS {} NULL ORDER BY random() LIMIT %s"
        )
        found = conn.execute(sample.format(""), (n // 2,)).fetchall()
        found += conn.execute(sample.format("NOT"), (n - len(found),)).fetchall()
    if not found:
        raise SystemExit("no case with a query code to ask about")
    return [(str(k), str(c), bool(e)) for k, c, e in found]


def seed_database(args: argparse.Namespace, url: str, staff: seed.Staff) -> None:
    """Engine-seeded template cases (regular, then late ones), the timers due now, then
    (``--cases`` above ``--template-cases``) the ended ones copied in SQL; ANALYZE."""
    began = started = time.perf_counter()
    items = seed.set_up(url, staff)
    print(f"schema, organisation, bpmn/ and items in {time.perf_counter() - started:.1f} s")
    engine_cases = min(args.cases, args.template_cases)
    late = min(round(engine_cases * args.late), engine_cases)
    now = datetime.now(UTC)
    jobs = list(
        seed.jobs(
            url,
            engine_cases - late,
            now=now,
            days=args.days,
            open_fraction=args.open,
            held_fraction=0.5,
            staff=staff,
            items=items,
        )
    )
    print(
        f"seeding {engine_cases - late} cases through the engine, {args.seed_processes} processes …"
    )
    cases, _open, seconds = seed.run(jobs, args.seed_processes)
    print(f"seeded {cases} cases in {seconds:.0f} s ({cases / seconds:.1f} cases/s)")
    if late:
        started = time.perf_counter()
        ended, reviewed = seed.seed_late_cases(
            url, 0, late, now=now, days=args.days, staff=staff, items=items
        )
        print(
            f"{late} late cases ({ended} ended, {reviewed} accountability records reviewed) "
            f"in {time.perf_counter() - started:.0f} s"
        )
    started = time.perf_counter()
    fired = seed.fire_until(url, datetime.now(UTC))
    print(f"fired the {fired} timers due now in {time.perf_counter() - started:.0f} s")
    if args.cases > engine_cases:
        result = bulk.multiply(plain_url(url), args.cases, now=datetime.now(UTC), days=args.days)
        print(
            f"copied {result.templates} ended cases into {result.copies} more in "
            f"{result.seconds:.0f} s ({result.copies / max(result.seconds, 1e-9):.0f} cases/s): "
            + ", ".join(f"{table} {n}" for table, n in result.rows.items())
        )
    print(f"query codes given to {set_query_codes(url)} cases")
    started = time.perf_counter()
    analyze(args.server, args.database)
    print(f"VACUUM ANALYZE in {time.perf_counter() - started:.0f} s")
    print(f"seeding took {time.perf_counter() - began:.0f} s in all")


def print_figures(url: str, days: int) -> None:
    """The engine's department figures for the last ``days`` days (a sanity check)."""
    engine = Engine(url)
    try:
        today = datetime.now(ZoneInfo(engine.timezone)).date()
        figures = engine.department_figures(today - timedelta(days=days - 1), today)
    finally:
        engine.dispose()
    print(
        f"department figures, last {days} days:\n"
        f"  {'department':<18}{'received':>9}{'completed':>10}{'on time':>8}{'overdue':>8}"
        f"{'open late':>10}{'avg wd':>7}{'faults':>7}{'steps':>7}{'late':>6}"
    )
    for f in figures:
        avg = f"{f.avg_working_days:.1f}" if f.avg_working_days is not None else "-"
        print(
            f"  {f.department_id:<18}{f.received:>9}{f.completed:>10}{f.on_time:>8}"
            f"{f.overdue:>8}{f.overdue_open:>10}{avg:>7}{f.confirmed_faults:>7}"
            f"{f.steps_completed:>7}{f.steps_overdue:>6}"
        )


def prepare_reuse(args: argparse.Namespace, url: str, staff: seed.Staff) -> None:
    """On a kept database: upgrade its schema to the engine's newest (Alembic), add the
    bench people a larger ``--officers`` or ``--supervisors`` needs, and query codes to
    the cases without one."""
    engine = Engine(url, create_schema=True)
    try:
        known = {p.id for p in engine.people()}
        if not {*staff.load_officers(), *staff.supervisors} <= known:
            engine.load_organisation(seed.bench_organisation(staff))
    finally:
        engine.dispose()
    if args.add_open:
        add_open_cases(args, url, staff)
    coded = set_query_codes(url)
    if coded:
        print(f"query codes given to {coded} cases")
        analyze(args.server, args.database)


def add_open_cases(args: argparse.Namespace, url: str, staff: seed.Staff) -> None:
    """``--add-open N``: N more cases through the engine, all waiting at a step (half of
    them claimed), started over the last two days: the officers' runs use up the work of
    a kept database."""
    with psycopg.connect(plain_url(url)) as conn:
        row = conn.execute(
            "SELECT max(substring(business_key from 4)::int) FROM cases"
            " WHERE business_key ~ '^WB-[0-9]+$'"
        ).fetchone()
    first = (row[0] if row and row[0] is not None else -1) + 1
    items = seed.set_up(url, staff)
    jobs = list(
        seed.jobs(
            url, args.add_open, now=datetime.now(UTC), days=2, open_fraction=1.0,
            held_fraction=0.5, staff=staff, items=items, first=first,
        )
    )  # fmt: skip
    done, _, seconds = seed.run(jobs, args.seed_processes)
    print(f"added {done} open cases through the engine in {seconds:.0f} s")


# -- the server ----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def gunicorn(url: str, workers: int, threads: int, port: int) -> Iterator[None]:
    """gunicorn serving ``webui:create_app()`` on ``url``; stopped on leaving."""
    env = {
        **os.environ,
        "XIAONENG_DATABASE_URL": url,
        "XIAONENG_SECRET_KEY": "bench-web-load-secret-key",
        "XIAONENG_LOGIN_RATE_LIMIT": "100000 per minute",
        "XIAONENG_SESSION_COOKIE_SECURE": "0",
        # the public's client address from X-Forwarded-For (as behind one reverse proxy)
        "XIAONENG_TRUSTED_PROXIES": "1",
    }
    command = [
        sys.executable, "-m", "gunicorn", "-w", str(workers), "--threads", str(threads),
        "-b", f"127.0.0.1:{port}", "--log-level", "warning", "--chdir", str(ROOT),
        "webui:create_app()",
    ]  # fmt: skip
    print("server:", " ".join(command[2:]))
    process = subprocess.Popen(command, env=env, cwd=ROOT)
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise SystemExit(f"gunicorn exited with {process.returncode}")
            try:
                status, _body, _headers = request("GET", port, "/login", {})
                if status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("gunicorn did not answer within 60 s")
            time.sleep(0.3)
        yield
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# -- the client ----------------------------------------------------------------------------


def request(
    method: str,
    port: int,
    path: str,
    cookies: dict[str, str],
    form: dict[str, list[str]] | None = None,
    extra: dict[str, str] | None = None,
) -> tuple[int, str, http.client.HTTPMessage]:
    """One request on a fresh connection (gunicorn's sync workers close after each)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        headers = {"Accept-Language": "zh-CN", **(extra or {})}
        if cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form, doseq=True)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        text = response.read().decode("utf-8", "replace")
        for value in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = value.partition("=")
            cookies[name.strip()] = rest.split(";", 1)[0]
        return response.status, text, response.headers
    finally:
        conn.close()


_CSRF = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')
_HELD = re.compile(r'<a href="/officer/tasks/([^"/]+)">')
_CLAIM = re.compile(r'action="/officer/tasks/([^"/]+)/claim"')


class CompletionForm(HTMLParser):
    """The fields of the task page's completion form (``officer.complete``)."""

    def __init__(self, task_id: str) -> None:
        super().__init__()
        self.action = f"/officer/tasks/{task_id}/complete"
        self.found = False
        self.inside = False
        self.fields: dict[str, list[str]] = {}
        self.required: set[str] = set()
        self._select: str | None = None
        self._options: list[tuple[str, bool]] = []
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.inside = a.get("action") == self.action
            self.found = self.found or self.inside
            return
        if not self.inside:
            return
        name = a.get("name", "")
        if "required" in a and name:
            self.required.add(name)
        if tag == "input" and name and a.get("type") != "submit":
            if a.get("type") in ("checkbox", "radio"):
                if "checked" in a:
                    self.fields.setdefault(name, []).append(a.get("value", "y"))
            else:
                self.fields[name] = [a.get("value", "")]
        elif tag == "select":
            self._select, self._options = name, []
        elif tag == "option" and self._select:
            self._options.append((a.get("value", ""), "selected" in a))
        elif tag == "textarea":
            self._textarea = name
            self.fields[name] = [""]

    def handle_data(self, data: str) -> None:
        if self._textarea:
            self.fields[self._textarea] = [self.fields[self._textarea][0] + data]

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False
        elif tag == "select" and self._select:
            chosen = [v for v, selected in self._options if selected]
            values = [v for v, _s in self._options if v]
            self.fields[self._select] = [chosen[0] if chosen else (values[0] if values else "")]
            self._select = None
        elif tag == "textarea":
            self._textarea = None


#: Answers that keep the case on its main path (bpmn/docs/general_permit.md).
ANSWERS = {
    "f_accepted": "yes",
    "f_next_action": "submit",
    "f_review_result": "pass",
    "f_decision": "grant",
    "f_handling_opinion": "材料齐全，符合法定条件。",
    "f_certificate_no": "ZS-LOAD",
    "opinion": "同意。",
}


def completion_data(page: str, task_id: str) -> dict[str, list[str]] | None:
    """The completion form's fields, filled in to take the main path (None: no form)."""
    parser = CompletionForm(task_id)
    start = page.find(f'action="{parser.action}"')
    if start < 0:
        return None
    # only the form: the page's diagram and history would cost the client more than it
    parser.feed(page[page.rfind("<form", 0, start) : page.find("</form>", start) + 7])
    if not parser.found:
        return None
    data = {k: [html.unescape(v) for v in vs] for k, vs in parser.fields.items()}
    for name in data:
        if name in ANSWERS:
            data[name] = [ANSWERS[name]]
        elif name in parser.required and not any(data[name]):
            data[name] = ["已核实。"]
    return data


@dataclass
class Stats:
    """Latencies per route, kept once the warm-up is over."""

    measuring: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    samples: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    lost: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    statuses: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    counters: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def add(self, route: str, seconds: float, status: int, expected: int | None) -> None:
        """One answer; ``expected``: the one right status (None: any 2xx/3xx)."""
        if not self.measuring.is_set():
            return
        with self.lock:
            self.samples[route].append(seconds * 1000)
            if status == expected or (expected is None and 200 <= status < 400):
                return
            if route == CLAIM and status in LOST_RACE:
                self.lost[route] += 1  # another officer claimed it first: the page says so
            else:
                self.errors[route] += 1
            self.statuses[f"{route} {status}"] += 1

    def count(self, what: str) -> None:
        if self.measuring.is_set():
            with self.lock:
                self.counters[what] += 1


class User(threading.Thread):
    """One user of the web UI: :meth:`log_in`, then :meth:`one_round` until told to stop."""

    def __init__(
        self, name: str, port: int, think: float, stats: Stats, stop: threading.Event
    ) -> None:
        super().__init__(name=name, daemon=True)
        self.person, self.port, self.think, self.stats, self.stop = name, port, think, stats, stop
        self.cookies: dict[str, str] = {}
        self.headers: dict[str, str] = {}
        self.rng = random.Random(name)
        self.failure: str | None = None
        self.logged_in = threading.Event()

    def call(
        self,
        route: str,
        method: str,
        path: str,
        form: dict[str, list[str]] | None = None,
        *,
        expected: int | None = None,
    ) -> tuple[int, str, http.client.HTTPMessage]:
        if self.think > 0:
            self.stop.wait(self.rng.expovariate(1 / self.think))
        started = time.perf_counter()
        status, text, headers = request(method, self.port, path, self.cookies, form, self.headers)
        self.stats.add(route, time.perf_counter() - started, status, expected)
        return status, text, headers

    def run(self) -> None:
        try:
            self.log_in()
            self.logged_in.set()
            while not self.stop.is_set():
                self.one_round()
        except Exception as exc:  # the report says which user stopped and why
            self.failure = f"{type(exc).__name__}: {exc}"
            self.logged_in.set()
            raise

    def log_in(self) -> None:
        """Nothing to do for a visitor."""

    def one_round(self) -> None:
        raise NotImplementedError


class Staffer(User):
    """Someone who logs in through the login form with the bench password."""

    def log_in(self) -> None:
        _s, page, _h = self.call("GET /login", "GET", "/login")
        token = _CSRF.search(page)
        if token is None:
            raise RuntimeError("no CSRF token on the login page")
        form = {"csrf_token": [token.group(1)], "username": [self.person],
                "password": [seed.PASSWORD], "next": [""]}  # fmt: skip
        status, _page, _headers = self.call("POST /login", "POST", "/login", form)
        if status != 302:
            raise RuntimeError(f"login of {self.person} answered {status}")


class Officer(Staffer):
    """An officer: inbox → (claim) → task → complete."""

    def one_round(self) -> None:
        status, page, _h = self.call("GET /officer/inbox", "GET", "/officer/inbox")
        if status != 200:
            return
        held_part, _sep, claim_part = page.partition('id="claimable-title"')
        held = _HELD.findall(held_part)
        if held:
            task_id = self.rng.choice(held)
        else:
            claimable = _CLAIM.findall(claim_part)
            token = _CSRF.search(claim_part)
            if not claimable or token is None:
                self.stats.count("inbox loads with nothing to do")
                self.stop.wait(1.0)
                return
            task_id = self.rng.choice(claimable)
            path = f"/officer/tasks/{task_id}/claim"
            form = {"csrf_token": [token.group(1)]}
            status, _page, _h = self.call(CLAIM, "POST", path, form)
            if status != 302:
                return  # someone else was quicker: back to the inbox
        path = f"/officer/tasks/{task_id}"
        status, page, _h = self.call("GET /officer/tasks/<id>", "GET", path)
        data = completion_data(page, task_id) if status == 200 else None
        if data is None:
            return
        status, _page, _h = self.call(
            "POST /officer/tasks/<id>/complete", "POST", path + "/complete", data
        )
        if status == 302:
            self.stats.count("tasks completed")


#: Supervision: the share of rounds that open the charts too, and of requests filtered
#: to one department.
CHARTS_SHARE = 1 / 3
DEPARTMENT_SHARE = 1 / 4
DASHBOARD = "GET /supervision/"
FIGURES = "GET /supervision/figures?start&end"
CHARTS = "GET /supervision/charts?start&end"


class Supervisor(Staffer):
    """A supervisor: dashboard → a month's figures → (now and then) the charts."""

    period: ClassVar[dict[str, str]] = {}  # set by prepare()

    def department(self) -> dict[str, str]:
        if self.rng.random() < DEPARTMENT_SHARE:
            return {"department": self.rng.choice(seed.DEPARTMENTS)}
        return {}

    def one_round(self) -> None:
        query = urllib.parse.urlencode(self.department())
        self.call(DASHBOARD, "GET", "/supervision/" + (f"?{query}" if query else ""), expected=200)
        query = urllib.parse.urlencode({**self.period, **self.department()})
        self.call(FIGURES, "GET", f"/supervision/figures?{query}", expected=200)
        if self.rng.random() < CHARTS_SHARE:
            query = urllib.parse.urlencode({**self.period, **self.department()})
            self.call(CHARTS, "GET", f"/supervision/charts?{query}", expected=200)
        self.stats.count("rounds")


#: The public: the share of visits that mistype the code first, and that reload.
WRONG_SHARE = 0.1
RELOAD_SHARE = 1 / 3
FORM = "GET /portal/progress (empty form)"
QUERY = "GET /portal/progress?case&code"
WRONG = "GET /portal/progress?case&code (wrong)"
_VISITS = itertools.count(1)


def visitor_address(n: int) -> str:
    """The client address of the ``n``-th visit (10.0.0.1 …)."""
    return f"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"


def mistyped(code: str, rng: random.Random) -> str:
    """``code`` with one character changed."""
    at = rng.randrange(len(code))
    other = rng.choice([c for c in QUERY_CODE_ALPHABET if c != code[at]])
    return code[:at] + other + code[at + 1 :]


class Visitor(User):
    """Members of the public, one visit after another, each from its own address: the
    empty form, (a mistyped code,) the case's progress, (a reload)."""

    cases: ClassVar[list[tuple[str, str, bool]]] = []  # set by prepare()

    def one_round(self) -> None:
        self.headers = {"X-Forwarded-For": visitor_address(next(_VISITS))}
        self.call(FORM, "GET", "/portal/progress", expected=200)
        key, code, _ended = self.rng.choice(self.cases)
        if self.rng.random() < WRONG_SHARE:
            query = urllib.parse.urlencode({"case": key, "code": mistyped(code, self.rng)})
            self.call(WRONG, "GET", f"/portal/progress?{query}", expected=404)
        query = urllib.parse.urlencode({"case": key, "code": code})
        status, page, _h = self.call(QUERY, "GET", f"/portal/progress?{query}", expected=200)
        if status == 200 and key not in page:
            raise RuntimeError(f"the progress page of {key} does not name the case")
        if self.rng.random() < RELOAD_SHARE:
            self.call(QUERY, "GET", f"/portal/progress?{query}", expected=200)
        self.stats.count("visits")


@dataclass(frozen=True)
class Scenario:
    """A kind of user under load, the routes to report and their p95 targets (ms)."""

    name: str
    user: type[User]
    who: str
    routes: tuple[str, ...]
    targets: dict[str, float]


SCENARIOS = {
    "officers": Scenario(
        "officers",
        Officer,
        "officers",
        (
            "POST /login",
            "GET /officer/inbox",
            CLAIM,
            "GET /officer/tasks/<id>",
            "POST /officer/tasks/<id>/complete",
        ),
        {"GET /officer/inbox": 150.0, "POST /officer/tasks/<id>/complete": 150.0},
    ),
    "supervision": Scenario(
        "supervision",
        Supervisor,
        "supervisors",
        ("POST /login", DASHBOARD, FIGURES, CHARTS),
        {DASHBOARD: 300.0, FIGURES: 300.0},
    ),
    "progress": Scenario(
        "progress", Visitor, "members of the public", (FORM, QUERY, WRONG), {QUERY: 50.0}
    ),
}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    return statistics.quantiles(ordered, n=1000, method="inclusive")[int(q * 10) - 1]


def report(scenario: Scenario, stats: Stats, seconds: float) -> list[str]:
    """Print the scenario's table; return its targets' verdicts."""
    routes = [*scenario.routes, *sorted(set(stats.samples) - set(scenario.routes))]
    width = max(36, *(len(r) + 2 for r in routes))
    print(
        f"\n{'route':<{width}}{'count':>7}{'errors':>7}{'lost':>6}{'p50 ms':>9}{'p95 ms':>9}"
        f"{'p99 ms':>9}{'max ms':>9}{'req/s':>8}"
    )
    total = 0
    for route in routes:
        values = stats.samples.get(route, [])
        total += len(values)
        if not values:
            print(f"{route:<{width}}{0:>7}")
            continue
        print(
            f"{route:<{width}}{len(values):>7}{stats.errors.get(route, 0):>7}"
            f"{stats.lost.get(route, 0):>6}"
            f"{percentile(values, 50):>9.0f}{percentile(values, 95):>9.0f}"
            f"{percentile(values, 99):>9.0f}{max(values):>9.0f}{len(values) / seconds:>8.1f}"
        )
    errors = sum(stats.errors.values())
    print(
        f"{'all':<{width}}{total:>7}{errors:>7}{sum(stats.lost.values()):>6}{'':>36}"
        f"{total / seconds:>8.1f}"
    )
    if stats.counters:
        print(
            "; ".join(
                f"{what}: {n} ({n / seconds:.1f}/s)" for what, n in sorted(stats.counters.items())
            )
        )
    for what, n in sorted(stats.statuses.items()):
        print(f"  unexpected answer: {what}: {n}")
    print("  (errors: answers other than the expected one; lost: a claim another officer won)")
    verdicts = []
    for route, target in scenario.targets.items():
        values = stats.samples.get(route, [])
        if not values:
            verdict = f"target p95 <= {target:.0f} ms for {route}: no samples"
        else:
            p95 = percentile(values, 95)
            met = "met" if p95 <= target else "MISSED"
            verdict = f"target p95 <= {target:.0f} ms for {route}: {met} ({p95:.0f} ms)"
        print(verdict)
        verdicts.append(verdict)
    return verdicts


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def run_scenario(
    scenario: Scenario, args: argparse.Namespace, port: int, names: list[str]
) -> list[str]:
    """Let ``names`` users of the scenario work at once; print the table; return the
    targets' verdicts (with the load average)."""
    stats = Stats()
    stop = threading.Event()
    crew = [scenario.user(name, port, args.think, stats, stop) for name in names]
    print(
        f"\n== scenario {scenario.name}: {len(crew)} {scenario.who}, think time {args.think:g} s "
        f"(mean), warm-up {args.warmup:g} s after the last login, measured {args.duration:g} s"
    )
    started = time.perf_counter()
    for user in crew:
        user.start()
    for user in crew:  # logins hash passwords: not part of the users' work
        user.logged_in.wait(timeout=300)
    print(f"all {scenario.who} ready after {time.perf_counter() - started:.1f} s; warm-up follows")
    time.sleep(args.warmup)
    stats.measuring.set()
    load_before = load_average()
    started = time.perf_counter()
    time.sleep(args.duration)
    stats.measuring.clear()
    seconds = time.perf_counter() - started
    load_after = load_average()
    stop.set()
    for user in crew:
        user.join(timeout=130)
    verdicts = report(scenario, stats, seconds)
    failed = [f"{u.person}: {u.failure}" for u in crew if u.failure]
    if failed:
        print(f"users that stopped on an error ({len(failed)}):", *failed[:5], sep="\n  ")
    machine = (
        f"load average (1, 5, 15 min) before: {load_before}, after: {load_after} "
        f"on {os.cpu_count()} cores"
    )
    print(machine)
    return [f"{scenario.name}: {v}" for v in verdicts] + [f"{scenario.name}: {machine}"]


def users(scenario: str, args: argparse.Namespace, staff: seed.Staff) -> list[str]:
    if scenario == "officers":
        return staff.load_officers()
    if scenario == "supervision":
        return list(staff.supervisors)
    return [f"visitor{n:02d}" for n in range(1, args.public + 1)]


def prepare(scenarios: list[str], args: argparse.Namespace, url: str) -> None:
    """What the users need beyond the seeded cases: the supervisors' period, the cases
    (and their codes) the public asks about."""
    engine = Engine(url)
    try:
        zone = ZoneInfo(engine.timezone)
    finally:
        engine.dispose()
    today = datetime.now(zone).date()
    start = today - timedelta(days=args.days - 1)
    Supervisor.period = {"start": start.isoformat(), "end": today.isoformat()}
    if "supervision" in scenarios:
        print(f"supervision period: {start} to {today}")
    if "progress" in scenarios:
        Visitor.cases = progress_cases(url, PROGRESS_CASES)
        open_ = sum(1 for _k, _c, ended in Visitor.cases if not ended)
        print(
            f"the public asks about {len(Visitor.cases)} random cases ({open_} open); "
            f"progress rate limit {PROGRESS_RATE_LIMIT} per address, unchanged: every visit "
            "from its own address (X-Forwarded-For, XIAONENG_TRUSTED_PROXIES=1), at most "
            "3 queries each"
        )


# -- main ------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(
        description=(__doc__ or "").splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n".join((__doc__ or "").splitlines()[1:]),
    )
    cores = os.cpu_count() or 1
    parser.add_argument(
        "--scenario",
        choices=(*SCENARIOS, "all"),
        default="all",
        help="who is under load (all: officers, supervision, progress one after another)",
    )
    parser.add_argument("--cases", type=int, default=100_000, help="cases to seed")
    parser.add_argument(
        "--template-cases",
        type=int,
        default=1500,
        help="cases seeded through the engine; the ended ones are copied in SQL up to --cases",
    )
    parser.add_argument("--days", type=int, default=30, help="history the cases span")
    parser.add_argument(
        "--open", type=float, default=0.5, help="share of the engine-seeded cases still open"
    )
    parser.add_argument(
        "--late",
        type=float,
        default=0.05,
        help="share of the engine-seeded cases run late with their timers fired",
    )
    parser.add_argument("--officers", type=int, default=50, help="officers working at once")
    parser.add_argument("--supervisors", type=int, default=50, help="supervisors working at once")
    parser.add_argument(
        "--public", type=int, default=50, help="members of the public querying at once"
    )
    parser.add_argument("--duration", type=float, default=120, help="measured seconds")
    parser.add_argument("--warmup", type=float, default=15, help="seconds not counted")
    parser.add_argument(
        "--think", type=float, default=3.0, help="mean pause (s) between a user's requests"
    )
    parser.add_argument("--workers", type=int, default=cores, help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker")
    parser.add_argument("--seed-processes", type=int, default=cores, help="seeding processes")
    parser.add_argument("--server", default=SERVER, help="PostgreSQL server (no database)")
    parser.add_argument("--database", default=DATABASE, help="the database it creates")
    parser.add_argument(
        "--quick", action="store_true", help="300 cases, 10 users of each kind, 20 s each"
    )
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--reuse", action="store_true", help="measure on a kept database")
    parser.add_argument(
        "--add-open",
        type=int,
        default=0,
        metavar="N",
        help="with --reuse: first run N more open cases through the engine (work for officers)",
    )
    parser.add_argument("--seed-only", action="store_true", help="seed, keep, do not measure")
    parser.add_argument("--drop-only", action="store_true", help="drop a kept database")
    if "--quick" in sys.argv[1:]:  # smaller defaults; options given still count
        parser.set_defaults(
            cases=300, officers=10, supervisors=10, public=10, duration=20, warmup=5
        )
    args = parser.parse_args()
    if args.cases < 1 or args.template_cases < 1 or args.days < 1:
        parser.error("--cases, --template-cases and --days must be at least 1")
    if min(args.officers, args.supervisors, args.public) < 1:
        parser.error("--officers, --supervisors and --public must be at least 1")
    for name in ("open", "late"):
        if not 0 <= getattr(args, name) <= 1:
            parser.error(f"--{name} is a share: between 0 and 1")
    if args.seed_only:
        args.keep = True
    scenarios = list(SCENARIOS) if args.scenario == "all" else [args.scenario]

    url = database_url(args.server, args.database)
    if args.drop_only:
        drop_database(args.server, args.database)
        print(f"dropped {args.database}")
        return
    staff = seed.staff_for(args.officers, args.supervisors)
    if args.reuse:
        if not database_exists(args.server, args.database):
            raise SystemExit(f"no database {args.database} to reuse: seed one with --keep")
        prepare_reuse(args, url, staff)
    else:
        create_database(args.server, args.database)
    try:
        if not args.reuse:
            seed_database(args, url, staff)
        print("data:", ", ".join(f"{k} {v}" for k, v in counts(url).items()))
        print_figures(url, args.days)
        if args.seed_only:
            return
        prepare(scenarios, args, url)
        port = free_port()
        print(f"gunicorn workers: {args.workers} × {args.threads} thread(s), {cores} cores")
        verdicts: list[str] = []
        with gunicorn(url, args.workers, args.threads, port):
            for name in scenarios:
                verdicts += run_scenario(SCENARIOS[name], args, port, users(name, args, staff))
        print("\ndata after:", ", ".join(f"{k} {v}" for k, v in counts(url).items()))
        if len(scenarios) > 1:
            print("targets:", *verdicts, sep="\n  ")
    finally:
        if args.keep or args.reuse:
            print(f"kept database {args.database} (drop it with --drop-only)")
        else:
            drop_database(args.server, args.database)


if __name__ == "__main__":
    main()
