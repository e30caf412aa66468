"""Taking in an application with its materials: online (the portal) and at the window
(首问负责制, S1, ``webui.officer.register``). One engine call stores the case and the
files, or nothing; a refused file comes back as an error next to its input.
"""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _

from engine import Engine, FormValidationError, InvalidInputError, ReceiptView, Upload
from webui.applicant.forms import ApplyForm, MaterialsForm


def shown_name(filename: str) -> str:
    """The file's name as the engine names it in a refusal: its last path part."""
    return filename.replace("\\", "/").rsplit("/", 1)[-1].strip().lstrip(".").strip()


def uploads_of(form: MaterialsForm) -> list[Upload]:
    """The files of the form as the engine takes them (read into memory: the request
    size is capped by ``MAX_CONTENT_LENGTH``)."""
    return [
        Upload(material=name, filename=upload.filename or "", content=upload.read())
        for name, _field, upload in form.uploads()
    ]


def place_refusal(form: MaterialsForm, exc: InvalidInputError) -> str:
    """Put the engine's refusal next to the file input it names; return the message for
    the top of the form."""
    if isinstance(exc, FormValidationError):
        placed = []
        for problem in exc.problems:
            field = getattr(form, problem.field, None)
            if field is not None and hasattr(field, "errors"):
                field.errors = [*field.errors, problem.message]
            else:
                placed.append(f"{problem.field}: {problem.message}")
        return _("申请内容不符合要求，请按提示修改。") + (" " + "；".join(placed) if placed else "")
    for _name, field_name, upload in form.uploads():
        shown = shown_name(upload.filename or "")
        if shown and exc.message.startswith(f"{shown}:"):
            form[field_name].errors = [*form[field_name].errors, exc.message]
    return _("材料未被接受：%(why)s 请修改后重新提交，本次申请未保存。", why=exc.message)


def apply(
    engine: Engine,
    form: ApplyForm,
    item_code: str,
    *,
    actor: str,
    applicant_id: int | None,
) -> ReceiptView:
    """Start the case with the form's data and files (InvalidInputError: nothing kept)."""
    data: dict[str, Any] = {
        "applicant_kind": form.applicant_kind.data,
        "applicant_phone": (form.phone.data or "").strip(),
    }
    for key, value in (
        ("contact_person", form.contact_person.data),
        ("applicant_email", form.email.data),
        ("summary", form.summary.data),
    ):
        if value and value.strip():
            data[key] = value.strip()
    return engine.apply(
        item_code,
        applicant_name=(form.applicant_name.data or "").strip(),
        data=data,
        materials=uploads_of(form),
        applicant_id=applicant_id,
        actor=actor,
        title=(form.title.data or "").strip() or None,
        submission=form.submission.data or None,  # the engine starts one case per token
    )
