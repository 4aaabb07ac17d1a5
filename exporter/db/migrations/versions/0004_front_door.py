"""the citizen's front door: login attempts, sessions, the overview cache

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06

Requests record the assurance level of the login that made them; mandates keep the
names shown to the people on both ends; the audit log can be searched by whom an action
was done for (the citizen's own history).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "login_attempts",
        sa.Column("state_hash", sa.String(length=64), primary_key=True),
        sa.Column("browser", sa.String(length=64), nullable=False),
        sa.Column("audience", sa.String(length=20), nullable=False),
        sa.Column("nonce", sa.String(length=100), nullable=False),
        sa.Column("code_verifier", sa.String(length=128), nullable=False),
        sa.Column("next_path", sa.String(length=500), nullable=False),
        sa.Column("language", sa.String(length=2), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("expires_at", _TIME, nullable=False),
    )
    op.create_index("ix_login_attempts_expires_at", "login_attempts", ["expires_at"])
    op.create_table(
        "web_sessions",
        sa.Column("id", sa.String(length=64), primary_key=True),
        sa.Column("audience", sa.String(length=20), nullable=False),
        sa.Column("issuer", sa.String(length=500), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("cpr", sa.String(length=10), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("assurance_level", sa.String(length=20), nullable=False),
        sa.Column("language", sa.String(length=2), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("acting_for", sa.String(length=10), nullable=True),
        sa.Column("acting_name", sa.String(length=200), nullable=True),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("last_seen_at", _TIME, nullable=False),
        sa.Column("expires_at", _TIME, nullable=False),
        sa.Column("posts_since", _TIME, nullable=False),
        sa.Column("posts", sa.Integer(), nullable=False),
    )
    op.create_index("ix_web_sessions_expires_at", "web_sessions", ["expires_at"])
    op.create_table(
        "overview_cache",
        sa.Column("subject_key", sa.String(length=64), primary_key=True),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("expires_at", _TIME, nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
    )
    op.create_index("ix_overview_cache_expires_at", "overview_cache", ["expires_at"])
    with op.batch_alter_table("requests") as batch:
        batch.add_column(sa.Column("assurance_level", sa.String(length=20), nullable=True))
    with op.batch_alter_table("mandates") as batch:
        batch.add_column(sa.Column("subject_name", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("representative_name", sa.String(length=200),
                                   nullable=True))
    op.create_index("ix_audit_events_on_behalf_of", "audit_events", ["on_behalf_of"])


def downgrade() -> None:
    op.drop_index("ix_audit_events_on_behalf_of", table_name="audit_events")
    with op.batch_alter_table("mandates") as batch:
        batch.drop_column("representative_name")
        batch.drop_column("subject_name")
    with op.batch_alter_table("requests") as batch:
        batch.drop_column("assurance_level")
    op.drop_index("ix_overview_cache_expires_at", table_name="overview_cache")
    op.drop_table("overview_cache")
    op.drop_index("ix_web_sessions_expires_at", table_name="web_sessions")
    op.drop_table("web_sessions")
    op.drop_index("ix_login_attempts_expires_at", table_name="login_attempts")
    op.drop_table("login_attempts")
