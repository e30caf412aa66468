"""Form definitions for human tasks, and validation of what people submit.

A form is a :class:`FormSpec`: a key, a title and an ordered tuple of :class:`FieldSpec`.
Forms come from two places:

* a Camunda ``camunda:formData`` block on a user task or start event (converted by
  :func:`form_from_camunda` from what ``CamundaParser`` stores in ``task_spec.form``);
* a form file ``NAME.form.json`` deployed next to the BPMN files and referenced from a
  task's ``camunda:formKey`` (see :func:`form_key_name` for how a key names a file).

Form file format (UTF-8 JSON; the same shape :meth:`FormSpec.to_dict` produces)::

    {
      "key": "intake",                      # optional; must equal the file stem
      "title": "受理登记",                   # optional; defaults to the key
      "fields": [
        {"id": "applicant_name", "label": "申请人", "type": "string",
         "required": true, "max_length": 100},
        {"id": "amount", "label": "金额", "type": "decimal", "min": 0},
        {"id": "decision", "label": "决定", "type": "enum", "required": true,
         "choices": [{"value": "approve", "label": "准予"},
                     {"value": "refuse", "label": "不予"}]}
      ]
    }

Field keys: ``id`` (a Python identifier: it becomes a case variable), ``label``, ``type``,
``required``, ``readonly``, ``default``, ``choices`` (enum and multi_enum only), ``min`` /
``max`` (long and decimal), ``min_length`` / ``max_length`` (string and text). Unknown
keys are rejected so that typos do not silently drop a constraint.

Types and the JSON-friendly values :func:`validate_form` returns:

======================  ===============================================================
``string`` / ``text``   ``str`` (stripped; ``text`` is the multi-line kind)
``long``                ``int`` (64-bit range)
``decimal``             ``float`` (finite); keep money in fen (分) as ``long`` if exact
``boolean``             ``bool``; "true"/"on"/"yes"/"1" and "false"/"off"/"no"/"0"
``date``                ``str`` ``YYYY-MM-DD``
``datetime``            ``str`` in ISO 8601 (a naive value stays naive: wall-clock time)
``enum``                ``str``: one of the choice values
``multi_enum``          ``list[str]``: choice values, without duplicates
======================  ===============================================================
"""

from __future__ import annotations

import json
import keyword
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from engine.errors import (
    DefinitionProblem,
    FieldProblem,
    FormValidationError,
    InvalidDefinitionError,
)

FIELD_TYPES = (
    "string",
    "text",
    "long",
    "decimal",
    "boolean",
    "date",
    "datetime",
    "enum",
    "multi_enum",
)
"""Every field type a form may use."""

FORM_FILE_SUFFIX = ".form.json"

_CHOICE_TYPES = frozenset({"enum", "multi_enum"})
_NUMBER_TYPES = frozenset({"long", "decimal"})
_TEXT_TYPES = frozenset({"string", "text"})
_LONG_MIN = -(2**63)
_LONG_MAX = 2**63 - 1
_TRUE_WORDS = frozenset({"true", "on", "yes", "1"})
_FALSE_WORDS = frozenset({"false", "off", "no", "0"})
_INTEGER_RE = re.compile(r"[+-]?\d{1,19}")
_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
_IDENTIFIER_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_FIELD_KEYS = frozenset(
    {
        "id",
        "label",
        "type",
        "required",
        "readonly",
        "default",
        "choices",
        "min",
        "max",
        "min_length",
        "max_length",
    }
)
_FORM_KEYS = frozenset({"key", "title", "fields"})
# Camunda form field types that map onto ours; every name in FIELD_TYPES is accepted too.
_CAMUNDA_TYPES = {"string": "string", "long": "long", "boolean": "boolean", "date": "date"}


@dataclass(frozen=True)
class FieldSpec:
    """One field of a form.

    Attributes:
        id: The variable the value is stored under in the case data.
        label: What the person filling in the form sees.
        type: One of :data:`FIELD_TYPES`.
        required: A value must be given (or a default must exist).
        choices: ``(value, label)`` pairs for ``enum`` and ``multi_enum``.
        default: The cleaned value used when nothing is submitted.
        min: Smallest allowed number (``long`` and ``decimal``).
        max: Largest allowed number (``long`` and ``decimal``).
        min_length: Fewest characters (``string`` and ``text``).
        max_length: Most characters (``string`` and ``text``).
        readonly: Shown, never submitted: the value comes from the case data.
    """

    id: str
    label: str
    type: str
    required: bool = False
    choices: tuple[tuple[str, str], ...] = ()
    default: object = None
    min: int | float | None = None
    max: int | float | None = None
    min_length: int | None = None
    max_length: int | None = None
    readonly: bool = False

    def to_dict(self) -> dict[str, object]:
        """Return the field in the form-file JSON shape (only the keys that are set)."""
        data: dict[str, object] = {"id": self.id, "label": self.label, "type": self.type}
        if self.required:
            data["required"] = True
        if self.readonly:
            data["readonly"] = True
        if self.default is not None:
            data["default"] = self.default
        if self.choices:
            data["choices"] = [{"value": v, "label": label} for v, label in self.choices]
        for name in ("min", "max", "min_length", "max_length"):
            value = getattr(self, name)
            if value is not None:
                data[name] = value
        return data


@dataclass(frozen=True)
class FormSpec:
    """A form: a key, a title and its fields in display order."""

    key: str
    title: str
    fields: tuple[FieldSpec, ...] = ()

    def field(self, field_id: str) -> FieldSpec | None:
        """Return the field called ``field_id``, or None."""
        for item in self.fields:
            if item.id == field_id:
                return item
        return None

    def to_dict(self) -> dict[str, object]:
        """Return the form as JSON-friendly data in the form-file format."""
        return {
            "key": self.key,
            "title": self.title,
            "fields": [item.to_dict() for item in self.fields],
        }


class _InvalidValue(ValueError):
    """A submitted (or default) value does not fit its field."""


# -- reading form definitions --------------------------------------------------------------


def form_key_name(reference: str) -> str:
    """Return the form key a ``camunda:formKey`` refers to.

    Convention: the key is the last path segment after any ``scheme:`` prefixes, with a
    ``.form.json``, ``.form``, ``.json`` or ``.html`` suffix removed; it names the file
    ``KEY.form.json`` in the deployment. So ``intake``, ``forms/intake``,
    ``embedded:deployment:intake.form`` and ``camunda-forms:deployment:forms/intake.form``
    all refer to ``intake.form.json``.

    Args:
        reference: The ``camunda:formKey`` attribute value.

    Returns:
        The form key (empty when the reference is empty).
    """
    name = reference.strip().rsplit(":", 1)[-1].rsplit("/", 1)[-1]
    for suffix in (FORM_FILE_SUFFIX, ".form", ".json", ".html"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def form_file_key(file_name: str) -> str:
    """Return the key a form file defines: its base name without ``.form.json``."""
    base = file_name.replace("\\", "/").rsplit("/", 1)[-1]
    return base[: -len(FORM_FILE_SUFFIX)] if base.endswith(FORM_FILE_SUFFIX) else base


def parse_form_file(name: str, content: bytes) -> FormSpec:
    """Parse a ``NAME.form.json`` file into a :class:`FormSpec`.

    Args:
        name: The file name (its stem is the form key).
        content: The file's bytes (UTF-8 JSON).

    Returns:
        The form.

    Raises:
        InvalidDefinitionError: The file is not valid JSON or not a valid form; every
            problem names the file and, where it concerns one, the field.
    """
    key = form_file_key(name)
    if not key:
        raise InvalidDefinitionError([DefinitionProblem(name, None, "form file has no name")])
    try:
        data = json.loads(content.decode("utf-8"), object_pairs_hook=_reject_duplicate_keys)
    except UnicodeDecodeError as exc:
        raise InvalidDefinitionError(
            [DefinitionProblem(name, None, f"form file is not UTF-8: {exc.reason}")]
        ) from exc
    except json.JSONDecodeError as exc:
        raise InvalidDefinitionError(
            [DefinitionProblem(name, None, f"malformed JSON at line {exc.lineno}: {exc.msg}")]
        ) from exc
    except ValueError as exc:
        raise InvalidDefinitionError([DefinitionProblem(name, None, str(exc))]) from exc
    if isinstance(data, dict) and "key" in data and data["key"] != key:
        raise InvalidDefinitionError(
            [
                DefinitionProblem(
                    name, None, f"form key {data['key']!r} does not match the file name ({key!r})"
                )
            ]
        )
    return form_from_dict(data, file=name, key=key)


def form_from_dict(data: object, *, file: str, key: str | None = None) -> FormSpec:
    """Build a :class:`FormSpec` from data in the form-file format.

    Args:
        data: Decoded JSON (or the output of :meth:`FormSpec.to_dict`).
        file: The file name used in problems.
        key: The form key; defaults to ``data["key"]``.

    Returns:
        The form.

    Raises:
        InvalidDefinitionError: The data is not a valid form.
    """
    if not isinstance(data, dict):
        raise InvalidDefinitionError([DefinitionProblem(file, None, "a form must be an object")])
    problems: list[DefinitionProblem] = []
    for unknown in sorted(set(data) - _FORM_KEYS):
        problems.append(DefinitionProblem(file, None, f"unknown form key {unknown!r}"))
    form_key = key if key is not None else data.get("key")
    if not isinstance(form_key, str) or not form_key:
        problems.append(DefinitionProblem(file, None, "form key must be a non-empty string"))
        form_key = ""
    title = data.get("title", form_key)
    if not isinstance(title, str):
        problems.append(DefinitionProblem(file, None, "form title must be a string"))
        title = form_key
    raw_fields = data.get("fields", [])
    if not isinstance(raw_fields, list):
        problems.append(DefinitionProblem(file, None, "form fields must be a list"))
        raw_fields = []
    fields: list[FieldSpec] = []
    for index, raw in enumerate(raw_fields):
        spec = _field_from_dict(raw, index, file, problems)
        if spec is not None:
            fields.append(spec)
    _check_unique_ids(fields, file, None, problems)
    if problems:
        raise InvalidDefinitionError(problems)
    return FormSpec(key=form_key, title=title, fields=tuple(fields))


def form_from_camunda(
    form: Any, *, key: str, title: str | None, file: str, element_id: str | None
) -> FormSpec:
    """Convert a Camunda form (``task_spec.form`` of ``CamundaParser``) to a :class:`FormSpec`.

    Camunda constraints ``required``, ``readonly``, ``minlength``, ``maxlength``, ``min``
    and ``max`` are kept; ``camunda:properties`` on fields (display hints) are ignored.
    Dates (and date defaults) are ISO ``YYYY-MM-DD``, not Camunda's ``dd/MM/yyyy``.

    Args:
        form: A ``SpiffWorkflow.camunda.specs.user_task.Form``.
        key: The key to give the form (the task's element id for inline forms).
        title: The form title (the task name); defaults to the key.
        file: The BPMN file name used in problems.
        element_id: The task's element id used in problems.

    Returns:
        The form.

    Raises:
        InvalidDefinitionError: A field is invalid; each problem names the field.
    """
    problems: list[DefinitionProblem] = []
    fields: list[FieldSpec] = []
    for raw in form.fields:
        field_id = str(raw.id or "")
        where = f"form field {field_id!r}: "
        before = len(problems)
        field_type = _camunda_type(raw.type)
        if field_type is None:
            problems.append(
                DefinitionProblem(file, element_id, f"{where}unsupported type {raw.type!r}")
            )
            continue
        spec_data: dict[str, object] = {
            "id": field_id,
            "label": raw.label or field_id,
            "type": field_type,
        }
        for validation in raw.validation:
            message = _camunda_constraint(validation.name, validation.config, spec_data)
            if message is not None:
                problems.append(DefinitionProblem(file, element_id, f"{where}{message}"))
        if field_type in _CHOICE_TYPES:
            spec_data["choices"] = [
                {"value": option.id, "label": option.name or option.id}
                for option in getattr(raw, "options", [])
            ]
        if raw.default_value not in (None, ""):
            if "${" in str(raw.default_value):
                problems.append(
                    DefinitionProblem(
                        file, element_id, f"{where}expression defaults are not supported"
                    )
                )
            else:
                spec_data["default"] = raw.default_value
        if len(problems) > before:
            continue
        sub_problems: list[DefinitionProblem] = []
        spec = _field_from_dict(spec_data, len(fields), file, sub_problems)
        problems.extend(
            DefinitionProblem(file, element_id, f"{where}{p.message}") for p in sub_problems
        )
        if spec is not None:
            fields.append(spec)
    _check_unique_ids(fields, file, element_id, problems)
    if problems:
        raise InvalidDefinitionError(problems)
    return FormSpec(key=key, title=title or key, fields=tuple(fields))


def _camunda_type(camunda_type: str | None) -> str | None:
    if camunda_type is None:
        return "string"
    if camunda_type in _CAMUNDA_TYPES:
        return _CAMUNDA_TYPES[camunda_type]
    return camunda_type if camunda_type in FIELD_TYPES else None


def _camunda_constraint(
    name: str | None, config: str | None, spec_data: dict[str, object]
) -> str | None:
    """Apply one Camunda ``camunda:constraint`` to ``spec_data``; return a problem or None."""
    if name in ("required", "readonly"):
        spec_data[name] = True
        return None
    targets = {"minlength": "min_length", "maxlength": "max_length", "min": "min", "max": "max"}
    if name not in targets:
        return f"unsupported constraint {name!r}"
    text = (config or "").strip()
    try:
        number: int | float = int(text) if _INTEGER_RE.fullmatch(text) else float(text)
    except ValueError:
        return f"constraint {name} needs a number, not {config!r}"
    spec_data[targets[name]] = number
    return None


def _field_from_dict(
    raw: object, index: int, file: str, problems: list[DefinitionProblem]
) -> FieldSpec | None:
    if not isinstance(raw, dict):
        problems.append(DefinitionProblem(file, None, f"field #{index + 1} must be an object"))
        return None
    field_id = raw.get("id")
    if not isinstance(field_id, str) or not _is_identifier(field_id):
        problems.append(
            DefinitionProblem(
                file,
                str(field_id) if field_id else None,
                f"field #{index + 1}: id must be a Python identifier, not {field_id!r}",
            )
        )
        return None
    before = len(problems)

    def bad(message: str) -> None:
        problems.append(DefinitionProblem(file, field_id, message))

    for unknown in sorted(set(raw) - _FIELD_KEYS):
        bad(f"unknown field key {unknown!r}")
    field_type = raw.get("type")
    if field_type not in FIELD_TYPES:
        bad(f"type must be one of {', '.join(FIELD_TYPES)}, not {field_type!r}")
        return None
    label = raw.get("label", field_id)
    if not isinstance(label, str) or not label:
        bad("label must be a non-empty string")
    flags = {}
    for flag in ("required", "readonly"):
        value = raw.get(flag, False)
        if not isinstance(value, bool):
            bad(f"{flag} must be true or false")
        flags[flag] = value is True
    choices = _choices_from(raw.get("choices"), field_type, bad)
    bounds = _bounds_from(raw, field_type, bad)
    if len(problems) > before:
        return None
    spec = FieldSpec(
        id=field_id,
        label=str(label),
        type=str(field_type),
        required=flags["required"],
        readonly=flags["readonly"],
        choices=choices,
        min=bounds.get("min"),
        max=bounds.get("max"),
        min_length=_as_int(bounds.get("min_length")),
        max_length=_as_int(bounds.get("max_length")),
    )
    if raw.get("default") is not None:
        try:
            default = _clean(spec, raw["default"])
            message = _constraint_problem(spec, default)
        except _InvalidValue as exc:
            message = str(exc)
        if message is not None:
            bad(f"default {raw['default']!r} is invalid: {message}")
            return None
        spec = replace(spec, default=default)
    return spec


def _choices_from(
    raw: object, field_type: object, bad: Callable[[str], None]
) -> tuple[tuple[str, str], ...]:
    if field_type not in _CHOICE_TYPES:
        if raw is not None:
            bad("choices are only allowed on enum and multi_enum fields")
        return ()
    if not isinstance(raw, list) or not raw:
        bad("choices must be a non-empty list")
        return ()
    choices: list[tuple[str, str]] = []
    for item in raw:
        value = item.get("value") if isinstance(item, dict) else None
        if not isinstance(value, str) or not value:
            bad(f"choice {item!r} needs a non-empty string value")
            continue
        label = item.get("label", value)
        if not isinstance(label, str):
            bad(f"choice {value!r} has a label that is not a string")
            continue
        if set(item) - {"value", "label"}:
            bad(f"choice {value!r} has unknown keys")
            continue
        if any(value == existing for existing, _ in choices):
            bad(f"choice {value!r} is listed twice")
            continue
        choices.append((value, label))
    return tuple(choices)


def _bounds_from(
    raw: dict[str, Any], field_type: object, bad: Callable[[str], None]
) -> dict[str, int | float]:
    bounds: dict[str, int | float] = {}
    for name in ("min", "max"):
        value = raw.get(name)
        if value is None:
            continue
        if field_type not in _NUMBER_TYPES:
            bad(f"{name} is only allowed on long and decimal fields")
        elif isinstance(value, bool) or not isinstance(value, int | float):
            bad(f"{name} must be a number")
        elif field_type == "long" and not (isinstance(value, int) or value.is_integer()):
            bad(f"{name} must be a whole number")
        elif not math.isfinite(value):
            bad(f"{name} must be finite")
        else:
            bounds[name] = int(value) if field_type == "long" else value
    for name in ("min_length", "max_length"):
        value = raw.get(name)
        if value is None:
            continue
        if field_type not in _TEXT_TYPES:
            bad(f"{name} is only allowed on string and text fields")
        elif isinstance(value, bool) or not isinstance(value, int) or value < 0:
            bad(f"{name} must be a whole number of at least 0")
        else:
            bounds[name] = value
    for low, high in (("min", "max"), ("min_length", "max_length")):
        if low in bounds and high in bounds and bounds[low] > bounds[high]:
            bad(f"{low} is greater than {high}")
    return bounds


def _as_int(value: int | float | None) -> int | None:
    return None if value is None else int(value)


def _check_unique_ids(
    fields: Sequence[FieldSpec],
    file: str,
    element_id: str | None,
    problems: list[DefinitionProblem],
) -> None:
    seen: set[str] = set()
    for item in fields:
        if item.id in seen:
            where = element_id if element_id is not None else item.id
            problems.append(DefinitionProblem(file, where, f"field id {item.id!r} is used twice"))
        seen.add(item.id)


def _is_identifier(text: str) -> bool:
    return bool(_IDENTIFIER_RE.fullmatch(text)) and not keyword.iskeyword(text)


def _reject_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate JSON key {key!r}")
        result[key] = value
    return result


# -- validating submitted data -------------------------------------------------------------


def validate_form(form: FormSpec, data: Mapping[str, object]) -> dict[str, object]:
    """Check submitted data against a form and return the cleaned values.

    Web-form strings are coerced (``"12"`` → 12 for ``long``, ``"on"`` → True for
    ``boolean``). Blank values (None, empty or whitespace-only strings, empty lists) count
    as not submitted. A field that is not submitted gets its default; without a default a
    required field is a problem, an optional ``boolean`` becomes False (an unticked
    checkbox), an optional ``multi_enum`` becomes ``[]`` and anything else None.
    Read-only fields are display-only: they are left out of the result, and submitting a
    value other than their default is a problem.

    Args:
        form: The form of the task.
        data: The submitted values by field id.

    Returns:
        A value for every writable field, keyed by field id.

    Raises:
        FormValidationError: Every problem found, each naming its field.
    """
    problems: list[FieldProblem] = []
    known = {item.id for item in form.fields}
    for name in data:
        if name not in known:
            problems.append(FieldProblem(str(name), "unknown field"))
    cleaned: dict[str, object] = {}
    for item in form.fields:
        raw = data.get(item.id)
        submitted = not _is_blank(raw)
        if item.readonly:
            if submitted and _clean_or_none(item, raw) != item.default:
                problems.append(FieldProblem(item.id, "field is read-only"))
            continue
        if not submitted:
            if item.default is not None:
                cleaned[item.id] = item.default
            elif item.required:
                problems.append(FieldProblem(item.id, "this field is required"))
            else:
                cleaned[item.id] = _empty_value(item)
            continue
        try:
            value = _clean(item, raw)
        except _InvalidValue as exc:
            problems.append(FieldProblem(item.id, str(exc)))
            continue
        message = _constraint_problem(item, value)
        if message is not None:
            problems.append(FieldProblem(item.id, message))
            continue
        cleaned[item.id] = value
    if problems:
        raise FormValidationError(problems)
    return cleaned


def _is_blank(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    return isinstance(value, list | tuple) and not value


def _empty_value(item: FieldSpec) -> object:
    if item.type == "boolean":
        return False
    if item.type == "multi_enum":
        return []
    return None


def _clean_or_none(item: FieldSpec, raw: object) -> object:
    try:
        return _clean(item, raw)
    except _InvalidValue:
        return None


def _clean(item: FieldSpec, raw: object) -> object:
    """Coerce one non-blank value to the field's type, or raise :class:`_InvalidValue`."""
    cleaner = _CLEANERS[item.type]
    return cleaner(item, raw)


def _clean_text(item: FieldSpec, raw: object) -> object:
    if not isinstance(raw, str):
        raise _InvalidValue("must be text")
    return raw.strip()


def _clean_long(item: FieldSpec, raw: object) -> object:
    value: int
    if isinstance(raw, bool):
        raise _InvalidValue("must be a whole number")
    if isinstance(raw, int):
        value = raw
    elif isinstance(raw, float) and math.isfinite(raw) and raw.is_integer():
        value = int(raw)
    elif isinstance(raw, str) and _INTEGER_RE.fullmatch(raw.strip()):
        value = int(raw.strip())
    else:
        raise _InvalidValue("must be a whole number")
    if not _LONG_MIN <= value <= _LONG_MAX:
        raise _InvalidValue("number is too large")
    return value


def _clean_decimal(item: FieldSpec, raw: object) -> object:
    if isinstance(raw, bool):
        raise _InvalidValue("must be a number")
    if isinstance(raw, int | float):
        value = float(raw)
    elif isinstance(raw, str) and len(raw) <= 64:
        try:
            value = float(Decimal(raw.strip()))
        except InvalidOperation as exc:
            raise _InvalidValue("must be a number") from exc
    else:
        raise _InvalidValue("must be a number")
    if not math.isfinite(value):
        raise _InvalidValue("must be a finite number")
    return value


def _clean_boolean(item: FieldSpec, raw: object) -> object:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, int) and raw in (0, 1):
        return raw == 1
    if isinstance(raw, str):
        word = raw.strip().lower()
        if word in _TRUE_WORDS:
            return True
        if word in _FALSE_WORDS:
            return False
    raise _InvalidValue("must be true or false")


def _clean_date(item: FieldSpec, raw: object) -> object:
    if isinstance(raw, datetime):
        raise _InvalidValue("must be a date in the form YYYY-MM-DD")
    if isinstance(raw, date):
        return raw.isoformat()
    if isinstance(raw, str) and _DATE_RE.fullmatch(raw.strip()):
        try:
            return date.fromisoformat(raw.strip()).isoformat()
        except ValueError as exc:
            raise _InvalidValue("is not a real date") from exc
    raise _InvalidValue("must be a date in the form YYYY-MM-DD")


def _clean_datetime(item: FieldSpec, raw: object) -> object:
    if isinstance(raw, datetime):
        return raw.isoformat()
    if isinstance(raw, str) and 10 <= len(raw.strip()) <= 40:
        try:
            return datetime.fromisoformat(raw.strip()).isoformat()
        except ValueError as exc:
            raise _InvalidValue("must be a date and time in ISO 8601 form") from exc
    raise _InvalidValue("must be a date and time in ISO 8601 form")


def _choice_value(item: FieldSpec, raw: object) -> str:
    if isinstance(raw, int) and not isinstance(raw, bool):
        raw = str(raw)
    values = [value for value, _ in item.choices]
    if not isinstance(raw, str) or raw not in values:
        shown = raw if isinstance(raw, str) else repr(raw)
        raise _InvalidValue(f"{shown!r} is not one of: {', '.join(values)}")
    return raw


def _clean_enum(item: FieldSpec, raw: object) -> object:
    return _choice_value(item, raw)


def _clean_multi_enum(item: FieldSpec, raw: object) -> object:
    items = [raw] if isinstance(raw, str) else raw
    if not isinstance(items, list | tuple):
        raise _InvalidValue("must be a list of choices")
    return list(dict.fromkeys(_choice_value(item, value) for value in items))


_CLEANERS = {
    "string": _clean_text,
    "text": _clean_text,
    "long": _clean_long,
    "decimal": _clean_decimal,
    "boolean": _clean_boolean,
    "date": _clean_date,
    "datetime": _clean_datetime,
    "enum": _clean_enum,
    "multi_enum": _clean_multi_enum,
}


def _constraint_problem(item: FieldSpec, value: object) -> str | None:
    """Return why a cleaned value breaks the field's range/length constraints, or None."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        if item.min is not None and value < item.min:
            return f"must be at least {item.min}"
        if item.max is not None and value > item.max:
            return f"must be at most {item.max}"
    if isinstance(value, str) and item.type in _TEXT_TYPES:
        if item.min_length is not None and len(value) < item.min_length:
            return f"must be at least {item.min_length} characters"
        if item.max_length is not None and len(value) > item.max_length:
            return f"must be at most {item.max_length} characters"
    return None
