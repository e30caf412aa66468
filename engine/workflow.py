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
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.util.task import BpmnTaskFilter
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.task import Task, TaskState

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
    """A BpmnWorkflow whose unfinished-task queries scale with the open work, not history."""

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
