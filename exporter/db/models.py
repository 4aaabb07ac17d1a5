"""The service's tables: requests, their source tasks, packages and the audit log;
external services, consents, mandates and deliveries; the pages' login sessions;
citizens' flags on records and their own contributions, with evidence, and the
correction notices sent to services (Art. 19).

These are storage models. The API has its own schemas (``exporter.api.schemas``) and
the package its own record types (``formats.records``); none of them leak into the
others. Times are stored as UTC and come back timezone-aware on every backend.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

__all__ = [
    "AuditEvent",
    "AuditHead",
    "Base",
    "Consent",
    "ConsentEvent",
    "Contribution",
    "CorrectionNotice",
    "Delivery",
    "DeliveryAttempt",
    "Evidence",
    "ExternalService",
    "Flag",
    "FlagStatement",
    "LoginAttempt",
    "Mandate",
    "OverviewCache",
    "Package",
    "Request",
    "SourceTask",
    "UTCDateTime",
    "WebSession",
    "table_of",
]


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON,
        list[Any]: JSON,
    }


def table_of(model: type[Base]) -> Table:
    """A model's table, for Core statements (cheaper than the ORM's on hot paths)."""
    table = model.__table__
    assert isinstance(table, Table)
    return table


FAILING_TASK = text(
    "state = 'failed' OR (state IN ('pending', 'running') AND last_error IS NOT NULL)")
"""A source task that failed, or failed once and is being tried again."""
OPEN_REQUEST = text(
    "state IN ('received', 'collecting', 'assembling', 'failed', 'ready_with_gaps')")
"""Requests that are work: still running, failed, or answered with gaps to mend."""


class Request(Base):
    """An access request (GDPR Art. 15) for one data subject."""

    __tablename__ = "requests"
    __table_args__ = (
        UniqueConstraint("requested_by", "idempotency_key", name="uq_requests_idempotency"),
        Index("ix_requests_state_deadline", "state", "deadline"),
        # The console's work queue: open requests by their deadline, read in pages.
        Index("ix_requests_queue", func.coalesce(text("extended_deadline"), text("deadline")),
              "id", postgresql_where=OPEN_REQUEST, sqlite_where=OPEN_REQUEST),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    subject_cpr: Mapped[str] = mapped_column(String(10), index=True)
    requested_by: Mapped[str] = mapped_column(String(200))
    requester_role: Mapped[str] = mapped_column(String(20))
    datasets: Mapped[list[Any] | None] = mapped_column(JSON)
    period_from: Mapped[date | None] = mapped_column(Date)
    period_to: Mapped[date | None] = mapped_column(Date)
    received_at: Mapped[datetime]
    deadline: Mapped[date] = mapped_column(Date)
    extended_deadline: Mapped[date | None] = mapped_column(Date)
    extension_reason: Mapped[str | None] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(20), index=True)
    state_changed_at: Mapped[datetime]
    generation: Mapped[int] = mapped_column(Integer, default=1)
    assemble_attempt: Mapped[int] = mapped_column(Integer, default=0)
    assemble_lease_until: Mapped[datetime | None]
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    body_hash: Mapped[str | None] = mapped_column(String(64))
    last_error: Mapped[str | None] = mapped_column(Text)
    assurance_level: Mapped[str | None] = mapped_column(String(20))
    """The NSIS level of the login that asked (``Low``, ``Substantial``, ``High``);
    empty for requests made through the API with a token."""
    channel: Mapped[str | None] = mapped_column(String(20))
    """How a request registered by a caseworker came in (``phone``, ``letter``, ...)."""
    channel_note: Mapped[str | None] = mapped_column(Text)
    """The caseworker's note on it (who asked, and why this way)."""

    tasks: Mapped[list[SourceTask]] = relationship(
        back_populates="request", order_by="SourceTask.source_id", lazy="selectin"
    )
    package: Mapped[Package | None] = relationship(back_populates="request", lazy="selectin")

    @property
    def effective_deadline(self) -> date:
        return self.extended_deadline or self.deadline


class SourceTask(Base):
    """Collecting one source for one request; holds counts, never records."""

    __tablename__ = "source_tasks"
    __table_args__ = (
        UniqueConstraint("request_id", "source_id", name="uq_task_source"),
        Index("ix_source_tasks_finished", "finished_at", "id"),
        # The work queue's "waiting on a source": few rows, found without a scan.
        Index("ix_source_tasks_failing", "request_id", postgresql_where=FAILING_TASK,
              sqlite_where=FAILING_TASK),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    request_id: Mapped[str] = mapped_column(ForeignKey("requests.id", ondelete="CASCADE"))
    source_id: Mapped[str] = mapped_column(String(40))
    state: Mapped[str] = mapped_column(String(20), index=True)
    attempt: Mapped[int] = mapped_column(Integer, default=0)
    lease_until: Mapped[datetime | None]
    enqueued_at: Mapped[datetime | None]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    records_fetched: Mapped[int] = mapped_column(BigInteger, default=0)
    records_accepted: Mapped[int] = mapped_column(BigInteger, default=0)
    records_rejected: Mapped[int] = mapped_column(BigInteger, default=0)
    stage_attempt: Mapped[int | None] = mapped_column(Integer)
    results: Mapped[list[Any] | None] = mapped_column(JSON)

    request: Mapped[Request] = relationship(back_populates="tasks")


class Package(Base):
    """The encrypted package of a request, in the blob store."""

    __tablename__ = "packages"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    request_id: Mapped[str] = mapped_column(
        ForeignKey("requests.id", ondelete="CASCADE"), unique=True
    )
    blob_key: Mapped[str] = mapped_column(String(300))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    plain_size: Mapped[int] = mapped_column(BigInteger)
    vault_recipient: Mapped[str] = mapped_column(String(100))
    signing_key_id: Mapped[str] = mapped_column(String(16))
    complete: Mapped[bool]
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)
    deleted_at: Mapped[datetime | None]

    request: Mapped[Request] = relationship(back_populates="package")


class AuditEvent(Base):
    """One entry of the append-only, hash-chained audit log.

    ``id`` is the order events were written in. ``seq``, ``prev_hash`` and ``hash`` are
    the event's place in the chain, set once when a sealer chains it (see
    ``exporter.service.audit``); until then they are empty.
    """

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_unsealed", "id", postgresql_where=text("seq IS NULL"),
              sqlite_where=text("seq IS NULL")),
        Index("ix_audit_events_on_behalf_of", "on_behalf_of"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                    primary_key=True, autoincrement=True)
    seq: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(200))
    actor_role: Mapped[str] = mapped_column(String(20))
    on_behalf_of: Mapped[str | None] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(60))
    request_id: Mapped[str | None] = mapped_column(String(36), index=True)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    hash: Mapped[str | None] = mapped_column(String(64), unique=True)


class AuditHead(Base):
    """A single row holding the chain's newest place and hash: locking it serialises
    sealing."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, default=0)
    hash: Mapped[str] = mapped_column(String(64))


class ExternalService(Base):
    """A personal-data service citizens may push packages to (the registry).

    S3 credentials are never stored in plain text: either age-encrypted to the vault
    key (``s3_credentials_age``) or named by environment variable prefix
    (``s3_credentials_env``); with neither, the standard AWS chain is used.
    """

    __tablename__ = "external_services"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(Text)
    homepage: Mapped[str] = mapped_column(String(500))
    privacy_policy: Mapped[str] = mapped_column(String(500))
    age_recipient: Mapped[str] = mapped_column(String(100))
    target: Mapped[str] = mapped_column(String(10))
    webhook_url: Mapped[str | None] = mapped_column(String(1000))
    s3_bucket: Mapped[str | None] = mapped_column(String(63))
    s3_prefix: Mapped[str | None] = mapped_column(String(300))
    s3_endpoint_url: Mapped[str | None] = mapped_column(String(500))
    s3_region: Mapped[str | None] = mapped_column(String(40))
    s3_credentials_age: Mapped[bytes | None] = mapped_column(LargeBinary)
    s3_credentials_env: Mapped[str | None] = mapped_column(String(100))
    state: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Consent(Base):
    """A citizen's consent to push chosen datasets to one service, for a purpose."""

    __tablename__ = "consents"
    __table_args__ = (Index("ix_consents_subject_service", "subject_cpr", "service_id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    subject_cpr: Mapped[str] = mapped_column(String(10))
    service_id: Mapped[str] = mapped_column(ForeignKey("external_services.id"))
    datasets: Mapped[list[Any] | None] = mapped_column(JSON)
    purpose: Mapped[str] = mapped_column(Text)
    single_use: Mapped[bool]
    valid_until: Mapped[date | None] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(20))
    version: Mapped[int] = mapped_column(Integer)
    given_at: Mapped[datetime]
    given_by: Mapped[str] = mapped_column(String(200))
    given_by_role: Mapped[str] = mapped_column(String(20))
    used_by_delivery: Mapped[str | None] = mapped_column(String(36))
    revoked_at: Mapped[datetime | None]
    receipt: Mapped[bytes] = mapped_column(LargeBinary)
    receipt_signature: Mapped[str] = mapped_column(Text)

    # Loaded only where shown (selectinload): jobs that check a consent do not need it.
    events: Mapped[list[ConsentEvent]] = relationship(
        order_by="ConsentEvent.version", lazy="raise_on_sql"
    )


class ConsentEvent(Base):
    """One step of a consent's history (given, used, revoked), with its signed receipt."""

    __tablename__ = "consent_events"
    __table_args__ = (UniqueConstraint("consent_id", "version", name="uq_consent_version"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    consent_id: Mapped[str] = mapped_column(ForeignKey("consents.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    event: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(200))
    actor_role: Mapped[str] = mapped_column(String(20))
    on_behalf_of: Mapped[str | None] = mapped_column(String(200))
    receipt: Mapped[bytes] = mapped_column(LargeBinary)
    receipt_signature: Mapped[str] = mapped_column(Text)


class Mandate(Base):
    """A power of attorney (fuldmagt): a representative may act for a citizen."""

    __tablename__ = "mandates"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    subject_cpr: Mapped[str] = mapped_column(String(10), index=True)
    representative: Mapped[str] = mapped_column(String(200), index=True)
    rights: Mapped[list[Any]] = mapped_column(JSON)
    datasets: Mapped[list[Any] | None] = mapped_column(JSON)
    services: Mapped[list[Any] | None] = mapped_column(JSON)
    valid_from: Mapped[datetime]
    valid_until: Mapped[datetime]
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(200))
    created_by_role: Mapped[str] = mapped_column(String(20))
    revoked_at: Mapped[datetime | None]
    subject_name: Mapped[str | None] = mapped_column(String(200))
    """The citizen's name as their login gave it, so the representative can tell whom
    they act for without seeing a CPR number."""
    representative_name: Mapped[str | None] = mapped_column(String(200))
    """The name the citizen gave the representative (or their login's name), shown in
    the citizen's history of what was done for them."""


class Delivery(Base):
    """Pushing one package to one service, under a consent or a mandate."""

    __tablename__ = "deliveries"
    __table_args__ = (Index("ix_deliveries_state_next", "state", "next_attempt_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    request_id: Mapped[str] = mapped_column(ForeignKey("requests.id", ondelete="CASCADE"),
                                            index=True)
    package_id: Mapped[str] = mapped_column(String(36))
    blob_key: Mapped[str] = mapped_column(String(300))
    service_id: Mapped[str] = mapped_column(ForeignKey("external_services.id"), index=True)
    consent_id: Mapped[str | None] = mapped_column(ForeignKey("consents.id"), index=True)
    mandate_id: Mapped[str | None] = mapped_column(ForeignKey("mandates.id"), index=True)
    subject_cpr: Mapped[str] = mapped_column(String(10), index=True)
    requested_by: Mapped[str] = mapped_column(String(200))
    requested_by_role: Mapped[str] = mapped_column(String(20))
    state: Mapped[str] = mapped_column(String(20))
    attempt: Mapped[int] = mapped_column(Integer, default=0)
    attempt_base: Mapped[int] = mapped_column(Integer, default=0)
    lease_until: Mapped[datetime | None]
    enqueued_at: Mapped[datetime | None]
    next_attempt_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    header: Mapped[bytes | None] = mapped_column(LargeBinary)
    size: Mapped[int | None] = mapped_column(BigInteger)
    sha256: Mapped[str | None] = mapped_column(String(64))
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)

    attempts: Mapped[list[DeliveryAttempt]] = relationship(
        order_by="DeliveryAttempt.attempt", lazy="raise_on_sql"
    )


class DeliveryAttempt(Base):
    """The receipt of one attempt: when, what answered (status code) and what was sent."""

    __tablename__ = "delivery_attempts"
    __table_args__ = (UniqueConstraint("delivery_id", "attempt", name="uq_delivery_attempt"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    delivery_id: Mapped[str] = mapped_column(ForeignKey("deliveries.id", ondelete="CASCADE"))
    attempt: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime]
    outcome: Mapped[str] = mapped_column(String(20))
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    sha256: Mapped[str | None] = mapped_column(String(64))
    bytes_sent: Mapped[int] = mapped_column(BigInteger, default=0)
    retry_after: Mapped[float | None]


class LoginAttempt(Base):
    """A login begun and not yet finished: what the callback checks, used once.

    Keyed by the SHA-256 of ``state``; ``browser`` is the SHA-256 of the cookie the
    login began with, so a callback only completes in the browser that started it.
    """

    __tablename__ = "login_attempts"

    state_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    browser: Mapped[str] = mapped_column(String(64))
    audience: Mapped[str] = mapped_column(String(20))
    nonce: Mapped[str] = mapped_column(String(100))
    code_verifier: Mapped[str] = mapped_column(String(128))
    next_path: Mapped[str] = mapped_column(String(500))
    language: Mapped[str] = mapped_column(String(2))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)


class WebSession(Base):
    """A logged-in browser. The cookie holds a random token; the row is keyed by its
    SHA-256, so the table alone lets no one in. The CPR number stays here, never in the
    cookie, a URL or a page title."""

    __tablename__ = "web_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    audience: Mapped[str] = mapped_column(String(20))
    issuer: Mapped[str] = mapped_column(String(500))
    subject: Mapped[str] = mapped_column(String(255))
    cpr: Mapped[str | None] = mapped_column(String(10))
    name: Mapped[str] = mapped_column(String(200))
    assurance_level: Mapped[str] = mapped_column(String(20))
    language: Mapped[str] = mapped_column(String(2))
    csrf_token: Mapped[str] = mapped_column(String(64))
    acting_for: Mapped[str | None] = mapped_column(String(10))
    acting_name: Mapped[str | None] = mapped_column(String(200))
    roles: Mapped[list[Any] | None] = mapped_column(JSON)
    units: Mapped[list[Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)
    posts_since: Mapped[datetime]
    posts: Mapped[int] = mapped_column(Integer, default=0)


class OverviewCache(Base):
    """A citizen's overview (what the sources hold, from a dry run) for a few minutes,
    age-encrypted to the vault key and keyed by a keyed hash of the CPR number."""

    __tablename__ = "overview_cache"

    subject_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)
    payload: Mapped[bytes] = mapped_column(LargeBinary)


OPEN_FLAG = text("state IN ('received', 'in_review')")


class Flag(Base):
    """A citizen's objection to one record, or one field of it (GDPR Art. 16 and 18).

    ``record`` keeps the record as the package showed it, for the caseworker. At most
    one flag per record is open (received or in review) at a time; a second objection
    adds a statement to it.
    """

    __tablename__ = "flags"
    __table_args__ = (
        Index("ix_flags_open_record", "subject_cpr", "record_id", unique=True,
              postgresql_where=OPEN_FLAG, sqlite_where=OPEN_FLAG),
        Index("ix_flags_state_deadline", "state", "deadline"),
        Index("ix_flags_queue", func.coalesce(text("extended_deadline"), text("deadline")),
              "id", postgresql_where=OPEN_FLAG, sqlite_where=OPEN_FLAG),
        Index("ix_flags_unit_queue", "unit",
              func.coalesce(text("extended_deadline"), text("deadline")), "id",
              postgresql_where=OPEN_FLAG, sqlite_where=OPEN_FLAG),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    subject_cpr: Mapped[str] = mapped_column(String(10), index=True)
    record_id: Mapped[str] = mapped_column(String(500))
    field: Mapped[str | None] = mapped_column(String(60))
    package_id: Mapped[str] = mapped_column(String(36))
    dataset_id: Mapped[str] = mapped_column(String(40))
    source_id: Mapped[str] = mapped_column(String(40))
    unit: Mapped[str | None] = mapped_column(String(100))
    """The unit responsible for the record (a case's), whose caseworkers answer."""
    record: Mapped[dict[str, Any]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(20))
    received_at: Mapped[datetime]
    deadline: Mapped[date] = mapped_column(Date)
    extended_deadline: Mapped[date | None] = mapped_column(Date)
    extension_reason: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(200))
    created_by_role: Mapped[str] = mapped_column(String(20))
    assigned_to: Mapped[str | None] = mapped_column(String(200))
    decided_at: Mapped[datetime | None]
    decided_by: Mapped[str | None] = mapped_column(String(200))
    answer: Mapped[str | None] = mapped_column(Text)
    state_changed_at: Mapped[datetime]

    statements: Mapped[list[FlagStatement]] = relationship(
        order_by="FlagStatement.at", lazy="selectin")
    evidence: Mapped[list[Evidence]] = relationship(order_by="Evidence.uploaded_at",
                                                    lazy="selectin")

    @property
    def effective_deadline(self) -> date:
        return self.extended_deadline or self.deadline


class FlagStatement(Base):
    """What the citizen says is wrong, and what is right; one per objection."""

    __tablename__ = "flag_statements"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    flag_id: Mapped[str] = mapped_column(ForeignKey("flags.id", ondelete="CASCADE"),
                                         index=True)
    at: Mapped[datetime]
    author: Mapped[str] = mapped_column(String(200))
    author_role: Mapped[str] = mapped_column(String(20))
    wrong: Mapped[str] = mapped_column(Text)
    right: Mapped[str | None] = mapped_column(Text)


class Contribution(Base):
    """Information a citizen adds of their own: a statement, a correction of their own
    account, a document. It is theirs: later packages carry it as "Dine bidrag"."""

    __tablename__ = "contributions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    subject_cpr: Mapped[str] = mapped_column(String(10), index=True)
    about: Mapped[str | None] = mapped_column(String(500))
    kind: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(200))
    created_by_role: Mapped[str] = mapped_column(String(20))
    seen_at: Mapped[datetime | None] = mapped_column(index=True)
    seen_by: Mapped[str | None] = mapped_column(String(200))
    withdrawn_at: Mapped[datetime | None]

    evidence: Mapped[list[Evidence]] = relationship(order_by="Evidence.uploaded_at",
                                                    lazy="selectin")


class Evidence(Base):
    """A file a citizen gave with a flag or a contribution (PDF, JPEG or PNG, checked
    by its bytes), age-encrypted in the blob store."""

    __tablename__ = "evidence"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    subject_cpr: Mapped[str] = mapped_column(String(10), index=True)
    flag_id: Mapped[str | None] = mapped_column(ForeignKey("flags.id", ondelete="CASCADE"),
                                                index=True)
    contribution_id: Mapped[str | None] = mapped_column(
        ForeignKey("contributions.id", ondelete="CASCADE"), index=True)
    blob_key: Mapped[str] = mapped_column(String(300))
    media_type: Mapped[str] = mapped_column(String(40))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    filename: Mapped[str] = mapped_column(String(120))
    uploaded_at: Mapped[datetime]
    uploaded_by: Mapped[str] = mapped_column(String(200))


class CorrectionNotice(Base):
    """Telling a service that received a record that it was corrected (Art. 19): one per
    flag and delivery, sent on the delivery's channel like a push."""

    __tablename__ = "correction_notices"
    __table_args__ = (
        UniqueConstraint("flag_id", "delivery_id", name="uq_notice_flag_delivery"),
        Index("ix_correction_notices_state_next", "state", "next_attempt_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    flag_id: Mapped[str] = mapped_column(ForeignKey("flags.id", ondelete="CASCADE"),
                                         index=True)
    delivery_id: Mapped[str] = mapped_column(ForeignKey("deliveries.id", ondelete="CASCADE"))
    service_id: Mapped[str] = mapped_column(ForeignKey("external_services.id"))
    state: Mapped[str] = mapped_column(String(20))
    attempt: Mapped[int] = mapped_column(Integer, default=0)
    lease_until: Mapped[datetime | None]
    enqueued_at: Mapped[datetime | None]
    next_attempt_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
