"""Applicants' portal accounts (申请人账号): register, log in, look up.

Applicants are not people of the organisation: they hold no tasks and belong to no
group. Their audit and material lines name them ``applicant:<id>``.
"""

from __future__ import annotations

import functools
import re
import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from engine import accountability, organisation
from engine.errors import ConflictError, InvalidInputError, NotFoundError
from engine.store.models import Applicant
from engine.views import ApplicantView

KINDS = {"person": "自然人", "organisation": "法人或其他组织"}
LOGIN = re.compile(r"[A-Za-z0-9_.@-]{3,64}")
MIN_PASSWORD = 8
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
PHONE = re.compile(r"[0-9+\-() ]+")
ACTOR_PREFIX = "applicant:"


@functools.cache
def _dummy_hash(method: str) -> str:
    """Checked against when the login is unknown, so that a wrong login takes as long as
    a wrong password (no telling which logins exist by timing)."""
    return generate_password_hash(secrets.token_hex(16), method=method)


def actor_of(applicant_id: int) -> str:
    """How audit lines and materials name an applicant."""
    return f"{ACTOR_PREFIX}{applicant_id}"


def prepare(
    *,
    login: str,
    password: str,
    name: str,
    kind: str,
    phone: str | None,
    email: str | None,
) -> dict[str, Any]:
    """Check a registration and hash its password (outside any transaction: hashing is
    slow on purpose); return the row's values."""
    login = (login or "").strip().lower() if isinstance(login, str) else ""
    if not LOGIN.fullmatch(login):  # one account per login whatever the letter case
        raise InvalidInputError(
            "the login must be 3-64 characters: letters, digits and _ . @ - only"
        )
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        raise InvalidInputError(f"the password must be at least {MIN_PASSWORD} characters")
    name = (name or "").strip() if isinstance(name, str) else ""
    if not name or len(name) > 200:
        raise InvalidInputError("the name (姓名或单位名称) is required, at most 200 characters")
    if kind not in KINDS:
        raise InvalidInputError(f"unknown kind of applicant {kind!r}; one of {', '.join(KINDS)}")
    phone = (phone or "").strip() or None
    if phone is not None and (len(phone) > 64 or not PHONE.fullmatch(phone)):
        raise InvalidInputError("the phone number may hold digits, spaces and + - ( ) only")
    email = (email or "").strip() or None
    if email is not None and (len(email) > 200 or not EMAIL.fullmatch(email)):
        raise InvalidInputError("the e-mail address is not valid")
    return {
        "login": login,
        "name": name,
        "kind": kind,
        # read at call time: the test suite lowers the cost of hashing (see organisation)
        "password_hash": generate_password_hash(password, method=organisation.PASSWORD_HASH_METHOD),
        "phone": phone,
        "email": email,
    }


def register(session: Session, values: dict[str, Any], now: datetime) -> ApplicantView:
    """Create an account from :func:`prepare`'s values; a taken login is a ConflictError."""
    login = values["login"]
    if session.scalar(select(Applicant.id).where(Applicant.login == login)) is not None:
        raise ConflictError(f"the login {login} is taken")
    row = Applicant(**values, active=True, created_at=now)
    session.add(row)
    session.flush()
    accountability.record(
        session.connection(),
        at=now,
        action="applicant_register",
        actor=actor_of(row.id),
        detail={"applicant_id": row.id, "login": login, "kind": row.kind},
    )
    return view(row)


def credentials(session: Session, login: str) -> tuple[ApplicantView, str] | None:
    """An active account and its password hash, by login."""
    wanted = (login or "").strip().lower() if isinstance(login, str) else ""
    row = session.scalar(select(Applicant).where(Applicant.login == wanted))
    if row is None or not row.active:
        return None
    return view(row), row.password_hash


def verify(found: tuple[ApplicantView, str] | None, password: str) -> ApplicantView | None:
    """The account when the password is right (outside any transaction: slow on purpose)."""
    given = password if isinstance(password, str) else ""
    if found is None:
        check_password_hash(_dummy_hash(organisation.PASSWORD_HASH_METHOD), given)
        return None
    account, password_hash = found
    return account if check_password_hash(password_hash, given) else None


def get(session: Session, applicant_id: int) -> ApplicantView:
    """One account (NotFoundError)."""
    return view(get_row(session, applicant_id))


def get_row(session: Session, applicant_id: int) -> Applicant:
    """One account's row (NotFoundError)."""
    if isinstance(applicant_id, bool) or not isinstance(applicant_id, int):
        raise NotFoundError("applicant", applicant_id)
    row = session.get(Applicant, applicant_id)
    if row is None:
        raise NotFoundError("applicant", applicant_id)
    return row


def view(row: Applicant) -> ApplicantView:
    """The view of an account."""
    return ApplicantView(
        id=row.id,
        login=row.login,
        name=row.name,
        kind=row.kind,
        phone=row.phone,
        email=row.email,
        created_at=row.created_at,
    )
