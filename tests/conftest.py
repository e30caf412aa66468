"""Shared fixtures: a controllable clock, engines on a real SQLite file or PostgreSQL,
the web app on that engine, a test client and ``login_as``.

The whole suite runs on SQLite by default and on PostgreSQL when
``XIAONENG_TEST_DATABASE_URL`` is set (each test in a schema of its own). Tests that
need PostgreSQL whatever the default use ``pg_url``; without a server they skip with
the reason — except in CI (``CI=true``), where a missing server is a failure.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from engine import Engine
from engine.clock import FakeClock

ROOT = Path(__file__).resolve().parent.parent
BPMN = ROOT / "bpmn"
DEMO_ORG = ROOT / "demo" / "organisation.toml"
# service items the engine tests count with (independent of the shipped sample catalogue)
TEST_ITEMS = ROOT / "tests" / "engine" / "data" / "items"
# general_permit with the processes it calls (extension_request, special_procedure)
GENERAL_PERMIT = [
    BPMN / f"{p}.bpmn" for p in ("general_permit", "extension_request", "special_procedure")
]
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@pytest.fixture(autouse=True, scope="session")
def _cheap_password_hashes() -> Iterator[None]:
    """Hash the demo logins with one PBKDF2 round instead of scrypt (0.1 s each, 30 people
    per engine): the hashes are thrown away with each test's database. Tests of the
    password rules themselves still check hashing and verification end to end."""
    from engine import organisation

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(organisation, "PASSWORD_HASH_METHOD", "pbkdf2:sha256:1")
        yield


def _pg_base_url() -> str:
    url = os.environ.get("XIAONENG_TEST_DATABASE_URL") or DEFAULT_PG
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url


def _pg_available(url: str) -> str | None:
    try:
        engine = sa.create_engine(url)
        with engine.connect() as conn:
            conn.execute(sa.text("select 1"))
        engine.dispose()
    except sa.exc.OperationalError as exc:
        return str(exc).splitlines()[0]
    return None


@pytest.fixture(scope="session")
def pg_server() -> str:
    """The PostgreSQL base URL, or skip (fail in CI) when no server answers."""
    url = _pg_base_url()
    problem = _pg_available(url)
    if problem:
        message = f"PostgreSQL not reachable at {url.split('@')[-1]}: {problem}"
        if os.environ.get("CI") == "true":
            pytest.fail(message + " (CI requires PostgreSQL)")
        pytest.skip(message)
    return url


@pytest.fixture
def pg_url(pg_server: str) -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a fresh schema, dropped afterwards."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(pg_server)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in pg_server else "?"
    yield f"{pg_server}{sep}options=-csearch_path%3D{schema}"
    with admin.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A SQLite file in the test's temporary folder."""
    return f"sqlite:///{tmp_path / 'xiaoneng.db'}"


@pytest.fixture
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The suite's database: PostgreSQL if XIAONENG_TEST_DATABASE_URL is set, else SQLite."""
    if os.environ.get("XIAONENG_TEST_DATABASE_URL"):
        return str(request.getfixturevalue("pg_url"))
    return f"sqlite:///{tmp_path / 'xiaoneng.db'}"


@pytest.fixture
def clock() -> FakeClock:
    """A clock that moves only when told to: Monday 2026-11-23 09:00 Beijing time."""
    return FakeClock(datetime(2026, 11, 23, 1, 0, tzinfo=UTC))


def make_engine(url: str, clock: FakeClock | None = None, **kwargs: object) -> Engine:
    """An engine with the schema created and the demo organisation loaded."""
    kwargs.setdefault("figures_cache_seconds", 0)  # figures fresh on every call
    engine = Engine(url, clock=clock, create_schema=True, **kwargs)  # type: ignore[arg-type]
    engine.load_organisation(DEMO_ORG)
    return engine


@pytest.fixture
def engine(db_url: str, clock: FakeClock, tmp_path: Path) -> Iterator[Engine]:
    """An engine on the suite's database with the demo organisation; application
    materials go to the test's temporary folder."""
    eng = make_engine(db_url, clock, materials_dir=tmp_path / "materials")
    yield eng
    eng.dispose()


@pytest.fixture
def permit(engine: Engine) -> Engine:
    """general_permit deployed, the test items loaded, case GP-1 for item T-0101 waiting
    for acceptance (受理). Test modules that need more override it (``permit(permit)``)."""
    engine.deploy(GENERAL_PERMIT, actor="admin")
    engine.load_items([TEST_ITEMS])
    engine.start_case(
        "general_permit",
        "GP-1",
        actor="window01",
        data={"applicant": "某某建设有限公司"},
        title="建筑工程施工许可",
        item="T-0101",
    )
    return engine


@pytest.fixture
def app(engine: Engine) -> Flask:
    """The web app on the suite's engine, with the test settings (CSRF and the login rate
    limit on: tests check them)."""
    from webui import create_app
    from webui.config import TEST_CONFIG

    return create_app(TEST_CONFIG, engine=engine)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client of the app, logged in as nobody."""
    return app.test_client()


@pytest.fixture
def login_as(app: Flask) -> Callable[..., FlaskClient]:
    """``login_as("window01")``: a new test client logged in through the login form (each
    person gets a client, and so a cookie jar, of their own)."""
    from tests.helpers import log_in

    def login(person: str, password: str | None = None) -> FlaskClient:
        web = app.test_client()
        log_in(web, person, password)
        return web

    return login
