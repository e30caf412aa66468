"""Persistence: tables, sessions, the case-state codec and migrations."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy.orm import Session

from engine.errors import NotFoundError

R = TypeVar("R")


def must_get(session: Session, model: type[R], key: Any) -> R:
    """``session.get`` that raises NotFoundError instead of returning None."""
    row = session.get(model, key)
    if row is None:
        raise NotFoundError(getattr(model, "__tablename__", model.__name__), key)
    return row
