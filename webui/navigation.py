"""The main navigation: one entry per audience area, shown to the people it is for.

An entry shows only when its endpoint exists, so an area appears in the navigation as
soon as its blueprint is registered (the supervision and admin areas come in later
slices).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

from engine import PersonView
from webui.auth import ADMIN_GROUPS, OFFICER_GROUPS, SUPERVISOR_GROUPS, has_group


@dataclass(frozen=True)
class NavEntry:
    """A navigation link: the endpoint, its label, and who sees it."""

    endpoint: str
    label: LazyString
    groups: tuple[str, ...]


NAVIGATION: Sequence[NavEntry] = (
    NavEntry("officer.inbox", _l("待办"), OFFICER_GROUPS),
    NavEntry("supervisor.index", _l("监察"), SUPERVISOR_GROUPS),
    NavEntry("admin.index", _l("管理"), ADMIN_GROUPS),
)


def entries_for(person: PersonView | None) -> list[NavEntry]:
    """The entries this person sees (only those whose pages exist)."""
    return [
        entry
        for entry in NAVIGATION
        if entry.endpoint in current_app.view_functions and has_group(person, entry.groups)
    ]
