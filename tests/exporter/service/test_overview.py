"""The overview ("Mine data"): a dry run of the sources that builds nothing, counts as a
package would, kept encrypted for a few minutes, and a failing source shown as a gap."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from exporter.cli.package import DEMO_CPR
from exporter.cpr import Cpr
from exporter.db.models import OverviewCache, Request
from exporter.profile import Profile
from exporter.service.overview import get_overview
from tests.conftest import Builder, case_record, static_profile
from tests.exporter.service.conftest import ContextFactory

CPR = Cpr.parse(DEMO_CPR)


def test_the_counts_are_the_package_s_and_nothing_is_built(
        make_context: ContextFactory, build: Builder, demo_profile: Profile,
        tmp_path: Path) -> None:
    context = make_context(manual=True)
    overview = get_overview(context, CPR)
    package = build(demo_profile)
    expected = {r.dataset_id: r.accepted for r in package.result.datasets}
    assert {d.id: d.count for d in overview.datasets} == expected
    assert all(d.gap is None for d in overview.datasets)
    assert overview.contacts and all(c.unit for c in overview.contacts)
    with context.sessions() as session:
        assert session.scalars(select(Request)).all() == []
    assert context.queue.jobs == []  # type: ignore[attr-defined]
    assert not list((tmp_path / "blobs").glob("**/*.age"))


def test_it_is_kept_encrypted_for_a_few_minutes(make_context: ContextFactory) -> None:
    context = make_context(overview_cache_seconds=300)
    now = datetime.now(UTC)
    first = get_overview(context, CPR, now=now)
    again = get_overview(context, CPR, now=now + timedelta(minutes=4))
    assert again.made_at == first.made_at
    later = get_overview(context, CPR, now=now + timedelta(minutes=6))
    assert later.made_at > first.made_at
    with context.sessions() as session:
        rows = session.scalars(select(OverviewCache)).all()
    assert len(rows) == 1
    assert rows[0].payload.startswith(b"age-encryption.org/v1")
    assert CPR.digits not in rows[0].subject_key
    title = first.contacts[0].title.encode()
    assert title not in rows[0].payload
    assert get_overview(context, CPR, now=now, fresh=True).made_at == now


def test_the_citizen_s_own_records_show_at_once(make_context: ContextFactory) -> None:
    from exporter.flags import ContributionSpec, add_contribution, withdraw_contribution
    from exporter.service.audit import Actor

    context = make_context(overview_cache_seconds=300)
    counts = {d.id: d.count for d in get_overview(context, CPR).datasets}
    citizen = Actor(CPR.digits, "citizen")
    made = add_contribution(context, citizen, CPR.digits, ContributionSpec(
        "statement", "Min udtalelse", "Jeg er uenig."))
    after = {d.id: d.count for d in get_overview(context, CPR).datasets}
    assert after["bidrag"] == counts["bidrag"] + 1
    withdraw_contribution(context, citizen, CPR.digits, made.id)
    assert {d.id: d.count for d in get_overview(context, CPR).datasets} == counts


def test_the_reconciler_forgets_expired_overviews(make_context: ContextFactory) -> None:
    from exporter.service.reconcile import reconcile

    context = make_context(overview_cache_seconds=60, manual=True)
    now = datetime.now(UTC)
    get_overview(context, CPR, now=now)
    assert reconcile(context, now=now + timedelta(seconds=30)).forgotten == 0
    assert reconcile(context, now=now + timedelta(seconds=61)).forgotten == 1
    with context.sessions() as session:
        assert session.scalars(select(OverviewCache)).all() == []


def test_nothing_is_kept_when_the_cache_is_off(make_context: ContextFactory) -> None:
    context = make_context(overview_cache_seconds=0)
    get_overview(context, CPR)
    with context.sessions() as session:
        assert session.scalars(select(OverviewCache)).all() == []


def test_a_failing_source_is_a_gap_and_the_others_are_counted(
        make_context: ContextFactory) -> None:
    down = static_profile({"Case": [case_record()]}, settings={
        "records": {"Case": [case_record()]}, "fail_pages": 1})
    fine = static_profile({"Case": [case_record(), case_record(id="K2", caseNumber="2")]})
    sources = (down.sources[0].model_copy(update={"id": "nede", "retries": 0}),
               fine.sources[0].model_copy(update={
                   "id": "oppe", "datasets": tuple(d.model_copy(update={"id": d.id + "-2"})
                                                   for d in fine.sources[0].datasets)}))
    profile = fine.model_copy(update={"sources": sources})
    context = make_context(profile=profile)
    overview = get_overview(context, CPR)
    gaps = {d.source_id: (d.gap, d.count) for d in overview.datasets}
    assert gaps["nede"] == ("unreachable", 0) and gaps["oppe"] == (None, 2)
