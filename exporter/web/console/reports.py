"""Reports in the console: data quality (caseworkers), statistics (everyone on the
console), and the audit log (the data-protection officer and auditors).

- ``GET /konsol/datakvalitet?fra=&til=``: per source and dataset, rejections by field
  and rule, unreadable rows, gaps and causes, the monthly trend. Counts only;
- ``GET /konsol/statistik?fra=&til=``: requests and flags per month, time to answer
  against the deadline, shares late and with gaps;
- ``GET /konsol/revision``: search the log; ``POST /konsol/revision/tjek``: check the
  chain; ``GET /konsol/revision/eksport?fra=&til=``: a period as signed JSON Lines.
"""

from __future__ import annotations

from datetime import date, timedelta
from urllib.parse import urlencode

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response, StreamingResponse

from exporter.console.auditlog import AuditQuery, export_period, search_audit
from exporter.console.quality import MAX_DAYS, data_quality
from exporter.console.stats import statistics_for
from exporter.deadlines import danish_date
from exporter.ids import is_id
from exporter.pipeline.collect import GAP_REASONS
from exporter.service import audit
from exporter.service.audit import ACTIONS, verify_chain
from exporter.web.console.deps import StaffDep, StaffFormDep, StaffPage

router = APIRouter(tags=["pages"])


def _day(value: str) -> date | None:
    try:
        return date.fromisoformat(value) if len(value) == 10 else None
    except ValueError:
        return None


def _period(page: StaffPage, first: str, last: str, default_days: int
            ) -> tuple[date, date, list[str]]:
    """The period asked for, within bounds, and what was wrong with it (error keys)."""
    today = danish_date(page.now)
    start, end, errors = _day(first), _day(last), []
    if first and start is None:
        errors.append("from")
    if last and end is None:
        errors.append("to")
    end = end or today
    start = start or end - timedelta(days=default_days)
    if start > end or (end - start).days > MAX_DAYS:
        errors.append("period")
        start, end = today - timedelta(days=default_days), today
    return start, end, errors


@router.get("/konsol/datakvalitet", response_class=HTMLResponse)
def quality(page: StaffDep, fra: str = "", til: str = "") -> HTMLResponse:
    page.require("caseworker")
    first, last, errors = _period(page, fra, til, 90)
    found = data_quality(page.context, first, last)
    names = {s.id: s.name.as_dict() for s in page.context.profile.sources}
    titles = {d.id: d.title.as_dict() for s in page.context.profile.sources
              for d in s.datasets}
    return page.render("console/quality.html.j2", status=400 if errors else 200,
                       q=found, names=names, titles=titles, gaps=GAP_REASONS,
                       period_errors=errors, period=(first, last))


@router.get("/konsol/statistik", response_class=HTMLResponse)
def statistics(page: StaffDep, fra: str = "", til: str = "") -> HTMLResponse:
    first, last, errors = _period(page, fra, til, 364)
    return page.render("console/statistics.html.j2", status=400 if errors else 200,
                       s=statistics_for(page.context, first, last), period_errors=errors,
                       period=(first, last))


def _id_or_none(value: str) -> str | None:
    return value if is_id(value) else None


@router.get("/konsol/revision", response_class=HTMLResponse)
def audit_log(page: StaffDep, anmodning: str = "", indsigelse: str = "", samtykke: str = "",
              tjeneste: str = "", aktoer: str = "", handling: str = "", fra: str = "",
              til: str = "", foer: str = "") -> HTMLResponse:
    page.require("auditor")
    query = AuditQuery(
        request_id=_id_or_none(anmodning), flag_id=_id_or_none(indsigelse),
        consent_id=_id_or_none(samtykke), service_id=_id_or_none(tjeneste),
        actor=aktoer.strip()[:200] or None,
        action=handling if handling in ACTIONS else None,
        first=_day(fra), last=_day(til))
    before = int(foer) if foer.isdigit() and len(foer) < 19 else None
    events, more = search_audit(page.context, query, before=before)
    values = {"anmodning": anmodning[:36], "indsigelse": indsigelse[:36],
              "samtykke": samtykke[:36], "tjeneste": tjeneste[:36], "aktoer": aktoer[:200],
              "handling": handling[:60], "fra": fra[:10], "til": til[:10]}
    older = urlencode([*((k, v) for k, v in values.items() if v), ("foer", str(more))]) \
        if more is not None else ""
    return page.render("console/audit.html.j2", events=events, values=values,
                       actions=sorted(ACTIONS), check=None,
                       older_url=f"/konsol/revision?{older}" if older else "")


@router.post("/konsol/revision/tjek", response_class=HTMLResponse)
def check_chain(page: StaffDep, form: StaffFormDep) -> HTMLResponse:
    """Recompute the chain of sealed events, and say whether it holds."""
    page.require("auditor")
    with page.context.sessions() as session:
        result = verify_chain(session)
    with page.context.sessions.begin() as db:
        audit.record(db, page.actor, "audit.verified", detail={
            "events": result.events, "ok": result.ok, "broken_at": result.broken_at})
    events, more = search_audit(page.context, AuditQuery())
    return page.render("console/audit.html.j2", events=events, values={},
                       actions=sorted(ACTIONS), check=result,
                       older_url=f"/konsol/revision?foer={more}" if more else "")


@router.get("/konsol/revision/eksport")
def export(page: StaffDep, fra: str = "", til: str = "") -> Response:
    """A period of the log as a ZIP: the events, their minisign signature, the key."""
    page.require("auditor")
    first, last, errors = _period(page, fra, til, 30)
    if errors:
        events, _ = search_audit(page.context, AuditQuery())
        return page.render("console/audit.html.j2", status=400, events=events,
                           values={"fra": fra[:10], "til": til[:10]},
                           actions=sorted(ACTIONS), check=None, export_errors=errors,
                           older_url="")
    result = export_period(page.context, first, last)
    with page.context.sessions.begin() as db:
        audit.record(db, page.actor, "audit.exported", detail={
            "from": first.isoformat(), "to": last.isoformat(), "events": result.events})
    return StreamingResponse(result.chunks(), media_type="application/zip", headers={
        "Content-Disposition": f'attachment; filename="{result.name}"',
        "Content-Length": str(result.size), "Cache-Control": "no-store"})
