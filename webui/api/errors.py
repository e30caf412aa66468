"""The API's errors: one JSON shape for every failure, with the web UI's status table.

Every error the API returns is ``{"error": {"code": …, "message": …, "fields": […]}}``
with the status of ``webui.errors.status_of`` for engine exceptions (one table), and the
HTTP status of anything else (bad JSON 400, no token 401, too large 413 …). Never a stack
trace: a server fault is a 500 with a fixed message (the log has the cause).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from flask import Response, jsonify
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException, InternalServerError

from engine import FormValidationError, InvalidDefinitionError, XiaonengError
from webui.api import bp
from webui.errors import PAGES, status_of

log = logging.getLogger(__name__)

#: HTTP status → the ``code`` of the error body (engine errors bring their own code).
HTTP_CODES: Mapping[int, str] = {
    400: "bad_request",
    401: "unauthorized",
    403: "not_permitted",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid_input",
    429: "too_many_requests",
    500: "server_error",
}


class ApiError(Exception):
    """An error the API itself finds in a request (not the engine's)."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        fields: Iterable[Mapping[str, Any]] = (),
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.fields = list(fields)
        self.headers = dict(headers or {})


def field_error(name: str, message: str) -> ApiError:
    """A 422 naming the field that is wrong."""
    return ApiError(422, message, fields=[{"field": name, "message": message}])


def error_response(
    status: int,
    message: str,
    *,
    code: str | None = None,
    fields: Iterable[Mapping[str, Any]] = (),
) -> Response:
    """The JSON error body with its status."""
    body = {
        "error": {
            "code": code or HTTP_CODES.get(status, "error"),
            "message": message,
            "fields": list(fields),
        }
    }
    response = jsonify(body)
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="xiaoneng"'
    return response


def _advice(status: int) -> str:
    title, advice = PAGES.get(status, PAGES[500] if status >= 500 else PAGES[400])
    return f"{title}: {advice}"


@bp.errorhandler(ApiError)
def _api_error(exc: ApiError) -> Response:
    response = error_response(exc.status, exc.message, fields=exc.fields)
    response.headers.update(exc.headers)
    return response


@bp.errorhandler(XiaonengError)
def _engine_error(exc: XiaonengError) -> Response:
    status = status_of(exc)
    if status == 500:
        log.error("engine error: %s", exc.message, exc_info=exc)
        return error_response(500, _advice(500))
    log.info("API: engine refused (%d): %s", status, exc.message)
    fields: list[dict[str, Any]] = []
    if isinstance(exc, FormValidationError):
        fields = [{"field": p.field, "message": p.message} for p in exc.problems]
    elif isinstance(exc, InvalidDefinitionError):
        fields = [
            {
                "field": p.element_id or p.file,
                "file": p.file,
                "element_id": p.element_id,
                "message": p.message,
            }
            for p in exc.problems
        ]
    return error_response(status, exc.message, code=exc.code, fields=fields)


@bp.errorhandler(InternalServerError)
def _server_error(exc: InternalServerError) -> Response:
    return error_response(500, _advice(500))


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException) -> Response:
    status = exc.code or 500
    if status >= 500:
        return error_response(status, _advice(status))
    message = _advice(status)
    if exc.description and exc.description != type(exc).description:
        message = str(exc.description)  # a reason given on purpose (abort(403, description=…))
    response = error_response(status, message)
    allowed = getattr(exc, "valid_methods", None)  # a 405 says what is allowed
    if allowed:
        response.headers["Allow"] = ", ".join(allowed)
    return response


def not_found() -> ApiError:
    """The 404 of a path the API does not have."""
    return ApiError(404, _advice(404))


def unauthorized(message: str | None = None) -> ApiError:
    """The 401 of a request without a valid token."""
    return ApiError(
        401,
        message or _("缺少有效的访问令牌。请在 Authorization 请求头中提供 Bearer 令牌。"),
    )
