"""The service guide (办事指南, S7): every item with its basis, conditions, materials,
fees, time limits and procedure, searchable by name and department."""

from __future__ import annotations

import logging
from typing import Any

from flask import render_template, request
from flask.typing import ResponseReturnValue
from markupsafe import Markup

from engine import NotFoundError
from webui.applicant import bp
from webui.diagram import render_svg
from webui.extensions import get_engine

log = logging.getLogger(__name__)
QUERY_MAX = 100


def department_names() -> dict[str, str]:
    """Department id → name."""
    return {d.id: d.name for d in get_engine().departments()}


@bp.route("/")
def index() -> ResponseReturnValue:
    """The guide: the items, found by name (or code) and department."""
    engine = get_engine()
    query = (request.args.get("q") or "").strip()[:QUERY_MAX]
    department = (request.args.get("dept") or "").strip()[:100]
    names = department_names()
    every = engine.service_items()
    offered = sorted({item.department for item in every}, key=lambda d: names.get(d, d))
    items = [
        item
        for item in every
        if (not department or item.department == department)
        and (not query or query.lower() in item.name.lower() or query.lower() in item.code.lower())
    ]
    return render_template(
        "applicant/guide.html",
        items=items,
        query=query,
        department=department,
        departments=[(d, names.get(d, d)) for d in offered],
        names=names,
    )


def procedure_diagram(process_id: str) -> Markup | None:
    """The newest version of the item's process, drawn (None when not deployed or not
    drawn)."""
    engine = get_engine()
    try:
        source = engine.definition_xml(process_id)
    except NotFoundError:
        return None
    try:
        return Markup(render_svg(source, process_id=process_id))  # noqa: S704  (render_svg escapes names and ids)
    except ValueError as exc:  # a diagram without its drawing (BPMNDI)
        log.warning("%s: diagram not drawn: %s", process_id, exc)
        return None


def sample_link(material: Any) -> str | None:
    """The sample document (样表) of a material when it is a web address."""
    sample = getattr(material, "sample", None)
    if isinstance(sample, str) and sample.startswith(("https://", "http://")):
        return sample
    return None


@bp.route("/items/<item_code>")
def item(item_code: str) -> ResponseReturnValue:
    """One item's guide (404 for an unknown code)."""
    engine = get_engine()
    found = engine.service_item(item_code)
    return render_template(
        "applicant/item.html",
        item=found,
        department_name=department_names().get(found.department, found.department),
        diagram=procedure_diagram(found.process),
        samples={m.name: sample_link(m) for m in found.materials},
    )
