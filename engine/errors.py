"""The engine's exception tree.

Every error the engine raises on purpose is a :class:`XiaonengError`. The web layer maps
the classes to HTTP statuses in one table (not found 404, invalid definition 422, not
permitted 403, conflict 409, invalid input 400/422).
"""

from __future__ import annotations

from dataclasses import dataclass


class XiaonengError(Exception):
    """Base class of every deliberate engine error."""

    code = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def to_dict(self) -> dict[str, object]:
        """Return a JSON-friendly description of the error."""
        return {"error": self.code, "message": self.message}


class NotFoundError(XiaonengError):
    """A definition, case, task, person or other object does not exist."""

    code = "not_found"

    def __init__(self, kind: str, key: object, message: str | None = None) -> None:
        super().__init__(message or f"{kind} not found: {key}")
        self.kind = kind
        self.key = key


class NotPermittedError(XiaonengError):
    """The actor may not perform this action (not a candidate, not the holder …)."""

    code = "not_permitted"

    def __init__(self, message: str, *, actor: str | None = None) -> None:
        super().__init__(message)
        self.actor = actor


class ConflictError(XiaonengError):
    """The object changed under the caller: concurrent call, double submission, stale version."""

    code = "conflict"


class InvalidInputError(XiaonengError):
    """The caller passed data that is malformed (bad JSON, unknown option …)."""

    code = "invalid_input"


@dataclass(frozen=True)
class FieldProblem:
    """One problem with one form field."""

    field: str
    message: str


class FormValidationError(InvalidInputError):
    """Submitted form data does not satisfy the task's form; each problem names its field."""

    code = "form_invalid"

    def __init__(self, problems: list[FieldProblem]) -> None:
        self.problems = list(problems)
        text = "; ".join(f"{p.field}: {p.message}" for p in self.problems)
        super().__init__(f"form data is invalid: {text}")

    def to_dict(self) -> dict[str, object]:
        data = super().to_dict()
        data["fields"] = {p.field: p.message for p in self.problems}
        return data


@dataclass(frozen=True)
class DefinitionProblem:
    """One reason a BPMN/DMN/form file was rejected: where, and what is wrong."""

    file: str
    element_id: str | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}" + (f" #{self.element_id}" if self.element_id else "")
        return f"{where}: {self.message}"


class InvalidDefinitionError(XiaonengError):
    """A deployment was rejected; ``problems`` lists every reason found."""

    code = "invalid_definition"

    def __init__(self, problems: list[DefinitionProblem]) -> None:
        self.problems = list(problems)
        super().__init__("invalid definition: " + "; ".join(str(p) for p in self.problems))

    def to_dict(self) -> dict[str, object]:
        data = super().to_dict()
        data["problems"] = [
            {"file": p.file, "element_id": p.element_id, "message": p.message}
            for p in self.problems
        ]
        return data


class ScriptError(XiaonengError):
    """A diagram expression or script is outside the allowed subset or failed at run time."""

    code = "script_error"

    def __init__(
        self, message: str, *, element_id: str | None = None, source: str | None = None
    ) -> None:
        where = f" (element {element_id})" if element_id else ""
        super().__init__(f"{message}{where}")
        self.element_id = element_id
        self.source = source
        self.reason = message

    def to_dict(self) -> dict[str, object]:
        data = super().to_dict()
        data["element_id"] = self.element_id
        return data


class CaseError(XiaonengError):
    """A case hit an error while running engine steps (the call was rolled back)."""

    code = "case_error"

    def __init__(self, message: str, *, element_id: str | None = None) -> None:
        super().__init__(message)
        self.element_id = element_id
