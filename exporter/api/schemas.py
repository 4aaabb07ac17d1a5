"""The API's own schemas: what clients send and what they get back.

Separate from the storage models (``exporter.db.models``) and from the package's
record types; a change in one does not silently change the others.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from exporter.cpr import Cpr
from exporter.db.models import Package, Request, SourceTask
from exporter.pipeline.collect import GAP_REASONS
from exporter.profile import Profile

__all__ = [
    "CaseworkerRequestCreate",
    "ExtendDeadline",
    "PackagePublic",
    "PassphraseDownload",
    "RequestCreate",
    "RequestPublic",
    "SourcePublic",
    "to_public",
]

DatasetId = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]{0,39}$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=False)


class Period(_Strict):
    start: date | None = Field(default=None, alias="from")
    end: date | None = Field(default=None, alias="to")


class RequestCreate(_Strict):
    """A citizen's request for their own data: all datasets unless some are named."""

    datasets: list[DatasetId] | None = Field(default=None, max_length=100)
    period: Period | None = None


class CaseworkerRequestCreate(RequestCreate):
    """A request made by a caseworker on a citizen's behalf."""

    cpr: Annotated[str, StringConstraints(max_length=11)]


class ExtendDeadline(_Strict):
    months: int = Field(ge=1, le=2)
    reason: Annotated[str, StringConstraints(min_length=10, max_length=2000, strip_whitespace=True)]


class PassphraseDownload(_Strict):
    passphrase: Annotated[str, StringConstraints(min_length=12, max_length=1024)]


class Gap(BaseModel):
    code: str
    da: str
    en: str


class SourcePublic(BaseModel):
    source_id: str
    name: dict[str, str]
    state: str
    attempts: int
    records_fetched: int
    records_accepted: int
    records_rejected: int
    gap: Gap | None = None
    finished_at: datetime | None = None


class PackagePublic(BaseModel):
    id: str
    complete: bool
    size: int
    encrypted_size: int
    encrypted_sha256: str
    signing_key_id: str
    created_at: datetime
    expires_at: datetime
    download: str
    download_age: str


class RequestPublic(BaseModel):
    id: str
    subject: str = Field(description="The data subject's CPR number, masked (DDMMYY-xxxx).")
    state: str
    requested_by_role: str
    received_at: datetime
    deadline: date
    extended_deadline: date | None
    extension_reason: str | None
    overdue: bool
    datasets: list[str] | None
    period: dict[str, date | None] | None
    sources: list[SourcePublic]
    package: PackagePublic | None
    error: str | None = None


def _source(task: SourceTask, profile: Profile) -> SourcePublic:
    try:
        name = profile.source(task.source_id).name.as_dict()
    except KeyError:
        name = {"da": task.source_id, "en": task.source_id}
    gap = None
    if task.state == "failed":
        code = task.last_error if task.last_error in GAP_REASONS else None
        code = code or "error"
        gap = Gap(code=code, **GAP_REASONS[code])
    return SourcePublic(
        source_id=task.source_id, name=name, state=task.state, attempts=task.attempt,
        records_fetched=task.records_fetched, records_accepted=task.records_accepted,
        records_rejected=task.records_rejected, gap=gap, finished_at=task.finished_at,
    )


def _package(package: Package | None, base: str) -> PackagePublic | None:
    if package is None or package.deleted_at is not None:
        return None
    return PackagePublic(
        id=package.id, complete=package.complete, size=package.plain_size,
        encrypted_size=package.size, encrypted_sha256=package.sha256,
        signing_key_id=package.signing_key_id, created_at=package.created_at,
        expires_at=package.expires_at, download=f"{base}/package",
        download_age=f"{base}/package.age",
    )


def to_public(request: Request, profile: Profile, *, base: str, today: date) -> RequestPublic:
    period = None
    if request.period_from or request.period_to:
        period = {"from": request.period_from, "to": request.period_to}
    active = request.state in ("received", "collecting", "assembling")
    return RequestPublic(
        id=request.id,
        subject=Cpr(request.subject_cpr).masked,
        state=request.state,
        requested_by_role=request.requester_role,
        received_at=request.received_at,
        deadline=request.deadline,
        extended_deadline=request.extended_deadline,
        extension_reason=request.extension_reason,
        overdue=active and request.effective_deadline < today,
        datasets=request.datasets,
        period=period,
        sources=[_source(t, profile) for t in request.tasks],
        package=_package(request.package, f"{base}/{request.id}"),
        error=request.last_error,
    )
