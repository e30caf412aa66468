"""The engine facade: one method = one engine call = one transaction."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import case as sql_case
from sqlalchemy import or_, select
from sqlalchemy.engine import Engine as SAEngine
from sqlalchemy.orm import defer

from engine import (
    absences,
    accountability,
    applicants,
    caseops,
    deadlines,  # noqa: F401  (registers the deadline helpers for diagrams)
    definitions,
    holidays,
    instances,
    items,
    limits,
    metrics,
    organisation,
    parsing,
    portal,
    ratings,
    signals,
    supervision,
    tasks,
    timers,
    tokens,
)
from engine import materials as materials_mod
from engine.calendar import Fallback, WorkCalendar, YearSchedule, parse_schedule_file
from engine.clock import Clock
from engine.dashboard import WeekFigures, week_starts
from engine.dashboard import dashboard as dashboard_at
from engine.dashboard import fault_record as fault_record_by_id
from engine.dashboard import overdue_by_step as overdue_steps_by_step
from engine.errors import (
    CaseError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
    ScriptError,
)
from engine.runtime import Call, Runtime
from engine.store import db
from engine.store.models import Case, Definition, HumanTask
from engine.store.records import CaseRecord, TaskRecord
from engine.tasks import Acted
from engine.views import (
    AbsenceView,
    ApiTokenView,
    ApplicantView,
    AuditView,
    CardView,
    CaseSummary,
    DashboardView,
    DefinitionView,
    DepartmentView,
    DeploymentResult,
    FaultRecordView,
    MaterialView,
    MigrationResult,
    NoticeView,
    PersonView,
    PostView,
    ProgressView,
    RatingView,
    ReceiptView,
    SignReplyView,
    StepOverdueCountView,
    TaskView,
    TimerView,
    Upload,
)

T = TypeVar("T")
log = logging.getLogger(__name__)
DEPLOYABLE_SUFFIXES = (".bpmn", ".bpmn20.xml", ".dmn", ".form.json")


class Engine:
    """Xiaoneng's BPM engine.

    Args:
        database_url: SQLAlchemy URL; default ``XIAONENG_DATABASE_URL`` or ``sqlite:///xiaoneng.db``.
        clock: where "now" comes from (tests pass a :class:`~engine.clock.FakeClock`).
        create_schema: create or upgrade the schema on start (embedded mode, tests).
        workflow_cache_size: deserialized workflows kept in memory (0 disables the cache).
        materials_dir: where application materials are stored; default
            ``XIAONENG_MATERIALS_DIR``, else ``materials`` next to a SQLite database file,
            else ``./materials``.
        max_material_bytes: the largest material file accepted.
        figures_cache_seconds: how long performance figures (绩效考评, the supervision
            charts) of a period are kept; default ``XIAONENG_FIGURES_CACHE_SECONDS`` or 300
            (0: computed on every call).
    """

    def __init__(
        self,
        database_url: str | None = None,
        *,
        clock: Clock | None = None,
        create_schema: bool = False,
        workflow_cache_size: int = 2000,
        sa_engine: SAEngine | None = None,
        timezone: str | None = None,
        close_of_business: time | None = None,
        calendar_fallback: Fallback | None = None,
        timer_attempts: int = timers.MAX_ATTEMPTS,
        supervision_rules: supervision.SupervisionRules | None = None,
        materials_dir: str | Path | None = None,
        max_material_bytes: int = 20 * 1024 * 1024,
        figures_cache_seconds: float | None = None,
    ) -> None:
        self.sa_engine = sa_engine or db.make_engine(database_url)
        self.timezone = timezone or os.environ.get("XIAONENG_TIMEZONE", "Asia/Shanghai")
        self.close_of_business = close_of_business or time.fromisoformat(
            os.environ.get("XIAONENG_CLOSE_OF_BUSINESS", "17:30")
        )
        fallback = calendar_fallback or os.environ.get("XIAONENG_CALENDAR_FALLBACK", "error")
        if fallback not in ("error", "weekends"):
            raise InvalidInputError("calendar fallback must be 'error' or 'weekends'")
        self.calendar_fallback: Fallback = fallback  # type: ignore[assignment]
        self._calendar: WorkCalendar | None = None
        self.runtime = Runtime(self.sa_engine, clock=clock, workflow_cache_size=workflow_cache_size)
        self.runtime.calendar = self._calendar_on
        self.timer_attempts = timer_attempts
        self.runtime.supervision = supervision_rules or supervision.rules_from_env()
        self.runtime.send_signal = signals.send
        signals.load_hooks()
        self.materials_dir = Path(
            materials_dir
            or os.environ.get("XIAONENG_MATERIALS_DIR")
            or _default_materials_dir(self.sa_engine)
        )
        if isinstance(max_material_bytes, bool) or max_material_bytes <= 0:
            raise InvalidInputError("max_material_bytes must be a number of bytes > 0")
        self.max_material_bytes = max_material_bytes
        if figures_cache_seconds is None:
            figures_cache_seconds = float(os.environ.get("XIAONENG_FIGURES_CACHE_SECONDS", "300"))
        self.figures_cache = metrics.FiguresCache(figures_cache_seconds)
        if create_schema:
            self.init_db()

    @property
    def clock(self) -> Clock:
        """The engine's clock."""
        return self.runtime.clock

    def init_db(self) -> list[int]:
        """Create or upgrade the schema and seed the holiday data of the years that
        ``chinese-calendar`` knows (idempotent); return the years seeded now."""
        db.upgrade_schema(self.sa_engine)
        with self.runtime.call() as call:
            return holidays.seed_from_library(call.conn, call.now)

    # -- working-day calendar --------------------------------------------------------------

    def import_calendar(
        self,
        source: str | Path | bytes,
        *,
        name: str | None = None,
        actor: str | None = None,
        replace: bool = False,
    ) -> dict[str, Any]:
        """Import one year's official schedule from a schedule file (docs/holidays.md)."""
        if isinstance(source, bytes):
            content, label = source, name or "(upload)"
        else:
            path = Path(source)
            if not path.is_file():
                raise InvalidInputError(f"no such file: {path}")
            content, label = path.read_bytes(), name or path.name
        parsed = parse_schedule_file(content, name=label)
        with self.runtime.call() as call:
            result = holidays.import_schedule(
                call.conn, parsed, call.now, actor=actor, replace=replace
            )
        self._calendar = None
        return result

    # -- service items ---------------------------------------------------------------------

    def load_items(self, sources: Iterable[str | Path], *, actor: str | None = None) -> list[str]:
        """Create or update service items from TOML files or folders of them."""
        found: list[items.Item] = []
        for source in sources:
            path = Path(source)
            paths = sorted(path.glob("*.toml")) if path.is_dir() else [path]
            for p in paths:
                if not p.is_file():
                    raise InvalidInputError(f"no such file: {p}")
                found.extend(items.parse_file(p.read_bytes(), name=p.name))
        if not found:
            raise InvalidInputError("no service items found")
        with self.runtime.call() as call:
            return items.load(call.conn, found, call.now, actor)

    def service_items(self, department: str | None = None) -> list[items.Item]:
        """The service items (of one department), by code."""
        with self.runtime.call(readonly=True) as call:
            return items.listing(call.conn, department)

    def service_item(self, code: str) -> items.Item:
        """One service item."""
        with self.runtime.call(readonly=True) as call:
            return items.get(call.conn, code)

    def calendar_year(self, year: int) -> YearSchedule:
        """The stored schedule of one year."""
        with self.runtime.call(readonly=True) as call:
            return holidays.schedule(call.conn, year)

    def calendar_years(self) -> list[dict[str, Any]]:
        """The stored years with their sources."""
        with self.runtime.call(readonly=True) as call:
            return [
                {
                    "year": y,
                    "source": s.source,
                    "holidays": len(s.holidays),
                    "workdays": len(s.workdays),
                }
                for y, s in sorted(holidays.schedules(call.conn).items())
            ]

    def work_calendar(self) -> WorkCalendar:
        """The working-day calendar on the stored years (cached until an import)."""
        if self._calendar is None:
            with self.runtime.call(readonly=True) as call:
                return self._calendar_on(call.conn)
        return self._calendar

    def _calendar_on(self, conn: Any) -> WorkCalendar:
        if self._calendar is None:
            self._calendar = holidays.load(
                conn,
                timezone=self.timezone,
                close_of_business=self.close_of_business,
                fallback=self.calendar_fallback,
            )
        return self._calendar

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.sa_engine.dispose()

    # -- organisation ----------------------------------------------------------------------

    def load_organisation(
        self, source: str | Path | Mapping[str, Any], *, replace: bool = False
    ) -> dict[str, int]:
        """Create or update departments, posts and people from a TOML file or a mapping."""
        data = organisation.read_file(source) if isinstance(source, str | Path) else source
        with self.runtime.call() as call:
            return organisation.load(call.session, data, replace=replace)

    def person(self, person_id: str) -> PersonView:
        """A person with their groups."""
        with self.runtime.read() as session:
            return organisation.get_person(session, person_id)

    def person_names(self, person_ids: Iterable[str | None] | None = None) -> dict[str, str]:
        """Person id -> name for the ids given (unknown ids are left out), or everyone's."""
        with self.runtime.read() as session:
            if person_ids is None:
                return organisation.person_names(session)
            return organisation.person_names(session, (p for p in person_ids if p))

    def check_password(self, person_id: str, password: str) -> bool:
        """True when the password is right for an active person."""
        with self.runtime.read() as session:
            return organisation.check_password(session, person_id, password)

    def set_password(self, person_id: str, password: str) -> None:
        """Set a person's password (stored as a salted hash)."""
        with self.runtime.call() as call:
            organisation.set_password(call.session, person_id, password)

    def departments(self) -> list[DepartmentView]:
        """Every department, by id."""
        with self.runtime.read() as session:
            return organisation.departments(session)

    def posts(self) -> list[PostView]:
        """Every post with its backup post and holders, by id."""
        with self.runtime.read() as session:
            return organisation.posts(session)

    def people(self, *, department: str | None = None) -> list[PersonView]:
        """Every person (inactive ones too), by id; or those of one department."""
        with self.runtime.read() as session:
            return organisation.people(session, department)

    def set_person_active(self, person_id: str, active: bool, *, actor: str) -> PersonView:
        """Activate or deactivate a person (admins; nobody deactivates themselves)."""
        with self.runtime.call() as call:
            return organisation.set_active(
                call.session, call.conn, person_id, active, actor, call.now
            )

    # -- API tokens ------------------------------------------------------------------------

    def create_api_token(
        self, person_id: str, *, label: str, actor: str
    ) -> tuple[ApiTokenView, str]:
        """Create a JSON API token acting as ``person_id`` (the person or an admin may);
        return its view and the secret, which is shown this once and never stored."""
        with self.runtime.call() as call:
            return tokens.create(call.session, call.conn, person_id, label, actor, call.now)

    def api_tokens(self, person_id: str | None = None) -> list[ApiTokenView]:
        """API tokens (of one person), newest first, revoked ones included."""
        with self.runtime.read() as session:
            return tokens.listing(session, person_id)

    def revoke_api_token(self, token_id: int, *, actor: str) -> ApiTokenView:
        """Revoke an API token for good (its person or an admin)."""
        with self.runtime.call() as call:
            return tokens.revoke(call.session, call.conn, token_id, actor, call.now)

    def person_for_api_token(self, secret: str) -> PersonView:
        """The person an API token secret acts as; NotPermittedError for an unknown or
        revoked token or an inactive person. Notes the use at most once a minute."""
        with self.runtime.call(readonly=True) as call:
            person, token_id, stale = tokens.authenticate(call.session, secret, call.now)
        if stale:  # a write only now and then, not on every request
            with self.runtime.call() as call:
                tokens.touch(call.conn, token_id, call.now)
        return person

    # -- definitions -----------------------------------------------------------------------

    def deploy(
        self, sources: Iterable[str | Path | parsing.SourceFile], *, actor: str | None = None
    ) -> DeploymentResult:
        """Deploy BPMN/DMN/form files (paths, folders or SourceFiles) as one bundle."""
        files = _collect_sources(sources)
        with self.runtime.call() as call:
            return definitions.deploy(call, files, actor)

    def definitions(self, process_id: str | None = None) -> list[DefinitionView]:
        """Every deployed version, newest first per process."""
        with self.runtime.call(readonly=True) as call:
            return definitions.listing(call, process_id)

    def definition_xml(self, process_id: str, version: int | None = None) -> str:
        """The BPMN XML of a version (the newest by default)."""
        with self.runtime.call(readonly=True) as call:
            return definitions.source_xml(definitions.get(call, process_id, version))

    # -- cases -----------------------------------------------------------------------------

    def start_case(
        self,
        process_id: str,
        business_key: str,
        *,
        data: Mapping[str, Any] | None = None,
        actor: str | None = None,
        version: int | None = None,
        title: str | None = None,
        item: str | None = None,
    ) -> CaseSummary:
        """Start a case of the newest (or the named) version and run it to its first wait.

        With ``item`` (a service item's code) the case gets the item's promised deadline
        and its steps the item's step limits.
        """
        payload = tasks._plain_data(data or {})
        with self.runtime.call() as call:
            loaded = definitions.resolve(call, process_id, version)
            service_item = items.get(call.conn, item) if item else None
            if service_item is not None and service_item.process != process_id:
                raise InvalidInputError(
                    f"service item {item} is handled by process {service_item.process!r}, "
                    f"not {process_id!r}"
                )
            case = instances.start(
                call,
                loaded=loaded,
                business_key=business_key,
                data=payload,
                actor=actor,
                title=title,
                item=service_item,
            )
            open_tasks = [
                tasks.view(
                    TaskRecord(
                        **row, ended_at=None, completed_by=None, opinion=None, submitted=None
                    ),
                    case,
                )
                for row in call.created_tasks
            ]
            applicant = instances.applicant_of(payload)
            return self._summary(call, case, open_tasks=open_tasks, applicant=applicant)

    def get_case(self, key: str | int, *, with_history: bool = True) -> CaseSummary:
        """A case by number (or id) with its open tasks, data and history."""
        with self.runtime.call(readonly=True) as call:
            case = instances.get_case_row(call, key)
            co = instances.checkout(call, case)
            data = instances.case_data(co)
            instances.release(call, co)  # a read leaves the row version as it was
            open_tasks = tasks.query(call, case_id=case.id)
            history = accountability.history(call.session, case.id) if with_history else []
            applicant = call.session.scalar(select(Case.applicant).where(Case.id == case.id))
            return self._summary(
                call, case, data=data, open_tasks=open_tasks, history=history, applicant=applicant
            )

    def list_cases(
        self,
        *,
        process_id: str | None = None,
        status: str | None = None,
        limit: int = 100,
        department: str | None = None,
    ) -> list[CaseSummary]:
        """Cases, newest first; ``department``: cases its service items lead (主办部门)."""
        with self.runtime.call(readonly=True) as call:
            stmt = (
                select(Case, Definition)
                .join(Definition, Definition.id == Case.definition_id)
                .options(defer(Case.state, raiseload=True))
            )
            if process_id:
                stmt = stmt.where(Case.process_id == process_id)
            if status:
                stmt = stmt.where(Case.status == status)
            if department:
                stmt = stmt.where(Case.department_id == department)
            rows = call.session.execute(stmt.order_by(Case.id.desc()).limit(limit)).all()
            return [self._summary(call, c, d) for c, d in rows]

    def find_cases(self, text: str, *, limit: int = 50) -> list[CaseSummary]:
        """Cases matching ``text``: the case number itself first, then case numbers that
        start with it, then applicants or titles that contain it; case-insensitive
        (ASCII only on SQLite), newest first within each. Blank text is an
        InvalidInputError.

        The substring match scans the cases table (``LIKE '%…%'`` uses no index); a
        trigram index (PostgreSQL ``pg_trgm``) is the next step if that gets slow.
        """
        wanted = (text or "").strip()
        if not wanted:
            raise InvalidInputError("search text is empty: give a case number or a name")
        if len(wanted) > 200:
            raise InvalidInputError("search text is longer than 200 characters")
        if not 1 <= limit <= 500:
            raise InvalidInputError("limit must be between 1 and 500")
        escaped = wanted.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        exact = Case.business_key.ilike(escaped, escape="\\")  # no wildcard: equal, any case
        prefix = Case.business_key.ilike(f"{escaped}%", escape="\\")
        rank = sql_case((exact, 0), (prefix, 1), else_=2)
        with self.runtime.call(readonly=True) as call:
            stmt = (
                select(Case, Definition)
                .join(Definition, Definition.id == Case.definition_id)
                .options(defer(Case.state, raiseload=True))
                .where(
                    or_(
                        prefix,
                        Case.applicant.ilike(f"%{escaped}%", escape="\\"),
                        Case.title.ilike(f"%{escaped}%", escape="\\"),
                    )
                )
                .order_by(rank, Case.started_at.desc(), Case.id.desc())
                .limit(limit)
            )
            rows = call.session.execute(stmt).all()
            return [self._summary(call, c, d) for c, d in rows]

    def terminate_case(
        self, key: str | int, *, actor: str | None = None, reason: str | None = None
    ) -> CaseSummary:
        """Cancel a running case and its open tasks."""

        def act(call: Call) -> CaseSummary:
            case = instances.get_case_row(call, key)
            instances.terminate(call, case, actor, reason)
            return self._summary(call, case)

        return self._case_call(key, act)

    def suspend_case(self, key: str | int, *, actor: str, reason: str) -> CaseSummary:
        """挂起: suspend a running case; its tasks cannot change, its timers wait."""

        def act(call: Call) -> CaseSummary:
            case = instances.get_case_row(call, key)
            caseops.suspend(call, case, actor, reason)
            return self._summary(call, case)

        return self._case_call(key, act)

    def resume_case(self, key: str | int, *, actor: str) -> CaseSummary:
        """恢复: resume a suspended case; timers that came due meanwhile fire next."""

        def act(call: Call) -> CaseSummary:
            case = instances.get_case_row(call, key)
            caseops.resume(call, case, actor)
            return self._summary(call, case)

        return self._case_call(key, act)

    def migrate_cases(
        self,
        keys: Sequence[str | int],
        *,
        to_version: int,
        actor: str,
        dry_run: bool = False,
    ) -> list[MigrationResult]:
        """版本迁移: move each case to ``to_version`` of its process, one transaction each.

        A refused case is left as it was; the result says why.
        """
        results: list[MigrationResult] = []
        for key in keys:
            try:
                with self.runtime.call() as call:
                    case = instances.get_case_row(call, key)
                    results.append(caseops.migrate(call, case, to_version, actor, dry_run))
            except NotFoundError as exc:
                results.append(MigrationResult(str(key), None, to_version, False, exc.message))
            except (ConflictError, CaseError, ScriptError) as exc:
                results.append(MigrationResult(str(key), None, to_version, False, exc.message))
        return results

    def fire_due_timers(
        self,
        *,
        worker: str = "embedded",
        limit: int = 100,
        lease: timedelta = timers.LEASE,
        per_transaction: int = timers.PER_TRANSACTION,
    ) -> int:
        """Fire every timer that is due now, each exactly once; return how many fired.

        Claims due timers in batches with a lease and fires rule timers up to
        ``per_transaction`` in one transaction, each in a savepoint, and BPMN timers each
        in its own (see ``engine.timers``). A failing timer is retried later with backoff
        and turns into an incident after too many attempts. ``xiaoneng worker`` calls this
        whenever a timer comes due; tests call it after moving a fake clock.
        """
        fired = 0
        size = max(per_transaction, 1)
        while True:
            with self.runtime.call() as call:
                batch = timers.claim(call.conn, worker, call.now, limit, lease)
            for group in timers.groups(batch, size):
                fired += self._fire_timers(group, worker)
            if len(batch) < limit:
                return fired

    def _fire_timers(self, due: Sequence[timers.DueTimer], worker: str) -> int:
        """Fire claimed timers in one transaction; one by one if that transaction fails."""
        if len(due) == 1:
            return self._fire_timer(due[0], worker)
        try:
            with self.runtime.call() as call:
                fired, failures = timers.fire_many(call, due, worker)
        except Exception as exc:
            # nothing of the batch was kept (a deadlock, a lost connection …): go slowly
            log.warning(
                "firing %d timers together failed (%s); firing them one by one",
                len(due),
                str(exc) or type(exc).__name__,
                exc_info=True,
            )
            return sum(self._fire_timer(timer, worker) for timer in due)
        for failure in failures:
            self._timer_failed(failure.timer, failure.error)
        return fired

    def _fire_timer(self, timer: timers.DueTimer, worker: str) -> int:
        try:
            with self.runtime.call() as call:
                return timers.fire(call, timer.id, worker)
        except Exception as exc:
            self._timer_failed(timer, exc)
            return 0

    def _timer_failed(self, timer: timers.DueTimer, exc: Exception) -> None:
        """Record a failed firing (own transaction): backoff, or an incident."""
        message = str(exc) or type(exc).__name__
        log.warning("timer %s failed: %s", timer.id, message, exc_info=exc)
        with self.runtime.call() as call:
            state = timers.fail(call.conn, timer.id, message, call.now, self.timer_attempts)
            if state == timers.INCIDENT:
                accountability.record(
                    call.conn,
                    at=call.now,
                    action="timer_incident",
                    actor=None,
                    case_id=timer.case_id,
                    element_id=timer.element_id,
                    detail={"timer_id": timer.id, "error": message},
                )
                call.signal(
                    "timer_incident", timer_id=timer.id, case_id=timer.case_id, error=message
                )

    def next_timer_at(self) -> datetime | None:
        """When the earliest pending timer is to run (None: no timer is pending)."""
        with self.runtime.call(readonly=True) as call:
            return timers.next_run_at(call.conn, call.now)

    def timers(self, *, state: str | None = None, limit: int = 200) -> list[TimerView]:
        """Timers (of one state: pending, fired, cancelled, incident), earliest first."""
        with self.runtime.call(readonly=True) as call:
            return timers.listing(call, state=state, limit=limit)

    def retry_timer(self, timer_id: str, *, actor: str | None = None) -> TimerView:
        """Run a timer incident again now, with fresh attempts (admin)."""
        with self.runtime.call() as call:
            return timers.retry(call, timer_id, actor)

    def history(self, key: str | int) -> list[AuditView]:
        """The audit trail of a case."""
        with self.runtime.call(readonly=True) as call:
            return accountability.history(call.session, instances.get_case_row(call, key).id)

    def sign_replies(self, key: str | int, element_id: str | None = None) -> list[SignReplyView]:
        """Every signer reply kept for the case."""
        with self.runtime.call(readonly=True) as call:
            case = instances.get_case_row(call, key)
            return tasks.sign_replies(call, case.id, element_id)

    # -- time limits: stopped clocks and extensions -----------------------------------------

    def stop_clock(self, key: str | int, *, kind: str, reason: str, actor: str) -> dict[str, Any]:
        """Stop the case's clock for 补正 or a §45 special procedure (``limits.STOP_KINDS``)."""

        def act(call: Call) -> dict[str, Any]:
            case = instances.get_case_row(call, key)
            stop = limits.stop_clock(call, case, kind=kind, reason=reason, actor=actor)
            return {"stop_id": stop.id, "kind": stop.kind, "started_at": stop.started_at}

        return self._case_call(key, act)

    def resume_clock(self, key: str | int, *, actor: str) -> dict[str, Any]:
        """Restart the clock; every pending deadline moves by the working time that passed."""

        def act(call: Call) -> dict[str, Any]:
            case = instances.get_case_row(call, key)
            amount = limits.resume_clock(call, case, actor=actor)
            return {"working_days": str(amount), "due_at": case.due_at}

        return self._case_call(key, act)

    def request_extension(
        self, key: str | int, *, days: int, reason: str, actor: str
    ) -> dict[str, Any]:
        """Ask for an extension (延期) of the case's limit; a head decides."""

        def act(call: Call) -> dict[str, Any]:
            case = instances.get_case_row(call, key)
            ext = limits.request_extension(call, case, days=days, reason=reason, actor=actor)
            return {"extension_id": ext.id, "days": ext.days, "state": ext.state}

        return self._case_call(key, act)

    def decide_extension(
        self, extension_id: int, *, approve: bool, actor: str, opinion: str | None = None
    ) -> dict[str, Any]:
        """Approve (deadlines move) or refuse an extension request (§42)."""
        with self.runtime.call() as call:
            ext = limits.decide_extension(
                call, extension_id, approve=approve, actor=actor, opinion=opinion
            )
            case = instances.get_case_row(call, ext.case_id)
            return {"extension_id": ext.id, "state": ext.state, "due_at": case.due_at}

    # -- human tasks -----------------------------------------------------------------------

    def inbox(self, person: str | PersonView) -> list[TaskView]:
        """Open tasks the person holds or may claim, most urgent first. Given the
        :class:`PersonView` of :meth:`person` (e.g. loaded once per web request), its
        task groups are used as they are."""
        with self.runtime.call(readonly=True) as call:
            person_id, groups = _task_groups(call, person)
            return tasks.inbox(call, person_id, groups)

    def tasks(
        self,
        *,
        user: str | PersonView | None = None,
        group: str | None = None,
        case: str | int | None = None,
        state: str | None = "open",
        limit: int = 200,
    ) -> list[TaskView]:
        """Tasks filtered by user (holder or candidate; a :class:`PersonView` brings its
        task groups), group, case and state."""
        with self.runtime.call(readonly=True) as call:
            case_id = instances.get_case_row(call, case).id if case is not None else None
            user_id, groups = _task_groups(call, user) if user else (None, frozenset())
            return tasks.query(
                call,
                user=user_id,
                user_groups=groups,
                group=group,
                case_id=case_id,
                state=state,
                limit=limit,
            )

    def done(self, person: str) -> list[TaskView]:
        """Tasks the person completed, newest first (已办)."""
        with self.runtime.call(readonly=True) as call:
            return tasks.done_by(call, person)

    def get_task(self, task_id: str) -> TaskView:
        """A task with its form fields and (while open) its current data."""
        with self.runtime.call(readonly=True) as call:
            row = tasks.get_row(call, task_id)
            case = instances.get_case_row(call, row.case_id)
            loaded = definitions.load_by_id(call, case.definition_id)
            data: dict[str, Any] = dict(row.submitted or {})
            if row.state == tasks.OPEN and case.status == instances.RUNNING:
                co = instances.checkout(call, case)
                data = instances.task_data(co, task_id)
                instances.release(call, co)
            return tasks.view(row, case, form=loaded.form_for(row.element_id), data=data)

    def claim(self, task_id: str, *, actor: str) -> TaskView:
        """Claim an open task (only a candidate may)."""
        return self._task_call(task_id, lambda call: tasks.claim(call, task_id, actor))

    def unclaim(self, task_id: str, *, actor: str) -> TaskView:
        """Give a claimed task back to the candidates."""
        return self._task_call(task_id, lambda call: tasks.unclaim(call, task_id, actor))

    def complete(
        self,
        task_id: str,
        *,
        actor: str,
        data: Mapping[str, Any] | None = None,
        opinion: str | None = None,
        expected_version: int | None = None,
    ) -> TaskView:
        """Complete a task with form data and an opinion (审批意见); only the holder may."""
        return self._task_call(
            task_id,
            lambda call: tasks.complete(call, task_id, actor, data, opinion, expected_version),
        )

    def transfer(self, task_id: str, *, actor: str, to: str, reason: str | None = None) -> TaskView:
        """转办: move the task to another person for good."""
        return self._task_call(
            task_id, lambda call: tasks.transfer(call, task_id, actor, to, reason)
        )

    def delegate(self, task_id: str, *, actor: str, to: str, reason: str | None = None) -> TaskView:
        """委派: lend the task to another person; it returns when they resolve it."""
        return self._task_call(
            task_id, lambda call: tasks.delegate(call, task_id, actor, to, reason)
        )

    def resolve(
        self,
        task_id: str,
        *,
        actor: str,
        opinion: str | None = None,
        data: Mapping[str, Any] | None = None,
    ) -> TaskView:
        """The delegate's answer: the task goes back to its owner."""
        return self._task_call(
            task_id, lambda call: tasks.resolve(call, task_id, actor, opinion, data)
        )

    def return_targets(self, task_id: str) -> list[tuple[str, str]]:
        """(element id, name) of the earlier steps an open task may be returned to."""
        with self.runtime.call(readonly=True) as call:
            return caseops.return_targets(call, task_id)

    def return_task(self, task_id: str, *, actor: str, to: str, reason: str) -> TaskView:
        """退回: send the case back to the earlier step ``to`` (see :meth:`return_targets`);
        it reopens for whoever completed it last."""
        return self._task_call(
            task_id, lambda call: caseops.return_task(call, task_id, actor, to, reason)
        )

    def add_signer(
        self, task_id: str, *, actor: str, person: str, reason: str | None = None
    ) -> TaskView:
        """加签: on a parallel signing step add ``person`` as a signer; on another step ask
        ``person`` to sign first (it comes back like a delegated task)."""
        return self._task_call(
            task_id, lambda call: caseops.add_signer(call, task_id, actor, person, reason)
        )

    # -- absences (AB岗) ---------------------------------------------------------------------

    def mark_absent(
        self,
        person_id: str,
        starts_on: date | str,
        ends_on: date | str,
        *,
        reason: str | None = None,
        actor: str | None = None,
    ) -> AbsenceView:
        """Mark a person absent for local dates ``starts_on``..``ends_on`` (inclusive); the
        holder of their backup post takes their open and new tasks meanwhile."""
        with self.runtime.call() as call:
            return absences.mark_absent(call, person_id, starts_on, ends_on, reason, actor)

    def cancel_absence(self, absence_id: int, *, actor: str | None = None) -> AbsenceView:
        """Cancel an absence; if it had started, the person's tasks come back at once."""
        with self.runtime.call() as call:
            return absences.cancel_absence(call, absence_id, actor)

    def absences(
        self, person_id: str | None = None, *, active_only: bool = False
    ) -> list[AbsenceView]:
        """Absences (of one person), earliest first; ``active_only``: not cancelled or over."""
        with self.runtime.call(readonly=True) as call:
            return absences.listing(call, person_id, active_only)

    # -- electronic supervision and accountability (电子监察, 责任追究) -------------------

    def cards(
        self,
        *,
        live_only: bool = True,
        department: str | None = None,
        case: str | int | None = None,
        case_ids: Collection[int] | None = None,
    ) -> list[CardView]:
        """Yellow and red cards (live ones by default), red first: all, of a department,
        of one case, or of the cases ``case_ids`` (e.g. those of an inbox)."""
        with self.runtime.call(readonly=True) as call:
            case_id = instances.get_case_row(call, case).id if case is not None else None
            return supervision.cards(
                call,
                live_only=live_only,
                department=department,
                case_id=case_id,
                case_ids=case_ids,
            )

    def notices(self, person: str, *, open_only: bool = True) -> list[NoticeView]:
        """Escalations and reminders addressed to a person or their groups, newest first."""
        with self.runtime.call(readonly=True) as call:
            return supervision.notices_for(call, person, open_only=open_only)

    def acknowledge_notice(
        self, notice_id: int, *, actor: str, response: str | None = None
    ) -> NoticeView:
        """Answer a notice (an escalation needs a response saying what was done)."""
        with self.runtime.call() as call:
            return supervision.acknowledge(call, notice_id, actor, response)

    def urge(self, task_id: str, *, actor: str, message: str | None = None) -> NoticeView:
        """催办: urge the holder of an open step (supervisors and heads)."""
        with self.runtime.call() as call:
            return supervision.urge(call, task_id, actor, message)

    def fault_records(
        self,
        *,
        person: str | None = None,
        department: str | None = None,
        case: str | int | None = None,
        kind: str | None = None,
        decision: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 500,
    ) -> list[FaultRecordView]:
        """Accountability records with their latest review, newest first.

        ``decision``: ``pending`` (not reviewed), ``excused`` or ``confirmed``.
        """
        with self.runtime.call(readonly=True) as call:
            case_id = instances.get_case_row(call, case).id if case is not None else None
            return accountability.fault_records(
                call.session,
                person=person,
                department=department,
                case_id=case_id,
                kind=kind,
                decision=decision,
                since=since,
                until=until,
                limit=limit,
            )

    def fault_record(self, record_id: int) -> FaultRecordView:
        """One accountability record (an original, not a review) with its latest review."""
        with self.runtime.call(readonly=True) as call:
            return fault_record_by_id(call.session, record_id)

    def review_fault(
        self,
        record_id: int,
        *,
        decision: str,
        actor: str,
        reason: str | None = None,
        level: str | None = None,
    ) -> FaultRecordView:
        """Excuse a record with a reason, or confirm it as a fault with a level
        (``accountability.FAULT_LEVELS``); a later review corrects an earlier one."""
        with self.runtime.call() as call:
            groups = organisation.groups_of(call.session, actor)
            view = accountability.review(
                call.session,
                call.conn,
                record_id=record_id,
                decision=decision,
                actor=actor,
                groups=groups,
                now=call.now,
                reason=reason,
                level=level,
            )
            call.signal(
                "fault_confirmed" if decision == "confirmed" else "fault_excused",
                record_id=view.id,
                person_id=view.person_id,
                department_id=view.department_id,
                level=view.level,
                case_id=view.case_id,
            )
            if decision == "confirmed" and view.person_id is not None:
                year = view.created_at.astimezone(ZoneInfo(self.timezone)).year
                since, until = self._year_bounds(year)
                count = accountability.confirmed_count(call.session, view.person_id, since, until)
                if count >= accountability.FLAG_THRESHOLD:
                    call.signal(
                        "person_flagged",
                        person_id=view.person_id,
                        year=year,
                        confirmed_faults=count,
                    )
            return view

    def flagged_people(self, year: int) -> list[dict[str, Any]]:
        """People with three or more confirmed faults among the year's records (S3)."""
        since, until = self._year_bounds(year)
        with self.runtime.call(readonly=True) as call:
            return accountability.flagged(call.session, since, until)

    def _year_bounds(self, year: int) -> tuple[datetime, datetime]:
        zone = ZoneInfo(self.timezone)
        start = datetime(year, 1, 1, tzinfo=zone).astimezone(UTC)
        end = datetime(year + 1, 1, 1, tzinfo=zone).astimezone(UTC)
        return start, end

    # -- performance figures (绩效考评) ---------------------------------------------------------

    def department_figures(
        self, start: date, end: date, *, department: str | None = None
    ) -> list[metrics.DepartmentFigures]:
        """Per-department figures for the local dates ``start``..``end`` (inclusive)."""
        since, until = metrics.period_bounds(start, end, self.timezone)

        def compute() -> list[metrics.DepartmentFigures]:
            with self.runtime.call(readonly=True) as call:
                upto = _up_to_now(since, until, call.now)
                return metrics.department_figures(call.conn, since, upto, department)

        key = ("departments", start, end, department)
        return list(self.figures_cache.get(key, self.clock.now(), compute))

    def person_figures(
        self,
        start: date,
        end: date,
        *,
        department: str | None = None,
        person: str | None = None,
    ) -> list[metrics.PersonFigures]:
        """Per-person figures for the local dates ``start``..``end`` (inclusive)."""
        since, until = metrics.period_bounds(start, end, self.timezone)

        def compute() -> list[metrics.PersonFigures]:
            with self.runtime.call(readonly=True) as call:
                upto = _up_to_now(since, until, call.now)
                return metrics.person_figures(call.conn, since, upto, department, person)

        key = ("people", start, end, department, person)
        return list(self.figures_cache.get(key, self.clock.now(), compute))

    # -- the supervision dashboard (电子监察) -------------------------------------------------

    def dashboard(
        self,
        *,
        department: str | None = None,
        limit: int = 10,
        nearing_days: int = 2,
        deemed_days: int = 30,
    ) -> DashboardView:
        """The supervision dashboard now: live cards per department, overdue steps and
        cases, cases within ``nearing_days`` working days of their promised limit, deemed
        consents and acceptances of the last ``deemed_days`` days, open efficiency
        complaints (each list the first ``limit``; the totals count all)."""
        if isinstance(deemed_days, bool) or not isinstance(deemed_days, int):
            raise InvalidInputError("deemed_days must be a whole number of days")
        if not 1 <= deemed_days <= 366:
            raise InvalidInputError("deemed_days must be from 1 to 366")
        with self.runtime.call(readonly=True) as call:
            return dashboard_at(
                call.session,
                call.now,
                self._calendar_on(call.conn),
                department=department,
                limit=limit,
                nearing_days=nearing_days,
                deemed_since=call.now - timedelta(days=deemed_days),
            )

    def overdue_by_step(
        self, start: date, end: date, *, department: str | None = None, limit: int = 20
    ) -> list[StepOverdueCountView]:
        """Overdue steps of the local dates ``start``..``end`` per process step (process,
        element, name), the most first; counted as the metrics count them."""
        since, until = metrics.period_bounds(start, end, self.timezone)

        def compute() -> list[StepOverdueCountView]:
            with self.runtime.call(readonly=True) as call:
                upto = _up_to_now(since, until, call.now)
                return overdue_steps_by_step(call.conn, since, upto, department, limit)

        key = ("steps", start, end, department, limit)
        return list(self.figures_cache.get(key, self.clock.now(), compute))

    def weekly_figures(
        self, *, weeks: int = 8, until: date | None = None, department: str | None = None
    ) -> list[WeekFigures]:
        """Per-department figures of each of the ``weeks`` weeks (Monday to Sunday) up to
        the week of ``until`` (default: today), oldest first: one statement a week."""
        now = self.clock.now()
        last = until or now.astimezone(ZoneInfo(self.timezone)).date()

        def compute() -> list[WeekFigures]:
            with self.runtime.call(readonly=True) as call:
                found = []
                for monday in week_starts(last, weeks):
                    sunday = monday + timedelta(days=6)
                    since, end = metrics.period_bounds(monday, sunday, self.timezone)
                    if since > call.now:
                        figures: list[metrics.DepartmentFigures] = []
                    else:
                        end = _up_to_now(since, end, call.now)
                        figures = metrics.department_figures(call.conn, since, end, department)
                    found.append(WeekFigures(monday, sunday, tuple(figures)))
                return found

        key = ("weeks", weeks, last, department)
        return list(self.figures_cache.get(key, now, compute))

    # -- the applicant portal (网上办事) -----------------------------------------------------

    def register_applicant(
        self,
        login: str,
        password: str,
        name: str,
        *,
        kind: str = "person",
        phone: str | None = None,
        email: str | None = None,
    ) -> ApplicantView:
        """Create an applicant's portal account (a taken login is a ConflictError)."""
        values = applicants.prepare(
            login=login, password=password, name=name, kind=kind, phone=phone, email=email
        )
        with self.runtime.call() as call:
            return applicants.register(call.session, values, call.now)

    def check_applicant(self, login: str, password: str) -> ApplicantView | None:
        """The applicant's account when the password is right, else None."""
        with self.runtime.read() as session:
            found = applicants.credentials(session, login)
        return applicants.verify(found, password)

    def applicant(self, applicant_id: int) -> ApplicantView:
        """An applicant's account."""
        with self.runtime.read() as session:
            return applicants.get(session, applicant_id)

    def apply(
        self,
        item_code: str,
        *,
        applicant_name: str,
        data: Mapping[str, Any] | None = None,
        materials: Sequence[Upload] = (),
        applicant_id: int | None = None,
        actor: str,
        title: str | None = None,
        submission: str | None = None,
    ) -> ReceiptView:
        """Apply for a service item: start its process (newest version) with a new case
        number and query code, store the materials; return the receipt (收件回执).

        ``actor``: ``applicant:<id>`` online, the officer's id at the window (S1).
        ``submission``: the form's idempotency key; the same key from the same actor
        again returns the first receipt instead of starting a second case.
        """
        payload, name = portal.application_data(data, applicant_name)
        files = self._checked(materials)
        if title is not None and len(title) > 400:
            raise InvalidInputError("the title is longer than 400 characters")
        portal.check_submission(submission)

        def act(call: Call, stash: materials_mod.Stash) -> ReceiptView:
            item = portal.check_application(call, item_code, actor, applicant_id)
            case = portal.start(
                call,
                stash,
                process_id=item.process,
                item=item,
                business_key=portal.next_case_number(call, item.code, self.timezone),
                data=payload,
                files=files,
                applicant_id=applicant_id,
                actor=actor,
                title=title or f"{item.name}（{name}）",
                submission=submission,
            )
            return portal.receipt(call, portal.case_row(call, case.business_key))

        return self._new_case(act, submission, actor)

    def file_complaint(
        self,
        *,
        applicant_id: int | None,
        complainant: str,
        contact: str,
        content: str,
        concerned_case: str | None = None,
        department: str | None = None,
        person: str | None = None,
        actor: str,
        submission: str | None = None,
    ) -> ReceiptView:
        """File an efficiency complaint (效能投诉): start ``efficiency_complaint`` with
        its own case number ``TS-<date>-<n>`` and query code; return the receipt.
        ``submission`` as for :meth:`apply`."""
        portal.check_submission(submission)

        def act(call: Call, stash: materials_mod.Stash) -> ReceiptView:
            portal._check_actor(call, actor, applicant_id)
            data = portal.complaint_data(
                call,
                complainant=complainant,
                contact=contact,
                content=content,
                concerned_case=concerned_case,
                department=department,
                person=person,
            )
            case = portal.start(
                call,
                stash,
                process_id=portal.COMPLAINT_PROCESS,
                item=None,
                business_key=portal.next_case_number(call, portal.COMPLAINT_PREFIX, self.timezone),
                data=data,
                files=(),
                applicant_id=applicant_id,
                actor=actor,
                title=f"效能投诉：{data['complainant']}",
                submission=submission,
            )
            return portal.receipt(call, portal.case_row(call, case.business_key))

        return self._new_case(act, submission, actor)

    def receipt(self, key: str) -> ReceiptView:
        """The receipt of a case, to print again (the web checks who may see it)."""
        with self.runtime.call(readonly=True) as call:
            return portal.receipt(call, portal.case_row(call, key))

    def applicant_cases(self, applicant_id: int) -> list[CaseSummary]:
        """The applicant's applications and complaints, newest first."""
        with self.runtime.call(readonly=True) as call:
            return [self._summary(call, c, d) for c, d in portal.cases_of(call, applicant_id)]

    def owns_case(self, key: str, applicant_id: int) -> bool:
        """True when the case is the applicant's (they applied or complained online)."""
        with self.runtime.call(readonly=True) as call:
            return portal.owns(call, key, applicant_id)

    def progress(
        self, key: str, *, query_code: str | None = None, applicant_id: int | None = None
    ) -> ProgressView:
        """The progress of a case (办件进度查询) with its query code or for its owner;
        otherwise the NotFoundError of an unknown case."""
        with self.runtime.call(readonly=True) as call:
            row = portal.open_case(call, key, query_code=query_code, applicant_id=applicant_id)
            return portal.progress(call, row, applicant_id)

    def supplement(
        self,
        key: str,
        *,
        applicant_id: int | None,
        materials: Sequence[Upload],
        actor: str,
        note: str | None = None,
    ) -> ProgressView:
        """补正: store the files as the next round; a clock stopped for a one-time notice
        (kind ``supplement``) restarts. A case that has ended takes nothing more."""
        files = self._checked(materials)
        with materials_mod.Stash(self.materials_dir) as stash, self.runtime.call() as call:
            call.after_commit.insert(0, stash.keep)  # committed: the files stay
            row = portal.supplement(
                call, stash, key, applicant_id=applicant_id, files=files, actor=actor, note=note
            )
            return portal.progress(call, row, applicant_id)

    def materials(self, key: str) -> list[MaterialView]:
        """A case's materials, in the order they were stored."""
        with self.runtime.call(readonly=True) as call:
            row = portal.case_row(call, key)
            return materials_mod.listing(call.conn, row.id, row.business_key)

    def material_file(self, material_id: int) -> tuple[MaterialView, Path]:
        """A material and the path of its file (the web checks who may see the case)."""
        with self.runtime.call(readonly=True) as call:
            return materials_mod.get(call.conn, self.materials_dir, material_id)

    def rate(
        self, key: str, *, applicant_id: int, level: int, comment: str | None = None
    ) -> RatingView:
        """好差评: the owning applicant rates an ended case once (1 非常不满意 … 5 非常满意);
        不满意 or worse opens a follow-up notice to the case's department."""
        with self.runtime.call() as call:
            row = portal.open_case(call, key, applicant_id=applicant_id)
            case = instances.get_case_row(call, row.id)
            return ratings.rate(
                call,
                case,
                applicant_id=applicant_id,
                owner_id=row.applicant_account_id,
                level=level,
                comment=comment,
            )

    def rating_counts(
        self, start: date, end: date, *, department: str | None = None
    ) -> dict[int, int]:
        """Ratings made in the local dates ``start``..``end`` (inclusive), per level 1..5."""
        since, until = metrics.period_bounds(start, end, self.timezone)
        with self.runtime.call(readonly=True) as call:
            return ratings.counts(call.conn, since, until, department)

    def _checked(self, uploads: Sequence[Upload]) -> list[materials_mod.Checked]:
        return materials_mod.check_all(uploads, self.max_material_bytes)

    def _new_case(
        self,
        act: Callable[[Call, materials_mod.Stash], ReceiptView],
        submission: str | None,
        actor: str,
    ) -> ReceiptView:
        """Start a case with a generated number: a number taken by a concurrent call is a
        ConflictError that rolls everything back (files too); the next number is tried.
        A form submitted before (``submission``) gets the receipt of its case."""
        for attempt in range(portal.KEY_ATTEMPTS):
            try:
                with (
                    materials_mod.Stash(self.materials_dir) as stash,
                    self.runtime.call() as call,
                ):
                    done = portal.submitted_before(call, submission, actor)
                    if done is not None:
                        return portal.receipt(call, done)
                    call.after_commit.insert(0, stash.keep)  # committed: the files stay
                    return act(call, stash)
            except ConflictError as exc:
                if submission is not None:  # the same form, sent twice at once?
                    with self.runtime.call(readonly=True) as call:
                        done = portal.submitted_before(call, submission, actor)
                        if done is not None:
                            return portal.receipt(call, done)
                if "case number already exists" not in exc.message or (
                    attempt == portal.KEY_ATTEMPTS - 1
                ):
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    # -- plumbing --------------------------------------------------------------------------

    def _task_call(self, task_id: str, act: Callable[[Call], Acted]) -> TaskView:
        def run(call: Call) -> TaskView:
            row, case = act(call)
            following = call.open_tasks
            if following is None:
                following = tasks.open_ids(call, case.id)
            return tasks.view(row, case, next_tasks=following)

        return self._case_call(("task", task_id), run)

    def _case_call(self, case_key: str | int | tuple[str, str], act: Callable[[Call], T]) -> T:
        """Run ``act`` in one transaction; record a failed engine step after rollback."""
        try:
            with self.runtime.call() as call:
                return act(call)
        except (ScriptError, CaseError) as exc:
            self._record_error(case_key, exc)
            raise

    def _record_error(
        self, case_key: str | int | tuple[str, str], exc: ScriptError | CaseError
    ) -> None:
        with self.runtime.call() as call:
            if isinstance(case_key, tuple):  # ("task", task id)
                row = call.session.get(HumanTask, case_key[1])
                if row is None:
                    return
                case_key = row.case_id
            try:
                case = instances.get_case_row(call, case_key)
            except NotFoundError:
                return
            accountability.record(
                call.conn,
                at=call.now,
                action="error",
                actor=None,
                case_id=case.id,
                element_id=exc.element_id,
                detail=instances.error_to_dict(exc),
            )

    def _summary(
        self,
        call: Call,
        case: Case | CaseRecord,
        definition: Definition | None = None,
        *,
        data: dict[str, Any] | None = None,
        open_tasks: Sequence[TaskView] = (),
        history: Sequence[AuditView] = (),
        applicant: str | None = None,
    ) -> CaseSummary:
        version = (
            definition.version
            if definition is not None
            else definitions.load_by_id(call, case.definition_id).version
        )
        return CaseSummary(
            id=case.id,
            business_key=case.business_key,
            process_id=case.process_id,
            definition_id=case.definition_id,
            definition_version=version,
            status=case.status,
            title=case.title,
            started_by=case.started_by,
            started_at=case.started_at,
            updated_at=case.updated_at,
            ended_at=case.ended_at,
            row_version=case.row_version,
            item_code=getattr(case, "item_code", None),
            due_at=getattr(case, "due_at", None),
            accepted_at=getattr(case, "accepted_at", None),
            deemed_accepted=bool(getattr(case, "deemed_accepted", False)),
            applicant=getattr(case, "applicant", None) or applicant,
            data=data or {},
            open_tasks=tuple(open_tasks),
            history=tuple(history),
            error=case.error,
        )


def _default_materials_dir(sa_engine: SAEngine) -> Path:
    """``materials`` next to a SQLite database file, else in the working directory."""
    database = sa_engine.url.database if sa_engine.dialect.name == "sqlite" else None
    if database and database != ":memory:" and not database.startswith("file:"):
        return Path(database).resolve().parent / "materials"
    return Path("materials")


def _up_to_now(since: datetime, until: datetime, now: datetime) -> datetime:
    """A period reaching into the future ends now (inclusive): nothing is overdue before
    it is due."""
    end = now + timedelta(microseconds=1)
    return end if since < end < until else until


def _collect_sources(items: Iterable[str | Path | parsing.SourceFile]) -> list[parsing.SourceFile]:
    files: list[parsing.SourceFile] = []
    for item in items:
        if isinstance(item, parsing.SourceFile):
            files.append(item)
            continue
        path = Path(item)
        if path.is_dir():
            paths = sorted(
                p for p in path.rglob("*") if p.is_file() and p.name.endswith(DEPLOYABLE_SUFFIXES)
            )
        elif path.is_file():
            paths = [path]
        else:
            raise InvalidInputError(f"no such file or folder: {path}")
        for p in paths:
            if p.stat().st_size > parsing.MAX_FILE_BYTES:
                raise InvalidInputError(f"{p.name}: larger than {parsing.MAX_FILE_BYTES} bytes")
            files.append(parsing.SourceFile(p.name, p.read_bytes()))
    if not files:
        raise InvalidInputError("nothing to deploy: no .bpmn, .dmn or .form.json files given")
    return files


def _task_groups(call: Call, person: str | PersonView) -> tuple[str, frozenset[str]]:
    """The person's id and task groups: those a PersonView carries, else from the database."""
    if isinstance(person, PersonView) and person.task_groups:
        return person.id, frozenset(person.task_groups)
    person_id = person.id if isinstance(person, PersonView) else person
    return person_id, organisation.task_groups_of(call.session, person_id)
