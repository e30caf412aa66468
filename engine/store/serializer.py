"""Case state: a SpiffWorkflow workflow split so that a step pays only for what changed.

SpiffWorkflow's own serializer writes the whole workflow (spec included, every task ever
run) on every save. A case that loops through 500 tasks would pay for all of them on
each step. Here the state is split in two:

* the **head** (``cases.state``): workflow attributes, the subprocess headers and every
  task that is not finished yet (ready, waiting, predicted …) — small, rewritten per step;
* the **history** (``case_history`` rows): finished (completed or cancelled) tasks,
  appended as one segment per step and never rewritten.

The spec is never stored with the case: it is parsed once per definition version and
handed in by the caller. If a finished task changes or disappears (a reset to an earlier
step), the history is rewritten as one segment — correct, just not incremental.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import orjson
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import SubWorkflowTask
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.camunda.serializer.config import CAMUNDA_CONFIG
from SpiffWorkflow.task import TaskState

from engine.workflow import XiaonengWorkflow

FORMAT = 1
ROOT = "root"
_FINISHED = TaskState.COMPLETED | TaskState.CANCELLED


@dataclass
class Snapshot:
    """What the database holds of a case at one row version.

    ``finished``: ids of the finished tasks already in the history segments;
    ``open``: ids of the unfinished tasks in the head, with their workflow key.
    The sets are updated in place by the next encode (a snapshot belongs to one
    checked-out workflow and is discarded with it if the call fails).
    """

    finished: set[UUID] = field(default_factory=set)
    open: dict[UUID, str] = field(default_factory=dict)
    segments: int = 0


@dataclass
class EncodedState:
    """The result of :meth:`StateCodec.encode`: what to write for this step."""

    head: str
    new_history: str | None
    rewrite_history: bool
    snapshot: Snapshot


class StateCodec:
    """Encode a workflow into head + history segments and decode it back."""

    def __init__(self) -> None:
        self.registry = BpmnWorkflowSerializer.configure(CAMUNDA_CONFIG)
        self._workflow_converter = self.registry.convert  # bound for speed

    # -- encoding ------------------------------------------------------------------------

    def encode(self, workflow: BpmnWorkflow, previous: Snapshot | None) -> EncodedState:
        """Split ``workflow`` into the head and the finished tasks new since ``previous``.

        ``previous`` is None for a new case, or when the caller does not know what the
        database holds (then the whole history is rewritten).
        """
        registry = self.registry
        registry._encoder_mode = True
        try:
            return self._encode(workflow, previous)
        finally:
            registry._encoder_mode = False

    def _encode(self, workflow: BpmnWorkflow, previous: Snapshot | None) -> EncodedState:
        # Finished tasks never change (the engine does not rewind history; a caller that
        # does passes previous=None). So only the tasks that were open at the last save
        # and the tasks created since need a look: a step costs O(open work), not
        # O(history). Tasks created since the last save are at the end of each
        # workflow's task dict (insertion order), found by walking it backwards.
        convert = self.registry.convert
        rewrite = previous is None
        snapshot = Snapshot() if previous is None else previous
        finished = snapshot.finished
        new_history: dict[str, dict[str, Any]] = {}
        open_tasks: dict[str, dict[str, Any]] = {}
        now_open: dict[UUID, str] = {}
        for key, wf in _workflows(workflow):
            tasks = wf.tasks
            if rewrite:
                candidates: list[Any] = list(tasks.values())
            else:
                candidates = [
                    tasks[task_id]
                    for task_id, owner in snapshot.open.items()
                    if owner == key and task_id in tasks
                ]
                fresh = []
                for task_id in reversed(tasks):
                    if task_id in finished or task_id in snapshot.open:
                        break
                    fresh.append(tasks[task_id])
                candidates.extend(reversed(fresh))
            for task in candidates:
                task_id = task.id
                if task._state & _FINISHED:
                    if task_id not in finished:
                        finished.add(task_id)
                        new_history.setdefault(key, {})[str(task_id)] = self._finished(task)
                else:
                    now_open[task_id] = key
                    open_tasks.setdefault(key, {})[str(task_id)] = convert(task)
        snapshot.open = now_open
        head = {
            "format": FORMAT,
            "workflow": self._header(workflow),
            "subprocesses": {
                str(sp_id): dict(
                    self._header(sp), parent_task_id=str(sp.parent_task_id), spec=sp.spec.name
                )
                for sp_id, sp in workflow.subprocesses.items()
            },
            "bpmn_events": convert(workflow.bpmn_events),
            "open": open_tasks,
        }
        history_text = None
        if new_history:
            history_text = _dumps(new_history)
            snapshot.segments += 1
        return EncodedState(
            head=_dumps(head),
            new_history=history_text,
            rewrite_history=rewrite,
            snapshot=snapshot,
        )

    def _finished(self, task: Any) -> dict[str, Any]:
        """A finished task for the history, never to be rewritten.

        SpiffWorkflow stores task data as a difference from the parent's data. A parent
        that is still running (a multi-instance or loop task) may change its data after
        the child finished, which would change what the stored difference means; such
        children keep their full data instead.
        """
        dct = self.registry.convert(task)
        parent = task.parent
        if parent is not None and not parent._state & _FINISHED:
            dct["data"] = self.registry.convert(self.registry.clean(task.data))
            dct["delta"] = {}
        return dct  # type: ignore[no-any-return]

    def _header(self, wf: Any) -> dict[str, Any]:
        return {
            "data": self.registry.convert(self.registry.clean(wf.data)),
            "correlations": wf.correlations,
            "last_task": str(wf.last_task.id) if wf.last_task is not None else None,
            "success": wf.success,
            "completed": wf.completed,
            "root": str(wf.task_tree.id),
        }

    # -- decoding ------------------------------------------------------------------------

    def decode(
        self,
        head_text: str,
        history_texts: Iterable[str],
        spec: Any,
        subprocess_specs: dict[str, Any],
        script_engine: Any,
    ) -> tuple[BpmnWorkflow, Snapshot]:
        """Rebuild the workflow from its head and history segments, on a parsed spec."""
        head = orjson.loads(head_text)
        if head.get("format") != FORMAT:
            raise ValueError(f"unknown case state format {head.get('format')!r}")
        tasks: dict[str, dict[str, Any]] = {}
        segments = 0
        for text in history_texts:
            segments += 1
            for key, chunk in orjson.loads(text).items():
                tasks.setdefault(key, {}).update(chunk)
        for key, chunk in head["open"].items():
            tasks.setdefault(key, {}).update(chunk)

        workflow = XiaonengWorkflow(
            spec, subprocess_specs, script_engine=script_engine, deserializing=True
        )
        self._restore_tasks(workflow, tasks.get(ROOT, {}), head["workflow"])
        pending = dict(head["subprocesses"])
        self._restore_subprocesses(workflow, workflow, pending, tasks)
        workflow.bpmn_events = self.registry.restore(head.get("bpmn_events", []))
        snapshot = Snapshot(segments=segments)
        for key, wf in _workflows(workflow):
            for task_id, task in wf.tasks.items():
                if task._state & _FINISHED:
                    snapshot.finished.add(task_id)
                else:
                    snapshot.open[task_id] = key
        return workflow, snapshot

    def _restore_tasks(self, wf: Any, task_dicts: dict[str, Any], header: dict[str, Any]) -> None:
        restore = self.registry.restore
        # parents before children: the task converter rebuilds data from the parent's
        ordered = _parents_first(task_dicts, header["root"])
        wf.tasks = {}
        for dct in ordered:
            task = restore(dct, workflow=wf)
            wf.tasks[task.id] = task
        # A finished task is stored once, but SpiffWorkflow may later drop a child it had
        # (the join waiting under a finished path of a non-interrupting event, when the
        # host task completes). Such a child is in no segment: forget it here.
        tasks = wf.tasks
        for task in tasks.values():
            if any(child not in tasks for child in task._children):
                task._children = [child for child in task._children if child in tasks]
        wf.task_tree = wf.tasks.get(UUID(header["root"]))
        wf.success = header["success"]
        wf.completed = header.get("completed", False)
        wf.correlations = header.get("correlations", {})
        last = header.get("last_task")
        wf.last_task = wf.tasks.get(UUID(last)) if isinstance(last, str) else None
        wf.data = restore(header.get("data", {}))

    def _restore_subprocesses(
        self, top: BpmnWorkflow, wf: Any, pending: dict[str, Any], tasks: dict[str, Any]
    ) -> None:
        from SpiffWorkflow.bpmn.util.subworkflow import BpmnSubWorkflow

        for task in list(wf.tasks.values()):
            key = str(task.id)
            if isinstance(task.task_spec, SubWorkflowTask) and key in pending:
                header = pending.pop(key)
                spec = top.subprocess_specs.get(task.task_spec.spec)
                sp = BpmnSubWorkflow(spec, task.id, top, deserializing=True)
                self._restore_tasks(sp, tasks.get(key, {}), header)
                top.subprocesses[task.id] = sp
                sp.completed_event.connect(task.task_spec._on_subworkflow_completed, task)
                self._restore_subprocesses(top, sp, pending, tasks)


def _workflows(workflow: BpmnWorkflow) -> Iterable[tuple[str, Any]]:
    yield ROOT, workflow
    for sp_id, sp in workflow.subprocesses.items():
        yield str(sp_id), sp


def _parents_first(task_dicts: dict[str, Any], root: str) -> list[dict[str, Any]]:
    ordered: list[dict[str, Any]] = []
    stack = [root]
    while stack:
        task_id = stack.pop()
        dct = task_dicts.get(task_id)
        if dct is None:
            continue
        ordered.append(dct)
        stack.extend(reversed(dct["children"]))
    if len(ordered) != len(task_dicts):
        raise ValueError("case state is inconsistent: tasks not reachable from the root")
    return ordered


def _dumps(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def full_dict(workflow: BpmnWorkflow) -> dict[str, Any]:
    """SpiffWorkflow's complete serialization minus the spec (for equivalence checks)."""
    from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter

    config = dict(CAMUNDA_CONFIG)
    config[XiaonengWorkflow] = BpmnWorkflowConverter
    serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(config))
    dct = serializer.to_dict(workflow)
    dct.pop("spec", None)
    dct.pop("subprocess_specs", None)
    return json.loads(_dumps(dct))  # type: ignore[no-any-return]
