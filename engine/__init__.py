"""Xiaoneng's BPM engine: the public API (re-exports only).

Use :class:`Engine`; everything it returns is a small frozen dataclass from
:mod:`engine.views`; everything it raises is an :class:`XiaonengError`.
"""

from engine.api import Engine
from engine.clock import Clock, FakeClock, SystemClock
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
from engine.views import (
    AbsenceView,
    AuditView,
    CaseSummary,
    DefinitionView,
    DeploymentResult,
    FormFieldView,
    PersonView,
    SignReplyView,
    TaskView,
)

__all__ = [
    "AbsenceView",
    "AuditView",
    "CaseError",
    "CaseSummary",
    "Clock",
    "ConflictError",
    "DefinitionProblem",
    "DefinitionView",
    "DeploymentResult",
    "Engine",
    "FakeClock",
    "FieldProblem",
    "FormFieldView",
    "FormValidationError",
    "InvalidDefinitionError",
    "InvalidInputError",
    "NotFoundError",
    "NotPermittedError",
    "PersonView",
    "ScriptError",
    "SignReplyView",
    "SourceFile",
    "SystemClock",
    "TaskView",
    "XiaonengError",
]
