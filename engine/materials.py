"""Application materials (申请材料): files on disk, rows in ``case_materials``.

A file is accepted when it is not empty, not larger than the engine's limit, and both its
extension and its content (magic bytes) say it is one of the allowed types — PDF, JPEG,
PNG, OFD (the national e-document format), DOCX, XLSX — and say the same type. The
uploaded name is kept only as a display name (no folders, no control characters); the
file is stored under a generated name inside the materials folder, never anywhere else.

Order of writing, so that a failure leaves neither a file nor a row: every file is
checked first, then written to a temporary file and renamed into place, then its row is
inserted in the caller's transaction; if anything fails before the commit, the
:class:`Stash` removes the files it wrote.
"""

from __future__ import annotations

import hashlib
import io
import os
import secrets
import unicodedata
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePath
from types import TracebackType
from typing import Any

from sqlalchemy import Connection, func, insert, select

from engine.errors import InvalidInputError, NotFoundError
from engine.store.models import Case, CaseMaterial
from engine.views import MaterialView, Upload

MAX_FILES = 30  # per call: an application or a supplement
MAX_NAME = 200  # characters of a display name or a material's name

# extension -> the content type the file is served with
CONTENT_TYPES = {
    ".pdf": "application/pdf",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".ofd": "application/ofd",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
# what the content says -> the extensions that may carry it
_KIND_EXTENSIONS = {
    "pdf": (".pdf",),
    "jpeg": (".jpg", ".jpeg"),
    "png": (".png",),
    "ofd": (".ofd",),
    "docx": (".docx",),
    "xlsx": (".xlsx",),
}
#: The file name extensions of the allowed types (forms offer these).
EXTENSIONS = tuple(CONTENT_TYPES)
ALLOWED = ", ".join(sorted({e.lstrip(".") for e in CONTENT_TYPES}))


@dataclass(frozen=True)
class Checked:
    """An upload that passed every check, ready to store."""

    material: str
    filename: str  # the safe display name
    extension: str
    content_type: str
    content: bytes
    sha256: str


def display_name(filename: str) -> str:
    """A safe display name for an uploaded file name: its last path part (``/`` or
    ``\\``), without control characters (NUL …) or leading dots, at most 200 characters."""
    text = unicodedata.normalize("NFC", filename or "")
    text = "".join(ch for ch in text if unicodedata.category(ch)[0] != "C")
    text = text.replace("\\", "/").rsplit("/", 1)[-1].strip().lstrip(".").strip()
    if len(text) > MAX_NAME:
        stem, dot, ext = text.rpartition(".")
        text = (stem[: MAX_NAME - len(ext) - 1] + dot + ext) if dot and len(ext) < 10 else text
        text = text[:MAX_NAME]
    return text


def content_kind(content: bytes) -> str | None:
    """The allowed type the content is (by its magic bytes), or None."""
    if content.startswith(b"%PDF-"):
        return "pdf"
    if content.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if content.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if content.startswith(b"PK\x03\x04"):
        return _zip_kind(content)
    return None


def _zip_kind(content: bytes) -> str | None:
    """OFD, DOCX and XLSX are ZIP packages: tell them apart by their entries' names
    (the central directory only; nothing is decompressed)."""
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as package:
            names = set(package.namelist())
    except (zipfile.BadZipFile, ValueError, OSError):
        return None
    if "OFD.xml" in names:
        return "ofd"
    if "[Content_Types].xml" in names:
        if "word/document.xml" in names:
            return "docx"
        if "xl/workbook.xml" in names:
            return "xlsx"
    return None


def check(upload: Upload, max_bytes: int) -> Checked:
    """Check one upload; InvalidInputError names the file and what is wrong."""
    if not isinstance(upload, Upload):
        raise InvalidInputError("a material must be an Upload(material, filename, content)")
    material = (upload.material or "").strip()
    name = display_name(upload.filename)
    label = name or "(no name)"
    if not material:
        raise InvalidInputError(f"{label}: say which material the file is (材料名称)")
    if len(material) > MAX_NAME:
        raise InvalidInputError(f"{label}: the material's name is longer than {MAX_NAME}")
    content = upload.content
    if not isinstance(content, bytes | bytearray):
        raise InvalidInputError(f"{label}: the file's content must be bytes")
    content = bytes(content)
    if not content:
        raise InvalidInputError(f"{label}: the file is empty")
    if len(content) > max_bytes:
        raise InvalidInputError(
            f"{label}: the file is too large ({len(content)} bytes; at most {max_bytes})"
        )
    extension = PurePath(name).suffix.lower() if name else ""
    if extension not in CONTENT_TYPES:
        raise InvalidInputError(f"{label}: this type of file is not allowed (allowed: {ALLOWED})")
    kind = content_kind(content)
    if kind is None:
        raise InvalidInputError(
            f"{label}: the content is not a file of an allowed type (allowed: {ALLOWED})"
        )
    if extension not in _KIND_EXTENSIONS[kind]:
        raise InvalidInputError(
            f"{label}: the extension {extension} does not match the content ({kind} file)"
        )
    return Checked(
        material=material,
        filename=name,
        extension=extension,
        content_type=CONTENT_TYPES[extension],
        content=content,
        sha256=hashlib.sha256(content).hexdigest(),
    )


def check_all(uploads: Sequence[Upload], max_bytes: int) -> list[Checked]:
    """Check every upload before anything is written."""
    if isinstance(uploads, Upload):
        uploads = [uploads]
    if len(uploads) > MAX_FILES:
        raise InvalidInputError(f"at most {MAX_FILES} files at a time, not {len(uploads)}")
    return [check(u, max_bytes) for u in uploads]


class Stash:
    """Files written during one engine call, removed again unless the call commits.

    Use as a context manager around the transaction and call :meth:`keep` first thing
    after the commit: on an exception before that, every file written so far is deleted
    (the rows go with the rollback).
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.written: list[Path] = []

    def __enter__(self) -> Stash:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is not None:
            self.discard()

    def put(self, checked: Checked) -> str:
        """Write one file under a new generated name; return that name (relative)."""
        token = secrets.token_hex(16)
        stored = f"{token[:2]}/{token}{checked.extension}"
        final = resolve(self.root, stored)
        final.parent.mkdir(parents=True, exist_ok=True)
        temp = final.parent / f".tmp-{token}"
        self.written.append(temp)
        with open(temp, "xb") as out:
            out.write(checked.content)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, final)
        self.written.append(final)
        return stored

    def keep(self) -> None:
        """The transaction committed: the files stay whatever happens next."""
        self.written.clear()

    def discard(self) -> None:
        """Delete every file written so far."""
        for path in self.written:
            path.unlink(missing_ok=True)
        self.written.clear()


def resolve(root: Path, stored_name: str) -> Path:
    """The path of a stored file; refuses a name that would lead outside ``root``."""
    base = root.resolve()
    path = (base / stored_name).resolve()
    if not path.is_relative_to(base) or path == base:
        raise NotFoundError("material file", stored_name)
    return path


def store(
    conn: Connection,
    stash: Stash,
    *,
    case_id: int,
    business_key: str,
    files: Sequence[Checked],
    round_no: int,
    actor: str,
    now: datetime,
) -> list[MaterialView]:
    """Write the checked files and their rows (in the caller's transaction)."""
    views = []
    for checked in files:
        stored = stash.put(checked)
        values: dict[str, Any] = {
            "case_id": case_id,
            "material": checked.material,
            "filename": checked.filename,
            "stored_name": stored,
            "content_type": checked.content_type,
            "size": len(checked.content),
            "sha256": checked.sha256,
            "round": round_no,
            "uploaded_at": now,
            "uploaded_by": actor,
        }
        new_id = conn.execute(
            insert(CaseMaterial).values(**values).returning(CaseMaterial.id)
        ).scalar_one()
        views.append(_view({**values, "id": new_id}, business_key))
    return views


def next_round(conn: Connection, case_id: int) -> int:
    """The round number of the next supplement (1 after the application's 0)."""
    last = conn.scalar(select(func.max(CaseMaterial.round)).where(CaseMaterial.case_id == case_id))
    return 1 if last is None else int(last) + 1


def listing(conn: Connection, case_id: int, business_key: str) -> list[MaterialView]:
    """A case's materials, in the order they were stored."""
    rows = conn.execute(
        select(CaseMaterial.__table__)
        .where(CaseMaterial.case_id == case_id)
        .order_by(CaseMaterial.id)
    ).all()
    return [_view(r._mapping, business_key) for r in rows]


def get(conn: Connection, root: Path, material_id: int) -> tuple[MaterialView, Path]:
    """One material and the path of its file (NotFoundError when either is missing)."""
    row = conn.execute(
        select(CaseMaterial.__table__, Case.business_key)
        .join(Case, Case.id == CaseMaterial.case_id)
        .where(CaseMaterial.id == material_id)
    ).first()
    if row is None:
        raise NotFoundError("material", material_id)
    path = resolve(root, row.stored_name)
    if not path.is_file():
        raise NotFoundError("material file", material_id)
    return _view(row._mapping, row.business_key), path


def _view(row: Any, business_key: str) -> MaterialView:
    return MaterialView(
        id=row["id"],
        case_id=row["case_id"],
        business_key=business_key,
        material=row["material"],
        filename=row["filename"],
        content_type=row["content_type"],
        size=row["size"],
        sha256=row["sha256"],
        round=row["round"],
        uploaded_at=row["uploaded_at"],
        uploaded_by=row["uploaded_by"],
    )
