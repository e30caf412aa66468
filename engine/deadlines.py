"""Deadline helpers that diagrams call: working days on the organ's calendar.

Registered as restricted-script helpers (see ``docs/scripting.md``), usable wherever a
diagram has an expression:

* ``working_days(n)`` — the moment n working days after now (the engine call's moment),
  at close of business, as an ISO 8601 string: a timer's ``timeDate``
  (``${working_days(5)}``) or a user task's ``camunda:dueDate``;
* ``promised_deadline()`` — the case's promised completion moment (the service item's
  promised limit counted from the day the case started);
* ``step_deadline("review")`` — the item's limit for that step, counted from now;
  ``step_deadline("issue_certificate", 10)`` falls back to 10 working days when the case
  has no item or the item sets no limit for the step.

A user task with no ``camunda:dueDate`` whose element id is one of the item's steps is
due after that step's limit, counted from when the task became ready.

Counting follows ``docs/holidays.md``: the start day does not count; the deadline is
close of business on the n-th working day after it. A deadline that needs a year the
calendar has no data for raises ``MissingYearError`` (unless the weekends fallback is
configured), and the engine call fails with that error and changes nothing.
"""

from __future__ import annotations

from engine import scripting
from engine.calendar import WorkCalendar
from engine.errors import ScriptError
from engine.runtime import current_call
from engine.workflow import now


def calendar() -> WorkCalendar:
    """The working-day calendar of the engine running the current call."""
    call = current_call.get()
    if call is None or call.runtime.calendar is None:
        raise ScriptError("working-day helpers are only available while the engine runs a case")
    return call.runtime.calendar(call.conn)  # type: ignore[no-any-return]


def working_days(n: int) -> str:
    """Close of business on the n-th working day after today, ISO 8601 (UTC)."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ScriptError(f"working_days() needs a whole number of days >= 0, not {n!r}")
    return calendar().add_working_days(now(), n).isoformat()


def _item_limits() -> dict[str, object]:
    task = scripting.current_task.get()
    limits = task.workflow.top_workflow.data.get("item") if task is not None else None
    if not limits:
        raise ScriptError("this case was not started for a service item (办理事项)")
    return limits  # type: ignore[no-any-return]


def promised_deadline() -> str:
    """The case's promised completion moment (承诺办结时间), ISO 8601 (UTC)."""
    return str(_item_limits()["promised_deadline"])


def step_deadline(step: str, default_days: int | None = None) -> str:
    """Close of business after the item's limit for ``step``, counted from now; without a
    service item (or a limit for the step), after ``default_days`` if given."""
    task = scripting.current_task.get()
    limits = task.workflow.top_workflow.data.get("item") if task is not None else None
    steps = (limits or {}).get("steps") or {}
    if step in steps:
        return working_days(int(steps[step]))
    if default_days is not None:
        return working_days(default_days)
    if not limits:
        raise ScriptError("this case was not started for a service item (办理事项)")
    raise ScriptError(f"the service item sets no limit for step {step!r}")


scripting.register_helper("working_days", working_days)
scripting.register_helper("promised_deadline", promised_deadline)
scripting.register_helper("step_deadline", step_deadline)
