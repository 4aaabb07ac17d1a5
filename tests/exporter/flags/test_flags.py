"""Flags and contributions in the service: raised against a record in the citizen's own
stored package, one open flag per record, the lifecycle and its audit, deadlines,
evidence checked by its bytes and stored encrypted, and bad input refused with nothing
stored."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from sqlalchemy import select

from exporter.cpr import Cpr
from exporter.db.models import AuditEvent, Evidence, Flag, Request
from exporter.deadlines import danish_date, response_deadline
from exporter.delivery.download import open_package_file
from exporter.flags import (
    ContributionSpec,
    EvidenceRefused,
    FlagSpec,
    FlagState,
    InvalidContribution,
    InvalidFlag,
    add_contribution,
    add_contribution_evidence,
    add_flag_evidence,
    decide_flag,
    disputed_records,
    extend_flag,
    flag_queue,
    get_flag,
    list_contributions,
    list_flags,
    mark_seen,
    raise_flag,
    read_evidence,
    take_flag,
    unseen_contributions,
    withdraw_contribution,
    withdraw_flag,
)
from exporter.service.audit import Actor
from exporter.service.context import ServiceContext
from exporter.service.lifecycle import IllegalTransition
from exporter.service.requests import Conflict, NotFound, Scope, create_request
from tests.exporter.service.conftest import manual_queue, run_all

ANNA, BENT = "7101901234", "7201501235"
CITIZEN = Actor(ANNA, "citizen")
CASEWORKER = Actor("cw-1", "caseworker")
PDF = b"%PDF-1.7\n" + b"x" * 5000 + b"\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 100


def ready_package(context: ServiceContext, cpr: str = ANNA,
                  datasets: tuple[str, ...] | None = None) -> tuple[str, str]:
    """A citizen's request run to ready on the manual queue: (request id, package id)."""
    request, _ = create_request(context, Actor(cpr, "citizen"), Cpr(cpr),
                                Scope(datasets=datasets))
    run_all(context, manual_queue(context))
    with context.sessions() as session:
        row = session.get(Request, request.id)
        assert row is not None and row.package is not None, row and row.state
        return row.id, row.package.id


def first_record(context: ServiceContext, package_id: str, dataset: str = "sager"
                 ) -> dict[str, Any]:
    from exporter.db.models import Package

    with context.sessions() as session:
        package = session.get(Package, package_id)
    assert package is not None
    member = open_package_file(context.blobs, package, context.keyring,
                               f"data/{dataset}.jsonld")
    text = b"".join(member.chunks)
    record: dict[str, Any] = orjson.loads(text.split(b"\n")[1].rstrip(b","))
    return record


@pytest.fixture
def context(make_context: Callable[..., ServiceContext]) -> ServiceContext:
    return make_context(manual=True)


def test_a_flag_on_a_record_in_the_citizen_s_package(context: ServiceContext) -> None:
    _, package_id = ready_package(context)
    record = first_record(context, package_id)
    now = datetime(2026, 1, 14, 10, tzinfo=UTC)
    flag, created = raise_flag(context, CITIZEN, ANNA, FlagSpec(
        package_id, record["id"], "Sagen er ikke min", "Den tilhører min bror",
        field="title"), now=now)
    assert created and flag.state == "received" and flag.field == "title"
    assert flag.record == record and flag.dataset_id == "sager"
    assert flag.deadline == response_deadline(danish_date(now)) == datetime(
        2026, 2, 16).date()  # 14 February 2026 is a Saturday
    again, created = raise_flag(context, CITIZEN, ANNA, FlagSpec(
        package_id, record["id"], "Og datoen er også forkert"))
    assert again.id == flag.id and not created
    assert [s.wrong for s in get_flag(context, flag.id).statements] == [
        "Sagen er ikke min", "Og datoen er også forkert"]
    assert disputed_records(context, ANNA) == {record["id"]: "received"}
    assert [f.id for f in list_flags(context, ANNA)] == [flag.id]
    assert list_flags(context, BENT) == []
    with context.sessions() as session:
        actions = session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions[-2:] == ["flag.received", "flag.statement_added"]


def test_only_the_citizen_s_own_records_and_packages(context: ServiceContext) -> None:
    _, package_id = ready_package(context)
    _, bents = ready_package(context, BENT)
    record = first_record(context, package_id)
    bents_record = first_record(context, bents)
    for cpr, package, record_id in [
        (BENT, package_id, record["id"]),          # Anna's package, as Bent
        (ANNA, bents, bents_record["id"]),         # Bent's package, as Anna
        (ANNA, package_id, "urn:egnedata:0751:sagsindeks:case:S999999"),  # not in it
        (ANNA, package_id, "urn:egnedata:0751:sagsindeks:case:NOPE"),
        (ANNA, package_id, "not a record id"),
        (ANNA, "not-a-package", record["id"]),
        (ANNA, "00000000-0000-4000-8000-000000000000", record["id"]),
        (ANNA, package_id, "urn:egnedata:" + "x" * 600),
        (ANNA, package_id, "\x00"),
    ]:
        with pytest.raises(NotFound):
            raise_flag(context, Actor(cpr, "citizen"), cpr,
                       FlagSpec(package, record_id, "forkert"))
    with context.sessions() as session:
        assert session.scalars(select(Flag)).all() == []


@pytest.mark.parametrize(("spec", "message"), [
    ({"wrong": ""}, "what is wrong"), ({"wrong": "x" * 4001}, "what is wrong"),
    ({"wrong": "ok nok", "right": "x" * 5000}, "what is right"),
    ({"wrong": "ok nok", "field": "noSuchField"}, "no field"),
])
def test_bad_flags_are_refused(context: ServiceContext, spec: dict[str, str],
                               message: str) -> None:
    _, package_id = ready_package(context)
    record = first_record(context, package_id)
    with pytest.raises(InvalidFlag, match=message):
        raise_flag(context, CITIZEN, ANNA, FlagSpec(package_id, record["id"], **spec))


def test_hostile_text_is_kept_as_text(context: ServiceContext) -> None:
    _, package_id = ready_package(context)
    record = first_record(context, package_id)
    hostile = '<script>alert(1)</script> =HYPERLINK("x") \u202eevil {"@context": 1}'
    flag, _ = raise_flag(context, CITIZEN, ANNA, FlagSpec(package_id, record["id"], hostile))
    assert get_flag(context, flag.id).statements[0].wrong == hostile
    # A NUL (which PostgreSQL cannot store) is left out, not a 500.
    raise_flag(context, CITIZEN, ANNA, FlagSpec(package_id, record["id"], "nul\x00 her",
                                                "ret\x00"))
    added = get_flag(context, flag.id).statements[-1]
    assert (added.wrong, added.right) == ("nul her", "ret")
    made = add_contribution(context, CITIZEN, ANNA, ContributionSpec(
        "statement", "Titel\x00", "Tekst\x00 her", about=None))
    assert (made.title, made.text) == ("Titel", "Tekst her")
    with pytest.raises(InvalidContribution):  # an about the package could not carry
        add_contribution(context, CITIZEN, ANNA, ContributionSpec(
            "statement", "Titel", "Tekst", about="urn:egnedata:x" + "y" * 300))


def test_the_lifecycle(context: ServiceContext) -> None:
    _, package_id = ready_package(context)
    record = first_record(context, package_id)
    flag, _ = raise_flag(context, CITIZEN, ANNA, FlagSpec(package_id, record["id"], "forkert"))
    with pytest.raises(IllegalTransition):
        decide_flag(context, CASEWORKER, flag.id, FlagState.REJECTED, "Ikke taget endnu")
    assert [f.id for f in flag_queue(context)] == [flag.id]
    take_flag(context, CASEWORKER, flag.id)
    assert get_flag(context, flag.id).assigned_to == "cw-1"
    with pytest.raises(InvalidFlag):
        decide_flag(context, CASEWORKER, flag.id, FlagState.REJECTED, "kort")
    with pytest.raises(InvalidFlag):
        decide_flag(context, CASEWORKER, flag.id, FlagState.WITHDRAWN, "Det kan jeg ikke")
    done = decide_flag(context, CASEWORKER, flag.id, FlagState.ANNOTATED,
                       "Oplysningen står, men din bemærkning er tilføjet sagen.")
    assert done.state == "annotated" and done.decided_by == "cw-1"
    assert flag_queue(context) == []
    with pytest.raises(IllegalTransition):
        withdraw_flag(context, CITIZEN, ANNA, flag.id)
    # A new flag on the same record may be raised once the first is decided.
    second, created = raise_flag(context, CITIZEN, ANNA,
                                 FlagSpec(package_id, record["id"], "stadig forkert"))
    assert created and second.id != flag.id
    withdraw_flag(context, CITIZEN, ANNA, second.id)
    with pytest.raises(NotFound):
        withdraw_flag(context, Actor(BENT, "citizen"), BENT, flag.id)
    with context.sessions() as session:
        actions = [e.action for e in session.scalars(
            select(AuditEvent).where(AuditEvent.action.like("flag.%"))
            .order_by(AuditEvent.id)).all()]
    assert actions == ["flag.received", "flag.in_review", "flag.annotated", "flag.received",
                       "flag.withdrawn"]


def test_extending_a_flag_s_deadline(context: ServiceContext) -> None:
    _, package_id = ready_package(context)
    record = first_record(context, package_id)
    received = datetime(2026, 1, 31, 9, tzinfo=UTC)
    flag, _ = raise_flag(context, CITIZEN, ANNA, FlagSpec(package_id, record["id"], "forkert"),
                         now=received)
    assert flag.deadline.isoformat() == "2026-03-02"
    extended = extend_flag(context, CASEWORKER, flag.id, 2, "Vi skal høre kilden først.",
                           now=received + timedelta(days=5))
    assert extended.extended_deadline is not None
    assert extended.extended_deadline.isoformat() == "2026-04-30"
    with pytest.raises(Conflict, match="at most 2"):
        extend_flag(context, CASEWORKER, flag.id, 1, "Og lidt længere tid.",
                    now=received + timedelta(days=6))
    other, _ = raise_flag(context, CITIZEN, ANNA, FlagSpec(
        package_id, first_record(context, package_id, "dokumenter")["id"], "forkert"),
        now=received)
    with pytest.raises(Conflict, match="first month"):
        extend_flag(context, CASEWORKER, other.id, 1, "For sent at forlænge.",
                    now=received + timedelta(days=40))


def test_evidence_is_checked_by_its_bytes_and_stored_encrypted(context: ServiceContext) -> None:
    _, package_id = ready_package(context)
    record = first_record(context, package_id)
    flag, _ = raise_flag(context, CITIZEN, ANNA, FlagSpec(package_id, record["id"], "forkert"))
    stored = add_flag_evidence(context, CITIZEN, ANNA, flag.id, io.BytesIO(PDF),
                               "../../lægeerklæring <b>.pdf")
    assert stored.media_type == "application/pdf" and stored.size == len(PDF)
    assert stored.filename.endswith(".pdf") and "/" not in stored.filename
    assert "<" not in stored.filename
    with context.blobs.open_reader(stored.blob_key) as raw:
        assert raw.read(21) == b"age-encryption.org/v1"
    assert b"".join(read_evidence(context, stored.blob_key)) == PDF
    png = add_flag_evidence(context, CITIZEN, ANNA, flag.id, io.BytesIO(PNG), "foto.pdf")
    assert png.media_type == "image/png" and png.filename == "foto.png"
    before = sorted(b.key for b in context.blobs.list("evidence/"))
    for data, name in [(b"MZ\x90\x00not a pdf", "x.pdf"), (b"", "tom.pdf"),
                       (b"<html>", "x.png")]:
        with pytest.raises(EvidenceRefused):
            add_flag_evidence(context, CITIZEN, ANNA, flag.id, io.BytesIO(data), name)
    big = io.BytesIO(b"%PDF-1.7\n" + b"\0" * (context.settings.evidence_max_bytes + 1))
    with pytest.raises(EvidenceRefused, match="larger"):
        add_flag_evidence(context, CITIZEN, ANNA, flag.id, big, "stor.pdf")
    assert sorted(b.key for b in context.blobs.list("evidence/")) == before
    with pytest.raises(NotFound):
        add_flag_evidence(context, Actor(BENT, "citizen"), BENT, flag.id, io.BytesIO(PDF), "x")
    with context.sessions() as session:
        assert len(session.scalars(select(Evidence)).all()) == 2


def test_contributions(context: ServiceContext) -> None:
    about = "urn:egnedata:0751:sagsindeks:case:S000001"
    added = add_contribution(context, CITIZEN, ANNA, ContributionSpec(
        "document", "Lægeerklæring", "Erklæring fra min læge om min ryg.", about))
    add_contribution_evidence(context, CITIZEN, ANNA, added.id, io.BytesIO(PDF), "læge.pdf")
    assert [c.id for c in list_contributions(context, ANNA)] == [added.id]
    assert [c.id for c in unseen_contributions(context)] == [added.id]
    mark_seen(context, CASEWORKER, added.id)
    assert unseen_contributions(context) == []
    for spec in [ContributionSpec("poem", "Titel", "Tekst"),
                 ContributionSpec("statement", "", "Tekst"),
                 ContributionSpec("statement", "Titel", "x" * 9000),
                 ContributionSpec("statement", "Titel", "Tekst", "https://evil.example/"),
                 ContributionSpec("statement", "Titel", "Tekst", about + " x")]:
        with pytest.raises(InvalidContribution):
            add_contribution(context, CITIZEN, ANNA, spec)
    with pytest.raises(NotFound):
        withdraw_contribution(context, Actor(BENT, "citizen"), BENT, added.id)
    withdraw_contribution(context, CITIZEN, ANNA, added.id)
    assert list_contributions(context, ANNA) == []
    assert len(list_contributions(context, ANNA, withdrawn=True)) == 1
