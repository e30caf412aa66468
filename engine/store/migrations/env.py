"""Alembic environment: runs on the connection the engine hands over."""

from __future__ import annotations

from typing import Any

from alembic import context

from engine.store.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = config.attributes.get("engine")
    if engine is None:
        from engine.store.db import make_engine

        engine = make_engine(config.get_main_option("sqlalchemy.url"))
    with engine.begin() as conn:
        _run(conn)


def _run(connection: Any) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=True,
    )
    context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run `xiaoneng init-db`")
run_migrations_online()
