"""The applicant portal (网上办事): apply, receipt, progress query, supplement, complaint.

* An application starts the service item's process with a generated case number
  ``<item>-<YYYYMMDD>-<NNNN>`` and a query code (查询码): 8 characters from an alphabet
  without look-alikes, printed on the receipt (收件回执, S1). The case number and the
  query code open the public progress query (办件进度查询, S12); so does the applicant's
  own account. A wrong code and an unknown case give the same NotFoundError.
* The progress view shows the steps (their names and departments, dates and due
  moments), the stopped clocks and extensions with their reasons — never an opinion, an
  officer's name or id, nor form data.
* A supplement (补正) stores the files as the next round and, when the case's clock is
  stopped for a one-time notice (kind ``supplement``), restarts it (§45 / §32).
* An efficiency complaint (效能投诉, S10) starts ``efficiency_complaint`` with the start
  data its registration form expects; the complainant follows it like an application.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import defer

from engine import (
    accountability,
    applicants,
    definitions,
    instances,
    items,
    limits,
    materials,
    ratings,
    tasks,
)
from engine.errors import ConflictError, InvalidInputError, NotFoundError, NotPermittedError
from engine.runtime import Call
from engine.store.models import (
    Case,
    ClockStop,
    Definition,
    Department,
    Extension,
    HumanTask,
    Person,
)
from engine.store.records import CaseRecord
from engine.views import (
    ProgressExtension,
    ProgressStep,
    ProgressStop,
    ProgressView,
    ReceiptView,
)

# no 0/O, 1/I/L: a code read over the phone or typed from paper comes out right
QUERY_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
QUERY_CODE_LENGTH = 8
COMPLAINT_PROCESS = "efficiency_complaint"
COMPLAINT_PREFIX = "TS"
KEY_ATTEMPTS = 5  # a case number taken by a concurrent call: try the next one
MAX_TEXT = 5000
MAX_SUBMISSION = 100
NO_ACCESS = "no case with this case number and query code"  # unknown case and wrong code

# (data key, value) of a completed step -> the outcome the applicant is told
_OUTCOMES = {
    ("decision", "grant"): "approved",
    ("decision", "refuse"): "refused",
    ("accepted", "no"): "not_accepted",
    ("complaint_holds", "yes"): "upheld",
    ("complaint_holds", "no"): "unfounded",
}


def new_query_code() -> str:
    """A random query code (查询码)."""
    return "".join(secrets.choice(QUERY_CODE_ALPHABET) for _ in range(QUERY_CODE_LENGTH))


def next_case_number(call: Call, prefix: str, timezone: str) -> str:
    """The next free case number ``<prefix>-<YYYYMMDD local>-<NNNN>`` of today."""
    day = call.now.astimezone(ZoneInfo(timezone)).strftime("%Y%m%d")
    stem = f"{prefix}-{day}-"
    taken = call.conn.scalars(
        select(Case.business_key).where(Case.business_key.startswith(stem, autoescape=True))
    ).all()
    numbers = [int(k[len(stem) :]) for k in taken if k[len(stem) :].isdigit()]
    return f"{stem}{max(numbers, default=0) + 1:04d}"


def _text(value: str | None, what: str, *, limit: int = 200, required: bool = True) -> str:
    text = (value or "").strip() if isinstance(value, str | None) else None
    if text is None:
        raise InvalidInputError(f"{what} must be text")
    if required and not text:
        raise InvalidInputError(f"{what} is required")
    if len(text) > limit:
        raise InvalidInputError(f"{what} is longer than {limit} characters")
    return text


def _check_actor(call: Call, actor: str, applicant_id: int | None) -> None:
    """An applicant acts for their own account only; an officer must exist."""
    if not isinstance(actor, str) or not actor:
        raise InvalidInputError("say who acts (actor)")
    if actor.startswith(applicants.ACTOR_PREFIX):
        if applicant_id is None or actor != applicants.actor_of(applicant_id):
            raise NotPermittedError("an applicant acts for their own account only", actor=actor)
    elif call.session.get(Person, actor) is None:
        raise NotFoundError("person", actor)
    if applicant_id is not None:
        applicants.get_row(call.session, applicant_id)


def start(
    call: Call,
    stash: materials.Stash,
    *,
    process_id: str,
    item: items.Item | None,
    business_key: str,
    data: dict[str, Any],
    files: Sequence[materials.Checked],
    applicant_id: int | None,
    actor: str,
    title: str,
    submission: str | None = None,
) -> CaseRecord:
    """Start the case, give it its query code and owner, store the files (round 0)."""
    loaded = definitions.resolve(call, process_id, None)
    case = instances.start(
        call,
        loaded=loaded,
        business_key=business_key,
        data=data,
        actor=actor,
        title=title,
        item=item,
    )
    call.session.execute(
        Case.__table__.update()  # type: ignore[attr-defined]
        .where(Case.id == case.id)
        .values(
            query_code=new_query_code(),
            applicant_account_id=applicant_id,
            submission=submission,
        )
    )
    if files:
        stored = materials.store(
            call.conn,
            stash,
            case_id=case.id,
            business_key=case.business_key,
            files=files,
            round_no=0,
            actor=actor,
            now=call.now,
        )
        accountability.record(
            call.conn,
            at=call.now,
            action="material",
            actor=actor,
            case_id=case.id,
            detail={"round": 0, "materials": [m.id for m in stored]},
        )
    return case


def check_submission(submission: str | None) -> None:
    """An idempotency key is 1-100 characters of text."""
    if submission is not None and (
        not isinstance(submission, str) or not 1 <= len(submission) <= MAX_SUBMISSION
    ):
        raise InvalidInputError(f"the submission key must be 1-{MAX_SUBMISSION} characters")


def submitted_before(call: Call, submission: str | None, actor: str) -> Any:
    """The case a form with this idempotency key started for this actor, if any."""
    if submission is None:
        return None
    return call.conn.execute(
        select(Case.__table__).where(Case.submission == submission, Case.started_by == actor)
    ).first()


def application_data(
    data: Mapping[str, Any] | None, applicant_name: str
) -> tuple[dict[str, Any], str]:
    """The start data of an application (``applicant`` set) and the applicant's name."""
    name = _text(applicant_name, "the applicant's name (申请人)")
    if data is not None and not isinstance(data, Mapping):
        raise InvalidInputError("the application data must be a mapping of field ids to values")
    payload = tasks._plain_data(dict(data or {}))
    payload["applicant"] = name
    return payload, name


def check_application(
    call: Call, item_code: str, actor: str, applicant_id: int | None
) -> items.Item:
    """The item applied for, after checking who applies."""
    _check_actor(call, actor, applicant_id)
    return items.get(call.conn, item_code)


def complaint_data(
    call: Call,
    *,
    complainant: str,
    contact: str,
    content: str,
    concerned_case: str | None,
    department: str | None,
    person: str | None,
) -> dict[str, Any]:
    """The start data of ``efficiency_complaint`` (its registration form's field ids)."""
    who = _text(complainant, "the complainant's name (投诉人)")
    reach = _text(contact, "the complainant's contact (联系方式)")
    text = _text(content, "the complaint (投诉内容)", limit=MAX_TEXT)
    case_no = _text(concerned_case, "the case number concerned", limit=100, required=False)
    dept = _text(department, "the department complained about", limit=64, required=False)
    officer = _text(person, "the person complained about", limit=64, required=False)
    if not case_no and not dept:
        raise InvalidInputError("say which case or which department the complaint is about")
    if dept and call.session.get(Department, dept) is None:
        raise InvalidInputError(f"unknown department {dept!r}")
    if case_no and not dept:  # the case's department, when the case is known
        dept = call.conn.scalar(select(Case.department_id).where(Case.business_key == case_no))
    return {
        "applicant": who,
        "complainant": who,
        "complainant_contact": reach,
        "complaint_channel": "portal",
        "concerned_case_no": case_no or None,
        "respondent_department": dept or None,
        "respondent_person": officer or None,
        "complaint_content": text,
    }


# -- what the applicant sees -----------------------------------------------------------------


def _case_row(call: Call, key: str) -> Any:
    if not isinstance(key, str) or not key or len(key) > 100:
        return None
    return call.conn.execute(select(Case.__table__).where(Case.business_key == key)).first()


def case_row(call: Call, key: str) -> Any:
    """The row of a case by number, for callers that check access themselves."""
    row = _case_row(call, key)
    if row is None:
        raise NotFoundError("case", key)
    return row


def open_case(
    call: Call, key: str, *, query_code: str | None = None, applicant_id: int | None = None
) -> Any:
    """The case row when the query code is right or the applicant owns it; otherwise the
    same NotFoundError as for an unknown case (no oracle)."""
    row = _case_row(call, key)
    if row is not None and _may_see(row, query_code, applicant_id):
        return row
    raise NotFoundError("case", key, NO_ACCESS)


def _may_see(row: Any, query_code: str | None, applicant_id: int | None) -> bool:
    if applicant_id is not None and row.applicant_account_id == applicant_id:
        return True
    if query_code is None or not isinstance(query_code, str):
        return False
    given = query_code.strip().upper().encode("utf-8")
    stored = (row.query_code or "").encode("utf-8")
    # constant time whatever the given code; a case without a code never matches
    return hmac.compare_digest(given, stored) and bool(stored)


def owns(call: Call, key: str, applicant_id: int) -> bool:
    """True when the applicant's account applied for (or complained in) the case."""
    row = _case_row(call, key)
    return row is not None and applicant_id is not None and row.applicant_account_id == applicant_id


def receipt(call: Call, row: Any) -> ReceiptView:
    """The receipt of a case (row of ``cases``)."""
    item = items.get(call.conn, row.item_code) if row.item_code else None
    department_id = item.department if item else (row.department_id or "")
    stored = materials.listing(call.conn, row.id, row.business_key)
    have = {m.material for m in stored}
    missing = tuple(
        m.name for m in (item.materials if item else ()) if m.required and m.name not in have
    )
    started_by = row.started_by
    return ReceiptView(
        business_key=row.business_key,
        query_code=row.query_code or "",
        item_code=row.item_code or "",
        item_name=item.name if item else _process_name(call, row.definition_id),
        department_id=department_id,
        department_name=_department_names(call, {department_id}).get(department_id, ""),
        applicant=row.applicant or "",
        received_at=row.started_at,
        promised_days=item.promised_days if item else 0,
        promised_at=row.due_at,
        materials=tuple(stored),
        missing_required=missing,
        received_by=(
            None if not started_by or started_by.startswith(applicants.ACTOR_PREFIX) else started_by
        ),
    )


def progress(call: Call, row: Any, applicant_id: int | None) -> ProgressView:
    """The progress of a case (row of ``cases``) as the applicant may see it."""
    task_rows = call.conn.execute(
        select(
            HumanTask.name,
            HumanTask.element_id,
            HumanTask.department_id,
            HumanTask.created_at,
            HumanTask.ended_at,
            HumanTask.due_at,
            HumanTask.state,
            HumanTask.multi_instance_of,
            HumanTask.submitted,
        )
        .where(HumanTask.case_id == row.id, HumanTask.state != "cancelled")
        .order_by(HumanTask.created_at, HumanTask.id)
    ).all()
    # steps of one moment: the done ones before the open ones, in the order they ended
    task_rows = sorted(
        task_rows, key=lambda t: (t.created_at, t.ended_at is None, t.ended_at or t.created_at)
    )
    names = _department_names(call, {t.department_id for t in task_rows} | {row.department_id})
    steps: list[ProgressStep] = []
    grouped: dict[str, int] = {}  # multi-instance parent -> index of its step
    for t in task_rows:
        step = ProgressStep(
            name=t.name or t.element_id,
            department_name=names.get(t.department_id),
            started_at=t.created_at,
            ended_at=t.ended_at,
            due_at=t.due_at,
            current=t.state == "open",
        )
        if t.multi_instance_of and t.multi_instance_of in grouped:  # 会签: one step
            i = grouped[t.multi_instance_of]
            before = steps[i]
            current = before.current or step.current
            steps[i] = ProgressStep(
                name=before.name,
                department_name=before.department_name,
                started_at=min(before.started_at, step.started_at),
                ended_at=None if current else _latest(before.ended_at, step.ended_at),
                due_at=before.due_at or step.due_at,
                current=current,
            )
            continue
        if t.multi_instance_of:
            grouped[t.multi_instance_of] = len(steps)
        steps.append(step)
    outcome = None
    if row.ended_at is not None:
        for t in task_rows:
            for key, value in (t.submitted or {}).items():
                outcome = (
                    _OUTCOMES.get((key, value), outcome) if isinstance(value, str) else outcome
                )
    stops = [
        ProgressStop(kind=s.kind, reason=s.reason, started_at=s.started_at, ended_at=s.ended_at)
        for s in call.conn.execute(
            select(ClockStop.kind, ClockStop.reason, ClockStop.started_at, ClockStop.ended_at)
            .where(ClockStop.case_id == row.id)
            .order_by(ClockStop.started_at, ClockStop.id)
        ).all()
    ]
    extensions = [
        ProgressExtension(
            days=e.days,
            reason=e.reason,
            requested_at=e.requested_at,
            decision={"approved": "granted", "refused": "refused"}.get(e.state),
        )
        for e in call.conn.execute(
            select(Extension.days, Extension.reason, Extension.requested_at, Extension.state)
            .where(Extension.case_id == row.id)
            .order_by(Extension.requested_at, Extension.id)
        ).all()
    ]
    supplement = next(
        (s.reason for s in stops if s.ended_at is None and s.kind == "supplement"), None
    )
    item_name = None
    if row.item_code:
        item_name = items.get(call.conn, row.item_code).name
    else:
        item_name = _process_name(call, row.definition_id)
    rating = ratings.of_case(call.conn, row.id, row.business_key)
    owner = applicant_id is not None and row.applicant_account_id == applicant_id
    return ProgressView(
        business_key=row.business_key,
        process_id=row.process_id,
        item_name=item_name,
        department_name=names.get(row.department_id),
        status=row.status,
        received_at=row.started_at,
        accepted_at=row.accepted_at,
        promised_at=row.due_at,
        ended_at=row.ended_at,
        outcome=outcome,
        steps=tuple(steps),
        stops=tuple(stops),
        extensions=tuple(extensions),
        supplement_requested=supplement,
        materials=tuple(materials.listing(call.conn, row.id, row.business_key)),
        rating=rating,
        can_rate=owner and row.ended_at is not None and rating is None,
    )


def _latest(a: datetime | None, b: datetime | None) -> datetime | None:
    return max(a, b) if a is not None and b is not None else None


def _department_names(call: Call, ids: set[str | None]) -> dict[str | None, str]:
    wanted = {i for i in ids if i}
    if not wanted:
        return {}
    return dict(
        call.conn.execute(
            select(Department.id, Department.name).where(Department.id.in_(sorted(wanted)))
        ).all()
    )


def _process_name(call: Call, definition_id: int) -> str:
    name = call.conn.scalar(select(Definition.name).where(Definition.id == definition_id))
    return name or ""


def cases_of(call: Call, applicant_id: int) -> list[tuple[Case, Definition]]:
    """The applicant's cases (applications and complaints) with their definitions,
    newest first."""
    applicants.get_row(call.session, applicant_id)
    rows = call.session.execute(
        select(Case, Definition)
        .join(Definition, Definition.id == Case.definition_id)
        .options(defer(Case.state, raiseload=True))
        .where(Case.applicant_account_id == applicant_id)
        .order_by(Case.started_at.desc(), Case.id.desc())
    ).all()
    return [(c, d) for c, d in rows]


# -- supplement (补正) -----------------------------------------------------------------------


def supplement(
    call: Call,
    stash: materials.Stash,
    key: str,
    *,
    applicant_id: int | None,
    files: Sequence[materials.Checked],
    actor: str,
    note: str | None,
) -> Any:
    """Store the files as the next round; restart a clock stopped for a one-time notice.
    Returns the case row (re-read after the change)."""
    text = _text(note, "the note", limit=MAX_TEXT, required=False) or None
    _check_actor(call, actor, applicant_id)
    if applicant_id is not None:
        row = open_case(call, key, applicant_id=applicant_id)
    else:
        row = case_row(call, key)
    case = instances.get_case_row(call, row.id)
    if case.ended_at is not None or case.status in (instances.COMPLETED, instances.TERMINATED):
        raise ConflictError(f"case {case.business_key} has ended; nothing can be added to it")
    if not files:
        raise InvalidInputError("a supplement needs at least one file")
    round_no = materials.next_round(call.conn, case.id)
    stored = materials.store(
        call.conn,
        stash,
        case_id=case.id,
        business_key=case.business_key,
        files=files,
        round_no=round_no,
        actor=actor,
        now=call.now,
    )
    stop = limits.open_stop(call, case.id)
    resumes = stop is not None and stop.kind == "supplement" and case.status == instances.RUNNING
    accountability.record(
        call.conn,
        at=call.now,
        action="supplement",
        actor=actor,
        case_id=case.id,
        detail={
            "round": round_no,
            "materials": [m.id for m in stored],
            "clock_resumed": resumes,
        },
        opinion=text,
    )
    if resumes:
        # §32/§45: the clock runs again from the day the supplement arrives
        limits.resume_clock(call, case, actor=actor, check_handler=False)
    return _case_row(call, key)
