"""The ``xiaoneng`` command line.

Every command reads the database from ``XIAONENG_DATABASE_URL`` (default: the SQLite
file ``xiaoneng.db`` in the working directory) and prints readable text, or JSON with
``--json``. Errors print one line to stderr and exit with status 1 (2 for usage errors).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from datetime import date, timedelta
from importlib.metadata import entry_points
from typing import Any

from engine.api import Engine
from engine.calendar import schedule_to_toml
from engine.demo import DEMO_APPLICANT, DEMO_LOGINS, load_demo
from engine.errors import InvalidInputError, XiaonengError
from engine.store.db import database_url
from engine.worker import TimerWorker

#: Entry-point group of commands that other installed packages add to ``xiaoneng``.
#: Each entry point names a function that takes the sub-parsers action, adds its own
#: sub-parser and sets ``handler`` (``args -> exit status``) as a default on it. This is
#: how ``xiaoneng serve`` comes from ``webui`` while the engine knows nothing of it.
COMMAND_GROUP = "xiaoneng.commands"
log = logging.getLogger(__name__)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="xiaoneng",
        description="Xiaoneng (效能): BPM engine for government approvals. The database is "
        "XIAONENG_DATABASE_URL (default: sqlite:///xiaoneng.db in the working directory).",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sub.add_parser("init-db", help="create or upgrade the database schema")

    p = sub.add_parser(
        "demo",
        help="set up a demo database: schema, demo organisation, "
        "the shipped process library and sample cases in various states",
    )
    p.add_argument("--key", default="DEMO-0001", help="case number of the sample case")

    p = sub.add_parser("org", help="organisation: load a TOML file or show a person")
    org = p.add_subparsers(dest="org_command", required=True, metavar="ORG_COMMAND")
    q = org.add_parser("load", help="create or update departments, posts and people")
    q.add_argument("file", help="organisation TOML file (see docs/organisation.md)")
    q.add_argument(
        "--replace",
        action="store_true",
        help="replace each listed person's posts, roles and memberships",
    )
    q = org.add_parser("person", help="show a person and their groups")
    q.add_argument("person_id")

    p = sub.add_parser("calendar", help="working-day calendar: import or show a year's schedule")
    cal = p.add_subparsers(dest="calendar_command", required=True, metavar="CALENDAR_COMMAND")
    q = cal.add_parser(
        "import", help="import a year's official schedule (file format: docs/holidays.md)"
    )
    q.add_argument("file", help="schedule TOML file")
    q.add_argument("--replace", action="store_true", help="overwrite a year imported before")
    q.add_argument("--as", dest="actor", help="who imports (recorded in the audit trail)")
    q = cal.add_parser("show", help="print a year's schedule in the file format")
    q.add_argument("year", type=int)
    cal.add_parser("years", help="list the years the calendar knows")

    p = sub.add_parser("items", help="service items (办理事项): load, list, show")
    its = p.add_subparsers(dest="items_command", required=True, metavar="ITEMS_COMMAND")
    q = its.add_parser("load", help="create or update items from TOML files or folders")
    q.add_argument("paths", nargs="+", metavar="PATH")
    q.add_argument("--as", dest="actor", help="who loads (recorded in the audit trail)")
    q = its.add_parser("list", help="list items")
    q.add_argument("--department", help="only this department's items")
    q = its.add_parser("show", help="show one item")
    q.add_argument("code")

    p = sub.add_parser("deploy", help="deploy BPMN/DMN/form files or folders as one bundle")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("--as", dest="actor", help="who deploys (recorded in the audit trail)")

    p = sub.add_parser("definitions", help="list deployed process versions")
    p.add_argument("process_id", nargs="?")

    p = sub.add_parser("start", help="start a case")
    p.add_argument("process_id")
    p.add_argument("--key", required=True, help="the case number (business key), unique")
    p.add_argument("--data", default="{}", help="initial case data as a JSON object")
    p.add_argument("--as", dest="actor", help="who starts the case")
    p.add_argument("--version", type=int, help="definition version (default: newest)")
    p.add_argument("--title", help="case title")
    p.add_argument("--item", help="service item code: sets the promised deadline and step limits")

    p = sub.add_parser("tasks", help="list tasks (open by default)")
    p.add_argument("--user", help="tasks the user holds or may claim")
    p.add_argument("--group", help="tasks offered to a group, e.g. role:section-chief")
    p.add_argument("--case", help="tasks of one case (case number)")
    p.add_argument("--state", default="open", choices=["open", "completed", "cancelled", "all"])

    p = sub.add_parser("inbox", help="a person's inbox: held and claimable tasks by urgency")
    p.add_argument("person_id")

    for name, helptext in (
        ("claim", "claim a task (candidates only)"),
        ("unclaim", "give a claimed task back to its candidates"),
    ):
        p = sub.add_parser(name, help=helptext)
        p.add_argument("task_id")
        p.add_argument("--as", dest="actor", required=True)

    p = sub.add_parser("complete", help="complete a task you hold")
    p.add_argument("task_id")
    p.add_argument("--as", dest="actor", required=True)
    p.add_argument("--data", default="{}", help="form data as a JSON object")
    p.add_argument("--opinion", help="approval opinion (审批意见)")

    for name, helptext in (
        ("transfer", "转办: move a task you hold to someone else for good"),
        ("delegate", "委派: lend a task you hold; it comes back when resolved"),
    ):
        p = sub.add_parser(name, help=helptext)
        p.add_argument("task_id")
        p.add_argument("--as", dest="actor", required=True)
        p.add_argument("--to", required=True, help="the person who receives the task")
        p.add_argument("--reason")

    p = sub.add_parser("resolve", help="answer a task delegated to you; it returns to its owner")
    p.add_argument("task_id")
    p.add_argument("--as", dest="actor", required=True)
    p.add_argument("--opinion")
    p.add_argument("--data", default="{}", help="data for the owner as a JSON object")

    p = sub.add_parser("case", help="show a case: status, open tasks, history")
    p.add_argument("key", help="case number")

    p = sub.add_parser("terminate", help="terminate a running case")
    p.add_argument("key", help="case number")
    p.add_argument("--as", dest="actor")
    p.add_argument("--reason")

    p = sub.add_parser("absence", help="absences (AB岗): the backup post takes the tasks")
    ab = p.add_subparsers(dest="absence_command", required=True, metavar="ABSENCE_COMMAND")
    q = ab.add_parser("add", help="mark a person absent for a range of dates")
    q.add_argument("person_id")
    q.add_argument("--from", dest="starts_on", required=True, help="first day away, YYYY-MM-DD")
    q.add_argument("--to", dest="ends_on", required=True, help="last day away, YYYY-MM-DD")
    q.add_argument("--reason", help="why (请假, 出差 …)")
    q.add_argument("--as", dest="actor", help="who records it (in the audit trail)")
    q = ab.add_parser("list", help="list absences, earliest first")
    q.add_argument("--person", help="only this person's absences")
    q.add_argument("--active", action="store_true", help="only those not cancelled or over")
    q = ab.add_parser("cancel", help="cancel an absence; started ones give the tasks back")
    q.add_argument("absence_id", type=int)
    q.add_argument("--as", dest="actor", help="who cancels it (in the audit trail)")

    sub.add_parser("fire-timers", help="fire every timer that is due now (once)")

    p = sub.add_parser(
        "worker",
        help="run the timer worker: sleep until the next timer is due, fire it; until stopped",
        description=(
            "Fires every due timer exactly once, however many workers run. Sleeps until the "
            "next timer is due (woken early on PostgreSQL by LISTEN/NOTIFY when an earlier "
            "timer is armed). Stop with SIGTERM or Ctrl-C."
        ),
    )
    p.add_argument("--name", help="worker name in leases and fired rows (default host:pid)")
    p.add_argument("--batch", type=int, default=100, help="timers claimed per transaction")
    p.add_argument("--lease", type=float, default=30.0, help="seconds a claimed timer is reserved")

    p = sub.add_parser("cards", help="yellow and red cards (电子监察), live ones by default")
    p.add_argument("--department", help="only this department")
    p.add_argument("--case", help="only this case")
    p.add_argument("--all", action="store_true", help="include cleared cards")

    p = sub.add_parser("notices", help="a person's escalations and reminders to act on")
    p.add_argument("person_id")
    p.add_argument("--all", action="store_true", help="include answered ones")
    p = sub.add_parser("answer", help="answer a notice (an escalation needs a response)")
    p.add_argument("notice_id", type=int)
    p.add_argument("--as", dest="actor", required=True)
    p.add_argument("--response")
    p = sub.add_parser("urge", help="催办: urge the holder of an open step")
    p.add_argument("task_id")
    p.add_argument("--as", dest="actor", required=True)
    p.add_argument("--message")

    p = sub.add_parser("records", help="accountability records (责任追究) with their reviews")
    p.add_argument("--person")
    p.add_argument("--department")
    p.add_argument("--case")
    p.add_argument("--kind")
    p.add_argument("--decision", choices=["pending", "excused", "confirmed"])
    p = sub.add_parser(
        "review", help="excuse a record with a reason, or confirm it as a fault with a level"
    )
    p.add_argument("record_id", type=int)
    p.add_argument("decision", choices=["excused", "confirmed"])
    p.add_argument("--as", dest="actor", required=True)
    p.add_argument("--reason")
    p.add_argument(
        "--level",
        help="admonition (效能告诫) | warning_talk (诫勉) | circulated_criticism (通报批评) | "
        "warning (警告) | demerit (记过)",
    )
    p = sub.add_parser("flagged", help="people with three or more confirmed faults in a year")
    p.add_argument("year", type=int)

    p = sub.add_parser(
        "metrics", help="performance figures (绩效考评) per department or per person for a period"
    )
    p.add_argument("start", type=date.fromisoformat, help="first day, YYYY-MM-DD (local)")
    p.add_argument("end", type=date.fromisoformat, help="last day, YYYY-MM-DD (inclusive)")
    p.add_argument("--people", action="store_true", help="per person instead of per department")
    p.add_argument("--department", help="only this department")
    p.add_argument("--person", help="only this person (with --people)")

    p = sub.add_parser("timers", help="timers: list them, retry an incident")
    tms = p.add_subparsers(dest="timers_command", required=True)
    q = tms.add_parser("list", help="list timers, earliest first")
    q.add_argument(
        "--state", choices=["pending", "fired", "cancelled", "incident"], help="only this state"
    )
    q.add_argument("--limit", type=int, default=200)
    q = tms.add_parser("retry", help="run a timer incident again now")
    q.add_argument("timer_id")
    q.add_argument("--as", dest="actor")
    _add_plugin_commands(sub)
    return parser


def _add_plugin_commands(sub: Any) -> None:
    """Let installed packages add commands (entry-point group ``COMMAND_GROUP``)."""
    for entry in sorted(entry_points(group=COMMAND_GROUP), key=lambda e: e.name):
        if entry.name in sub.choices:
            log.warning("xiaoneng: plugin command %r ignored: the name is taken", entry.name)
            continue
        try:
            add_command = entry.load()
        except ImportError as exc:  # a half-installed optional part must not break the CLI
            log.warning("xiaoneng: command %r not available: %s", entry.name, exc)
            continue
        add_command(sub)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``xiaoneng`` console script."""
    args = _parser().parse_args(argv)
    try:
        handler = getattr(args, "handler", None)
        if handler is not None:  # a plugin command runs on its own
            return int(handler(args))
        result = _run(args)
    except XiaonengError as exc:
        if args.json:
            print(json.dumps(exc.to_dict(), ensure_ascii=False), file=sys.stderr)
        else:
            print(f"error: {exc.message}", file=sys.stderr)
            for problem in getattr(exc, "problems", []) or []:
                print(f"  - {problem}", file=sys.stderr)
        return 1
    _print(result, as_json=args.json)
    return 0


def _json_arg(text: str, what: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInputError(f"{what} is not valid JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise InvalidInputError(f"{what} must be a JSON object")
    return value


def _run(args: argparse.Namespace) -> Any:
    command = args.command
    needs_schema = command in ("init-db", "demo")
    engine = Engine(create_schema=needs_schema)
    try:
        return _dispatch(engine, args)
    finally:
        engine.dispose()


def _dispatch(engine: Engine, args: argparse.Namespace) -> Any:
    command = args.command
    if command == "init-db":
        return {"database": _redacted(database_url()), "schema": "up to date"}
    if command == "demo":
        return _demo(engine, args.key)
    if command == "org":
        if args.org_command == "load":
            return engine.load_organisation(args.file, replace=args.replace)
        return engine.person(args.person_id)
    if command == "calendar":
        if args.calendar_command == "import":
            return engine.import_calendar(args.file, actor=args.actor, replace=args.replace)
        if args.calendar_command == "show":
            schedule = engine.calendar_year(args.year)
            if args.json:
                return {
                    "year": schedule.year,
                    "source": schedule.source,
                    "holidays": sorted(d.isoformat() for d in schedule.holidays),
                    "workdays": sorted(d.isoformat() for d in schedule.workdays),
                }
            return _Verbatim(schedule_to_toml(schedule))
        return engine.calendar_years()
    if command == "items":
        if args.items_command == "load":
            return {"loaded": engine.load_items(args.paths, actor=args.actor)}
        if args.items_command == "show":
            return engine.service_item(args.code)
        return [
            {
                "code": i.code,
                "name": i.name,
                "department": i.department,
                "statutory_days": i.statutory_days,
                "promised_days": i.promised_days,
                "process": i.process,
            }
            for i in engine.service_items(args.department)
        ]
    if command == "deploy":
        return engine.deploy(args.paths, actor=args.actor)
    if command == "definitions":
        return engine.definitions(args.process_id)
    if command == "start":
        return engine.start_case(
            args.process_id,
            args.key,
            data=_json_arg(args.data, "--data"),
            actor=args.actor,
            version=args.version,
            title=args.title,
            item=args.item,
        )
    if command == "tasks":
        return engine.tasks(
            user=args.user,
            group=args.group,
            case=args.case,
            state=None if args.state == "all" else args.state,
        )
    if command == "inbox":
        return engine.inbox(args.person_id)
    if command == "claim":
        return engine.claim(args.task_id, actor=args.actor)
    if command == "unclaim":
        return engine.unclaim(args.task_id, actor=args.actor)
    if command == "complete":
        return engine.complete(
            args.task_id,
            actor=args.actor,
            data=_json_arg(args.data, "--data"),
            opinion=args.opinion,
        )
    if command == "transfer":
        return engine.transfer(args.task_id, actor=args.actor, to=args.to, reason=args.reason)
    if command == "delegate":
        return engine.delegate(args.task_id, actor=args.actor, to=args.to, reason=args.reason)
    if command == "resolve":
        return engine.resolve(
            args.task_id,
            actor=args.actor,
            opinion=args.opinion,
            data=_json_arg(args.data, "--data"),
        )
    if command == "case":
        return engine.get_case(args.key)
    if command == "terminate":
        return engine.terminate_case(args.key, actor=args.actor, reason=args.reason)
    if command == "absence":
        if args.absence_command == "add":
            found = [
                engine.mark_absent(
                    args.person_id,
                    args.starts_on,
                    args.ends_on,
                    reason=args.reason,
                    actor=args.actor,
                )
            ]
        elif args.absence_command == "cancel":
            found = [engine.cancel_absence(args.absence_id, actor=args.actor)]
        else:
            found = engine.absences(args.person, active_only=args.active)
        shown = [  # dates as text: to_dict() keeps them as date objects
            {**a.to_dict(), "starts_on": a.starts_on.isoformat(), "ends_on": a.ends_on.isoformat()}
            for a in found
        ]
        return shown if args.absence_command == "list" else shown[0]
    if command == "fire-timers":
        return {"fired": engine.fire_due_timers()}
    if command == "worker":
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
        worker = TimerWorker(
            engine, name=args.name, batch=args.batch, lease=timedelta(seconds=args.lease)
        )
        worker.run_forever()
        return {"worker": worker.name, "fired": worker.fired}
    if command == "cards":
        return engine.cards(live_only=not args.all, department=args.department, case=args.case)
    if command == "notices":
        return engine.notices(args.person_id, open_only=not args.all)
    if command == "answer":
        return engine.acknowledge_notice(args.notice_id, actor=args.actor, response=args.response)
    if command == "urge":
        return engine.urge(args.task_id, actor=args.actor, message=args.message)
    if command == "records":
        return engine.fault_records(
            person=args.person,
            department=args.department,
            case=args.case,
            kind=args.kind,
            decision=args.decision,
        )
    if command == "review":
        return engine.review_fault(
            args.record_id,
            decision=args.decision,
            actor=args.actor,
            reason=args.reason,
            level=args.level,
        )
    if command == "flagged":
        return engine.flagged_people(args.year)
    if command == "metrics":
        if args.people:
            return engine.person_figures(
                args.start, args.end, department=args.department, person=args.person
            )
        return engine.department_figures(args.start, args.end, department=args.department)
    if command == "timers":
        if args.timers_command == "retry":
            return engine.retry_timer(args.timer_id, actor=args.actor)
        return engine.timers(state=args.state, limit=args.limit)
    raise AssertionError(command)


def _demo(engine: Engine, key: str) -> dict[str, Any]:
    loaded = load_demo(engine, key=key)
    return {
        "database": _redacted(database_url()),
        **loaded,
        "logins": [
            f"{d.person_id} / {d.password}  ({d.what})" for d in (*DEMO_LOGINS, DEMO_APPLICANT)
        ],
        "try": [
            "xiaoneng inbox window01",
            f"xiaoneng case {key}",
            "xiaoneng serve  (the web UI at http://127.0.0.1:8000)",
        ],
    }


def _redacted(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url


class _Verbatim(str):
    """Text printed as it is."""


def _print(result: Any, *, as_json: bool) -> None:
    if isinstance(result, _Verbatim):
        print(result, end="" if result.endswith("\n") else "\n")
        return
    plain = _to_plain(result)
    if as_json:
        print(json.dumps(plain, ensure_ascii=False, indent=2))
        return
    _print_text(plain)


def _to_plain(value: Any) -> Any:
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if isinstance(value, list | tuple):
        return [_to_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _to_plain(v) for k, v in value.items()}
    return value


def _print_text(value: Any, indent: int = 0) -> None:
    pad = "  " * indent
    if isinstance(value, list):
        if not value:
            print(f"{pad}(none)")
        for item in value:
            if isinstance(item, dict):
                print(pad + _one_line(item))
            else:
                print(f"{pad}- {item}")
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, list | dict) and item:
                print(f"{pad}{key}:")
                _print_text(item, indent + 1)
            else:
                print(f"{pad}{key}: {item if item not in (None, [], {}) else '-'}")
        return
    print(f"{pad}{value}")


def _one_line(item: dict[str, Any]) -> str:
    if "action" in item and "at" in item:  # audit line
        parts = [
            item["at"],
            item["action"],
            item.get("actor") or "engine",
            item.get("element_id") or "",
            item.get("opinion") or "",
        ]
        return "  ".join(str(p) for p in parts if p)
    if "run_at" in item and "attempts" in item:  # timer
        what = item.get("rule") or item.get("kind")
        return (
            f"{item['id']}  {what}  case {item.get('case_id') or '-'}  "
            f"{item.get('element_id') or ''}  due {item['due_at']}  {item['state']}"
            + (f"  attempts {item['attempts']}: {item['last_error']}" if item["attempts"] else "")
        )
    if "element_id" in item and "state" in item and "business_key" in item:  # task
        who = item.get("assignee") or ",".join(item.get("candidate_groups") or []) or "-"
        return (
            f"{item['id']}  {item['business_key']}  {item['element_id']} "
            f"({item.get('name') or ''})  {item['state']}  {who}"
        )
    if "process_id" in item and "version" in item:  # definition
        return (
            f"{item['process_id']} v{item['version']}  {item.get('name') or ''}  "
            f"{item['deployed_at']}"
        )
    return ", ".join(f"{k}={v}" for k, v in item.items() if not isinstance(v, list | dict))


if __name__ == "__main__":
    raise SystemExit(main())
