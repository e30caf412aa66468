"""Human tasks: inbox queries, claim, complete, transfer (转办), delegate (委派) …

Rows in ``human_tasks`` mirror the workflow's ready manual tasks (written in the same
transaction as the case). Rules:

* candidates come from ``camunda:assignee`` / ``candidateUsers`` / ``candidateGroups``,
  and from the lane when none of those is given (a lane name is a group);
* only a candidate may claim; only the holder (``assignee``) may complete;
* transfer moves the task to another person for good; delegate lends it to someone
  who resolves it, after which it returns to its owner, who completes it;
* multi-instance signing (``sign_mode`` property): 会签 ``all``, 或签 ``any``, 票签 ``vote``
  with ``pass_count`` (k of N) or ``pass_ratio`` (share ≥ x). Every signer's reply is
  kept in ``sign_replies`` and in the case data, also when a timer cuts the signing short.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import MultiInstanceTask
from SpiffWorkflow.task import TaskState
from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import defer

from engine import (
    absences,
    accountability,
    forms,
    instances,
    limits,
    organisation,
    parsing,
    scripting,
    supervision,
)
from engine.errors import (
    ConflictError,
    FieldProblem,
    FormValidationError,
    InvalidInputError,
    NotFoundError,
    NotPermittedError,
    ScriptError,
)
from engine.runtime import Call, current_call
from engine.store import records
from engine.store.models import Case, HumanTask, Post, SignReply, TaskCandidate
from engine.store.records import CaseRecord, TaskRecord
from engine.views import FormFieldView, SignReplyView, TaskView

Acted = tuple[TaskRecord, CaseRecord]  # the task acted on and its case, as saved

OPEN = "open"
COMPLETED = "completed"
CANCELLED = "cancelled"
SIGN_MODES = ("all", "any", "vote")
SIGN_RESULTS_KEY = "sign_results"  # workflow data: element id → replies and outcome
MAX_OPINION = 4000
_IDENTIFIER = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,99}$")
# task lists need the case's key and dates, never its serialized workflow (often 10s of KB)
_NO_STATE = defer(Case.state, raiseload=True)
_APPROVE_WORDS = {"approve", "approved", "agree", "yes", "true", "pass", "grant", "1"}


# -- sync from the workflow ----------------------------------------------------------------


def sync(call: Call, co: instances.Checkout) -> None:
    """Insert rows for newly ready manual tasks; cancel rows whose task went away.

    Only changes are written; what the database holds is known from the workflow cache
    (or read once on a cache miss).
    """
    conn = call.conn
    ready = {str(t.id): t for t in co.workflow.get_tasks(state=TaskState.READY, manual=True)}
    if co.open_tasks is None:
        co.open_tasks = set(
            conn.scalars(
                select(HumanTask.id).where(HumanTask.case_id == co.case.id, HumanTask.state == OPEN)
            )
        )
    known = co.open_tasks - co.closed
    rows: list[dict[str, Any]] = []
    candidates: list[dict[str, Any]] = []
    stoppers: list[tuple[str, str, str]] = []
    for task_id, task in ready.items():
        if task_id not in known:
            _new_row(call, co, task, rows, candidates)
            kind = _extensions(task).get("stops_clock")
            if kind:
                stoppers.append((task_id, str(kind), rows[-1]["name"] or rows[-1]["element_id"]))
    if rows:
        records.INSERT_TASKS.run(conn, rows)
        supervision.task_opened(call, co.case, rows)
    if candidates:
        records.INSERT_CANDIDATES.run(conn, candidates)
    for task_id, kind, name in stoppers:
        limits.task_opened(call, co, task_id, kind, name)
    gone = [task_id for task_id in known if task_id not in ready]
    if gone:
        _cancel_rows(call, co, gone)
    co.open_tasks = set(ready)
    call.open_tasks = tuple(ready)
    call.created_tasks.extend(rows)


def _cancel_rows(call: Call, co: instances.Checkout, gone: list[str]) -> None:
    conn = call.conn
    elements = dict(
        conn.execute(select(HumanTask.id, HumanTask.element_id).where(HumanTask.id.in_(gone))).all()
    )
    conn.execute(
        update(HumanTask)
        .where(HumanTask.id.in_(gone), HumanTask.state == OPEN)
        .values(state=CANCELLED, ended_at=call.now, row_version=HumanTask.row_version + 1)
    )
    conn.execute(delete(TaskCandidate).where(TaskCandidate.task_id.in_(gone)))
    supervision.tasks_closed(call, co.case, gone, completed=False)
    for task_id in gone:
        accountability.record(
            conn,
            at=call.now,
            action="cancel",
            actor=None,
            case_id=co.case.id,
            task_id=task_id,
            element_id=elements.get(task_id),
            detail={"reason": "the workflow moved on without this task"},
        )


def _new_row(
    call: Call,
    co: instances.Checkout,
    task: Any,
    rows: list[dict[str, Any]],
    candidates: list[dict[str, Any]],
) -> None:
    spec = task.task_spec
    ext = _extensions(task)
    assignee = _one(_evaluate_people(task, ext.get("assignee")))
    substitute_of = None
    if assignee:
        backup = absences.substitute_for(call, assignee)
        if backup is not None:
            substitute_of, assignee = assignee, backup
    users = _evaluate_people(task, ext.get("candidate_users"))
    groups = _evaluate_people(task, ext.get("candidate_groups"))
    lane = getattr(spec, "lane", None)
    if not assignee and not users and not groups and lane:
        groups = [lane]
    mi = task.parent if _is_mi_child(task) else None
    task_id = str(task.id)
    rows.append(
        {
            "id": task_id,
            "case_id": co.case.id,
            "element_id": _element_id(task),
            "name": spec.bpmn_name or spec.name,
            "lane": lane,
            "form_key": ext.get("form_key"),
            "priority": _int_or_none(ext.get("priority")),
            "state": OPEN,
            "assignee": assignee,
            "owner": None,
            "delegation": None,
            "candidate_users": users,
            "candidate_groups": groups,
            "multi_instance_of": str(mi.id) if mi is not None else None,
            "due_at": _due(call, task, ext.get("due_date")) or _step_due(call, co, task),
            "substitute_for": substitute_of,
            "department_id": _department(call, co, groups),
            "created_at": call.now,
            "claimed_at": call.now if assignee else None,
            "row_version": 1,
        }
    )
    candidates.extend({"task_id": task_id, "kind": "user", "value": u} for u in users)
    candidates.extend({"task_id": task_id, "kind": "group", "value": g} for g in groups)


def _department(call: Call, co: instances.Checkout, groups: list[str]) -> str | None:
    """The department responsible for a step: its ``dept:``/``post:`` group, else the case's."""
    for group in groups:
        department = group.rpartition("&")[2]  # role:x&dept:y names its department too
        if department.startswith("dept:"):
            return department.removeprefix("dept:")
    for group in groups:
        if group.startswith("post:"):
            post_department = call.conn.scalar(
                select(Post.department_id).where(Post.id == group.removeprefix("post:"))
            )
            if post_department is not None:
                return str(post_department)
    return co.case.department_id


def _accepts_case(task: Any) -> bool:
    """``camunda:property accepts_case``: ``true`` or a condition on the task's data
    (e.g. ``accepted == 'yes'``): completing the task accepts the case (受理)."""
    condition = str(_extensions(task).get("accepts_case") or "").strip()
    if not condition:
        return False
    if condition.lower() == "true":
        return True
    if "${" not in condition and "#{" not in condition:
        condition = "${" + condition + "}"
    return bool(_evaluate(task, condition))


def _extensions(task: Any) -> dict[str, Any]:
    ext = dict(getattr(task.parent.task_spec, "extensions", {}) or {}) if _is_mi_child(task) else {}
    ext.update(getattr(task.task_spec, "extensions", {}) or {})
    return ext


def _is_mi_child(task: Any) -> bool:
    return task.parent is not None and isinstance(task.parent.task_spec, MultiInstanceTask)


def _element_id(task: Any) -> str:
    spec = task.parent.task_spec if _is_mi_child(task) else task.task_spec
    return str(spec.bpmn_id or spec.name)


def _evaluate_people(task: Any, raw: Any) -> list[str]:
    """Turn assignee/candidate attribute values (maybe ``${expr}``) into a list of ids."""
    if raw is None or raw == "" or raw == []:
        return []
    items = raw if isinstance(raw, list | tuple) else [raw]
    result: list[str] = []
    for item in items:
        text = str(item).strip()
        parts = parsing.template_parts(text)
        if parts is not None:  # literal text around expressions: dept:${unit}
            value = text
            for part in parts:
                found = _evaluate(task, part)
                value = value.replace(part, "" if found is None else str(found), 1)
            result.extend(_without_empty_qualifiers(value))
        elif "${" in text or "#{" in text:
            value = _evaluate(task, text)
            values = value if isinstance(value, list | tuple | set) else [value]
            for v in values:
                if v is None or v == "":
                    continue
                result.extend(s.strip() for s in str(v).split(",") if s.strip())
        else:
            result.extend(s.strip() for s in text.split(",") if s.strip())
    return list(dict.fromkeys(result))


def _without_empty_qualifiers(value: str) -> list[str]:
    """Groups of a template's text; a part of a combined group whose expression gave
    nothing is left out (``role:case-officer&dept:`` is ``role:case-officer``: a case
    without a department is not narrowed to one), and so is a group left empty."""
    groups: list[str] = []
    for group in value.split(","):
        kept = [p.strip() for p in group.split("&") if p.strip() and not p.strip().endswith(":")]
        if kept:
            groups.append("&".join(kept))
    return groups


def _evaluate(task: Any, expression: str) -> Any:
    try:
        python = scripting.check_expression(expression, element_id=_element_id(task))
        return task.workflow.script_engine.evaluate(task, python)
    except ScriptError:
        raise
    except Exception as exc:
        error = scripting.script_error_from(exc)
        if error is not None:
            raise error from exc
        raise ScriptError(
            f"cannot evaluate {expression!r}: {exc}",
            element_id=_element_id(task),
            source=expression,
        ) from exc


def _step_due(call: Call, co: instances.Checkout, task: Any) -> datetime | None:
    """The due moment from the service item's limit for this step, if it sets one."""
    steps = (co.workflow.data.get(instances.ITEM_KEY) or {}).get("steps") or {}
    days = steps.get(_element_id(task))
    if days is None or call.runtime.calendar is None:
        return None
    return call.runtime.calendar(call.conn).add_working_days(call.now, int(days))  # type: ignore[no-any-return]


def _due(call: Call, task: Any, raw: Any) -> datetime | None:
    """The due moment from ``camunda:dueDate``: an ISO datetime/duration or an expression."""
    if not raw:
        return None
    value: Any = str(raw).strip()
    if "${" in value or "#{" in value:
        value = _evaluate(task, value)
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=call.now.tzinfo)
    text = str(value)
    from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

    try:
        if text.startswith("P"):
            return call.now + TimerEventDefinition.get_timedelta_from_start(
                TimerEventDefinition.parse_iso_duration(text), call.now
            )
        moment = datetime.fromisoformat(text)
    except (ValueError, TypeError) as exc:
        raise ScriptError(
            f"due date {text!r} is neither an ISO datetime nor a duration",
            element_id=_element_id(task),
        ) from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=call.now.tzinfo)


def _one(values: list[str]) -> str | None:
    return values[0] if values else None


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


# -- reading -------------------------------------------------------------------------------


def get_row(call: Call, task_id: str) -> TaskRecord:
    """Return the human-task row or raise NotFoundError."""
    row = records.load_task(call.conn, task_id)
    if row is None:
        raise NotFoundError("task", task_id)
    return row


def is_candidate(row: TaskRecord, person: str, groups: Iterable[str]) -> bool:
    """True when ``person`` may claim ``row``."""
    if person == row.assignee or person in (row.candidate_users or []):
        return True
    return bool(set(row.candidate_groups or []) & set(groups))


def open_ids(call: Call, case_id: int) -> tuple[str, ...]:
    """Ids of the case's open tasks, oldest first."""
    return tuple(
        call.session.scalars(
            select(HumanTask.id)
            .where(HumanTask.case_id == case_id, HumanTask.state == OPEN)
            .order_by(HumanTask.created_at, HumanTask.id)
        )
    )


def view(
    row: TaskRecord | HumanTask,
    case: CaseRecord | Case,
    *,
    form: forms.FormSpec | None = None,
    data: Mapping[str, Any] | None = None,
    next_tasks: tuple[str, ...] = (),
) -> TaskView:
    """Build the view of a task row."""
    fields = tuple(
        FormFieldView(
            id=f.id,
            label=f.label,
            type=f.type,
            required=f.required,
            choices=tuple((str(v), str(lbl)) for v, lbl in f.choices),
            default=f.default,
        )
        for f in (form.fields if form is not None else ())
    )
    return TaskView(
        id=row.id,
        case_id=row.case_id,
        business_key=case.business_key,
        process_id=case.process_id,
        element_id=row.element_id,
        name=row.name,
        lane=row.lane,
        state=row.state,
        assignee=row.assignee,
        owner=row.owner,
        delegation=row.delegation,
        candidate_users=tuple(row.candidate_users or ()),
        candidate_groups=tuple(row.candidate_groups or ()),
        priority=row.priority,
        due_at=row.due_at,
        created_at=row.created_at,
        claimed_at=row.claimed_at,
        ended_at=row.ended_at,
        completed_by=row.completed_by,
        opinion=row.opinion,
        multi_instance_of=row.multi_instance_of,
        form=fields,
        data=dict(data or {}),
        next_tasks=next_tasks,
    )


def inbox(call: Call, person: str, groups: Iterable[str], *, limit: int = 200) -> list[TaskView]:
    """Open tasks the person holds or may claim, most urgent first."""
    groups = list(groups)
    claimable = select(TaskCandidate.task_id).where(
        or_(
            (TaskCandidate.kind == "user") & (TaskCandidate.value == person),
            (TaskCandidate.kind == "group") & (TaskCandidate.value.in_(groups or [""])),
        )
    )
    stmt = (
        select(HumanTask, Case)
        .options(_NO_STATE)
        .join(Case, Case.id == HumanTask.case_id)
        .where(
            HumanTask.state == OPEN,
            Case.status == instances.RUNNING,
            or_(
                HumanTask.assignee == person,
                HumanTask.assignee.is_(None) & HumanTask.id.in_(claimable),
            ),
        )
        .order_by(
            HumanTask.due_at.is_(None),
            HumanTask.due_at,
            HumanTask.priority.desc(),
            HumanTask.created_at,
        )
        .limit(limit)
    )
    return [view(r, c) for r, c in call.session.execute(stmt).all()]


def query(
    call: Call,
    *,
    user: str | None = None,
    user_groups: Iterable[str] = (),
    group: str | None = None,
    case_id: int | None = None,
    state: str | None = OPEN,
    limit: int = 200,
) -> list[TaskView]:
    """Tasks filtered by user (held, done, or offered to them or their groups), candidate
    group, case and state."""
    stmt = select(HumanTask, Case).options(_NO_STATE).join(Case, Case.id == HumanTask.case_id)
    if state:
        stmt = stmt.where(HumanTask.state == state)
    if case_id is not None:
        stmt = stmt.where(HumanTask.case_id == case_id)
    if user:
        by_user = select(TaskCandidate.task_id).where(
            or_(
                (TaskCandidate.kind == "user") & (TaskCandidate.value == user),
                (TaskCandidate.kind == "group") & TaskCandidate.value.in_(list(user_groups)),
            )
        )
        stmt = stmt.where(
            or_(
                HumanTask.assignee == user,
                HumanTask.completed_by == user,
                HumanTask.id.in_(by_user),
            )
        )
    if group:
        by_group = select(TaskCandidate.task_id).where(
            TaskCandidate.kind == "group", TaskCandidate.value == group
        )
        stmt = stmt.where(HumanTask.id.in_(by_group))
    stmt = stmt.order_by(HumanTask.created_at, HumanTask.id).limit(limit)
    return [view(r, c) for r, c in call.session.execute(stmt).all()]


def done_by(call: Call, person: str, *, limit: int = 200) -> list[TaskView]:
    """Tasks the person completed (已办), newest first."""
    stmt = (
        select(HumanTask, Case)
        .options(_NO_STATE)
        .join(Case, Case.id == HumanTask.case_id)
        .where(HumanTask.completed_by == person)
        .order_by(HumanTask.ended_at.desc())
        .limit(limit)
    )
    return [view(r, c) for r, c in call.session.execute(stmt).all()]


# -- acting --------------------------------------------------------------------------------


def _open_row(call: Call, task_id: str) -> Acted:
    found = records.load_task_and_case(call.conn, task_id)
    if found is None:
        raise NotFoundError("task", task_id)
    row, case = found
    if row.state != OPEN:
        raise ConflictError(f"task {task_id} is already {row.state}")
    if case.status == instances.SUSPENDED:
        raise ConflictError(
            f"case {case.business_key} is suspended; resume it before acting on its tasks"
        )
    if case.status != instances.RUNNING:
        raise ConflictError(f"case {case.business_key} is {case.status}; its tasks cannot change")
    return row, case


def claim(call: Call, task_id: str, actor: str) -> Acted:
    """Take an open task from the candidates' pool."""
    organisation.require_person(call.session, actor)
    row, case = _open_row(call, task_id)
    if row.assignee == actor:
        raise ConflictError(f"task {task_id} is already claimed by you")
    if row.assignee is not None:
        raise ConflictError(f"task {task_id} is already claimed by {row.assignee}")
    if not is_candidate(row, actor, organisation.task_groups_of(call.session, actor)):
        raise NotPermittedError(f"{actor} is not a candidate for task {task_id}", actor=actor)
    row.assignee = actor
    row.claimed_at = call.now
    _save(call, row, "assignee", "claimed_at")
    _audit(call, row, case, "claim", actor)
    return row, case


def unclaim(call: Call, task_id: str, actor: str) -> Acted:
    """Give a claimed task back to its candidates."""
    row, case = _open_row(call, task_id)
    _require_holder(row, actor)
    if row.delegation == "pending" or row.owner:
        raise NotPermittedError(
            "a delegated task cannot be unclaimed; resolve it first", actor=actor
        )
    if not row.candidate_users and not row.candidate_groups:
        raise NotPermittedError(
            "this task is assigned to you by the process and has no other candidates; "
            "transfer it instead",
            actor=actor,
        )
    row.assignee = None
    row.claimed_at = None
    _save(call, row, "assignee", "claimed_at")
    _audit(call, row, case, "unclaim", actor)
    return row, case


def transfer(call: Call, task_id: str, actor: str, to: str, reason: str | None) -> Acted:
    """转办: hand the task to ``to`` for good."""
    row, case = _open_row(call, task_id)
    _require_holder(row, actor)
    if row.delegation == "pending":
        raise NotPermittedError(
            "a delegated task cannot be transferred by the delegate", actor=actor
        )
    organisation.require_person(call.session, to)
    if to == actor:
        raise InvalidInputError("cannot transfer a task to yourself")
    row.assignee = to
    row.substitute_for = None  # 转办 hands the task over for good (not back after an absence)
    row.claimed_at = call.now
    _save(call, row, "assignee", "claimed_at", "substitute_for")
    _audit(
        call,
        row,
        case,
        "transfer",
        actor,
        detail={"from": actor, "to": to},
        opinion=_opinion(reason),
    )
    return row, case


def delegate(
    call: Call, task_id: str, actor: str, to: str, reason: str | None, *, action: str = "delegate"
) -> Acted:
    """委派: lend the task to ``to``; it comes back to ``actor`` when resolved.

    ``action`` names the audit line (``add_signer``: 加签 as "sign before me")."""
    row, case = _open_row(call, task_id)
    _require_holder(row, actor)
    if row.delegation == "pending":
        raise ConflictError("the task is already delegated; it must be resolved first")
    organisation.require_person(call.session, to)
    if to == actor:
        raise InvalidInputError("cannot delegate a task to yourself")
    row.owner = actor
    row.assignee = to
    row.delegation = "pending"
    _save(call, row, "owner", "assignee", "delegation")
    _audit(
        call,
        row,
        case,
        action,
        actor,
        detail={"owner": actor, "delegate": to},
        opinion=_opinion(reason),
    )
    return row, case


def resolve(
    call: Call, task_id: str, actor: str, opinion: str | None, data: Mapping[str, Any] | None = None
) -> Acted:
    """The delegate answers; the task returns to its owner."""
    row, case = _open_row(call, task_id)
    if row.delegation != "pending":
        raise ConflictError("the task is not delegated")
    _require_holder(row, actor)
    row.assignee = row.owner
    row.delegation = "resolved"
    _save(call, row, "assignee", "delegation")
    _audit(
        call,
        row,
        case,
        "resolve",
        actor,
        detail={"owner": row.owner, "data": _plain_data(data or {})},
        opinion=_opinion(opinion),
    )
    return row, case


def complete(
    call: Call,
    task_id: str,
    actor: str,
    data: Mapping[str, Any] | None,
    opinion: str | None,
    expected_version: int | None = None,
) -> Acted:
    """Validate the form data, run the task and the engine steps after it."""
    row, case = _open_row(call, task_id)
    if row.delegation == "pending":
        raise NotPermittedError(
            f"task {task_id} is delegated to {row.assignee}: the delegate resolves it and "
            f"the owner {row.owner} completes it",
            actor=actor,
        )
    _require_holder(row, actor)
    call.actor = actor
    if expected_version is not None and case.row_version != expected_version:
        raise ConflictError(
            f"case {case.business_key} changed since you loaded it "
            f"(version {expected_version}, now {case.row_version}); reload and retry"
        )
    co = instances.checkout(call, case)
    task = instances.find_task(co, task_id)
    if task.state != TaskState.READY:
        raise ConflictError(f"task {task_id} is no longer ready")
    form = co.loaded.form_for(row.element_id)
    cleaned = forms.validate_form(form, data or {}) if form is not None else _plain_data(data or {})
    opinion = _opinion(opinion)
    task.data.update(cleaned)
    if row.multi_instance_of is not None:
        _record_sign_reply(call, co, row, task, actor, cleaned, opinion)
    else:
        task.run()
    row.state = COMPLETED
    co.closed.add(row.id)
    row.completed_by = actor
    row.ended_at = call.now
    row.opinion = opinion
    row.submitted = cleaned
    supervision.task_completed(call, case, row)
    _save(
        call,
        row,
        "state",
        "completed_by",
        "ended_at",
        "opinion",
        "submitted",
        "working_days_used",
    )
    if row.candidate_users or row.candidate_groups:
        records.DELETE_CANDIDATES.run(call.conn, {"b_task_id": row.id})
    _audit(call, row, case, "complete", actor, detail={"data": cleaned}, opinion=opinion)
    if _accepts_case(task):
        supervision.mark_accepted(call, case, actor)
    if _extensions(task).get("stops_clock"):
        limits.task_closed(call, co, row.id, actor)  # the clock restarts; deadlines move
    instances.run_engine(call, co)
    instances.save(call, co)
    return row, case


def _audit(
    call: Call,
    row: TaskRecord,
    case: CaseRecord,
    action: str,
    actor: str,
    *,
    detail: dict[str, Any] | None = None,
    opinion: str | None = None,
) -> None:
    accountability.record(
        call.conn,
        at=call.now,
        action=action,
        actor=actor,
        case_id=case.id,
        task_id=row.id,
        element_id=row.element_id,
        detail=detail,
        opinion=opinion,
    )


def _save(call: Call, row: TaskRecord, *names: str) -> None:
    records.save_task(call.conn, row, *names)


def _require_holder(row: TaskRecord, actor: str) -> None:
    if row.assignee is None:
        raise NotPermittedError(f"task {row.id} is not claimed: claim it first", actor=actor)
    if row.assignee != actor:
        raise NotPermittedError(
            f"task {row.id} is held by {row.assignee}, not {actor}", actor=actor
        )


def _opinion(text: str | None) -> str | None:
    if text is None:
        return None
    text = text.strip()
    if len(text) > MAX_OPINION:
        raise FormValidationError([FieldProblem("opinion", f"at most {MAX_OPINION} characters")])
    return text or None


def _plain_data(data: Mapping[str, Any]) -> dict[str, Any]:
    """Task data without a form: identifiers as keys, JSON values only."""
    if not isinstance(data, Mapping):
        raise InvalidInputError("task data must be an object")
    problems = []
    for key, value in data.items():
        if not isinstance(key, str) or not _IDENTIFIER.match(key):
            problems.append(
                FieldProblem(
                    str(key),
                    "field names must be identifiers (letters, digits, _; not starting with _)",
                )
            )
        elif not _is_json(value):
            problems.append(
                FieldProblem(
                    key, "value must be JSON (text, number, true/false, null, list, object)"
                )
            )
    if problems:
        raise FormValidationError(problems)
    return dict(data)


def _is_json(value: Any, depth: int = 0) -> bool:
    if depth > 20:
        return False
    if value is None or isinstance(value, str | bool | int | float):
        return not (isinstance(value, float) and not math.isfinite(value))
    if isinstance(value, list):
        return all(_is_json(v, depth + 1) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _is_json(v, depth + 1) for k, v in value.items())
    return False


# -- multi-instance signing ------------------------------------------------------------------


def _record_sign_reply(
    call: Call,
    co: instances.Checkout,
    row: TaskRecord,
    task: Any,
    actor: str,
    data: dict[str, Any],
    opinion: str | None,
) -> None:
    """Keep the reply, decide 或签/票签 early, and publish the outcome to the case."""
    mi_task = task.parent
    ext = _extensions(task)
    mode = str(ext.get("sign_mode") or "all")
    field_name = str(ext.get("sign_field") or "approve")
    approve = _approval(data.get(field_name))
    call.session.add(
        SignReply(
            case_id=co.case.id,
            element_id=row.element_id,
            multi_instance_id=str(mi_task.id),
            task_id=row.id,
            signer=actor,
            approve=approve,
            opinion=opinion,
            data=data,
            at=call.now,
        )
    )
    results = co.workflow.data.setdefault(SIGN_RESULTS_KEY, {})
    entry = results.setdefault(row.element_id, {"replies": [], "mode": mode})
    entry["replies"].append(
        {
            "signer": actor,
            "approve": approve,
            "opinion": opinion,
            "at": call.now.isoformat(),
            "task_id": row.id,
        }
    )
    instances_total = len([c for c in mi_task.children if c.task_spec == task.task_spec])
    replies = [r for r in entry["replies"] if r["task_id"] in {str(c.id) for c in mi_task.children}]
    approvals = sum(1 for r in replies if r["approve"])
    rejections = sum(1 for r in replies if r["approve"] is False)
    decided, passed = _decide(mode, ext, instances_total, approvals, rejections, len(replies))
    entry.update(
        {
            "total": instances_total,
            "approvals": approvals,
            "rejections": rejections,
            "decided": decided,
            "passed": passed,
        }
    )
    task.data["sign_decided"] = decided
    accountability.record(
        call.conn,
        at=call.now,
        action="sign",
        actor=actor,
        case_id=co.case.id,
        task_id=row.id,
        element_id=row.element_id,
        detail={
            "approve": approve,
            "mode": mode,
            "approvals": approvals,
            "rejections": rejections,
            "total": instances_total,
        },
        opinion=opinion,
    )
    task.run()
    if mi_task.state == TaskState.READY or decided:
        mi_task.data[f"{row.element_id}_passed"] = passed
        mi_task.data[f"{row.element_id}_replies"] = list(entry["replies"])


def _decide(
    mode: str, ext: Mapping[str, Any], total: int, approvals: int, rejections: int, replied: int
) -> tuple[bool, bool]:
    """(decided, passed) for a signing after the latest reply."""
    if mode == "any":
        return True, approvals > 0
    if mode == "vote":
        if ext.get("pass_count") not in (None, ""):
            needed = int(ext["pass_count"])
        else:
            needed = math.ceil(float(ext.get("pass_ratio") or 1) * total - 1e-9)
        needed = max(1, min(needed, total))
        if approvals >= needed:
            return True, True
        if rejections > total - needed:
            return True, False
        return False, False
    return replied >= total, replied >= total and rejections == 0


def _approval(value: Any) -> bool | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in _APPROVE_WORDS


def sign_replies(call: Call, case_id: int, element_id: str | None = None) -> list[SignReplyView]:
    """Every kept signer reply of a case (optionally of one element), oldest first."""
    stmt = select(SignReply).where(SignReply.case_id == case_id)
    if element_id:
        stmt = stmt.where(SignReply.element_id == element_id)
    return [
        SignReplyView(
            element_id=r.element_id,
            task_id=r.task_id,
            signer=r.signer,
            approve=r.approve,
            opinion=r.opinion,
            at=r.at,
        )
        for r in call.session.scalars(stmt.order_by(SignReply.id))
    ]


def _sign_results_helper(element_id: str) -> dict[str, Any]:
    """``sign_results("joint_review")`` in a diagram: the kept replies and the tally."""
    task = scripting.current_task.get()
    if task is None:
        return {}
    results = task.workflow.top_workflow.data.get(SIGN_RESULTS_KEY, {})
    return dict(results.get(element_id, {}))


scripting.register_helper("sign_results", _sign_results_helper)


def _completed_by_helper(element_id: str) -> str | None:
    """``completed_by('register_application')``: who completed that step of this case last
    (None if nobody yet) — e.g. to keep the first officer on the case (首问负责)."""
    call = current_call.get()
    co = call.checkout if call is not None else None
    if call is None or co is None or not co.case.id:
        return None
    person: str | None = call.conn.scalar(
        select(HumanTask.completed_by)
        .where(
            HumanTask.case_id == co.case.id,
            HumanTask.element_id == str(element_id),
            HumanTask.state == COMPLETED,
        )
        .order_by(HumanTask.ended_at.desc(), HumanTask.id.desc())
        .limit(1)
    )
    return person


scripting.register_helper("completed_by", _completed_by_helper)


def _case_department_helper() -> str | None:
    """``case_department()``: the department responsible for this case (its service
    item's department; None without an item) — to keep a step within that department:
    ``role:case-officer&dept:${case_department()}``."""
    call = current_call.get()
    co = call.checkout if call is not None else None
    if co is None:
        return None
    department: str | None = co.case.department_id
    return department


scripting.register_helper("case_department", _case_department_helper)


def _defined_helper(name: str) -> bool:
    """``defined('respondent_person')``: the case data has the variable, not None — for a
    condition on data that only some starts give (e.g. a complaint from the portal)."""
    task = scripting.current_task.get()
    return task is not None and task.data.get(str(name)) is not None


scripting.register_helper("defined", _defined_helper)
