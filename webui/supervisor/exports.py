"""A period's figures and accountability records as tables, written as CSV or Excel.

CSV is UTF-8 with a byte-order mark, so Excel opens the Chinese text correctly; the Excel
workbook (.xlsx, openpyxl) has one sheet per table, rates as percentages and moments as
local date-times. Text that a spreadsheet would take for a formula (``=``, ``+``, ``-``,
``@`` …) is written with a leading apostrophe (CSV/formula injection).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font

from engine import FAULT_LEVELS, DepartmentFigures, FaultRecordView, PersonFigures
from webui.supervisor.labels import decision_label, kind_label

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
Cell = str | int | float | datetime | None


@dataclass(frozen=True)
class Table:
    """One table: a sheet name, the headers, the rows; ``formats`` by column index
    (``percent``, ``days``, ``moment``)."""

    name: str
    headers: Sequence[str]
    rows: Sequence[Sequence[Cell]]
    formats: Mapping[int, str]


def safe_text(value: str) -> str:
    """A text cell that no spreadsheet runs as a formula."""
    return "'" + value if value.startswith(FORMULA_START) else value


def department_table(
    figures: Sequence[DepartmentFigures], department_names: Mapping[str, str]
) -> Table:
    """The per-department figures (绩效考评, S8)."""
    headers = [
        _("部门编号"),
        _("部门"),
        _("收件"),
        _("办结"),
        _("按时办结"),
        _("按时办结率"),
        _("超期"),
        _("其中在办超期"),
        _("平均用时（工作日）"),
        _("确认过错"),
        _("环节办结"),
        _("环节按时办结"),
        _("环节超期"),
        _("其中在办超期环节"),
    ]
    rows = [
        [
            f.department_id,
            department_names.get(f.department_id, f.department_id),
            f.received,
            f.completed,
            f.on_time,
            f.on_time_rate,
            f.overdue,
            f.overdue_open,
            f.avg_working_days,
            f.confirmed_faults,
            f.steps_completed,
            f.steps_on_time,
            f.steps_overdue,
            f.steps_overdue_open,
        ]
        for f in figures
    ]
    return Table(_("部门绩效"), headers, rows, {5: "percent", 8: "days"})


def person_table(figures: Sequence[PersonFigures], person_names: Mapping[str, str]) -> Table:
    """The per-person figures."""
    headers = [
        _("人员编号"),
        _("姓名"),
        _("收件（环节）"),
        _("办结"),
        _("按时办结"),
        _("按时办结率"),
        _("超期"),
        _("其中在办超期"),
        _("平均用时（工作日）"),
        _("确认过错"),
    ]
    rows = [
        [
            f.person_id,
            person_names.get(f.person_id, f.person_id),
            f.received,
            f.completed,
            f.on_time,
            f.on_time_rate,
            f.overdue,
            f.overdue_open,
            f.avg_working_days,
            f.confirmed_faults,
        ]
        for f in figures
    ]
    return Table(_("个人绩效"), headers, rows, {5: "percent", 8: "days"})


def record_table(
    records: Sequence[FaultRecordView],
    department_names: Mapping[str, str],
    person_names: Mapping[str, str],
) -> Table:
    """The accountability records (责任追究) with their latest review."""
    headers = [
        _("记录编号"),
        _("类型"),
        _("办件编号"),
        _("环节"),
        _("部门"),
        _("岗位"),
        _("责任人"),
        _("代岗（原A岗）"),
        _("期限"),
        _("超期（工作日）"),
        _("记录时间"),
        _("审核结论"),
        _("过错等级"),
        _("理由"),
        _("审核人"),
        _("审核时间"),
    ]

    def named(names: Mapping[str, str], key: str | None) -> str | None:
        return names.get(key, key) if key else None

    rows = [
        [
            r.id,
            kind_label(r.kind),
            r.business_key,
            r.step_name or r.element_id,
            named(department_names, r.department_id),
            r.post_id,
            named(person_names, r.person_id),
            named(person_names, r.substitute_for),
            r.due_at,
            r.overdue_days,
            r.created_at,
            decision_label(r.decision),
            FAULT_LEVELS.get(r.level, r.level) if r.level else None,
            r.reason,
            named(person_names, r.reviewed_by),
            r.reviewed_at,
        ]
        for r in records
    ]
    return Table(
        _("责任追究记录"), headers, rows, {8: "moment", 9: "days", 10: "moment", 15: "moment"}
    )


def _local(value: datetime, timezone: str) -> datetime:
    return value.astimezone(ZoneInfo(timezone))


def to_csv(table: Table, timezone: str) -> bytes:
    """The table as CSV: UTF-8 with a BOM, moments local ``YYYY-MM-DD HH:MM``."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(table.headers)
    for row in table.rows:
        writer.writerow(
            [_csv_cell(cell, table.formats.get(i), timezone) for i, cell in enumerate(row)]
        )
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _csv_cell(cell: Cell, kind: str | None, timezone: str) -> str:
    if cell is None:
        return ""
    if isinstance(cell, datetime):
        return _local(cell, timezone).strftime("%Y-%m-%d %H:%M")
    if isinstance(cell, float):
        return f"{cell:.4f}" if kind == "percent" else f"{cell:.2f}"
    if isinstance(cell, str):
        return safe_text(cell)
    return str(cell)


def to_xlsx(tables: Sequence[Table], timezone: str, *, heading: str) -> bytes:
    """The tables as an Excel workbook, one sheet each; ``heading`` in the first row."""
    book = Workbook()
    book.remove(book.active)
    for table in tables:
        sheet = book.create_sheet(table.name[:31])  # Excel's limit on sheet names
        sheet.append([heading])
        sheet.append(list(table.headers))
        for cell in sheet[2]:
            cell.font = Font(bold=True)
        for row in table.rows:
            sheet.append([_xlsx_cell(c, timezone) for c in row])
        for index, kind in table.formats.items():
            number_format = {"percent": "0.0%", "days": "0.00", "moment": "yyyy-mm-dd hh:mm"}[kind]
            for (cell,) in sheet.iter_rows(min_row=3, min_col=index + 1, max_col=index + 1):
                cell.number_format = number_format
        for n, header in enumerate(table.headers, start=1):
            letter = sheet.cell(row=2, column=n).column_letter
            sheet.column_dimensions[letter].width = max(10, len(header) * 2 + 2)
        sheet.freeze_panes = "A3"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _xlsx_cell(cell: Cell, timezone: str) -> Cell:
    if isinstance(cell, datetime):
        return _local(cell, timezone).replace(tzinfo=None)  # Excel knows no time zones
    if isinstance(cell, str):
        return safe_text(cell)
    return cell
