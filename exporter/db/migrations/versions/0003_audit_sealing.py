"""audit events are appended without a lock and sealed into the chain afterwards

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23

``audit_events`` gets an ``id`` (the order events were written in) as its key; ``seq``,
``prev_hash`` and ``hash`` (the event's place in the chain) stay empty until a sealer
chains the event. Events written before this revision keep their place: ``id = seq``.
The table is rebuilt (create, copy, swap), which both SQLite and PostgreSQL do alike.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_KEY = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_COPIED = "at, actor, actor_role, on_behalf_of, action, request_id, detail, prev_hash, hash"
_UNSEALED = sa.text("seq IS NULL")


def _event_columns(*, chained: bool) -> list[sa.Column[object]]:
    return [
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("actor_role", sa.String(length=20), nullable=False),
        sa.Column("on_behalf_of", sa.String(length=200), nullable=True),
        sa.Column("action", sa.String(length=60), nullable=False),
        sa.Column("request_id", sa.String(length=36), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=not chained),
        sa.Column("hash", sa.String(length=64), nullable=not chained),
    ]


def _swap(new: str, key: str, uniques: tuple[str, ...]) -> None:
    """Replace ``audit_events`` by ``new``, keeping the usual names on PostgreSQL."""
    op.drop_index("ix_audit_events_request_id", table_name="audit_events")
    op.drop_table("audit_events")
    op.rename_table(new, "audit_events")
    op.create_index("ix_audit_events_request_id", "audit_events", ["request_id"])
    if op.get_bind().dialect.name != "postgresql":
        return
    for suffix in ("pkey", *(f"{column}_key" for column in uniques)):
        op.execute(f"ALTER TABLE audit_events RENAME CONSTRAINT {new}_{suffix} "
                   f"TO audit_events_{suffix}")
    op.execute(f"ALTER SEQUENCE {new}_{key}_seq RENAME TO audit_events_{key}_seq")
    restart = f"SELECT setval('audit_events_{key}_seq', COALESCE(MAX({key}), 0) + 1, false)"
    op.execute(restart + " FROM audit_events")


def upgrade() -> None:
    op.create_table(
        "audit_events_v3",
        sa.Column("id", _KEY, autoincrement=True, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=True),
        *_event_columns(chained=False),
        sa.PrimaryKeyConstraint("id", name="audit_events_v3_pkey"),
        sa.UniqueConstraint("seq", name="audit_events_v3_seq_key"),
        sa.UniqueConstraint("hash", name="audit_events_v3_hash_key"),
    )
    op.execute(f"INSERT INTO audit_events_v3 (id, seq, {_COPIED}) "  # noqa: S608
               f"SELECT seq, seq, {_COPIED} FROM audit_events")
    _swap("audit_events_v3", "id", ("seq", "hash"))
    # The sealer's work list: events not yet in the chain.
    op.create_index("ix_audit_events_unsealed", "audit_events", ["id"],
                    postgresql_where=_UNSEALED, sqlite_where=_UNSEALED)


def downgrade() -> None:
    # Only sealed events have a place in the old table, where every event is chained.
    op.drop_index("ix_audit_events_unsealed", table_name="audit_events")
    op.create_table(
        "audit_events_v2",
        sa.Column("seq", _KEY, autoincrement=True, nullable=False),
        *_event_columns(chained=True),
        sa.PrimaryKeyConstraint("seq", name="audit_events_v2_pkey"),
        sa.UniqueConstraint("hash", name="audit_events_v2_hash_key"),
    )
    op.execute(f"INSERT INTO audit_events_v2 (seq, {_COPIED}) "  # noqa: S608
               f"SELECT seq, {_COPIED} FROM audit_events WHERE seq IS NOT NULL")
    _swap("audit_events_v2", "seq", ("hash",))
