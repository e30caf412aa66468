"""Cases (process instances): the only holder of SpiffWorkflow workflow objects.

One engine call loads a case (from the workflow cache when the row version matches,
else from the database), acts on its workflow, runs engine steps and saves: the head
state, a history segment of newly finished tasks, the open human-task rows and the
timer rows — all in the caller's transaction.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    DurationTimerEventDefinition,
    TimerEventDefinition,
)
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.task import TaskState
from sqlalchemy import delete, select, update

from engine import accountability, definitions, scripting, supervision, tasks
from engine.errors import CaseError, ConflictError, NotFoundError, ScriptError, XiaonengError
from engine.items import Item
from engine.runtime import CachedWorkflow, Call
from engine.store import records
from engine.store.models import Case, CaseHistory, Timer
from engine.store.records import CaseRecord
from engine.store.serializer import Snapshot
from engine.workflow import XiaonengWorkflow

log = logging.getLogger(__name__)

ITEM_KEY = "item"  # workflow data: the service item's limits, fixed when the case starts

RUNNING = "running"
COMPLETED = "completed"
TERMINATED = "terminated"
SUSPENDED = "suspended"
CASE_STATES = (RUNNING, COMPLETED, TERMINATED, SUSPENDED)


@dataclass
class Checkout:
    """A case's workflow, loaded for one call.

    ``open_tasks`` and ``timers`` mirror what the database holds (known from the cache,
    else read on demand); ``closed`` lists human tasks this call completed itself.
    """

    case: CaseRecord
    workflow: BpmnWorkflow
    snapshot: Snapshot | None
    loaded: definitions.LoadedDefinition
    open_tasks: set[str] | None = None
    timers: dict[str, datetime] | None = None
    closed: set[str] = field(default_factory=set)
    # rows a diagram helper wrote while the case had no id yet (start): written on insert
    after_insert: list[Callable[[], None]] = field(default_factory=list)
    deadlines_moved: bool = False


def get_case_row(call: Call, key: str | int) -> CaseRecord:
    """Return the case by business key (str) or id (int), or raise NotFoundError."""
    case = records.load_case(call.conn, key)
    if case is None:
        raise NotFoundError("case", key)
    return case


def start(
    call: Call,
    *,
    loaded: definitions.LoadedDefinition,
    business_key: str,
    data: dict[str, Any],
    actor: str | None,
    title: str | None = None,
    item: Item | None = None,
) -> CaseRecord:
    """Create a case on the ``loaded`` definition, run it to its first wait state and save it."""
    if not business_key or len(business_key) > 100:
        raise XiaonengError("business key (case number) must be 1-100 characters")
    # a taken case number is found by the unique index when the case is inserted
    workflow = XiaonengWorkflow(
        loaded.spec, loaded.subprocess_specs, script_engine=loaded.script_engine
    )
    for task in workflow.get_tasks(state=TaskState.READY):
        task.data.update(data)
    due_at = None
    if item is not None:
        # 承诺时限: the promised limit counts from the day the case starts (受理)
        if call.runtime.calendar is None:
            raise CaseError("this engine has no working-day calendar")
        due_at = call.runtime.calendar(call.conn).add_working_days(call.now, item.promised_days)
        workflow.data[ITEM_KEY] = {
            "code": item.code,
            "promised_days": item.promised_days,
            "statutory_days": item.statutory_days,
            "joint": item.joint,
            "steps": {s.step: s.days for s in item.steps},
            "promised_deadline": due_at.isoformat(),
        }
    case = CaseRecord(
        id=0,  # inserted by save() with its first state
        business_key=business_key,
        definition_id=loaded.definition_id,
        process_id=loaded.process_id,
        status=RUNNING,
        title=title,
        started_by=actor,
        started_at=call.now,
        updated_at=call.now,
        ended_at=None,
        state="{}",
        history_segments=0,
        error=None,
        row_version=1,
        item_code=item.code if item is not None else None,
        due_at=due_at,
        department_id=item.department if item is not None else None,
    )
    checkout = Checkout(
        case=case, workflow=workflow, snapshot=None, loaded=loaded, open_tasks=set(), timers={}
    )
    run_engine(call, checkout)
    save(call, checkout)
    named = applicant_of(data)
    if named is not None:  # for case search; the record of the hot path does not carry it
        call.conn.execute(update(Case).where(Case.id == case.id).values(applicant=named))
    supervision.case_started(call, case, models_acceptance=loaded.models_acceptance)
    accountability.record(
        call.conn,
        at=call.now,
        action="start",
        actor=actor,
        case_id=case.id,
        detail={"process_id": loaded.process_id, "version": loaded.version},
    )
    return case


def applicant_of(data: dict[str, Any]) -> str | None:
    """The applicant's name (申请人) in start data: ``applicant`` (or ``applicant_name``)."""
    for key in ("applicant", "applicant_name"):
        value = data.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()[:200]
    return None


def checkout(call: Call, case: CaseRecord) -> Checkout:
    """Load the workflow of ``case`` (cache first) for this call."""
    loaded = definitions.load_by_id(call, case.definition_id)
    cached = call.runtime.workflows.take(case.id, case.row_version)
    if cached is not None:
        return Checkout(
            case=case,
            workflow=cached.workflow,
            snapshot=cached.snapshot,
            loaded=loaded,
            open_tasks=set(cached.open_tasks) if cached.open_tasks is not None else None,
            timers=dict(cached.timers) if cached.timers is not None else None,
        )
    history = call.session.scalars(
        select(CaseHistory.tasks).where(CaseHistory.case_id == case.id).order_by(CaseHistory.seq)
    ).all()
    workflow, snapshot = call.runtime.codec.decode(
        case.state, history, loaded.spec, loaded.subprocess_specs, loaded.script_engine
    )
    # no timer of the case fires while its clock is stopped (kept with the cached workflow)
    workflow.clock_stopped = clock_stopped(call, case.id)
    return Checkout(case=case, workflow=workflow, snapshot=snapshot, loaded=loaded)


def run_engine(call: Call, co: Checkout) -> None:
    """Run engine steps; turn library and diagram errors into engine errors."""
    call.checkout = co  # diagram helpers (extend_deadline …) act on this case
    try:
        co.workflow.do_engine_steps()
    except XiaonengError:
        raise
    except SpiffWorkflowException as exc:
        raise _case_error(exc) from exc
    except Exception as exc:  # a diagram expression raised: report it with its element
        script_error = scripting.script_error_from(exc)
        if script_error is not None:
            raise script_error from exc
        raise CaseError(f"engine step failed: {exc}") from exc


def _case_error(exc: SpiffWorkflowException) -> XiaonengError:
    own = _engine_error_in(exc)
    if own is not None:
        return own
    script_error = scripting.script_error_from(exc)
    if script_error is not None:
        return script_error
    task = getattr(exc, "task", None)
    element = getattr(getattr(task, "task_spec", None), "bpmn_id", None)
    return CaseError(f"engine step failed: {exc}", element_id=element)


def _engine_error_in(exc: BaseException) -> XiaonengError | None:
    """An engine error (not a script error) raised inside a diagram helper, if any."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, XiaonengError) and not isinstance(current, ScriptError):
            return current
        current = getattr(current, "error", None) or current.__cause__ or current.__context__
    return None


def save(call: Call, co: Checkout) -> None:
    """Write the case state, human tasks and timers; cache the workflow after commit."""
    case, workflow = co.case, co.workflow
    if case.id:
        _restart_clock_of_gone_tasks(call, co)
    encoded = call.runtime.codec.encode(workflow, co.snapshot)
    case.state = encoded.head
    case.history_segments = encoded.snapshot.segments
    case.updated_at = call.now
    if workflow.completed and case.status == RUNNING:
        case.status = COMPLETED
        case.ended_at = call.now
        supervision.case_ended(call, case)
    # the row-version checks come first: a call that lost a race stops here with
    # ConflictError before writing anything else
    call.session.flush()
    conn = call.conn
    if case.id == 0:
        records.insert_case(conn, case)
        while co.after_insert:
            co.after_insert.pop(0)()
    else:
        records.save_case(conn, case)
    if encoded.rewrite_history and co.snapshot is not None:
        call.session.execute(delete(CaseHistory).where(CaseHistory.case_id == case.id))
    if encoded.new_history is not None:
        records.INSERT_HISTORY.run(
            conn,
            {"case_id": case.id, "seq": encoded.snapshot.segments, "tasks": encoded.new_history},
        )
    tasks.sync(call, co)
    sync_timers(call, co)
    thrown = workflow.__dict__.pop("escalations_thrown", None)
    if thrown:
        supervision.bpmn_escalations(call, case, thrown)
    if co.deadlines_moved:
        co.deadlines_moved = False
        supervision.deadlines_moved(call, case)
    co.snapshot = encoded.snapshot
    release(call, co)


def when_saved(co: Checkout, write: Callable[[], None]) -> None:
    """Write rows that name the case now, or once a new case has its id."""
    if co.case.id:
        write()
    else:
        co.after_insert.append(write)


def clock_stopped(call: Call, case_id: int) -> bool:
    """True while the case's clock is stopped (补正, §45)."""
    return records.SELECT_OPEN_STOP.first(call.conn, {"case_id": case_id}) is not None


def _restart_clock_of_gone_tasks(call: Call, co: Checkout) -> None:
    """A task that stopped the clock (``stops_clock``) went away without being completed
    (an interrupting timer, a cancelled case): the clock restarts before the save."""
    from engine import limits  # limits -> instances: import when needed

    for (task_id,) in records.SELECT_TASK_STOPS.all(call.conn, {"case_id": co.case.id}):
        task = co.workflow.get_task_from_id(UUID(task_id))
        if task is None or task.state != TaskState.READY:
            limits.task_closed(call, co, task_id, None)


def release(call: Call, co: Checkout) -> None:
    """Hand the workflow back to the cache once the call has committed.

    After :func:`save`, or after a call that only read the case (its row version did
    not change). A failed call never gets here, so a half-changed workflow is dropped.
    """
    snapshot = co.snapshot
    if snapshot is None:  # a new case that was not saved: nothing to keep
        return
    entry = CachedWorkflow(
        row_version=co.case.row_version,
        workflow=co.workflow,
        snapshot=snapshot,
        open_tasks=frozenset(co.open_tasks) if co.open_tasks is not None else None,
        timers=dict(co.timers) if co.timers is not None else None,
    )
    case_id = co.case.id
    call.after_commit.append(lambda: call.runtime.workflows.put(case_id, entry))


def find_task(co: Checkout, task_id: str) -> Any:
    """Return the workflow task ``task_id`` of the checked-out case."""
    try:
        uuid = UUID(task_id)
    except ValueError as exc:
        raise NotFoundError("task", task_id) from exc
    task = co.workflow.get_task_from_id(uuid)
    if task is None:
        raise NotFoundError("task", task_id)
    return task


def task_data(co: Checkout, task_id: str) -> dict[str, Any]:
    """A copy of a task's data (what its form shows)."""
    return dict(find_task(co, task_id).data)


def case_data(co: Checkout) -> dict[str, Any]:
    """The data of the case as of its newest finished task (or the workflow data)."""
    last = co.workflow.last_task
    data = dict(last.data) if last is not None else {}
    data.update(co.workflow.data)
    return data


# -- timers --------------------------------------------------------------------------------


def _timer_kind(event_definition: TimerEventDefinition) -> str:
    if isinstance(event_definition, CycleTimerEventDefinition):
        return "cycle"
    if isinstance(event_definition, DurationTimerEventDefinition):
        return "duration"
    return "date"


def sync_timers(call: Call, co: Checkout) -> None:
    """Mirror the workflow's waiting timer events into ``timers`` rows (changes only)."""
    waiting: dict[str, tuple[str, str, datetime]] = {}
    # the event manager holds exactly the catching events that wait (no task scan)
    for task in list(co.workflow.event_manager.tasks.values()):
        if not task._state & TaskState.WAITING:
            continue
        event_definition = getattr(task.task_spec, "event_definition", None)
        if not isinstance(event_definition, TimerEventDefinition):
            continue
        due = timer_due(task, event_definition)
        if due is not None:
            waiting[str(task.id)] = (
                task.task_spec.bpmn_id or task.task_spec.name,
                _timer_kind(event_definition),
                due,
            )
    if co.timers is None:
        co.timers = dict(
            call.session.execute(
                select(Timer.id, Timer.due_at).where(
                    Timer.case_id == co.case.id, Timer.state == "pending", Timer.rule.is_(None)
                )
            ).all()
        )
    known = co.timers
    new = [
        {
            "id": timer_id,
            "case_id": co.case.id,
            "element_id": element_id,
            "kind": kind,
            "due_at": due,
            "run_at": due,
            "state": "pending",
            "attempts": 0,
            "created_at": call.now,
        }
        for timer_id, (element_id, kind, due) in waiting.items()
        if timer_id not in known
    ]
    if new:
        records.INSERT_TIMERS.run(call.conn, new)
        call.timer_armed(
            min(due for timer_id, (_e, _k, due) in waiting.items() if timer_id not in known)
        )
    for timer_id, (_element, _kind, due) in waiting.items():
        if timer_id in known and known[timer_id] != due:
            # a cycle timer re-armed, or a moved deadline
            records.MOVE_TIMER.run(call.conn, {"b_id": timer_id, "b_due": due})
            call.timer_armed(due)
    for timer_id, due in known.items():
        if timer_id not in waiting:
            fired = due <= call.now
            records.END_TIMER.run(
                call.conn,
                {
                    "b_id": timer_id,
                    "b_state": "fired" if fired else "cancelled",
                    "b_fired_at": call.now if fired else None,
                },
            )
    co.timers = {timer_id: due for timer_id, (_e, _k, due) in waiting.items()}


def move_timer(task: Any, event_definition: TimerEventDefinition, due: datetime) -> None:
    """Set a waiting timer's next moment (where SpiffWorkflow keeps it for its kind)."""
    value = task.internal_data.get("event_value")
    if isinstance(event_definition, CycleTimerEventDefinition):
        task.internal_data["event_value"] = dict(value, next=due.isoformat())
    else:
        task.internal_data["event_value"] = due.isoformat()


def timer_due(task: Any, event_definition: TimerEventDefinition) -> datetime | None:
    """A waiting timer's next moment (UTC), or None before it is armed."""
    value = event_definition.details(task).value
    if isinstance(value, dict):  # a cycle's own state: {"cycles", "next", "duration"}
        if value.get("cycles") == 0 or not value.get("next"):
            return None  # a bounded cycle that has run out
        value = value["next"]
    if value is None:
        return None
    due = value if isinstance(value, datetime) else _parse_due(value)
    if due.tzinfo is None:  # SpiffWorkflow reads a naive timeDate as UTC-less; we store UTC
        due = due.replace(tzinfo=UTC)
    return due.astimezone(UTC)


@functools.lru_cache(maxsize=4096)
def _parse_due(value: str) -> datetime:
    """ISO moment of a waiting timer (the same strings come back on every save)."""
    return TimerEventDefinition.get_datetime(value)  # type: ignore[no-any-return]


def fire_timers(call: Call, case: CaseRecord) -> int:
    """Let due timers of ``case`` fire and run the case on; return how many fired."""
    if case.status != RUNNING:
        return 0
    co = checkout(call, case)
    before = {str(t.id) for t in co.workflow.get_tasks(state=TaskState.WAITING)}
    co.workflow.refresh_timers()
    run_engine(call, co)
    after = {str(t.id) for t in co.workflow.get_tasks(state=TaskState.WAITING)}
    fired: list[str] = []
    for timer in call.session.scalars(
        select(Timer).where(
            Timer.case_id == case.id,
            Timer.state == "pending",
            Timer.rule.is_(None),
            Timer.due_at <= call.now,
        )
    ):
        if timer.id not in after or timer.id in before:
            fired.append(timer.id)
            accountability.record(
                call.conn,
                at=call.now,
                action="timer",
                actor=None,
                case_id=case.id,
                task_id=timer.id,
                element_id=timer.element_id,
                detail={"due_at": timer.due_at.isoformat(), "kind": timer.kind},
            )
    save(call, co)
    supervision.bpmn_timers_fired(call, co, fired)
    return len(fired)


def terminate(call: Call, case: CaseRecord, actor: str | None, reason: str | None) -> None:
    """Cancel the case's workflow and close its open tasks."""
    if case.status in (COMPLETED, TERMINATED):
        raise ConflictError(f"case {case.business_key} is already {case.status}")
    co = checkout(call, case)
    co.workflow.cancel()
    case.status = TERMINATED
    case.ended_at = call.now
    supervision.case_ended(call, case)
    accountability.record(
        call.conn, at=call.now, action="terminate", actor=actor, case_id=case.id, opinion=reason
    )
    save(call, co)


def error_to_dict(exc: ScriptError | CaseError) -> dict[str, Any]:
    """Details of a failed engine step for the audit trail."""
    return {"error": exc.message, "element_id": exc.element_id}
