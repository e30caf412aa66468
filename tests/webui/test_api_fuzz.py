"""A schema-driven fuzz run of the JSON API (schemathesis): every operation of the served
OpenAPI document, with generated valid and invalid requests, against the real engine on
the test database. No request may get a server error, and every answer must match the
document (status, content type, body schema).

Bounded and deterministic: a few dozen examples per operation, derandomized.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from engine import Engine
from tests.conftest import GENERAL_PERMIT, TEST_ITEMS
from tests.helpers import only_task

#: Examples per operation and round (valid, invalid, on the real task or case).
MAX_EXAMPLES = 25
CHECKS = [
    schemathesis.checks.not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture
def fuzzed(engine: Engine, app: Flask) -> dict[str, Any]:
    """The app with content to act on: general_permit, items, a case, and tokens of a
    window officer (tasks, cases) and an admin (definitions)."""
    engine.deploy(GENERAL_PERMIT, actor="admin")
    engine.load_items([TEST_ITEMS])
    engine.start_case(
        "general_permit", "GP-1", actor="window01", data={"applicant": "某某公司"}, item="T-0101"
    )
    task = only_task(engine, "GP-1")
    engine.claim(task.id, actor="window01")
    _view, officer = engine.create_api_token("window01", label="fuzz", actor="window01")
    _view, admin = engine.create_api_token("admin", label="fuzz", actor="admin")
    return {"officer": officer, "admin": admin, "task_id": task.id}


def test_the_api_answers_every_generated_request_without_a_server_error(
    app: Flask, fuzzed: dict[str, Any]
) -> None:
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    # every operation but the document's own
    assert len(operations) >= 16, [op.label for op in operations]
    for operation in operations:
        token = fuzzed["admin"] if operation.path.startswith("/definitions") else fuzzed["officer"]
        headers = {"Authorization": f"Bearer {token}"}
        rounds = [(GenerationMode.POSITIVE, {}), (GenerationMode.NEGATIVE, {})]
        if "{task_id}" in operation.path:  # the real task, with generated bodies
            rounds.append((GenerationMode.POSITIVE, {"task_id": fuzzed["task_id"]}))
        if "{key}" in operation.path:
            rounds.append((GenerationMode.POSITIVE, {"key": "GP-1"}))
        for mode, path_parameters in rounds:
            strategy = operation.as_strategy(
                generation_mode=mode, path_parameters=path_parameters or None
            )
            try:
                _fuzz(strategy, headers)
            except Unsatisfiable:
                if mode is GenerationMode.POSITIVE:
                    raise
                # nothing of the request can be made invalid (no parameters, no body)


def _fuzz(strategy: Any, headers: dict[str, str]) -> None:
    @given(strategy)
    @settings(
        max_examples=MAX_EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        case.call_and_validate(headers=headers, checks=CHECKS)

    run()
