"""Organisation listings for the admin pages, and making people (in)active."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from engine import (
    DepartmentView,
    Engine,
    InvalidInputError,
    NotFoundError,
    NotPermittedError,
    PostView,
)
from engine.store.models import AuditEntry


def test_departments_lists_every_department_with_its_parent(engine: Engine) -> None:
    found = {d.id: d for d in engine.departments()}
    assert [d.id for d in engine.departments()] == sorted(found)
    assert found["city"] == DepartmentView(
        id="city", name="示范市人民政府", parent_id=None, kind="organ", phone=None
    )
    assert found["housing-permits"].parent_id == "housing"
    assert found["housing-permits"].kind == "department"
    assert found["service-centre"].phone == "0000-12345"


def test_posts_lists_backup_posts_and_holders(engine: Engine) -> None:
    found = {p.id: p for p in engine.posts()}
    assert found["housing-officer-a"] == PostView(
        id="housing-officer-a",
        name="施工许可承办（A岗）",
        department_id="housing-permits",
        backup_post_id="housing-officer-b",
        holders=("zhangwei",),
    )
    assert found["housing-officer-b"].backup_post_id is None
    assert found["housing-officer-b"].holders == ("lina",)
    assert found["window-a"].holders == ("window01",)
    assert found["window-a"].to_dict()["holders"] == ["window01"]


def test_people_lists_everyone_with_their_groups(engine: Engine) -> None:
    everyone = engine.people()
    ids = [p.id for p in everyone]
    assert ids == sorted(ids) and {"admin", "zhangwei", "window01"} <= set(ids)
    by_id = {p.id: p for p in everyone}
    # the same groups as one person's view (the bulk query and groups_of agree)
    for person_id in ("zhangwei", "admin", "window01", "supervisor01"):
        assert by_id[person_id] == engine.person(person_id)


def test_people_of_a_department(engine: Engine) -> None:
    ids = [p.id for p in engine.people(department="housing-permits")]
    assert "zhangwei" in ids and "lina" in ids
    assert "window01" not in ids and "admin" not in ids
    # a department's own people, not those of the departments below it
    heads = [p.id for p in engine.people(department="housing")]
    assert "zhaomin" in heads and "zhangwei" not in heads


def test_people_of_an_unknown_department_is_not_found(engine: Engine) -> None:
    with pytest.raises(NotFoundError, match="department"):
        engine.people(department="nope")


def test_set_person_active_deactivates_and_is_audited(engine: Engine) -> None:
    assert engine.check_password("zhangwei", "demo123")
    person = engine.set_person_active("zhangwei", False, actor="admin")
    assert person.active is False
    assert not engine.check_password("zhangwei", "demo123")
    assert {p.id: p.active for p in engine.people()}["zhangwei"] is False
    assert engine.set_person_active("zhangwei", True, actor="admin").active
    assert engine.check_password("zhangwei", "demo123")
    with engine.runtime.read() as session:
        lines = session.execute(
            sa.select(AuditEntry.actor, AuditEntry.detail)
            .where(AuditEntry.action == "person_active")
            .order_by(AuditEntry.id)
        ).all()
    assert [tuple(line) for line in lines] == [
        ("admin", {"person_id": "zhangwei", "active": False}),
        ("admin", {"person_id": "zhangwei", "active": True}),
    ]


def test_set_person_active_is_for_admins_only(engine: Engine) -> None:
    with pytest.raises(NotPermittedError, match="admin"):
        engine.set_person_active("zhangwei", False, actor="window01")
    assert engine.person("zhangwei").active


def test_an_admin_cannot_deactivate_themselves(engine: Engine) -> None:
    with pytest.raises(InvalidInputError, match="yourself"):
        engine.set_person_active("admin", False, actor="admin")
    assert engine.person("admin").active


def test_set_person_active_of_an_unknown_person_is_not_found(engine: Engine) -> None:
    with pytest.raises(NotFoundError):
        engine.set_person_active("nobody", False, actor="admin")


def test_passwords_are_stored_as_scrypt_hashes_outside_the_test_suite(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The suite hashes with one PBKDF2 round for speed (conftest); the product's method is
    scrypt, and a hash made either way still verifies after the method changes."""
    from engine import organisation

    monkeypatch.setattr(organisation, "PASSWORD_HASH_METHOD", organisation.DEFAULT_HASH_METHOD)
    engine.set_password("zhangwei", "a-new-secret-9")
    with engine.runtime.call(readonly=True) as call:
        stored = call.session.execute(
            sa.text("SELECT password_hash FROM people WHERE id = 'zhangwei'")
        ).scalar_one()
    assert stored.startswith("scrypt:")
    assert "a-new-secret-9" not in stored
    assert engine.check_password("zhangwei", "a-new-secret-9")
    assert engine.check_password("window01", "demo123")  # hashed with the suite's method
