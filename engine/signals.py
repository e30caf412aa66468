"""Signals a deployment subscribes to: send an SMS when a step is overdue, and so on.

Signals are sent after the engine call that caused them has committed, never for a call
that rolled back. A subscriber that raises is logged and does not disturb the engine or
the other subscribers. Subscribe in a module of your own and name it in
``XIAONENG_HOOKS`` (comma-separated module names, imported when an Engine is created),
or expose it as an entry point in the ``xiaoneng.hooks`` group. See ``docs/signals.md``.

Example (``my_sms.py``)::

    from engine import signals

    @signals.task_overdue.connect
    def text_the_holder(sender, **event):
        send_sms(event["holder"], f"办件 {event['business_key']} 已超期")
"""

from __future__ import annotations

import importlib
import logging
import os
from importlib.metadata import entry_points
from typing import Any

from blinker import NamedSignal, Namespace

log = logging.getLogger(__name__)
_namespace = Namespace()

SIGNAL_DOCS = {
    "task_warning": "a step's remaining working time fell under the yellow threshold (黄牌)",
    "task_overdue": "a step passed its due moment (红牌); an accountability record was written",
    "case_warning": "a case's remaining working time fell under the yellow threshold",
    "case_overdue": "a case passed its promised deadline",
    "case_escalated": "an overdue step escalated to the next level (or the diagram escalated)",
    "reminder": "a reminder timer on a step fired (催办)",
    "task_urged": "a supervisor or head urged a step by hand (催办)",
    "deemed_consent": "a superior did not answer in time: the request completed as consent",
    "deemed_acceptance": "no one-time notice within 5 working days: accepted on receipt (§32)",
    "fault_confirmed": "a supervisor confirmed an accountability record as a fault",
    "fault_excused": "a supervisor excused an accountability record",
    "person_flagged": "a person reached three confirmed faults in a year",
    "task_substituted": "a step went to the B post because its holder is absent (AB岗)",
    "timer_incident": "a timer failed too often and waits for an admin",
}

task_warning = _namespace.signal("task_warning", SIGNAL_DOCS["task_warning"])
task_overdue = _namespace.signal("task_overdue", SIGNAL_DOCS["task_overdue"])
case_warning = _namespace.signal("case_warning", SIGNAL_DOCS["case_warning"])
case_overdue = _namespace.signal("case_overdue", SIGNAL_DOCS["case_overdue"])
case_escalated = _namespace.signal("case_escalated", SIGNAL_DOCS["case_escalated"])
reminder = _namespace.signal("reminder", SIGNAL_DOCS["reminder"])
task_urged = _namespace.signal("task_urged", SIGNAL_DOCS["task_urged"])
deemed_consent = _namespace.signal("deemed_consent", SIGNAL_DOCS["deemed_consent"])
deemed_acceptance = _namespace.signal("deemed_acceptance", SIGNAL_DOCS["deemed_acceptance"])
fault_confirmed = _namespace.signal("fault_confirmed", SIGNAL_DOCS["fault_confirmed"])
fault_excused = _namespace.signal("fault_excused", SIGNAL_DOCS["fault_excused"])
person_flagged = _namespace.signal("person_flagged", SIGNAL_DOCS["person_flagged"])
task_substituted = _namespace.signal("task_substituted", SIGNAL_DOCS["task_substituted"])
timer_incident = _namespace.signal("timer_incident", SIGNAL_DOCS["timer_incident"])


def signal(name: str) -> NamedSignal:
    """The signal called ``name`` (KeyError for an unknown name)."""
    if name not in SIGNAL_DOCS:
        raise KeyError(f"unknown signal {name!r}; known: {', '.join(sorted(SIGNAL_DOCS))}")
    return _namespace.signal(name)


def send(name: str, payload: dict[str, Any]) -> None:
    """Deliver a committed call's signal to every subscriber; a failing one is logged."""
    sig = signal(name)
    for receiver in list(sig.receivers_for(name)):
        try:
            receiver(name, **payload)
        except Exception:  # a deployment's hook must never break the engine
            log.exception("signal %s: subscriber %r failed", name, receiver)


_loaded = False


def load_hooks() -> list[str]:
    """Import the hook modules named in ``XIAONENG_HOOKS`` and the ``xiaoneng.hooks``
    entry points (once per process); return their names."""
    global _loaded
    if _loaded:
        return []
    _loaded = True
    names = [n.strip() for n in os.environ.get("XIAONENG_HOOKS", "").split(",") if n.strip()]
    loaded = []
    for name in names:
        importlib.import_module(name)
        loaded.append(name)
    for entry in entry_points(group="xiaoneng.hooks"):
        entry.load()
        loaded.append(entry.value)
    if loaded:
        log.info("loaded signal hooks: %s", ", ".join(loaded))
    return loaded
