"""Example signal hook: "send an SMS" for overdue steps and escalations (here: a log line).

Enable it with ``PYTHONPATH=. XIAONENG_HOOKS=demo.hooks.sms_log`` (from the repository root), or
copy it into your own package and name that module. A real deployment would call its
SMS gateway where this logs. See docs/signals.md.
"""

from __future__ import annotations

import logging
from typing import Any

from engine import signals

log = logging.getLogger("xiaoneng.sms")
sent: list[str] = []  # what was "sent" (for the docs' example test)


def _send(to: str, text: str) -> None:
    sent.append(f"{to}: {text}")
    log.info("SMS to %s: %s", to, text)


@signals.task_overdue.connect
def overdue_step(sender: str, **event: Any) -> None:
    """Tell the holder (or the step's department) that a step is overdue."""
    to = event.get("holder") or f"dept:{event.get('department_id')}"
    _send(to, f"【效能提醒】办件 {event['business_key']} 的环节已超期，请尽快办理。")


@signals.case_escalated.connect
def escalated(sender: str, **event: Any) -> None:
    """Tell the escalation's recipients."""
    _send(str(event.get("to")), f"【督办】办件 {event.get('business_key')} 已升级督办。")
