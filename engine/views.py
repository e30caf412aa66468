"""Small frozen dataclasses that leave the engine instead of SpiffWorkflow or ORM objects."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


class _View:
    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-friendly dict (datetimes as ISO 8601 strings)."""
        return _plain(asdict(self))  # type: ignore[call-overload,no-any-return]


@dataclass(frozen=True)
class DefinitionView(_View):
    """One deployed version of a process."""

    id: int
    process_id: str
    version: int
    name: str | None
    content_hash: str
    source_file: str
    deployed_at: datetime
    deployed_by: str | None


@dataclass(frozen=True)
class DeploymentResult(_View):
    """What a deployment did: per process, the version it now has and whether it is new."""

    definitions: tuple[DefinitionView, ...]
    created: tuple[str, ...]
    unchanged: tuple[str, ...]


@dataclass(frozen=True)
class FormFieldView(_View):
    """A form field of a task, as the UI renders it."""

    id: str
    label: str
    type: str
    required: bool
    choices: tuple[tuple[str, str], ...] = ()
    default: Any = None


@dataclass(frozen=True)
class TaskView(_View):
    """A human task as an inbox or task page shows it."""

    id: str
    case_id: int
    business_key: str
    process_id: str
    element_id: str
    name: str | None
    lane: str | None
    state: str
    assignee: str | None
    owner: str | None
    delegation: str | None
    candidate_users: tuple[str, ...]
    candidate_groups: tuple[str, ...]
    priority: int | None
    due_at: datetime | None
    created_at: datetime
    claimed_at: datetime | None
    ended_at: datetime | None
    completed_by: str | None
    opinion: str | None
    multi_instance_of: str | None = None
    form: tuple[FormFieldView, ...] = ()
    data: dict[str, Any] = field(default_factory=dict)
    # after an action: the ids of the case's open tasks (what the user may do next)
    next_tasks: tuple[str, ...] = ()


@dataclass(frozen=True)
class AuditView(_View):
    """One audit-trail line."""

    id: int
    at: datetime
    actor: str | None
    action: str
    case_id: int | None
    task_id: str | None
    element_id: str | None
    detail: dict[str, Any] | None
    opinion: str | None


@dataclass(frozen=True)
class SignReplyView(_View):
    """One signer's reply in a multi-instance signing."""

    element_id: str
    task_id: str
    signer: str
    approve: bool | None
    opinion: str | None
    at: datetime


@dataclass(frozen=True)
class CaseSummary(_View):
    """A case with its status; ``open_tasks`` and ``history`` are filled by ``get_case``."""

    id: int
    business_key: str
    process_id: str
    definition_id: int
    definition_version: int
    status: str
    title: str | None
    started_by: str | None
    started_at: datetime
    updated_at: datetime
    ended_at: datetime | None
    row_version: int
    data: dict[str, Any] = field(default_factory=dict)
    open_tasks: tuple[TaskView, ...] = ()
    history: tuple[AuditView, ...] = ()
    error: str | None = None
    item_code: str | None = None
    due_at: datetime | None = None  # the promised completion moment (承诺办结时间)
    accepted_at: datetime | None = None  # 受理 (deemed: the receipt moment, §32)
    deemed_accepted: bool = False
    applicant: str | None = None  # 申请人, from the start data


@dataclass(frozen=True)
class MigrationResult(_View):
    """What moving one case to a newer process version did (版本迁移)."""

    business_key: str
    from_version: int | None
    to_version: int
    migrated: bool
    reason: str | None = None


@dataclass(frozen=True)
class PersonView(_View):
    """A person with the groups that decide what they may claim: ``groups`` as the
    organisation gives them, ``task_groups`` with the combined role-and-department groups
    tasks may name (``role:case-officer&dept:housing-permits``)."""

    id: str
    name: str
    active: bool
    groups: tuple[str, ...]
    task_groups: tuple[str, ...] = ()


@dataclass(frozen=True)
class TimerView(_View):
    """A timer row: a waiting BPMN timer event or an engine rule's moment."""

    id: str
    case_id: int | None
    element_id: str | None
    kind: str
    rule: str | None
    due_at: datetime
    run_at: datetime
    state: str
    attempts: int
    last_error: str | None
    fired_at: datetime | None
    fired_by: str | None


@dataclass(frozen=True)
class CardView(_View):
    """A yellow or red card (黄牌/红牌) on a step (``task_id`` set) or a whole case."""

    id: int
    case_id: int
    business_key: str
    task_id: str | None
    element_id: str | None
    color: str
    department_id: str | None
    holder: str | None
    due_at: datetime
    raised_at: datetime
    cleared_at: datetime | None
    cleared_reason: str | None


@dataclass(frozen=True)
class FaultRecordView(_View):
    """An accountability record (责任追究) with the decision of its latest review."""

    id: int
    kind: str
    case_id: int | None
    business_key: str | None
    task_id: str | None
    element_id: str | None
    step_name: str | None
    department_id: str | None
    post_id: str | None
    person_id: str | None
    substitute_for: str | None
    due_at: datetime | None
    overdue_days: float | None
    created_at: datetime
    detail: dict[str, Any] | None
    # the latest review: None (not reviewed) | excused | confirmed
    decision: str | None = None
    level: str | None = None
    reason: str | None = None
    reviewed_by: str | None = None
    reviewed_at: datetime | None = None
    refers_to: int | None = None


# -- the supervision dashboard (电子监察) --------------------------------------------------------


@dataclass(frozen=True)
class CardCountView(_View):
    """Live yellow and red cards (黄牌/红牌) of one department (None: no department)."""

    department_id: str | None
    yellow: int
    red: int


@dataclass(frozen=True)
class StepAlertView(_View):
    """An open step past its due moment, as the dashboard lists it."""

    task_id: str
    case_id: int
    business_key: str
    process_id: str
    element_id: str
    name: str | None
    department_id: str | None
    holder: str | None  # None: nobody has claimed it
    due_at: datetime


@dataclass(frozen=True)
class CaseAlertView(_View):
    """An open case the dashboard lists: overdue, nearing its promised limit (承诺时限),
    or an efficiency complaint (效能投诉) being handled."""

    case_id: int
    business_key: str
    title: str | None
    process_id: str
    status: str
    department_id: str | None
    started_at: datetime
    due_at: datetime | None
    # its open steps, earliest first: (step name or element id, holder or None)
    open_steps: tuple[tuple[str, str | None], ...] = ()
    remaining_days: float | None = None  # working days left (negative: overdue)


@dataclass(frozen=True)
class StepOverdueCountView(_View):
    """Overdue steps of one step of a process in a period (as the metrics count them):
    completed late in the period, or open at its end past their due moment."""

    process_id: str
    element_id: str
    name: str | None
    late: int
    overdue_open: int

    @property
    def overdue(self) -> int:
        """Both kinds together."""
        return self.late + self.overdue_open


@dataclass(frozen=True)
class DashboardView(_View):
    """What the supervision dashboard shows at one moment (``at``)."""

    at: datetime
    department_id: str | None
    cards: tuple[CardCountView, ...]
    overdue_steps_total: int
    overdue_steps: tuple[StepAlertView, ...]  # the most overdue first
    overdue_cases_total: int
    overdue_cases: tuple[CaseAlertView, ...]  # the most overdue first
    nearing_days: int
    nearing_total: int
    nearing: tuple[CaseAlertView, ...]  # the nearest limit first
    deemed_since: datetime
    deemed_consents: int  # 视为同意 (默许) records since ``deemed_since``
    deemed_acceptances: int  # 视为受理 (§32) records since ``deemed_since``
    deemed: tuple[FaultRecordView, ...]  # the newest first
    complaints_total: int
    complaints: tuple[CaseAlertView, ...]  # the oldest first


@dataclass(frozen=True)
class NoticeView(_View):
    """An escalation (督办) or reminder (催办) someone must act on."""

    id: int
    kind: str
    case_id: int
    business_key: str
    task_id: str | None
    element_id: str | None
    level: int | None
    recipient: str | None
    recipient_group: str | None
    department_id: str | None
    message: str
    created_at: datetime
    created_by: str | None
    acked_at: datetime | None
    acked_by: str | None
    response: str | None


@dataclass(frozen=True)
class AbsenceView(_View):
    """A person's absence; their tasks go to the B post meanwhile (AB岗)."""

    id: int
    person_id: str
    starts_on: date
    ends_on: date
    reason: str | None
    substitute: str | None
    created_at: datetime
    created_by: str | None
    cancelled_at: datetime | None


@dataclass(frozen=True)
class DepartmentView(_View):
    """A department (部门/科室) or organ; ``parent_id`` is the one above it."""

    id: str
    name: str
    parent_id: str | None
    kind: str
    phone: str | None = None


@dataclass(frozen=True)
class PostView(_View):
    """A post (岗位) with its B post (AB岗) and the ids of the people who hold it."""

    id: str
    name: str
    department_id: str
    backup_post_id: str | None
    holders: tuple[str, ...] = ()


@dataclass(frozen=True)
class ApiTokenView(_View):
    """A JSON API token as lists show it: never the secret or its hash."""

    id: int
    prefix: str  # the secret's first characters, to tell tokens apart
    label: str
    person_id: str
    created_at: datetime
    created_by: str | None
    last_used_at: datetime | None
    revoked_at: datetime | None
    revoked_by: str | None = None

    @property
    def active(self) -> bool:
        """True until the token is revoked."""
        return self.revoked_at is None


# -- the applicant portal (网上办事: 申请、回执、进度查询、好差评) -------------------------------

#: The five levels of a service rating (好差评, GB/T 39734-2020).
RATING_LEVELS: dict[int, str] = {
    5: "非常满意",
    4: "满意",
    3: "基本满意",
    2: "不满意",
    1: "非常不满意",
}


@dataclass(frozen=True)
class ApplicantView(_View):
    """An applicant's portal account (申请人): never the password hash."""

    id: int
    login: str
    name: str
    kind: str  # person (自然人) | organisation (法人)
    phone: str | None
    email: str | None
    created_at: datetime


@dataclass(frozen=True)
class Upload:
    """One file to store as an application material (input, not a view)."""

    material: str  # which of the item's materials (申请书 …)
    filename: str  # as uploaded: only a safe display name of it is kept
    content: bytes = field(repr=False)


@dataclass(frozen=True)
class MaterialView(_View):
    """A stored application material."""

    id: int
    case_id: int
    business_key: str
    material: str
    filename: str
    content_type: str
    size: int
    sha256: str
    round: int  # 0: with the application; 1, 2 …: supplements (补正)
    uploaded_at: datetime
    uploaded_by: str  # "applicant:<id>" or an officer's person id


@dataclass(frozen=True)
class ReceiptView(_View):
    """The receipt (收件回执) of an application or complaint, to print (again)."""

    business_key: str
    query_code: str
    item_code: str  # "" for a case without a service item (a complaint)
    item_name: str
    department_id: str
    department_name: str
    applicant: str
    received_at: datetime
    promised_days: int  # 0 without a service item
    promised_at: datetime | None  # the promised completion (承诺办结时间)
    materials: tuple[MaterialView, ...]
    missing_required: tuple[str, ...]
    received_by: str | None  # the officer who registered it at the window (S1)


@dataclass(frozen=True)
class ProgressStep(_View):
    """One step of a case as the applicant sees it: no opinions, no officers."""

    name: str
    department_name: str | None
    started_at: datetime
    ended_at: datetime | None
    due_at: datetime | None
    current: bool


@dataclass(frozen=True)
class ProgressStop(_View):
    """A period the case's clock stood still (补正, §45) and why."""

    kind: str
    reason: str | None
    started_at: datetime
    ended_at: datetime | None


@dataclass(frozen=True)
class ProgressExtension(_View):
    """An extension (延期, §42) with its reason; ``decision``: granted, refused or None."""

    days: int
    reason: str
    requested_at: datetime
    decision: str | None


@dataclass(frozen=True)
class RatingView(_View):
    """An applicant's rating of a case (好差评)."""

    business_key: str
    level: int
    label: str
    comment: str | None
    rated_at: datetime
    follow_up_notice_id: int | None


@dataclass(frozen=True)
class ProgressView(_View):
    """The progress of a case (办件进度) for the applicant: never internal opinions,
    officers' names or ids, nor form data."""

    business_key: str
    process_id: str
    item_name: str | None
    department_name: str | None
    status: str
    received_at: datetime
    accepted_at: datetime | None
    promised_at: datetime | None
    ended_at: datetime | None
    outcome: str | None  # approved | refused | not_accepted | upheld | unfounded
    steps: tuple[ProgressStep, ...]
    stops: tuple[ProgressStop, ...]
    extensions: tuple[ProgressExtension, ...]
    supplement_requested: str | None  # the open one-time notice (一次性告知), if any
    materials: tuple[MaterialView, ...]
    rating: RatingView | None
    can_rate: bool
