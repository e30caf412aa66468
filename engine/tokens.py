"""API tokens: bearer secrets for the JSON API (integrations, mobile apps).

A token is a random secret (``xn_`` + ``secrets.token_urlsafe(32)``, 256 bits) shown once
when it is created. Only its SHA-256 is stored: a random secret of that strength needs no
salt or slow hash. A token acts as its person; it stops working when revoked or when the
person is made inactive. The person themselves or an admin creates and revokes tokens;
both are audited. ``last_used_at`` is written at most once a minute per token, so a busy
integration does not turn every read into a write.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from sqlalchemy import Connection, or_, select, update
from sqlalchemy.orm import Session

from engine import accountability, organisation
from engine.errors import ConflictError, InvalidInputError, NotFoundError, NotPermittedError
from engine.store.models import ApiToken, Person
from engine.views import ApiTokenView, PersonView

SECRET_PREFIX = "xn_"  # noqa: S105 (not a secret: marks ours, for secret scanners)
PREFIX_LENGTH = 11  # "xn_" and 8 characters of the secret: enough to tell tokens apart
MAX_LABEL = 200
MAX_SECRET = 200  # longer input is not one of ours: refused before hashing
TOUCH_EVERY = timedelta(minutes=1)
ADMIN = "role:admin"
INVALID = "invalid or revoked API token"


def digest(secret: str) -> str:
    """The stored form of a secret: SHA-256, hex."""
    return hashlib.sha256(secret.encode()).hexdigest()


def view(row: ApiToken) -> ApiTokenView:
    """The view of a token row (no secret, no hash)."""
    return ApiTokenView(
        id=row.id,
        prefix=row.prefix,
        label=row.label,
        person_id=row.person_id,
        created_at=row.created_at,
        created_by=row.created_by,
        last_used_at=row.last_used_at,
        revoked_at=row.revoked_at,
        revoked_by=row.revoked_by,
    )


def _require_self_or_admin(session: Session, person_id: str, actor: str, doing: str) -> None:
    if actor == person_id:
        return
    if ADMIN not in organisation.groups_of(session, actor):
        raise NotPermittedError(f"only {person_id} or an admin may {doing}", actor=actor)


def create(
    session: Session, conn: Connection, person_id: str, label: str, actor: str, now: datetime
) -> tuple[ApiTokenView, str]:
    """Create a token for an active person; return its view and the secret (shown once)."""
    label = (label or "").strip()
    if not label:
        raise InvalidInputError("an API token needs a label (what it is for)")
    if len(label) > MAX_LABEL:
        raise InvalidInputError(f"the label is longer than {MAX_LABEL} characters")
    organisation.require_person(session, person_id)
    _require_self_or_admin(session, person_id, actor, "create API tokens for them")
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        person_id=person_id,
        label=label,
        prefix=secret[:PREFIX_LENGTH],
        token_hash=digest(secret),
        created_at=now,
        created_by=actor,
    )
    session.add(row)
    session.flush()
    accountability.record(
        conn,
        at=now,
        action="api_token_create",
        actor=actor,
        detail={"token_id": row.id, "prefix": row.prefix, "person_id": person_id, "label": label},
    )
    return view(row), secret


def listing(session: Session, person_id: str | None = None) -> list[ApiTokenView]:
    """Tokens (of one person), newest first, revoked ones included."""
    stmt = select(ApiToken)
    if person_id is not None:
        stmt = stmt.where(ApiToken.person_id == person_id)
    rows = session.scalars(stmt.order_by(ApiToken.created_at.desc(), ApiToken.id.desc()))
    return [view(r) for r in rows]


def revoke(
    session: Session, conn: Connection, token_id: int, actor: str, now: datetime
) -> ApiTokenView:
    """Revoke a token for good (its person or an admin)."""
    row = session.get(ApiToken, token_id)
    if row is None:
        raise NotFoundError("API token", token_id)
    _require_self_or_admin(session, row.person_id, actor, "revoke their API tokens")
    if row.revoked_at is not None:
        raise ConflictError(f"API token {row.prefix}… is already revoked")
    row.revoked_at = now
    row.revoked_by = actor
    session.flush()
    accountability.record(
        conn,
        at=now,
        action="api_token_revoke",
        actor=actor,
        detail={"token_id": row.id, "prefix": row.prefix, "person_id": row.person_id},
    )
    return view(row)


def authenticate(session: Session, secret: str, now: datetime) -> tuple[PersonView, int, bool]:
    """The person a secret acts as, the token's id, and whether ``last_used_at`` is stale.

    Raises NotPermittedError for an unknown or revoked token or an inactive person.
    """
    if not isinstance(secret, str) or not secret.startswith(SECRET_PREFIX):
        raise NotPermittedError(INVALID)
    if len(secret) > MAX_SECRET:
        raise NotPermittedError(INVALID)
    wanted = digest(secret)
    row = session.execute(
        select(ApiToken, Person.active)
        .join(Person, Person.id == ApiToken.person_id)
        .where(ApiToken.token_hash == wanted)
    ).first()
    # the lookup is by an index on the hash (no timing clue about the secret itself);
    # the compare is constant-time all the same
    if row is None or not hmac.compare_digest(row[0].token_hash, wanted):
        raise NotPermittedError(INVALID)
    token, active = row
    if token.revoked_at is not None or not active:
        raise NotPermittedError(INVALID)
    stale = token.last_used_at is None or now - token.last_used_at >= TOUCH_EVERY
    return organisation.get_person(session, token.person_id), token.id, stale


def touch(conn: Connection, token_id: int, now: datetime) -> None:
    """Note a use of the token, unless one was noted less than a minute ago."""
    conn.execute(
        update(ApiToken)
        .where(
            ApiToken.id == token_id,
            or_(ApiToken.last_used_at.is_(None), ApiToken.last_used_at <= now - TOUCH_EVERY),
        )
        .values(last_used_at=now)
    )
