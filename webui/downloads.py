"""Sending an uploaded application material back, safely.

Uploads are the applicant's files, not the site's: they are always sent as an
attachment, as ``application/octet-stream`` unless they are a PDF, PNG or JPEG (whose
type the engine checked by content), with ``nosniff`` and a sandboxing content security
policy, so that no browser runs or renders one as a page of this site. Who may download
a material is decided by the caller (the owner on the portal, officers who may see the
case in the officer area).
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath, PureWindowsPath

from flask import Response, abort, send_file

from engine import MaterialView

#: Content types sent as such; anything else is a download of bytes.
INLINE_SAFE = frozenset({"application/pdf", "image/png", "image/jpeg"})


def download_name(filename: str) -> str:
    """The name a browser saves the file as: the last part of the uploaded name, with
    no path (``..\\..\\x.pdf`` → ``x.pdf``) and no control characters."""
    name = PureWindowsPath(PurePosixPath(filename).name).name
    name = "".join(ch for ch in name if ch.isprintable() and ch not in '"\\/').strip(". ")
    return name or "material"


def send_material(material: MaterialView, path: Path) -> Response:
    """The file as an attachment with safe headers (404 when the file has gone)."""
    if not path.is_file():
        abort(404)
    mimetype = material.content_type if material.content_type in INLINE_SAFE else None
    response = send_file(
        path,
        mimetype=mimetype or "application/octet-stream",
        as_attachment=True,
        download_name=download_name(material.filename),
        max_age=0,
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = "private, no-store"
    return response
