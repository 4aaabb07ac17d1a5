"""Flagging a record and adding information on the pages, against the running portal:
from the record as the package showed it to the caseworker's answer, with evidence,
and bad input answered with a page, never a 500, with nothing stored."""

from __future__ import annotations

import io
import re
import time
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import orjson
import pytest
from sqlalchemy import select

from exporter.api.auth import Role, issue_token
from exporter.db.models import Evidence, Flag, Request
from exporter.flags import FlagSpec, raise_flag
from tests.exporter.web.test_pages import citizen, request_package
from tests.portal import ANNA, Portal, csrf_of

pytestmark = pytest.mark.provider
PDF = b"%PDF-1.7\n" + b"z" * 3000 + b"\n%%EOF\n"


@pytest.fixture
def anna(portal: Portal) -> Iterator[httpx.Client]:
    with citizen(portal, "anna") as client:
        yield client


def a_record(portal: Portal, http: httpx.Client) -> tuple[str, str]:
    """A ready package of Anna's and the id of a case in it: (package id, record id)."""
    request_id = request_package(portal, http, ["person", "sager", "kontaktenheder"])
    data = http.get(f"{portal.url}/anmodninger/{request_id}/pakke.zip").content
    lines = zipfile.ZipFile(io.BytesIO(data)).read("data/sager.jsonld").split(b"\n")
    record = orjson.loads(lines[1].rstrip(b","))
    with portal.context.sessions() as session:
        row = session.get(Request, request_id)
        assert row is not None and row.package is not None
        return row.package.id, record["id"]


def caseworker() -> dict[str, str]:
    from exporter.settings import Settings

    token = issue_token(Settings(), "cw-1", Role.CASEWORKER)
    return {"Authorization": f"Bearer {token}"}


def test_flag_a_record_with_evidence_and_read_the_answer(portal: Portal,
                                                         anna: httpx.Client) -> None:
    package_id, record_id = a_record(portal, anna)
    form = anna.get(f"{portal.url}/indsigelser/ny", params={"post": record_id,
                                                             "pakke": package_id})
    assert form.status_code == 200 and "Oplysningen, som din pakke viste den" in form.text
    assert 'value="title"' in form.text
    sent = anna.post(f"{portal.url}/indsigelser", data={
        "csrf": csrf_of(form.text), "post": record_id, "pakke": package_id, "field": "title",
        "wrong": "Titlen passer ikke <script>x</script>", "right": "=SUM(A1)"},
        files={"file": ("brev.pdf", PDF, "application/pdf")})
    assert sent.status_code == 303, sent.text[:500]
    flag_url = portal.url + sent.headers["location"].split("?")[0]
    receipt = anna.get(portal.url + sent.headers["location"])
    assert "Vi har fået din indsigelse" in receipt.text and "omstridt" in receipt.text
    assert "<script>x" not in receipt.text and "brev.pdf" in receipt.text
    flag_id = flag_url.rsplit("/", 1)[1]
    again = anna.get(f"{portal.url}/indsigelser/ny", params={"post": record_id,
                                                              "pakke": package_id})
    assert "Du har allerede gjort indsigelse" in again.text

    staff = caseworker()
    assert httpx.post(f"{portal.url}/v1/caseworker/flags/{flag_id}/take",
                      headers=staff).status_code == 200
    decided = httpx.post(f"{portal.url}/v1/caseworker/flags/{flag_id}/decide", headers=staff,
                         json={"outcome": "rejected",
                               "answer": "Titlen står, som sagen blev oprettet."})
    assert decided.status_code == 200
    answer = anna.get(flag_url)
    assert "Titlen står, som sagen blev oprettet." in answer.text
    assert "Datatilsynet" in answer.text and "Afvist" in answer.text
    assert 'action="/indsigelser/' not in answer.text  # a decided flag takes no more
    listing = anna.get(f"{portal.url}/indsigelser")
    assert flag_id in listing.text and "Afvist" in listing.text


def test_a_file_that_is_not_what_it_says_is_refused_and_the_flag_kept(
        portal: Portal, anna: httpx.Client) -> None:
    package_id, record_id = a_record(portal, anna)
    csrf = csrf_of(anna.get(f"{portal.url}/mine-data").text)
    with portal.context.sessions() as session:
        before = len(session.scalars(select(Evidence)).all())
    sent = anna.post(f"{portal.url}/indsigelser", data={
        "csrf": csrf, "post": record_id, "pakke": package_id, "wrong": "Forkert igen"},
        files={"file": ("faktura.pdf", b"MZ\x90\x00 not a pdf", "application/pdf")})
    assert sent.status_code == 303 and "fil=nej" in sent.headers["location"]
    page = anna.get(portal.url + sent.headers["location"])
    assert "Filen blev ikke gemt" in page.text
    with portal.context.sessions() as session:
        assert len(session.scalars(select(Evidence)).all()) == before


def test_bad_flag_input_gets_a_page_and_nothing_stored(portal: Portal, anna: httpx.Client) -> None:
    package_id, record_id = a_record(portal, anna)
    csrf = csrf_of(anna.get(f"{portal.url}/mine-data").text)
    with portal.context.sessions() as session:
        before = len(session.scalars(select(Flag)).all())
    for data, status in [
        ({"post": record_id, "pakke": package_id, "wrong": ""}, 400),
        ({"post": "urn:egnedata:0751:sagsindeks:case:NOPE", "pakke": package_id,
          "wrong": "forkert"}, 404),
        ({"post": record_id, "pakke": "00000000-0000-4000-8000-000000000000",
          "wrong": "forkert"}, 404),
        ({"post": record_id, "pakke": package_id, "wrong": "forkert", "field": "nope"}, 400),
        ({"post": "\x00" * 10, "pakke": "\r\n", "wrong": "forkert"}, 404),
    ]:
        answer = anna.post(f"{portal.url}/indsigelser", data={"csrf": csrf, **data})
        assert answer.status_code == status, (data, answer.status_code)
    big = anna.post(f"{portal.url}/indsigelser", data={"csrf": csrf, "post": record_id,
                                                        "pakke": package_id, "wrong": "stor"},
                    files={"file": ("stor.pdf", b"%PDF-" + b"0" * (11 * 1024 * 1024),
                                    "application/pdf")})
    assert big.status_code == 413
    no_csrf = anna.post(f"{portal.url}/indsigelser", data={"post": record_id,
                                                            "pakke": package_id, "wrong": "x y z"})
    assert no_csrf.status_code == 403
    two_files = anna.post(f"{portal.url}/indsigelser", data={
        "csrf": csrf, "post": record_id, "pakke": package_id, "wrong": "to filer"},
        files=[("file", ("a.pdf", PDF, "application/pdf")),
               ("file", ("b.pdf", PDF, "application/pdf"))])
    assert two_files.status_code == 400 and "Siden fik nogle oplysninger" in two_files.text
    with portal.context.sessions() as session:
        assert len(session.scalars(select(Flag)).all()) == before
    with citizen(portal, "bent") as bent:
        other = bent.get(f"{portal.url}/indsigelser/ny", params={"post": record_id,
                                                                  "pakke": package_id})
        assert other.status_code == 404 and ANNA not in other.text


def test_add_information_of_one_s_own(portal: Portal, anna: httpx.Client) -> None:
    form = anna.get(f"{portal.url}/bidrag/ny")
    csrf = csrf_of(form.text)
    bad = anna.post(f"{portal.url}/bidrag", data={"csrf": csrf, "kind": "poem", "title": "x"})
    assert bad.status_code == 400 and "Vælg hvad du vil tilføje" in bad.text
    sent = anna.post(f"{portal.url}/bidrag", data={
        "csrf": csrf, "kind": "document", "title": "Lægeerklæring",
        "text": "Min læge skriver om min ryg."},
        files={"file": ("læge.pdf", PDF, "application/pdf")})
    assert sent.status_code == 303
    listing = anna.get(f"{portal.url}/indsigelser")
    assert "Lægeerklæring" in listing.text and "læge.pdf" in listing.text
    withdraw = re.search(r'action="(/bidrag/[^/]+/tilbagetraek)"', listing.text)
    assert withdraw is not None
    anna.post(portal.url + withdraw.group(1), data={"csrf": csrf})
    assert "Lægeerklæring" not in anna.get(f"{portal.url}/indsigelser").text


def test_a_representative_flags_within_the_mandate_only(portal: Portal) -> None:
    from exporter.cpr import Cpr
    from exporter.delivery.mandates import MandateSpec, grant_mandate, revoke_mandate
    from exporter.service.audit import Actor
    from exporter.service.requests import Scope, create_request
    from tests.exporter.flags.test_flags import first_record
    from tests.portal import BENT

    bent = Actor(BENT, "citizen")
    request, _ = create_request(portal.context, bent, Cpr(BENT),
                                Scope(("person", "sager", "kontaktenheder")))
    deadline = time.monotonic() + 60
    while True:
        with portal.context.sessions() as session:
            row = session.get(Request, request.id)
            assert row is not None
            if row.package is not None:
                package_id = row.package.id
                break
        assert time.monotonic() < deadline, row.state
        time.sleep(0.2)
    person, case = (first_record(portal.context, package_id, d) for d in ("person", "sager"))
    on_case, _ = raise_flag(portal.context, bent, BENT, FlagSpec(
        package_id, case["id"], "Sagen er lukket"))  # Bent's own, on a dataset not covered
    mandate = grant_mandate(portal.context, bent, BENT, MandateSpec(
        representative=ANNA, rights=("request",), datasets=("person",),
        valid_until=datetime.now(UTC) + timedelta(days=10), subject_name="Bent Testesen",
        representative_name="Anna"))
    try:
        with citizen(portal, "anna") as anna:
            choose = anna.get(f"{portal.url}/handl-for")
            csrf = csrf_of(choose.text)
            anna.post(f"{portal.url}/handl-for", data={"csrf": csrf, "who": mandate.id})
            outside = anna.get(f"{portal.url}/indsigelser/ny",
                               params={"post": case["id"], "pakke": package_id})
            assert outside.status_code == 403
            refused = anna.post(f"{portal.url}/indsigelser", data={
                "csrf": csrf, "post": case["id"], "pakke": package_id, "wrong": "forkert"})
            assert refused.status_code == 403
            sent = anna.post(f"{portal.url}/indsigelser", data={
                "csrf": csrf, "post": person["id"], "pakke": package_id,
                "wrong": "Adressen er den gamle"})
            assert sent.status_code == 303
            listing = anna.get(f"{portal.url}/indsigelser").text
            assert on_case.id not in listing  # the mandate does not cover the cases
            assert sent.headers["location"].split("?")[0].rsplit("/", 1)[1] in listing
        with citizen(portal, "bent") as bent_client:
            page = bent_client.get(portal.url + sent.headers["location"].split("?")[0])
            assert "Adressen er den gamle" in page.text
            assert "skrevet af din repræsentant" in page.text
    finally:
        revoke_mandate(portal.context, bent, BENT, mandate.id)
