"""Helpers shared by tests (not fixtures)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine import DEMO_LOGINS, Engine, TaskView
from engine.store.serializer import full_dict

if TYPE_CHECKING:
    from flask.testing import FlaskClient
    from werkzeug.test import TestResponse

DATA = Path(__file__).resolve().parent / "engine" / "data"
_CSRF = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')


def only_task(engine: Engine, key: str, element_id: str | None = None) -> TaskView:
    """The single open task of a case (optionally of one element)."""
    tasks = [t for t in engine.tasks(case=key) if element_id in (None, t.element_id)]
    assert len(tasks) == 1, [t.element_id for t in tasks]
    return tasks[0]


def act(
    engine: Engine,
    key: str,
    element_id: str,
    person: str,
    data: dict[str, Any] | None = None,
    opinion: str | None = None,
) -> TaskView:
    """Claim (if needed) and complete the open task ``element_id`` as ``person``."""
    task = only_task(engine, key, element_id)
    if task.assignee is None:
        engine.claim(task.id, actor=person)
    return engine.complete(task.id, actor=person, data=data or {}, opinion=opinion)


def restore_roundtrip(engine: Engine, key: str) -> None:
    """Serialize → deserialize: the state in the database equals the live workflow.

    Takes the cached (live) workflow, rebuilds the case from its stored head and history
    segments, compares SpiffWorkflow's full serialization of both, and leaves the cache
    empty so the next call works on the restored state.
    """
    from engine import instances

    runtime = engine.runtime
    with runtime.call() as call:
        case = instances.get_case_row(call, key)
        cached = runtime.workflows.take(case.id, case.row_version)
        runtime.workflows.discard(case.id)
        restored = instances.checkout(call, case)
        if cached is not None:
            live, stored = full_dict(cached.workflow), full_dict(restored.workflow)
            assert live == stored, "\n".join(differences(live, stored)[:10])


def differences(a: Any, b: Any, path: str = "") -> list[str]:
    """Paths where two JSON-like values differ (for readable assertion messages)."""
    if type(a) is not type(b):
        return [f"{path}: {a!r:.120} != {b!r:.120}"]
    if isinstance(a, dict):
        found: list[str] = []
        for key in sorted(set(a) | set(b), key=str):
            if key not in a or key not in b:
                found.append(f"{path}/{key}: only in {'live' if key in a else 'stored'}")
            else:
                found.extend(differences(a[key], b[key], f"{path}/{key}"))
        return found
    if isinstance(a, list):
        if len(a) != len(b):
            return [f"{path}: {a!r:.120} != {b!r:.120}"]
        return [
            d
            for i, (x, y) in enumerate(zip(a, b, strict=True))
            for d in differences(x, y, f"{path}[{i}]")
        ]
    return [] if a == b else [f"{path}: {a!r:.120} != {b!r:.120}"]


def csrf_token(html: str) -> str:
    """The CSRF token of the first form in a page."""
    found = _CSRF.search(html)
    assert found, "no CSRF token in the page"
    return found.group(1)


def log_in(client: FlaskClient, person: str, password: str | None = None) -> None:
    """Log in through the login form (demo passwords by default)."""
    if password is None:
        password = next((d.password for d in DEMO_LOGINS if d.person_id == person), "demo123")
    token = csrf_token(client.get("/login").get_data(as_text=True))
    response = client.post(
        "/login", data={"username": person, "password": password, "csrf_token": token}
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:500]


def post_form(
    client: FlaskClient, page: str, action: str, data: dict[str, str] | None = None
) -> TestResponse:
    """Submit a form of ``page`` to ``action`` with the page's CSRF token, as a browser
    would."""
    token = csrf_token(client.get(page).get_data(as_text=True))
    return client.post(action, data={"csrf_token": token, **(data or {})})
