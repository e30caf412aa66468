"""Sample files and steps the portal tests share (real bytes, written to a real folder)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from engine import Engine, ReceiptView, Upload

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 17
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 20


def package(*names: str) -> bytes:
    """A ZIP package with the given entries (DOCX, XLSX and OFD are ZIP packages)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        for name in names:
            z.writestr(name, "<xml/>")
    return buffer.getvalue()


DOCX = package("[Content_Types].xml", "word/document.xml")
XLSX = package("[Content_Types].xml", "xl/workbook.xml")
OFD = package("OFD.xml", "Doc_0/Document.xml")


def pdf(material: str = "建筑工程施工许可申请表", filename: str = "申请表.pdf") -> Upload:
    """A small real PDF upload."""
    return Upload(material=material, filename=filename, content=PDF)


def files_under(root: Path) -> list[Path]:
    """Every file below ``root`` (none when it does not exist)."""
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def applicant(engine: Engine, login: str = "lihua") -> int:
    """Register an applicant; return their id."""
    return engine.register_applicant(login, "secret-pass-1", "李华").id


def apply_online(engine: Engine, applicant_id: int, *uploads: Upload) -> ReceiptView:
    """An online application for the test item T-0101."""
    return engine.apply(
        "T-0101",
        applicant_name="李华",
        materials=uploads,
        applicant_id=applicant_id,
        actor=f"applicant:{applicant_id}",
    )


def refuse_at_acceptance(engine: Engine, key: str) -> None:
    """The window officer does not accept the application: the case ends (不予受理)."""
    task = next(t for t in engine.tasks(case=key) if t.element_id == "accept")
    engine.claim(task.id, actor="window01")
    engine.complete(
        task.id,
        actor="window01",
        data={"accepted": "no", "reason": "不属于本机关职权范围"},
        opinion="内部意见：不予受理",
    )
