"""Error pages: what went wrong and what to do, never a stack trace; engine errors mapped."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask, abort
from flask.testing import FlaskClient

from engine import (
    CaseError,
    ConflictError,
    DefinitionProblem,
    Engine,
    FieldProblem,
    FormValidationError,
    InvalidDefinitionError,
    InvalidInputError,
    NotFoundError,
    NotPermittedError,
    ScriptError,
    XiaonengError,
)
from webui import create_app
from webui.config import TEST_CONFIG
from webui.errors import ENGINE_ERRORS, PAGES, status_of

RAISED: list[tuple[XiaonengError, int]] = [
    (NotFoundError("case", "X-1"), 404),
    (InvalidDefinitionError([DefinitionProblem("a.bpmn", "t1", "bad")]), 422),
    (FormValidationError([FieldProblem("amount", "must be a number")]), 422),
    (InvalidInputError("bad JSON"), 422),
    (NotPermittedError("not a candidate", actor="x"), 403),
    (ConflictError("changed under you"), 409),
    (ScriptError("bad expression", element_id="t1"), 500),
    (CaseError("step failed"), 500),
]


@pytest.fixture
def failing_app(engine: Engine) -> Flask:
    """An app with routes that fail in each way (exceptions reach the handlers, as in
    production)."""
    app = create_app({**TEST_CONFIG, "PROPAGATE_EXCEPTIONS": False}, engine=engine)

    @app.route("/test/engine/<int:index>")
    def engine_error(index: int) -> str:
        raise RAISED[index][0]

    @app.route("/test/crash")
    def crash() -> str:
        raise RuntimeError("secret internals: password=hunter2")

    @app.route("/test/abort/<int:status>")
    def aborted(status: int) -> str:
        abort(status)

    return app


def test_engine_exceptions_map_to_http_statuses() -> None:
    for exc, status in RAISED:
        assert status_of(exc) == status, type(exc).__name__
    # the table is ordered most specific first: a subclass never hides behind its base
    classes = [cls for cls, _status in ENGINE_ERRORS]
    for i, cls in enumerate(classes):
        assert not any(issubclass(cls, earlier) for earlier in classes[:i]), cls


@pytest.mark.parametrize("index", range(len(RAISED)))
def test_engine_errors_become_pages(failing_app: Flask, index: int) -> None:
    exc, status = RAISED[index]
    response = failing_app.test_client().get(f"/test/engine/{index}")
    assert response.status_code == status
    text = response.get_data(as_text=True)
    assert str(PAGES[status][0]) in text
    assert "Traceback" not in text
    if status == 500:
        assert exc.message not in text  # the cause is for the log, not the page


def test_unexpected_exception_is_a_500_page_without_a_trace(failing_app: Flask) -> None:
    response = failing_app.test_client().get("/test/crash")
    assert response.status_code == 500
    text = response.get_data(as_text=True)
    assert "系统出错" in text and "系统管理员" in text
    for leak in ("Traceback", "RuntimeError", "hunter2", 'File "'):
        assert leak not in text


@pytest.mark.parametrize("status", [400, 403, 404, 405, 409, 422, 429, 500])
def test_every_error_page_says_what_to_do(failing_app: Flask, status: int) -> None:
    response = failing_app.test_client().get(f"/test/abort/{status}")
    assert response.status_code == status
    text = response.get_data(as_text=True)
    title, advice = PAGES[status]
    assert str(title) in text and str(advice) in text
    assert "Traceback" not in text and "<script" not in text


def test_error_pages_speak_english_on_request(failing_app: Flask) -> None:
    response = failing_app.test_client().get("/test/abort/404", headers={"Accept-Language": "en"})
    assert "Not found" in response.get_data(as_text=True)


def test_unknown_page_is_the_404_page(client: FlaskClient) -> None:
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert "页面不存在" in response.get_data(as_text=True)


def test_error_page_for_a_logged_in_person_keeps_the_layout(
    login_as: Callable[..., FlaskClient],
) -> None:
    text = login_as("window01").get("/no/such/page").get_data(as_text=True)
    assert "王晓燕" in text and "返回首页" in text
