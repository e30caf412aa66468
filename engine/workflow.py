"""The engine's BpmnWorkflow: task queries that do not walk the whole history.

SpiffWorkflow answers ``get_tasks(state=READY)`` by walking the task tree from its root,
depth first, down to a depth of 1,000. Every engine step asks that question several times,
so a step costs time proportional to everything the case ever did, and a case that loops
more than ~500 times loses sight of its ready tasks altogether (the walk stops at depth
1,000). Queries for unfinished tasks only are answered here from an index of the
unfinished tasks instead, in the order the tasks reached their state (ties by id):
deterministic, and the same for a live workflow and one restored from the database.

The index relies on two facts of SpiffWorkflow's task table: new tasks are appended to
the ``tasks`` dict (insertion order), and a finished task does not become unfinished again
(the engine never rewinds a workflow in place).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextvars import ContextVar
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import (
    EscalationEventDefinition,
)
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    DurationTimerEventDefinition,
    TimeDateEventDefinition,
    TimerEventDefinition,
)
from SpiffWorkflow.bpmn.util.task import BpmnTaskFilter
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.task import Task, TaskState

from engine.clock import SystemClock

_FAST_KEYS = frozenset(
    {"state", "manual", "spec_name", "spec_class", "lane", "catches_event", "updated_ts"}
)
_FINISHED = TaskState.FINISHED_MASK


class _OpenIndex:
    """The unfinished tasks of one workflow, brought up to date on demand."""

    __slots__ = ("open", "seen")

    def __init__(self) -> None:
        self.seen: set[UUID] = set()
        self.open: dict[UUID, Task] = {}

    def refresh(self, tasks: dict[UUID, Task]) -> list[Task]:
        fresh = []
        for task_id in reversed(tasks):  # tasks created since the last refresh
            if task_id in self.seen:
                break
            fresh.append(task_id)
        for task_id in reversed(fresh):
            self.seen.add(task_id)
            self.open[task_id] = tasks[task_id]
        gone = [
            task_id
            for task_id, task in self.open.items()
            if task._state & _FINISHED or task_id not in tasks
        ]
        for task_id in gone:
            del self.open[task_id]
        return list(self.open.values())


def unfinished(workflow: Any) -> list[Task]:
    """The unfinished tasks of ``workflow`` (a workflow or subworkflow)."""
    index = workflow.__dict__.get("_xiaoneng_open")
    if index is None:
        index = workflow.__dict__["_xiaoneng_open"] = _OpenIndex()
    return index.refresh(workflow.tasks)


class XiaonengWorkflow(BpmnWorkflow):  # type: ignore[misc]
    """A BpmnWorkflow whose unfinished-task queries scale with the open work, not history.

    It also notes the escalation events the diagram throws (``escalations_thrown``, not
    serialized) so that the engine records them when it saves the case.
    """

    def catch(self, event: Any) -> None:
        definition = event.event_definition
        if isinstance(definition, EscalationEventDefinition):
            thrown = self.__dict__.setdefault("escalations_thrown", [])
            thrown.append({"code": definition.code, "name": definition.name})
            super().catch(event)
            # nothing in the diagram caught it: the engine records it; keep no event object
            # in the workflow (it would be serialized with the case)
            if event in self.bpmn_events:
                self.bpmn_events.remove(event)
            return
        super().catch(event)

    def get_tasks_iterator(self, first_task: Task | None = None, **kwargs: Any) -> Iterator[Task]:
        state = kwargs.get("state")
        if (
            first_task is None
            and state is not None
            and not state & _FINISHED
            and _FAST_KEYS.issuperset(kwargs)
        ):
            return iter(self._unfinished(state, kwargs))
        return super().get_tasks_iterator(first_task, **kwargs)  # type: ignore[no-any-return]

    def update_waiting_tasks(self) -> None:
        """Update WAITING tasks of this workflow (SpiffWorkflow walks the tree each time)."""
        waiting = [t for t in unfinished(self) if t._state & TaskState.WAITING]
        waiting.sort(key=_order)
        for task in waiting:
            task.task_spec._update(task)

    def _unfinished(self, state: int, kwargs: dict[str, Any]) -> list[Task]:
        task_filter = BpmnTaskFilter(**kwargs)
        found = [
            task
            for workflow in (self, *self.subprocesses.values())
            for task in unfinished(workflow)
            if task._state & state and task_filter.matches(task)
        ]
        found.sort(key=_order)
        return found


def _order(task: Task) -> tuple[float, UUID]:
    return task.last_state_change, task.id


# -- timers on the engine's clock ----------------------------------------------------------
#
# SpiffWorkflow's timer events read the wall clock (datetime.now) to arm and to fire. The
# engine runs them on its own clock instead: every engine call sets ``engine_now`` to the
# call's moment, and the definitions' timer events are these subclasses. So a test's
# FakeClock moves timers too, and one call sees one "now".

engine_now: ContextVar[datetime | None] = ContextVar("engine_now", default=None)
_system_clock = SystemClock()


def now() -> datetime:
    """The current engine call's moment (the system clock outside of a call)."""
    moment = engine_now.get()
    return moment if moment is not None else _system_clock.now()


def _stopped(my_task: Task) -> bool:
    """The case's clock is stopped (补正, §45): no timer fires (``clock_stopped``)."""
    return bool(getattr(my_task.workflow.top_workflow, "clock_stopped", False))


class EngineTimeDate(TimeDateEventDefinition):  # type: ignore[misc]
    """A timeDate timer that fires by the engine's clock."""

    def has_fired(self, my_task: Task) -> bool:
        value = my_task._get_internal_data("event_value")
        if value is None:
            value = my_task.workflow.script_engine.evaluate(my_task, self.expression)
            my_task._set_internal_data(event_value=value)
        if _stopped(my_task):
            return bool(my_task._get_internal_data("event_fired", False))
        if TimerEventDefinition.parse_time_or_duration(value) < now():
            my_task._set_internal_data(event_fired=True)
        return bool(my_task._get_internal_data("event_fired", False))


class EngineDuration(DurationTimerEventDefinition):  # type: ignore[misc]
    """A timeDuration timer armed and fired by the engine's clock."""

    def has_fired(self, my_task: Task) -> bool:
        value = my_task._get_internal_data("event_value")
        if value is None:
            expression = my_task.workflow.script_engine.evaluate(my_task, self.expression)
            start = now()
            parsed = TimerEventDefinition.parse_iso_duration(expression)
            value = (
                start + TimerEventDefinition.get_timedelta_from_start(parsed, start)
            ).isoformat()
            my_task._set_internal_data(event_value=value)
        if _stopped(my_task):
            return bool(my_task._get_internal_data("event_fired", False))
        if TimerEventDefinition.get_datetime(value) < now():
            my_task._set_internal_data(event_fired=True)
        return bool(my_task._get_internal_data("event_fired", False))


class EngineCycle(CycleTimerEventDefinition):  # type: ignore[misc]
    """A timeCycle timer (e.g. ``R3/PT10M``) armed and fired by the engine's clock."""

    def cycle_complete(self, my_task: Task) -> bool:
        value = my_task._get_internal_data("event_value")
        if value is None:
            expression = my_task.workflow.script_engine.evaluate(my_task, self.expression)
            cycles, start, duration = _recurring_interval(expression)
            value = {
                "cycles": cycles,
                "next": start.isoformat(),
                "duration": duration.total_seconds(),
            }
        ready = False
        if _stopped(my_task):
            my_task._set_internal_data(event_value=value)
            return False
        if value["cycles"] != 0:
            next_event = datetime.fromisoformat(value["next"])
            if next_event < now():
                value["next"] = (next_event + timedelta(seconds=value["duration"])).isoformat()
                value["cycles"] -= 1
                ready = True
        else:
            my_task.internal_data.pop("event_value", None)
            my_task.internal_data["event_fired"] = True
        my_task._set_internal_data(event_value=value)
        return ready


def _recurring_interval(expression: str) -> tuple[int, datetime, timedelta]:
    components = expression.upper().replace("--", "/").strip("R").split("/")
    if len(components) == 2 and components[1].startswith("P"):
        # only an interval: the first event is one interval from now
        cycles = int(components[0]) if components[0] else -1
        start = now()
        duration = TimerEventDefinition.get_timedelta_from_start(
            TimerEventDefinition.parse_iso_duration(components[1]), start
        )
        return cycles, start + duration, duration
    # with an explicit start or end moment nothing depends on "now"
    return TimerEventDefinition.parse_iso_recurring_interval(expression)  # type: ignore[no-any-return]


_TIMER_CLASSES = {
    TimeDateEventDefinition: EngineTimeDate,
    DurationTimerEventDefinition: EngineDuration,
    CycleTimerEventDefinition: EngineCycle,
}


def use_engine_clock(specs: Any) -> None:
    """Make every timer event of the given process specs run on the engine's clock."""
    for spec in specs:
        for task_spec in spec.task_specs.values():
            _swap(getattr(task_spec, "event_definition", None))


def _swap(event_definition: Any) -> None:
    if event_definition is None:
        return
    engine_class = _TIMER_CLASSES.get(type(event_definition))
    if engine_class is not None:
        event_definition.__class__ = engine_class
    for inner in getattr(event_definition, "event_definitions", None) or ():
        _swap(inner)
