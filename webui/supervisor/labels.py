"""Chinese names of the codes the supervision pages show (kinds, decisions, ratings)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

from engine import FAULT_LEVELS

#: kinds of accountability records (责任追究)
KIND_LABELS: dict[str, LazyString] = {
    "overdue_step": _l("环节超期"),
    "overdue_case": _l("办件超期"),
    "escalation": _l("超期督办"),
    "deemed_consent": _l("视为同意（默许）"),
    "deemed_acceptance": _l("视为受理"),
    "complaint": _l("效能投诉"),
}
#: the latest review of a record: None is "not reviewed yet"
DECISION_LABELS: dict[str, LazyString] = {
    "pending": _l("待审核"),
    "excused": _l("免责"),
    "confirmed": _l("确认过错"),
}
#: service ratings (好差评, GB/T 39734-2020), best first
RATING_LABELS: dict[int, LazyString] = {
    5: _l("非常满意"),
    4: _l("满意"),
    3: _l("基本满意"),
    2: _l("不满意"),
    1: _l("非常不满意"),
}


def kind_label(kind: str | None) -> str:
    """The Chinese name of a record kind."""
    if kind is None:
        return "—"
    found = KIND_LABELS.get(kind)
    return str(found) if found is not None else kind


def decision_label(decision: str | None) -> str:
    """The Chinese name of a review decision (None: pending)."""
    return (
        str(DECISION_LABELS[decision or "pending"])
        if (decision or "pending") in DECISION_LABELS
        else str(decision)
    )


def level_label(level: str | None) -> str:
    """The Chinese name of a fault level (效能告诫 … 记过)."""
    if level is None:
        return "—"
    return FAULT_LEVELS.get(level, level)
