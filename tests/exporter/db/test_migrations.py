"""Migrations keep what is there: the audit chain survives revision 0003 both ways."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Engine, select, text

from exporter.db import make_engine, make_sessionmaker
from exporter.db.migrate import alembic_config, upgrade
from exporter.db.models import AuditEvent
from exporter.service.audit import GENESIS, Actor, _digest, record, seal_all, verify_chain


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Engine:
    if request.param == "sqlite":
        return make_engine(f"sqlite:///{tmp_path / 'egnedata.db'}")
    return make_engine(request.getfixturevalue("postgres_schema_url"))


def _old_style_events(engine: Engine, count: int) -> None:
    """Events as revision 0002 wrote them: each chained as it was appended."""
    prev = GENESIS
    with engine.begin() as conn:
        for seq in range(1, count + 1):
            at = datetime(2026, 11, 1, 12, seq, tzinfo=UTC)
            event = {"seq": seq, "at": at.isoformat(timespec="microseconds"),
                     "actor": "cw-1", "actor_role": "caseworker", "on_behalf_of": None,
                     "action": "request.received", "request_id": None, "detail": {"n": seq}}
            digest = _digest(prev, event)
            conn.execute(text(
                "INSERT INTO audit_events (seq, at, actor, actor_role, action, detail, "
                "prev_hash, hash) VALUES (:seq, :at, 'cw-1', 'caseworker', "
                "'request.received', :detail, :prev, :hash)"),
                {"seq": seq, "at": at, "detail": f'{{"n": {seq}}}', "prev": prev,
                 "hash": digest})
            prev = digest
        conn.execute(text("UPDATE audit_head SET seq = :seq, hash = :hash WHERE id = 1"),
                     {"seq": count, "hash": prev})


def test_the_audit_chain_survives_the_upgrade_and_the_downgrade(engine: Engine) -> None:
    upgrade(engine, "0002")
    _old_style_events(engine, 3)
    upgrade(engine)
    sessions = make_sessionmaker(engine)
    with sessions() as session:
        check = verify_chain(session)
        assert check.ok and check.events == 3, check
        assert list(session.execute(select(AuditEvent.id, AuditEvent.seq)
                                    .order_by(AuditEvent.id))) == [(1, 1), (2, 2), (3, 3)]
    with sessions.begin() as session:  # new events continue the chain after the old ones
        record(session, Actor("cw-2", "caseworker"), "request.cancelled")
    assert seal_all(sessions.begin) == 1
    with sessions() as session:
        check = verify_chain(session)
        new_id = session.scalar(select(AuditEvent.id).where(AuditEvent.seq == 4))
    assert check.ok and check.events == 4 and new_id == 4
    with sessions.begin() as session:  # written, not sealed: not kept by a downgrade
        record(session, Actor("cw-2", "caseworker"), "request.cancelled")

    command.downgrade(alembic_config(engine), "0002")
    with engine.connect() as conn:
        seqs = conn.execute(text("SELECT seq FROM audit_events ORDER BY seq")).scalars().all()
    assert seqs == [1, 2, 3, 4]
    upgrade(engine)
    with sessions() as session:
        assert verify_chain(session).ok
    engine.dispose()


# The work queue's indexes are on an expression, which SQLite cannot report back.
@pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression")
@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
def test_the_migrations_make_the_tables_the_models_describe(engine: Engine) -> None:
    """Nothing in the models that a migration does not make (and the other way round)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from exporter.db.models import Base

    upgrade(engine)
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    # Column types the two backends report in their own words are not differences.
    real = [d for d in differences if not (isinstance(d, list) and d and d[0][0] in (
        "modify_type", "modify_nullable", "modify_default"))]
    assert real == []


def test_revisions_0004_and_0005_go_down_and_up_again(engine: Engine) -> None:
    upgrade(engine)
    config = alembic_config(engine)
    command.downgrade(config, "0003")  # through 0005 and 0004
    with engine.connect() as connection:
        tables = set(connection.dialect.get_table_names(connection))
    assert "web_sessions" not in tables and "requests" in tables
    command.upgrade(config, "head")
    with engine.connect() as connection:
        assert "web_sessions" in set(connection.dialect.get_table_names(connection))
