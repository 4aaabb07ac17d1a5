"""Reading and downloading a package.

- ``GET /anmodninger/{id}/pakke``: what is in the package and how to open it;
- ``GET /anmodninger/{id}/pakke/{file}``: one file of the stored package, the summary
  (``index.html``) read in the browser. Its pages come from the package as they are,
  so they are served in a sandbox: no scripts, their own inline style allowed by hash;
- ``GET /anmodninger/{id}/pakke.zip``: the ZIP (HTTP Range, so a download resumes);
- ``POST /anmodninger/{id}/pakke.zip.age``: the package as an age file for a passphrase
  typed on the page (never in a URL).
"""

from __future__ import annotations

import base64
import hashlib
import mimetypes
import re

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response, StreamingResponse

from exporter.api.metrics import DOWNLOADS
from exporter.db.models import Request as RequestRow
from exporter.delivery.download import (
    age_download,
    live_package,
    open_package_file,
    record_download,
    zip_download,
)
from exporter.web.deps import CitizenDep, CitizenPage, FormDep
from exporter.web.portal.views import request_view

router = APIRouter(tags=["pages"])

_STYLE = re.compile(rb"<style>(.*?)</style>", re.DOTALL)
_MAX_PAGE = 16 << 20  # a summary page read whole to hash its style; larger ones download
_INLINE = {".html": "text/html; charset=utf-8", ".txt": "text/plain; charset=utf-8",
           ".pub": "text/plain; charset=utf-8", ".minisig": "text/plain; charset=utf-8",
           ".sig": "text/plain; charset=utf-8", "": "text/plain; charset=utf-8"}
MIN_PASSPHRASE = 12


def _readable(page: CitizenPage, request_id: str) -> RequestRow:
    return page.readable_request(request_id)


def _package_page(page: CitizenPage, request_id: str, *, status: int = 200,
                  error: str = "") -> HTMLResponse:
    row = _readable(page, request_id)
    view = request_view(row, page.context.profile, page.today)
    return page.render("portal/package.html.j2", status=status, r=view, error=error,
                       min_passphrase=MIN_PASSPHRASE)


@router.get("/anmodninger/{request_id}/pakke", response_class=HTMLResponse)
def package(page: CitizenDep, request_id: str) -> HTMLResponse:
    live_package(_readable(page, request_id))
    return _package_page(page, request_id)


def _sandboxed_page(data: bytes) -> str:
    """The policy for one of the package's own pages: its inline style by hash,
    nothing else, in a sandbox with an origin of its own."""
    hashes = " ".join(
        f"'sha256-{base64.b64encode(hashlib.sha256(m.group(1)).digest()).decode()}'"
        for m in _STYLE.finditer(data)) or "'none'"
    return (f"default-src 'none'; style-src {hashes}; "
            "img-src data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'; "
            "sandbox allow-downloads allow-popups allow-popups-to-escape-sandbox")


@router.get("/anmodninger/{request_id}/pakke/{name:path}")
def package_file(page: CitizenDep, request_id: str, name: str) -> Response:
    """A file of the stored package: its pages open here, other files download."""
    row = _readable(page, request_id)
    stored = live_package(row)
    found = open_package_file(page.context.blobs, stored, page.context.keyring, name[:300])
    suffix = "." + found.name.rsplit(".", 1)[-1] if "." in found.name.rsplit("/", 1)[-1] \
        else ""
    headers = {"Cache-Control": "no-store"}
    record_download(page.context, page.acting.actor, row, stored,
                    {"format": "file", "file": found.name})
    if suffix == ".html" and found.size <= _MAX_PAGE:
        data = b"".join(found.chunks)
        headers["Content-Security-Policy"] = _sandboxed_page(data)
        return Response(data, media_type=_INLINE[suffix], headers=headers)
    media_type = _INLINE.get(suffix) if suffix != ".html" else None
    if media_type is None:
        # A page too large to read whole downloads as bytes: never HTML on our origin.
        guessed = mimetypes.guess_type(found.name)[0] if suffix != ".html" else None
        media_type = guessed or "application/octet-stream"
        leaf = found.name.rsplit("/", 1)[-1]
        headers["Content-Disposition"] = f'attachment; filename="{_safe_name(leaf)}"'
    headers["Content-Length"] = str(found.size)
    return StreamingResponse(found.chunks, media_type=media_type, headers=headers)


def _safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", name)[:100] or "file"


@router.get("/anmodninger/{request_id}/pakke.zip")
def download_zip(page: CitizenDep, request_id: str) -> Response:
    row = _readable(page, request_id)
    download = zip_download(page.context, page.acting.actor, row,
                            page.request.headers.get("range"))
    if download.status != 416:
        DOWNLOADS.labels(format="zip").inc()
    return StreamingResponse(download.body, status_code=download.status,
                             media_type="application/zip", headers=download.headers)


@router.post("/anmodninger/{request_id}/pakke.zip.age")
def download_age(page: CitizenDep, form: FormDep, request_id: str) -> Response:
    """The package as an age file that opens with the passphrase typed here."""
    row = _readable(page, request_id)
    passphrase = form.text("passphrase", 1024, strip=False)
    if len(passphrase) < MIN_PASSPHRASE \
            or passphrase != form.text("passphrase2", 1024, strip=False):
        error = "short" if len(passphrase) < MIN_PASSPHRASE else "different"
        return _package_page(page, request_id, status=400, error=error)
    download = age_download(page.context, page.acting.actor, row, passphrase)
    DOWNLOADS.labels(format="age").inc()
    return StreamingResponse(download.body, media_type="application/octet-stream",
                             headers=download.headers)
