"""The admin's start page, deployments (发布) and process versions.

The other areas live next to this module: ``cases``, ``organisation``, ``catalogue``
(holiday calendar and service items) and ``incidents`` (timer incidents).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable
from pathlib import PurePosixPath

from flask import Response, abort, current_app, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from markupsafe import Markup
from werkzeug.datastructures import FileStorage
from werkzeug.exceptions import RequestEntityTooLarge

from engine import (
    DefinitionView,
    Engine,
    InvalidDefinitionError,
    InvalidInputError,
    NotFoundError,
    SourceFile,
)
from webui.admin import bp
from webui.admin.forms import DeployForm
from webui.auth import ADMIN_GROUPS, current_person, roles_required
from webui.diagram import render_svg
from webui.errors import render_error
from webui.extensions import get_engine

log = logging.getLogger(__name__)

#: What a deployment takes (the engine's own list: engine.api.DEPLOYABLE_SUFFIXES).
DEPLOYABLE = (".bpmn", ".bpmn20.xml", ".dmn", ".form.json")
#: Cases scanned when counting the open cases per version (a page, not a report).
CASE_SCAN = 5000
OPEN_STATES = ("running", "suspended")


def admin_id() -> str:
    """The logged-in admin's id (the actor of every change made here)."""
    person = current_person()
    if person is None:  # roles_required lets no such request in
        raise RuntimeError("an admin route ran without a logged-in person")
    return person.id


def upload_name(upload: FileStorage) -> str:
    """The file name of an upload without any folder a browser may send."""
    return PurePosixPath((upload.filename or "").replace("\\", "/")).name


def open_case_counts(engine: Engine, process_id: str | None = None) -> Counter[tuple[str, int]]:
    """(process, version) → number of running and suspended cases on it."""
    counts: Counter[tuple[str, int]] = Counter()
    for status in OPEN_STATES:
        for case in engine.list_cases(process_id=process_id, status=status, limit=CASE_SCAN):
            counts[(case.process_id, case.definition_version)] += 1
    return counts


def grouped(definitions: Iterable[DefinitionView]) -> dict[str, list[DefinitionView]]:
    """Process id → its versions, newest first."""
    found: dict[str, list[DefinitionView]] = {}
    for definition in definitions:
        found.setdefault(definition.process_id, []).append(definition)
    for versions in found.values():
        versions.sort(key=lambda d: d.version, reverse=True)
    return dict(sorted(found.items()))


@bp.errorhandler(RequestEntityTooLarge)
def too_large(exc: RequestEntityTooLarge) -> ResponseReturnValue:
    """An upload over ``MAX_CONTENT_LENGTH``: say the limit and what to do."""
    limit = current_app.config.get("MAX_CONTENT_LENGTH") or 0
    return render_error(
        413,
        _(
            "上传的内容太大（上限 %(size)s）。请减小文件，或分几次上传。",
            size=_size(int(limit)),
        ),
    )


def _size(count: int) -> str:
    if count >= 1024 * 1024:
        return f"{count / (1024 * 1024):.0f} MB"
    return f"{max(count, 1024) // 1024} KB"


@bp.route("/")
@roles_required(*ADMIN_GROUPS)
def index() -> ResponseReturnValue:
    """The admin's start page: the areas, with a few counts."""
    engine = get_engine()
    definitions = engine.definitions()
    running = engine.list_cases(status="running", limit=CASE_SCAN)
    incidents = engine.timers(state="incident")
    return render_template(
        "admin/index.html",
        process_count=len({d.process_id for d in definitions}),
        version_count=len(definitions),
        running_count=len(running),
        running_more=len(running) >= CASE_SCAN,
        incident_count=len(incidents),
    )


@bp.route("/deploy", methods=["GET", "POST"])
@roles_required(*ADMIN_GROUPS)
def deploy() -> ResponseReturnValue:
    """Upload one or more process files and deploy them as one bundle.

    A file whose content is already deployed makes no new version; a rejected bundle
    lists every problem with its file and element id, and nothing is deployed.
    """
    form = DeployForm()
    problems: list[tuple[str, str | None, str]] = []
    if form.validate_on_submit():
        sources: list[SourceFile] = []
        kinds = "、".join(DEPLOYABLE)
        for upload in form.files.data or []:
            if not isinstance(upload, FileStorage) or not upload.filename:
                continue
            name = upload_name(upload)
            if not name.lower().endswith(DEPLOYABLE):
                problems.append(
                    (name, None, _("文件类型不支持：只能发布 %(types)s 文件。", types=kinds))
                )
                continue
            sources.append(SourceFile(name, upload.read()))
        if not sources and not problems:
            form.files.errors = [_("请选择至少一个文件。")]
        elif not problems:
            try:
                result = get_engine().deploy(sources, actor=admin_id())
            except InvalidDefinitionError as exc:
                problems = [(p.file, p.element_id, p.message) for p in exc.problems]
            except InvalidInputError as exc:
                problems = [("", None, exc.message)]
            else:
                by_process = {d.process_id: d for d in result.definitions}
                for process_id in result.created:
                    shown = by_process.get(process_id)
                    flash(
                        _(
                            "已发布新版本：%(process)s 第 %(version)s 版。",
                            process=process_id,
                            version=shown.version if shown else "?",
                        ),
                        "success",
                    )
                for process_id in result.unchanged:
                    shown = by_process.get(process_id)
                    flash(
                        _(
                            "%(process)s 的内容与已发布的第 %(version)s 版相同，未产生新版本。",
                            process=process_id,
                            version=shown.version if shown else "?",
                        ),
                        "info",
                    )
                return redirect(url_for("admin.processes"))
    status = 422 if problems or form.errors else 200
    return (
        render_template("admin/deploy.html", form=form, problems=problems, accepted=DEPLOYABLE),
        status,
    )


@bp.route("/processes")
@roles_required(*ADMIN_GROUPS)
def processes() -> ResponseReturnValue:
    """Every process with its versions and the open cases on each."""
    engine = get_engine()
    return render_template(
        "admin/processes.html",
        processes=grouped(engine.definitions()),
        counts=open_case_counts(engine),
    )


@bp.route("/processes/<process_id>/v<int:version>")
@roles_required(*ADMIN_GROUPS)
def version(process_id: str, version: int) -> ResponseReturnValue:
    """One version of a process: its facts, its diagram and the open cases on it."""
    engine = get_engine()
    shown = _definition(engine, process_id, version)
    source = engine.definition_xml(process_id, version)
    try:
        diagram: Markup | None = Markup(  # noqa: S704  (render_svg escapes names and ids)
            render_svg(source, process_id=process_id)
        )
    except ValueError as exc:  # a diagram without its drawing (BPMNDI)
        log.warning("%s v%d: diagram not drawn: %s", process_id, version, exc)
        diagram = None
    cases = [
        case
        for status in OPEN_STATES
        for case in engine.list_cases(process_id=process_id, status=status, limit=CASE_SCAN)
        if case.definition_version == version
    ]
    versions = [d.version for d in engine.definitions(process_id)]
    return render_template(
        "admin/version.html",
        definition=shown,
        diagram=diagram,
        cases=sorted(cases, key=lambda c: c.id, reverse=True),
        newest=max(versions),
    )


@bp.route("/processes/<process_id>/v<int:version>.bpmn")
@roles_required(*ADMIN_GROUPS)
def version_source(process_id: str, version: int) -> ResponseReturnValue:
    """The BPMN XML of a version, as a download."""
    engine = get_engine()
    shown = _definition(engine, process_id, version)
    return Response(
        engine.definition_xml(process_id, version),
        mimetype="application/xml",
        headers={
            "Content-Disposition": f'attachment; filename="{shown.process_id}-v{version}.bpmn"'
        },
    )


def _definition(engine: Engine, process_id: str, version: int) -> DefinitionView:
    try:
        found = [d for d in engine.definitions(process_id) if d.version == version]
    except NotFoundError:
        found = []
    if not found:
        missing = _(
            "没有流程 %(process)s 的第 %(version)s 版。", process=process_id, version=version
        )
        abort(404, description=missing)
    return found[0]
