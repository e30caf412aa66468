"""The one-time notice of missing materials (一次性告知补正材料, §32) as one clear action.

Diagrams model it in one of two ways, and the task page offers the action in either:

* **a choice on the step** (``window_intake``): the material check has an enum field with
  a value such as ``incomplete`` (or ``supplement``); choosing it leads to a notice step
  (a form with ``missing_materials``) and a step that stops the clock while the applicant
  supplements. The action completes the check with that choice and takes the person on to
  the notice step, its list of materials filled in.
* **no model** (``general_permit``'s acceptance): before the case is accepted the action
  stops the case's clock with kind ``supplement``, the list as the reason told to the
  applicant; resuming the clock (补正材料已收到) restarts it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from lxml import etree

from engine import AuditView, CaseSummary, TaskView

#: Choice values that mean "the materials are incomplete: notify and wait".
SUPPLEMENT_CHOICES = ("supplement", "incomplete")
#: The field of a notice step that lists the missing materials.
MISSING_FIELD = "missing_materials"
_CAMUNDA = "http://camunda.org/schema/1.0/bpmn"


@dataclass(frozen=True)
class Notice:
    """How the task page issues the notice: complete the step with ``field = value``
    (``choice``), or stop the clock (``clock``)."""

    mode: Literal["choice", "clock"]
    field: str | None = None
    value: str | None = None


def supplement_choice(task: TaskView) -> tuple[str, str] | None:
    """The (field id, value) of the task's form that means "materials incomplete"."""
    for spec in task.form:
        if spec.type != "enum":
            continue
        for value, _label in spec.choices:
            if value in SUPPLEMENT_CHOICES:
                return spec.id, value
    return None


def models_notice(bpmn_xml: str) -> bool:
    """True when the diagram has its own notice path (a supplement choice somewhere)."""
    try:
        root = etree.fromstring(bpmn_xml.encode())
    except etree.XMLSyntaxError:
        return False
    return any(v.get("id") in SUPPLEMENT_CHOICES for v in root.iter(f"{{{_CAMUNDA}}}value"))


def notice_for(
    task: TaskView, case: CaseSummary, bpmn_xml: str, stop: AuditView | None
) -> Notice | None:
    """How the notice can be issued from this task's page, or None (see the module doc)."""
    found = supplement_choice(task)
    if found is not None:
        return Notice("choice", found[0], found[1])
    if case.accepted_at is None and stop is None and not models_notice(bpmn_xml):
        return Notice("clock")
    return None
