"""Audit trail (审计记录): every change to a definition, case or task, append-only.

Later this module also holds warnings, overdue and fault records (责任追究).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from engine.store import records
from engine.store.models import AuditEntry
from engine.views import AuditView

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
        "absence",
        "absence_cancel",
        "substitute",
        "substitute_end",
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
