"""The API's routes: the officer's and the admin's operations as JSON (see ``openapi.py``).

The person is the bearer token's (``webui.api.auth``); they may do what the web UI lets
them do: tasks through ``webui.permissions`` (404 for a task they may not see, 403 for
acting on a task someone else holds), cases they have or had a task of (supervisors and
admins: every case), deployments for admins only.
"""

from __future__ import annotations

import secrets
from pathlib import PurePosixPath

from flask import Response, current_app, jsonify, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException
from werkzeug.routing import MapAdapter

from engine import (
    CaseError,
    CaseSummary,
    NotFoundError,
    PersonView,
    ScriptError,
    SourceFile,
    TaskView,
)
from webui.api import bp
from webui.api.auth import groups_required, me, token_required
from webui.api.bodies import Field, json_object, path_key
from webui.api.errors import ApiError, field_error, not_found
from webui.api.openapi import document
from webui.auth import ADMIN_GROUPS, OFFICER_GROUPS, SUPERVISOR_GROUPS, has_group
from webui.extensions import get_engine
from webui.permissions import require_claimable, visible_task

#: Who may start a case (受理): window officers and admins.
STARTER_GROUPS = ("role:window-officer", *ADMIN_GROUPS)
#: Who may see every case.
OVERSEER_GROUPS = (*ADMIN_GROUPS, *SUPERVISOR_GROUPS)
#: ``GET /tasks?state=``: the inbox (待办) or the completed tasks (已办).
TASK_STATES = ("open", "done")

_TEXT = (str,)
_OBJECT = (dict,)

COMPLETE_BODY = {
    "data": Field(_OBJECT),
    "opinion": Field(_TEXT),
    "expected_version": Field((int,)),
}
HAND_OVER_BODY = {
    "to": Field(_TEXT, required=True, max_length=64),
    "reason": Field(_TEXT),
}
RESOLVE_BODY = {"data": Field(_OBJECT), "opinion": Field(_TEXT)}
START_BODY = {
    "process_id": Field(_TEXT, required=True, max_length=200),
    "business_key": Field(_TEXT, max_length=100),
    "item_code": Field(_TEXT, max_length=64),
    "title": Field(_TEXT, max_length=400),
    "data": Field(_OBJECT),
}


# -- the document, the person ----------------------------------------------------------------


@bp.route("/openapi.json")
def openapi() -> ResponseReturnValue:
    """The OpenAPI 3.1 document of this API (no token needed)."""
    return jsonify(document(server=url_for("api.openapi").removesuffix("/openapi.json")))


@bp.route("/health")
def health() -> ResponseReturnValue:
    """Liveness check (no token needed)."""
    return jsonify({"status": "ok"})


@bp.route("/me")
@token_required
def whoami() -> ResponseReturnValue:
    """The token's person with their groups."""
    return jsonify(me().to_dict())


# -- tasks -----------------------------------------------------------------------------------


@bp.route("/tasks")
@groups_required(*OFFICER_GROUPS)
def tasks() -> ResponseReturnValue:
    """The person's inbox (待办, ``state=open``) or the tasks they completed (已办)."""
    state = request.args.get("state", "open")
    if state not in TASK_STATES:
        raise field_error("state", _("只能是 open 或 done。"))
    engine = get_engine()
    found = engine.inbox(me()) if state == "open" else engine.done(me().id)
    return jsonify({"tasks": [t.to_dict() for t in found]})


@bp.route("/tasks/<task_id>")
@groups_required(*OFFICER_GROUPS)
def task(task_id: str) -> ResponseReturnValue:
    """A task with its form fields and data."""
    return jsonify(_visible(task_id).to_dict())


@bp.route("/tasks/<task_id>/claim", methods=["POST"])
@groups_required(*OFFICER_GROUPS)
def claim(task_id: str) -> ResponseReturnValue:
    """Claim (认领) a task offered to the person or their groups."""
    shown = _held(task_id)  # claiming one's own task again: the engine's 409
    json_object({})
    return _acted(get_engine().claim(shown.id, actor=me().id))


@bp.route("/tasks/<task_id>/unclaim", methods=["POST"])
@groups_required(*OFFICER_GROUPS)
def unclaim(task_id: str) -> ResponseReturnValue:
    """Give a claimed task back to its candidates."""
    shown = _held(task_id)
    json_object({})
    return _acted(get_engine().unclaim(shown.id, actor=me().id))


@bp.route("/tasks/<task_id>/complete", methods=["POST"])
@groups_required(*OFFICER_GROUPS)
def complete(task_id: str) -> ResponseReturnValue:
    """Complete a task with form data and an opinion (审批意见)."""
    shown = _held(task_id)  # who may act, before what they sent
    body = json_object(COMPLETE_BODY)
    done = get_engine().complete(
        shown.id,
        actor=me().id,
        data=body.get("data") or {},
        opinion=body.get("opinion"),
        expected_version=body.get("expected_version"),
    )
    return _acted(done)


@bp.route("/tasks/<task_id>/transfer", methods=["POST"])
@groups_required(*OFFICER_GROUPS)
def transfer(task_id: str) -> ResponseReturnValue:
    """转办: hand the task to another person for good."""
    shown = _held(task_id)  # who may act, before what they sent
    body = json_object(HAND_OVER_BODY)
    to = _person(body["to"])
    return _acted(get_engine().transfer(shown.id, actor=me().id, to=to, reason=body.get("reason")))


@bp.route("/tasks/<task_id>/delegate", methods=["POST"])
@groups_required(*OFFICER_GROUPS)
def delegate(task_id: str) -> ResponseReturnValue:
    """委派: lend the task to another person; it comes back when they resolve it."""
    shown = _held(task_id)  # who may act, before what they sent
    body = json_object(HAND_OVER_BODY)
    to = _person(body["to"])
    return _acted(get_engine().delegate(shown.id, actor=me().id, to=to, reason=body.get("reason")))


@bp.route("/tasks/<task_id>/resolve", methods=["POST"])
@groups_required(*OFFICER_GROUPS)
def resolve(task_id: str) -> ResponseReturnValue:
    """The delegate's answer: the task goes back to its owner."""
    shown = _held(task_id)  # who may act, before what they sent
    body = json_object(RESOLVE_BODY)
    done = get_engine().resolve(
        shown.id, actor=me().id, opinion=body.get("opinion"), data=body.get("data") or {}
    )
    return _acted(done)


def _visible(task_id: str) -> TaskView:
    return visible_task(get_engine(), me(), path_key(task_id))


def _held(task_id: str) -> TaskView:
    """The task, if the person may see it; 403 when someone else holds it (the engine
    refuses an unclaimed one and a closed one)."""
    shown = _visible(task_id)
    if shown.state == "open":
        require_claimable(me(), shown)
    return shown


def _person(person_id: str) -> str:
    """The id of an active person to hand a task to, or a 422 naming ``to``."""
    try:
        target = get_engine().person(path_key(person_id))
    except (NotFoundError, ApiError) as exc:
        raise field_error("to", _("没有这个人员：%(id)s", id=person_id)) from exc
    if not target.active:
        raise field_error("to", _("该人员已停用：%(id)s", id=person_id))
    return target.id


def _acted(task: TaskView) -> Response:
    return jsonify(task.to_dict())


# -- cases -----------------------------------------------------------------------------------


@bp.route("/cases", methods=["POST"])
@groups_required(*STARTER_GROUPS)
def start_case() -> ResponseReturnValue:
    """Start a case (受理): a process, optionally a service item, the start data."""
    body = json_object(START_BODY)
    engine = get_engine()
    process_id = body["process_id"]
    key = (body.get("business_key") or "").strip() or _new_business_key()
    if "/" in key or not key.isprintable():
        raise field_error("business_key", _("办件编号不能包含“/”或控制字符。"))
    try:
        case = engine.start_case(
            process_id,
            key,
            data=body.get("data") or {},
            actor=me().id,
            title=body.get("title"),
            item=body.get("item_code"),
        )
    except NotFoundError as exc:
        name = "item_code" if exc.kind == "service item" else "process_id"
        raise field_error(name, exc.message) from exc
    except (ScriptError, CaseError) as exc:
        # nothing was kept (one transaction); the start data did not fit the diagram
        raise ApiError(422, _("流程无法以这些数据启动：%(reason)s", reason=exc.message)) from exc
    response = jsonify(case.to_dict())
    response.status_code = 201
    response.headers["Location"] = url_for("api.case", key=case.business_key)
    return response


@bp.route("/cases/<key>")
@token_required
def case(key: str) -> ResponseReturnValue:
    """A case with its data and open tasks (its history: ``/history``)."""
    return jsonify(_visible_case(key).to_dict())


@bp.route("/cases/<key>/history")
@token_required
def case_history(key: str) -> ResponseReturnValue:
    """The case's audit trail, oldest first."""
    shown = _visible_case(key)
    return jsonify({"history": [line.to_dict() for line in get_engine().history(shown.id)]})


def _visible_case(key: str) -> CaseSummary:
    """The case, if the person may see it; 404 (not 403) otherwise."""
    engine = get_engine()
    try:
        shown = engine.get_case(path_key(key), with_history=False)
    except NotFoundError as exc:
        raise not_found() from exc
    if not _may_see_case(me(), shown):
        raise not_found()
    return shown


def _may_see_case(person: PersonView, case: CaseSummary) -> bool:
    """Overseers see every case; others a case they started or have, had or may claim a
    task of."""
    if has_group(person, OVERSEER_GROUPS) or case.started_by == person.id:
        return True
    related = get_engine().tasks(user=person, case=case.id, state=None, limit=10_000)
    if related:
        return True
    return any(
        person.id in (t.owner, t.completed_by)
        for t in get_engine().tasks(case=case.id, state=None, limit=10_000)
    )


def _new_business_key() -> str:
    """A case number for a start without one: API-<local date>-<random>."""
    today = get_engine().clock.now().strftime("%Y%m%d")
    return f"API-{today}-{secrets.token_hex(4).upper()}"


# -- definitions and items -------------------------------------------------------------------


@bp.route("/definitions")
@groups_required(*ADMIN_GROUPS)
def definitions() -> ResponseReturnValue:
    """Every deployed version, newest first per process."""
    return jsonify({"definitions": [d.to_dict() for d in get_engine().definitions()]})


@bp.route("/definitions", methods=["POST"])
@groups_required(*ADMIN_GROUPS)
def deploy() -> ResponseReturnValue:
    """Deploy uploaded BPMN/DMN/form files as one bundle (multipart field ``files``)."""
    uploads = request.files.getlist("files")
    if not uploads:
        raise field_error("files", _("请上传至少一个 BPMN 文件（表单字段 files）。"))
    sources = []
    for upload in uploads:
        name = PurePosixPath((upload.filename or "").replace("\\", "/")).name
        if not name or not path_ok(name):
            raise field_error("files", _("文件名无效。"))
        sources.append(SourceFile(name, upload.read()))
    result = get_engine().deploy(sources, actor=me().id)
    response = jsonify(result.to_dict())
    response.status_code = 201 if result.created else 200
    return response


def path_ok(name: str) -> bool:
    """True for a file name the engine can keep (printable, not too long)."""
    return len(name) <= 200 and name.isprintable() and name not in (".", "..")


@bp.route("/items")
@token_required
def items() -> ResponseReturnValue:
    """The service items (办理事项), by code."""
    return jsonify({"items": [item.to_dict() for item in get_engine().service_items()]})


# -- anything else under /api/v1 -------------------------------------------------------------

_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


@bp.route("/<path:rest>", methods=list(_METHODS))
def unknown(rest: str) -> ResponseReturnValue:
    """A JSON 404 (or 405) for paths and methods the API does not have."""
    adapter = current_app.url_map.bind_to_environ(request.environ)
    allowed = [m for m in _METHODS if _routes_elsewhere(adapter, m)]
    if allowed:
        raise ApiError(405, _("此地址不支持该请求方法。"), headers={"Allow": ", ".join(allowed)})
    raise not_found()


def _routes_elsewhere(adapter: MapAdapter, method: str) -> bool:
    """True when the request's path leads to an API route other than this one by
    ``method``."""
    try:
        endpoint, _args = adapter.match(request.path, method=method)
    except HTTPException:  # werkzeug's routing exceptions: no such route
        return False
    return bool(endpoint != "api.unknown")
