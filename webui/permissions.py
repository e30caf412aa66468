"""Who may see and act on a task: the rule every page and action of a task goes through.

A person sees a task they hold, own (委派), completed, or are a candidate for (by name,
or through a group: ``dept:``, ``post:``, ``role:``, combined ``role:…&dept:…``), as the
engine decides candidates (``Engine.tasks(user=…)``). Anyone else gets 404, not 403: an
officer of one department does not learn which tasks another department has. Acting on a
task someone else holds is a 403.
"""

from __future__ import annotations

from flask import abort
from flask_babel import gettext as _

from engine import CaseSummary, Engine, NotFoundError, PersonView, TaskView


def may_see(engine: Engine, person: PersonView, task: TaskView) -> bool:
    """True when the person may see the task (see the module doc)."""
    if person.id in (task.assignee, task.owner, task.completed_by):
        return True
    related = engine.tasks(user=person, case=task.case_id, state=None, limit=10_000)
    return any(t.id == task.id for t in related)


def visible_task(engine: Engine, person: PersonView, task_id: str) -> TaskView:
    """The task with its form and data, or the 404 page if the person may not see it."""
    try:
        task = engine.get_task(task_id)
    except NotFoundError:
        abort(404)
    if not may_see(engine, person, task):
        abort(404)
    return task


def require_claimable(person: PersonView, task: TaskView) -> None:
    """403 when someone else holds the task (only its holder may act on it)."""
    if task.assignee is not None and task.assignee != person.id:
        abort(
            403,
            description=_(
                "此任务已由 %(holder)s 认领，只有持有人可以办理。如需接手，请对方将任务转办给您。",
                holder=task.assignee,
            ),
        )


def require_holder(person: PersonView, task: TaskView) -> None:
    """403 unless the person holds the task: someone else holds it, or nobody has claimed
    it yet (claim it first)."""
    require_claimable(person, task)
    if task.assignee is None:
        abort(403, description=_("此任务尚未认领。请先认领，再办理。"))


def may_see_case(engine: Engine, person: PersonView, case: CaseSummary) -> bool:
    """True when the person holds, held, owns or may claim a task of the case."""
    if any(person.id in (t.assignee, t.owner) for t in case.open_tasks):
        return True
    return bool(engine.tasks(user=person, case=case.id, state=None, limit=1))


def visible_case(engine: Engine, person: PersonView, key: str | int) -> CaseSummary:
    """The case with its history, or the 404 page if the person may not see it."""
    try:
        case = engine.get_case(key)
    except NotFoundError:
        abort(404)
    if not may_see_case(engine, person, case):
        abort(404)
    return case
