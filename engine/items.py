"""Service items (办理事项): the published time-limit table of 限时办结制.

Each item names its organ/department, the process that runs it, the statutory limit and
the shorter promised limit in working days, per-step limits, legal basis, conditions,
required materials and fees (DOMAIN.md S2, S7). Items are loaded from TOML files shipped
with the diagrams (``bpmn/items/``) or given to ``xiaoneng items load``. The rules:

* the promised limit must be shorter than the statutory one (承诺时限 < 法定时限);
* the step limits may not add up to more than the promised limit;
* the department must exist in the organisation.

File format (one file may hold many items)::

    [[items]]
    code = "JS-001"
    name = "建筑工程施工许可"
    department = "housing-permits"
    process = "general_permit"
    statutory_days = 15
    promised_days = 7
    joint = false                     # joint handling (联合办理): +15 days extension, not +10
    sample = true                     # sample data, not a real organ's table
    legal_basis = "《中华人民共和国建筑法》第八条"
    conditions = "…"
    fees = "不收费"
    steps = [
      { step = "accept", name = "受理", days = 1 },
      { step = "handle", name = "承办", days = 3 },
    ]
    materials = [
      { name = "建筑工程施工许可申请表", required = true, copies = 1,
        sample = "https://example.gov.cn/samples/js-0101-form.pdf" },
    ]

A material's optional ``sample`` (样表/示范文本, S7) is a short text telling how to fill
it in, or the address (``https://…``) of a sample document; the service guide shows it.
"""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from engine import accountability
from engine.errors import InvalidInputError, NotFoundError
from engine.store.models import Department, ServiceItem

_KEYS = {
    "code",
    "name",
    "department",
    "process",
    "statutory_days",
    "promised_days",
    "joint",
    "sample",
    "legal_basis",
    "conditions",
    "fees",
    "steps",
    "materials",
}


MAX_SAMPLE = 2000  # characters of a material's sample text or address


@dataclass(frozen=True)
class Step:
    """One step of an item with its own limit in working days."""

    step: str
    name: str
    days: int


@dataclass(frozen=True)
class Material:
    """One required (or optional) application material."""

    name: str
    required: bool = True
    copies: int = 1
    note: str = ""
    sample: str = ""  # a sample document (样表): how to fill it in, or its https:// address


@dataclass(frozen=True)
class Item:
    """A service item as loaded and as shown."""

    code: str
    name: str
    department: str
    process: str
    statutory_days: int
    promised_days: int
    joint: bool = False
    sample: bool = False
    legal_basis: str = ""
    conditions: str = ""
    fees: str = ""
    steps: tuple[Step, ...] = ()
    materials: tuple[Material, ...] = field(default_factory=tuple)

    def step_days(self, step: str) -> int | None:
        """The limit of one step, or None when the item sets none."""
        for s in self.steps:
            if s.step == step:
                return s.days
        return None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict."""
        return {
            "code": self.code,
            "name": self.name,
            "department": self.department,
            "process": self.process,
            "statutory_days": self.statutory_days,
            "promised_days": self.promised_days,
            "joint": self.joint,
            "sample": self.sample,
            "legal_basis": self.legal_basis,
            "conditions": self.conditions,
            "fees": self.fees,
            "steps": [vars(s) for s in self.steps],
            "materials": [vars(m) for m in self.materials],
        }


def parse_file(content: bytes, *, name: str) -> list[Item]:
    """Read and check an items file; every problem names the file and the item."""
    try:
        data = tomllib.loads(content.decode("utf-8-sig"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise InvalidInputError(f"{name}: not a valid TOML file: {exc}") from exc
    raw = data.get("items")
    if not isinstance(raw, list) or not raw:
        raise InvalidInputError(f"{name}: no [[items]] found")
    problems: list[str] = []
    items: list[Item] = []
    seen: set[str] = set()
    for index, entry in enumerate(raw, start=1):
        label = f"{name}: item #{index}" + (
            f" {entry.get('code')!r}" if isinstance(entry, dict) and entry.get("code") else ""
        )
        before = len(problems)
        item = _item(entry, label, problems)
        if item is not None and len(problems) == before:
            if item.code in seen:
                problems.append(f"{label}: code {item.code} appears twice")
            seen.add(item.code)
            items.append(item)
    if problems:
        raise InvalidInputError("service items are invalid: " + "; ".join(problems))
    return items


def _item(entry: Any, label: str, problems: list[str]) -> Item | None:
    if not isinstance(entry, dict):
        problems.append(f"{label}: must be a table")
        return None
    unknown = sorted(set(entry) - _KEYS)
    if unknown:
        problems.append(f"{label}: unknown keys {', '.join(unknown)}")
    for key in ("code", "name", "department", "process"):
        if not isinstance(entry.get(key), str) or not entry[key].strip():
            problems.append(f"{label}: '{key}' is required text")
    days: dict[str, int] = {}
    for key in ("statutory_days", "promised_days"):
        value = entry.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            problems.append(f"{label}: '{key}' must be a whole number of working days > 0")
        else:
            days[key] = value
    if len(days) == 2 and days["promised_days"] >= days["statutory_days"]:
        problems.append(
            f"{label}: the promised limit ({days['promised_days']} working days) must be "
            f"shorter than the statutory limit ({days['statutory_days']})"
        )
    steps = _steps(entry.get("steps", []), label, problems)
    total = sum(s.days for s in steps)
    if "promised_days" in days and total > days["promised_days"]:
        problems.append(
            f"{label}: the step limits add up to {total} working days, more than the "
            f"promised limit of {days['promised_days']}"
        )
    materials = _materials(entry.get("materials", []), label, problems)
    for key in ("legal_basis", "conditions", "fees"):
        if key in entry and not isinstance(entry[key], str):
            problems.append(f"{label}: '{key}' must be text")
    for key in ("joint", "sample"):
        if key in entry and not isinstance(entry[key], bool):
            problems.append(f"{label}: '{key}' must be true or false")
    if problems and len(days) < 2:
        return None
    try:
        return Item(
            code=str(entry["code"]).strip(),
            name=str(entry["name"]).strip(),
            department=str(entry["department"]).strip(),
            process=str(entry["process"]).strip(),
            statutory_days=days["statutory_days"],
            promised_days=days["promised_days"],
            joint=bool(entry.get("joint", False)),
            sample=bool(entry.get("sample", False)),
            legal_basis=str(entry.get("legal_basis", "")),
            conditions=str(entry.get("conditions", "")),
            fees=str(entry.get("fees", "")),
            steps=tuple(steps),
            materials=tuple(materials),
        )
    except KeyError:
        return None


def _steps(raw: Any, label: str, problems: list[str]) -> list[Step]:
    if not isinstance(raw, list):
        problems.append(f"{label}: 'steps' must be a list")
        return []
    steps = []
    for i, s in enumerate(raw, start=1):
        if not isinstance(s, dict) or not isinstance(s.get("step"), str):
            problems.append(f"{label}: step #{i} needs 'step' (the BPMN element id)")
            continue
        days = s.get("days")
        if isinstance(days, bool) or not isinstance(days, int) or days <= 0:
            problems.append(f"{label}: step {s['step']} needs 'days' > 0")
            continue
        steps.append(Step(step=s["step"], name=str(s.get("name", s["step"])), days=days))
    names = [s.step for s in steps]
    for dup in sorted({n for n in names if names.count(n) > 1}):
        problems.append(f"{label}: step {dup} appears twice")
    return steps


def _materials(raw: Any, label: str, problems: list[str]) -> list[Material]:
    if not isinstance(raw, list):
        problems.append(f"{label}: 'materials' must be a list")
        return []
    found = []
    for i, m in enumerate(raw, start=1):
        if not isinstance(m, dict) or not isinstance(m.get("name"), str) or not m["name"]:
            problems.append(f"{label}: material #{i} needs a 'name'")
            continue
        sample = m.get("sample", "")
        if not isinstance(sample, str) or len(sample) > MAX_SAMPLE:
            problems.append(
                f"{label}: material {m['name']}: 'sample' must be text (or an address) of at "
                f"most {MAX_SAMPLE} characters"
            )
            continue
        found.append(
            Material(
                name=m["name"],
                required=bool(m.get("required", True)),
                copies=int(m.get("copies", 1)),
                note=str(m.get("note", "")),
                sample=sample.strip(),
            )
        )
    return found


def load(conn: Connection, items: Sequence[Item], now: datetime, actor: str | None) -> list[str]:
    """Create or update items (departments must exist); return the codes written."""
    departments = set(conn.scalars(select(Department.id)))
    missing = sorted(
        {
            f"{i.code}: unknown department {i.department!r}"
            for i in items
            if i.department not in departments
        }
    )
    if missing:
        raise InvalidInputError("service items are invalid: " + "; ".join(missing))
    table = ServiceItem.__table__
    for item in items:
        values = _row(item, now)
        exists = conn.execute(select(ServiceItem.code).where(ServiceItem.code == item.code)).first()
        if exists:
            conn.execute(table.update().where(table.c.code == item.code).values(**values))  # type: ignore[attr-defined]
        else:
            conn.execute(table.insert().values(code=item.code, **values))  # type: ignore[attr-defined]
    accountability.record(
        conn, at=now, action="item", actor=actor, detail={"codes": [i.code for i in items]}
    )
    return [i.code for i in items]


def _row(item: Item, now: datetime) -> dict[str, Any]:
    d = item.to_dict()
    return {
        "name": item.name,
        "department_id": item.department,
        "process_id": item.process,
        "statutory_days": item.statutory_days,
        "promised_days": item.promised_days,
        "joint": item.joint,
        "sample": item.sample,
        "legal_basis": item.legal_basis,
        "conditions": item.conditions,
        "fees": item.fees,
        "steps": d["steps"],
        "materials": d["materials"],
        "updated_at": now,
    }


def get(conn: Connection, code: str) -> Item:
    """One item, or NotFoundError."""
    row = conn.execute(select(ServiceItem.__table__).where(ServiceItem.code == code)).first()
    if row is None:
        raise NotFoundError("service item", code)
    return _from_row(row._mapping)


def listing(conn: Connection, department: str | None = None) -> list[Item]:
    """Every item (of one department), by code."""
    stmt = select(ServiceItem.__table__).order_by(ServiceItem.code)
    if department:
        stmt = stmt.where(ServiceItem.department_id == department)
    return [_from_row(r._mapping) for r in conn.execute(stmt)]


def _from_row(r: Any) -> Item:
    return Item(
        code=r["code"],
        name=r["name"],
        department=r["department_id"],
        process=r["process_id"],
        statutory_days=r["statutory_days"],
        promised_days=r["promised_days"],
        joint=r["joint"],
        sample=r["sample"],
        legal_basis=r["legal_basis"],
        conditions=r["conditions"],
        fees=r["fees"],
        steps=tuple(Step(**s) for s in r["steps"] or []),
        materials=tuple(Material(**m) for m in r["materials"] or []),
    )
