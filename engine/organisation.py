"""Organisation: departments, posts, people, roles — what assignment and permissions use.

A person's **groups** are what BPMN candidate groups and lanes name:

* ``dept:<department id>`` for each department of their posts and memberships,
* ``post:<post id>`` for each post they hold,
* ``role:<role>`` for each role (``role:section-chief``, ``role:admin`` …).

A task may also name a **combined group** ``role:<role>&dept:<department>``: a person
who has the role *and* belongs to the department (``task_groups_of``).

The organisation file (TOML) is documented in ``docs/organisation.md``; the demo
organisation ships as ``demo/organisation.toml``.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Row, delete, literal, null, select, union_all
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from engine import accountability
from engine.errors import InvalidInputError, NotFoundError, NotPermittedError
from engine.store import must_get
from engine.store.models import (
    Department,
    DepartmentMember,
    Person,
    PersonRole,
    Post,
    PostHolder,
)
from engine.views import DepartmentView, PersonView, PostView

# How passwords are hashed (werkzeug's method string). scrypt, werkzeug's default, costs
# about 0.1 s a hash on purpose. The test suite lowers the cost for its throwaway demo
# logins; a stored hash names its own method, so checking works whatever this is now.
DEFAULT_HASH_METHOD = "scrypt"
PASSWORD_HASH_METHOD = DEFAULT_HASH_METHOD


def groups_of(session: Session, person_id: str) -> frozenset[str]:
    """Return every group the person belongs to (see the module docstring)."""
    posts = (
        select(literal("post:") + Post.id, literal("dept:") + Post.department_id)
        .join(PostHolder, PostHolder.post_id == Post.id)
        .where(PostHolder.person_id == person_id)
    )
    members = select(literal("dept:") + DepartmentMember.department_id, null()).where(
        DepartmentMember.person_id == person_id
    )
    roles = select(literal("role:") + PersonRole.role, null()).where(
        PersonRole.person_id == person_id
    )
    groups: set[str] = set()
    rows: Sequence[Row[Any]] = session.execute(union_all(posts, members, roles)).all()  # type: ignore[assignment]
    for row in rows:
        groups.update(str(group) for group in row if group is not None)
    return frozenset(groups)


def departments_under(
    session: Session | Connection,
    groups: Iterable[str],
    children: Mapping[str | None, list[str]] | None = None,
) -> set[str]:
    """The departments of the ``dept:`` groups and every department below them
    (``children``: the tree as :func:`department_tree` reads it, when already read)."""
    tree = department_tree(session) if children is None else children
    found: set[str] = set()
    todo = [g.removeprefix("dept:") for g in groups if g.startswith("dept:")]
    while todo:
        dept = todo.pop()
        if dept not in found:
            found.add(dept)
            todo.extend(tree.get(dept, []))
    return found


def department_tree(session: Session | Connection) -> dict[str | None, list[str]]:
    """Parent department id -> the ids of the departments right below it."""
    children: dict[str | None, list[str]] = {}
    for dept_id, parent in session.execute(select(Department.id, Department.parent_id)).all():
        children.setdefault(parent, []).append(dept_id)
    return children


def task_groups_of(session: Session, person_id: str) -> frozenset[str]:
    """The person's groups plus the combined groups a task may name to ask for both a role
    and a department (``role:department-head&dept:housing-permits``): candidate groups are
    alternatives, a combined group is one candidate that needs both. A role held in a
    department counts in the departments below it too: the head of the housing bureau is
    the department head of its permits section."""
    return combined_groups(session, groups_of(session, person_id))


def combined_groups(
    session: Session,
    groups: Iterable[str],
    children: Mapping[str | None, list[str]] | None = None,
) -> frozenset[str]:
    """``groups`` plus their combined role-and-department groups (:func:`task_groups_of`)."""
    groups = frozenset(groups)
    roles = [g for g in groups if g.startswith("role:")]
    if not roles:
        return groups
    departments = departments_under(session, groups, children)
    return groups | {f"{r}&dept:{d}" for r in roles for d in departments}


def get_person(session: Session, person_id: str) -> PersonView:
    """Return a person with their groups and task groups, or raise NotFoundError."""
    person = session.get(Person, person_id)
    if person is None:
        raise NotFoundError("person", person_id)
    groups = groups_of(session, person_id)
    return PersonView(
        id=person.id,
        name=person.name,
        active=person.active,
        groups=tuple(sorted(groups)),
        task_groups=tuple(sorted(combined_groups(session, groups))),
    )


def person_names(session: Session, person_ids: Iterable[str] | None = None) -> dict[str, str]:
    """Person id -> name for the ids that exist, or for everyone (one statement)."""
    stmt = select(Person.id, Person.name)
    if person_ids is not None:
        wanted = sorted(set(person_ids))
        if not wanted:
            return {}
        stmt = stmt.where(Person.id.in_(wanted))
    return {person_id: name for person_id, name in session.execute(stmt).all()}


def require_person(session: Session, person_id: str) -> Person:
    """Return the active person ``person_id`` or raise NotFoundError."""
    person = session.get(Person, person_id)
    if person is None or not person.active:
        raise NotFoundError("person", person_id)
    return person


def check_password(session: Session, person_id: str, password: str) -> bool:
    """True when ``password`` matches the person's stored hash."""
    person = session.get(Person, person_id)
    if person is None or not person.active or not person.password_hash:
        return False
    return check_password_hash(person.password_hash, password)


def set_password(session: Session, person_id: str, password: str) -> None:
    """Store a salted hash of ``password`` for the person."""
    person = require_person(session, person_id)
    person.password_hash = generate_password_hash(password, method=PASSWORD_HASH_METHOD)


def departments(session: Session) -> list[DepartmentView]:
    """Every department, by id."""
    return [
        DepartmentView(id=d.id, name=d.name, parent_id=d.parent_id, kind=d.kind, phone=d.phone)
        for d in session.scalars(select(Department).order_by(Department.id))
    ]


def posts(session: Session) -> list[PostView]:
    """Every post with its holders, by id."""
    holders: dict[str, list[str]] = {}
    for post_id, person_id in session.execute(
        select(PostHolder.post_id, PostHolder.person_id).order_by(PostHolder.person_id)
    ):
        holders.setdefault(post_id, []).append(person_id)
    return [
        PostView(
            id=p.id,
            name=p.name,
            department_id=p.department_id,
            backup_post_id=p.backup_post_id,
            holders=tuple(holders.get(p.id, ())),
        )
        for p in session.scalars(select(Post).order_by(Post.id))
    ]


def people(session: Session, department: str | None = None) -> list[PersonView]:
    """Every person (inactive ones too) with their groups, by id; with ``department``,
    those who belong to it (by a post there or a membership)."""
    if department is not None and session.get(Department, department) is None:
        raise NotFoundError("department", department)
    groups: dict[str, set[str]] = {}
    # three queries for everyone, rather than three per person (groups_of)
    for person_id, post_id, dept_id in session.execute(
        select(PostHolder.person_id, Post.id, Post.department_id).join(
            Post, Post.id == PostHolder.post_id
        )
    ):
        groups.setdefault(person_id, set()).update((f"post:{post_id}", f"dept:{dept_id}"))
    for person_id, dept_id in session.execute(
        select(DepartmentMember.person_id, DepartmentMember.department_id)
    ):
        groups.setdefault(person_id, set()).add(f"dept:{dept_id}")
    for person_id, role in session.execute(select(PersonRole.person_id, PersonRole.role)):
        groups.setdefault(person_id, set()).add(f"role:{role}")
    tree = department_tree(session)
    found = [
        PersonView(
            id=p.id,
            name=p.name,
            active=p.active,
            groups=tuple(sorted(groups.get(p.id, ()))),
            task_groups=tuple(sorted(combined_groups(session, groups.get(p.id, ()), tree))),
        )
        for p in session.scalars(select(Person).order_by(Person.id))
    ]
    if department is None:
        return found
    return [p for p in found if f"dept:{department}" in p.groups]


def set_active(
    session: Session, conn: Connection, person_id: str, active: bool, actor: str, now: datetime
) -> PersonView:
    """Make a person active or inactive (an admin; never themselves), audited. An inactive
    person cannot log in and their API tokens stop working."""
    if "role:admin" not in groups_of(session, actor):
        raise NotPermittedError("only an admin may activate or deactivate people", actor=actor)
    if person_id == actor and not active:
        raise InvalidInputError("you cannot deactivate yourself")
    person = session.get(Person, person_id)
    if person is None:
        raise NotFoundError("person", person_id)
    person.active = bool(active)
    session.flush()
    accountability.record(
        conn,
        at=now,
        action="person_active",
        actor=actor,
        detail={"person_id": person_id, "active": bool(active)},
    )
    return get_person(session, person_id)


def read_file(path: str | Path) -> dict[str, Any]:
    """Read an organisation TOML file."""
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInputError(f"{path}: not valid TOML: {exc}") from exc


def load(session: Session, data: Mapping[str, Any], *, replace: bool = False) -> dict[str, int]:
    """Create or update the organisation from a parsed organisation file.

    Args:
        session: the caller's session (the caller commits).
        data: ``{"departments": [...], "posts": [...], "people": [...]}``.
        replace: drop each listed person's posts, roles and memberships before
            setting those in the file (otherwise they are added).

    Returns:
        counts of departments, posts and people written.
    """
    departments = _records(data, "departments", ("id", "name"))
    posts = _records(data, "posts", ("id", "name", "department"))
    people = _records(data, "people", ("id", "name"))
    dept_ids = {d["id"] for d in departments} | set(session.scalars(select(Department.id)))
    post_ids = {p["id"] for p in posts} | set(session.scalars(select(Post.id)))
    problems = []
    for d in departments:
        if d.get("parent") and d["parent"] not in dept_ids:
            problems.append(f"department {d['id']}: unknown parent {d['parent']!r}")
    for p in posts:
        if p["department"] not in dept_ids:
            problems.append(f"post {p['id']}: unknown department {p['department']!r}")
        if p.get("backup") and p["backup"] not in post_ids:
            problems.append(f"post {p['id']}: unknown backup post {p['backup']!r}")
    for person in people:
        for post in person.get("posts", []):
            if post not in post_ids:
                problems.append(f"person {person['id']}: unknown post {post!r}")
        for dept in person.get("departments", []):
            if dept not in dept_ids:
                problems.append(f"person {person['id']}: unknown department {dept!r}")
    if problems:
        raise InvalidInputError("organisation file is invalid: " + "; ".join(problems))

    # parents first, so that the foreign key holds on PostgreSQL
    for d in _parents_first(departments):
        row = session.get(Department, d["id"]) or Department(id=d["id"])
        row.name = d["name"]
        row.parent_id = d.get("parent")
        row.kind = d.get("kind", "department")
        row.phone = d.get("phone")
        session.add(row)
    session.flush()
    for p in posts:
        row_p = session.get(Post, p["id"]) or Post(id=p["id"])
        row_p.name = p["name"]
        row_p.department_id = p["department"]
        session.add(row_p)
    session.flush()
    for p in posts:  # backups after every post exists
        post_row = must_get(session, Post, p["id"])
        post_row.backup_post_id = p.get("backup")
    for person in people:
        row_person = session.get(Person, person["id"]) or Person(id=person["id"])
        row_person.name = person["name"]
        row_person.active = bool(person.get("active", True))
        row_person.email = person.get("email")
        row_person.phone = person.get("phone")
        if person.get("password"):
            row_person.password_hash = generate_password_hash(
                person["password"], method=PASSWORD_HASH_METHOD
            )
        session.add(row_person)
        session.flush()
        if replace:
            for table in (PostHolder, PersonRole, DepartmentMember):
                session.execute(delete(table).where(table.person_id == person["id"]))
        _ensure(session, PostHolder, person["id"], "post_id", person.get("posts", []))
        _ensure(session, PersonRole, person["id"], "role", person.get("roles", []))
        _ensure(
            session, DepartmentMember, person["id"], "department_id", person.get("departments", [])
        )
    session.flush()
    return {"departments": len(departments), "posts": len(posts), "people": len(people)}


def _ensure(
    session: Session, table: Any, person_id: str, column: str, values: Iterable[str]
) -> None:
    for value in values:
        key = {"person_id": person_id, column: value}
        if session.get(table, key) is None:
            session.add(table(**key))


def _records(data: Mapping[str, Any], key: str, required: tuple[str, ...]) -> list[dict[str, Any]]:
    items = data.get(key, [])
    if not isinstance(items, list):
        raise InvalidInputError(f"organisation file: '{key}' must be a list")
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise InvalidInputError(f"organisation file: {key}[{i}] must be a table")
        missing = [f for f in required if not item.get(f)]
        if missing:
            raise InvalidInputError(f"organisation file: {key}[{i}] lacks {', '.join(missing)}")
    return items


def _parents_first(departments: list[dict[str, Any]]) -> list[dict[str, Any]]:
    by_id = {d["id"]: d for d in departments}
    ordered: list[dict[str, Any]] = []
    seen: set[str] = set()

    def visit(d: dict[str, Any], trail: tuple[str, ...]) -> None:
        if d["id"] in seen:
            return
        if d["id"] in trail:
            raise InvalidInputError(f"organisation file: department cycle through {d['id']}")
        parent = by_id.get(d.get("parent") or "")
        if parent is not None:
            visit(parent, (*trail, d["id"]))
        seen.add(d["id"])
        ordered.append(d)

    for d in departments:
        visit(d, ())
    return ordered
