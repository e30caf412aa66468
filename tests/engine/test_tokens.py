"""JSON API tokens: a secret shown once, only its hash stored, revocable, audited."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
import sqlalchemy as sa

from engine import (
    ConflictError,
    Engine,
    FakeClock,
    InvalidInputError,
    NotFoundError,
    NotPermittedError,
)
from engine.store.models import ApiToken, AuditEntry


def _rows(engine: Engine) -> list[ApiToken]:
    with engine.runtime.read() as session:
        rows = list(session.scalars(sa.select(ApiToken).order_by(ApiToken.id)))
        for row in rows:
            session.expunge(row)
        return rows


def _audit(engine: Engine, action: str) -> list[AuditEntry]:
    with engine.runtime.read() as session:
        rows = list(session.scalars(sa.select(AuditEntry).where(AuditEntry.action == action)))
        for row in rows:
            session.expunge(row)
        return rows


def test_create_api_token_returns_the_secret_once_and_stores_only_its_hash(
    engine: Engine, clock: FakeClock
) -> None:
    view, secret = engine.create_api_token("zhangwei", label="手机 App", actor="zhangwei")
    assert secret.startswith("xn_") and len(secret) > 40
    assert view.person_id == "zhangwei" and view.label == "手机 App"
    assert view.created_by == "zhangwei" and view.created_at == clock.now()
    assert view.last_used_at is None and view.revoked_at is None and view.active
    assert secret.startswith(view.prefix) and len(view.prefix) < 16
    # the view carries neither the secret nor its hash
    hashed = hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in str(view.to_dict()) and hashed not in str(view.to_dict())
    (row,) = _rows(engine)
    assert row.token_hash == hashed
    assert secret not in {str(v) for v in vars(row).values()}
    (line,) = _audit(engine, "api_token_create")
    assert line.actor == "zhangwei"
    assert line.detail == {
        "token_id": view.id,
        "prefix": view.prefix,
        "person_id": "zhangwei",
        "label": "手机 App",
    }


def test_person_for_api_token_returns_the_person(engine: Engine) -> None:
    _view, secret = engine.create_api_token("zhangwei", label="集成", actor="admin")
    person = engine.person_for_api_token(secret)
    assert person.id == "zhangwei"
    assert "role:case-officer" in person.groups


def test_every_token_has_its_own_secret(engine: Engine) -> None:
    one, first = engine.create_api_token("zhangwei", label="a", actor="zhangwei")
    two, second = engine.create_api_token("zhangwei", label="b", actor="zhangwei")
    assert first != second and one.id != two.id
    assert engine.person_for_api_token(second).id == "zhangwei"


@pytest.mark.parametrize(
    "secret", ["", "nonsense", "xn_", "xn_" + "A" * 43, "xn_" + "x" * 500, "Bearer xn_abc"]
)
def test_person_for_api_token_refuses_unknown_secrets(engine: Engine, secret: str) -> None:
    engine.create_api_token("zhangwei", label="a", actor="zhangwei")
    with pytest.raises(NotPermittedError, match="invalid or revoked API token"):
        engine.person_for_api_token(secret)


def test_a_revoked_token_no_longer_works(engine: Engine, clock: FakeClock) -> None:
    view, secret = engine.create_api_token("zhangwei", label="a", actor="zhangwei")
    clock.advance(timedelta(hours=1))
    revoked = engine.revoke_api_token(view.id, actor="zhangwei")
    assert revoked.revoked_at == clock.now() and revoked.revoked_by == "zhangwei"
    assert not revoked.active
    with pytest.raises(NotPermittedError):
        engine.person_for_api_token(secret)
    (line,) = _audit(engine, "api_token_revoke")
    assert line.actor == "zhangwei" and line.detail is not None
    assert line.detail["token_id"] == view.id


def test_revoking_twice_is_a_conflict(engine: Engine) -> None:
    view, _secret = engine.create_api_token("zhangwei", label="a", actor="zhangwei")
    engine.revoke_api_token(view.id, actor="admin")
    with pytest.raises(ConflictError, match="already revoked"):
        engine.revoke_api_token(view.id, actor="admin")
    assert len(_audit(engine, "api_token_revoke")) == 1


def test_revoking_an_unknown_token_is_not_found(engine: Engine) -> None:
    with pytest.raises(NotFoundError):
        engine.revoke_api_token(999, actor="admin")


def test_a_token_of_an_inactive_person_does_not_work(engine: Engine) -> None:
    _view, secret = engine.create_api_token("zhangwei", label="a", actor="zhangwei")
    engine.set_person_active("zhangwei", False, actor="admin")
    with pytest.raises(NotPermittedError):
        engine.person_for_api_token(secret)
    engine.set_person_active("zhangwei", True, actor="admin")
    assert engine.person_for_api_token(secret).id == "zhangwei"


def test_only_the_person_or_an_admin_creates_and_revokes_tokens(engine: Engine) -> None:
    with pytest.raises(NotPermittedError, match="only zhangwei or an admin"):
        engine.create_api_token("zhangwei", label="a", actor="sunli")
    assert _rows(engine) == []
    view, _secret = engine.create_api_token("zhangwei", label="a", actor="admin")
    with pytest.raises(NotPermittedError):
        engine.revoke_api_token(view.id, actor="sunli")
    assert engine.api_tokens()[0].revoked_at is None


@pytest.mark.parametrize("label", ["", "   ", "x" * 201])
def test_create_api_token_needs_a_short_label(engine: Engine, label: str) -> None:
    with pytest.raises(InvalidInputError, match="label"):
        engine.create_api_token("zhangwei", label=label, actor="zhangwei")
    assert _rows(engine) == []
    assert _audit(engine, "api_token_create") == []


def test_create_api_token_for_an_unknown_or_inactive_person_is_refused(engine: Engine) -> None:
    with pytest.raises(NotFoundError):
        engine.create_api_token("nobody", label="a", actor="admin")
    engine.set_person_active("zhangwei", False, actor="admin")
    with pytest.raises(NotFoundError):
        engine.create_api_token("zhangwei", label="a", actor="admin")
    assert _rows(engine) == []


def test_last_used_at_is_written_at_most_once_a_minute(engine: Engine, clock: FakeClock) -> None:
    view, secret = engine.create_api_token("zhangwei", label="a", actor="zhangwei")
    clock.advance(timedelta(minutes=5))
    first_use = clock.now()
    engine.person_for_api_token(secret)
    assert engine.api_tokens("zhangwei")[0].last_used_at == first_use
    clock.advance(timedelta(seconds=30))
    engine.person_for_api_token(secret)
    assert engine.api_tokens("zhangwei")[0].last_used_at == first_use  # not written again
    clock.advance(timedelta(seconds=31))
    engine.person_for_api_token(secret)
    assert engine.api_tokens("zhangwei")[0].last_used_at == clock.now()
    assert view.last_used_at is None  # views are snapshots


def test_api_tokens_lists_newest_first_and_by_person(engine: Engine, clock: FakeClock) -> None:
    older, _ = engine.create_api_token("zhangwei", label="older", actor="zhangwei")
    clock.advance(timedelta(minutes=1))
    newer, _ = engine.create_api_token("zhangwei", label="newer", actor="zhangwei")
    other, _ = engine.create_api_token("sunli", label="sunli's", actor="sunli")
    assert [t.id for t in engine.api_tokens("zhangwei")] == [newer.id, older.id]
    assert [t.id for t in engine.api_tokens()] == [other.id, newer.id, older.id]
    assert engine.api_tokens("lina") == []
