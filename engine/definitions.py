"""Deploy BPMN (and DMN and form) files, number versions, and load parsed specs.

Parsing and validation live in :mod:`engine.parsing`; this module stores what passed:
one :class:`~engine.store.models.Definition` row per process version with the source
files it needs and their content hash. Identical content deployed again creates no new
version. Parsed specs are cached per definition id (a definition never changes).
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from engine import accountability, parsing, scripting
from engine.errors import NotFoundError
from engine.forms import FormSpec
from engine.runtime import Call
from engine.store import must_get, records
from engine.store.models import Definition
from engine.views import DefinitionView, DeploymentResult
from engine.workflow import use_engine_clock


@dataclass
class LoadedDefinition:
    """A parsed definition version, shared by every case on it (read-only)."""

    definition_id: int
    process_id: str
    version: int
    spec: Any
    subprocess_specs: dict[str, Any]
    forms: dict[str, FormSpec]
    script_engine: Any

    def form_for(self, element_id: str) -> FormSpec | None:
        """The form of the user task ``element_id`` (None when it has none)."""
        return self.forms.get(element_id)

    @functools.cached_property
    def models_acceptance(self) -> bool:
        """The process has an acceptance step (a task with ``accepts_case``, §32)."""
        return any(
            (getattr(spec, "extensions", None) or {}).get("accepts_case")
            for spec in self.spec.task_specs.values()
        )


def content_hash(sources: Sequence[parsing.SourceFile]) -> str:
    """SHA-256 over the (name, content) pairs, independent of their order."""
    digest = hashlib.sha256()
    for source in sorted(sources, key=lambda s: s.name):
        digest.update(source.name.encode())
        digest.update(b"\0")
        digest.update(hashlib.sha256(source.content).digest())
    return digest.hexdigest()


def deploy(call: Call, files: Sequence[parsing.SourceFile], actor: str | None) -> DeploymentResult:
    """Validate ``files`` as one bundle and store a new version of each changed process."""

    def deployed_sources(process_id: str) -> list[parsing.SourceFile] | None:
        row = latest(call, process_id, required=False)
        return _sources(row) if row is not None else None

    bundle = parsing.parse_bundle(list(files), deployed=deployed_sources)
    created: list[str] = []
    unchanged: list[str] = []
    views: list[DefinitionView] = []
    for process in bundle.processes:
        sources = bundle.sources_for(process.process_id)
        digest = content_hash(sources)
        current = latest(call, process.process_id, required=False)
        if current is not None and current.content_hash == digest:
            unchanged.append(process.process_id)
            views.append(view(current))
            continue
        row = Definition(
            process_id=process.process_id,
            version=(current.version + 1) if current is not None else 1,
            name=process.name,
            content_hash=digest,
            source_file=process.file,
            sources=[{"name": s.name, "content": s.content.decode("utf-8")} for s in sources],
            deployed_at=call.now,
            deployed_by=actor,
        )
        call.session.add(row)
        call.session.flush()
        accountability.record(
            call.conn,
            at=call.now,
            action="deploy",
            actor=actor,
            detail={
                "process_id": row.process_id,
                "version": row.version,
                "definition_id": row.id,
                "file": row.source_file,
                "content_hash": digest,
            },
        )
        created.append(process.process_id)
        views.append(view(row))
    return DeploymentResult(
        definitions=tuple(views), created=tuple(created), unchanged=tuple(unchanged)
    )


def latest(call: Call, process_id: str, *, required: bool = True) -> Definition | None:
    """The newest version of ``process_id``."""
    row = call.session.scalars(
        select(Definition)
        .where(Definition.process_id == process_id)
        .order_by(Definition.version.desc())
        .limit(1)
    ).first()
    if row is None and required:
        raise NotFoundError("process definition", process_id)
    return row


def get(call: Call, process_id: str, version: int | None = None) -> Definition:
    """A named version, or the newest when ``version`` is None."""
    if version is None:
        row = latest(call, process_id)
        if row is None:  # latest() raised already; this keeps the type checker honest
            raise NotFoundError("process definition", process_id)
        return row
    found = call.session.scalars(
        select(Definition).where(Definition.process_id == process_id, Definition.version == version)
    ).first()
    if found is None:
        raise NotFoundError("process definition", f"{process_id} v{version}")
    return found


def resolve(call: Call, process_id: str, version: int | None = None) -> LoadedDefinition:
    """The parsed newest (or named) version of a process, read without the ORM."""
    if version is None:
        row = records.SELECT_LATEST_DEFINITION.first(call.conn, {"process_id": process_id})
        found = row[0] if row is not None else None
        if found is None:
            raise NotFoundError("process definition", process_id)
    else:
        found = call.conn.execute(
            records.SELECT_DEFINITION_VERSION, {"process_id": process_id, "version": version}
        ).scalar()
        if found is None:
            raise NotFoundError("process definition", f"{process_id} v{version}")
    return load_by_id(call, int(found))


def listing(call: Call, process_id: str | None = None) -> list[DefinitionView]:
    """Every version (of one process, or of all), newest version first per process."""
    stmt = select(Definition).order_by(Definition.process_id, Definition.version.desc())
    if process_id:
        stmt = stmt.where(Definition.process_id == process_id)
    return [view(r) for r in call.session.scalars(stmt)]


def view(row: Definition) -> DefinitionView:
    """The view of a definition row."""
    return DefinitionView(
        id=row.id,
        process_id=row.process_id,
        version=row.version,
        name=row.name,
        content_hash=row.content_hash,
        source_file=row.source_file,
        deployed_at=row.deployed_at,
        deployed_by=row.deployed_by,
    )


def _sources(row: Definition) -> list[parsing.SourceFile]:
    return [parsing.SourceFile(s["name"], s["content"].encode("utf-8")) for s in row.sources]


def source_xml(row: Definition) -> str:
    """The BPMN XML of the file that defines the process (for diagram rendering)."""
    for s in row.sources:
        if s["name"] == row.source_file:
            return str(s["content"])
    return str(row.sources[0]["content"])


def load(call: Call, row: Definition) -> LoadedDefinition:
    """Return the parsed spec of ``row`` (parsed once per process, then cached)."""
    runtime = call.runtime
    loaded = runtime.definitions.get(row.id)
    if loaded is not None:
        return loaded  # type: ignore[no-any-return]
    with runtime.definitions_lock:
        loaded = runtime.definitions.get(row.id)
        if loaded is None:
            loaded = _build(row)
            runtime.definitions[row.id] = loaded
    return loaded  # type: ignore[no-any-return]


def load_by_id(call: Call, definition_id: int) -> LoadedDefinition:
    """Like :func:`load`, without reading the row when the parsed spec is cached."""
    loaded = call.runtime.definitions.get(definition_id)
    if loaded is not None:
        return loaded  # type: ignore[no-any-return]
    return load(call, must_get(call.session, Definition, definition_id))


def _build(row: Definition) -> LoadedDefinition:
    built = parsing.build_specs(_sources(row), row.process_id)
    _prepare_signing(built.spec, built.subprocess_specs)
    use_engine_clock([built.spec, *built.subprocess_specs.values()])
    return LoadedDefinition(
        definition_id=row.id,
        process_id=row.process_id,
        version=row.version,
        spec=built.spec,
        subprocess_specs=built.subprocess_specs,
        forms=built.forms,
        script_engine=scripting.RestrictedScriptEngine(),
    )


def _prepare_signing(spec: Any, subprocess_specs: dict[str, Any]) -> None:
    """或签/票签 end a multi-instance early: the engine decides and sets ``sign_decided``."""
    from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import MultiInstanceTask

    for process in (spec, *subprocess_specs.values()):
        for task_spec in process.task_specs.values():
            if isinstance(task_spec, MultiInstanceTask):
                mode = (getattr(task_spec, "extensions", None) or {}).get("sign_mode")
                if mode in ("any", "vote"):
                    task_spec.condition = "sign_decided"
