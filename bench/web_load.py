"""Web UI under load: officers working their inboxes on PostgreSQL behind gunicorn.

Creates its own PostgreSQL database (``xiaoneng_bench_web``; dropped at the end unless
``--keep``), seeds it through the engine (the demo organisation plus bench officers, the
process library ``bpmn/`` and its sample items, ``--cases`` ``general_permit`` cases over
the last ``--days`` days, most of them completed, about ``--open`` of them waiting at a
step, half of those already claimed by an officer), starts
``gunicorn -w N 'webui:create_app()'`` on it, and lets ``--officers`` officers work at
once: each logs in through the login form, then loops over

    GET /officer/inbox → (POST /officer/tasks/<id>/claim when nothing is held)
    → GET /officer/tasks/<id> → POST /officer/tasks/<id>/complete

with ``--think`` seconds (mean, exponential) between two requests of one officer
(``--think 0``: no pause, the server's saturation). Requests before every officer
has logged in and during ``--warmup`` seconds after that are not counted. Prints
p50/p95/p99/max latency per route, requests/s, the machine's load, and the targets of
issue 5 (p95 ≤ 150 ms for the inbox and for completing a task) as met or missed; the
exit code does not depend on them.

The officers are bench people added to the demo organisation: a fifth of them window
officers (受理, 送达: claimable by all of them), the rest case officers (承办) spread over
the five departments whose items ``general_permit`` handles. The client threads run on
the same machine as gunicorn and PostgreSQL, and take their share of its cores.

Seeding runs every case through ``Engine.start_case`` / ``claim`` / ``complete`` (real
engine state, not rows written by SQL), in ``--seed-processes`` processes. It is slow:
about 11 transactions a case, 5 to 10 cases/s on the 2-core machine with both
processes, so the issue's 100,000 cases take about 3 to 5 hours; its time is printed
apart from the figures. Seed once and measure several times with ``--keep`` and then
``--reuse``.

Usage:
    python bench/web_load.py                        # the issue's configuration
    python bench/web_load.py --quick                # 300 cases, 10 officers, 20 s
    python bench/web_load.py --cases 5000 --keep    # seed and keep the database
    python bench/web_load.py --reuse --duration 60  # measure again on the kept data
    python bench/web_load.py --drop-only            # drop the kept database

Needs gunicorn: ``pip install -e '.[production]'``.
"""

from __future__ import annotations

import argparse
import html
import http.client
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
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import _web_seed as seed  # noqa: E402

from engine import Engine  # noqa: E402

SERVER = "postgresql://postgres@127.0.0.1:5432"
DATABASE = "xiaoneng_bench_web"
TARGET_MS = 150.0
CLAIM = "POST /officer/tasks/<id>/claim"
#: Answers to a claim that lost the race for a task: held by another officer (403),
#: already completed and gone from the person's view (404), changed meanwhile (409).
LOST_RACE = (403, 404, 409)
TARGET_ROUTES = ("GET /officer/inbox", "POST /officer/tasks/<id>/complete")


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


def counts(url: str) -> dict[str, int]:
    """Cases, their open tasks, and all tasks in the database."""
    plain = url.replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(plain) as conn:
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


def seed_database(args: argparse.Namespace, url: str, staff: seed.Staff) -> None:
    started = time.perf_counter()
    items = seed.set_up(url, staff)
    print(f"schema, organisation, bpmn/ and items in {time.perf_counter() - started:.1f} s")
    jobs = list(
        seed.jobs(
            url,
            args.cases,
            now=datetime.now(UTC),
            days=args.days,
            open_fraction=args.open,
            held_fraction=0.5,
            staff=staff,
            items=items,
        )
    )
    print(f"seeding {args.cases} cases in {args.seed_processes} processes …")
    cases, _open, seconds = seed.run(jobs, args.seed_processes)
    print(f"seeded {cases} cases in {seconds:.0f} s ({cases / seconds:.1f} cases/s)")
    analyze(args.server, args.database)


def ensure_staff(url: str, staff: seed.Staff) -> None:
    """On a kept database: add the bench officers a larger ``--officers`` needs."""
    engine = Engine(url)
    try:
        known = {p.id for p in engine.people()}
        if not set(staff.load_officers()) <= known:
            engine.load_organisation(seed.bench_organisation(staff))
    finally:
        engine.dispose()


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
) -> tuple[int, str, http.client.HTTPMessage]:
    """One request on a fresh connection (gunicorn's sync workers close after each)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        headers = {"Accept-Language": "zh-CN"}
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
    completed: int = 0
    no_work: int = 0

    def add(self, route: str, seconds: float, status: int) -> None:
        if not self.measuring.is_set():
            return
        with self.lock:
            self.samples[route].append(seconds * 1000)
            if 200 <= status < 400:
                return
            if route == CLAIM and status in LOST_RACE:
                self.lost[route] += 1  # another officer claimed it first: the page says so
            else:
                self.errors[route] += 1
            self.statuses[f"{route} {status}"] += 1


class Officer(threading.Thread):
    """One officer: log in, then inbox → (claim) → task → complete, until told to stop."""

    def __init__(
        self, person: str, port: int, think: float, stats: Stats, stop: threading.Event
    ) -> None:
        super().__init__(name=person, daemon=True)
        self.person, self.port, self.think, self.stats, self.stop = person, port, think, stats, stop
        self.cookies: dict[str, str] = {}
        self.rng = random.Random(person)
        self.failure: str | None = None
        self.logged_in = threading.Event()

    def call(
        self, route: str, method: str, path: str, form: dict[str, list[str]] | None = None
    ) -> tuple[int, str, http.client.HTTPMessage]:
        if self.think > 0:
            self.stop.wait(self.rng.expovariate(1 / self.think))
        started = time.perf_counter()
        status, text, headers = request(method, self.port, path, self.cookies, form)
        self.stats.add(route, time.perf_counter() - started, status)
        return status, text, headers

    def run(self) -> None:
        try:
            self.log_in()
            self.logged_in.set()
            while not self.stop.is_set():
                self.one_task()
        except Exception as exc:  # the report says which officer stopped and why
            self.failure = f"{type(exc).__name__}: {exc}"
            self.logged_in.set()
            raise

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

    def one_task(self) -> None:
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
                if self.stats.measuring.is_set():
                    with self.stats.lock:
                        self.stats.no_work += 1
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
        if status == 302 and self.stats.measuring.is_set():
            with self.stats.lock:
                self.stats.completed += 1


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    return statistics.quantiles(ordered, n=1000, method="inclusive")[int(q * 10) - 1]


def report(stats: Stats, seconds: float) -> None:
    routes = [
        "POST /login",
        "GET /officer/inbox",
        CLAIM,
        "GET /officer/tasks/<id>",
        "POST /officer/tasks/<id>/complete",
    ]
    print(
        f"\n{'route':<36}{'count':>7}{'errors':>7}{'lost':>6}{'p50 ms':>9}{'p95 ms':>9}"
        f"{'p99 ms':>9}{'max ms':>9}{'req/s':>8}"
    )
    total = 0
    for route in routes:
        values = stats.samples.get(route, [])
        total += len(values)
        if not values:
            print(f"{route:<36}{0:>7}")
            continue
        print(
            f"{route:<36}{len(values):>7}{stats.errors.get(route, 0):>7}"
            f"{stats.lost.get(route, 0):>6}"
            f"{percentile(values, 50):>9.0f}{percentile(values, 95):>9.0f}"
            f"{percentile(values, 99):>9.0f}{max(values):>9.0f}{len(values) / seconds:>8.1f}"
        )
    errors = sum(stats.errors.values())
    print(
        f"{'all':<36}{total:>7}{errors:>7}{sum(stats.lost.values()):>6}{'':>36}"
        f"{total / seconds:>8.1f}"
        f"\ntasks completed: {stats.completed} ({stats.completed / seconds:.1f}/s); "
        f"inbox loads with nothing to do: {stats.no_work}"
    )
    for what, n in sorted(stats.statuses.items()):
        print(f"  non-2xx/3xx: {what}: {n}")
    print("  (errors: other non-2xx/3xx answers; lost: a claim another officer won first)")
    for route in TARGET_ROUTES:
        values = stats.samples.get(route, [])
        if not values:
            print(f"target p95 <= {TARGET_MS:.0f} ms for {route}: no samples")
            continue
        p95 = percentile(values, 95)
        verdict = "met" if p95 <= TARGET_MS else "MISSED"
        print(f"target p95 <= {TARGET_MS:.0f} ms for {route}: {verdict} ({p95:.0f} ms)")


def load(args: argparse.Namespace, port: int, officers: list[str]) -> None:
    stats = Stats()
    stop = threading.Event()
    crew = [Officer(p, port, args.think, stats, stop) for p in officers]
    print(
        f"{len(crew)} officers, think time {args.think:g} s (mean), warm-up {args.warmup:g} s "
        "after the last login, "
        f"measured {args.duration:g} s"
    )
    started = time.perf_counter()
    for officer in crew:
        officer.start()
    for officer in crew:  # logins hash passwords: not part of the officers' work
        officer.logged_in.wait(timeout=300)
    print(f"all logged in after {time.perf_counter() - started:.1f} s; warm-up follows")
    time.sleep(args.warmup)
    stats.measuring.set()
    load_before = os.getloadavg()
    started = time.perf_counter()
    time.sleep(args.duration)
    stats.measuring.clear()
    seconds = time.perf_counter() - started
    load_after = os.getloadavg()
    stop.set()
    for officer in crew:
        officer.join(timeout=130)
    report(stats, seconds)
    failed = [f"{o.person}: {o.failure}" for o in crew if o.failure]
    if failed:
        print(f"officers that stopped on an error ({len(failed)}):", *failed[:5], sep="\n  ")
    print(
        f"load average (1, 5, 15 min) before: {' '.join(f'{x:.2f}' for x in load_before)}, "
        f"after: {' '.join(f'{x:.2f}' for x in load_after)} on {os.cpu_count()} cores"
    )


# -- main ------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(
        description=(__doc__ or "").splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n".join((__doc__ or "").splitlines()[1:]),
    )
    cores = os.cpu_count() or 1
    parser.add_argument("--cases", type=int, default=100_000, help="cases to seed")
    parser.add_argument("--days", type=int, default=30, help="history the cases span")
    parser.add_argument("--open", type=float, default=0.2, help="share of cases still open")
    parser.add_argument("--officers", type=int, default=50, help="officers working at once")
    parser.add_argument("--duration", type=float, default=120, help="measured seconds")
    parser.add_argument("--warmup", type=float, default=15, help="seconds not counted")
    parser.add_argument(
        "--think", type=float, default=3.0, help="mean pause (s) between an officer's requests"
    )
    parser.add_argument("--workers", type=int, default=2 * cores + 1, help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=1, help="threads per gunicorn worker")
    parser.add_argument("--seed-processes", type=int, default=cores, help="seeding processes")
    parser.add_argument("--server", default=SERVER, help="PostgreSQL server (no database)")
    parser.add_argument("--database", default=DATABASE, help="the database it creates")
    parser.add_argument("--quick", action="store_true", help="300 cases, 10 officers, 20 s")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--reuse", action="store_true", help="measure on a kept database")
    parser.add_argument("--seed-only", action="store_true", help="seed, keep, do not measure")
    parser.add_argument("--drop-only", action="store_true", help="drop a kept database")
    if "--quick" in sys.argv[1:]:  # smaller defaults; options given still count
        parser.set_defaults(cases=300, officers=10, duration=20, warmup=5)
    args = parser.parse_args()
    if args.seed_only:
        args.keep = True

    url = database_url(args.server, args.database)
    if args.drop_only:
        drop_database(args.server, args.database)
        print(f"dropped {args.database}")
        return
    staff = seed.staff_for(args.officers)
    if args.reuse:
        if not database_exists(args.server, args.database):
            raise SystemExit(f"no database {args.database} to reuse: seed one with --keep")
        ensure_staff(url, staff)
    else:
        create_database(args.server, args.database)
    try:
        if not args.reuse:
            seed_database(args, url, staff)
        print("data:", ", ".join(f"{k} {v}" for k, v in counts(url).items()))
        if args.seed_only:
            return
        port = free_port()
        print(f"gunicorn workers: {args.workers} × {args.threads} thread(s), {cores} cores")
        with gunicorn(url, args.workers, args.threads, port):
            load(args, port, staff.load_officers())
        print("data after:", ", ".join(f"{k} {v}" for k, v in counts(url).items()))
    finally:
        if args.keep or args.reuse:
            print(f"kept database {args.database} (drop it with --drop-only)")
        else:
            drop_database(args.server, args.database)


if __name__ == "__main__":
    main()
