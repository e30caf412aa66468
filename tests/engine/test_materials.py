"""Application materials on disk: limits, types by content and extension, safe names,
nothing stored outside the materials folder, nothing left behind by a failed call."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from engine import Engine, FakeClock, InvalidInputError, NotFoundError, Upload
from engine.calendar import CalendarError
from engine.materials import CONTENT_TYPES, Stash, display_name
from tests.conftest import make_engine
from tests.engine.portal_support import (
    DOCX,
    JPEG,
    OFD,
    PDF,
    PNG,
    XLSX,
    applicant,
    apply_online,
    files_under,
    package,
    pdf,
)


def _case_count(engine: Engine) -> int:
    return len(engine.list_cases(limit=500))


@pytest.mark.parametrize(
    ("filename", "content", "content_type"),
    [
        ("申请表.pdf", PDF, "application/pdf"),
        ("照片.PNG", PNG, "image/png"),
        ("身份证.jpg", JPEG, "image/jpeg"),
        ("身份证.jpeg", JPEG, "image/jpeg"),
        ("承诺书.docx", DOCX, CONTENT_TYPES[".docx"]),
        ("清单.xlsx", XLSX, CONTENT_TYPES[".xlsx"]),
        ("证照.ofd", OFD, "application/ofd"),
    ],
)
def test_allowed_file_is_stored_under_a_generated_name(
    permit: Engine, filename: str, content: bytes, content_type: str
) -> None:
    owner = applicant(permit)

    receipt = apply_online(permit, owner, Upload("申请材料", filename, content))

    (stored,) = receipt.materials
    assert (stored.filename, stored.content_type, stored.size) == (
        filename,
        content_type,
        len(content),
    )
    assert stored.round == 0
    assert stored.uploaded_by == f"applicant:{owner}"
    view, path = permit.material_file(stored.id)
    assert view == stored
    assert path.read_bytes() == content
    assert path.is_relative_to(permit.materials_dir.resolve())
    assert filename not in str(path)  # the uploaded name is never the stored one
    assert files_under(permit.materials_dir) == [path]


@pytest.mark.parametrize(
    ("filename", "shown"),
    [
        ("../../etc/passwd.pdf", "passwd.pdf"),
        ("/etc/passwd.pdf", "passwd.pdf"),
        ("..\\..\\Windows\\system32\\evil.pdf", "evil.pdf"),
        ("C:\\Users\\x\\申请表.pdf", "申请表.pdf"),
        ("申请\x00表.pdf", "申请表.pdf"),
        ("bad\nname\r\t.pdf", "badname.pdf"),
        ("....hidden.pdf", "hidden.pdf"),
    ],
)
def test_path_tricks_in_file_names_store_nothing_outside_the_folder(
    permit: Engine, tmp_path: Path, filename: str, shown: str
) -> None:
    owner = applicant(permit)
    before = set(files_under(tmp_path))

    receipt = apply_online(permit, owner, Upload("申请书", filename, PDF))

    (stored,) = receipt.materials
    assert stored.filename == shown
    _view, path = permit.material_file(stored.id)
    assert path.is_relative_to(permit.materials_dir.resolve())
    assert files_under(permit.materials_dir) == [path]
    outside = {
        p for p in set(files_under(tmp_path)) - before if not p.is_relative_to(permit.materials_dir)
    }
    assert all(p.name.startswith("xiaoneng.db") for p in outside)  # SQLite's own files only
    assert not Path("/etc/passwd.pdf").exists()


def test_file_name_of_dots_only_has_no_name_left_and_is_refused(permit: Engine) -> None:
    owner = applicant(permit)

    with pytest.raises(InvalidInputError, match="not allowed"):
        apply_online(permit, owner, Upload("申请书", "../....pdf", PDF))
    assert files_under(permit.materials_dir) == []


def test_display_name_keeps_only_the_last_part_without_control_characters() -> None:
    assert display_name("a/b\\c/../d.pdf") == "d.pdf"
    assert display_name("\x00\x01") == ""
    assert display_name(".env") == "env"
    long = "长" * 300 + ".pdf"
    assert len(display_name(long)) == 200
    assert display_name(long).endswith(".pdf")


def test_oversized_file_is_refused_and_nothing_is_stored(
    permit: Engine, clock: FakeClock, tmp_path: Path
) -> None:
    small = Engine(
        permit.sa_engine.url.render_as_string(hide_password=False),
        clock=clock,
        materials_dir=tmp_path / "small",
        max_material_bytes=1024,
    )
    owner = applicant(small)
    cases = _case_count(small)

    with pytest.raises(InvalidInputError, match=r"big\.pdf: the file is too large"):
        apply_online(small, owner, Upload("申请书", "big.pdf", PDF + b"0" * 1024))

    assert files_under(tmp_path / "small") == []
    assert _case_count(small) == cases
    assert apply_online(small, owner, Upload("申请书", "ok.pdf", PDF)).materials
    small.dispose()


def test_empty_file_is_refused(permit: Engine) -> None:
    owner = applicant(permit)

    with pytest.raises(InvalidInputError, match=r"empty\.pdf: the file is empty"):
        apply_online(permit, owner, Upload("申请书", "empty.pdf", b""))
    assert files_under(permit.materials_dir) == []


@pytest.mark.parametrize(
    ("filename", "content"),
    [
        ("setup.exe", b"MZ\x90\x00" + b"\x00" * 60),
        ("page.html", b"<html><script>alert(1)</script></html>"),
        ("drawing.svg", b"<svg xmlns='http://www.w3.org/2000/svg'></svg>"),
        ("申请表.pdf.exe", PDF),
        ("noextension", PDF),
        ("archive.zip", package("a.txt")),
    ],
)
def test_file_type_not_allowed_is_refused(permit: Engine, filename: str, content: bytes) -> None:
    owner = applicant(permit)
    cases = _case_count(permit)

    with pytest.raises(InvalidInputError, match="not allowed") as raised:
        apply_online(permit, owner, pdf(), Upload("申请书", filename, content))

    assert filename in raised.value.message
    assert files_under(permit.materials_dir) == []
    assert _case_count(permit) == cases


@pytest.mark.parametrize(
    ("filename", "content", "message"),
    [
        ("photo.pdf", PNG, "does not match the content"),
        ("scan.png", PDF, "does not match the content"),
        ("sheet.xlsx", DOCX, "does not match the content"),
        ("letter.docx", OFD, "does not match the content"),
        ("fake.pdf", b"<html>not a pdf</html>", "content is not a file of an allowed type"),
        ("fake.docx", package("a.txt", "b.txt"), "content is not a file of an allowed type"),
        ("broken.docx", b"PK\x03\x04 not really a zip", "content is not a file of an allowed type"),
    ],
)
def test_extension_that_does_not_match_the_content_is_refused(
    permit: Engine, filename: str, content: bytes, message: str
) -> None:
    owner = applicant(permit)

    with pytest.raises(InvalidInputError, match=message):
        apply_online(permit, owner, Upload("申请书", filename, content))
    assert files_under(permit.materials_dir) == []


def test_material_needs_the_name_of_the_material(permit: Engine) -> None:
    owner = applicant(permit)

    with pytest.raises(InvalidInputError, match="which material"):
        apply_online(permit, owner, Upload("  ", "a.pdf", PDF))
    assert files_under(permit.materials_dir) == []


def test_failure_while_writing_the_second_file_leaves_no_file_and_no_row(
    permit: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    owner = applicant(permit)
    cases = _case_count(permit)
    real_put = Stash.put
    written: list[str] = []

    def disk_full_on_second(self: Stash, checked: object) -> str:
        if written:
            raise OSError(28, "No space left on device")
        written.append(real_put(self, checked))  # type: ignore[arg-type]
        return written[-1]

    monkeypatch.setattr(Stash, "put", disk_full_on_second)

    with pytest.raises(OSError, match="No space left"):
        apply_online(permit, owner, pdf("申请表", "a.pdf"), pdf("承诺书", "b.pdf"))

    assert written  # the first file had been written …
    assert files_under(permit.materials_dir) == []  # … and is gone again
    assert _case_count(permit) == cases


def test_database_failure_after_the_files_leaves_no_file_and_no_row(
    permit: Engine, clock: FakeClock
) -> None:
    owner = applicant(permit)
    key = apply_online(permit, owner, pdf()).business_key
    accept = permit.tasks(case=key)[0]
    permit.claim(accept.id, actor="window01")
    permit.stop_clock(key, kind="supplement", reason="缺少规划许可证", actor="window01")
    stored = files_under(permit.materials_dir)
    # a year the working-day calendar has no data for: restarting the clock fails after
    # the supplement's files were written
    clock.set(datetime(2031, 3, 3, 2, 0, tzinfo=UTC))

    with pytest.raises(CalendarError):
        permit.supplement(
            key,
            applicant_id=owner,
            materials=[pdf("建设工程规划许可证", "许可证.pdf")],
            actor=f"applicant:{owner}",
        )

    assert files_under(permit.materials_dir) == stored
    assert len(permit.materials(key)) == 1
    assert permit.progress(key, applicant_id=owner).supplement_requested == "缺少规划许可证"


def test_material_file_of_an_unknown_material_is_not_found(permit: Engine) -> None:
    with pytest.raises(NotFoundError):
        permit.material_file(4711)


def test_material_file_whose_file_went_missing_is_not_found(permit: Engine) -> None:
    owner = applicant(permit)
    (stored,) = apply_online(permit, owner, pdf()).materials
    _view, path = permit.material_file(stored.id)
    path.unlink()

    with pytest.raises(NotFoundError):
        permit.material_file(stored.id)


def test_too_many_files_at_once_are_refused(permit: Engine) -> None:
    owner = applicant(permit)

    with pytest.raises(InvalidInputError, match="at most 30 files"):
        apply_online(permit, owner, *[pdf(filename=f"{i}.pdf") for i in range(31)])
    assert files_under(permit.materials_dir) == []


def test_materials_folder_defaults_next_to_the_sqlite_file(tmp_path: Path) -> None:
    engine = Engine(f"sqlite:///{tmp_path / 'db' / 'x.db'}")
    assert engine.materials_dir == (tmp_path / "db" / "materials").resolve()
    engine.dispose()


def test_materials_folder_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XIAONENG_MATERIALS_DIR", str(tmp_path / "files"))
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    assert engine.materials_dir == tmp_path / "files"
    engine.dispose()
