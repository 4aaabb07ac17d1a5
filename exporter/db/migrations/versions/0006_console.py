"""the console: employees' sessions (roles, units), the unit answering a flag, how a
registered request came in, and the indexes of the work queue and of data quality

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_OPEN_FLAG = sa.text("state IN ('received', 'in_review')")
_OPEN_REQUEST = sa.text(
    "state IN ('received', 'collecting', 'assembling', 'failed', 'ready_with_gaps')")
_FAILING = sa.text(
    "state = 'failed' OR (state IN ('pending', 'running') AND last_error IS NOT NULL)")
_DUE = sa.text("coalesce(extended_deadline, deadline)")


def upgrade() -> None:
    with op.batch_alter_table("web_sessions") as table:
        table.add_column(sa.Column("roles", sa.JSON(), nullable=True))
        table.add_column(sa.Column("units", sa.JSON(), nullable=True))
    with op.batch_alter_table("flags") as table:
        table.add_column(sa.Column("unit", sa.String(length=100), nullable=True))
    with op.batch_alter_table("requests") as table:
        table.add_column(sa.Column("channel", sa.String(length=20), nullable=True))
        table.add_column(sa.Column("channel_note", sa.Text(), nullable=True))
    op.create_index("ix_requests_queue", "requests", [_DUE, "id"],
                    postgresql_where=_OPEN_REQUEST, sqlite_where=_OPEN_REQUEST)
    op.create_index("ix_flags_queue", "flags", [_DUE, "id"],
                    postgresql_where=_OPEN_FLAG, sqlite_where=_OPEN_FLAG)
    op.create_index("ix_flags_unit_queue", "flags", ["unit", _DUE, "id"],
                    postgresql_where=_OPEN_FLAG, sqlite_where=_OPEN_FLAG)
    op.create_index("ix_source_tasks_finished", "source_tasks", ["finished_at", "id"])
    op.create_index("ix_source_tasks_failing", "source_tasks", ["request_id"],
                    postgresql_where=_FAILING, sqlite_where=_FAILING)


def downgrade() -> None:
    op.drop_index("ix_source_tasks_failing", table_name="source_tasks")
    op.drop_index("ix_source_tasks_finished", table_name="source_tasks")
    op.drop_index("ix_flags_unit_queue", table_name="flags")
    op.drop_index("ix_flags_queue", table_name="flags")
    op.drop_index("ix_requests_queue", table_name="requests")
    with op.batch_alter_table("requests") as table:
        table.drop_column("channel_note")
        table.drop_column("channel")
    with op.batch_alter_table("flags") as table:
        table.drop_column("unit")
    with op.batch_alter_table("web_sessions") as table:
        table.drop_column("units")
        table.drop_column("roles")
