"""Form definitions (form files, Camunda formData) and validation of submitted data."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest
from SpiffWorkflow.camunda.specs.user_task import Form

from engine.errors import (
    DefinitionProblem,
    FieldProblem,
    FormValidationError,
    InvalidDefinitionError,
)
from engine.forms import (
    FieldSpec,
    FormSpec,
    form_from_camunda,
    form_from_dict,
    form_key_name,
    parse_form_file,
    validate_form,
)

INTAKE = {
    "key": "intake",
    "title": "受理登记",
    "fields": [
        {
            "id": "applicant_name",
            "label": "申请人",
            "type": "string",
            "required": True,
            "max_length": 10,
        },
        {"id": "amount", "label": "金额", "type": "long", "min": 0, "max": 1000},
        {"id": "fee", "label": "费用", "type": "decimal"},
        {"id": "urgent", "label": "加急", "type": "boolean"},
        {"id": "due", "label": "期限", "type": "date"},
        {
            "id": "decision",
            "label": "决定",
            "type": "enum",
            "required": True,
            "choices": [
                {"value": "approve", "label": "准予"},
                {"value": "refuse", "label": "不予"},
            ],
        },
    ],
}


def _file(data: object, name: str = "intake.form.json") -> tuple[str, bytes]:
    return name, json.dumps(data, ensure_ascii=False).encode("utf-8")


def _form(*fields: dict[str, object]) -> FormSpec:
    return form_from_dict({"key": "f", "fields": list(fields)}, file="f.form.json")


def _problems(error: pytest.ExceptionInfo[FormValidationError]) -> dict[str, str]:
    return {p.field: p.message for p in error.value.problems}


# -- form files ------------------------------------------------------------------------------


def test_form_file_parses_fields_choices_and_constraints() -> None:
    form = parse_form_file(*_file(INTAKE))

    assert form.key == "intake"
    assert form.title == "受理登记"
    assert [f.id for f in form.fields] == [
        "applicant_name",
        "amount",
        "fee",
        "urgent",
        "due",
        "decision",
    ]
    name = form.field("applicant_name")
    assert name == FieldSpec(
        id="applicant_name", label="申请人", type="string", required=True, max_length=10
    )
    decision = form.field("decision")
    assert decision is not None
    assert decision.choices == (("approve", "准予"), ("refuse", "不予"))
    amount = form.field("amount")
    assert amount is not None
    assert (amount.min, amount.max) == (0, 1000)


def test_form_file_key_defaults_to_the_file_stem() -> None:
    data = {"fields": [{"id": "note", "type": "text"}]}

    form = parse_form_file(*_file(data, "forms/notes.form.json"))

    assert form.key == "notes"
    assert form.title == "notes"
    assert form.fields[0].label == "note"


def test_form_file_rejects_key_that_differs_from_file_name() -> None:
    with pytest.raises(InvalidDefinitionError) as error:
        parse_form_file(*_file(INTAKE, "other.form.json"))

    assert error.value.problems == [
        DefinitionProblem(
            "other.form.json", None, "form key 'intake' does not match the file name ('other')"
        ),
    ]


def test_form_file_rejects_malformed_json_with_line() -> None:
    with pytest.raises(InvalidDefinitionError) as error:
        parse_form_file("intake.form.json", b'{"key": "intake",\n "fields": [}')

    [problem] = error.value.problems
    assert problem.file == "intake.form.json"
    assert problem.element_id is None
    assert problem.message.startswith("malformed JSON at line 2")


def test_form_file_rejects_duplicate_json_keys() -> None:
    with pytest.raises(InvalidDefinitionError) as error:
        parse_form_file("intake.form.json", b'{"key": "intake", "key": "intake", "fields": []}')

    assert error.value.problems == [
        DefinitionProblem("intake.form.json", None, "duplicate JSON key 'key'"),
    ]


def test_form_file_reports_every_bad_field_by_id() -> None:
    data = {
        "fields": [
            {"id": "size", "type": "huge"},
            {"id": "colour", "type": "string", "choices": [{"value": "red"}]},
            {"id": "count", "type": "long", "min": 5, "max": 1},
            {"id": "kind", "type": "enum", "choices": []},
            {"id": "note", "type": "string", "maxlen": 3},
            {"id": "class", "type": "string"},
            {"id": "level", "type": "long", "default": "high"},
        ]
    }

    with pytest.raises(InvalidDefinitionError) as error:
        parse_form_file(*_file(data, "bad.form.json"))

    assert [(p.file, p.element_id, p.message) for p in error.value.problems] == [
        (
            "bad.form.json",
            "size",
            "type must be one of string, text, long, decimal, boolean, date, datetime, enum, "
            "multi_enum, not 'huge'",
        ),
        ("bad.form.json", "colour", "choices are only allowed on enum and multi_enum fields"),
        ("bad.form.json", "count", "min is greater than max"),
        ("bad.form.json", "kind", "choices must be a non-empty list"),
        ("bad.form.json", "note", "unknown field key 'maxlen'"),
        ("bad.form.json", "class", "field #6: id must be a Python identifier, not 'class'"),
        ("bad.form.json", "level", "default 'high' is invalid: must be a whole number"),
    ]


def test_form_file_rejects_duplicate_field_ids() -> None:
    data = {"fields": [{"id": "a", "type": "string"}, {"id": "a", "type": "long"}]}

    with pytest.raises(InvalidDefinitionError) as error:
        parse_form_file(*_file(data, "dup.form.json"))

    assert error.value.problems == [
        DefinitionProblem("dup.form.json", "a", "field id 'a' is used twice"),
    ]


def test_form_spec_round_trips_through_its_dict() -> None:
    form = parse_form_file(*_file(INTAKE))

    again = form_from_dict(json.loads(json.dumps(form.to_dict())), file="x")

    assert again == form


@pytest.mark.parametrize(
    "reference",
    [
        "intake",
        "forms/intake",
        "intake.form.json",
        "embedded:deployment:intake.form",
        "camunda-forms:deployment:forms/intake.form",
        "embedded:app:forms/intake.html",
    ],
)
def test_form_key_name_follows_the_file_convention(reference: str) -> None:
    assert form_key_name(reference) == "intake"


# -- Camunda formData ------------------------------------------------------------------------


def _camunda_form(*fields: dict[str, object]) -> Form:
    base = {"default_value": None, "label": None, "properties": [], "validation": []}
    return Form(init={"key": None, "fields": [{**base, **f} for f in fields]})


def test_camunda_form_data_converts_types_constraints_and_enum_values() -> None:
    camunda = _camunda_form(
        {
            "id": "amount",
            "type": "long",
            "label": "金额",
            "default_value": "10",
            "validation": [
                {"name": "required", "config": None},
                {"name": "min", "config": "1"},
                {"name": "max", "config": "99"},
            ],
        },
        {
            "id": "remark",
            "type": "string",
            "validation": [
                {"name": "maxlength", "config": "20"},
                {"name": "readonly", "config": None},
            ],
        },
        {
            "id": "result",
            "type": "enum",
            "label": "结果",
            "options": [{"id": "ok", "name": "通过"}, {"id": "back", "name": "退回"}],
        },
    )

    form = form_from_camunda(camunda, key="check", title="审核", file="p.bpmn", element_id="check")

    assert form == FormSpec(
        key="check",
        title="审核",
        fields=(
            FieldSpec(
                id="amount", label="金额", type="long", required=True, default=10, min=1, max=99
            ),
            FieldSpec(id="remark", label="remark", type="string", max_length=20, readonly=True),
            FieldSpec(
                id="result", label="结果", type="enum", choices=(("ok", "通过"), ("back", "退回"))
            ),
        ),
    )


def test_camunda_form_data_rejects_unsupported_type_and_constraint() -> None:
    camunda = _camunda_form(
        {"id": "photo", "type": "file"},
        {"id": "code", "type": "string", "validation": [{"name": "validator", "config": "x"}]},
        {"id": "when", "type": "date", "default_value": "01/02/2024"},
    )

    with pytest.raises(InvalidDefinitionError) as error:
        form_from_camunda(camunda, key="t", title=None, file="p.bpmn", element_id="t")

    assert [(p.file, p.element_id, p.message) for p in error.value.problems] == [
        ("p.bpmn", "t", "form field 'photo': unsupported type 'file'"),
        ("p.bpmn", "t", "form field 'code': unsupported constraint 'validator'"),
        (
            "p.bpmn",
            "t",
            "form field 'when': default '01/02/2024' is invalid: must be a date in the form "
            "YYYY-MM-DD",
        ),
    ]


# -- validating submitted data ---------------------------------------------------------------


def test_form_coerces_web_form_strings() -> None:
    form = parse_form_file(*_file(INTAKE))

    cleaned = validate_form(
        form,
        {
            "applicant_name": "  张伟 ",
            "amount": "12",
            "fee": "3.50",
            "urgent": "on",
            "due": "2024-05-01",
            "decision": "approve",
        },
    )

    assert cleaned == {
        "applicant_name": "张伟",
        "amount": 12,
        "fee": 3.5,
        "urgent": True,
        "due": "2024-05-01",
        "decision": "approve",
    }


def test_form_rejects_value_outside_enum() -> None:
    form = parse_form_file(*_file(INTAKE))

    with pytest.raises(FormValidationError) as error:
        validate_form(form, {"applicant_name": "张伟", "decision": "maybe"})

    assert error.value.problems == [
        FieldProblem("decision", "'maybe' is not one of: approve, refuse"),
    ]


def test_form_collects_unknown_missing_wrong_type_and_range_problems() -> None:
    form = parse_form_file(*_file(INTAKE))

    with pytest.raises(FormValidationError) as error:
        validate_form(
            form,
            {
                "amount": "-1",
                "fee": "a lot",
                "urgent": "perhaps",
                "due": "2024-02-30",
                "colour": "red",
            },
        )

    assert _problems(error) == {
        "colour": "unknown field",
        "applicant_name": "this field is required",
        "amount": "must be at least 0",
        "fee": "must be a number",
        "urgent": "must be true or false",
        "due": "is not a real date",
        "decision": "this field is required",
    }
    assert error.value.to_dict()["fields"] == _problems(error)


def test_form_applies_defaults_and_empty_values_for_optional_fields() -> None:
    form = _form(
        {"id": "level", "type": "long", "default": 3},
        {"id": "agreed", "type": "boolean"},
        {"id": "tags", "type": "multi_enum", "choices": [{"value": "a"}]},
        {"id": "note", "type": "text"},
        {
            "id": "kind",
            "type": "enum",
            "required": True,
            "default": "x",
            "choices": [{"value": "x"}, {"value": "y"}],
        },
    )

    assert validate_form(form, {"note": "   "}) == {
        "level": 3,
        "agreed": False,
        "tags": [],
        "note": None,
        "kind": "x",
    }


def test_form_enforces_string_lengths_and_number_bounds() -> None:
    form = _form(
        {"id": "name", "type": "string", "min_length": 2, "max_length": 4},
        {"id": "score", "type": "decimal", "min": 0, "max": 1},
    )

    with pytest.raises(FormValidationError) as error:
        validate_form(form, {"name": "张三李四王", "score": 1.5})

    assert _problems(error) == {
        "name": "must be at most 4 characters",
        "score": "must be at most 1",
    }
    assert validate_form(form, {"name": "张三", "score": "0.25"}) == {"name": "张三", "score": 0.25}


@pytest.mark.parametrize(
    ("field_type", "value", "message"),
    [
        ("long", True, "must be a whole number"),
        ("long", "1.5", "must be a whole number"),
        ("long", "9" * 30, "must be a whole number"),
        ("long", 2**64, "number is too large"),
        ("decimal", "nan", "must be a finite number"),
        ("string", 12, "must be text"),
        ("date", "01/02/2024", "must be a date in the form YYYY-MM-DD"),
        ("datetime", "tomorrow", "must be a date and time in ISO 8601 form"),
    ],
)
def test_form_rejects_wrong_types(field_type: str, value: object, message: str) -> None:
    form = _form({"id": "v", "type": field_type})

    with pytest.raises(FormValidationError) as error:
        validate_form(form, {"v": value})

    assert error.value.problems == [FieldProblem("v", message)]


def test_form_keeps_dates_and_datetimes_as_iso_strings() -> None:
    form = _form({"id": "day", "type": "date"}, {"id": "at", "type": "datetime"})

    assert validate_form(form, {"day": date(2024, 5, 1), "at": "2024-05-01T09:30+08:00"}) == {
        "day": "2024-05-01",
        "at": "2024-05-01T09:30:00+08:00",
    }
    assert validate_form(
        form, {"day": "2024-05-01", "at": datetime(2024, 5, 1, 9, 30, tzinfo=UTC)}
    ) == {
        "day": "2024-05-01",
        "at": "2024-05-01T09:30:00+00:00",
    }


def test_form_multi_enum_accepts_lists_and_rejects_unknown_choices() -> None:
    form = _form(
        {
            "id": "docs",
            "type": "multi_enum",
            "required": True,
            "choices": [{"value": "id_card"}, {"value": "licence"}],
        }
    )

    assert validate_form(form, {"docs": ["licence", "id_card", "licence"]}) == {
        "docs": ["licence", "id_card"],
    }
    assert validate_form(form, {"docs": "licence"}) == {"docs": ["licence"]}
    with pytest.raises(FormValidationError) as error:
        validate_form(form, {"docs": ["passport"]})
    assert error.value.problems == [
        FieldProblem("docs", "'passport' is not one of: id_card, licence")
    ]
    with pytest.raises(FormValidationError) as error:
        validate_form(form, {"docs": []})
    assert error.value.problems == [FieldProblem("docs", "this field is required")]


def test_form_readonly_field_is_left_out_and_cannot_be_changed() -> None:
    form = _form(
        {"id": "case_no", "type": "string", "readonly": True, "default": "A-1"},
        {"id": "note", "type": "string"},
    )

    assert validate_form(form, {"case_no": "A-1", "note": "ok"}) == {"note": "ok"}
    with pytest.raises(FormValidationError) as error:
        validate_form(form, {"case_no": "B-2"})
    assert error.value.problems == [FieldProblem("case_no", "field is read-only")]
