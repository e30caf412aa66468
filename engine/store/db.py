"""Database connections and schema creation.

SQLite is the embedded default: one file, WAL journal, writers serialised with
``BEGIN IMMEDIATE`` so that a transaction reads and writes one consistent snapshot.
PostgreSQL is the production database (``postgresql+psycopg://…``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import orjson
from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, event, inspect
from sqlalchemy.engine import Engine as SAEngine

DEFAULT_URL = "sqlite:///xiaoneng.db"
MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def database_url(url: str | None = None) -> str:
    """Return ``url``, else ``XIAONENG_DATABASE_URL``, else a SQLite file in the cwd."""
    url = url or os.environ.get("XIAONENG_DATABASE_URL") or DEFAULT_URL
    if url.startswith("postgresql://"):
        # psycopg 3 is the driver we ship; plain postgresql:// would ask for psycopg2
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url


def make_engine(url: str | None = None, **kwargs: Any) -> SAEngine:
    """Create a SQLAlchemy engine with the settings Xiaoneng needs on each backend."""
    url = database_url(url)
    kwargs.setdefault("json_serializer", json_dumps)
    kwargs.setdefault("json_deserializer", orjson.loads)
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"timeout": 30, "check_same_thread": False},
            **kwargs,
        )
        _configure_sqlite(engine)
        return engine
    # No pre-ping (a round trip per call); connections are recycled instead, and a
    # dropped connection fails one call, which the caller may retry.
    kwargs.setdefault("pool_recycle", 1800)
    kwargs.setdefault("pool_size", 10)
    return create_engine(url, **kwargs)


def json_dumps(value: Any) -> str:
    """JSON for JSON columns (orjson: several times faster than the standard library)."""
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def _configure_sqlite(engine: SAEngine) -> None:
    # pysqlite's own transaction handling is turned off so that we can emit
    # BEGIN IMMEDIATE: the write lock is taken before the first read, so two engine
    # calls on one case run one after the other instead of failing on upgrade.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        readonly = connection.get_execution_options().get("xiaoneng_readonly")
        # straight to the driver: this runs at the start of every transaction
        connection.connection.dbapi_connection.execute("BEGIN" if readonly else "BEGIN IMMEDIATE")


def alembic_config(engine: SAEngine) -> Config:
    """An Alembic configuration pointing at our migrations and ``engine``."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade_schema(engine: SAEngine) -> None:
    """Create or upgrade the schema to the newest migration (idempotent)."""
    cfg = alembic_config(engine)
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "head")


def has_schema(engine: SAEngine) -> bool:
    """True when the database has been initialised."""
    return inspect(engine).has_table("alembic_version")
