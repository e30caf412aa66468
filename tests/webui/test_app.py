"""The app factory, its settings, the embedded worker, `xiaoneng serve`, both databases."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from engine import DEMO_LOGINS, Engine, FakeClock, load_demo
from tests.conftest import DEMO_ORG, GENERAL_PERMIT, TEST_ITEMS, make_engine
from tests.helpers import log_in
from webui import create_app, stop_worker
from webui.config import TEST_CONFIG, from_env
from webui.extensions import ENGINE_KEY, WORKER_KEY


def test_engine_is_the_apps_extension(engine: Engine) -> None:
    app = create_app(TEST_CONFIG, engine=engine)
    assert app.extensions[ENGINE_KEY] is engine


def test_app_creates_its_engine_from_the_database_url(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'web.db'}"
    app = create_app({**TEST_CONFIG, "DATABASE_URL": url, "CREATE_SCHEMA": True})
    engine = app.extensions[ENGINE_KEY]
    try:
        assert str(engine.sa_engine.url) == url
        engine.load_organisation(DEMO_ORG)
        web = app.test_client()
        log_in(web, "window01")
        assert web.get("/officer/inbox").status_code == 200
    finally:
        engine.dispose()


def test_app_starts_no_worker_unless_asked(engine: Engine) -> None:
    app = create_app(TEST_CONFIG, engine=engine)
    assert WORKER_KEY not in app.extensions
    assert engine.runtime.timer_listeners == []


def test_embedded_worker_runs_when_asked_and_stops_once(engine: Engine) -> None:
    app = create_app({**TEST_CONFIG, "EMBEDDED_WORKER": True}, engine=engine)
    worker = app.extensions[WORKER_KEY]
    try:
        assert worker.scheduler.running
        assert worker.notify in engine.runtime.timer_listeners
    finally:
        stop_worker(app)
    assert not worker.scheduler.running
    assert worker.notify not in engine.runtime.timer_listeners
    assert WORKER_KEY not in app.extensions
    stop_worker(app)  # at exit again: nothing left to stop


def test_embedded_worker_fires_timers_that_are_due(engine: Engine, clock: FakeClock) -> None:
    engine.deploy(GENERAL_PERMIT, actor="admin")
    engine.load_items([TEST_ITEMS])
    engine.start_case("general_permit", "GP-1", actor="window01", item="T-0101")
    clock.advance(timedelta(days=3))  # the accept step (1 working day) is overdue
    app = create_app({**TEST_CONFIG, "EMBEDDED_WORKER": True}, engine=engine)
    try:
        deadline = time.monotonic() + 20
        while not any(c.color == "red" for c in engine.cards()):
            assert time.monotonic() < deadline, "the embedded worker fired nothing"
            time.sleep(0.1)
    finally:
        stop_worker(app)


def test_missing_secret_key_makes_one_up_and_warns(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="webui"):
        first = create_app({**TEST_CONFIG, "SECRET_KEY": None}, engine=engine)
        second = create_app({**TEST_CONFIG, "SECRET_KEY": None}, engine=engine)
    assert first.config["SECRET_KEY"] and first.config["SECRET_KEY"] != second.config["SECRET_KEY"]
    assert "XIAONENG_SECRET_KEY" in caplog.text


def test_settings_come_from_xiaoneng_environment_variables() -> None:
    settings = from_env(
        {
            "XIAONENG_SECRET_KEY": "s3cret",
            "XIAONENG_DATABASE_URL": "postgresql+psycopg://u@h/db",
            "XIAONENG_RATELIMIT_STORAGE_URI": "redis://localhost:6379",
            "XIAONENG_LOGIN_RATE_LIMIT": "5 per minute",
            "XIAONENG_SESSION_COOKIE_SECURE": "0",
            "XIAONENG_EMBEDDED_WORKER": "yes",
            "XIAONENG_SESSION_HOURS": "2",
            "XIAONENG_TRUSTED_PROXIES": "1",
            "UNRELATED": "x",
        }
    )
    assert settings == {
        "SECRET_KEY": "s3cret",
        "DATABASE_URL": "postgresql+psycopg://u@h/db",
        "RATELIMIT_STORAGE_URI": "redis://localhost:6379",
        "LOGIN_RATE_LIMIT": "5 per minute",
        "SESSION_COOKIE_SECURE": False,
        "EMBEDDED_WORKER": True,
        "PERMANENT_SESSION_LIFETIME": timedelta(hours=2),
        "TRUSTED_PROXIES": 1,
    }
    with pytest.raises(ValueError, match="XIAONENG_DEBUG"):
        from_env({"XIAONENG_DEBUG": "maybe"})


def test_pages_carry_security_headers(client: FlaskClient) -> None:
    response = client.get("/login")
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_pages_work_without_javascript(client: FlaskClient) -> None:
    page = client.get("/login").get_data(as_text=True)
    assert "<script" not in page
    assert 'rel="stylesheet"' in page
    with client.get("/static/xiaoneng.css") as response:  # a file response: close it
        css = response.get_data(as_text=True)
    assert "Noto Sans CJK SC" in css and "Microsoft YaHei" in css


def test_navigation_shows_the_areas_of_the_persons_roles(
    login_as: Callable[..., FlaskClient],
) -> None:
    page = login_as("window01").get("/officer/inbox").get_data(as_text=True)
    assert 'href="/officer/inbox"' in page and "待办" in page
    # supervision and admin areas appear once their blueprints exist; never dead links
    assert "/supervisor" not in page and "/admin" not in page


def test_demo_logins_work_after_the_demo_is_loaded(tmp_path: Path, clock: FakeClock) -> None:
    engine = Engine(f"sqlite:///{tmp_path / 'demo.db'}", clock=clock, create_schema=True)
    try:
        loaded = load_demo(engine)
        assert loaded["sample_case"] == "DEMO-0001"
        assert len(loaded["more_cases"]) == 7  # type: ignore[arg-type]
        states = {c.business_key: c.status for c in engine.list_cases()}
        assert states["DEMO-0005"] == states["DEMO-0006"] == "completed"
        waiting_at = {t.business_key: t.element_id for t in engine.tasks()}
        assert waiting_at["DEMO-0002"] == "handle" and waiting_at["DEMO-0004"] == "approve"
        assert load_demo(engine)["sample_case"] == "DEMO-0001 (already there)"
        for login in DEMO_LOGINS:
            assert engine.check_password(login.person_id, login.password), login.person_id
        app = create_app(TEST_CONFIG, engine=engine)
        web = app.test_client()
        log_in(web, "window01")
        assert "DEMO-0001" in web.get("/officer/inbox").get_data(as_text=True)
    finally:
        engine.dispose()


def test_serve_help_runs_as_a_console_script() -> None:
    script = shutil.which("xiaoneng", path=str(Path(sys.executable).parent))
    command = [script] if script else [sys.executable, "-m", "engine.cli"]
    out = subprocess.run(
        [*command, "serve", "--help"], capture_output=True, text=True, check=True
    ).stdout
    for option in ("--host", "--port", "--demo", "gunicorn", "xiaoneng worker"):
        assert option in out
    listed = subprocess.run([*command, "--help"], capture_output=True, text=True, check=True).stdout
    assert "serve" in listed


@pytest.mark.postgres
def test_app_runs_on_postgresql(pg_url: str, clock: FakeClock) -> None:
    engine = make_engine(pg_url, clock)
    try:
        app = create_app(TEST_CONFIG, engine=engine)
        assert engine.sa_engine.dialect.name == "postgresql"
        web = app.test_client()
        log_in(web, "window01")
        assert web.get("/officer/inbox").status_code == 200
    finally:
        engine.dispose()


def test_app_runs_on_the_suites_database(
    engine: Engine, login_as: Callable[..., FlaskClient]
) -> None:
    expected = "postgresql" if os.environ.get("XIAONENG_TEST_DATABASE_URL") else "sqlite"
    assert engine.sa_engine.dialect.name == expected
    assert login_as("window01").get("/officer/inbox").status_code == 200
