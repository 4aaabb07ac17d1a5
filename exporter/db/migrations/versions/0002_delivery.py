"""external services, consents, mandates and deliveries

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "external_services",
        sa.Column("id", sa.String(length=36), primary_key=True),
        sa.Column("name", sa.String(length=200), nullable=False, unique=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("homepage", sa.String(length=500), nullable=False),
        sa.Column("privacy_policy", sa.String(length=500), nullable=False),
        sa.Column("age_recipient", sa.String(length=100), nullable=False),
        sa.Column("target", sa.String(length=10), nullable=False),
        sa.Column("webhook_url", sa.String(length=1000), nullable=True),
        sa.Column("s3_bucket", sa.String(length=63), nullable=True),
        sa.Column("s3_prefix", sa.String(length=300), nullable=True),
        sa.Column("s3_endpoint_url", sa.String(length=500), nullable=True),
        sa.Column("s3_region", sa.String(length=40), nullable=True),
        sa.Column("s3_credentials_age", sa.LargeBinary(), nullable=True),
        sa.Column("s3_credentials_env", sa.String(length=100), nullable=True),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("updated_at", _TIME, nullable=False),
    )
    op.create_table(
        "consents",
        sa.Column("id", sa.String(length=36), primary_key=True),
        sa.Column("subject_cpr", sa.String(length=10), nullable=False),
        sa.Column("service_id", sa.String(length=36), sa.ForeignKey("external_services.id"),
                  nullable=False),
        sa.Column("datasets", sa.JSON(), nullable=True),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("single_use", sa.Boolean(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("given_at", _TIME, nullable=False),
        sa.Column("given_by", sa.String(length=200), nullable=False),
        sa.Column("given_by_role", sa.String(length=20), nullable=False),
        sa.Column("used_by_delivery", sa.String(length=36), nullable=True),
        sa.Column("revoked_at", _TIME, nullable=True),
        sa.Column("receipt", sa.LargeBinary(), nullable=False),
        sa.Column("receipt_signature", sa.Text(), nullable=False),
    )
    op.create_index("ix_consents_subject_service", "consents", ["subject_cpr", "service_id"])
    op.create_table(
        "consent_events",
        sa.Column("id", sa.String(length=36), primary_key=True),
        sa.Column("consent_id", sa.String(length=36),
                  sa.ForeignKey("consents.id", ondelete="CASCADE"), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("event", sa.String(length=20), nullable=False),
        sa.Column("at", _TIME, nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("actor_role", sa.String(length=20), nullable=False),
        sa.Column("on_behalf_of", sa.String(length=200), nullable=True),
        sa.Column("receipt", sa.LargeBinary(), nullable=False),
        sa.Column("receipt_signature", sa.Text(), nullable=False),
        sa.UniqueConstraint("consent_id", "version", name="uq_consent_version"),
    )
    op.create_table(
        "mandates",
        sa.Column("id", sa.String(length=36), primary_key=True),
        sa.Column("subject_cpr", sa.String(length=10), nullable=False),
        sa.Column("representative", sa.String(length=200), nullable=False),
        sa.Column("rights", sa.JSON(), nullable=False),
        sa.Column("datasets", sa.JSON(), nullable=True),
        sa.Column("services", sa.JSON(), nullable=True),
        sa.Column("valid_from", _TIME, nullable=False),
        sa.Column("valid_until", _TIME, nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_by_role", sa.String(length=20), nullable=False),
        sa.Column("revoked_at", _TIME, nullable=True),
    )
    op.create_index("ix_mandates_subject_cpr", "mandates", ["subject_cpr"])
    op.create_index("ix_mandates_representative", "mandates", ["representative"])
    op.create_table(
        "deliveries",
        sa.Column("id", sa.String(length=36), primary_key=True),
        sa.Column("request_id", sa.String(length=36),
                  sa.ForeignKey("requests.id", ondelete="CASCADE"), nullable=False),
        sa.Column("package_id", sa.String(length=36), nullable=False),
        sa.Column("blob_key", sa.String(length=300), nullable=False),
        sa.Column("service_id", sa.String(length=36), sa.ForeignKey("external_services.id"),
                  nullable=False),
        sa.Column("consent_id", sa.String(length=36), sa.ForeignKey("consents.id"),
                  nullable=True),
        sa.Column("mandate_id", sa.String(length=36), sa.ForeignKey("mandates.id"),
                  nullable=True),
        sa.Column("subject_cpr", sa.String(length=10), nullable=False),
        sa.Column("requested_by", sa.String(length=200), nullable=False),
        sa.Column("requested_by_role", sa.String(length=20), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("attempt_base", sa.Integer(), nullable=False),
        sa.Column("lease_until", _TIME, nullable=True),
        sa.Column("enqueued_at", _TIME, nullable=True),
        sa.Column("next_attempt_at", _TIME, nullable=True),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("finished_at", _TIME, nullable=True),
        sa.Column("header", sa.LargeBinary(), nullable=True),
        sa.Column("size", sa.BigInteger(), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
    )
    for column in ("request_id", "service_id", "consent_id", "mandate_id", "subject_cpr"):
        op.create_index(f"ix_deliveries_{column}", "deliveries", [column])
    op.create_index("ix_deliveries_state_next", "deliveries", ["state", "next_attempt_at"])
    op.create_table(
        "delivery_attempts",
        sa.Column("id", sa.String(length=36), primary_key=True),
        sa.Column("delivery_id", sa.String(length=36),
                  sa.ForeignKey("deliveries.id", ondelete="CASCADE"), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("started_at", _TIME, nullable=False),
        sa.Column("finished_at", _TIME, nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("bytes_sent", sa.BigInteger(), nullable=False),
        sa.Column("retry_after", sa.Float(), nullable=True),
        sa.UniqueConstraint("delivery_id", "attempt", name="uq_delivery_attempt"),
    )


def downgrade() -> None:
    op.drop_table("delivery_attempts")
    op.drop_table("deliveries")
    op.drop_table("mandates")
    op.drop_table("consent_events")
    op.drop_table("consents")
    op.drop_table("external_services")
