"""The service's tables: requests, their source tasks, packages and the audit log.

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
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

__all__ = ["AuditEvent", "AuditHead", "Base", "Package", "Request", "SourceTask", "UTCDateTime"]


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


class Request(Base):
    """An access request (GDPR Art. 15) for one data subject."""

    __tablename__ = "requests"
    __table_args__ = (
        UniqueConstraint("requested_by", "idempotency_key", name="uq_requests_idempotency"),
        Index("ix_requests_state_deadline", "state", "deadline"),
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
    __table_args__ = (UniqueConstraint("request_id", "source_id", name="uq_task_source"),)

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
    """One entry of the append-only, hash-chained audit log."""

    __tablename__ = "audit_events"

    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                     primary_key=True, autoincrement=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(200))
    actor_role: Mapped[str] = mapped_column(String(20))
    on_behalf_of: Mapped[str | None] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(60))
    request_id: Mapped[str | None] = mapped_column(String(36), index=True)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class AuditHead(Base):
    """A single row holding the newest hash: locking it serialises appends."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, default=0)
    hash: Mapped[str] = mapped_column(String(64))
