"""The console against the running portal and the local provider: roles on every route,
the queue, a request, registering one, a flag's decision with its preview, services,
the audit log, and bad input answered with a page and nothing stored."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import orjson
import pytest
from fastapi.routing import APIRoute
from sqlalchemy import select, update

from exporter.cpr import Cpr
from exporter.db.models import AuditEvent, Flag, Package, Request, SourceTask
from exporter.delivery.consents import ConsentSpec, NotAllowed, give_consent, revoke_consent
from exporter.delivery.deliveries import create_delivery
from exporter.delivery.download import open_package_file
from exporter.delivery.registry import list_services
from exporter.flags import (
    ContributionSpec,
    FlagSpec,
    add_contribution,
    add_contribution_evidence,
    raise_flag,
    withdraw_contribution,
)
from exporter.service.audit import Actor
from exporter.service.requests import Scope, create_request
from exporter.web.console import ROUTERS
from tests.exporter.web.test_pages import citizen
from tests.portal import ANNA, BENT, Portal, browser_client, csrf_of, staff_log_in

pytestmark = pytest.mark.provider
PDF = b"%PDF-1.7\n" + b"x" * 2000 + b"\n%%EOF\n"


@contextmanager
def employee(portal: Portal, account: str) -> Iterator[httpx.Client]:
    with browser_client() as client:
        answer = staff_log_in(client, portal, account)
        assert answer.status_code == 303, answer.text[:500]
        yield client


def ready_request(portal: Portal, cpr: str, datasets: tuple[str, ...] | None = None) -> str:
    made, _ = create_request(portal.context, Actor(cpr, "citizen"), Cpr(cpr), Scope(datasets))
    deadline = time.monotonic() + 60
    while True:
        with portal.context.sessions() as session:
            row = session.get(Request, made.id)
            assert row is not None
            if row.state in ("ready", "ready_with_gaps"):
                return row.id
        assert time.monotonic() < deadline, row.state
        time.sleep(0.1)


def running_request(portal: Portal) -> str:
    """A request of Anna's that is still being collected: a source's task runs under a
    lease of a day, so no worker or reconciler moves it on while the test looks."""
    request_id = ready_request(portal, ANNA, ("person",))
    with portal.context.sessions.begin() as session:
        session.execute(update(Request).where(Request.id == request_id)
                        .values(state="collecting"))
        session.execute(update(SourceTask).where(SourceTask.request_id == request_id)
                        .values(state="running",
                                lease_until=datetime.now(UTC) + timedelta(days=1)))
    return request_id


def package_of(portal: Portal, request_id: str) -> str:
    with portal.context.sessions() as session:
        row = session.get(Request, request_id)
        assert row is not None and row.package is not None
        return row.package.id


def flag_on_unit(portal: Portal, unit: str, text: str = "Titlen er forkert", *,
                 other: bool = False) -> Flag:
    """A new flag of Anna's on a case of ``unit`` (of another unit, with ``other``)
    that has no open flag yet."""
    package_id = package_of(portal, ready_request(portal, ANNA, ("sager",)))
    with portal.context.sessions() as session:
        package = session.get(Package, package_id)
    assert package is not None
    data = b"".join(open_package_file(portal.context.blobs, package, portal.context.keyring,
                                      "data/sager.jsonld").chunks)
    for line in data.split(b"\n")[1:]:
        line = line.rstrip(b",")
        if not line.startswith(b"{"):
            continue
        record = orjson.loads(line)
        with portal.context.sessions() as session:
            taken = session.scalars(select(Flag.id).where(
                Flag.record_id == record["id"], Flag.state.in_(("received", "in_review")))
            ).first()
        if taken is None and record["responsibleUnit"].endswith(":" + unit) != other:
            flag, _ = raise_flag(portal.context, Actor(ANNA, "citizen"), ANNA,
                                 FlagSpec(package_id, record["id"], text))
            return flag
    raise AssertionError(f"Anna has no case of unit {unit}")


# Which role each console route needs ("" for any employee; None: not checked here).
def needed(path: str) -> str | None:
    if path.startswith(("/konsol/log-ind", "/konsol/logget-ud", "/konsol/log-ud",
                        "/konsol/session")):
        return None
    if path.startswith("/konsol/tjenester"):
        return "dpo"
    if path.startswith("/konsol/revision"):
        return "auditor"
    if path == "/konsol/statistik":
        return ""
    return "caseworker"


ROLES = {"sagsbehandler": {"caseworker"}, "dpo": {"caseworker", "dpo", "auditor"},
         "revisor": {"auditor"}, "enhed": {"caseworker"}}


def console_routes() -> list[tuple[str, str]]:
    return [(method, route.path) for router in ROUTERS for route in router.routes
            if isinstance(route, APIRoute) for method in sorted(route.methods)]


@pytest.fixture(scope="module")
def ids(portal: Portal) -> dict[str, str]:
    """Real ids for every path parameter of the console's routes."""
    flag = flag_on_unit(portal, "U02", other=True)
    request_id = ready_request(portal, BENT, ("person",))
    with portal.context.sessions() as session:
        source = session.scalars(select(SourceTask.source_id).where(
            SourceTask.request_id == request_id)).first()
    contribution = add_contribution(portal.context, Actor(ANNA, "citizen"), ANNA,
                                    ContributionSpec("statement", "Min note", "Noget om mig"))
    return {"request_id": request_id, "source_id": source or "cpr", "flag_id": flag.id,
            "contribution_id": contribution.id,
            "evidence_id": "00000000-0000-4000-8000-000000000000",
            "service_id": portal.service_id}


def test_roles_hold_on_every_console_route(portal: Portal, ids: dict[str, str]) -> None:
    tried = 0
    for account, roles in ROLES.items():
        with employee(portal, account) as http:
            csrf = csrf_of(http.get(f"{portal.url}/konsol/statistik").text)
            for method, path in console_routes():
                role = needed(path)
                if role is None:
                    continue
                url = portal.url + re.sub(r"{(\w+)}", lambda m: ids[m.group(1)], path)
                allowed = role == "" or role in roles
                if method == "POST" and allowed:
                    continue  # allowed actions are tried in the tests below
                answer = http.request(method, url, data={"csrf": csrf})
                tried += 1
                if not allowed and path == "/konsol":  # the front page: to their own
                    assert answer.status_code == 303, account
                elif not allowed:
                    assert answer.status_code == 403, (account, method, path)
                    assert "Det giver din rolle ikke adgang til" in answer.text
                elif account == "enhed" and ("anmodninger" in path or "bidrag" in path):
                    assert answer.status_code in (403, 404), (account, path)
                elif account == "enhed" and "{flag_id}" in path:
                    assert answer.status_code == 404, (account, path)  # not a U02 flag
                else:
                    assert answer.status_code < 500 and answer.status_code != 403, \
                        (account, method, path, answer.status_code)
    assert tried > 40
    with portal.context.sessions() as session:
        refused = session.scalars(select(AuditEvent).where(
            AuditEvent.action == "staff.refused")).all()
    assert {e.actor for e in refused} >= {"sagsbehandler", "revisor", "enhed"}


def test_no_console_page_without_an_employee_s_login(portal: Portal,
                                                     ids: dict[str, str]) -> None:
    with citizen(portal, "anna") as anna:
        for method, path in console_routes():
            if needed(path) is None:
                continue
            url = portal.url + re.sub(r"{(\w+)}", lambda m: ids[m.group(1)], path)
            answer = anna.request(method, url, data={"csrf": "x"})
            assert answer.status_code == 303, (method, path)
            assert answer.headers["location"].startswith("/konsol/log-ind?next=")
        # Nor does the citizen's session reach the caseworkers' API.
        assert anna.get(f"{portal.url}/v1/caseworker/flags").status_code == 403
    with browser_client() as http:
        refused = staff_log_in(http, portal, "uden-rolle")
        assert refused.status_code == 403 and "Du har ikke adgang til konsollen" in refused.text
    with browser_client() as http:
        refused = staff_log_in(http, portal, "anna")  # a citizen's login has no role
        assert refused.status_code == 403


def test_the_queue_puts_the_overdue_first_and_masks_cpr_numbers(portal: Portal) -> None:
    late = ready_request(portal, BENT, ("person",))
    with portal.context.sessions.begin() as session:
        session.execute(update(Request).where(Request.id == late).values(
            state="ready_with_gaps", deadline=date(2001, 1, 2)))
    with employee(portal, "sagsbehandler") as http:
        page = http.get(f"{portal.url}/konsol")
        assert page.status_code == 200
        rows = re.findall(r'href="/konsol/(anmodninger|indsigelser)/([0-9a-f-]{36})"', page.text)
        assert rows[0] == ("anmodninger", late)
        assert BENT not in page.text and "720150-xxxx" in page.text
        assert "Over fristen" in page.text
        only_flags = http.get(f"{portal.url}/konsol", params={"type": "flag"}).text
        assert late not in only_flags
        for query in ({"efter": "x" * 5000}, {"type": "<script>", "state": "' OR 1=1"},
                      {"enhed": "\r\nX: y"}, {"efter": "2026-01-01~" + "f" * 36}):
            answer = http.get(f"{portal.url}/konsol", params=query)
            assert answer.status_code == 200 and "<script>" not in answer.text
    with employee(portal, "enhed") as http:
        page = http.get(f"{portal.url}/konsol").text
        assert late not in page and "Du ser indsigelser for enhederne U02" in page


def test_a_unit_s_caseworker_sees_only_their_unit_s_flags(portal: Portal) -> None:
    mine, other = flag_on_unit(portal, "U02"), flag_on_unit(portal, "U02", other=True)
    with employee(portal, "enhed") as http:
        queue = http.get(f"{portal.url}/konsol", params={"type": "flag"}).text
        assert mine.id in queue and other.id not in queue
        assert http.get(f"{portal.url}/konsol/indsigelser/{other.id}").status_code == 404
        assert http.get(f"{portal.url}/konsol/indsigelser/{mine.id}").status_code == 200
        api = http.get(f"{portal.url}/v1/caseworker/flags").json()
        assert {f["id"] for f in api} <= _unit_flags(portal, "U02") and api
        assert http.get(f"{portal.url}/v1/caseworker/requests").status_code == 403


def _unit_flags(portal: Portal, unit: str) -> set[str]:
    with portal.context.sessions() as session:
        return set(session.scalars(select(Flag.id).where(Flag.unit == unit)))


def test_a_request_in_the_console(portal: Portal) -> None:
    request_id = ready_request(portal, ANNA, ("person", "sager"))
    with portal.context.sessions.begin() as session:  # a source failed: a gap to mend
        session.execute(update(Request).where(Request.id == request_id)
                        .values(state="ready_with_gaps"))
        session.execute(update(SourceTask).where(
            SourceTask.request_id == request_id, SourceTask.source_id == "sagsindeks")
            .values(state="failed", last_error="unreachable"))
    with employee(portal, "sagsbehandler") as http:
        page = http.get(f"{portal.url}/konsol/anmodninger/{request_id}")
        assert page.status_code == 200 and "710190-1234" in page.text
        assert "kilden kunne ikke nås" in page.text
        csrf = csrf_of(page.text)
        retried = http.post(
            f"{portal.url}/konsol/anmodninger/{request_id}/kilder/sagsindeks/igen",
            data={"csrf": csrf})
        assert retried.status_code == 303
        again = http.post(
            f"{portal.url}/konsol/anmodninger/{request_id}/kilder/sagsindeks/igen",
            data={"csrf": csrf})
        assert again.status_code == 409  # no longer failed
    with portal.context.sessions() as session:
        viewed = session.scalars(select(AuditEvent).where(
            AuditEvent.request_id == request_id, AuditEvent.action == "request.viewed")).all()
    assert viewed and viewed[0].actor == "sagsbehandler"


def test_extend_and_cancel_with_reasons_the_citizen_sees(portal: Portal) -> None:
    running = running_request(portal)
    with employee(portal, "sagsbehandler") as http:
        url = f"{portal.url}/konsol/anmodninger/{running}"
        csrf = csrf_of(http.get(url).text)
        bad = http.post(f"{url}/forlaeng", data={"csrf": csrf, "months": "7", "reason": "x"})
        assert bad.status_code == 400 and "Skriv en begrundelse" in bad.text
        reason = "Vi venter på svar fra Ydelsesindeks <b>om</b> dine sager."
        assert http.post(f"{url}/forlaeng", data={"csrf": csrf, "months": "1",
                                                  "reason": reason}).status_code == 303
        with citizen(portal, "anna") as anna:
            status = anna.get(f"{portal.url}/anmodninger/{running}").text
            assert "Vi venter på svar fra Ydelsesindeks &lt;b&gt;om&lt;/b&gt;" in status
        assert http.post(f"{url}/annuller", data={"csrf": csrf}).status_code == 400
        assert http.post(f"{url}/annuller", data={
            "csrf": csrf, "cancel_reason": "Borgeren trak anmodningen tilbage."}
            ).status_code == 303
    with portal.context.sessions() as session:
        assert session.get(Request, running).state == "cancelled"  # type: ignore[union-attr]


def test_register_a_request_for_a_citizen(portal: Portal) -> None:
    with employee(portal, "sagsbehandler") as http:
        form = http.get(f"{portal.url}/konsol/anmodninger/ny")
        csrf = csrf_of(form.text)
        key = re.search(r'name="key" value="([^"]+)"', form.text).group(1)  # type: ignore[union-attr]
        with portal.context.sessions() as session:
            before = len(session.scalars(select(Request.id)).all())
        for bad in ({"cpr": "3213901235", "channel": "letter", "note": "Brev af 1. december"},
                    {"cpr": "710190-1234", "channel": "pigeon", "note": "Brev af 1. december"},
                    {"cpr": "7101901234", "channel": "letter", "note": "kort"},
                    {"cpr": "9" * 400, "channel": "letter", "note": "=HYPERLINK(x)" * 3},
                    {"cpr": "7101901234", "channel": "letter", "note": "Brev af 1. dec.",
                     "datasets": "nope"}):
            answer = http.post(f"{portal.url}/konsol/anmodninger",
                               data={"csrf": csrf, "key": key, **bad})
            assert answer.status_code == 400, bad
            assert "7101901234" not in answer.text and "3213901235" not in answer.text
        with portal.context.sessions() as session:
            assert len(session.scalars(select(Request.id)).all()) == before
        fields = {"csrf": csrf, "key": key, "cpr": "710190-1234", "channel": "letter",
                  "note": "Brev modtaget 1. december, <i>underskrevet</i>.",
                  "datasets": ["person"]}
        made = http.post(f"{portal.url}/konsol/anmodninger", data=fields)
        assert made.status_code == 303
        again = http.post(f"{portal.url}/konsol/anmodninger", data=fields)
        assert again.headers["location"] == made.headers["location"]  # made once
        page = http.get(portal.url + made.headers["location"]).text
        assert "Anmodningen er registreret" in page and "(brev)" in page
        assert "&lt;i&gt;underskrevet&lt;/i&gt;" in page
    request_id = made.headers["location"].split("/")[3].split("?")[0]
    with portal.context.sessions() as session:
        row = session.get(Request, request_id)
        assert row is not None and row.channel == "letter" and row.requester_role == "caseworker"


def test_a_flag_decided_with_a_preview_first(portal: Portal) -> None:
    flag = flag_on_unit(portal, "U02", "Sagen er ikke min", other=True)
    from exporter.flags import add_flag_evidence

    evidence = add_flag_evidence(portal.context, Actor(ANNA, "citizen"), ANNA, flag.id,
                                 io.BytesIO(PDF), "brev.pdf")
    with employee(portal, "sagsbehandler") as http:
        url = f"{portal.url}/konsol/indsigelser/{flag.id}"
        page = http.get(url)
        assert "Sagen er ikke min" in page.text and "710190-xxxx" in page.text
        assert ANNA not in page.text
        csrf = csrf_of(page.text)
        file = http.get(f"{url}/bilag/{evidence.id}")
        assert file.content == PDF and file.headers["content-type"] == "application/pdf"
        assert http.post(f"{url}/tag", data={"csrf": csrf}).status_code == 303
        bad = http.post(f"{url}/forlaeng", data={"csrf": csrf, "months": "99",
                                                 "reason": "<script>"})
        assert bad.status_code == 400 and "Vælg hvor meget fristen skal forlænges" in bad.text
        assert "<script>" not in bad.text
        extended = http.post(f"{url}/forlaeng", data={
            "csrf": csrf, "months": "1", "reason": "Vi skal høre enheden først."})
        assert extended.status_code == 303
        assert "Vi skal høre enheden først." in http.get(url).text
        empty = http.post(f"{url}/afgoer", data={"csrf": csrf, "step": "confirm"})
        assert empty.status_code == 400 and "Vælg en afgørelse" in empty.text
        answer = "Sagen er din, men titlen er nu rettet."
        preview = http.post(f"{url}/afgoer", data={"csrf": csrf, "step": "preview",
                                                   "outcome": "rejected", "answer": answer})
        assert preview.status_code == 200 and "Sådan ser svaret ud for borgeren" in preview.text
        assert "Datatilsynet" in preview.text
        with portal.context.sessions() as session:
            assert session.get(Flag, flag.id).state == "in_review"  # type: ignore[union-attr]
        done = http.post(f"{url}/afgoer", data={"csrf": csrf, "step": "confirm",
                                                "outcome": "rejected", "answer": answer})
        assert done.status_code == 303
        assert http.post(f"{url}/tag", data={"csrf": csrf}).status_code == 409
    with citizen(portal, "anna") as anna:
        assert answer in anna.get(f"{portal.url}/indsigelser/{flag.id}").text
    with portal.context.sessions() as session:
        read = session.scalars(select(AuditEvent).where(
            AuditEvent.action == "evidence.read", AuditEvent.actor == "sagsbehandler")).all()
    assert any(e.detail.get("evidence") == evidence.id for e in read)


def test_the_dpo_registers_suspends_and_resumes_a_service(portal: Portal) -> None:
    from formats import age

    with employee(portal, "dpo") as http:
        form = http.get(f"{portal.url}/konsol/tjenester/ny")
        csrf = csrf_of(form.text)
        fields = {"csrf": csrf, "name": "Arkiv <b>X</b>", "description": "Et arkiv.",
                  "homepage": "https://x.example", "privacy_policy": "https://x.example/p",
                  "age_recipient": "age1nope", "target": "webhook",
                  "webhook_url": "javascript:alert(1)"}
        bad = http.post(f"{portal.url}/konsol/tjenester", data=fields)
        assert bad.status_code == 400 and "age1" in bad.text and "javascript" in bad.text
        fields.update(age_recipient=str(age.X25519Identity.generate().recipient),
                      webhook_url="https://x.example/hook")
        assert http.post(f"{portal.url}/konsol/tjenester", data=fields).status_code == 303
        assert http.post(f"{portal.url}/konsol/tjenester",
                         data=fields).status_code == 400  # the same name again
        listing = http.get(f"{portal.url}/konsol/tjenester").text
        assert "Arkiv &lt;b&gt;X&lt;/b&gt;" in listing
        new_id = next(s.id for s in list_services(portal.context) if s.name == "Arkiv <b>X</b>")
        # Suspended again, so the other tests (which share with the first service listed)
        # do not find a service whose webhook goes nowhere.
        assert http.post(f"{portal.url}/konsol/tjenester/{new_id}/suspender",
                         data={"csrf": csrf}).status_code == 303
        request_id = ready_request(portal, ANNA, ("person",))
        consent = give_consent(portal.context, Actor(ANNA, "citizen"), ANNA,
                               ConsentSpec(service_id=portal.service_id, purpose="Arkivet"))
        url = f"{portal.url}/konsol/tjenester/{portal.service_id}"
        try:
            assert http.post(f"{url}/suspender", data={"csrf": csrf}).status_code == 303
            with pytest.raises(NotAllowed):
                create_delivery(portal.context, Actor(ANNA, "citizen"), ANNA, request_id,
                                portal.service_id, consent_id=consent.id)
        finally:  # the other tests share with this service
            assert http.post(f"{url}/genoptag", data={"csrf": csrf}).status_code == 303
            revoke_consent(portal.context, Actor(ANNA, "citizen"), ANNA, consent.id)
        assert "Sæt på pause: Mit Arkiv" in http.get(f"{portal.url}/konsol/tjenester").text


def test_the_auditor_searches_checks_and_exports(portal: Portal, tmp_path: Path) -> None:
    request_id = ready_request(portal, ANNA, ("person",))
    from exporter.service.audit import seal_all

    seal_all(portal.context.sessions.begin)
    with employee(portal, "revisor") as http:
        csrf = csrf_of(http.get(f"{portal.url}/konsol/revision").text)
        page = http.post(f"{portal.url}/konsol/revision",
                         data={"csrf": csrf, "anmodning": request_id})
        assert page.status_code == 200 and "request.received" in page.text
        assert ANNA not in page.text and "710190-xxxx" in page.text
        # A citizen is searched for by CPR number in a form: it is in no link after.
        by_citizen = http.post(f"{portal.url}/konsol/revision",
                               data={"csrf": csrf, "aktoer": ANNA})
        assert by_citizen.status_code == 200 and "710190-xxxx" in by_citizen.text
        assert ANNA not in " ".join(re.findall(r'href="([^"]*)"', by_citizen.text))
        assert ANNA not in by_citizen.text.replace(f'value="{ANNA}"', "")
        checked = http.post(f"{portal.url}/konsol/revision/tjek", data={"csrf": csrf})
        assert "Kæden er hel" in checked.text
        today = date.today()
        bad = http.get(f"{portal.url}/konsol/revision/eksport",
                       params={"fra": "2026-13-45", "til": today.isoformat()})
        assert bad.status_code == 400
        export = http.get(f"{portal.url}/konsol/revision/eksport", params={
            "fra": (today - timedelta(days=1)).isoformat(), "til": today.isoformat()})
        assert export.status_code == 200
        assert export.headers["content-type"] == "application/zip"
        zipfile.ZipFile(io.BytesIO(export.content)).extractall(tmp_path)
        tool = shutil.which("minisign")
        assert tool is not None
        assert subprocess.run([tool, "-Vm", "revision.jsonl", "-p", "minisign.pub"],
                              cwd=tmp_path, capture_output=True, check=False).returncode == 0
        # An auditor changes nothing.
        assert http.post(f"{portal.url}/konsol/anmodninger", data={"csrf": csrf}
                         ).status_code == 403


def test_statistics_quality_and_metrics(portal: Portal) -> None:
    ready_request(portal, ANNA, ("person",))
    with employee(portal, "sagsbehandler") as http:
        stats = http.get(f"{portal.url}/konsol/statistik")
        assert stats.status_code == 200 and "Tid til svar, median" in stats.text
        assert http.get(f"{portal.url}/konsol/statistik",
                        params={"fra": "2026-12-06", "til": "2020-01-01"}).status_code == 400
        quality = http.get(f"{portal.url}/konsol/datakvalitet")
        assert quality.status_code == 200 and "Poster hentet" in quality.text
        assert http.get(f"{portal.url}/konsol/datakvalitet",
                        params={"fra": "x" * 100}).status_code == 400
        for path in ("/konsol/datakvalitet", "/konsol/statistik"):
            for period in ({"til": "9999-12-31"}, {"fra": "0001-01-01", "til": "0001-01-05"}):
                assert http.get(portal.url + path, params=period).status_code == 400
    metrics = httpx.get(f"{portal.url}/metrics").text
    assert 'egnedata_answer_days{kind="request",quantile="0.5"}' in metrics
    assert "egnedata_answered_late_ratio" in metrics
    assert datetime.now(UTC).strftime("%Y-%m") in metrics


def test_forms_without_the_session_s_csrf_token_are_refused(portal: Portal,
                                                            ids: dict[str, str]) -> None:
    with employee(portal, "dpo") as http:
        for path in ("/konsol/anmodninger", f"/konsol/tjenester/{ids['service_id']}/suspender",
                     f"/konsol/indsigelser/{ids['flag_id']}/tag"):
            answer = http.post(portal.url + path, data={"csrf": "forged"})
            assert answer.status_code == 403 and "Formularen er for gammel" in answer.text


def test_contributions_are_seen_by_a_caseworker(portal: Portal) -> None:
    made = add_contribution(portal.context, Actor(ANNA, "citizen"), ANNA, ContributionSpec(
        "document", "Erklæring fra min fysioterapeut <i>ny</i>", "=HYPERLINK(\"x\") Ryg."))
    document = add_contribution_evidence(portal.context, Actor(ANNA, "citizen"), ANNA,
                                         made.id, io.BytesIO(PDF), "læge.pdf")
    with employee(portal, "sagsbehandler") as http:
        queue = http.get(f"{portal.url}/konsol").text
        assert "nye bidrag fra borgere" in queue
        page = http.get(f"{portal.url}/konsol/bidrag")
        assert "Erklæring fra min fysioterapeut &lt;i&gt;ny&lt;/i&gt;" in page.text
        assert ANNA not in page.text
        file = http.get(f"{portal.url}/konsol/bidrag/{made.id}/bilag/{document.id}")
        assert file.content == PDF
        assert http.post(f"{portal.url}/konsol/bidrag/{made.id}/set",
                         data={"csrf": csrf_of(page.text)}).status_code == 303
        assert made.id not in http.get(f"{portal.url}/konsol/bidrag").text
    with employee(portal, "enhed") as http:
        assert http.get(f"{portal.url}/konsol/bidrag").status_code == 403
    withdraw_contribution(portal.context, Actor(ANNA, "citizen"), ANNA, made.id)
