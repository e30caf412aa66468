"""Xiaoneng's BPM engine: the public API (re-exports only).

Use :class:`Engine`; everything it returns is a small frozen dataclass from
:mod:`engine.views`; everything it raises is an :class:`XiaonengError`.
"""

from engine.api import Engine
from engine.clock import Clock, FakeClock, SystemClock
from engine.demo import DEMO_LOGINS, DemoLogin, load_demo
from engine.errors import (
    CaseError,
    ConflictError,
    DefinitionProblem,
    FieldProblem,
    FormValidationError,
    InvalidDefinitionError,
    InvalidInputError,
    NotFoundError,
    NotPermittedError,
    ScriptError,
    XiaonengError,
)
from engine.parsing import SourceFile
from engine.supervision import EscalationLevel, SupervisionRules
from engine.views import (
    AbsenceView,
    ApiTokenView,
    AuditView,
    CardView,
    CaseSummary,
    DefinitionView,
    DepartmentView,
    DeploymentResult,
    FaultRecordView,
    FormFieldView,
    MigrationResult,
    NoticeView,
    PersonView,
    PostView,
    SignReplyView,
    TaskView,
    TimerView,
)
from engine.worker import TimerWorker

__all__ = [
    "DEMO_LOGINS",
    "AbsenceView",
    "ApiTokenView",
    "AuditView",
    "CardView",
    "CaseError",
    "CaseSummary",
    "Clock",
    "ConflictError",
    "DefinitionProblem",
    "DefinitionView",
    "DemoLogin",
    "DepartmentView",
    "DeploymentResult",
    "Engine",
    "EscalationLevel",
    "FakeClock",
    "FaultRecordView",
    "FieldProblem",
    "FormFieldView",
    "FormValidationError",
    "InvalidDefinitionError",
    "InvalidInputError",
    "MigrationResult",
    "NotFoundError",
    "NotPermittedError",
    "NoticeView",
    "PersonView",
    "PostView",
    "ScriptError",
    "SignReplyView",
    "SourceFile",
    "SupervisionRules",
    "SystemClock",
    "TaskView",
    "TimerView",
    "TimerWorker",
    "XiaonengError",
    "load_demo",
]
