"""The API's schemas for services, consents, mandates and deliveries.

Separate from the storage models; secrets (S3 credentials) go in and never come out.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from exporter.api.schemas import DatasetId
from exporter.db.models import Consent, ConsentEvent, Delivery, ExternalService, Mandate
from exporter.delivery.receipts import consent_status

__all__ = [
    "ConsentCreate",
    "ConsentPublic",
    "DeliveryCreate",
    "DeliveryPublic",
    "MandateCreate",
    "MandatePublic",
    "RepresentativeDeliveryCreate",
    "ServiceAdmin",
    "ServiceCreate",
    "ServicePublic",
    "consent_public",
    "delivery_public",
    "mandate_public",
    "service_admin",
    "service_public",
]

Text = Annotated[str, StringConstraints(min_length=1, max_length=2000, strip_whitespace=True)]
Url = Annotated[str, StringConstraints(min_length=8, max_length=1000)]
Id = Annotated[str, StringConstraints(min_length=1, max_length=36)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class S3CredentialsIn(_Strict):
    access_key_id: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    secret_access_key: Annotated[str, StringConstraints(min_length=1, max_length=500)]
    session_token: Annotated[str, StringConstraints(max_length=4000)] | None = None


class ServiceCreate(_Strict):
    name: Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]
    description: Text
    homepage: Url
    privacy_policy: Url
    age_recipient: Annotated[str, StringConstraints(min_length=10, max_length=100)]
    webhook_url: Url | None = None
    s3_bucket: Annotated[str, StringConstraints(max_length=63)] | None = None
    s3_prefix: Annotated[str, StringConstraints(max_length=300)] = ""
    s3_endpoint_url: Url | None = None
    s3_region: Annotated[str, StringConstraints(max_length=40)] | None = None
    s3_credentials: S3CredentialsIn | None = None
    s3_credentials_env: Annotated[str, StringConstraints(max_length=100)] | None = None


class ServicePublic(BaseModel):
    id: str
    name: str
    description: str
    homepage: str
    privacy_policy: str
    age_recipient: str
    state: str


class ServiceAdmin(ServicePublic):
    target: str
    webhook_url: str | None
    s3_bucket: str | None
    s3_prefix: str | None
    s3_endpoint_url: str | None
    s3_region: str | None
    s3_credentials: Literal["stored encrypted", "from environment", "default chain", None]
    created_at: datetime
    updated_at: datetime


def service_public(row: ExternalService) -> ServicePublic:
    return ServicePublic(id=row.id, name=row.name, description=row.description,
                         homepage=row.homepage, privacy_policy=row.privacy_policy,
                         age_recipient=row.age_recipient, state=row.state)


def service_admin(row: ExternalService) -> ServiceAdmin:
    credentials: Literal["stored encrypted", "from environment", "default chain"] | None = None
    if row.target == "s3":
        credentials = ("stored encrypted" if row.s3_credentials_age is not None
                       else "from environment" if row.s3_credentials_env else "default chain")
    return ServiceAdmin(
        **service_public(row).model_dump(), target=row.target, webhook_url=row.webhook_url,
        s3_bucket=row.s3_bucket, s3_prefix=row.s3_prefix, s3_endpoint_url=row.s3_endpoint_url,
        s3_region=row.s3_region, s3_credentials=credentials, created_at=row.created_at,
        updated_at=row.updated_at,
    )


class ConsentCreate(_Strict):
    """Let ``service_id`` receive these datasets (all when left out), for ``purpose``,
    once (``single_use``) or until ``valid_until`` (or until revoked)."""

    service_id: Id
    purpose: Text
    datasets: list[DatasetId] | None = Field(default=None, max_length=100)
    valid_until: date | None = None
    single_use: bool = False


class ConsentEventPublic(BaseModel):
    version: int
    event: str
    at: datetime
    by_role: str
    on_behalf_of: bool


class ConsentPublic(BaseModel):
    id: str
    service_id: str
    purpose: str
    datasets: list[str] | None
    single_use: bool
    valid_until: date | None
    status: str = Field(description="given, used, revoked or expired")
    version: int
    given_at: datetime
    revoked_at: datetime | None
    receipt: str
    receipt_signature: str
    history: list[ConsentEventPublic]


def _event(event: ConsentEvent) -> ConsentEventPublic:
    return ConsentEventPublic(version=event.version, event=event.event, at=event.at,
                              by_role=event.actor_role,
                              on_behalf_of=event.on_behalf_of is not None)


def consent_public(row: Consent, *, base: str, today: date) -> ConsentPublic:
    return ConsentPublic(
        id=row.id, service_id=row.service_id, purpose=row.purpose, datasets=row.datasets,
        single_use=row.single_use, valid_until=row.valid_until,
        status=consent_status(row, today), version=row.version, given_at=row.given_at,
        revoked_at=row.revoked_at, receipt=f"{base}/{row.id}/receipt",
        receipt_signature=f"{base}/{row.id}/receipt.minisig",
        history=[_event(e) for e in row.events],
    )


class MandateCreate(_Strict):
    """Let ``representative`` (their login subject) act for you."""

    representative: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    rights: list[Literal["request", "push"]] = Field(min_length=1, max_length=2)
    valid_until: AwareDatetime
    valid_from: AwareDatetime | None = None
    datasets: list[DatasetId] | None = Field(default=None, max_length=100)
    services: list[Id] | None = Field(default=None, max_length=100)


class MandatePublic(BaseModel):
    id: str
    subject: str = Field(description="The citizen's CPR number, masked.")
    representative: str
    rights: list[str]
    datasets: list[str] | None
    services: list[str] | None
    valid_from: datetime
    valid_until: datetime
    revoked_at: datetime | None
    valid: bool


def mandate_public(row: Mandate, now: datetime) -> MandatePublic:
    from exporter.cpr import Cpr

    return MandatePublic(
        id=row.id, subject=Cpr(row.subject_cpr).masked, representative=row.representative,
        rights=row.rights, datasets=row.datasets, services=row.services,
        valid_from=row.valid_from, valid_until=row.valid_until, revoked_at=row.revoked_at,
        valid=row.revoked_at is None and row.valid_from <= now < row.valid_until,
    )


class DeliveryCreate(_Strict):
    """Push a ready package to a service; under ``consent_id``, or the newest consent
    for that service that covers the package."""

    request_id: Id
    service_id: Id
    consent_id: Id | None = None


class RepresentativeDeliveryCreate(_Strict):
    cpr: Annotated[str, StringConstraints(max_length=11)]
    request_id: Id
    service_id: Id


class AttemptPublic(BaseModel):
    attempt: int
    started_at: datetime
    finished_at: datetime
    outcome: str
    status_code: int | None
    error: str | None
    sha256: str | None
    bytes_sent: int


class DeliveryPublic(BaseModel):
    id: str
    request_id: str
    service_id: str
    consent_id: str | None
    mandate_id: str | None
    requested_by_role: str
    state: str
    attempts: int
    next_attempt_at: datetime | None
    created_at: datetime
    finished_at: datetime | None
    size: int | None
    sha256: str | None
    last_status: int | None
    error: str | None
    receipts: list[AttemptPublic]


def delivery_public(row: Delivery) -> DeliveryPublic:
    return DeliveryPublic(
        id=row.id, request_id=row.request_id, service_id=row.service_id,
        consent_id=row.consent_id, mandate_id=row.mandate_id,
        requested_by_role=row.requested_by_role, state=row.state, attempts=row.attempt,
        next_attempt_at=row.next_attempt_at if row.state == "retry_wait" else None,
        created_at=row.created_at, finished_at=row.finished_at, size=row.size,
        sha256=row.sha256, last_status=row.last_status, error=row.last_error,
        receipts=[AttemptPublic(
            attempt=a.attempt, started_at=a.started_at, finished_at=a.finished_at,
            outcome=a.outcome, status_code=a.status_code, error=a.error, sha256=a.sha256,
            bytes_sent=a.bytes_sent) for a in row.attempts],
    )
