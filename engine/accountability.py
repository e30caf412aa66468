"""Audit trail (审计记录) and accountability records (责任追究), both append-only.

The audit trail holds every change to a definition, case or task. Accountability
records are written by the supervision rules (``engine.supervision``): an overdue step
or case, an escalation, a deemed consent or acceptance, naming the department, post and
person that held the step. A supervisor reviews a record — excuses it with a reason or
confirms it as a fault with a level — by writing a new record that refers to it; a later
review corrects an earlier one. Three confirmed faults in a year flag the person (S3).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select
from sqlalchemy.orm import Session, aliased

from engine.errors import InvalidInputError, NotFoundError, NotPermittedError
from engine.store import records
from engine.store.models import AuditEntry, Case, FaultRecord
from engine.views import AuditView, FaultRecordView

AUDITED_ACTIONS = frozenset(
    {
        "deploy",
        "calendar",
        "clock_stop",
        "clock_resume",
        "extension_request",
        "extension_decision",
        "item",
        "start",
        "claim",
        "unclaim",
        "complete",
        "transfer",
        "delegate",
        "resolve",
        "cancel",
        "error",
        "timer",
        "terminate",
        "suspend",
        "resume",
        "sign",
        "timer_retry",
        "timer_incident",
        "card",
        "escalation",
        "reminder",
        "urge",
        "notice_ack",
        "deemed_consent",
        "deemed_acceptance",
        "accept",
        "fault_review",
        "complaint_record",
        "absence",
        "absence_cancel",
        "substitute",
        "substitute_end",
        "api_token_create",
        "api_token_revoke",
        "person_active",
        "migrate",
        "return",
        "add_signer",
        "applicant_register",
        "material",
        "supplement",
        "rating",
    }
)


def record(
    conn: Connection,
    *,
    at: datetime,
    action: str,
    actor: str | None,
    case_id: int | None = None,
    task_id: str | None = None,
    element_id: str | None = None,
    detail: dict[str, Any] | None = None,
    opinion: str | None = None,
) -> None:
    """Append one audit line in the caller's transaction."""
    if action not in AUDITED_ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    records.INSERT_AUDIT.run(
        conn,
        {
            "at": at,
            "action": action,
            "actor": actor,
            "case_id": case_id,
            "task_id": task_id,
            "element_id": element_id,
            "detail": detail,
            "opinion": opinion,
        },
    )


def history(session: Session, case_id: int) -> list[AuditView]:
    """Return the audit trail of a case, oldest first."""
    rows = session.scalars(
        select(AuditEntry).where(AuditEntry.case_id == case_id).order_by(AuditEntry.id)
    )
    return [view(r) for r in rows]


def view(row: AuditEntry) -> AuditView:
    """Convert an audit row to its view."""
    return AuditView(
        id=row.id,
        at=row.at,
        actor=row.actor,
        action=row.action,
        case_id=row.case_id,
        task_id=row.task_id,
        element_id=row.element_id,
        detail=row.detail,
        opinion=row.opinion,
    )


# -- accountability records (责任追究) -----------------------------------------------------------

# levels of a confirmed fault named in the seeds (DOMAIN S3), mildest first
FAULT_LEVELS = {
    "admonition": "效能告诫",
    "warning_talk": "诫勉",
    "circulated_criticism": "通报批评",
    "warning": "警告",
    "demerit": "记过",
}
FLAG_THRESHOLD = 3  # three confirmed faults in a year fail the annual rating (S3)
REVIEWERS = frozenset({"role:supervisor", "role:admin"})
ORIGINAL_KINDS = (
    "overdue_step",
    "overdue_case",
    "escalation",
    "deemed_consent",
    "deemed_acceptance",
    "complaint",
)


def _latest_reviews() -> Any:
    """Subquery: id of the latest review of each reviewed record."""
    return (
        select(FaultRecord.refers_to.label("original"), func.max(FaultRecord.id).label("latest"))
        .where(FaultRecord.kind == "review")
        .group_by(FaultRecord.refers_to)
        .subquery()
    )


def fault_records(
    session: Session,
    *,
    person: str | None = None,
    department: str | None = None,
    case_id: int | None = None,
    kind: str | None = None,
    decision: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 500,
) -> list[FaultRecordView]:
    """Accountability records (originals) with their latest review, newest first.

    ``decision``: ``pending`` (not reviewed), ``excused`` or ``confirmed``.
    """
    latest = _latest_reviews()
    review = aliased(FaultRecord)
    stmt = (
        select(FaultRecord, review, Case.business_key)
        .outerjoin(latest, latest.c.original == FaultRecord.id)
        .outerjoin(review, review.id == latest.c.latest)
        .outerjoin(Case, Case.id == FaultRecord.case_id)
        .where(FaultRecord.kind.in_(ORIGINAL_KINDS), FaultRecord.refers_to.is_(None))
    )
    if person is not None:
        stmt = stmt.where(FaultRecord.person_id == person)
    if department is not None:
        stmt = stmt.where(FaultRecord.department_id == department)
    if case_id is not None:
        stmt = stmt.where(FaultRecord.case_id == case_id)
    if kind is not None:
        stmt = stmt.where(FaultRecord.kind == kind)
    if since is not None:
        stmt = stmt.where(FaultRecord.created_at >= since)
    if until is not None:
        stmt = stmt.where(FaultRecord.created_at < until)
    if decision == "pending":
        stmt = stmt.where(review.id.is_(None))
    elif decision is not None:
        stmt = stmt.where(review.decision == decision)
    stmt = stmt.order_by(FaultRecord.created_at.desc(), FaultRecord.id.desc()).limit(limit)
    finals = _final_lateness(session)
    return [
        fault_view(original, latest_review, key, finals)
        for original, latest_review, key in session.execute(stmt).all()
    ]


def _final_lateness(session: Session) -> Any:
    """Lookup of the final lateness of overdue steps (``overdue_closed`` corrections)."""

    def lookup(record_id: int) -> float | None:
        return session.scalar(
            select(FaultRecord.overdue_days)
            .where(FaultRecord.refers_to == record_id, FaultRecord.kind == "overdue_closed")
            .order_by(FaultRecord.id.desc())
            .limit(1)
        )

    return lookup


def fault_view(
    original: FaultRecord,
    review: FaultRecord | None,
    business_key: str | None,
    finals: Any = None,
) -> FaultRecordView:
    """The view of a record with its latest review."""
    overdue = original.overdue_days
    if finals is not None and original.kind == "overdue_step":
        final = finals(original.id)
        overdue = final if final is not None else overdue
    return FaultRecordView(
        id=original.id,
        kind=original.kind,
        case_id=original.case_id,
        business_key=business_key,
        task_id=original.task_id,
        element_id=original.element_id,
        step_name=original.step_name,
        department_id=original.department_id,
        post_id=original.post_id,
        person_id=original.person_id,
        substitute_for=original.substitute_for,
        due_at=original.due_at,
        overdue_days=overdue,
        created_at=original.created_at,
        detail=original.detail,
        decision=review.decision if review is not None else None,
        level=review.level if review is not None else None,
        reason=review.reason if review is not None else None,
        reviewed_by=review.actor if review is not None else None,
        reviewed_at=review.created_at if review is not None else None,
        refers_to=original.refers_to,
    )


def review(
    session: Session,
    conn: Connection,
    *,
    record_id: int,
    decision: str,
    actor: str,
    groups: frozenset[str],
    now: datetime,
    reason: str | None = None,
    level: str | None = None,
) -> FaultRecordView:
    """Excuse a record with a reason, or confirm it as a fault with a level.

    The review is a new record referring to the original; reviewing again corrects the
    earlier review (the latest one counts).
    """
    if not REVIEWERS & groups:
        raise NotPermittedError("only the supervision office reviews records", actor=actor)
    original = session.get(FaultRecord, record_id)
    if original is None or original.refers_to is not None or original.kind == "review":
        raise NotFoundError("accountability record", record_id)
    reason = (reason or "").strip() or None
    if decision == "excused":
        if reason is None:
            raise InvalidInputError("excusing a record needs a reason (e.g. 不可抗力, 系统故障)")
        level = None
    elif decision == "confirmed":
        if level not in FAULT_LEVELS:
            raise InvalidInputError(
                f"confirming a fault needs a level: one of {', '.join(FAULT_LEVELS)} "
                f"({'、'.join(FAULT_LEVELS.values())})"
            )
    else:
        raise InvalidInputError("decision must be 'excused' or 'confirmed'")
    row = FaultRecord(
        kind="review",
        refers_to=original.id,
        case_id=original.case_id,
        task_id=original.task_id,
        element_id=original.element_id,
        department_id=original.department_id,
        post_id=original.post_id,
        person_id=original.person_id,
        decision=decision,
        level=level,
        reason=reason,
        actor=actor,
        created_at=now,
    )
    session.add(row)
    session.flush()
    record(
        conn,
        at=now,
        action="fault_review",
        actor=actor,
        case_id=original.case_id,
        task_id=original.task_id,
        detail={"record_id": original.id, "decision": decision, "level": level},
        opinion=reason,
    )
    key = session.scalar(select(Case.business_key).where(Case.id == original.case_id))
    return fault_view(original, row, key)


def confirmed_count(session: Session, person: str, since: datetime, until: datetime) -> int:
    """Confirmed faults of a person among records created in [since, until)."""
    latest = _latest_reviews()
    review_row = aliased(FaultRecord)
    return int(
        session.scalar(
            select(func.count())
            .select_from(FaultRecord)
            .join(latest, latest.c.original == FaultRecord.id)
            .join(review_row, review_row.id == latest.c.latest)
            .where(
                FaultRecord.person_id == person,
                FaultRecord.created_at >= since,
                FaultRecord.created_at < until,
                review_row.decision == "confirmed",
            )
        )
        or 0
    )


def flagged(session: Session, since: datetime, until: datetime) -> list[dict[str, Any]]:
    """People with at least three confirmed faults among records of [since, until)."""
    latest = _latest_reviews()
    review_row = aliased(FaultRecord)
    rows = session.execute(
        select(FaultRecord.person_id, func.count())
        .join(latest, latest.c.original == FaultRecord.id)
        .join(review_row, review_row.id == latest.c.latest)
        .where(
            FaultRecord.person_id.is_not(None),
            FaultRecord.created_at >= since,
            FaultRecord.created_at < until,
            review_row.decision == "confirmed",
        )
        .group_by(FaultRecord.person_id)
        .having(func.count() >= FLAG_THRESHOLD)
        .order_by(func.count().desc(), FaultRecord.person_id)
    ).all()
    return [{"person_id": person, "confirmed_faults": count} for person, count in rows]
