"""Logging in and out: passwords, session cookie, CSRF, the login rate limit, roles."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient

from engine import Engine
from tests.helpers import csrf_token, post_form
from webui.auth import has_group, roles_required


def _login(client: FlaskClient, username: str, password: str, **extra: str):  # type: ignore[no-untyped-def]
    token = csrf_token(client.get("/login").get_data(as_text=True))
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token, **extra},
    )


def test_login_with_the_right_password_opens_the_inbox(client: FlaskClient) -> None:
    response = _login(client, "window01", "demo123")
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    home = client.get("/")
    assert home.status_code == 302 and home.headers["Location"] == "/officer/inbox"
    inbox = client.get("/officer/inbox").get_data(as_text=True)
    assert "王晓燕" in inbox  # the person's name in the header
    assert 'action="/logout"' in inbox


def test_login_with_a_wrong_password_says_so_and_logs_in_nobody(client: FlaskClient) -> None:
    response = _login(client, "window01", "wrong")
    assert response.status_code == 200
    assert "用户名或密码不正确" in response.get_data(as_text=True)
    assert client.get("/officer/inbox").status_code == 302  # still sent to the login page


def test_unknown_user_gets_the_same_answer_as_a_wrong_password(client: FlaskClient) -> None:
    response = _login(client, "nobody", "demo123")
    assert response.status_code == 200
    assert "用户名或密码不正确" in response.get_data(as_text=True)


def test_session_cookie_is_httponly_and_samesite_lax(client: FlaskClient) -> None:
    response = _login(client, "window01", "demo123")
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if "xiaoneng_session" in c)
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_session_cookie_is_secure_outside_debug_and_tests(engine: Engine) -> None:
    from webui import create_app

    app = create_app({"SECRET_KEY": "k", "TESTING": False}, engine=engine)
    assert app.config["SESSION_COOKIE_SECURE"] is True
    debug = create_app({"SECRET_KEY": "k", "DEBUG": True}, engine=engine)
    assert debug.config["SESSION_COOKIE_SECURE"] is False


def test_login_sends_back_to_the_page_asked_for(client: FlaskClient) -> None:
    first = client.get("/officer/inbox")
    assert first.status_code == 302
    assert first.headers["Location"].startswith("/login?next=/officer/inbox")
    page = client.get(first.headers["Location"]).get_data(as_text=True)
    token = csrf_token(page)
    assert 'value="/officer/inbox"' in page
    response = client.post(
        "/login",
        data={
            "username": "window01",
            "password": "demo123",
            "next": "/officer/inbox",
            "csrf_token": token,
        },
    )
    assert response.headers["Location"] == "/officer/inbox"


def test_login_never_redirects_to_another_site(client: FlaskClient) -> None:
    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example"):
        response = _login(client, "window01", "demo123", next=target)
        assert response.headers["Location"] == "/", target
        post_form(client, "/officer/inbox", "/logout")


def test_eleventh_login_attempt_in_a_minute_gets_the_429_page(client: FlaskClient) -> None:
    for _attempt in range(10):
        assert _login(client, "window01", "wrong").status_code == 200
    response = _login(client, "window01", "demo123")  # even the right password now
    assert response.status_code == 429
    text = response.get_data(as_text=True)
    assert "尝试次数过多" in text and "稍等一分钟" in text
    assert "Retry-After" in response.headers
    assert "Traceback" not in text
    # another user name from the same address is not locked out
    assert _login(client, "zhangwei", "demo123").status_code == 302


def test_login_rate_limit_moves_with_the_clock_of_the_storage(app: Flask) -> None:
    # the limit is per client address + user name: two addresses are two budgets
    first = app.test_client()
    second = app.test_client()
    for _attempt in range(10):
        _login(first, "window01", "wrong")
    assert _login(first, "window01", "wrong").status_code == 429
    token = csrf_token(second.get("/login").get_data(as_text=True))
    response = second.post(
        "/login",
        data={"username": "window01", "password": "demo123", "csrf_token": token},
        environ_base={"REMOTE_ADDR": "10.0.0.2"},
    )
    assert response.status_code == 302


def test_form_without_csrf_token_gets_the_400_page(client: FlaskClient) -> None:
    response = client.post("/login", data={"username": "window01", "password": "demo123"})
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert "安全令牌" in text and "刷新" in text
    assert "Traceback" not in text
    assert client.get("/officer/inbox").status_code == 302  # not logged in


def test_logout_needs_a_post_with_the_csrf_token(
    login_as: Callable[..., FlaskClient],
) -> None:
    web = login_as("window01")
    assert web.get("/logout").status_code == 405
    assert web.post("/logout").status_code == 400  # no token: a forged logout fails
    assert web.get("/officer/inbox").status_code == 200
    response = post_form(web, "/officer/inbox", "/logout")
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert web.get("/officer/inbox").status_code == 302
    assert "您已退出" in web.get("/login").get_data(as_text=True)


def test_a_deactivated_person_is_logged_out_at_the_next_request(
    engine: Engine, login_as: Callable[..., FlaskClient]
) -> None:
    web = login_as("window01")
    engine.load_organisation(
        {"people": [{"id": "window01", "name": "王晓燕", "active": False}]},
    )
    assert web.get("/officer/inbox").status_code == 302


def test_roles_required_lets_in_matching_groups_only(
    app: Flask, login_as: Callable[..., FlaskClient]
) -> None:
    @app.route("/test/admin-only")
    @roles_required("role:admin")
    def admin_only() -> str:
        return "admin area"

    assert login_as("admin").get("/test/admin-only").get_data(as_text=True) == "admin area"
    denied = login_as("window01").get("/test/admin-only")
    assert denied.status_code == 403
    assert "无权" in denied.get_data(as_text=True)
    assert app.test_client().get("/test/admin-only").status_code == 302  # to the login page


def test_has_group_matches_patterns(engine: Engine) -> None:
    window01 = engine.person("window01")
    assert has_group(window01, ["dept:*"])
    assert has_group(window01, ["role:admin", "post:window-a"])
    assert not has_group(window01, ["role:admin"])
    assert not has_group(None, ["dept:*"])


def test_admin_without_a_post_sees_no_officer_inbox(
    login_as: Callable[..., FlaskClient],
) -> None:
    admin = login_as("admin")
    home = admin.get("/")
    assert home.status_code == 200
    assert "系统管理员" in home.get_data(as_text=True)
    assert admin.get("/officer/inbox").status_code == 403
