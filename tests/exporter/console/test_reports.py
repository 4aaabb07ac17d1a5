"""Data quality, statistics and the audit log's export, from rows as the service writes
them: counts only, the right quantiles, and a signed export minisign verifies."""

from __future__ import annotations

import io
import shutil
import subprocess
import uuid
import zipfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from exporter.console.auditlog import AuditQuery, export_period, search_audit
from exporter.console.quality import data_quality
from exporter.console.stats import statistics_for
from exporter.db.models import Request, SourceTask
from exporter.service import audit
from exporter.service.audit import Actor, seal_all
from exporter.service.context import ServiceContext
from tests.exporter.console.test_work import CPR, add_request
from tests.exporter.service.conftest import ContextFactory

SECRET_TITLE = "Hemmelig titel 0101901234"


@pytest.fixture
def context(make_context: ContextFactory) -> ServiceContext:
    return make_context(manual=True)


def add_task(context: ServiceContext, finished: datetime, results: list[dict[str, object]]
             ) -> None:
    request_id = add_request(context, date(2026, 12, 1), "ready")
    with context.sessions.begin() as session:
        session.add(SourceTask(id=str(uuid.uuid4()), request_id=request_id,
                               source_id="sagsindeks", state="done", attempt=1,
                               finished_at=finished, results=results))


def result(fetched: int, rejected: int, reasons: dict[str, int], gap: str | None = None
           ) -> dict[str, object]:
    return {"dataset_id": "sager", "source_id": "sagsindeks", "record_type": "Case",
            "fetched": fetched, "accepted": fetched - rejected, "rejected": rejected,
            "reasons": reasons, "gap": gap}


def test_data_quality_counts_by_field_rule_gap_and_month(context: ServiceContext) -> None:
    add_task(context, datetime(2026, 10, 5, tzinfo=UTC),
             [result(10, 2, {"title: maxLength": 1, "(record): not valid JSON": 1})])
    add_task(context, datetime(2026, 11, 5, tzinfo=UTC),
             [result(20, 1, {"title: maxLength": 1}), result(0, 0, {}, gap="unreachable")])
    add_task(context, datetime(2025, 1, 1, tzinfo=UTC), [result(99, 99, {"x: y": 99})])
    found = data_quality(context, date(2026, 9, 1), date(2026, 11, 30))
    [sager] = found.datasets
    assert (sager.fetched, sager.rejected, sager.unreadable) == (30, 3, 1)
    assert sager.rules[("title", "maxLength")] == 2
    assert sager.gaps == {"unreachable": 1}
    assert [row[:3] for row in sager.trend()] == [("2026-10", 10, 2), ("2026-11", 20, 1)]
    with pytest.raises(ValueError, match="period"):
        data_quality(context, date(2026, 1, 1), date(2025, 1, 1))


def test_statistics_time_to_answer_late_and_gaps(context: ServiceContext) -> None:
    received = datetime(2026, 10, 1, 8, tzinfo=UTC)
    actor = Actor("system", "system")
    ids = []
    for days, action in ((2, "request.ready"), (10, "request.ready_with_gaps"),
                         (40, "request.ready")):
        request_id = add_request(context, date(2026, 11, 2))
        ids.append(request_id)
        with context.sessions.begin() as session:
            session.execute(update(Request).where(Request.id == request_id)
                            .values(received_at=received))
            audit.record(session, actor, action, request_id=request_id,
                         at=received + timedelta(days=days))
    add_request(context, date(2026, 11, 2))  # received today, still open: not in the period
    found = statistics_for(context, date(2026, 10, 1), date(2026, 10, 31),
                           today=date(2026, 12, 6))
    stats = found.requests
    assert (stats.received, stats.answered) == (3, 3)
    assert stats.median_days == 10.0 and stats.p95_days is not None and stats.p95_days > 30
    assert round(stats.late_share, 2) == 0.33 and round(stats.gaps_share, 2) == 0.33
    assert [m.month for m in stats.by_month()] == ["2026-10"]


def test_the_export_is_signed_and_minisign_verifies_it(context: ServiceContext,
                                                       tmp_path: Path) -> None:
    citizen = Actor(CPR, "citizen")
    with context.sessions.begin() as session:
        for _ in range(3):
            audit.record(session, citizen, "logout", detail={"note": SECRET_TITLE})
    seal_all(context.sessions.begin)
    today = date.today()
    export = export_period(context, today - timedelta(days=1), today + timedelta(days=1))
    data = b"".join(export.chunks())
    assert export.events >= 3 and len(data) == export.size
    archive = zipfile.ZipFile(io.BytesIO(data))
    archive.extractall(tmp_path)
    lines = (tmp_path / "revision.jsonl").read_bytes().splitlines()
    assert len(lines) == export.events
    tool = shutil.which("minisign")
    assert tool is not None, "minisign is needed (scripts/test installs it)"
    checked = subprocess.run([tool, "-Vm", "revision.jsonl", "-p", "minisign.pub"],
                             cwd=tmp_path, capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stderr
    (tmp_path / "revision.jsonl").write_bytes(b"\n".join(lines[1:]) + b"\n")
    tampered = subprocess.run([tool, "-Vm", "revision.jsonl", "-p", "minisign.pub"],
                              cwd=tmp_path, capture_output=True, check=False)
    assert tampered.returncode != 0


def test_search_masks_cpr_numbers_and_pages(context: ServiceContext) -> None:
    citizen = Actor(CPR, "citizen")
    with context.sessions.begin() as session:
        for n in range(5):
            audit.record(session, citizen, "logout", detail={"flag": f"f-{n}", "n": CPR})
    events, more = search_audit(context, AuditQuery(actor=CPR), limit=3)
    assert len(events) == 3 and more is not None
    assert all(CPR not in e.actor + e.detail and "710190-xxxx" in e.actor for e in events)
    rest, end = search_audit(context, AuditQuery(actor=CPR), before=more, limit=3)
    assert len(rest) == 2 and end is None
    assert {e.id for e in events}.isdisjoint(e.id for e in rest)
    only, _ = search_audit(context, AuditQuery(flag_id="f-2"))
    assert len(only) == 1
