"""SQLAlchemy 2.0 tables of the engine.

The schema is created by Alembic migrations (``engine/store/migrations``); these classes
are the single description of it. All datetimes are stored as timezone-aware UTC.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend (SQLite keeps no offset itself)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use aware UTC datetimes")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base of every engine table."""

    type_annotation_map = {  # noqa: RUF012
        datetime: UTCDateTime(),
        dict[str, Any]: JSON,
        list[Any]: JSON,
    }


# --- organisation -------------------------------------------------------------------------


class Department(Base):
    """A department (部门/科室) of an organ; ``parent_id`` builds the hierarchy."""

    __tablename__ = "departments"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    parent_id: Mapped[str | None] = mapped_column(ForeignKey("departments.id"), default=None)
    kind: Mapped[str] = mapped_column(String(32), default="department")
    phone: Mapped[str | None] = mapped_column(String(64), default=None)


class Post(Base):
    """A post (岗位) in a department; ``backup_post_id`` is its B post (AB岗)."""

    __tablename__ = "posts"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    department_id: Mapped[str] = mapped_column(ForeignKey("departments.id"))
    backup_post_id: Mapped[str | None] = mapped_column(ForeignKey("posts.id"), default=None)


class Person(Base):
    """A person who can log in and hold tasks (officer, head, supervisor, applicant …)."""

    __tablename__ = "people"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # the login name
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(String(255), default=None)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    email: Mapped[str | None] = mapped_column(String(200), default=None)
    phone: Mapped[str | None] = mapped_column(String(64), default=None)


class PostHolder(Base):
    """Who holds which post."""

    __tablename__ = "post_holders"

    person_id: Mapped[str] = mapped_column(ForeignKey("people.id"), primary_key=True)
    post_id: Mapped[str] = mapped_column(ForeignKey("posts.id"), primary_key=True)


class PersonRole(Base):
    """A role of a person (``window-officer``, ``department-head``, ``admin`` …)."""

    __tablename__ = "person_roles"

    person_id: Mapped[str] = mapped_column(ForeignKey("people.id"), primary_key=True)
    role: Mapped[str] = mapped_column(String(64), primary_key=True)


class DepartmentMember(Base):
    """Membership of a person in a department (besides the departments of their posts)."""

    __tablename__ = "department_members"

    person_id: Mapped[str] = mapped_column(ForeignKey("people.id"), primary_key=True)
    department_id: Mapped[str] = mapped_column(ForeignKey("departments.id"), primary_key=True)


# --- working-day calendar ------------------------------------------------------------------


class CalendarYear(Base):
    """One year's official schedule of days off and make-up working days (调休)."""

    __tablename__ = "calendar_years"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    source: Mapped[str] = mapped_column(String(400))
    imported_at: Mapped[datetime]
    imported_by: Mapped[str | None] = mapped_column(String(64), default=None)


class CalendarDay(Base):
    """A day that differs from the weekday rule: a holiday on a weekday, or a worked weekend."""

    __tablename__ = "calendar_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    year: Mapped[int] = mapped_column(ForeignKey("calendar_years.year", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(10))  # holiday | workday
    name: Mapped[str | None] = mapped_column(String(100), default=None)


# --- service items -------------------------------------------------------------------------


class ServiceItem(Base):
    """A service item (办理事项) of the published time-limit table (限时办结制)."""

    __tablename__ = "service_items"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(400))
    department_id: Mapped[str] = mapped_column(ForeignKey("departments.id"), index=True)
    process_id: Mapped[str] = mapped_column(String(200))
    statutory_days: Mapped[int] = mapped_column(Integer)
    promised_days: Mapped[int] = mapped_column(Integer)
    joint: Mapped[bool] = mapped_column(Boolean, default=False)
    # [{"step": "handle", "name": "承办", "days": 5}, …] in process order
    steps: Mapped[list[Any]] = mapped_column(JSON, default=list)
    legal_basis: Mapped[str] = mapped_column(Text, default="")
    conditions: Mapped[str] = mapped_column(Text, default="")
    # [{"name": "申请书", "required": true, "copies": 1, "note": "…"}, …]
    materials: Mapped[list[Any]] = mapped_column(JSON, default=list)
    fees: Mapped[str] = mapped_column(Text, default="")
    sample: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime]


# --- definitions --------------------------------------------------------------------------


class Definition(Base):
    """One version of one process, with the source files it was parsed from."""

    __tablename__ = "definitions"
    __table_args__ = (UniqueConstraint("process_id", "version", name="uq_definition_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    process_id: Mapped[str] = mapped_column(String(200), index=True)
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str | None] = mapped_column(String(400), default=None)
    content_hash: Mapped[str] = mapped_column(String(64))
    source_file: Mapped[str] = mapped_column(String(400))
    # [{"name": "general_permit.bpmn", "content": "<xml…>"}, …]: every file the spec needs
    sources: Mapped[list[Any]] = mapped_column(JSON)
    deployed_at: Mapped[datetime]
    deployed_by: Mapped[str | None] = mapped_column(String(64), default=None)


# --- cases --------------------------------------------------------------------------------


class Case(Base):
    """A process instance (办件). ``state`` holds the workflow minus its finished tasks."""

    __tablename__ = "cases"
    __table_args__ = (
        # period queries (metrics): received, ended or still open in a period
        Index("ix_cases_started", "started_at"),
        Index("ix_cases_ended", "ended_at"),
        # supervision: running cases past or near their promised moment
        Index("ix_cases_status_due", "status", "due_at"),
        # one case per submitted form (a double click sends the form twice)
        Index("ix_cases_submission", "submission", "started_by", unique=True),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    business_key: Mapped[str] = mapped_column(String(100), unique=True)
    definition_id: Mapped[int] = mapped_column(ForeignKey("definitions.id"), index=True)
    process_id: Mapped[str] = mapped_column(String(200), index=True)
    status: Mapped[str] = mapped_column(String(20), index=True)
    title: Mapped[str | None] = mapped_column(String(400), default=None)
    started_by: Mapped[str | None] = mapped_column(String(64), default=None)
    started_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    ended_at: Mapped[datetime | None] = mapped_column(default=None)
    state: Mapped[str] = mapped_column(Text)
    history_segments: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    row_version: Mapped[int] = mapped_column(Integer, default=1)
    # the service item handled (办理事项) and the promised completion moment (承诺办结时间)
    item_code: Mapped[str | None] = mapped_column(String(64), default=None, index=True)
    due_at: Mapped[datetime | None] = mapped_column(default=None, index=True)
    # the item's department (主办部门), for supervision and metrics
    department_id: Mapped[str | None] = mapped_column(String(64), default=None, index=True)
    # 受理: when the application was accepted (deemed: on the receipt date, §32)
    accepted_at: Mapped[datetime | None] = mapped_column(default=None)
    deemed_accepted: Mapped[bool] = mapped_column(Boolean, default=False)
    # working days the case took (clock stops not counted), set when it ends
    working_days_used: Mapped[float | None] = mapped_column(Float, default=None)
    # the applicant's name (申请人) from the start data, for case search
    applicant: Mapped[str | None] = mapped_column(String(200), default=None, index=True)
    # the query code (查询码) printed on the receipt: with the case number it opens the
    # public progress query; kept plain so that a receipt can be printed again
    query_code: Mapped[str | None] = mapped_column(String(16), default=None)
    # the applicant's portal account (申请人账号) that applied or complained, if any
    applicant_account_id: Mapped[int | None] = mapped_column(
        ForeignKey("applicants.id"), default=None, index=True
    )
    # the idempotency key of the portal form that started the case, with ``started_by``
    submission: Mapped[str | None] = mapped_column(String(100), default=None)

    __mapper_args__ = {"version_id_col": row_version}  # noqa: RUF012


class ClockStop(Base):
    """A period in which a case's clock does not run (补正, or a §45 special procedure)."""

    __tablename__ = "clock_stops"
    __table_args__ = (Index("ix_clock_stops_case", "case_id", "started_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(40))
    reason: Mapped[str] = mapped_column(Text)
    started_at: Mapped[datetime]
    started_by: Mapped[str | None] = mapped_column(String(64), default=None)
    ended_at: Mapped[datetime | None] = mapped_column(default=None)
    ended_by: Mapped[str | None] = mapped_column(String(64), default=None)
    # working time the stop lasted, an exact fraction of working days ("44/17")
    working_time: Mapped[str | None] = mapped_column(String(40), default=None)
    # the user task whose being open stops the clock (``stops_clock``), if any
    task_id: Mapped[str | None] = mapped_column(String(36), default=None)


class Extension(Base):
    """An extension (延期) of a case's limit: requested with a reason, decided by a head."""

    __tablename__ = "extensions"
    __table_args__ = (Index("ix_extensions_case", "case_id", "requested_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    days: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    requested_at: Mapped[datetime]
    requested_by: Mapped[str | None] = mapped_column(String(64), default=None)
    state: Mapped[str] = mapped_column(String(20), default="pending")  # pending|approved|refused
    decided_at: Mapped[datetime | None] = mapped_column(default=None)
    decided_by: Mapped[str | None] = mapped_column(String(64), default=None)
    opinion: Mapped[str | None] = mapped_column(Text, default=None)


class CaseHistory(Base):
    """Finished workflow tasks of a case, appended in segments (never rewritten per step)."""

    __tablename__ = "case_history"
    __table_args__ = (Index("ix_case_history_case_seq", "case_id", "seq", unique=True),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    tasks: Mapped[str] = mapped_column(Text)


class HumanTask(Base):
    """A human task of a case, open or done (the inbox reads these rows)."""

    __tablename__ = "human_tasks"
    __table_args__ = (
        Index("ix_human_tasks_case_state", "case_id", "state"),
        Index("ix_human_tasks_assignee_state", "assignee", "state"),
        Index("ix_human_tasks_completed_by", "completed_by"),
        Index("ix_human_tasks_created", "created_at"),
        Index("ix_human_tasks_ended", "ended_at"),
        # supervision: open steps past their due moment, most overdue first
        Index("ix_human_tasks_state_due", "state", "due_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # the workflow task's UUID
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    element_id: Mapped[str] = mapped_column(String(200))
    name: Mapped[str | None] = mapped_column(String(400), default=None)
    lane: Mapped[str | None] = mapped_column(String(200), default=None)
    form_key: Mapped[str | None] = mapped_column(String(200), default=None)
    priority: Mapped[int | None] = mapped_column(Integer, default=None)
    # open | completed | cancelled
    state: Mapped[str] = mapped_column(String(20), default="open")
    assignee: Mapped[str | None] = mapped_column(String(64), default=None)
    owner: Mapped[str | None] = mapped_column(String(64), default=None)
    # None | pending | resolved (委派)
    delegation: Mapped[str | None] = mapped_column(String(20), default=None)
    candidate_users: Mapped[list[Any]] = mapped_column(JSON, default=list)
    candidate_groups: Mapped[list[Any]] = mapped_column(JSON, default=list)
    multi_instance_of: Mapped[str | None] = mapped_column(String(36), default=None)
    due_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime]
    claimed_at: Mapped[datetime | None] = mapped_column(default=None)
    ended_at: Mapped[datetime | None] = mapped_column(default=None)
    completed_by: Mapped[str | None] = mapped_column(String(64), default=None)
    opinion: Mapped[str | None] = mapped_column(Text, default=None)
    submitted: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    row_version: Mapped[int] = mapped_column(Integer, default=1)
    # the department responsible for the step (from its groups, else the case's)
    department_id: Mapped[str | None] = mapped_column(String(64), default=None, index=True)
    # AB岗: the absent A person whose task the assignee (B) holds for now
    substitute_for: Mapped[str | None] = mapped_column(String(64), default=None)
    # working days the step took (clock stops not counted), set when it is completed
    working_days_used: Mapped[float | None] = mapped_column(Float, default=None)

    __mapper_args__ = {"version_id_col": row_version}  # noqa: RUF012


class TaskCandidate(Base):
    """One candidate (person or group) of an open human task, for indexed inbox queries."""

    __tablename__ = "task_candidates"
    __table_args__ = (Index("ix_task_candidates_value", "kind", "value"),)

    task_id: Mapped[str] = mapped_column(
        ForeignKey("human_tasks.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)  # user | group
    value: Mapped[str] = mapped_column(String(200), primary_key=True)


class SignReply(Base):
    """One signer's reply in a multi-instance signing (会签/或签/票签), kept for good."""

    __tablename__ = "sign_replies"
    __table_args__ = (Index("ix_sign_replies_case_element", "case_id", "element_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    element_id: Mapped[str] = mapped_column(String(200))
    multi_instance_id: Mapped[str] = mapped_column(String(36))
    task_id: Mapped[str] = mapped_column(String(36))
    signer: Mapped[str] = mapped_column(String(64))
    approve: Mapped[bool | None] = mapped_column(Boolean, default=None)
    opinion: Mapped[str | None] = mapped_column(Text, default=None)
    data: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    at: Mapped[datetime]


class AuditEntry(Base):
    """One line of the audit trail (append-only: no engine API updates or deletes it)."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_case", "case_id", "id"),
        Index("ix_audit_actor", "actor", "at"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime]
    actor: Mapped[str | None] = mapped_column(String(64), default=None)
    action: Mapped[str] = mapped_column(String(40))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), default=None)
    task_id: Mapped[str | None] = mapped_column(String(36), default=None)
    element_id: Mapped[str | None] = mapped_column(String(200), default=None)
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    opinion: Mapped[str | None] = mapped_column(Text, default=None)


class Timer(Base):
    """A moment the engine must act at: a waiting BPMN timer event of a case (mirrored
    from the workflow after every engine call) or an engine rule's timer (``rule`` set:
    a yellow card, an overdue step, an escalation level, an absence starting …).

    The timer service claims due rows (``run_at`` reached) with a lease, fires each in one
    transaction and marks it ``fired``; a failure moves ``run_at`` back (backoff) and, after
    too many attempts, turns the row into an ``incident`` an admin can retry.
    """

    __tablename__ = "timers"
    __table_args__ = (Index("ix_timers_state_run", "state", "run_at"),)

    # the workflow task's UUID, or "<rule>:<ref>" for a rule's timer
    id: Mapped[str] = mapped_column(String(120), primary_key=True)
    case_id: Mapped[int | None] = mapped_column(
        ForeignKey("cases.id", ondelete="CASCADE"), index=True, default=None
    )
    element_id: Mapped[str | None] = mapped_column(String(200), default=None)
    kind: Mapped[str] = mapped_column(String(20))  # duration | date | cycle | rule
    rule: Mapped[str | None] = mapped_column(String(40), default=None)
    ref: Mapped[str | None] = mapped_column(String(100), default=None)  # what the rule is about
    due_at: Mapped[datetime]
    run_at: Mapped[datetime]  # due_at, or later after a failed attempt (backoff)
    # pending | fired | cancelled | incident
    state: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    locked_by: Mapped[str | None] = mapped_column(String(100), default=None)
    locked_until: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime]
    fired_at: Mapped[datetime | None] = mapped_column(default=None)
    fired_by: Mapped[str | None] = mapped_column(String(100), default=None)


# --- electronic supervision and accountability (电子监察, 责任追究) ---------------------------


class Card(Base):
    """A yellow or red card (黄牌/红牌) on a step or a case; live until cleared."""

    __tablename__ = "cards"
    __table_args__ = (
        Index("ix_cards_live", "cleared_at", "department_id"),
        Index("ix_cards_case", "case_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    task_id: Mapped[str | None] = mapped_column(String(36), default=None)  # None: the case
    element_id: Mapped[str | None] = mapped_column(String(200), default=None)
    color: Mapped[str] = mapped_column(String(10))  # yellow | red
    department_id: Mapped[str | None] = mapped_column(String(64), default=None)
    holder: Mapped[str | None] = mapped_column(String(64), default=None)
    due_at: Mapped[datetime]
    raised_at: Mapped[datetime]
    cleared_at: Mapped[datetime | None] = mapped_column(default=None)
    # done | red (a yellow card replaced by the red one) | terminated | moved (deadline moved)
    cleared_reason: Mapped[str | None] = mapped_column(String(20), default=None)


class FaultRecord(Base):
    """An accountability record (责任追究), append-only.

    The engine writes one for every overdue step or case, deemed consent, deemed
    acceptance and escalation; a review (excuse or confirm with a level) or a correction
    is a new record whose ``refers_to`` names the original.
    """

    __tablename__ = "fault_records"
    __table_args__ = (
        Index("ix_fault_records_person", "person_id", "created_at"),
        Index("ix_fault_records_department", "department_id", "created_at"),
        Index("ix_fault_records_refers", "refers_to"),
        Index("ix_fault_records_case", "case_id"),
        Index("ix_fault_records_created", "created_at"),
        # supervision: deemed consents/acceptances of the last days
        Index("ix_fault_records_kind_created", "kind", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(30))
    refers_to: Mapped[int | None] = mapped_column(ForeignKey("fault_records.id"), default=None)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), default=None)
    task_id: Mapped[str | None] = mapped_column(String(36), default=None)
    element_id: Mapped[str | None] = mapped_column(String(200), default=None)
    step_name: Mapped[str | None] = mapped_column(String(400), default=None)
    department_id: Mapped[str | None] = mapped_column(String(64), default=None)
    post_id: Mapped[str | None] = mapped_column(String(64), default=None)
    person_id: Mapped[str | None] = mapped_column(String(64), default=None)
    substitute_for: Mapped[str | None] = mapped_column(String(64), default=None)
    due_at: Mapped[datetime | None] = mapped_column(default=None)
    overdue_days: Mapped[float | None] = mapped_column(Float, default=None)
    level: Mapped[str | None] = mapped_column(String(40), default=None)
    decision: Mapped[str | None] = mapped_column(String(20), default=None)  # excused|confirmed
    reason: Mapped[str | None] = mapped_column(Text, default=None)
    actor: Mapped[str | None] = mapped_column(String(64), default=None)
    created_at: Mapped[datetime]
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)


class Notice(Base):
    """Something a person or group must act on: an escalation (督办) or a reminder (催办)."""

    __tablename__ = "notices"
    __table_args__ = (
        Index("ix_notices_open", "acked_at", "recipient_group"),
        Index("ix_notices_recipient", "recipient", "acked_at"),
        Index("ix_notices_case", "case_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(20))  # escalation | reminder | urge
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    task_id: Mapped[str | None] = mapped_column(String(36), default=None)
    element_id: Mapped[str | None] = mapped_column(String(200), default=None)
    level: Mapped[int | None] = mapped_column(Integer, default=None)
    recipient: Mapped[str | None] = mapped_column(String(64), default=None)
    recipient_group: Mapped[str | None] = mapped_column(String(200), default=None)
    department_id: Mapped[str | None] = mapped_column(String(64), default=None)
    message: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    created_by: Mapped[str | None] = mapped_column(String(64), default=None)
    acked_at: Mapped[datetime | None] = mapped_column(default=None)
    acked_by: Mapped[str | None] = mapped_column(String(64), default=None)
    response: Mapped[str | None] = mapped_column(Text, default=None)


class Absence(Base):
    """A person's absence (请假/出差) for a date range: their tasks go to the B post (AB岗)."""

    __tablename__ = "absences"
    __table_args__ = (Index("ix_absences_person", "person_id", "starts_on"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("people.id"))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)  # inclusive
    reason: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime]
    created_by: Mapped[str | None] = mapped_column(String(64), default=None)
    cancelled_at: Mapped[datetime | None] = mapped_column(default=None)


# --- API tokens ----------------------------------------------------------------------------


class ApiToken(Base):
    """A bearer token of the JSON API (integrations, mobile apps); only its hash is kept."""

    __tablename__ = "api_tokens"
    __table_args__ = (
        Index("ix_api_tokens_hash", "token_hash", unique=True),
        Index("ix_api_tokens_person", "person_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("people.id"))
    label: Mapped[str] = mapped_column(String(200))
    prefix: Mapped[str] = mapped_column(String(16))  # the secret's first characters, shown
    token_hash: Mapped[str] = mapped_column(String(64))  # sha256 of the secret, hex
    created_at: Mapped[datetime]
    created_by: Mapped[str | None] = mapped_column(String(64), default=None)
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_by: Mapped[str | None] = mapped_column(String(64), default=None)


# --- applicant portal (网上办事) ------------------------------------------------------------


class Applicant(Base):
    """An applicant's portal account (申请人): a natural person or an organisation."""

    __tablename__ = "applicants"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    login: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))  # person (自然人) | organisation (法人)
    password_hash: Mapped[str] = mapped_column(String(255))
    phone: Mapped[str | None] = mapped_column(String(64), default=None)
    email: Mapped[str | None] = mapped_column(String(200), default=None)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]


class CaseMaterial(Base):
    """An application material (申请材料) stored on disk under a generated name."""

    __tablename__ = "case_materials"
    __table_args__ = (Index("ix_case_materials_case", "case_id", "round"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    material: Mapped[str] = mapped_column(String(200))  # which of the item's materials
    filename: Mapped[str] = mapped_column(String(255))  # a safe display name, never a path
    stored_name: Mapped[str] = mapped_column(String(100), unique=True)  # under materials_dir
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    round: Mapped[int] = mapped_column(Integer, default=0)  # 0: with the application; 1..: 补正
    uploaded_at: Mapped[datetime]
    uploaded_by: Mapped[str] = mapped_column(String(64))


class Rating(Base):
    """An applicant's rating of a case (好差评, GB/T 39734): one per case."""

    __tablename__ = "ratings"
    __table_args__ = (Index("ix_ratings_rated", "rated_at", "department_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), unique=True)
    applicant_id: Mapped[int] = mapped_column(ForeignKey("applicants.id"))
    level: Mapped[int] = mapped_column(Integer)  # 5 非常满意 … 1 非常不满意
    comment: Mapped[str | None] = mapped_column(Text, default=None)
    rated_at: Mapped[datetime]
    department_id: Mapped[str | None] = mapped_column(String(64), default=None)
    # the follow-up notice (整改回访) to the department for 不满意 or worse
    follow_up_notice_id: Mapped[int | None] = mapped_column(Integer, default=None)
