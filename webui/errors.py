"""Error pages, and the one table that maps engine exceptions to HTTP statuses.

Every error is a page that says what went wrong and what to do, in the person's language;
never a stack trace (the 500 page says nothing of the cause, the log has it). The JSON
API (``api`` blueprint) gets the same statuses as JSON bodies.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from flask import Flask, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from flask_limiter.errors import RateLimitExceeded
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from engine import (
    ConflictError,
    FormValidationError,
    InvalidDefinitionError,
    InvalidInputError,
    NotFoundError,
    NotPermittedError,
    XiaonengError,
)

log = logging.getLogger(__name__)

#: Engine exception → HTTP status, most specific first (STYLE.md: one table).
#: Any other engine error (a script or case error, a calendar year without data) is a
#: fault of the server's set-up or of a diagram, not of the request: 500.
ENGINE_ERRORS: Sequence[tuple[type[XiaonengError], int]] = (
    (NotFoundError, 404),
    (NotPermittedError, 403),
    (ConflictError, 409),
    (InvalidDefinitionError, 422),
    (FormValidationError, 422),
    (InvalidInputError, 422),
)


def status_of(exc: XiaonengError) -> int:
    """The HTTP status of an engine exception."""
    for cls, status in ENGINE_ERRORS:
        if isinstance(exc, cls):
            return status
    return 500


#: status → (title, what to do)
PAGES: dict[int, tuple[LazyString, LazyString]] = {
    400: (
        _l("请求无法处理"),
        _l("请求不完整或已失效。请返回上一页，刷新后重新操作。"),
    ),
    403: (
        _l("无权操作"),
        _l("您没有办理这项事务的权限。如确需办理，请联系任务的持有人或本部门负责人。"),
    ),
    404: (
        _l("页面不存在"),
        _l("您要找的页面、办件或任务不存在，或不在您的办理范围内。请从待办列表重新进入。"),
    ),
    405: (
        _l("操作方式不正确"),
        _l("请使用页面上的按钮操作，不要直接打开此地址。"),
    ),
    409: (
        _l("操作冲突"),
        _l("这项事务刚刚被他人处理或已经变化。请刷新页面，查看最新状态后再操作。"),
    ),
    413: (
        _l("上传的内容过大"),
        _l("本次提交的文件总量超过了上限。请压缩或拆分文件（单个文件不超过 20 MB）后重新提交。"),
    ),
    422: (
        _l("内容有误"),
        _l("提交的内容不符合要求。请返回修改后重新提交。"),
    ),
    429: (
        _l("尝试次数过多"),
        _l("短时间内尝试次数过多。请稍等一分钟后再试；如忘记密码，请联系系统管理员。"),
    ),
    500: (
        _l("系统出错"),
        _l("系统暂时无法完成这项操作，已记录此错误。请稍后再试；如仍出错，请联系系统管理员。"),
    ),
}

_CSRF_DETAIL = _l("表单的安全令牌缺失或已过期（例如页面打开太久）。")


def render_error(status: int, detail: str | LazyString | None = None) -> ResponseReturnValue:
    """The error page (or, for the JSON API, a JSON body) for ``status``."""
    title, advice = PAGES.get(status, PAGES[500] if status >= 500 else PAGES[400])
    if request.blueprint == "api":  # the API's one error shape (webui.api.errors)
        from webui.api.errors import error_response

        return error_response(status, str(detail or advice))
    return (
        render_template(
            "errors/error.html", status=status, title=title, advice=advice, detail=detail
        ),
        status,
    )


def _http_error(exc: HTTPException) -> ResponseReturnValue:
    status = exc.code or 500
    detail: str | LazyString | None = None
    if isinstance(exc, CSRFError):
        detail = _CSRF_DETAIL
    elif isinstance(exc, RateLimitExceeded):
        # the advice says it all (Flask-Limiter adds the Retry-After header)
        detail = None
    elif exc.description and exc.description != type(exc).description:
        detail = exc.description  # a reason given on purpose (abort(403, description=…))
    return render_error(status, detail)


def _engine_error(exc: XiaonengError) -> ResponseReturnValue:
    status = status_of(exc)
    if status == 500:
        log.error("engine error: %s", exc.message, exc_info=exc)
        return render_error(500)
    log.info("engine refused (%d): %s", status, exc.message)
    return render_error(status, exc.message)


def _server_error(exc: InternalServerError) -> ResponseReturnValue:
    return render_error(500)


def init_app(app: Flask) -> None:
    """Register the handlers."""
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(XiaonengError, _engine_error)
    app.register_error_handler(InternalServerError, _server_error)
