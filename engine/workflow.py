"""The engine's BpmnWorkflow: task queries that do not walk the whole history.

SpiffWorkflow answers ``get_tasks(state=READY)`` by walking the task tree from its root,
depth first, down to a depth of 1,000. Every engine step asks that question several times,
so a step costs time proportional to everything the case ever did, and a case that loops
more than ~500 times loses sight of its ready tasks altogether (the walk stops at depth
1,000). Queries for unfinished tasks only are answered here from the task table instead,
in the order the tasks reached their state (ties by id): deterministic, and the same for a
live workflow and one restored from the database.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from SpiffWorkflow.bpmn.util.task import BpmnTaskFilter
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.task import Task, TaskState

_FAST_KEYS = frozenset(
    {"state", "manual", "spec_name", "spec_class", "lane", "catches_event", "updated_ts"}
)
_FINISHED = TaskState.FINISHED_MASK


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
        waiting = [t for t in self.tasks.values() if t._state & TaskState.WAITING]
        waiting.sort(key=_order)
        for task in waiting:
            task.task_spec._update(task)

    def _unfinished(self, state: int, kwargs: dict[str, Any]) -> list[Task]:
        task_filter = BpmnTaskFilter(**kwargs)
        found = [
            task
            for workflow in (self, *self.subprocesses.values())
            for task in workflow.tasks.values()
            if task._state & state and task_filter.matches(task)
        ]
        found.sort(key=_order)
        return found


def _order(task: Task) -> tuple[float, str]:
    return task.last_state_change, str(task.id)
