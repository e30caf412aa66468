"""The JSON API (/api/v1): bearer tokens, every operation's answer and its errors, and who
may see and do what (the web UI's rules: 404 for what a person may not see, 403 for acting
on what someone else holds)."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from engine import Engine
from tests.conftest import BPMN, GENERAL_PERMIT
from tests.helpers import act, only_task

Headers = dict[str, str]
Bearer = Callable[[str], Headers]


@pytest.fixture
def bearer(engine: Engine) -> Bearer:
    """``bearer("window01")``: the Authorization header of a new token of that person."""

    def make(person: str) -> Headers:
        _view, secret = engine.create_api_token(person, label="test", actor=person)
        return {"Authorization": f"Bearer {secret}"}

    return make


def _error(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.is_json, response.get_data(as_text=True)[:300]
    error: dict[str, Any] = response.get_json()["error"]
    assert set(error) == {"code", "message", "fields"}
    assert "Traceback" not in error["message"]
    if code is not None:
        assert error["code"] == code
    return error


def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.get_data(as_text=True)
    return response.get_json()


def _audit_count(engine: Engine, key: str) -> int:
    return len(engine.history(key))


# -- tokens ----------------------------------------------------------------------------------


def test_a_request_without_a_token_is_401_with_the_bearer_challenge(client: FlaskClient) -> None:
    response = client.get("/api/v1/me")
    _error(response, 401, "unauthorized")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "header",
    ["Bearer xn_not-a-token", "Basic d2luZG93MDE6ZGVtbzEyMw==", "Bearer", "Bearer " + "x" * 600],
)
def test_a_wrong_token_is_401(client: FlaskClient, header: str) -> None:
    response = client.get("/api/v1/me", headers={"Authorization": header})
    _error(response, 401, "unauthorized")
    assert "WWW-Authenticate" in response.headers


def test_a_revoked_token_is_401(engine: Engine, client: FlaskClient) -> None:
    made, secret = engine.create_api_token("window01", label="app", actor="window01")
    headers = {"Authorization": f"Bearer {secret}"}
    assert _ok(client.get("/api/v1/me", headers=headers))["id"] == "window01"
    engine.revoke_api_token(made.id, actor="window01")
    _error(client.get("/api/v1/me", headers=headers), 401)


def test_a_session_cookie_is_no_token(login_as: Callable[..., FlaskClient]) -> None:
    web = login_as("window01")
    _error(web.get("/api/v1/me"), 401)


def test_me_is_the_tokens_person(client: FlaskClient, bearer: Bearer) -> None:
    me = _ok(client.get("/api/v1/me", headers=bearer("zhangwei")))
    assert me["id"] == "zhangwei" and me["name"] == "张伟" and me["active"] is True
    assert "post:housing-officer-a" in me["groups"]


# -- tasks -----------------------------------------------------------------------------------


def test_inbox_lists_the_task_offered_to_the_window(
    permit: Engine, client: FlaskClient, bearer: Bearer
) -> None:
    task = only_task(permit, "GP-1")
    listed = _ok(client.get("/api/v1/tasks", headers=bearer("window01")))["tasks"]
    assert [t["id"] for t in listed] == [task.id]
    assert listed[0]["business_key"] == "GP-1" and listed[0]["element_id"] == "accept"
    other = _ok(client.get("/api/v1/tasks", headers=bearer("zhangwei")))["tasks"]
    assert other == []


def test_tasks_need_an_officer(permit: Engine, client: FlaskClient, bearer: Bearer) -> None:
    _error(client.get("/api/v1/tasks", headers=bearer("admin")), 403, "not_permitted")


def test_tasks_state_must_be_open_or_done(client: FlaskClient, bearer: Bearer) -> None:
    error = _error(client.get("/api/v1/tasks?state=all", headers=bearer("window01")), 422)
    assert error["fields"][0]["field"] == "state"


def test_get_task_shows_its_form(permit: Engine, client: FlaskClient, bearer: Bearer) -> None:
    task = only_task(permit, "GP-1")
    shown = _ok(client.get(f"/api/v1/tasks/{task.id}", headers=bearer("window01")))
    assert shown["id"] == task.id and shown["state"] == "open"
    assert "accepted" in [f["id"] for f in shown["form"]]


def test_a_task_of_another_department_is_404(
    permit: Engine, client: FlaskClient, bearer: Bearer
) -> None:
    task = only_task(permit, "GP-1")
    headers = bearer("sunli")
    _error(client.get(f"/api/v1/tasks/{task.id}", headers=headers), 404, "not_found")
    _error(client.post(f"/api/v1/tasks/{task.id}/claim", headers=headers), 404)
    _error(client.get("/api/v1/tasks/no-such-task", headers=headers), 404)
    assert permit.get_task(task.id).assignee is None


def test_claim_then_complete_moves_the_case_on(
    permit: Engine, client: FlaskClient, bearer: Bearer
) -> None:
    task = only_task(permit, "GP-1")
    headers = bearer("window01")
    claimed = _ok(client.post(f"/api/v1/tasks/{task.id}/claim", headers=headers))
    assert claimed["assignee"] == "window01"
    version = permit.get_case("GP-1").row_version
    done = _ok(
        client.post(
            f"/api/v1/tasks/{task.id}/complete",
            headers=headers,
            json={"data": {"accepted": "yes"}, "opinion": "材料齐全", "expected_version": version},
        )
    )
    assert done["state"] == "completed" and done["opinion"] == "材料齐全"
    handle = only_task(permit, "GP-1", "handle")
    assert done["next_tasks"] == [handle.id]
    finished = _ok(client.get("/api/v1/tasks?state=done", headers=headers))["tasks"]
    assert [t["id"] for t in finished] == [task.id]
    assert _ok(client.get("/api/v1/tasks", headers=headers))["tasks"] == []


def test_claiming_twice_is_a_conflict(permit: Engine, client: FlaskClient, bearer: Bearer) -> None:
    task = only_task(permit, "GP-1")
    headers = bearer("window01")
    _ok(client.post(f"/api/v1/tasks/{task.id}/claim", headers=headers))
    before = _audit_count(permit, "GP-1")
    _error(client.post(f"/api/v1/tasks/{task.id}/claim", headers=headers), 409, "conflict")
    assert _audit_count(permit, "GP-1") == before


def test_completing_twice_acts_once(permit: Engine, client: FlaskClient, bearer: Bearer) -> None:
    task = only_task(permit, "GP-1")
    headers = bearer("window01")
    permit.claim(task.id, actor="window01")
    body = {"data": {"accepted": "yes"}}
    _ok(client.post(f"/api/v1/tasks/{task.id}/complete", headers=headers, json=body))
    before = _audit_count(permit, "GP-1")
    _error(client.post(f"/api/v1/tasks/{task.id}/complete", headers=headers, json=body), 409)
    assert _audit_count(permit, "GP-1") == before
    assert len([h for h in permit.history("GP-1") if h.action == "complete"]) == 1
    # a closed task is a conflict; for other officers it is gone from view
    _error(client.post(f"/api/v1/tasks/{task.id}/claim", headers=headers), 409)
    _error(client.post(f"/api/v1/tasks/{task.id}/claim", headers=bearer("window02")), 404)


def test_a_stale_expected_version_is_a_conflict(
    permit: Engine, client: FlaskClient, bearer: Bearer
) -> None:
    task = only_task(permit, "GP-1")
    permit.claim(task.id, actor="window01")
    stale = permit.get_case("GP-1").row_version - 1
    response = client.post(
        f"/api/v1/tasks/{task.id}/complete",
        headers=bearer("window01"),
        json={"data": {"accepted": "yes"}, "expected_version": stale},
    )
    _error(response, 409, "conflict")
    assert permit.get_task(task.id).state == "open"


def test_acting_on_a_task_someone_else_holds_is_403(
    permit: Engine, client: FlaskClient, bearer: Bearer
) -> None:
    task = only_task(permit, "GP-1")
    permit.claim(task.id, actor="window01")
    headers = bearer("window02")
    # window02 (the B post) sees the window's task, but window01 holds it
    shown = _ok(client.get(f"/api/v1/tasks/{task.id}", headers=headers))
    assert shown["assignee"] == "window01"
    for action in ("claim", "unclaim", "complete", "transfer"):
        body = {"to": "window02"} if action == "transfer" else None
        response = client.post(f"/api/v1/tasks/{task.id}/{action}", headers=headers, json=body)
        _error(response, 403, "not_permitted")
    assert permit.get_task(task.id).assignee == "window01"


def test_invalid_form_data_is_422_naming_the_field(
    permit: Engine, client: FlaskClient, bearer: Bearer
) -> None:
    task = only_task(permit, "GP-1")
    permit.claim(task.id, actor="window01")
    before = _audit_count(permit, "GP-1")
    response = client.post(
        f"/api/v1/tasks/{task.id}/complete", headers=bearer("window01"), json={"data": {}}
    )
    error = _error(response, 422, "form_invalid")
    assert "accepted" in [f["field"] for f in error["fields"]]
    assert permit.get_task(task.id).state == "open"
    assert _audit_count(permit, "GP-1") == before


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        (b"{not json", 400, None),
        (b"[1, 2]", 400, None),
        (b'{"data": {"accepted": "yes"}, "extra": 1}', 422, "extra"),
        (b'{"data": "yes"}', 422, "data"),
        (b'{"opinion": 5}', 422, "opinion"),
        (b'{"expected_version": true}', 422, "expected_version"),
        (b'{"data": {"accepted": "yes\\u0000"}}', 422, "data"),
        (b'{"data": {"n": 1e999}}', 422, "data"),
        (b"[" * 5000 + b"]" * 5000, 400, None),
    ],
)
def test_a_bad_body_is_refused_before_anything_changes(
    permit: Engine,
    client: FlaskClient,
    bearer: Bearer,
    body: bytes,
    status: int,
    field: str | None,
) -> None:
    task = only_task(permit, "GP-1")
    permit.claim(task.id, actor="window01")
    response = client.post(
        f"/api/v1/tasks/{task.id}/complete",
        headers={**bearer("window01"), "Content-Type": "application/json"},
        data=body,
    )
    error = _error(response, status)
    if field is not None:
        assert field in [f["field"] for f in error["fields"]]
    assert permit.get_task(task.id).state == "open"


def test_transfer_hands_the_task_over(permit: Engine, client: FlaskClient, bearer: Bearer) -> None:
    task = only_task(permit, "GP-1")
    permit.claim(task.id, actor="window01")
    headers = bearer("window01")
    error = _error(
        client.post(f"/api/v1/tasks/{task.id}/transfer", headers=headers, json={"to": "nobody"}),
        422,
    )
    assert error["fields"][0]["field"] == "to"
    _error(client.post(f"/api/v1/tasks/{task.id}/transfer", headers=headers, json={}), 422)
    moved = _ok(
        client.post(
            f"/api/v1/tasks/{task.id}/transfer",
            headers=headers,
            json={"to": "window02", "reason": "请假"},
        )
    )
    assert moved["assignee"] == "window02"
    assert permit.get_task(task.id).assignee == "window02"


def test_delegate_and_resolve_bring_the_task_back(
    permit: Engine, client: FlaskClient, bearer: Bearer
) -> None:
    task = only_task(permit, "GP-1")
    permit.claim(task.id, actor="window01")
    owner, helper = bearer("window01"), bearer("window02")
    lent = _ok(
        client.post(f"/api/v1/tasks/{task.id}/delegate", headers=owner, json={"to": "window02"})
    )
    assert lent["assignee"] == "window02" and lent["owner"] == "window01"
    # the owner may not complete a task lent out
    _error(client.post(f"/api/v1/tasks/{task.id}/complete", headers=owner, json={}), 403)
    back = _ok(
        client.post(
            f"/api/v1/tasks/{task.id}/resolve", headers=helper, json={"opinion": "已核对材料"}
        )
    )
    assert back["assignee"] == "window01" and back["delegation"] == "resolved"
    _error(client.post(f"/api/v1/tasks/{task.id}/resolve", headers=owner, json={}), 409)


def test_unclaim_gives_the_task_back(permit: Engine, client: FlaskClient, bearer: Bearer) -> None:
    task = only_task(permit, "GP-1")
    headers = bearer("window01")
    _error(client.post(f"/api/v1/tasks/{task.id}/unclaim", headers=headers), 403)  # not held
    permit.claim(task.id, actor="window01")
    released = _ok(client.post(f"/api/v1/tasks/{task.id}/unclaim", headers=headers))
    assert released["assignee"] is None


# -- cases -----------------------------------------------------------------------------------


def test_a_case_is_shown_to_those_with_a_task_of_it(
    permit: Engine, client: FlaskClient, bearer: Bearer
) -> None:
    shown = _ok(client.get("/api/v1/cases/GP-1", headers=bearer("window02")))
    assert shown["business_key"] == "GP-1" and shown["item_code"] == "T-0101"
    assert [t["element_id"] for t in shown["open_tasks"]] == ["accept"]
    assert _ok(client.get("/api/v1/cases/GP-1", headers=bearer("supervisor01")))["id"]
    assert _ok(client.get("/api/v1/cases/GP-1", headers=bearer("admin")))["id"]
    # the housing officer has no task of it yet; the food officer never will
    _error(client.get("/api/v1/cases/GP-1", headers=bearer("zhangwei")), 404)
    _error(client.get("/api/v1/cases/GP-1/history", headers=bearer("sunli")), 404)
    _error(client.get("/api/v1/cases/GP-404", headers=bearer("admin")), 404)
    act(permit, "GP-1", "accept", "window01", {"accepted": "yes"})
    assert _ok(client.get("/api/v1/cases/GP-1", headers=bearer("zhangwei")))["id"]


def test_case_history_lists_the_audit_trail(
    permit: Engine, client: FlaskClient, bearer: Bearer
) -> None:
    act(permit, "GP-1", "accept", "window01", {"accepted": "yes"}, "予以受理")
    history = _ok(client.get("/api/v1/cases/GP-1/history", headers=bearer("window01")))["history"]
    assert [h["action"] for h in history if h["action"] in ("claim", "complete")] == [
        "claim",
        "complete",
    ]
    assert any(h["opinion"] == "予以受理" for h in history)


def test_a_window_officer_starts_a_case(
    permit: Engine, client: FlaskClient, bearer: Bearer
) -> None:
    response = client.post(
        "/api/v1/cases",
        headers=bearer("window01"),
        json={
            "process_id": "general_permit",
            "business_key": "GP-2",
            "item_code": "T-0101",
            "data": {"applicant": "某某公司"},
            "title": "施工许可",
        },
    )
    started = _ok(response, 201)
    assert response.headers["Location"].endswith("/api/v1/cases/GP-2")
    assert started["business_key"] == "GP-2" and started["started_by"] == "window01"
    assert [t["element_id"] for t in started["open_tasks"]] == ["accept"]
    assert permit.get_case("GP-2").data["applicant"] == "某某公司"
    made_up = _ok(
        client.post(
            "/api/v1/cases", headers=bearer("admin"), json={"process_id": "general_permit"}
        ),
        201,
    )
    assert made_up["business_key"].startswith("API-20261123-")


def test_starting_a_case_is_refused_with_the_reason(
    permit: Engine, client: FlaskClient, bearer: Bearer
) -> None:
    headers = bearer("window01")
    before = len(permit.list_cases())
    _error(client.post("/api/v1/cases", headers=bearer("zhangwei"), json={"process_id": "x"}), 403)
    duplicate = {"process_id": "general_permit", "business_key": "GP-1"}
    _error(client.post("/api/v1/cases", headers=headers, json=duplicate), 409, "conflict")
    for body, field in [
        ({"process_id": "no_such_process"}, "process_id"),
        ({"process_id": "general_permit", "item_code": "X-404"}, "item_code"),
        ({}, "process_id"),
        ({"process_id": "general_permit", "business_key": "K" * 101}, "business_key"),
        ({"process_id": "general_permit", "business_key": "GP/2"}, "business_key"),
    ]:
        error = _error(client.post("/api/v1/cases", headers=headers, json=body), 422)
        assert field in [f["field"] for f in error["fields"]], error
    assert len(permit.list_cases()) == before


# -- definitions and items -------------------------------------------------------------------


def test_definitions_are_for_admins(permit: Engine, client: FlaskClient, bearer: Bearer) -> None:
    listed = _ok(client.get("/api/v1/definitions", headers=bearer("admin")))["definitions"]
    assert "general_permit" in {d["process_id"] for d in listed}
    _error(client.get("/api/v1/definitions", headers=bearer("window01")), 403)
    upload = {"files": (io.BytesIO(b"<x/>"), "x.bpmn")}
    response = client.post("/api/v1/definitions", headers=bearer("window01"), data=upload)
    _error(response, 403)


def test_an_admin_deploys_a_bundle(engine: Engine, client: FlaskClient, bearer: Bearer) -> None:
    headers = bearer("admin")
    files = [(io.BytesIO(p.read_bytes()), p.name) for p in GENERAL_PERMIT]
    result = _ok(client.post("/api/v1/definitions", headers=headers, data={"files": files}), 201)
    assert sorted(result["created"]) == [
        "extension_request",
        "general_permit",
        "special_procedure",
    ]
    files = [(io.BytesIO(p.read_bytes()), p.name) for p in GENERAL_PERMIT]
    again = _ok(client.post("/api/v1/definitions", headers=headers, data={"files": files}), 200)
    assert again["created"] == [] and len(again["unchanged"]) == 3


def test_a_broken_diagram_is_422_listing_its_elements(
    engine: Engine, client: FlaskClient, bearer: Bearer
) -> None:
    source = (BPMN / "general_permit.bpmn").read_text(encoding="utf-8")
    broken = source.replace('sourceRef="accept"', 'sourceRef="no_such_step"', 1)
    assert broken != source
    files = {"files": (io.BytesIO(broken.encode()), "general_permit.bpmn")}
    response = client.post("/api/v1/definitions", headers=bearer("admin"), data=files)
    error = _error(response, 422, "invalid_definition")
    assert error["fields"] and all(f["file"] == "general_permit.bpmn" for f in error["fields"])
    assert engine.definitions() == []
    _error(client.post("/api/v1/definitions", headers=bearer("admin"), data={}), 422)


def test_items_lists_the_service_items(permit: Engine, client: FlaskClient, bearer: Bearer) -> None:
    listed = _ok(client.get("/api/v1/items", headers=bearer("sunli")))["items"]
    assert "T-0101" in [i["code"] for i in listed]


# -- the document and the errors of the API itself ------------------------------------------


def test_the_openapi_document_describes_every_route(app: Flask, client: FlaskClient) -> None:
    document = _ok(client.get("/api/v1/openapi.json"))
    assert document["openapi"].startswith("3.1")
    assert document["servers"] == [{"url": "/api/v1"}]
    assert document["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    described = {
        (path, method.upper())
        for path, item in document["paths"].items()
        for method in item
        if method != "parameters"
    }
    routed = {
        (rule.rule.removeprefix("/api/v1").replace("<", "{").replace(">", "}"), method)
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("api.") and rule.endpoint != "api.unknown"
        for method in rule.methods or ()
        if method not in ("HEAD", "OPTIONS")
    }
    assert routed == described


def test_unknown_paths_and_methods_are_json_errors(client: FlaskClient, bearer: Bearer) -> None:
    _error(client.get("/api/v1/no/such/thing"), 404, "not_found")
    response = client.delete("/api/v1/me", headers=bearer("window01"))
    _error(response, 405, "method_not_allowed")
    assert response.headers["Allow"] == "GET"


def test_a_body_too_large_is_413(
    app: Flask, permit: Engine, client: FlaskClient, bearer: Bearer
) -> None:
    app.config["MAX_CONTENT_LENGTH"] = 1000
    task = only_task(permit, "GP-1")
    permit.claim(task.id, actor="window01")
    response = client.post(
        f"/api/v1/tasks/{task.id}/complete",
        headers=bearer("window01"),
        json={"data": {"accepted": "yes", "note": "x" * 2000}},
    )
    _error(response, 413, "too_large")
    assert permit.get_task(task.id).state == "open"
