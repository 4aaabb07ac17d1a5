"""What flags and contributions put into the next package: the record's flag state in
the JSON-LD, the CSV and index.html (disputed while open), the datasets "Dine
indsigelser" and "Dine bidrag", and the link from each record to the portal's flag
form, which holds ids only."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

import orjson

from exporter.db.models import Package
from exporter.flags import (
    ContributionSpec,
    FlagSpec,
    FlagState,
    add_contribution,
    decide_flag,
    raise_flag,
    take_flag,
)
from exporter.service.context import ServiceContext
from tests.exporter.flags.test_flags import ANNA, CASEWORKER, CITIZEN, first_record, ready_package

LOGIN = {"login_issuer": "https://login.example", "login_client_id": "egnedata",
         "login_client_auth": "client_secret_basic", "login_client_secret": "s" * 32,
         "public_url": "https://egnedata.kommune.example"}


def _zip(context: ServiceContext, package_id: str) -> zipfile.ZipFile:
    from formats import age

    with context.sessions() as session:
        package = session.get(Package, package_id)
    assert package is not None
    with context.blobs.open_reader(package.blob_key) as raw:
        plain = io.BytesIO()
        age.decrypt(raw, plain, context.keyring.vault_identities)
    return zipfile.ZipFile(plain)


def _records(archive: zipfile.ZipFile, dataset: str) -> list[dict[str, object]]:
    lines = [line for line in archive.read(f"data/{dataset}.jsonld").split(b"\n")[1:]
             if line.startswith(b"{")]
    return [orjson.loads(line.rstrip(b",")) for line in lines]


def test_the_next_package_carries_flags_and_contributions(
        make_context: Callable[..., ServiceContext]) -> None:
    context = make_context(manual=True, **LOGIN)
    _, first = ready_package(context)
    disputed, answered = first_record(context, first), first_record(context, first, "dokumenter")
    raise_flag(context, CITIZEN, ANNA, FlagSpec(
        first, disputed["id"], "Sagen er ikke <b>min</b>", "=1+2", field="title"))
    other, _ = raise_flag(context, CITIZEN, ANNA, FlagSpec(first, answered["id"], "Forkert dato"))
    take_flag(context, CASEWORKER, other.id)
    decide_flag(context, CASEWORKER, other.id, FlagState.REJECTED,
                "Datoen er den, brevet blev sendt.")
    add_contribution(context, CITIZEN, ANNA, ContributionSpec(
        "statement", "Min udtalelse", "Jeg er uenig i afgørelsen.", disputed["id"]))

    _, second = ready_package(context)
    archive = _zip(context, second)
    cases = {r["id"]: r for r in _records(archive, "sager")}
    assert cases[disputed["id"]]["flagState"] == "Modtaget"
    documents = {r["id"]: r for r in _records(archive, "dokumenter")}
    assert documents[answered["id"]]["flagState"] == "Afvist"
    assert all("flagState" not in r for i, r in cases.items() if i != disputed["id"])
    flags = _records(archive, "indsigelser")
    assert {f["state"] for f in flags} == {"Modtaget", "Afvist"}
    mine = next(f for f in flags if f["record"] == disputed["id"])
    assert mine["statement"] == "Sagen er ikke <b>min</b>" and mine["field"] == "title"
    assert next(f for f in flags if f["state"] == "Afvist")["answer"].startswith("Datoen")
    (contribution,) = _records(archive, "bidrag")
    assert contribution["creator"] == "Dig" and contribution["about"] == disputed["id"]

    rows = list(csv.reader(io.StringIO(archive.read("data/sager.csv").decode("utf-8-sig")),
                           delimiter=";"))
    column = rows[0].index("Indsigelse")
    assert {r[column] for r in rows[1:]} == {"", "Modtaget"}
    flag_rows = list(csv.reader(io.StringIO(
        archive.read("data/indsigelser.csv").decode("utf-8-sig")), delimiter=";"))
    assert any(cell.startswith("'=1+2") or cell == "'=1+2" for r in flag_rows for cell in r)

    page = archive.read("index.html").decode("utf-8")
    assert "Omstridt: Modtaget" in page and "<b>min</b>" not in page
    links = re.findall(r'href="(https://egnedata\.kommune\.example/indsigelser/ny\?[^"]+)"', page)
    assert links, "no flag links"
    query = parse_qs(urlsplit(links[0].replace("&amp;", "&")).query)
    assert set(query) == {"post", "pakke"} and query["pakke"] == [second]
    assert ANNA not in "".join(links) and "710190" not in "".join(links)
    # The citizen's own records are not to be flagged.
    section = page.split('id="ds-indsigelser"')[1].split("<h2")[0]
    assert "indsigelser/ny" not in section


def test_without_login_a_package_has_no_flag_links(
        make_context: Callable[..., ServiceContext]) -> None:
    context = make_context(manual=True)
    _, package_id = ready_package(context)
    page = _zip(context, package_id).read("index.html").decode("utf-8")
    assert "indsigelser/ny" not in page and "Markér som forkert" not in page
