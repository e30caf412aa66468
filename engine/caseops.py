"""Administrative case operations: suspend (挂起) and resume, version migration (版本迁移),
return to an earlier step (退回) and adding a signer (加签).

Each function acts inside the caller's engine call (one transaction). Rewinding a
workflow (return, migration) rewrites the case's history as one segment and drops the
cached workflow, so the next call works on the state as stored.
"""

from __future__ import annotations

from typing import Any
from uuid import uuid4

from SpiffWorkflow.bpmn.specs.control import BoundaryEventSplit
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import (
    MultiInstanceTask,
    ParallelMultiInstanceTask,
)
from SpiffWorkflow.bpmn.util.diff import diff_workflow, migrate_workflow
from SpiffWorkflow.task import TaskState
from sqlalchemy import delete, select, update

from engine import accountability, definitions, instances, organisation, tasks
from engine.errors import ConflictError, InvalidInputError, NotFoundError, NotPermittedError
from engine.runtime import Call
from engine.store import records
from engine.store.models import Case, CaseHistory, HumanTask, Timer
from engine.store.records import CaseRecord
from engine.tasks import Acted
from engine.views import MigrationResult

MAX_REASON = 4000
_ACTIVE = TaskState.READY | TaskState.WAITING | TaskState.STARTED | TaskState.ERROR


def _reason(text: str | None, *, required: bool) -> str | None:
    text = (text or "").strip()
    if required and not text:
        raise InvalidInputError("a reason is required")
    if len(text) > MAX_REASON:
        raise InvalidInputError(f"the reason is longer than {MAX_REASON} characters")
    return text or None


# -- suspend and resume (挂起/恢复) ------------------------------------------------------------


def suspend(call: Call, case: CaseRecord, actor: str, reason: str) -> None:
    """Suspend a running case: its tasks cannot change and its timers wait."""
    text = _reason(reason, required=True)
    if case.status != instances.RUNNING:
        raise ConflictError(
            f"case {case.business_key} is {case.status}; only a running case can be suspended"
        )
    case.status = instances.SUSPENDED
    case.updated_at = call.now
    records.save_case(call.conn, case)
    accountability.record(
        call.conn, at=call.now, action="suspend", actor=actor, case_id=case.id, opinion=text
    )


def resume(call: Call, case: CaseRecord, actor: str) -> None:
    """Resume a suspended case; timers that came due meanwhile fire now."""
    if case.status != instances.SUSPENDED:
        raise ConflictError(f"case {case.business_key} is {case.status}, not suspended")
    case.status = instances.RUNNING
    case.updated_at = call.now
    records.save_case(call.conn, case)
    accountability.record(call.conn, at=call.now, action="resume", actor=actor, case_id=case.id)
    earliest = call.conn.scalar(
        select(Timer.run_at)
        .where(Timer.case_id == case.id, Timer.state == "pending")
        .order_by(Timer.run_at)
        .limit(1)
    )
    if earliest is not None:
        call.timer_armed(max(earliest, call.now))  # wake the workers


# -- rewinding helpers -----------------------------------------------------------------------


def _rewound(call: Call, co: instances.Checkout) -> None:
    """After a change that rewinds the workflow: forget the open-task indexes, rewrite
    the history on save and keep no cached copy of this workflow."""
    workflow = co.workflow
    for wf in (workflow, *workflow.subprocesses.values()):
        wf.__dict__.pop("_xiaoneng_open", None)
    # a reset drops tasks from the tree but not from the event manager
    waiting = workflow.event_manager.tasks
    for task_id, task in list(waiting.items()):
        if task.workflow.tasks.get(task_id) is not task:
            del waiting[task_id]
    call.session.execute(delete(CaseHistory).where(CaseHistory.case_id == co.case.id))
    co.snapshot = None
    case_id = co.case.id
    # after release() put it back: the next call decodes the case as stored
    call.after_commit.append(lambda: call.runtime.workflows.discard(case_id))


# -- version migration (版本迁移) --------------------------------------------------------------


def migrate(
    call: Call, case: CaseRecord, to_version: int, actor: str, dry_run: bool
) -> MigrationResult:
    """Move one case to version ``to_version`` of its process, or say why not."""
    current = definitions.load_by_id(call, case.definition_id)

    def refused(reason: str) -> MigrationResult:
        return MigrationResult(case.business_key, current.version, to_version, False, reason)

    if case.status != instances.RUNNING:
        return refused(f"the case is {case.status}, not running")
    if to_version <= current.version:
        return refused(f"version {to_version} is not newer than the case's {current.version}")
    try:
        target = definitions.resolve(call, case.process_id, to_version)
    except NotFoundError:
        return refused(f"process {case.process_id} has no version {to_version}")
    co = instances.checkout(call, case)  # not released when refused: the copy is dropped
    workflow = co.workflow
    new_specs: list[tuple[Any, Any]] = [(workflow, target.spec)]
    for sp in workflow.subprocesses.values():
        spec = target.subprocess_specs.get(sp.spec.name)
        if spec is None:
            return refused(f"called process {sp.spec.name} is not part of version {to_version}")
        new_specs.append((sp, spec))
    for wf, spec in new_specs:
        for task in wf.get_tasks(state=_ACTIVE, skip_subprocesses=True):
            if task.task_spec.name not in spec.task_specs:
                return refused(
                    f"active step {_element(task)} does not exist in version {to_version}"
                )
    top_diff, sp_diffs = diff_workflow(
        call.runtime.codec.registry, workflow, target.spec, target.subprocess_specs
    )
    for diff in (top_diff, *sp_diffs.values()):
        for done in diff.removed if diff is not None else ():
            if done.state & TaskState.FINISHED_MASK:
                return refused(
                    f"completed step {_element(done)} does not exist in version {to_version}"
                )
    # a waiting timer keeps its moment (migrate_workflow re-arms it from now)
    armed = {
        t.id: dict(t.internal_data)
        for t in workflow.get_tasks(state=TaskState.WAITING)
        if isinstance(getattr(t.task_spec, "event_definition", None), TimerEventDefinition)
    }
    migrate_workflow(top_diff, workflow, target.spec)
    for sp_id, sp in workflow.subprocesses.items():
        diff = sp_diffs.get(sp_id)
        if diff is not None:
            migrate_workflow(diff, sp, target.subprocess_specs[sp.spec.name])
    for wf in (workflow, *workflow.subprocesses.values()):
        for task in wf.tasks.values():
            if wf.spec.task_specs.get(task.task_spec.name) is not task.task_spec:
                return refused(f"step {_element(task)} has no place in version {to_version}")
            if task.id in armed and task.state == TaskState.WAITING:
                task.internal_data = armed[task.id]
    if dry_run:
        return MigrationResult(case.business_key, current.version, to_version, True, None)
    workflow.subprocess_specs = target.subprocess_specs
    co.loaded = target
    case.definition_id = target.definition_id
    _rewound(call, co)
    instances.run_engine(call, co)
    instances.save(call, co)
    call.conn.execute(
        update(Case).where(Case.id == case.id).values(definition_id=target.definition_id)
    )
    accountability.record(
        call.conn,
        at=call.now,
        action="migrate",
        actor=actor,
        case_id=case.id,
        detail={"from_version": current.version, "to_version": to_version},
    )
    return MigrationResult(case.business_key, current.version, to_version, True, None)


def _element(task: Any) -> str:
    spec = task.task_spec
    return str(spec.bpmn_id or spec.name)


# -- return to an earlier step (退回) ---------------------------------------------------------


def return_points(co: instances.Checkout, row: Any) -> dict[str, Any]:
    """Element id → the completed user task, nearest first, the task may go back to."""
    if row.multi_instance_of is not None:
        return {}
    task = instances.find_task(co, row.id)
    found: dict[str, Any] = {}
    ancestor = task.parent
    while ancestor is not None:
        spec = ancestor.task_spec
        element = str(spec.bpmn_id or spec.name)
        if (
            getattr(spec, "manual", False)
            and ancestor.state == TaskState.COMPLETED
            and not isinstance(spec, MultiInstanceTask)
            and not tasks._is_mi_child(ancestor)
            and element != row.element_id
            and element not in found
        ):
            found[element] = ancestor
        ancestor = ancestor.parent
    return found


def return_targets(call: Call, task_id: str) -> list[tuple[str, str]]:
    """(element id, name) of the steps an open task may be sent back to, nearest first."""
    row, case = tasks._open_row(call, task_id)
    co = instances.checkout(call, case)
    points = return_points(co, row)
    instances.release(call, co)
    return [(element, t.task_spec.bpmn_name or element) for element, t in points.items()]


def return_task(call: Call, task_id: str, actor: str, to: str, reason: str) -> Acted:
    """退回: cancel the task and reopen the earlier step ``to`` for its last completer."""
    row, case = tasks._open_row(call, task_id)
    tasks._require_holder(row, actor)
    if row.delegation == "pending":
        raise NotPermittedError("a delegated task cannot be returned by the delegate", actor=actor)
    text = _reason(reason, required=True)
    co = instances.checkout(call, case)
    points = return_points(co, row)
    target = points.get(to)
    if target is None:
        allowed = ", ".join(points) or "none"
        raise InvalidInputError(f"task {task_id} cannot be returned to {to!r} (allowed: {allowed})")
    last = call.conn.scalar(
        select(HumanTask.completed_by)
        .where(
            HumanTask.case_id == case.id,
            HumanTask.element_id == to,
            HumanTask.state == tasks.COMPLETED,
        )
        .order_by(HumanTask.ended_at.desc(), HumanTask.id.desc())
        .limit(1)
    )
    workflow = co.workflow
    if isinstance(target.parent.task_spec, BoundaryEventSplit):
        # the split recreates the step and its boundary events with new task ids
        workflow.reset_from_task_id(target.parent.id)
    else:
        workflow.reset_from_task_id(target.id)
        _renumber(target)  # the old id names the completed human-task row
    _rewound(call, co)
    call.actor = actor
    instances.run_engine(call, co)
    accountability.record(
        call.conn,
        at=call.now,
        action="return",
        actor=actor,
        case_id=case.id,
        task_id=row.id,
        element_id=row.element_id,
        detail={"to": to, "assignee": last},
        opinion=text,
    )
    instances.save(call, co)
    reopened = [r for r in call.created_tasks if r["element_id"] == to]
    if last is not None:
        for new in reopened:
            call.conn.execute(
                update(HumanTask)
                .where(HumanTask.id == new["id"])
                .values(assignee=last, claimed_at=call.now)
            )
    fresh = records.load_task(call.conn, row.id)
    return (fresh or row), case


def _renumber(task: Any) -> None:
    """Give a reset task a new id (its former id names a finished task in the records)."""
    workflow = task.workflow
    old, new = task.id, uuid4()
    del workflow.tasks[old]
    task.id = new
    workflow.tasks[new] = task
    parent = task.parent
    parent._children = [new if child == old else child for child in parent._children]
    for child in task.children:  # predicted by the reset
        child._parent = new


# -- add a signer (加签) -----------------------------------------------------------------------


def add_signer(call: Call, task_id: str, actor: str, person: str, reason: str | None) -> Acted:
    """加签: on a parallel signing step, add ``person`` as one more signer; on another
    step, ask ``person`` to sign first (like 委派, recorded as ``add_signer``)."""
    row, case = tasks._open_row(call, task_id)
    tasks._require_holder(row, actor)
    organisation.require_person(call.session, person)
    text = _reason(reason, required=False)
    if person == actor:
        raise InvalidInputError("cannot add yourself as a signer")
    if row.multi_instance_of is None:
        return tasks.delegate(call, task_id, actor, person, text, action="add_signer")
    co = instances.checkout(call, case)
    task = instances.find_task(co, task_id)
    mi_task = task.parent
    spec = mi_task.task_spec
    if not isinstance(spec, ParallelMultiInstanceTask) or mi_task.state != TaskState.STARTED:
        raise ConflictError(f"step {row.element_id} does not take more signers now")
    signers = call.conn.scalars(
        select(HumanTask.assignee).where(
            HumanTask.multi_instance_of == row.multi_instance_of, HumanTask.state == tasks.OPEN
        )
    ).all()
    if person in signers:
        raise ConflictError(f"{person} already signs at step {row.element_id}")
    key = None
    if spec.data_input is not None:
        collection = spec.data_input.get(mi_task)
        if isinstance(collection, list):
            collection.append(person)
            key = len(collection) - 1
    spec.create_child(mi_task, person, key)
    call.actor = actor
    instances.run_engine(call, co)
    instances.save(call, co)
    added = [r for r in call.created_tasks if r["multi_instance_of"] == row.multi_instance_of]
    for new in added:
        if new["assignee"] == person or new["substitute_for"] == person:
            continue  # the diagram's assignee expression named them (or their backup)
        call.conn.execute(
            update(HumanTask)
            .where(HumanTask.id == new["id"])
            .values(assignee=person, claimed_at=call.now)
        )
    accountability.record(
        call.conn,
        at=call.now,
        action="add_signer",
        actor=actor,
        case_id=case.id,
        task_id=row.id,
        element_id=row.element_id,
        detail={"signer": person, "tasks": [r["id"] for r in added]},
        opinion=text,
    )
    return row, case
