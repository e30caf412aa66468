"""A person's API tokens in the browser (/account/tokens): make one (the secret shown
once), use it on the API, revoke it; nobody else's tokens."""

from __future__ import annotations

import re
from collections.abc import Callable

from flask.testing import FlaskClient

from engine import Engine
from tests.helpers import csrf_token, post_form

Login = Callable[..., FlaskClient]
_SECRET = re.compile(r'id="token-secret">(xn_[^<]+)<')


def _make(web: FlaskClient, label: str) -> str:
    response = post_form(web, "/account/tokens", "/account/tokens", {"label": label})
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.headers["Cache-Control"] == "no-store"
    found = _SECRET.search(response.get_data(as_text=True))
    assert found, "the new secret is not on the page"
    return found.group(1)


def test_the_token_page_needs_a_login(client: FlaskClient) -> None:
    response = client.get("/account/tokens")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_a_new_token_is_shown_once_and_works_on_the_api(
    engine: Engine, login_as: Login, client: FlaskClient
) -> None:
    web = login_as("zhangwei")
    assert "您还没有令牌" in web.get("/account/tokens").get_data(as_text=True)
    secret = _make(web, "移动办公 App")
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"})
    assert me.status_code == 200 and me.get_json()["id"] == "zhangwei"
    page = web.get("/account/tokens").get_data(as_text=True)
    assert "移动办公 App" in page and secret[:11] in page
    assert secret not in page  # never shown again
    [token] = engine.api_tokens(person_id="zhangwei")
    assert token.label == "移动办公 App" and token.created_by == "zhangwei"


def test_a_token_needs_a_label(engine: Engine, login_as: Login) -> None:
    web = login_as("zhangwei")
    response = post_form(web, "/account/tokens", "/account/tokens", {"label": "  "})
    assert response.status_code == 422
    assert "请说明令牌的用途" in response.get_data(as_text=True)
    assert engine.api_tokens(person_id="zhangwei") == []


def test_making_a_token_needs_the_csrf_token(engine: Engine, login_as: Login) -> None:
    web = login_as("zhangwei")
    assert web.post("/account/tokens", data={"label": "x"}).status_code == 400
    assert engine.api_tokens(person_id="zhangwei") == []


def test_a_revoked_token_stops_working(
    engine: Engine, login_as: Login, client: FlaskClient
) -> None:
    web = login_as("zhangwei")
    secret = _make(web, "对接")
    [token] = engine.api_tokens(person_id="zhangwei")
    page = web.get("/account/tokens").get_data(as_text=True)
    action = f"/account/tokens/{token.id}/revoke"
    assert action in page
    for _press in range(2):  # pressing twice revokes once
        response = web.post(action, data={"csrf_token": csrf_token(page)})
        assert response.status_code == 302
    assert engine.api_tokens(person_id="zhangwei")[0].revoked_at is not None
    response = client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 401
    page = web.get("/account/tokens").get_data(as_text=True)
    assert "已撤销" in page and action not in page


def test_another_persons_token_cannot_be_revoked(
    engine: Engine, login_as: Login, client: FlaskClient
) -> None:
    made, secret = engine.create_api_token("window01", label="窗口对接", actor="window01")
    web = login_as("zhangwei")
    page = web.get("/account/tokens").get_data(as_text=True)
    assert "窗口对接" not in page
    response = web.post(f"/account/tokens/{made.id}/revoke", data={"csrf_token": csrf_token(page)})
    assert response.status_code == 404
    assert engine.api_tokens(person_id="window01")[0].revoked_at is None
    headers = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/v1/me", headers=headers).status_code == 200
