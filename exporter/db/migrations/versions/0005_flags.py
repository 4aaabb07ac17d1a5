"""flags on records, the citizen's own contributions, evidence, correction notices

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_TIME = sa.DateTime(timezone=True)
_OPEN = sa.text("state IN ('received', 'in_review')")


def upgrade() -> None:
    op.create_table(
        "flags",
        sa.Column("id", sa.String(length=36), primary_key=True),
        sa.Column("subject_cpr", sa.String(length=10), nullable=False),
        sa.Column("record_id", sa.String(length=500), nullable=False),
        sa.Column("field", sa.String(length=60), nullable=True),
        sa.Column("package_id", sa.String(length=36), nullable=False),
        sa.Column("dataset_id", sa.String(length=40), nullable=False),
        sa.Column("source_id", sa.String(length=40), nullable=False),
        sa.Column("record", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("received_at", _TIME, nullable=False),
        sa.Column("deadline", sa.Date(), nullable=False),
        sa.Column("extended_deadline", sa.Date(), nullable=True),
        sa.Column("extension_reason", sa.Text(), nullable=True),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_by_role", sa.String(length=20), nullable=False),
        sa.Column("assigned_to", sa.String(length=200), nullable=True),
        sa.Column("decided_at", _TIME, nullable=True),
        sa.Column("decided_by", sa.String(length=200), nullable=True),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("state_changed_at", _TIME, nullable=False),
    )
    op.create_index("ix_flags_subject_cpr", "flags", ["subject_cpr"])
    op.create_index("ix_flags_state_deadline", "flags", ["state", "deadline"])
    op.create_index("ix_flags_open_record", "flags", ["subject_cpr", "record_id"], unique=True,
                    postgresql_where=_OPEN, sqlite_where=_OPEN)
    op.create_table(
        "flag_statements",
        sa.Column("id", sa.String(length=36), primary_key=True),
        sa.Column("flag_id", sa.String(length=36),
                  sa.ForeignKey("flags.id", ondelete="CASCADE"), nullable=False),
        sa.Column("at", _TIME, nullable=False),
        sa.Column("author", sa.String(length=200), nullable=False),
        sa.Column("author_role", sa.String(length=20), nullable=False),
        sa.Column("wrong", sa.Text(), nullable=False),
        sa.Column("right", sa.Text(), nullable=True),
    )
    op.create_index("ix_flag_statements_flag_id", "flag_statements", ["flag_id"])
    op.create_table(
        "contributions",
        sa.Column("id", sa.String(length=36), primary_key=True),
        sa.Column("subject_cpr", sa.String(length=10), nullable=False),
        sa.Column("about", sa.String(length=500), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_by_role", sa.String(length=20), nullable=False),
        sa.Column("seen_at", _TIME, nullable=True),
        sa.Column("seen_by", sa.String(length=200), nullable=True),
        sa.Column("withdrawn_at", _TIME, nullable=True),
    )
    op.create_index("ix_contributions_subject_cpr", "contributions", ["subject_cpr"])
    op.create_index("ix_contributions_seen_at", "contributions", ["seen_at"])
    op.create_table(
        "evidence",
        sa.Column("id", sa.String(length=36), primary_key=True),
        sa.Column("subject_cpr", sa.String(length=10), nullable=False),
        sa.Column("flag_id", sa.String(length=36),
                  sa.ForeignKey("flags.id", ondelete="CASCADE"), nullable=True),
        sa.Column("contribution_id", sa.String(length=36),
                  sa.ForeignKey("contributions.id", ondelete="CASCADE"), nullable=True),
        sa.Column("blob_key", sa.String(length=300), nullable=False),
        sa.Column("media_type", sa.String(length=40), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("filename", sa.String(length=120), nullable=False),
        sa.Column("uploaded_at", _TIME, nullable=False),
        sa.Column("uploaded_by", sa.String(length=200), nullable=False),
    )
    op.create_index("ix_evidence_subject_cpr", "evidence", ["subject_cpr"])
    op.create_index("ix_evidence_flag_id", "evidence", ["flag_id"])
    op.create_index("ix_evidence_contribution_id", "evidence", ["contribution_id"])
    op.create_table(
        "correction_notices",
        sa.Column("id", sa.String(length=36), primary_key=True),
        sa.Column("flag_id", sa.String(length=36),
                  sa.ForeignKey("flags.id", ondelete="CASCADE"), nullable=False),
        sa.Column("delivery_id", sa.String(length=36),
                  sa.ForeignKey("deliveries.id", ondelete="CASCADE"), nullable=False),
        sa.Column("service_id", sa.String(length=36),
                  sa.ForeignKey("external_services.id"), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("lease_until", _TIME, nullable=True),
        sa.Column("enqueued_at", _TIME, nullable=True),
        sa.Column("next_attempt_at", _TIME, nullable=True),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("finished_at", _TIME, nullable=True),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.UniqueConstraint("flag_id", "delivery_id", name="uq_notice_flag_delivery"),
    )
    op.create_index("ix_correction_notices_flag_id", "correction_notices", ["flag_id"])
    op.create_index("ix_correction_notices_state_next", "correction_notices",
                    ["state", "next_attempt_at"])


def downgrade() -> None:
    op.drop_table("correction_notices")
    op.drop_table("evidence")
    op.drop_table("contributions")
    op.drop_table("flag_statements")
    op.drop_index("ix_flags_open_record", table_name="flags")
    op.drop_table("flags")
