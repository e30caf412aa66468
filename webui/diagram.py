"""Draw a BPMN diagram as SVG on the server, from its diagram interchange (BPMNDI).

The web UI's process diagram (task page, case page, an admin's version page) and the docs
use :func:`render_svg`. It takes the BPMN XML text and needs nothing from the engine: the
layout is the one the designer drew in Camunda Modeler (the ``BPMNShape`` bounds and
``BPMNEdge`` waypoints), the look follows bpmn-js so that a designer recognises it.

Uploaded diagrams are hostile input: the XML is parsed without network, entities or huge
trees, every name and id is escaped, and the output holds no script, no
``foreignObject`` and no external reference.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import pairwise
from typing import Any, cast

from lxml import etree

__all__ = ["STATES", "STATE_CLASSES", "Element", "elements", "render_svg"]

#: The case states a diagram element can be drawn in, and the CSS class each one gets.
STATE_CLASSES: Mapping[str, str] = {
    "completed": "state-completed",
    "active": "state-active",
    "overdue": "state-overdue",
    "not_reached": "state-not_reached",
}
STATES = frozenset(STATE_CLASSES)

_BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
_BPMNDI = "http://www.omg.org/spec/BPMN/20100524/DI"
_DC = "http://www.omg.org/spec/DD/20100524/DC"
_DI = "http://www.omg.org/spec/DD/20100524/DI"

FONT_FAMILY = '"Noto Sans CJK SC", "Noto Sans SC", "Microsoft YaHei", sans-serif'
_MARGIN = 20.0
_TASK_FONT = 12.0
_LABEL_FONT = 11.0
_LINE = 1.2  # line height, in font sizes
_TASK_PADDING = 5.0
_EXTERNAL_LABEL_WIDTH = 90.0  # bpmn-js lays out external labels in a 90px box
_HEADER = 30.0  # the name band of pools and lanes
_ICON_BOTTOM = 30.0  # task type icons end this far under the top of the task

_INK = "#22242a"
# state → (fill of shapes, stroke and arrowheads, text, stroke width of shapes or "")
_STATE_LOOK = {
    "completed": ("#e6f4ea", "#2e7d32", "#1b5e20", ""),
    "active": ("#e8f0fe", "#1565c0", "#0d47a1", "4px"),
    "overdue": ("#fdecea", "#c62828", "#b71c1c", "4px"),
    "not_reached": ("#fafafa", "#9e9e9e", "#757575", ""),
}
_STATE_INK = {"": _INK} | {state: look[1] for state, look in _STATE_LOOK.items()}


def _style() -> str:
    """The embedded stylesheet, every rule scoped to the diagram's root element."""
    rules = [
        ("text", f"font-family:{FONT_FAMILY};fill:{_INK}"),
        (".background", "fill:#fff"),
        (".body,.ring,.paper", f"fill:#fff;stroke:{_INK}"),
        (".line,.flow", f"fill:none;stroke:{_INK}"),
        (".ink", f"fill:{_INK};stroke:none"),
        (".inv", "fill:none;stroke:#fff"),
        (".hit", "fill:none;stroke:transparent;stroke-width:12px"),
        (".group>.body,.sub-process.expanded>.body", "fill:none"),
        (".unknown>.body", "stroke-dasharray:4 3"),
        (".non-interrupting>.body,.non-interrupting>.ring", "stroke-dasharray:5 3"),
        (".event-sub-process>.body", "stroke-dasharray:2 3"),
        (".group>.body", "stroke-dasharray:10 4 2 4"),
        (".message-flow>.flow", "stroke-dasharray:10 6"),
        (
            ".association>.flow,.data-association>.flow",
            "stroke-dasharray:1 5;stroke-linecap:round",
        ),
        (".state-not_reached", "opacity:.5"),
    ]
    for state, (fill, stroke, text, width) in _STATE_LOOK.items():
        scope = f".{STATE_CLASSES[state]} "
        rules += [
            (
                f"{scope}.body",
                f"fill:{fill};stroke:{stroke}" + (f";stroke-width:{width}" if width else ""),
            ),
            (
                f"{scope}.ring,{scope}.paper",
                f"stroke:{stroke}" + ("" if width else f";fill:{fill}"),
            ),
            (f"{scope}.line,{scope}.flow", f"stroke:{stroke}"),
            (f"{scope}.ink", f"fill:{stroke}"),
            (f"{scope}text", f"fill:{text}"),
        ]
    return "".join(
        ",".join(f".xn-diagram {sel}" for sel in selectors.split(",")) + f"{{{body}}}"
        for selectors, body in rules
    )


_STYLE = _style()

_ACTIVITIES = frozenset(
    [
        "task",
        "userTask",
        "scriptTask",
        "serviceTask",
        "sendTask",
        "receiveTask",
        "manualTask",
        "businessRuleTask",
        "callActivity",
        "subProcess",
        "transaction",
        "adHocSubProcess",
    ]
)
_EVENTS = frozenset(
    ["startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent"]
)
_GATEWAYS = frozenset(
    [
        "exclusiveGateway",
        "parallelGateway",
        "inclusiveGateway",
        "eventBasedGateway",
        "complexGateway",
    ]
)
_DATA_OBJECTS = frozenset({"dataObjectReference", "dataObject", "dataInput", "dataOutput"})
_SUB_PROCESSES = frozenset({"subProcess", "transaction", "adHocSubProcess"})


# --------------------------------------------------------------------------- public API


def render_svg(
    bpmn_xml: str | bytes,
    *,
    states: Mapping[str, str] | None = None,
    process_id: str | None = None,
    title: str | None = None,
) -> str:
    """Render a BPMN diagram as a standalone SVG document.

    Args:
        bpmn_xml: The BPMN 2.0 XML, with its diagram interchange (BPMNDI).
        states: Element id → ``completed``, ``active``, ``overdue`` or ``not_reached``
            (other values are ignored). Each element gets the CSS class of its state
            (:data:`STATE_CLASSES`); a sequence flow from a completed element into a
            completed, active or overdue one is drawn completed, a flow into an element not
            reached is drawn not reached.
        process_id: Draw the diagram of this process (or of the collaboration holding
            its pool); by default the first diagram in the file.
        title: The SVG's ``<title>``; by default the name of the process or pool drawn.

    Returns:
        The SVG text (UTF-8 when encoded, no XML declaration so that it can be inlined
        in HTML), sized to the diagram's bounds plus a margin.

    Raises:
        ValueError: The text is not well-formed XML, declares entities, or has no
            diagram interchange (for ``process_id``, none for that process).
    """
    clean_states = tuple(
        sorted((str(k), v) for k, v in (states or {}).items() if isinstance(v, str) and v in STATES)
    )
    if len(bpmn_xml) > _CACHED_SOURCE_LIMIT:
        return _render.__wrapped__(bpmn_xml, clean_states, process_id, title)
    return _render(bpmn_xml, clean_states, process_id, title)


# Pages draw the same few definitions over and over, and cases at the same steps look the
# same: keep the last drawings (a deployed version's XML never changes). Only sources of
# ordinary size are kept, so the cache stays small whatever is uploaded.
_CACHED_SOURCE_LIMIT = 1024 * 1024


@lru_cache(maxsize=256)
def _render(
    bpmn_xml: str | bytes,
    states: tuple[tuple[str, str], ...],
    process_id: str | None,
    title: str | None,
) -> str:
    root = _parse(bpmn_xml)
    model = _Model(root)
    plane = _find_plane(root, model, process_id)
    drawing = _Drawing(model, dict(states))
    drawing.draw_plane(plane)
    if title is None:
        title = _default_title(model, plane)
    return drawing.document(title)


@dataclass(frozen=True)
class Element:
    """A flow node of a process: its id, BPMN kind (``userTask``, ``startEvent`` …) and name."""

    id: str
    kind: str
    name: str


def elements(bpmn_xml: str | bytes, process_id: str | None = None) -> dict[str, Element]:
    """The flow nodes (activities, events, gateways) of a process, by id.

    Pages use it to name the steps in a case's history and to find the user tasks a case
    has not reached. The XML is parsed as hostile input, as :func:`render_svg` does.

    Args:
        bpmn_xml: The BPMN 2.0 XML.
        process_id: Only this process (with its sub-processes); by default every process.
    """
    return dict(_elements(bpmn_xml, process_id))


@lru_cache(maxsize=64)
def _elements(bpmn_xml: str | bytes, process_id: str | None) -> dict[str, Element]:
    root = _parse(bpmn_xml)
    found: dict[str, Element] = {}
    for process in root.iter(f"{{{_BPMN}}}process"):
        if process_id is not None and process.get("id") != process_id:
            continue
        for el in process.iter(f"{{{_BPMN}}}*"):
            kind = _local(el)
            el_id = el.get("id")
            if el_id and (kind in _ACTIVITIES or kind in _EVENTS or kind in _GATEWAYS):
                found.setdefault(el_id, Element(el_id, kind, el.get("name") or ""))
    return found


# --------------------------------------------------------------------------- parsing


def _parse(bpmn_xml: str | bytes) -> etree._Element:
    if isinstance(bpmn_xml, str):
        # lxml refuses str with an encoding declaration; the text is Unicode already.
        data = bpmn_xml.encode("utf-8")
        encoding: str | None = "utf-8"
    elif isinstance(bpmn_xml, bytes | bytearray | memoryview):
        data = bytes(bpmn_xml)
        encoding = None
    else:
        raise TypeError(f"bpmn_xml must be str or bytes, not {type(bpmn_xml).__name__}")
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        huge_tree=False,
        load_dtd=False,
        remove_comments=True,
        remove_pis=True,
        encoding=encoding,
    )
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise ValueError(f"the BPMN file is not well-formed XML: {exc}") from exc
    if root is None:
        raise ValueError("the BPMN file is empty")
    dtd = root.getroottree().docinfo.internalDTD
    if dtd is not None and any(True for _ in cast(Any, dtd).iterentities()):
        # libxml2 expands internal entities in attribute values even with
        # resolve_entities=False; a BPMN file never needs a DTD, so refuse them all.
        raise ValueError("the BPMN file declares XML entities (<!ENTITY …>); refused")
    return root


class _Model:
    """The semantic BPMN elements by id, and what the drawing asks of them."""

    def __init__(self, root: etree._Element) -> None:
        self.by_id: dict[str, etree._Element] = {}
        for el in root.iter(f"{{{_BPMN}}}*"):
            el_id = el.get("id")
            if el_id and el_id not in self.by_id:
                self.by_id[el_id] = el
        # pools of a collaboration, by the process they hold
        self.pool_of: dict[str, etree._Element] = {}
        for el in root.iter(f"{{{_BPMN}}}participant"):
            ref = el.get("processRef")
            if ref:
                self.pool_of.setdefault(ref, el)

    def get(self, el_id: str | None) -> etree._Element | None:
        return self.by_id.get(el_id) if el_id else None

    def name(self, el: etree._Element | None) -> str:
        if el is None:
            return ""
        kind = _local(el)
        if kind == "textAnnotation":
            text = el.find(f"{{{_BPMN}}}text")
            return (text.text or "") if text is not None else ""
        if kind == "group":
            value = self.get(el.get("categoryValueRef"))
            return (value.get("value") or "") if value is not None else ""
        if kind == "dataObjectReference" and not el.get("name"):
            return self.name(self.get(el.get("dataObjectRef")))
        return el.get("name") or ""


def _local(el: etree._Element) -> str:
    return etree.QName(el).localname


def _find_plane(root: etree._Element, model: _Model, process_id: str | None) -> etree._Element:
    planes = [
        plane
        for diagram in root.iter(f"{{{_BPMNDI}}}BPMNDiagram")
        for plane in diagram.iterchildren(f"{{{_BPMNDI}}}BPMNPlane")
    ]
    drawn = [p for p in planes if p.find(f"{{{_BPMNDI}}}BPMNShape") is not None]
    if not drawn:
        raise ValueError(
            "the BPMN file has no diagram interchange (BPMNDI shapes): nothing to draw; "
            "open it in Camunda Modeler and save it to add the diagram"
        )
    if process_id is None:
        return drawn[0]
    for plane in drawn:
        ref = plane.get("bpmnElement")
        if ref == process_id:
            return plane
        target = model.get(ref)
        if target is not None and _local(target) == "collaboration":
            for pool in target.iterchildren(f"{{{_BPMN}}}participant"):
                if pool.get("processRef") == process_id:
                    return plane
    raise ValueError(f"the BPMN file has no diagram of process {process_id!r}")


def _default_title(model: _Model, plane: etree._Element) -> str:
    target = model.get(plane.get("bpmnElement"))
    if target is None:
        return ""
    if _local(target) == "collaboration":
        for pool in target.iterchildren(f"{{{_BPMN}}}participant"):
            name = model.name(pool) or model.name(model.get(pool.get("processRef")))
            if name:
                return name
        return model.name(target)
    return model.name(target) or model.name(model.pool_of.get(target.get("id") or ""))


# --------------------------------------------------------------------------- geometry


def _number(el: etree._Element, attr: str) -> float:
    raw = el.get(attr)
    try:
        value = float(raw) if raw is not None else math.nan
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or abs(value) > 1e7:  # no diagram is 10 km wide
        owner = el.getparent()
        where = owner.get("id") if owner is not None else None
        raise ValueError(f"diagram element {where!r} has an invalid {attr}={raw!r}")
    return value


@dataclass(frozen=True, slots=True)
class _Box:
    x: float
    y: float
    w: float
    h: float

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    @property
    def cy(self) -> float:
        return self.y + self.h / 2

    @property
    def right(self) -> float:
        return self.x + self.w

    @property
    def bottom(self) -> float:
        return self.y + self.h


def _bounds(el: etree._Element | None) -> _Box | None:
    if el is None:
        return None
    b = el.find(f"{{{_DC}}}Bounds")
    if b is None:
        return None
    return _Box(_number(b, "x"), _number(b, "y"), _number(b, "width"), _number(b, "height"))


def _label_bounds(di: etree._Element) -> _Box | None:
    return _bounds(di.find(f"{{{_BPMNDI}}}BPMNLabel"))


def _f(v: float) -> str:
    """A coordinate, short: 12, 12.5, -3.25."""
    text = f"{v:.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _esc(text: str) -> str:
    """Escape for both XML text and double-quoted attribute values."""
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    )


# --------------------------------------------------------------------------- text


_NO_LINE_START = frozenset("，。、；：？！）》」』】〕〉”’,.;:?!)]}%·…—～")
_NO_LINE_END = frozenset("（《「『【〔〈“‘([{")


@lru_cache(maxsize=4096)
def _char_em(ch: str) -> float:
    """The estimated advance of one character, in em (no font metrics on the server)."""
    eaw = unicodedata.east_asian_width(ch)
    if eaw in ("W", "F"):
        return 1.0
    if ch == " ":
        return 0.28
    if ch in "iljtfrI.,:;'!|()[]{}`":
        return 0.34
    if ch in "mwMW@%":
        return 0.86
    if ch.isupper() or ch.isdigit() or ch in "#&?$":
        return 0.62
    if eaw == "A":  # ambiguous: §, “, ×, ° … drawn wide by CJK fonts more often than not
        return 0.8
    return 0.54


def _text_width(text: str, size: float) -> float:
    return sum(_char_em(ch) for ch in text) * size


def _units(text: str) -> list[str]:
    """Break text into unbreakable pieces: each CJK character, each latin word, spaces.

    Closing punctuation sticks to the piece before it and opening punctuation to the
    piece after it, so that no line starts with ``）`` or ends with ``（``.
    """
    raw: list[str] = []
    word = ""
    for ch in text:
        if ch.isspace():
            if word:
                raw.append(word)
                word = ""
            if raw and raw[-1] != " ":
                raw.append(" ")
        elif unicodedata.east_asian_width(ch) in ("W", "F"):
            if word:
                raw.append(word)
                word = ""
            raw.append(ch)
        else:
            word += ch
    if word:
        raw.append(word)
    units: list[str] = []
    glue_next = False
    for piece in raw:
        if (
            units
            and units[-1] != " "
            and piece != " "
            and (glue_next or piece[0] in _NO_LINE_START)
        ):
            units[-1] += piece
        else:
            units.append(piece)
        glue_next = piece != " " and piece[-1] in _NO_LINE_END
    return units


def _break_long(unit: str, max_width: float, size: float) -> list[str]:
    parts: list[str] = []
    cur = ""
    for ch in unit:
        if cur and _text_width(cur + ch, size) > max_width:
            parts.append(cur)
            cur = ch
        else:
            cur += ch
    if cur:
        parts.append(cur)
    return parts


def _greedy(units: list[str], max_width: float, size: float) -> list[str]:
    lines: list[str] = []
    cur = ""
    for unit in units:
        if unit == " ":
            if cur:
                cur += " "
            continue
        if _text_width(cur + unit, size) <= max_width or not cur.strip():
            if not cur.strip() and _text_width(unit, size) > max_width:
                pieces = _break_long(unit, max_width, size)
                lines.extend(pieces[:-1])
                cur = pieces[-1]
            else:
                cur += unit
        else:
            lines.append(cur.rstrip())
            if _text_width(unit, size) > max_width:
                pieces = _break_long(unit, max_width, size)
                lines.extend(pieces[:-1])
                cur = pieces[-1]
            else:
                cur = unit
    if cur.strip():
        lines.append(cur.rstrip())
    return lines


def _wrap(text: str, max_width: float, size: float) -> list[str]:
    """Wrap text into lines no wider than max_width: by characters for Chinese, by words
    for latin; then even the lines out (送达不予许/可决定书, not 送达不予许可决/定书)."""
    lines: list[str] = []
    for paragraph in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        units = _units(paragraph.strip())
        if not units:
            continue
        best = _greedy(units, max_width, size)
        if len(best) > 1:
            low, high = max_width / 2, max_width
            for _ in range(6):
                mid = (low + high) / 2
                trial = _greedy(units, mid, size)
                if len(trial) <= len(best):
                    best, high = trial, mid
                else:
                    low = mid
        lines.extend(best)
    return lines


def _fit(lines: list[str], max_lines: int, max_width: float, size: float) -> list[str]:
    """Keep at most max_lines, ending the last kept one with an ellipsis."""
    if len(lines) <= max_lines:
        return lines
    kept = lines[: max(max_lines, 1)]
    last = kept[-1]
    while last and _text_width(last + "…", size) > max_width:
        last = last[:-1]
    kept[-1] = last + "…"
    return kept


# --------------------------------------------------------------------------- drawing


@dataclass(slots=True)
class _Extent:
    min_x: float = math.inf
    min_y: float = math.inf
    max_x: float = -math.inf
    max_y: float = -math.inf

    def add(self, x: float, y: float) -> None:
        self.min_x = min(self.min_x, x)
        self.min_y = min(self.min_y, y)
        self.max_x = max(self.max_x, x)
        self.max_y = max(self.max_y, y)

    def add_box(self, box: _Box) -> None:
        self.add(box.x, box.y)
        self.add(box.right, box.bottom)


@dataclass(slots=True)
class _Drawing:
    model: _Model
    states: dict[str, str]
    shapes: list[str] = field(default_factory=list)
    edges: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    markers: set[tuple[str, str]] = field(default_factory=set)
    extent: _Extent = field(default_factory=_Extent)

    # ---- plane

    def draw_plane(self, plane: etree._Element) -> None:
        shape_dis = list(plane.iterchildren(f"{{{_BPMNDI}}}BPMNShape"))
        edge_dis = list(plane.iterchildren(f"{{{_BPMNDI}}}BPMNEdge"))
        ordered = sorted(enumerate(shape_dis), key=lambda item: (*self._layer(item[1]), item[0]))
        for _, di in ordered:
            self._shape(di)
        for di in edge_dis:
            self._edge(di)

    def _layer(self, di: etree._Element) -> tuple[int, float]:
        """Draw order: pools, lanes, expanded sub-processes (outer first), flow nodes,
        boundary events (over their task's border), groups."""
        el = self.model.get(di.get("bpmnElement"))
        kind = _local(el) if el is not None else ""
        box = _bounds(di)
        area = -(box.w * box.h) if box is not None else 0.0
        if kind == "participant":
            return (0, area)
        if kind == "lane":
            return (1, area)
        if kind in _SUB_PROCESSES and di.get("isExpanded") == "true":
            return (2, area)
        if kind == "boundaryEvent":
            return (4, 0.0)
        if kind == "group":
            return (5, 0.0)
        return (3, 0.0)

    # ---- shapes

    def _shape(self, di: etree._Element) -> None:
        box = _bounds(di)
        if box is None:
            raise ValueError(f"diagram shape {di.get('id')!r} has no bounds")
        self.extent.add_box(box)
        el_id = di.get("bpmnElement") or di.get("id") or ""
        el = self.model.get(di.get("bpmnElement"))
        kind = _local(el) if el is not None else ""
        name = self.model.name(el)
        state = self.states.get(el_id, "")
        classes = ["shape", _css_kind(kind) if kind else "unknown"]
        body: list[str] = []
        if el is None:
            body.append(_rect(box, "body", 2, rx=4))
            self._inner_text(body, name or el_id, box)
        elif kind in ("participant", "lane"):
            self._pool_or_lane(body, classes, el, di, box, name)
        elif kind in _ACTIVITIES:
            self._activity(body, classes, el, di, box, name)
        elif kind in _EVENTS:
            self._event(body, classes, el, box)
            self._external_label(el_id, name, di, box, state)
        elif kind in _GATEWAYS:
            self._gateway(body, el, di, box)
            self._external_label(el_id, name, di, box, state)
        elif kind in _DATA_OBJECTS:
            self._data_object(body, el, box)
            self._external_label(el_id, name, di, box, state)
        elif kind == "dataStoreReference":
            self._data_store(body, box)
            self._external_label(el_id, name, di, box, state)
        elif kind == "textAnnotation":
            self._text_annotation(body, box, name)
        elif kind == "group":
            body.append(_rect(box, "body", 1, rx=10))
            self._external_label(el_id, name, di, box, state, top_of_box=True)
        else:
            classes[1] = "unknown"
            body.append(_rect(box, "body", 2, rx=4))
            self._inner_text(body, name, box)
        if state:
            classes.append(STATE_CLASSES[state])
        self.shapes.append(
            f'<g class="{" ".join(classes)}" data-element-id="{_esc(el_id)}">'
            f"<title>{_esc(name or el_id)}</title>{''.join(body)}</g>"
        )

    def _pool_or_lane(
        self,
        body: list[str],
        classes: list[str],
        el: etree._Element,
        di: etree._Element,
        box: _Box,
        name: str,
    ) -> None:
        is_lane = _local(el) == "lane"
        horizontal = di.get("isHorizontal") != "false"
        body.append(_rect(box, "body", 1 if is_lane else 1.5))
        black_box = not is_lane and not el.get("processRef")
        if black_box:
            self._inner_text(body, name, box)
            return
        if horizontal:
            band = _Box(box.x, box.y, _HEADER, box.h)
            body.append(_line(box.x + _HEADER, box.y, box.x + _HEADER, box.bottom, 1))
            lines = _wrap(name, max(box.h - 20, 20), _TASK_FONT)
            lines = _fit(lines, 2, max(box.h - 20, 20), _TASK_FONT)
            body.append(_text_lines(lines, band.cx, band.cy, _TASK_FONT, rotate=True))
        else:
            band = _Box(box.x, box.y, box.w, _HEADER)
            body.append(_line(box.x, box.y + _HEADER, box.right, box.y + _HEADER, 1))
            lines = _fit(_wrap(name, max(box.w - 20, 20), _TASK_FONT), 2, box.w - 20, _TASK_FONT)
            body.append(_text_lines(lines, band.cx, band.cy, _TASK_FONT))
        classes.append("horizontal" if horizontal else "vertical")

    def _inner_text(
        self, body: list[str], name: str, box: _Box, *, top: bool = False, icon: bool = False
    ) -> None:
        if not name:
            return
        width = max(box.w - 2 * _TASK_PADDING, 10)
        max_lines = max(int((box.h - 2 * _TASK_PADDING) // (_TASK_FONT * _LINE)), 1)
        lines = _fit(_wrap(name, width, _TASK_FONT), max_lines, width, _TASK_FONT)
        height = len(lines) * _TASK_FONT * _LINE
        if top:
            text_top = box.y + _TASK_PADDING
        else:
            text_top = box.cy - height / 2
            if icon:
                # clear the type icon in the top-left corner when the box has room
                room = box.bottom - _TASK_PADDING - height
                text_top = min(max(text_top, box.y + _ICON_BOTTOM), max(room, text_top))
        body.append(_text_lines(lines, box.cx, text_top + height / 2, _TASK_FONT))

    def _activity(
        self,
        body: list[str],
        classes: list[str],
        el: etree._Element,
        di: etree._Element,
        box: _Box,
        name: str,
    ) -> None:
        kind = _local(el)
        expanded = kind in _SUB_PROCESSES and di.get("isExpanded") == "true"
        if kind == "callActivity":
            body.append(_rect(box, "body", 5, rx=10))
        else:
            body.append(_rect(box, "body", 2, rx=10))
        if kind == "transaction":
            inner = _Box(box.x + 3, box.y + 3, box.w - 6, box.h - 6)
            body.append(_rect(inner, "line", 1.5, rx=8))
        if kind in _SUB_PROCESSES:
            classes.append("expanded" if expanded else "collapsed")
            if el.get("triggeredByEvent") == "true":
                classes.append("event-sub-process")
        icon = _TASK_ICONS.get(kind)
        if icon:
            body.append(f'<g transform="translate({_f(box.x)} {_f(box.y)})">{icon}</g>')
        self._inner_text(body, name, box, top=expanded, icon=bool(icon) and not expanded)
        bottom: list[str] = []
        loop = el.find(f"{{{_BPMN}}}multiInstanceLoopCharacteristics")
        if loop is not None:
            sequential = loop.get("isSequential") == "true"
            bottom.append(_MARKER_SEQUENTIAL if sequential else _MARKER_PARALLEL)
            classes.append("multi-instance-sequential" if sequential else "multi-instance")
        elif el.find(f"{{{_BPMN}}}standardLoopCharacteristics") is not None:
            bottom.append(_MARKER_LOOP)
        if kind == "callActivity" or (kind in _SUB_PROCESSES and not expanded):
            bottom.append(_MARKER_COLLAPSED)
        if kind == "adHocSubProcess":
            bottom.append(_MARKER_ADHOC)
        if el.get("isForCompensation") == "true":
            bottom.append(_MARKER_COMPENSATION)
        step = 18.0
        x0 = box.cx - step * (len(bottom) - 1) / 2
        for i, marker in enumerate(bottom):
            body.append(
                f'<g transform="translate({_f(x0 + i * step)} {_f(box.bottom - 12)})">{marker}</g>'
            )

    def _event(self, body: list[str], classes: list[str], el: etree._Element, box: _Box) -> None:
        kind = _local(el)
        r = min(box.w, box.h) / 2
        cx, cy = box.cx, box.cy
        if kind == "boundaryEvent" and el.get("cancelActivity") == "false":
            classes.append("non-interrupting")
        if kind == "startEvent" and el.get("isInterrupting") == "false":
            classes.append("non-interrupting")
        if kind == "startEvent":
            body.append(_circle(cx, cy, r, "body", 2))
        elif kind == "endEvent":
            body.append(_circle(cx, cy, r - 1, "body", 4))
        else:
            body.append(_circle(cx, cy, r, "body", 1.5))
            body.append(_circle(cx, cy, r - 3, "ring", 1.5))
        throwing = kind in ("endEvent", "intermediateThrowEvent")
        definitions = [
            _local(child)
            for child in el
            if isinstance(child.tag, str) and _local(child).endswith("EventDefinition")
        ]
        if len(definitions) > 1:
            classes.append("multiple")
            marker = _EVENT_MULTIPLE_THROW if throwing else _EVENT_MULTIPLE
        elif definitions:
            classes.append(_css_kind(definitions[0]))
            pair = _EVENT_MARKERS.get(definitions[0])
            marker = (pair[1] if throwing else pair[0]) if pair else ""
        else:
            marker = ""
        if marker:
            scale = r / 18
            transform = f"translate({_f(cx)} {_f(cy)})"
            if abs(scale - 1) > 0.01:
                transform += f" scale({_f(scale)})"
            body.append(f'<g transform="{transform}">{marker}</g>')

    def _gateway(self, body: list[str], el: etree._Element, di: etree._Element, box: _Box) -> None:
        points = [(box.cx, box.y), (box.right, box.cy), (box.cx, box.bottom), (box.x, box.cy)]
        body.append(
            f'<polygon class="body" stroke-width="2" stroke-linejoin="round" '
            f'points="{" ".join(f"{_f(x)},{_f(y)}" for x, y in points)}"/>'
        )
        kind = _local(el)
        if kind == "exclusiveGateway":
            # bpmn-js draws the X only when the modeler says so
            marker = _GATEWAY_EXCLUSIVE if di.get("isMarkerVisible") == "true" else ""
        elif kind == "eventBasedGateway":
            if el.get("eventGatewayType") == "Parallel":
                marker = _GATEWAY_EVENT_PARALLEL
            elif el.get("instantiate") == "true":
                marker = _GATEWAY_EVENT_INSTANTIATE
            else:
                marker = _GATEWAY_EVENT
        else:
            marker = _GATEWAY_MARKERS.get(kind, "")
        if marker:
            scale = min(box.w, box.h) / 50
            transform = f"translate({_f(box.cx)} {_f(box.cy)})"
            if abs(scale - 1) > 0.01:
                transform += f" scale({_f(scale)})"
            body.append(f'<g transform="{transform}">{marker}</g>')

    def _data_object(self, body: list[str], el: etree._Element, box: _Box) -> None:
        fold = min(10.0, box.w / 3, box.h / 3)
        x, y, r, b = box.x, box.y, box.right, box.bottom
        body.append(
            f'<path class="body" stroke-width="1.5" stroke-linejoin="round" '
            f'd="M{_f(x)} {_f(y)}H{_f(r - fold)}L{_f(r)} {_f(y + fold)}V{_f(b)}H{_f(x)}Z"/>'
        )
        body.append(
            f'<path class="line" stroke-width="1.5" stroke-linejoin="round" '
            f'd="M{_f(r - fold)} {_f(y)}V{_f(y + fold)}H{_f(r)}"/>'
        )
        kind = _local(el)
        target = self.model.get(el.get("dataObjectRef")) if kind == "dataObjectReference" else el
        if kind in ("dataInput", "dataOutput"):
            icon = _DATA_INPUT if kind == "dataInput" else _DATA_OUTPUT
            body.append(f'<g transform="translate({_f(x)} {_f(y)})">{icon}</g>')
        if target is not None and target.get("isCollection") == "true":
            body.append(
                f'<g transform="translate({_f(box.cx)} {_f(b - 9)})">{_MARKER_PARALLEL}</g>'
            )

    def _data_store(self, body: list[str], box: _Box) -> None:
        x, r, y, b = box.x, box.right, box.y, box.bottom
        ry = min(8.0, box.h / 6)
        rx = box.w / 2
        body.append(
            f'<path class="body" stroke-width="1.5" d="M{_f(x)} {_f(y + ry)}'
            f"A{_f(rx)} {_f(ry)} 0 0 1 {_f(r)} {_f(y + ry)}V{_f(b - ry)}"
            f'A{_f(rx)} {_f(ry)} 0 0 1 {_f(x)} {_f(b - ry)}Z"/>'
        )
        arcs = "".join(
            f"M{_f(x)} {_f(y + ry + k)}A{_f(rx)} {_f(ry)} 0 0 0 {_f(r)} {_f(y + ry + k)}"
            for k in (0.0, 5.0, 10.0)
        )
        body.append(f'<path class="line" stroke-width="1.5" d="{arcs}"/>')

    def _text_annotation(self, body: list[str], box: _Box, name: str) -> None:
        x, y, b = box.x, box.y, box.bottom
        body.append(
            f'<rect class="hit" x="{_f(x)}" y="{_f(y)}" width="{_f(box.w)}" '
            f'height="{_f(box.h)}" stroke-width="0"/>'
        )
        body.append(
            f'<path class="line" stroke-width="1.5" '
            f'd="M{_f(x + 10)} {_f(y)}H{_f(x)}V{_f(b)}H{_f(x + 10)}"/>'
        )
        if name:
            width = max(box.w - 10, 10)
            max_lines = max(int((box.h - 10) // (_TASK_FONT * _LINE)), 1)
            lines = _fit(_wrap(name, width, _TASK_FONT), max_lines, width, _TASK_FONT)
            cy = y + 5 + len(lines) * _TASK_FONT * _LINE / 2
            body.append(_text_lines(lines, x + 5, cy, _TASK_FONT, anchor="start"))

    def _external_label(
        self,
        el_id: str,
        name: str,
        di: etree._Element,
        box: _Box,
        state: str,
        *,
        top_of_box: bool = False,
    ) -> None:
        """A label outside its shape: in the BPMNLabel bounds, else under the shape."""
        if not name:
            return
        label = _label_bounds(di)
        if label is not None:
            width = max(label.w, _EXTERNAL_LABEL_WIDTH)
            cx, top = label.cx, label.y
            self.extent.add_box(label)
        elif top_of_box:
            width, cx, top = max(box.w - 10, 20), box.cx, box.y + 5
        else:
            width, cx, top = _EXTERNAL_LABEL_WIDTH, box.cx, box.bottom + 5
        self._label(el_id, name, cx, top, width, state)

    def _label(
        self, el_id: str, name: str, cx: float, top: float, width: float, state: str
    ) -> None:
        lines = _fit(_wrap(name, width, _LABEL_FONT), 4, width, _LABEL_FONT)
        if not lines:
            return
        height = len(lines) * _LABEL_FONT * _LINE
        widest = max(_text_width(line, _LABEL_FONT) for line in lines)
        self.extent.add(cx - widest / 2, top)
        self.extent.add(cx + widest / 2, top + height)
        cls = f"label {STATE_CLASSES[state]}" if state else "label"
        self.labels.append(
            f'<g class="{cls}" data-label-for="{_esc(el_id)}">'
            f"{_text_lines(lines, cx, top + height / 2, _LABEL_FONT)}</g>"
        )

    # ---- edges

    def _edge(self, di: etree._Element) -> None:
        points = [
            (_number(wp, "x"), _number(wp, "y")) for wp in di.iterchildren(f"{{{_DI}}}waypoint")
        ]
        if len(points) < 2:
            return
        for x, y in points:
            self.extent.add(x, y)
        el_id = di.get("bpmnElement") or di.get("id") or ""
        el = self.model.get(di.get("bpmnElement"))
        kind = _local(el) if el is not None else ""
        name = self.model.name(el)
        state = self._edge_state(el_id, el)
        d = "M" + "L".join(f"{_f(x)} {_f(y)}" for x, y in points)
        parts = [f'<path class="hit" d="{d}"/>']
        start = end = ""
        if kind == "sequenceFlow":
            end = self._marker("arrow", state)
        elif kind == "messageFlow":
            start, end = self._marker("message-start", state), self._marker("open-arrow", state)
        elif kind == "association":
            direction = (el.get("associationDirection") if el is not None else None) or "None"
            if direction in ("One", "Both"):
                end = self._marker("open-arrow", state)
            if direction == "Both":
                start = self._marker("open-arrow-start", state)
        elif kind in ("dataInputAssociation", "dataOutputAssociation"):
            end = self._marker("open-arrow", state)
        attrs = ""
        if start:
            attrs += f' marker-start="url(#{start})"'
        if end:
            attrs += f' marker-end="url(#{end})"'
        parts.append(
            f'<path class="flow" stroke-width="2" stroke-linejoin="round" d="{d}"{attrs}/>'
        )
        if kind == "sequenceFlow" and el is not None:
            parts.extend(self._flow_source_marks(el, el_id, points))
        css = _css_kind(kind) if kind else "unknown"
        if kind in ("dataInputAssociation", "dataOutputAssociation"):
            css = "data-association"
        classes = f"edge {css} {STATE_CLASSES[state]}" if state else f"edge {css}"
        self.edges.append(
            f'<g class="{classes}" data-element-id="{_esc(el_id)}">'
            f"<title>{_esc(name or el_id)}</title>{''.join(parts)}</g>"
        )
        if name:
            label = _label_bounds(di)
            if label is not None:
                self.extent.add_box(label)
                self._label(
                    el_id, name, label.cx, label.y, max(label.w, _EXTERNAL_LABEL_WIDTH), state
                )
            else:
                # no position given: beside the middle of the line, clear of it
                (mx, my), vertical = _midpoint(points)
                lines = _wrap(name, _EXTERNAL_LABEL_WIDTH, _LABEL_FONT)
                height = len(lines) * _LABEL_FONT * _LINE
                if vertical:
                    widest = max((_text_width(line, _LABEL_FONT) for line in lines), default=0)
                    cx, top = mx + 6 + widest / 2, my - height / 2
                else:
                    cx, top = mx, my - 4 - height
                self._label(el_id, name, cx, top, _EXTERNAL_LABEL_WIDTH, state)

    def _edge_state(self, el_id: str, el: etree._Element | None) -> str:
        if el_id in self.states:
            return self.states[el_id]
        if el is None or _local(el) != "sequenceFlow":
            return ""
        source = self.states.get(el.get("sourceRef") or "")
        target = self.states.get(el.get("targetRef") or "")
        if source == "completed" and target in ("completed", "active", "overdue"):
            return "completed"
        if target == "not_reached":
            return "not_reached"
        return ""

    def _flow_source_marks(
        self, el: etree._Element, el_id: str, points: list[tuple[float, float]]
    ) -> list[str]:
        source = self.model.get(el.get("sourceRef"))
        if source is None:
            return []
        (x0, y0), (x1, y1) = points[0], points[1]
        length = math.hypot(x1 - x0, y1 - y0)
        if length < 1e-6:
            return []
        dx, dy = (x1 - x0) / length, (y1 - y0) / length
        nx, ny = -dy, dx
        source_kind = _local(source)
        marks: list[str] = []
        if source.get("default") == el_id and (
            source_kind in _GATEWAYS or source_kind in _ACTIVITIES
        ):
            # the default-flow slash, across the line near its source
            cx, cy = x0 + dx * 10, y0 + dy * 10
            vx, vy = 5 * nx - 3 * dx, 5 * ny - 3 * dy
            marks.append(
                f'<path class="line" stroke-width="2" '
                f'd="M{_f(cx - vx)} {_f(cy - vy)}L{_f(cx + vx)} {_f(cy + vy)}"/>'
            )
        elif source_kind in _ACTIVITIES and el.find(f"{{{_BPMN}}}conditionExpression") is not None:
            # the conditional-flow diamond, at the border of the activity it leaves
            pts = [
                (x0, y0),
                (x0 + dx * 8 + nx * 5, y0 + dy * 8 + ny * 5),
                (x0 + dx * 16, y0 + dy * 16),
                (x0 + dx * 8 - nx * 5, y0 + dy * 8 - ny * 5),
            ]
            marks.append(
                f'<polygon class="paper" stroke-width="1.5" '
                f'points="{" ".join(f"{_f(x)},{_f(y)}" for x, y in pts)}"/>'
            )
        return marks

    def _marker(self, kind: str, state: str) -> str:
        self.markers.add((kind, state))
        return _marker_id(kind, state)

    # ---- document

    def document(self, title: str) -> str:
        ext = self.extent
        if not math.isfinite(ext.min_x):
            ext.add(0, 0)
        x, y = ext.min_x - _MARGIN, ext.min_y - _MARGIN
        w, h = ext.max_x - ext.min_x + 2 * _MARGIN, ext.max_y - ext.min_y + 2 * _MARGIN
        defs = "".join(_marker_def(kind, state) for kind, state in sorted(self.markers))
        label = f' aria-label="{_esc(title)}"' if title else ""
        return "".join(
            [
                f'<svg xmlns="http://www.w3.org/2000/svg" class="xn-diagram" '
                f'viewBox="{_f(x)} {_f(y)} {_f(w)} {_f(h)}" width="{_f(w)}" height="{_f(h)}" '
                f'role="img"{label}>',
                f"<title>{_esc(title)}</title>" if title else "",
                f"<style>{_STYLE}</style>",
                f"<defs>{defs}</defs>" if defs else "",
                f'<rect class="background" x="{_f(x)}" y="{_f(y)}" width="{_f(w)}" '
                f'height="{_f(h)}"/>',
                '<g class="shapes">',
                *self.shapes,
                '</g><g class="edges">',
                *self.edges,
                '</g><g class="labels">',
                *self.labels,
                "</g></svg>\n",
            ]
        )


def _css_kind(kind: str) -> str:
    """userTask → user-task, a class name (the kinds come from our own tables or the
    namespace-checked tag, never from attribute values)."""
    out = []
    for ch in kind:
        if ch.isupper():
            out.append("-")
            out.append(ch.lower())
        elif ch.isalnum():
            out.append(ch)
    return "".join(out).strip("-")


def _midpoint(points: list[tuple[float, float]]) -> tuple[tuple[float, float], bool]:
    """The point halfway along a polyline, and whether its segment there is vertical."""
    lengths = [math.hypot(b[0] - a[0], b[1] - a[1]) for a, b in pairwise(points)]
    half = sum(lengths) / 2
    for (a, b), seg in zip(pairwise(points), lengths, strict=True):
        if seg >= half and seg > 0:
            t = half / seg
            point = (a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t)
            return point, abs(b[1] - a[1]) > abs(b[0] - a[0])
        half -= seg
    return points[0], False


# --------------------------------------------------------------------------- primitives


def _rect(box: _Box, cls: str, stroke_width: float, *, rx: float = 0) -> str:
    corner = f' rx="{_f(rx)}"' if rx else ""
    return (
        f'<rect class="{cls}" x="{_f(box.x)}" y="{_f(box.y)}" width="{_f(box.w)}" '
        f'height="{_f(box.h)}"{corner} stroke-width="{_f(stroke_width)}"/>'
    )


def _circle(cx: float, cy: float, r: float, cls: str, stroke_width: float) -> str:
    return (
        f'<circle class="{cls}" cx="{_f(cx)}" cy="{_f(cy)}" r="{_f(max(r, 0))}" '
        f'stroke-width="{_f(stroke_width)}"/>'
    )


def _line(x1: float, y1: float, x2: float, y2: float, stroke_width: float) -> str:
    return (
        f'<path class="line" stroke-width="{_f(stroke_width)}" '
        f'd="M{_f(x1)} {_f(y1)}L{_f(x2)} {_f(y2)}"/>'
    )


def _text_lines(
    lines: Iterable[str],
    x: float,
    cy: float,
    size: float,
    *,
    anchor: str = "middle",
    rotate: bool = False,
) -> str:
    """Lines of text centred vertically on cy (horizontally on x unless anchor=start)."""
    lines = list(lines)
    if not lines:
        return ""
    lh = size * _LINE
    top = cy - len(lines) * lh / 2
    # the baseline sits 0.95 em under the top of a 1.2 em line: CJK glyphs look centred
    tspans = "".join(
        f'<tspan x="{_f(x)}" y="{_f(top + i * lh + size * 0.95)}">{_esc(line)}</tspan>'
        for i, line in enumerate(lines)
    )
    transform = f' transform="rotate(-90 {_f(x)} {_f(cy)})"' if rotate else ""
    return f'<text font-size="{_f(size)}" text-anchor="{anchor}"{transform}>{tspans}</text>'


def _marker_id(kind: str, state: str) -> str:
    return f"xn-{kind}-{state.replace('_', '-')}" if state else f"xn-{kind}"


def _marker_def(kind: str, state: str) -> str:
    ink = _STATE_INK.get(state, _INK)
    mid = _marker_id(kind, state)
    common = f'id="{mid}" markerUnits="userSpaceOnUse" viewBox="0 0 20 20" orient="auto"'
    if kind == "arrow":
        return (
            f'<marker {common} refX="11" refY="10" markerWidth="20" markerHeight="20">'
            f'<path d="M1 5L11 10L1 15Z" fill="{ink}" stroke="{ink}" stroke-width="1" '
            f'stroke-linejoin="round"/></marker>'
        )
    if kind == "open-arrow":
        return (
            f'<marker {common} refX="12" refY="10" markerWidth="20" markerHeight="20">'
            f'<path d="M1 4L12 10L1 16" fill="none" stroke="{ink}" stroke-width="1.5"/>'
            f"</marker>"
        )
    if kind == "open-arrow-start":
        return (
            f'<marker {common} refX="8" refY="10" markerWidth="20" markerHeight="20">'
            f'<path d="M19 4L8 10L19 16" fill="none" stroke="{ink}" stroke-width="1.5"/>'
            f"</marker>"
        )
    # message-start: the open circle at the sending end of a message flow
    return (
        f'<marker {common} refX="6" refY="10" markerWidth="20" markerHeight="20">'
        f'<circle cx="6" cy="10" r="3.5" fill="#fff" stroke="{ink}" stroke-width="1.5"/>'
        f"</marker>"
    )


# --------------------------------------------------------------------------- icons
# Drawn around (0, 0) for a 36px event and a 50px gateway (scaled for other sizes), from
# the task's top-left corner for task types, around the marker's centre for bottom markers.


def _gear() -> str:
    teeth, outer, inner = 8, 8.0, 5.6
    pts = []
    for i in range(teeth * 4):
        angle = 2 * math.pi * i / (teeth * 4)
        r = outer if i % 4 in (1, 2) else inner
        pts.append(f"{_f(15 + r * math.cos(angle))},{_f(15 + r * math.sin(angle))}")
    return (
        f'<polygon class="paper" stroke-width="1.2" stroke-linejoin="round" '
        f'points="{" ".join(pts)}"/><circle class="paper" cx="15" cy="15" r="2.6" '
        f'stroke-width="1.2"/>'
    )


_TASK_ICONS = {
    "userTask": (
        '<path class="paper" stroke-width="1" d="M7.5 26.5c0-5.2 3-7.7 7.5-7.7s7.5 2.5 7.5 7.7z"/>'
        '<circle class="paper" cx="15" cy="13.2" r="4.3" stroke-width="1"/>'
        '<path class="line" stroke-width="1" d="M11 23v3.5M19 23v3.5"/>'
    ),
    "scriptTask": (
        '<path class="paper" stroke-width="1" d="M10 7h12c-3 3.2-3 6.4 0 9.6s3 6.4 0 9.6H10'
        'c3-3.2 3-6.4 0-9.6s-3-6.4 0-9.6z"/>'
        '<path class="line" stroke-width="1" d="M11 11h8M12.5 15h8M12.5 19h8M11 23h8"/>'
    ),
    "serviceTask": _gear(),
    "sendTask": (
        '<rect class="ink" x="7" y="9" width="18" height="12"/>'
        '<path class="inv" stroke-width="1" d="M7 9l9 6.5L25 9"/>'
    ),
    "receiveTask": (
        '<rect class="paper" x="7" y="9" width="18" height="12" stroke-width="1"/>'
        '<path class="line" stroke-width="1" d="M7 9l9 6.5L25 9"/>'
    ),
    "businessRuleTask": (
        '<rect class="paper" x="7" y="8" width="18" height="14" stroke-width="1"/>'
        '<rect class="ink" x="7" y="8" width="18" height="4"/>'
        '<path class="line" stroke-width="1" d="M7 17h18M12 12v10"/>'
    ),
    "manualTask": (
        '<path class="paper" stroke-width="1" stroke-linejoin="round" d="M7 14.5l5.5-5h5'
        "l-3 2.5h8.5a1.3 1.3 0 0 1 0 2.6h-6h7a1.3 1.3 0 0 1 0 2.6h-7h6a1.3 1.3 0 0 1 0 2.6"
        'h-6h4.5a1.3 1.3 0 0 1 0 2.6H11.5L7 21z"/>'
    ),
}

_MARKER_COLLAPSED = (
    '<rect class="paper" x="-7" y="-7" width="14" height="14" stroke-width="1.5"/>'
    '<path class="line" stroke-width="1.5" d="M0 -4.5V4.5M-4.5 0H4.5"/>'
)
_MARKER_PARALLEL = '<path class="line" stroke-width="2" d="M-4.5 -6V6M0 -6V6M4.5 -6V6"/>'
_MARKER_SEQUENTIAL = '<path class="line" stroke-width="2" d="M-6 -4.5H6M-6 0H6M-6 4.5H6"/>'
_MARKER_LOOP = (
    '<path class="line" stroke-width="1.5" d="M-3.5 5.5A6 6 0 1 1 3.5 5.5"/>'
    '<path class="line" stroke-width="1.5" d="M0.5 3l3 2.5l-3.3 2.2"/>'
)
_MARKER_ADHOC = '<path class="line" stroke-width="1.5" d="M-7 1c2-4 5-4 7 0s5 4 7 0"/>'
_MARKER_COMPENSATION = '<path class="paper" stroke-width="1" d="M-1 0L6 -5V5ZM-8 0L-1 -5V5Z"/>'

_DATA_INPUT = '<path class="paper" stroke-width="1" d="M4 8h5V5l5 5l-5 5v-3H4z"/>'
_DATA_OUTPUT = '<path class="ink" d="M4 8h5V5l5 5l-5 5v-3H4z"/>'


def _clock() -> str:
    ticks = "".join(
        f"M{_f(8.5 * math.cos(a))} {_f(8.5 * math.sin(a))}"
        f"L{_f(10.5 * math.cos(a))} {_f(10.5 * math.sin(a))}"
        for a in (math.pi * k / 6 for k in range(12))
    )
    return (
        '<circle class="paper" cx="0" cy="0" r="11" stroke-width="1.5"/>'
        f'<path class="line" stroke-width="1" d="{ticks}"/>'
        '<path class="line" stroke-width="1.5" stroke-linecap="round" d="M0 -7.5V0L5 2.5"/>'
    )


def _pair(shape: str, cls_catch: str = "paper") -> tuple[str, str]:
    """(catching, throwing): outlined, filled."""
    return (
        f'<path class="{cls_catch}" stroke-width="1.5" stroke-linejoin="round" d="{shape}"/>',
        f'<path class="ink" d="{shape}"/>',
    )


def _pentagon(radius: float) -> str:
    pts = [
        (radius * math.sin(2 * math.pi * k / 5), -radius * math.cos(2 * math.pi * k / 5))
        for k in range(5)
    ]
    return "M" + "L".join(f"{_f(x)} {_f(y)}" for x, y in pts) + "Z"


_ENVELOPE = (
    '<rect class="paper" x="-9.5" y="-6.5" width="19" height="13" stroke-width="1.3"/>'
    '<path class="line" stroke-width="1.3" d="M-9.5 -6.5L0 0.5L9.5 -6.5"/>',
    '<rect class="ink" x="-9.5" y="-6.5" width="19" height="13"/>'
    '<path class="inv" stroke-width="1.3" d="M-9.5 -6.5L0 0.5L9.5 -6.5"/>',
)
_TERMINATE = '<circle class="ink" cx="0" cy="0" r="10"/>'
_CONDITIONAL = (
    '<rect class="paper" x="-7" y="-9" width="14" height="18" stroke-width="1.3"/>'
    '<path class="line" stroke-width="1.3" d="M-4 -5H4M-4 -1.5H4M-4 2H4M-4 5.5H4"/>'
)
_EVENT_MARKERS: dict[str, tuple[str, str]] = {
    "timerEventDefinition": (_clock(), _clock()),
    "messageEventDefinition": _ENVELOPE,
    "escalationEventDefinition": _pair("M0 -10L7 9L0 2L-7 9Z"),
    "signalEventDefinition": _pair("M0 -10.5L10 7.5H-10Z"),
    "errorEventDefinition": _pair("M-9 9L-4 -9L2.5 1.5L9 -9.5L4.5 9L-1.5 -1Z"),
    "compensateEventDefinition": _pair("M-1 0L8 -6V6ZM-10 0L-1 -6V6Z"),
    "linkEventDefinition": _pair("M-9 -3H1V-8.5L9 0L1 8.5V3H-9Z"),
    "cancelEventDefinition": _pair("M-8 -5L-5 -8L0 -3L5 -8L8 -5L3 0L8 5L5 8L0 3L-5 8L-8 5L-3 0Z"),
    "conditionalEventDefinition": (_CONDITIONAL, _CONDITIONAL),
    "terminateEventDefinition": (_TERMINATE, _TERMINATE),
}
_EVENT_MULTIPLE, _EVENT_MULTIPLE_THROW = _pair(_pentagon(9.5))

_GATEWAY_EXCLUSIVE = (
    '<path class="ink" d="M-9 -12.5h4.8L0 -4.2L4.2 -12.5H9L2.6 0L9 12.5H4.2L0 4.2L-4.2 12.5'
    'H-9L-2.6 0Z"/>'
)
_GATEWAY_MARKERS = {
    "parallelGateway": '<path class="ink" d="M-2.5 -13h5v10.5H13v5H2.5V13h-5V2.5H-13v-5h10.5Z"/>',
    "inclusiveGateway": '<circle class="line" cx="0" cy="0" r="11" stroke-width="2.5"/>',
    "complexGateway": (
        '<path class="line" stroke-width="3" d="M0 -12V12M-12 0H12M-8.5 -8.5L8.5 8.5'
        'M8.5 -8.5L-8.5 8.5"/>'
    ),
}
_GATEWAY_EVENT = (
    '<circle class="line" cx="0" cy="0" r="12" stroke-width="1"/>'
    '<circle class="line" cx="0" cy="0" r="9.5" stroke-width="1"/>'
    f'<path class="line" stroke-width="1.5" stroke-linejoin="round" d="{_pentagon(6.5)}"/>'
)
_GATEWAY_EVENT_INSTANTIATE = (
    '<circle class="line" cx="0" cy="0" r="12" stroke-width="1"/>'
    f'<path class="line" stroke-width="1.5" stroke-linejoin="round" d="{_pentagon(6.5)}"/>'
)
_GATEWAY_EVENT_PARALLEL = (
    '<circle class="line" cx="0" cy="0" r="12" stroke-width="1"/>'
    '<path class="line" stroke-width="1.5" d="M-2 -8h4v6h6v4h-6v6h-4v-6h-6v-4h6Z"/>'
)
