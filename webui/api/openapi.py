"""The OpenAPI 3.1 document of the JSON API, kept by hand next to the routes it describes.

``GET /api/v1/openapi.json`` serves :func:`document`; the test suite fuzzes the API
against it (schemathesis), so a route and its description change together.
"""

from __future__ import annotations

from typing import Any

VERSION = "1.0.0"

_NULLABLE_STRING = {"type": ["string", "null"]}
_MOMENT = {"type": "string", "format": "date-time"}
_NULLABLE_MOMENT = {"type": ["string", "null"], "format": "date-time"}
_STRINGS = {"type": "array", "items": {"type": "string"}}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _object(properties: dict[str, Any], *, required: list[str] | None = None) -> dict[str, Any]:
    """A response object: every listed property is there (the dataclasses' fields)."""
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties) if required is None else required,
    }


SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "description": "Every error response.",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message", "fields"],
                "properties": {
                    "code": {
                        "type": "string",
                        "description": "bad_request, unauthorized, not_permitted, not_found, "
                        "conflict, too_large, invalid_input, form_invalid, "
                        "invalid_definition …",
                    },
                    "message": {"type": "string"},
                    "fields": {"type": "array", "items": _ref("FieldProblem")},
                },
            }
        },
    },
    "FieldProblem": {
        "type": "object",
        "description": "One problem with one field (for a rejected deployment: one element "
        "of one file).",
        "required": ["field", "message"],
        "properties": {
            "field": {"type": "string"},
            "message": {"type": "string"},
            "file": {"type": "string"},
            "element_id": _NULLABLE_STRING,
        },
    },
    "Person": _object(
        {
            "id": {"type": "string"},
            "name": {"type": "string"},
            "active": {"type": "boolean"},
            "groups": _STRINGS,
        }
    ),
    "FormField": _object(
        {
            "id": {"type": "string"},
            "label": {"type": "string"},
            "type": {"type": "string"},
            "required": {"type": "boolean"},
            "choices": {
                "type": "array",
                "items": {"type": "array", "items": {"type": "string"}},
            },
            "default": {},
        }
    ),
    "Task": _object(
        {
            "id": {"type": "string"},
            "case_id": {"type": "integer"},
            "business_key": {"type": "string"},
            "process_id": {"type": "string"},
            "element_id": {"type": "string"},
            "name": _NULLABLE_STRING,
            "lane": _NULLABLE_STRING,
            "state": {"type": "string", "description": "open, completed, cancelled …"},
            "assignee": _NULLABLE_STRING,
            "owner": _NULLABLE_STRING,
            "delegation": _NULLABLE_STRING,
            "candidate_users": _STRINGS,
            "candidate_groups": _STRINGS,
            "priority": {"type": ["integer", "null"]},
            "due_at": _NULLABLE_MOMENT,
            "created_at": _MOMENT,
            "claimed_at": _NULLABLE_MOMENT,
            "ended_at": _NULLABLE_MOMENT,
            "completed_by": _NULLABLE_STRING,
            "opinion": _NULLABLE_STRING,
            "multi_instance_of": _NULLABLE_STRING,
            "form": {"type": "array", "items": _ref("FormField")},
            "data": {"type": "object"},
            "next_tasks": {
                "description": "After an action: the ids of the case's open tasks.",
                **_STRINGS,
            },
        }
    ),
    "TaskList": _object({"tasks": {"type": "array", "items": _ref("Task")}}),
    "AuditLine": _object(
        {
            "id": {"type": "integer"},
            "at": _MOMENT,
            "actor": _NULLABLE_STRING,
            "action": {"type": "string"},
            "case_id": {"type": ["integer", "null"]},
            "task_id": _NULLABLE_STRING,
            "element_id": _NULLABLE_STRING,
            "detail": {"type": ["object", "null"]},
            "opinion": _NULLABLE_STRING,
        }
    ),
    "History": _object({"history": {"type": "array", "items": _ref("AuditLine")}}),
    "Case": _object(
        {
            "id": {"type": "integer"},
            "business_key": {"type": "string", "description": "The case number (办件编号)."},
            "process_id": {"type": "string"},
            "definition_id": {"type": "integer"},
            "definition_version": {"type": "integer"},
            "status": {"type": "string"},
            "title": _NULLABLE_STRING,
            "started_by": _NULLABLE_STRING,
            "started_at": _MOMENT,
            "updated_at": _MOMENT,
            "ended_at": _NULLABLE_MOMENT,
            "row_version": {
                "type": "integer",
                "description": "Pass as expected_version when completing a task.",
            },
            "data": {"type": "object"},
            "open_tasks": {"type": "array", "items": _ref("Task")},
            "history": {"type": "array", "items": _ref("AuditLine")},
            "error": _NULLABLE_STRING,
            "item_code": _NULLABLE_STRING,
            "due_at": {
                "description": "The promised completion moment (承诺办结时间).",
                **_NULLABLE_MOMENT,
            },
            "accepted_at": _NULLABLE_MOMENT,
            "deemed_accepted": {"type": "boolean"},
        }
    ),
    "Definition": _object(
        {
            "id": {"type": "integer"},
            "process_id": {"type": "string"},
            "version": {"type": "integer"},
            "name": _NULLABLE_STRING,
            "content_hash": {"type": "string"},
            "source_file": {"type": "string"},
            "deployed_at": _MOMENT,
            "deployed_by": _NULLABLE_STRING,
        }
    ),
    "DefinitionList": _object({"definitions": {"type": "array", "items": _ref("Definition")}}),
    "DeploymentResult": _object(
        {
            "definitions": {"type": "array", "items": _ref("Definition")},
            "created": _STRINGS,
            "unchanged": _STRINGS,
        }
    ),
    "Item": _object(
        {
            "code": {"type": "string"},
            "name": {"type": "string"},
            "department": {"type": "string"},
            "process": {"type": "string"},
            "statutory_days": {"type": "integer"},
            "promised_days": {"type": "integer"},
            "joint": {"type": "boolean"},
            "sample": {"type": "boolean"},
            "legal_basis": {"type": "string"},
            "conditions": {"type": "string"},
            "fees": {"type": "string"},
            "steps": {
                "type": "array",
                "items": _object(
                    {
                        "step": {"type": "string"},
                        "name": {"type": "string"},
                        "days": {"type": "integer"},
                    }
                ),
            },
            "materials": {
                "type": "array",
                "items": _object(
                    {
                        "name": {"type": "string"},
                        "required": {"type": "boolean"},
                        "copies": {"type": "integer"},
                        "note": {"type": "string"},
                    }
                ),
            },
        }
    ),
    "ItemList": _object({"items": {"type": "array", "items": _ref("Item")}}),
    # request bodies
    "CompleteRequest": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "data": {"type": "object", "description": "The task's form fields."},
            "opinion": {"type": ["string", "null"], "description": "审批意见"},
            "expected_version": {
                "type": ["integer", "null"],
                "description": "The case's row_version as loaded: 409 if it changed.",
            },
        },
    },
    "HandOverRequest": {
        "type": "object",
        "additionalProperties": False,
        "required": ["to"],
        "properties": {
            "to": {"type": "string", "maxLength": 64, "description": "A person's id."},
            "reason": {"type": ["string", "null"]},
        },
    },
    "ResolveRequest": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "data": {"type": "object"},
            "opinion": {"type": ["string", "null"]},
        },
    },
    "StartCaseRequest": {
        "type": "object",
        "additionalProperties": False,
        "required": ["process_id"],
        "properties": {
            "process_id": {"type": "string", "maxLength": 200},
            "business_key": {
                "type": ["string", "null"],
                "maxLength": 100,
                "description": "The case number; made up when not given.",
            },
            "item_code": {
                "type": ["string", "null"],
                "maxLength": 64,
                "description": "A service item's code: the case gets its deadlines.",
            },
            "title": {"type": ["string", "null"], "maxLength": 400},
            "data": {"type": "object", "description": "The start data (applicant …)."},
        },
    },
    "DeployRequest": {
        "type": "object",
        "required": ["files"],
        "properties": {
            "files": {
                "type": "array",
                "items": {"type": "string", "contentMediaType": "application/octet-stream"},
                "description": ".bpmn, .dmn and .form.json files, deployed as one bundle.",
            }
        },
    },
}

_ERRORS = {
    "400": "The body is not JSON, or not a JSON object.",
    "401": "No token, or a token that is wrong, expired or revoked.",
    "403": "The person may not do this (role, or someone else holds the task).",
    "404": "No such object, or one the person may not see.",
    "409": "The object changed meanwhile (already claimed or completed, stale version).",
    "413": "The request is too large.",
    "422": "The content is wrong: ``fields`` names each wrong field.",
}

RESPONSES: dict[str, Any] = {
    f"E{status}": {
        "description": text,
        "content": {"application/json": {"schema": _ref("Error")}},
    }
    for status, text in _ERRORS.items()
}


def _json(schema: str, description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ref(schema)}}}


def _operation(
    summary: str,
    response: str,
    *,
    status: str = "200",
    errors: tuple[str, ...] = ("401", "403", "404"),
    body: str | None = None,
    tags: tuple[str, ...] = (),
    public: bool = False,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    responses: dict[str, Any] = {status: _json(response, summary)}
    for code in errors:
        responses[code] = {"$ref": f"#/components/responses/E{code}"}
    operation: dict[str, Any] = {"summary": summary, "tags": list(tags), "responses": responses}
    if body is not None:
        operation["requestBody"] = {
            "required": False,
            "content": {"application/json": {"schema": _ref(body)}},
        }
    if public:
        operation["security"] = []
    if extra:
        operation.update(extra)
    return operation


_TASK_ID = {
    "name": "task_id",
    "in": "path",
    "required": True,
    "schema": {"type": "string"},
    "description": "The task's id.",
}
_CASE_KEY = {
    "name": "key",
    "in": "path",
    "required": True,
    "schema": {"type": "string"},
    "description": "The case number (办件编号).",
}
_ACTION_ERRORS = ("400", "401", "403", "404", "409", "413", "422")


def _task_action(summary: str, body: str | None) -> dict[str, Any]:
    return {
        "parameters": [_TASK_ID],
        "post": _operation(summary, "Task", errors=_ACTION_ERRORS, body=body, tags=("tasks",)),
    }


def _paths() -> dict[str, Any]:
    return {
        "/openapi.json": {
            "get": {
                "summary": "This document.",
                "tags": ["meta"],
                "security": [],
                "responses": {
                    "200": {
                        "description": "The OpenAPI document.",
                        "content": {"application/json": {"schema": {"type": "object"}}},
                    }
                },
            }
        },
        "/health": {
            "get": {
                "summary": "Liveness check.",
                "tags": ["meta"],
                "security": [],
                "responses": {
                    "200": {
                        "description": "The app answers.",
                        "content": {
                            "application/json": {"schema": _object({"status": {"type": "string"}})}
                        },
                    }
                },
            }
        },
        "/me": {"get": _operation("The token's person.", "Person", errors=("401",))},
        "/tasks": {
            "get": _operation(
                "The inbox (待办, state=open) or the completed tasks (已办, state=done).",
                "TaskList",
                errors=("401", "403", "422"),
                tags=("tasks",),
                extra={
                    "parameters": [
                        {
                            "name": "state",
                            "in": "query",
                            "required": False,
                            "schema": {"type": "string", "enum": ["open", "done"]},
                        }
                    ]
                },
            )
        },
        "/tasks/{task_id}": {
            "parameters": [_TASK_ID],
            "get": _operation("A task with its form and data.", "Task", tags=("tasks",)),
        },
        "/tasks/{task_id}/claim": _task_action("Claim (认领) an offered task.", None),
        "/tasks/{task_id}/unclaim": _task_action("Give a claimed task back.", None),
        "/tasks/{task_id}/complete": _task_action(
            "Complete a held task with its form data and an opinion.", "CompleteRequest"
        ),
        "/tasks/{task_id}/transfer": _task_action(
            "转办: hand a held task to another person for good.", "HandOverRequest"
        ),
        "/tasks/{task_id}/delegate": _task_action(
            "委派: lend a held task to another person until they resolve it.",
            "HandOverRequest",
        ),
        "/tasks/{task_id}/resolve": _task_action(
            "The delegate's answer: the task goes back to its owner.", "ResolveRequest"
        ),
        "/cases": {
            "post": _operation(
                "Start a case (受理); window officers and admins.",
                "Case",
                status="201",
                errors=("400", "401", "403", "409", "413", "422"),
                body="StartCaseRequest",
                tags=("cases",),
            )
        },
        "/cases/{key}": {
            "parameters": [_CASE_KEY],
            "get": _operation("A case with its data and open tasks.", "Case", tags=("cases",)),
        },
        "/cases/{key}/history": {
            "parameters": [_CASE_KEY],
            "get": _operation("The case's audit trail.", "History", tags=("cases",)),
        },
        "/definitions": {
            "get": _operation(
                "Every deployed process version (admins).",
                "DefinitionList",
                errors=("401", "403"),
                tags=("definitions",),
            ),
            "post": {
                **_operation(
                    "Deploy BPMN/DMN/form files as one bundle (admins); a rejected bundle "
                    "lists its problems by element id in ``fields``.",
                    "DeploymentResult",
                    status="201",
                    errors=("400", "401", "403", "409", "413", "422"),
                    tags=("definitions",),
                ),
                "requestBody": {
                    "required": True,
                    "content": {"multipart/form-data": {"schema": _ref("DeployRequest")}},
                },
            },
        },
        "/items": {
            "get": _operation(
                "The service items (办理事项).", "ItemList", errors=("401",), tags=("items",)
            )
        },
    }


def document(*, server: str = "/api/v1") -> dict[str, Any]:
    """The OpenAPI 3.1 document, with ``server`` as the API's base URL."""
    paths = _paths()
    # a deployment that changed nothing answers 200 with the same body
    paths["/definitions"]["post"]["responses"]["200"] = _json(
        "DeploymentResult", "Nothing new: every file was deployed before."
    )
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Xiaoneng (效能) API",
            "version": VERSION,
            "description": (
                "The officer's and the admin's operations for integrations. Authenticate "
                "with a personal access token (made at /account/tokens) as "
                "`Authorization: Bearer <token>`; the token's person may do what the web "
                "UI lets them do. Every error is an `Error` object."
            ),
        },
        "servers": [{"url": server}],
        "security": [{"bearerAuth": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A personal access token.",
                }
            },
            "schemas": SCHEMAS,
            "responses": RESPONSES,
        },
    }
