"""Turn uploaded BPMN, DMN and form files into validated SpiffWorkflow specs.

:func:`parse_bundle` checks a deployment (a list of :class:`SourceFile`) and either
returns a :class:`ParsedBundle` or raises one :class:`~engine.errors.InvalidDefinitionError`
listing every problem found, each with file, element id and an English message.
:func:`build_specs` re-parses the stored sources of one process without the checks.

Conventions:

* **Files.** ``*.bpmn`` / ``*.bpmn20.xml`` are BPMN, ``*.dmn`` DMN, ``*.form.json`` form
  files (format in :mod:`engine.forms`). A file name is unique within a deployment.
* **Hostile XML.** :func:`parse_xml` refuses any DOCTYPE (so no entities: no billion
  laughs, no XXE), never touches the network, and limits sizes (:data:`MAX_FILE_BYTES`,
  :data:`MAX_BUNDLE_BYTES`, :data:`MAX_BUNDLE_FILES`).
* **Canonical XML.** Conditions (sequence flow, conditional event, loop and multi-instance
  completion conditions, loop cardinality), message payload expressions, scripts and timer
  expressions are checked with :mod:`engine.scripting` and *rewritten in the XML* to the
  Python that SpiffWorkflow evaluates at run time. The rewritten (comment-free) XML is the
  canonical form: it is what :attr:`ParsedProcess.sources` holds, what the engine stores
  and what :func:`build_specs` parses, so stored specs re-parse identically and running
  them never needs the JUEL translator. Parsing canonical XML again gives the same XML.
* **People expressions.** ``camunda:assignee``, ``candidateUsers``, ``candidateGroups``,
  ``dueDate`` and ``priority`` are checked at deployment but kept *as written*
  (``${...}`` marks an expression): the engine evaluates them when a task becomes ready,
  translating with ``scripting.check_expression``. They land in ``task_spec.extensions``
  (see :class:`XiaonengParser`).
* **Forms.** ``camunda:formKey`` names a form file by :func:`engine.forms.form_key_name`:
  ``intake``, ``forms/intake`` and ``embedded:deployment:intake.form`` all mean
  ``intake.form.json``, which must be in the same deployment. A task uses either
  ``formKey`` or an inline ``camunda:formData``, not both. The resolved form is embedded
  in ``task_spec.extensions["form"]`` (form-file JSON shape), so a running case carries
  the form version it was started with.
* **Called processes.** A ``callActivity`` must call a process of the deployment or one
  already deployed: ``parse_bundle(..., deployed=fetch)`` calls ``fetch(process_id)`` for
  each process id the bundle calls but does not define; it returns the stored
  :attr:`ParsedProcess.sources` of the deployed version (or None). Those files are parsed
  safely but not re-checked, and become part of the caller's sources: a caller runs the
  called version it was deployed with, until it is deployed again. A file of the bundle
  wins over a deployed file of the same name (and a form of the same key).
* **Signing modes.** A multi-instance user task may carry ``camunda:properties``
  ``sign_mode`` = ``all`` (会签, all must sign) | ``any`` (或签, any one) | ``vote``
  (票签, a share must pass) with exactly one of ``pass_count`` (k of N) or ``pass_ratio``
  (0 < x ≤ 1), and optionally ``sign_field`` (the form field holding the decision).
"""

from __future__ import annotations

import codecs
import functools
import keyword
import re
import textwrap
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, ClassVar

from lxml import etree
from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnValidator, full_tag
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.bpmn.specs.defaults import StartEvent
from SpiffWorkflow.camunda.parser.CamundaParser import NSMAP, CamundaParser
from SpiffWorkflow.camunda.parser.event_parsers import CamundaStartEventParser
from SpiffWorkflow.camunda.parser.task_spec import (
    CAMUNDA_MODEL_NS,
    CamundaTaskParser,
    UserTaskParser,
)
from SpiffWorkflow.camunda.specs.user_task import UserTask
from SpiffWorkflow.dmn.parser.BpmnDmnParser import SCHEMAS as DMN_SCHEMAS
from SpiffWorkflow.exceptions import SpiffWorkflowException

from engine import forms
from engine.errors import DefinitionProblem, InvalidDefinitionError, NotFoundError, ScriptError
from engine.forms import FormSpec

# kinds of clock stop a ``stops_clock`` task may name (engine.limits.STOP_KINDS)
STOP_KINDS = (
    "supplement",
    "hearing",
    "tendering",
    "auction",
    "inspection",
    "testing",
    "quarantine",
    "appraisal",
    "expert_review",
)
MAX_FILE_BYTES = 5 * 1024 * 1024
"""Largest accepted file."""
MAX_BUNDLE_BYTES = 20 * 1024 * 1024
"""Largest accepted deployment (all files together)."""
MAX_BUNDLE_FILES = 100
"""Most files in one deployment."""
DEPLOYMENT = "(deployment)"
"""The ``file`` of problems that concern the deployment as a whole."""

CAMUNDA_NS = CAMUNDA_MODEL_NS
SIGN_MODES = ("all", "any", "vote")
"""会签 (all must sign), 或签 (any one decides), 票签 (a count or share must pass)."""
RESERVED_EXTENSIONS = frozenset(
    {
        "assignee",
        "candidate_users",
        "candidate_groups",
        "due_date",
        "priority",
        "form_key",
        "form",
        "initiator",
        "multi_instance",
    }
)
"""Extension keys this module sets; a ``camunda:property`` may not use them."""

_MAX_SCHEMA_PROBLEMS = 20
_SCHEMA_LOCK = threading.Lock()
_IDENTIFIER_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_WRAPPED_NAME_RE = re.compile(r"\$\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}")
_DURATION_RE = re.compile(r"P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+S)?)?")
_DOCTYPE_RE = re.compile(rb"<!(DOCTYPE|ENTITY)", re.IGNORECASE)
_ROOT_START_RE = re.compile(rb"<[A-Za-z_]")
_HEAD_BYTES = 64 * 1024
_WIDE_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_CONTAINERS = frozenset(
    full_tag(tag) for tag in ("process", "subProcess", "adHocSubProcess", "transaction")
)
_EXPRESSION_TAGS = {
    full_tag("conditionExpression"): "condition",
    full_tag("condition"): "condition",
    full_tag("completionCondition"): "completion condition",
    full_tag("loopCardinality"): "loop cardinality",
    full_tag("loopCondition"): "loop condition",
}
_TIMER_TAGS = tuple(full_tag(tag) for tag in ("timeDate", "timeDuration", "timeCycle"))
_HOOK_TASKS = frozenset(full_tag(tag) for tag in ("serviceTask", "sendTask", "businessRuleTask"))
# What goes wrong inside SpiffWorkflow's parser on odd input, beyond ValidationException.
_SPIFF_ERRORS = (
    SpiffWorkflowException,
    KeyError,
    IndexError,
    AttributeError,
    TypeError,
    ValueError,
    AssertionError,
)


def _camunda(name: str) -> str:
    return f"{{{CAMUNDA_NS}}}{name}"


# -- public data -----------------------------------------------------------------------------


@dataclass(frozen=True)
class SourceFile:
    """One deployed file: its name (unique in a deployment) and its bytes."""

    name: str
    content: bytes


@dataclass(frozen=True)
class MultiInstanceInfo:
    """How a multi-instance user task repeats and, for signing, when it passes.

    Attributes:
        sequential: Instances run one after another (依次审批) rather than in parallel.
        collection: Case variable holding the list to iterate (``camunda:collection``).
        element_variable: Variable each instance sees its item in.
        cardinality: Python expression for the number of instances.
        completion_condition: Python expression that ends the loop early.
        sign_mode: ``all`` (会签), ``any`` (或签), ``vote`` (票签) or None.
        pass_count: For ``vote``: approvals needed (k of N).
        pass_ratio: For ``vote``: share of approvals needed (0 < x ≤ 1).
        sign_field: Form field holding each signer's decision (None: engine default).
    """

    sequential: bool
    collection: str | None
    element_variable: str | None
    cardinality: str | None
    completion_condition: str | None
    sign_mode: str | None
    pass_count: int | None
    pass_ratio: float | None
    sign_field: str | None


@dataclass(frozen=True)
class UserTaskInfo:
    """What the engine needs to know about one user task of a process.

    Assignment values are as written in the diagram; an item containing ``${...}`` is an
    expression the engine evaluates when the task becomes ready.

    Attributes:
        process_id: The top-level process the task belongs to.
        element_id: The task's BPMN id.
        name: The task's name.
        lane: The name of the lane the task is in (a group), or None.
        assignee: ``camunda:assignee``.
        candidate_users: ``camunda:candidateUsers`` items.
        candidate_groups: ``camunda:candidateGroups`` items.
        due_date: ``camunda:dueDate``: ISO date/datetime/duration or an expression.
        priority: ``camunda:priority``: a number, or an expression (str).
        form_key: ``camunda:formKey`` as written.
        form: The task's form (from the form file or ``camunda:formData``), or None.
        multi_instance: Loop and signing details, or None for a single task.
    """

    process_id: str
    element_id: str
    name: str | None
    lane: str | None
    assignee: str | None
    candidate_users: tuple[str, ...]
    candidate_groups: tuple[str, ...]
    due_date: str | None
    priority: int | str | None
    form_key: str | None
    form: FormSpec | None
    multi_instance: MultiInstanceInfo | None


@dataclass(frozen=True)
class ParsedProcess:
    """One executable process of a deployment.

    Attributes:
        process_id: The BPMN process id.
        name: The process name (the id when unnamed).
        file: The file that defines it.
        sources: Canonical files the process needs (its own file first, then called
            processes, decisions and forms): store these and give them to
            :func:`build_specs`.
        user_tasks: Its user tasks, including those of embedded subprocesses.
        start_form: The form of its start event, or None.
        called_processes: Ids of the processes it calls directly.
    """

    process_id: str
    name: str
    file: str
    sources: tuple[SourceFile, ...]
    user_tasks: tuple[UserTaskInfo, ...]
    start_form: FormSpec | None
    called_processes: tuple[str, ...]


@dataclass(frozen=True)
class BuiltProcess:
    """Specs rebuilt from stored sources, with what the engine reads from them.

    Attributes:
        process_id: The process that was built.
        spec: Its top-level spec.
        subprocess_specs: Specs of embedded subprocesses and called processes by id.
        forms: Form by element id of each user task and start event (top process first
            when two processes use the same element id).
        user_tasks: Every user task of the spec and its subprocess specs.
    """

    process_id: str
    spec: BpmnProcessSpec
    subprocess_specs: dict[str, BpmnProcessSpec]
    forms: dict[str, FormSpec]
    user_tasks: tuple[UserTaskInfo, ...]


@dataclass(frozen=True)
class ParsedBundle:
    """A deployment that passed every check.

    Attributes:
        processes: Every executable top-level process of the deployment's BPMN files.
        forms: Form files of the deployment by key.
        files: The canonical form of each uploaded file, in upload order.
    """

    processes: tuple[ParsedProcess, ...]
    forms: dict[str, FormSpec] = field(default_factory=dict)
    files: tuple[SourceFile, ...] = ()

    def process(self, process_id: str) -> ParsedProcess:
        """Return the process ``process_id``.

        Raises:
            NotFoundError: The deployment has no such executable process.
        """
        for process in self.processes:
            if process.process_id == process_id:
                return process
        raise NotFoundError("process", process_id)

    def sources_for(self, process_id: str) -> list[SourceFile]:
        """Return the canonical files process ``process_id`` needs (to store)."""
        return list(self.process(process_id).sources)

    def spec(self, process_id: str) -> tuple[BpmnProcessSpec, dict[str, BpmnProcessSpec]]:
        """Build fresh specs for ``process_id``: the top spec and the subprocess specs.

        Every call parses anew: SpiffWorkflow specs are mutable and must not be shared
        between workflows that may change them.
        """
        built = build_specs(self.process(process_id).sources, process_id)
        return built.spec, built.subprocess_specs


# -- XML safety and schema -------------------------------------------------------------------


def parse_xml(name: str, content: bytes) -> Any:
    """Parse untrusted XML safely and return its root element.

    Args:
        name: The file name, used in problems.
        content: The file's bytes.

    Returns:
        The root ``lxml.etree._Element`` (comments and processing instructions removed).

    Raises:
        InvalidDefinitionError: The file is too large, has a DOCTYPE or entity
            declarations, or is not well-formed XML.
    """
    if len(content) > MAX_FILE_BYTES:
        raise InvalidDefinitionError(
            [DefinitionProblem(name, None, f"file is larger than {MAX_FILE_BYTES} bytes")]
        )
    doctype_problem = DefinitionProblem(name, None, "DOCTYPE/entity declarations are not allowed")
    # Checked before parsing so that an entity bomb never reaches the parser; the docinfo
    # check below also catches what this scan of the prolog cannot see (UTF-16 …).
    head = _ascii_head(content)
    root_start = _ROOT_START_RE.search(head)
    if _DOCTYPE_RE.search(head[: root_start.start()] if root_start else head):
        raise InvalidDefinitionError([doctype_problem])
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )
    try:
        root = etree.fromstring(content, parser)
    except etree.XMLSyntaxError as exc:
        if "amplification" in str(exc.msg).lower():
            raise InvalidDefinitionError([doctype_problem]) from exc
        line = exc.lineno if exc.lineno is not None else "?"
        raise InvalidDefinitionError(
            [DefinitionProblem(name, None, f"malformed XML at line {line}: {exc.msg}")]
        ) from exc
    if root is None:
        raise InvalidDefinitionError([DefinitionProblem(name, None, "the file is empty")])
    docinfo: Any = root.getroottree().docinfo  # lxml-stubs lack doctype/internalDTD
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise InvalidDefinitionError([doctype_problem])
    return root


def _ascii_head(content: bytes) -> bytes:
    """The start of a document in an ASCII-compatible encoding, to scan its prolog."""
    head = content[:_HEAD_BYTES]
    for bom, codec in _WIDE_BOMS:
        if head.startswith(bom):
            return head.decode(codec, errors="ignore").encode("utf-8")
    if b"\x00" in head[:4]:  # UTF-16/32 without a byte order mark
        for codec in ("utf-32-le", "utf-32-be", "utf-16-le", "utf-16-be"):
            text = head.decode(codec, errors="ignore")
            if text.lstrip().startswith("<"):
                return text.encode("utf-8")
    return head


@functools.cache
def _bpmn_validator() -> BpmnValidator:
    return BpmnValidator()


@functools.cache
def _dmn_validator(namespace: str) -> BpmnValidator | None:
    # SpiffWorkflow 3.2.0 ships a DMN 1.2 schema that does not load (a missing DMNDI
    # declaration); DMN 1.2 files are then parsed without schema validation.
    try:
        return BpmnValidator(DMN_SCHEMAS[namespace])
    except etree.XMLSchemaParseError:
        return None


def _schema_problems(name: str, root: Any, validator: BpmnValidator) -> list[DefinitionProblem]:
    """Validate ``root`` against an XSD and turn every error into a problem."""
    validator.preprocess(root)
    schema = validator.validator
    with _SCHEMA_LOCK:  # the schema's error log is shared state
        valid = schema.validate(root)
        entries = [] if valid else [(e.line, e.message) for e in schema.error_log]
    problems = [
        DefinitionProblem(name, _id_at_line(root, line), f"schema violation at line {line}: {msg}")
        for line, msg in entries[:_MAX_SCHEMA_PROBLEMS]
    ]
    if len(entries) > _MAX_SCHEMA_PROBLEMS:
        more = len(entries) - _MAX_SCHEMA_PROBLEMS
        problems.append(DefinitionProblem(name, None, f"{more} more schema violations"))
    return problems


def _id_at_line(root: Any, line: int) -> str | None:
    for element in root.iter(etree.Element):
        if element.sourceline == line:
            return _element_id(element)
    return None


def _element_id(element: Any) -> str | None:
    """The id of the flow element ``element`` belongs to (else the nearest id)."""
    nearest: str | None = None
    node = element
    while node is not None:
        node_id = node.get("id")
        if nearest is None and node_id:
            nearest = node_id
        parent = node.getparent()
        if node_id and parent is not None and parent.tag in _CONTAINERS:
            return str(node_id)
        node = parent
    return nearest


# -- the parser ------------------------------------------------------------------------------


class XiaonengUserTaskParser(UserTaskParser):
    """Camunda's user-task parser plus the attributes Camunda's parser ignores.

    Extensions set on the task spec (besides the ``camunda:properties``): ``assignee``,
    ``candidate_users`` / ``candidate_groups`` (lists), ``due_date``, ``priority`` (int
    when a number), ``form_key``, ``form`` (form-file dict or None) and
    ``multi_instance`` (dict or None). A multi-instance task's wrapper spec gets a copy.
    """

    def parse_extensions(self, node: Any = None) -> dict[str, Any]:
        extensions: dict[str, Any] = super().parse_extensions(node)
        attribute = self.node.get
        extensions["assignee"] = _text_or_none(attribute(_camunda("assignee")))
        extensions["candidate_users"] = split_list(attribute(_camunda("candidateUsers")))
        extensions["candidate_groups"] = split_list(attribute(_camunda("candidateGroups")))
        extensions["due_date"] = _text_or_none(attribute(_camunda("dueDate")))
        priority = _text_or_none(attribute(_camunda("priority")))
        number = _int_or_none(priority)
        extensions["priority"] = number if number is not None else priority
        form_key = _text_or_none(attribute(_camunda("formKey")))
        extensions["form_key"] = form_key
        extensions["form"] = self.process_parser.parser.form_data(
            self.task.form, form_key, self.filename, self.bpmn_id, self.node.get("name")
        )
        extensions["multi_instance"] = _multi_instance_extension(self.node, extensions)
        return extensions

    def _add_multiinstance_task(self, loop_characteristics: Any) -> None:
        extensions = self.task.extensions
        super()._add_multiinstance_task(loop_characteristics)
        # The wrapper carries the same extensions so that code looking at the
        # multi-instance task (sign mode, people) finds them too.
        self.task.extensions = dict(extensions)


class XiaonengStartEventParser(CamundaStartEventParser):
    """Start events with their form (``form_key``, ``form``) and ``initiator`` extensions."""

    get_form = UserTaskParser.get_form
    get_enum_field = UserTaskParser.get_enum_field

    def parse_extensions(self, node: Any = None) -> dict[str, Any]:
        extensions: dict[str, Any] = CamundaTaskParser.parse_extensions(self, node)
        form_key = _text_or_none(self.node.get(_camunda("formKey")))
        extensions["form_key"] = form_key
        extensions["form"] = self.process_parser.parser.form_data(
            self.get_form(), form_key, self.filename, self.bpmn_id, self.node.get("name")
        )
        extensions["initiator"] = _text_or_none(self.node.get(_camunda("initiator")))
        return extensions


class XiaonengParser(CamundaParser):
    """``CamundaParser`` reading assignment, forms and signing into ``task_spec.extensions``.

    Args:
        form_files: Form files by key, for ``camunda:formKey`` references.
    """

    OVERRIDE_PARSER_CLASSES: ClassVar[dict[str, tuple[Any, Any]]] = {
        **CamundaParser.OVERRIDE_PARSER_CLASSES,
        full_tag("userTask"): (XiaonengUserTaskParser, UserTask),
        full_tag("startEvent"): (XiaonengStartEventParser, StartEvent),
    }

    def __init__(self, form_files: Mapping[str, FormSpec] | None = None) -> None:
        super().__init__(namespaces=NSMAP)
        self.form_files = dict(form_files or {})
        self.problems: list[DefinitionProblem] = []

    def form_data(
        self,
        camunda_form: Any,
        form_key: str | None,
        file: str,
        element_id: str,
        name: str | None,
    ) -> dict[str, object] | None:
        """Return the form of a task as form-file data (None when it has none).

        Problems with an inline ``camunda:formData`` are collected in :attr:`problems`.
        """
        if form_key:
            form = self.form_files.get(forms.form_key_name(form_key))
            return form.to_dict() if form is not None else None
        if camunda_form is None or not camunda_form.fields:
            return None
        try:
            form = forms.form_from_camunda(
                camunda_form, key=element_id, title=name, file=file, element_id=element_id
            )
        except InvalidDefinitionError as exc:
            self.problems.extend(exc.problems)
            return None
        return form.to_dict()


def _multi_instance_extension(node: Any, extensions: Mapping[str, Any]) -> dict[str, Any] | None:
    loop = node.find(full_tag("multiInstanceLoopCharacteristics"))
    if loop is None:
        return None
    cardinality = loop.find(full_tag("loopCardinality"))
    condition = loop.find(full_tag("completionCondition"))
    sign_mode = _text_or_none(extensions.get("sign_mode"))
    return {
        "sequential": loop.get("isSequential") == "true",
        "collection": loop.get(_camunda("collection")),
        "element_variable": loop.get(_camunda("elementVariable")),
        "cardinality": cardinality.text if cardinality is not None else None,
        "completion_condition": condition.text if condition is not None else None,
        "sign_mode": sign_mode,
        "pass_count": _int_or_none(extensions.get("pass_count")),
        "pass_ratio": _float_or_none(extensions.get("pass_ratio")),
        "sign_field": _text_or_none(extensions.get("sign_field")),
    }


def split_list(value: str | None) -> list[str]:
    """Split a comma-separated Camunda list; commas inside ``${...}`` do not split.

    Args:
        value: ``"alice, bob"``, ``"${approvers}"``, ``"${pick(a, b)}, carol"`` or None.

    Returns:
        The non-empty items, stripped.
    """
    if not value:
        return []
    items: list[str] = []
    current: list[str] = []
    depth = 0
    quote: str | None = None
    index = 0
    while index < len(value):
        char = value[index]
        if quote is not None:
            if char == "\\" and index + 1 < len(value):
                current.append(value[index : index + 2])
                index += 2
                continue
            if char == quote:
                quote = None
        elif depth > 0 and char in "'\"":
            quote = char
        elif value.startswith(("${", "#{"), index):
            depth += 1
            current.append(value[index : index + 2])
            index += 2
            continue
        elif depth > 0 and char == "{":
            depth += 1
        elif depth > 0 and char == "}":
            depth -= 1
        elif depth == 0 and char == ",":
            items.append("".join(current))
            current = []
            index += 1
            continue
        current.append(char)
        index += 1
    items.append("".join(current))
    return [item.strip() for item in items if item.strip()]


def is_expression(value: str) -> bool:
    """True when a Camunda attribute value contains a ``${...}`` (or ``#{...}``) expression."""
    return "${" in value or "#{" in value


_TEMPLATE_PART = re.compile(r"[$#]\{([^{}]*)\}")


def template_parts(value: str) -> list[str] | None:
    """The ``${...}`` expressions of a text with literal text around them
    (``dept:${unit}``), or None when the value is one whole expression (or none)."""
    text = value.strip()
    parts = [m.group(0) for m in _TEMPLATE_PART.finditer(text)]
    if not parts or (len(parts) == 1 and parts[0] == text):
        return None
    return parts


_PEOPLE_ATTRIBUTES = frozenset({"assignee", "candidateUsers", "candidateGroups"})


def _text_or_none(value: object) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _int_or_none(value: object) -> int | None:
    text = _text_or_none(value)
    if text is None or not re.fullmatch(r"[+-]?\d{1,18}", text):
        return None
    return int(text)


def _float_or_none(value: object) -> float | None:
    text = _text_or_none(value)
    if text is None:
        return None
    try:
        return float(text)
    except ValueError:
        return None


# -- reading task specs ----------------------------------------------------------------------


def user_task_info(process_id: str, task_spec: Any) -> UserTaskInfo:
    """Describe a user task spec built by :class:`XiaonengParser`.

    Also works on specs restored from a serialized workflow (extensions are serialized).

    Args:
        process_id: The top-level process the task belongs to.
        task_spec: A user task spec (the per-instance spec of a multi-instance task).
    """
    ext: Mapping[str, Any] = getattr(task_spec, "extensions", None) or {}
    form_data = ext.get("form")
    form = forms.form_from_dict(form_data, file=process_id) if form_data else None
    loop = ext.get("multi_instance")
    multi = None
    if loop:
        multi = MultiInstanceInfo(
            sequential=bool(loop.get("sequential")),
            collection=loop.get("collection"),
            element_variable=loop.get("element_variable"),
            cardinality=loop.get("cardinality"),
            completion_condition=loop.get("completion_condition"),
            sign_mode=loop.get("sign_mode"),
            pass_count=loop.get("pass_count"),
            pass_ratio=loop.get("pass_ratio"),
            sign_field=loop.get("sign_field"),
        )
    priority = ext.get("priority")
    return UserTaskInfo(
        process_id=process_id,
        element_id=str(getattr(task_spec, "bpmn_id", None) or task_spec.name),
        name=getattr(task_spec, "bpmn_name", None),
        lane=getattr(task_spec, "lane", None),
        assignee=ext.get("assignee"),
        candidate_users=tuple(ext.get("candidate_users") or ()),
        candidate_groups=tuple(ext.get("candidate_groups") or ()),
        due_date=ext.get("due_date"),
        priority=priority if isinstance(priority, int | str) else None,
        form_key=ext.get("form_key"),
        form=form,
        multi_instance=multi,
    )


def _owned_specs(
    parser: XiaonengParser,
    process_id: str,
    spec: BpmnProcessSpec,
    subprocess_specs: Mapping[str, BpmnProcessSpec | None],
) -> Iterator[tuple[str, BpmnProcessSpec]]:
    """Yield (owning top-level process id, spec) for a spec and all its subprocess specs."""
    yield process_id, spec
    owners = {process_id: process_id}
    pending = [process_id]
    while pending:
        current = pending.pop(0)
        current_spec = spec if current == process_id else subprocess_specs.get(current)
        if current_spec is None:
            continue
        for task_spec in current_spec.task_specs.values():
            child = getattr(task_spec, "spec", None)
            if not isinstance(child, str) or child in owners or child not in subprocess_specs:
                continue
            child_parser = parser.process_parsers.get(child)
            embedded = child_parser is not None and child_parser.parent is not None
            owners[child] = owners[current] if embedded else child
            pending.append(child)
            child_spec = subprocess_specs[child]
            if child_spec is not None:
                yield owners[child], child_spec


def _embedded_specs(parser: XiaonengParser, spec: BpmnProcessSpec) -> list[BpmnProcessSpec]:
    """A spec and the specs of the subprocesses embedded in it, recursively."""
    found = [spec]
    for task_spec in list(spec.task_specs.values()):
        child = getattr(task_spec, "spec", None)
        child_parser = parser.process_parsers.get(child) if isinstance(child, str) else None
        if child_parser is not None and child_parser.parent is not None:
            found.extend(_embedded_specs(parser, parser.get_spec(child)))
    return found


def _user_tasks(pairs: Iterable[tuple[str, BpmnProcessSpec]]) -> list[tuple[str, UserTaskInfo]]:
    """Return (file, info) for every user task of the given (owner, spec) pairs."""
    found: list[tuple[str, UserTaskInfo]] = []
    for owner, spec in pairs:
        for task_spec in spec.task_specs.values():
            if isinstance(task_spec, UserTask):
                found.append((str(spec.file or ""), user_task_info(owner, task_spec)))
    return found


def _start_form(spec: BpmnProcessSpec) -> FormSpec | None:
    for task_spec in spec.task_specs.values():
        if isinstance(task_spec, StartEvent) and task_spec.extensions.get("form"):
            return forms.form_from_dict(task_spec.extensions["form"], file=str(spec.file))
    return None


def _spiff_problem(exc: Exception, file: str) -> DefinitionProblem:
    if isinstance(exc, ValidationException):
        message = str(exc.args[0]) if exc.args else str(exc)
        if exc.line_number:
            message = f"{message} (line {exc.line_number})"
        return DefinitionProblem(exc.file_name or file, exc.id or None, message)
    if isinstance(exc, SpiffWorkflowException):
        return DefinitionProblem(file, None, str(exc.args[0]) if exc.args else str(exc))
    return DefinitionProblem(file, None, f"could not be parsed: {exc!r}")


# -- rebuilding from stored sources ----------------------------------------------------------


def build_specs(sources: Sequence[SourceFile], process_id: str) -> BuiltProcess:
    """Rebuild the specs of ``process_id`` from its stored canonical sources.

    Only the XML safety checks run (no schema, no engine rules, no script checks): the
    sources passed :func:`parse_bundle` when they were deployed.

    Args:
        sources: :attr:`ParsedProcess.sources` as stored.
        process_id: The process to build.

    Returns:
        The specs, the forms by element id and the user tasks.

    Raises:
        InvalidDefinitionError: The sources do not parse or do not define the process.
    """
    form_files: dict[str, FormSpec] = {}
    documents: list[tuple[str, str, Any]] = []
    for source in sources:
        kind = _kind(source.name)
        if kind == "form":
            form_files.setdefault(
                forms.form_file_key(source.name), forms.parse_form_file(source.name, source.content)
            )
        elif kind is not None:
            documents.append((source.name, kind, parse_xml(source.name, source.content)))
    parser = XiaonengParser(form_files)
    try:
        for name, kind, root in documents:
            if kind == "dmn":
                parser.add_dmn_xml(root, filename=name)
            else:
                parser.add_bpmn_xml(root, filename=name)
        process_parser = parser.get_process_parser(process_id)
        if process_parser is None or process_parser.parent is not None:
            raise InvalidDefinitionError(
                [
                    DefinitionProblem(
                        DEPLOYMENT, process_id, f"process '{process_id}' is not in the sources"
                    )
                ]
            )
        spec = parser.get_spec(process_id)
        subprocess_specs = parser.get_subprocess_specs(process_id)
    except _SPIFF_ERRORS as exc:
        raise InvalidDefinitionError([_spiff_problem(exc, DEPLOYMENT)]) from exc
    found_forms: dict[str, FormSpec] = {}
    user_tasks: list[UserTaskInfo] = []
    for owner, owned in _owned_specs(parser, process_id, spec, subprocess_specs):
        for task_spec in owned.task_specs.values():
            form: FormSpec | None = None
            if isinstance(task_spec, UserTask):
                info = user_task_info(owner, task_spec)
                user_tasks.append(info)
                form = info.form
            elif isinstance(task_spec, StartEvent) and task_spec.extensions.get("form"):
                form = forms.form_from_dict(task_spec.extensions["form"], file=str(owned.file))
            if form is not None:
                found_forms.setdefault(str(task_spec.bpmn_id), form)
    return BuiltProcess(
        process_id=process_id,
        spec=spec,
        subprocess_specs=subprocess_specs,
        forms=found_forms,
        user_tasks=tuple(user_tasks),
    )


def _kind(name: str) -> str | None:
    lower = name.lower()
    if lower.endswith(forms.FORM_FILE_SUFFIX):
        return "form"
    if lower.endswith((".bpmn", ".bpmn20.xml")):
        return "bpmn"
    if lower.endswith(".dmn"):
        return "dmn"
    return None


# -- checking a deployment -------------------------------------------------------------------


@dataclass
class _Document:
    """An XML file of the deployment, or of a deployed process the deployment calls."""

    name: str
    kind: str
    root: Any
    content: bytes
    external: bool = False
    schema_valid: bool = True
    skip: bool = False
    processes: dict[str, Any] = field(default_factory=dict)
    decision: str | None = None

    def executable_processes(self) -> Iterator[tuple[str, Any]]:
        for process_id, element in self.processes.items():
            if element.get("isExecutable", "true") != "false":
                yield process_id, element


@dataclass
class _Context:
    """What the checks of one deployment know about all of its files."""

    scripting: Any
    processes: dict[str, tuple[_Document, Any]] = field(default_factory=dict)
    decisions: dict[str, _Document] = field(default_factory=dict)
    form_files: dict[str, FormSpec] = field(default_factory=dict)
    form_names: dict[str, str] = field(default_factory=dict)
    bundle_forms: set[str] = field(default_factory=set)
    sources: dict[str, SourceFile] = field(default_factory=dict)


def parse_bundle(
    files: Sequence[SourceFile],
    *,
    deployed: Callable[[str], Sequence[SourceFile] | None] | None = None,
) -> ParsedBundle:
    """Check a deployment and parse every executable process in it.

    Args:
        files: The uploaded BPMN, DMN and form files.
        deployed: Returns the stored :attr:`ParsedProcess.sources` of an already deployed
            process by id, or None; asked once for each process id the bundle calls but
            does not define.

    Returns:
        The parsed deployment.

    Raises:
        InvalidDefinitionError: Every problem found in the deployment.
    """
    from engine import scripting

    _check_limits(files)
    problems: list[DefinitionProblem] = []
    context = _Context(scripting=scripting)
    documents = _read_files(files, context, problems)
    for document in documents:
        _index_document(document, context, problems)
    external = _fetch_deployed(documents, context, deployed, problems)
    for document in documents:
        if document.kind == "bpmn" and document.schema_valid:
            _BpmnRules(document, context, problems).check()
    if not problems and not any(True for d in documents for _ in d.executable_processes()):
        problems.append(DefinitionProblem(DEPLOYMENT, None, "no executable process found"))
    # SpiffWorkflow often trips over what a rule already reported, less clearly.
    reported = {(p.file, p.element_id) for p in problems}
    spiff_problems: list[DefinitionProblem] = []
    parsed = _parse_specs(documents + external, context, spiff_problems)
    problems.extend(p for p in spiff_problems if (p.file, p.element_id) not in reported)
    if problems:
        raise InvalidDefinitionError(list(dict.fromkeys(problems)))

    for document in documents:
        context.sources[document.name] = SourceFile(document.name, _canonical(document.root))
    processes = []
    for document in documents:
        for process_id, element in document.executable_processes():
            user_tasks, start_form = parsed[process_id]
            calls = (c.get("calledElement") for c in element.iter(full_tag("callActivity")))
            processes.append(
                ParsedProcess(
                    process_id=process_id,
                    name=str(element.get("name") or process_id),
                    file=document.name,
                    sources=tuple(context.sources[n] for n in _closure(document, context)),
                    user_tasks=user_tasks,
                    start_form=start_form,
                    called_processes=tuple(dict.fromkeys(str(c) for c in calls if c)),
                )
            )
    return ParsedBundle(
        processes=tuple(processes),
        forms={key: context.form_files[key] for key in sorted(context.bundle_forms)},
        files=tuple(context.sources[f.name] for f in files),
    )


def _check_limits(files: Sequence[SourceFile]) -> None:
    if len(files) > MAX_BUNDLE_FILES:
        message = f"a deployment may have at most {MAX_BUNDLE_FILES} files, not {len(files)}"
        raise InvalidDefinitionError([DefinitionProblem(DEPLOYMENT, None, message)])
    total = sum(len(f.content) for f in files)
    if total > MAX_BUNDLE_BYTES:
        message = f"a deployment may have at most {MAX_BUNDLE_BYTES} bytes, not {total}"
        raise InvalidDefinitionError([DefinitionProblem(DEPLOYMENT, None, message)])


def _read_files(
    files: Sequence[SourceFile], context: _Context, problems: list[DefinitionProblem]
) -> list[_Document]:
    """Parse each file safely and validate it against its schema."""
    documents: list[_Document] = []
    seen: set[str] = set()
    for source in files:
        name = source.name
        if name in seen:
            problems.append(DefinitionProblem(name, None, "file name is used twice"))
            continue
        seen.add(name)
        kind = _kind(name)
        if kind is None or "\x00" in name:
            message = "unsupported file type: expected .bpmn, .dmn or .form.json"
            problems.append(DefinitionProblem(name, None, message))
            continue
        if len(source.content) > MAX_FILE_BYTES:
            message = f"file is larger than {MAX_FILE_BYTES} bytes"
            problems.append(DefinitionProblem(name, None, message))
            continue
        try:
            if kind == "form":
                _add_form_file(source, context, problems, external=False)
                continue
            root = parse_xml(name, source.content)
        except InvalidDefinitionError as exc:
            problems.extend(exc.problems)
            continue
        document = _Document(name, kind, root, source.content)
        schema_problems = _document_schema_problems(document)
        document.schema_valid = not schema_problems
        problems.extend(schema_problems)
        documents.append(document)
    return documents


def _add_form_file(
    source: SourceFile, context: _Context, problems: list[DefinitionProblem], *, external: bool
) -> None:
    form = forms.parse_form_file(source.name, source.content)
    if form.key in context.form_files:
        if not external:
            other = context.form_names[form.key]
            message = f"form key '{form.key}' is also defined by {other}"
            problems.append(DefinitionProblem(source.name, None, message))
        return
    context.form_files[form.key] = form
    context.form_names[form.key] = source.name
    context.sources[source.name] = source
    if not external:
        context.bundle_forms.add(form.key)


def _document_schema_problems(document: _Document) -> list[DefinitionProblem]:
    qname = etree.QName(document.root)
    if document.kind == "bpmn":
        if document.root.tag != full_tag("definitions"):
            message = "not a BPMN 2.0 file: the root element must be bpmn:definitions"
            return [DefinitionProblem(document.name, None, message)]
        return _schema_problems(document.name, document.root, _bpmn_validator())
    if qname.localname != "definitions" or qname.namespace not in DMN_SCHEMAS:
        message = "not a DMN file of a supported version (DMN 1.1, 1.2 or 1.3)"
        return [DefinitionProblem(document.name, None, message)]
    validator = _dmn_validator(qname.namespace)
    if validator is None:
        return []
    return _schema_problems(document.name, document.root, validator)


def _index_document(
    document: _Document, context: _Context, problems: list[DefinitionProblem]
) -> None:
    """Record the processes (or decision) a document defines; report duplicate ids."""
    if document.kind == "bpmn":
        for process in document.root.findall(full_tag("process")):
            process_id = process.get("id")
            if not process_id:
                continue
            if process_id in context.processes:
                other = context.processes[process_id][0].name
                message = f"duplicate process id '{process_id}' (also in {other})"
                problems.append(DefinitionProblem(document.name, process_id, message))
                document.skip = True
                continue
            context.processes[process_id] = (document, process)
            document.processes[process_id] = process
        return
    namespace = etree.QName(document.root).namespace
    decision = document.root.find(f"{{{namespace}}}decision")
    decision_id = decision.get("id") if decision is not None else None
    if not decision_id:
        return
    if decision_id in context.decisions:
        other = context.decisions[decision_id].name
        message = f"duplicate decision id '{decision_id}' (also in {other})"
        problems.append(DefinitionProblem(document.name, decision_id, message))
        document.skip = True
        return
    context.decisions[decision_id] = document
    document.decision = decision_id


def _fetch_deployed(
    documents: Sequence[_Document],
    context: _Context,
    deployed: Callable[[str], Sequence[SourceFile] | None] | None,
    problems: list[DefinitionProblem],
) -> list[_Document]:
    """Load the stored sources of deployed processes the bundle calls but does not define."""
    if deployed is None:
        return []
    names = {d.name for d in documents} | set(context.sources)
    external: list[_Document] = []
    for document in documents:
        for _, process in document.executable_processes():
            for call in process.iter(full_tag("callActivity")):
                called = (call.get("calledElement") or "").strip()
                if not called or is_expression(called) or called in context.processes:
                    continue
                for source in deployed(called) or ():
                    if source.name in names:
                        continue  # the deployment's own file of that name wins
                    names.add(source.name)
                    external.extend(_read_deployed(source, context, problems))
    return external


def _read_deployed(
    source: SourceFile, context: _Context, problems: list[DefinitionProblem]
) -> list[_Document]:
    kind = _kind(source.name)
    try:
        if kind == "form":
            _add_form_file(source, context, problems, external=True)
            return []
        if kind is None:
            return []
        document = _Document(
            source.name, kind, parse_xml(source.name, source.content), source.content, True
        )
    except InvalidDefinitionError as exc:
        problems.extend(exc.problems)
        return []
    _index_document(document, context, problems)
    context.sources[source.name] = source
    return [document]


def _parse_specs(
    documents: Sequence[_Document], context: _Context, problems: list[DefinitionProblem]
) -> dict[str, tuple[tuple[UserTaskInfo, ...], FormSpec | None]]:
    """Build every spec with SpiffWorkflow; return user tasks and start form per process."""
    parser = XiaonengParser(context.form_files)
    usable = [d for d in documents if d.schema_valid and not d.skip]
    for document in sorted(usable, key=lambda d: d.kind != "dmn"):
        try:
            if document.kind == "dmn":
                parser.add_dmn_xml(document.root, filename=document.name)
                if document.decision is not None and not document.external:
                    parser.dmn_parsers[document.decision].parse()
            else:
                parser.add_bpmn_xml(document.root, filename=document.name)
        except _SPIFF_ERRORS as exc:
            problems.append(_spiff_problem(exc, document.name))
    parsed: dict[str, tuple[tuple[UserTaskInfo, ...], FormSpec | None]] = {}
    for document in usable:
        if document.external or document.kind != "bpmn":
            continue
        for process_id, _ in document.executable_processes():
            # Called processes are checked as processes of their own (or were checked when
            # they were deployed): only embedded subprocesses are parsed from here.
            try:
                spec = parser.get_spec(process_id)
                owned = [(process_id, s) for s in _embedded_specs(parser, spec)]
            except _SPIFF_ERRORS as exc:
                problems.append(_spiff_problem(exc, document.name))
                continue
            tasks = _user_tasks(owned)
            for file, task in tasks:
                people = task.assignee or task.candidate_users or task.candidate_groups
                if not people and not task.lane:
                    message = "user task has no assignee, candidate users/groups or lane"
                    problems.append(DefinitionProblem(file, task.element_id, message))
            parsed[process_id] = (tuple(t for _, t in tasks), _start_form(spec))
    problems.extend(parser.problems)
    return parsed


def _closure(document: _Document, context: _Context) -> list[str]:
    """Names of the files a process file needs: itself, called processes, decisions, forms."""
    names = [document.name]
    pending = [document]
    while pending:
        current = pending.pop(0)
        if current.kind != "bpmn":
            continue
        needed: list[str] = []
        for element in current.root.iter(etree.Element):
            if element.tag == full_tag("callActivity"):
                target = context.processes.get(element.get("calledElement") or "")
                if target is not None:
                    needed.append(target[0].name)
                    if target[0].name not in names:
                        pending.append(target[0])
            elif element.tag == full_tag("businessRuleTask"):
                decision = context.decisions.get(element.get(_camunda("decisionRef")) or "")
                if decision is not None:
                    needed.append(decision.name)
            if element.get(_camunda("formKey")):
                key = forms.form_key_name(element.get(_camunda("formKey")))
                if key in context.form_names:
                    needed.append(context.form_names[key])
        names.extend(n for n in needed if n not in names)
    return list(dict.fromkeys(names))


def _canonical(root: Any) -> bytes:
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


class _BpmnRules:
    """The engine's rules for one BPMN file; rewrites expressions to canonical Python."""

    def __init__(
        self, document: _Document, context: _Context, problems: list[DefinitionProblem]
    ) -> None:
        self.document = document
        self.context = context
        self.scripting = context.scripting
        self.problems = problems

    def report(self, element: Any, message: str) -> None:
        self.problems.append(DefinitionProblem(self.document.name, _element_id(element), message))

    def check(self) -> None:
        handlers: dict[str, Callable[[Any], None]] = {
            full_tag("timerEventDefinition"): self._check_timer,
            full_tag("scriptTask"): self._check_script,
            full_tag("messageEventDefinition"): self._check_message,
            full_tag("multiInstanceLoopCharacteristics"): self._check_loop,
            full_tag("userTask"): self._check_user_task,
            full_tag("startEvent"): self._check_form_reference,
            full_tag("callActivity"): self._check_call,
            full_tag("businessRuleTask"): self._check_decision,
        }
        for process_id, process in self.document.executable_processes():
            if process.find(full_tag("startEvent")) is None:
                self.problems.append(
                    DefinitionProblem(self.document.name, process_id, "process has no start event")
                )
            for element in process.iter(etree.Element):
                self._check_hooks(element)
                if element.tag in _EXPRESSION_TAGS:
                    self._check_expression(element)
                handler = handlers.get(element.tag)
                if handler is not None:
                    handler(element)

    def _check_hooks(self, element: Any) -> None:
        tag = element.tag
        hook = "Java/connector hooks are not supported"
        for attribute in ("class", "delegateExpression"):
            if element.get(_camunda(attribute)) is not None:
                self.report(element, f"{hook} (camunda:{attribute})")
        if element.get(_camunda("expression")) is not None and tag != full_tag(
            "messageEventDefinition"
        ):
            self.report(element, f"{hook} (camunda:expression)")
        if tag in _HOOK_TASKS and element.get(_camunda("type")) is not None:
            self.report(element, f"{hook} (camunda:type={element.get(_camunda('type'))!r})")
        if tag in (_camunda("executionListener"), _camunda("taskListener")):
            local = etree.QName(tag).localname
            self.report(element, f"{hook} (camunda:{local}: listeners are not run)")
        elif tag == _camunda("connector"):
            self.report(element, f"{hook} (camunda:connector)")
        elif tag == _camunda("inputOutput"):
            self.report(element, "camunda:inputOutput mappings are not supported")
        elif tag in (_camunda("in"), _camunda("out")) and dict(element.attrib) != {
            "variables": "all"
        }:
            self.report(
                element,
                'camunda:in/out mappings other than variables="all" are not supported: '
                "a called process shares all variables",
            )
        if element.get(_camunda("resultVariable")) is not None:
            self.report(
                element,
                "camunda:resultVariable is not supported: scripts and decisions write "
                "their variables into the case data directly",
            )
        if element.get(_camunda("resource")) is not None:
            self.report(element, "external resources (camunda:resource) are not supported")

    def _check_expression(self, element: Any) -> None:
        label = _EXPRESSION_TAGS[element.tag]
        language = element.get("language")
        if language and language.strip().lower() not in ("python", "juel"):
            self.report(element, f"{label} language {language!r} is not supported")
            return
        text = (element.text or "").strip()
        if not text:
            self.report(element, f"{label} is empty")
            return
        try:
            element.text = self.scripting.check_expression(text, element_id=_element_id(element))
        except ScriptError as exc:
            self.report(element, f"{label} is invalid: {exc.reason}")

    def _check_timer(self, definition: Any) -> None:
        times = [child for child in definition if child.tag in _TIMER_TAGS]
        if not times:
            self.report(definition, "timer has no timeDate, timeDuration or timeCycle")
        for element in times:
            kind = etree.QName(element).localname
            text = (element.text or "").strip()
            if not text:
                self.report(element, f"timer {kind} is empty")
                continue
            try:
                element.text = self.scripting.normalize_timer_expression(
                    text, element_id=_element_id(element)
                )
            except ScriptError as exc:
                self.report(element, f"timer {kind} is invalid: {exc.reason}")

    def _check_script(self, task: Any) -> None:
        script_format = task.get("scriptFormat")
        if script_format and script_format.strip().lower() not in ("python", "python3", "py"):
            self.report(task, f"script format {script_format!r} is not supported; use python")
            return
        script = task.find(full_tag("script"))
        if script is None or not (script.text or "").strip():
            if task.get(_camunda("resource")) is None:
                self.report(task, "script task has no script")
            return
        source = textwrap.dedent(script.text).strip("\n")
        try:
            script.text = self.scripting.check_script(source, element_id=task.get("id"))
        except ScriptError as exc:
            self.report(task, f"script is invalid: {exc.reason}")

    def _check_message(self, definition: Any) -> None:
        payload = definition.get(_camunda("expression"))
        if payload is None:
            return
        try:
            checked = self.scripting.check_expression(payload, element_id=_element_id(definition))
        except ScriptError as exc:
            self.report(definition, f"message payload expression is invalid: {exc.reason}")
            return
        definition.set(_camunda("expression"), checked)

    def _check_loop(self, loop: Any) -> None:
        collection = loop.get(_camunda("collection"))
        element_variable = loop.get(_camunda("elementVariable"))
        if collection is not None:
            name = _variable_name(collection)
            if name is None:
                self.report(
                    loop,
                    "camunda:collection must name a case variable, like approvers or ${approvers}",
                )
            else:
                loop.set(_camunda("collection"), name)
            if element_variable is None:
                self.report(loop, "camunda:collection needs camunda:elementVariable")
        if element_variable is not None and _variable_name(element_variable) != element_variable:
            self.report(loop, "camunda:elementVariable must be a variable name")

    def _check_user_task(self, task: Any) -> None:
        for attribute in ("assignee", "candidateUsers", "candidateGroups", "dueDate", "priority"):
            value = (task.get(_camunda(attribute)) or "").strip()
            if not value:
                continue
            items = split_list(value) if attribute.startswith("candidate") else [value]
            for item in items:
                parts = template_parts(item) if attribute in _PEOPLE_ATTRIBUTES else None
                if parts is not None:  # text around expressions: dept:${unit}
                    for part in parts:
                        try:
                            self.scripting.check_expression(part, element_id=task.get("id"))
                        except ScriptError as exc:
                            self.report(task, f"camunda:{attribute} is invalid: {exc.reason}")
                elif is_expression(item):
                    try:
                        self.scripting.check_expression(item, element_id=task.get("id"))
                    except ScriptError as exc:
                        self.report(task, f"camunda:{attribute} is invalid: {exc.reason}")
                elif attribute == "priority" and _int_or_none(item) is None:
                    self.report(task, "camunda:priority must be a whole number or an expression")
                elif attribute == "dueDate" and not _is_iso_moment(item):
                    self.report(
                        task,
                        "camunda:dueDate must be an ISO 8601 date, date-time or duration, "
                        "or an expression",
                    )
        self._check_form_reference(task)
        properties = _properties(task)
        for name in properties:
            if name in RESERVED_EXTENSIONS:
                self.report(task, f"camunda:property '{name}' is reserved")
        self._check_signing(task, properties)
        self._check_supervision(task, properties)

    def _check_supervision(self, task: Any, properties: Mapping[str, str | None]) -> None:
        """The supervision properties (docs/supervision.md)."""
        on_overdue = properties.get("on_overdue")
        if on_overdue is not None and on_overdue != "deemed_consent":
            self.report(task, f"on_overdue must be deemed_consent, not {on_overdue!r}")
        if on_overdue is not None:
            if task.find(full_tag("multiInstanceLoopCharacteristics")) is not None:
                self.report(task, "on_overdue deemed_consent is for a single task, not signing")
            due = task.get(_camunda("dueDate"))
            if not due:
                self.report(task, "on_overdue deemed_consent needs a camunda:dueDate (the limit)")
        if properties.get("consent_field") is not None and on_overdue is None:
            self.report(task, "consent_field needs on_overdue = deemed_consent")
        stops = properties.get("stops_clock")
        if stops is not None and stops not in STOP_KINDS:
            self.report(task, f"stops_clock must be one of {', '.join(STOP_KINDS)}, not {stops!r}")
        escalation = properties.get("escalation")
        if escalation is not None and escalation not in ("engine", "bpmn", "none"):
            self.report(task, f"escalation must be engine, bpmn or none, not {escalation!r}")
        accepts = properties.get("accepts_case")
        if accepts is not None and accepts.strip().lower() != "true":
            text = accepts.strip()
            if not text:
                self.report(task, "accepts_case is empty: true, or a condition on the task's data")
            else:
                try:
                    self.scripting.check_expression(
                        text if "${" in text else "${" + text + "}", element_id=task.get("id")
                    )
                except ScriptError as exc:
                    self.report(task, f"accepts_case is invalid: {exc.reason}")

    def _check_form_reference(self, element: Any) -> None:
        reference = element.get(_camunda("formKey"))
        if reference is None:
            return
        if element.find(f"{full_tag('extensionElements')}/{_camunda('formData')}") is not None:
            self.report(element, "use camunda:formKey or camunda:formData, not both")
            return
        key = forms.form_key_name(reference)
        if not key:
            self.report(element, "camunda:formKey is empty")
        elif key not in self.context.bundle_forms:
            self.report(
                element,
                f"form '{key}' not found in the deployment (expected file {key}.form.json)",
            )

    def _check_signing(self, task: Any, properties: Mapping[str, str | None]) -> None:
        mode = properties.get("sign_mode")
        count = properties.get("pass_count")
        ratio = properties.get("pass_ratio")
        sign_field = properties.get("sign_field")
        if mode is None:
            if count is not None or ratio is not None or sign_field is not None:
                self.report(task, "pass_count, pass_ratio and sign_field need sign_mode")
            return
        if mode not in SIGN_MODES:
            self.report(task, f"sign_mode must be all, any or vote, not {mode!r}")
            return
        loop = task.find(full_tag("multiInstanceLoopCharacteristics"))
        if loop is None:
            self.report(task, f"sign_mode {mode} needs a multi-instance task")
        elif mode != "all" and loop.find(full_tag("completionCondition")) is not None:
            self.report(
                task,
                f"sign_mode {mode} decides itself when signing ends: remove the "
                "completion condition",
            )
        if mode == "vote":
            if (count is None) == (ratio is None):
                self.report(task, "sign_mode vote needs exactly one of pass_count or pass_ratio")
            elif count is not None:
                number = _int_or_none(count)
                if number is None or number < 1:
                    self.report(task, "pass_count must be a whole number of at least 1")
            else:
                share = _float_or_none(ratio)
                if share is None or not 0 < share <= 1:
                    self.report(task, "pass_ratio must be a number greater than 0 and at most 1")
        elif count is not None or ratio is not None:
            self.report(task, "pass_count and pass_ratio are only for sign_mode vote")
        if sign_field is not None:
            field_ids = self._form_field_ids(task)
            if field_ids is not None and sign_field not in field_ids:
                self.report(task, f"sign_field '{sign_field}' is not a field of the task's form")

    def _form_field_ids(self, task: Any) -> set[str] | None:
        reference = task.get(_camunda("formKey"))
        if reference is not None:
            form = self.context.form_files.get(forms.form_key_name(reference))
            return {f.id for f in form.fields} if form is not None else None
        path = f"{full_tag('extensionElements')}/{_camunda('formData')}/{_camunda('formField')}"
        ids = {str(f.get("id")) for f in task.findall(path)}
        return ids or None

    def _check_call(self, call: Any) -> None:
        called = (call.get("calledElement") or "").strip()
        if not called:
            self.report(call, "call activity has no calledElement")
            return
        if is_expression(called):
            self.report(call, "calledElement must be a process id, not an expression")
            return
        target = self.context.processes.get(called)
        if target is None:
            self.report(call, f"called process '{called}' not found in the deployment")
        elif target[1].get("isExecutable", "true") == "false":
            self.report(call, f"called process '{called}' is not executable")

    def _check_decision(self, task: Any) -> None:
        hooks = ("class", "delegateExpression", "expression", "type")
        if any(task.get(_camunda(h)) is not None for h in hooks):
            return
        reference = (task.get(_camunda("decisionRef")) or "").strip()
        if not reference:
            self.report(task, "business rule task has no camunda:decisionRef")
        elif is_expression(reference):
            self.report(task, "camunda:decisionRef must be a decision id, not an expression")
        elif reference not in self.context.decisions:
            self.report(task, f"decision '{reference}' not found in the deployment")


def _properties(element: Any) -> dict[str, str | None]:
    path = f"{full_tag('extensionElements')}/{_camunda('properties')}/{_camunda('property')}"
    return {str(p.get("name")): p.get("value") for p in element.findall(path)}


def _variable_name(value: str) -> str | None:
    text = value.strip()
    match = _WRAPPED_NAME_RE.fullmatch(text)
    name = match.group(1) if match else text
    if _IDENTIFIER_RE.fullmatch(name) and not keyword.iskeyword(name):
        return name
    return None


def _is_iso_moment(text: str) -> bool:
    if _DURATION_RE.fullmatch(text):
        return True
    for parse in (date.fromisoformat, datetime.fromisoformat):
        try:
            parse(text)
        except ValueError:
            continue
        return True
    return False
