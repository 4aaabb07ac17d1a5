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

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response, StreamingResponse

from exporter.console.auditlog import AuditQuery, export_period, search_audit
from exporter.console.quality import MAX_DAYS, data_quality
from exporter.console.stats import statistics_for
from exporter.ids import is_id
from exporter.pipeline.collect import GAP_REASONS
from exporter.service import audit
from exporter.service.audit import ACTIONS, verify_chain
from exporter.web.console.deps import StaffDep, StaffFormDep, StaffPage

router = APIRouter(tags=["pages"])


_EARLIEST, _LATEST = date(2000, 1, 1), date(2100, 12, 31)


def _day(value: str) -> date | None:
    """A date from a query, if it is one within the years the service can hold."""
    try:
        day = date.fromisoformat(value) if len(value) == 10 else None
    except ValueError:
        return None
    return day if day is not None and _EARLIEST <= day <= _LATEST else None


def _period(page: StaffPage, first: str, last: str, default_days: int
            ) -> tuple[date, date, list[str]]:
    """The period asked for, within bounds, and what was wrong with it (error keys)."""
    today = page.today
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


_FILTERS = {"anmodning": 36, "indsigelse": 36, "samtykke": 36, "tjeneste": 36,
            "aktoer": 200, "handling": 60, "fra": 10, "til": 10}


def _audit_page(page: StaffPage, values: dict[str, str], before: str, *,
                status: int = 200, **extra: object) -> HTMLResponse:
    query = AuditQuery(
        request_id=_id_or_none(values.get("anmodning", "")),
        flag_id=_id_or_none(values.get("indsigelse", "")),
        consent_id=_id_or_none(values.get("samtykke", "")),
        service_id=_id_or_none(values.get("tjeneste", "")),
        actor=values.get("aktoer", "").strip() or None,
        action=values.get("handling") if values.get("handling") in ACTIONS else None,
        first=_day(values.get("fra", "")), last=_day(values.get("til", "")))
    events, more = search_audit(page.context, query,
                                before=int(before) if before.isdigit() and len(before) < 19
                                else None)
    return page.render("console/audit.html.j2", status=status, events=events,
                       values=values, actions=sorted(ACTIONS), more=more,
                       **{"check": None, "export_errors": [], **extra})


@router.get("/konsol/revision", response_class=HTMLResponse)
def audit_log(page: StaffDep, foer: str = "") -> HTMLResponse:
    """The newest events; the search is a form posted to the same address, so what is
    searched for (a citizen's CPR number, say) never goes into a URL."""
    page.require("auditor")
    return _audit_page(page, {}, foer)


@router.post("/konsol/revision", response_class=HTMLResponse)
def search(page: StaffDep, form: StaffFormDep) -> HTMLResponse:
    page.require("auditor")
    values = {name: form.text(name, limit) for name, limit in _FILTERS.items()}
    return _audit_page(page, {k: v for k, v in values.items() if v}, form.text("foer", 20))


@router.post("/konsol/revision/tjek", response_class=HTMLResponse)
def check_chain(page: StaffDep, form: StaffFormDep) -> HTMLResponse:
    """Recompute the chain of sealed events, and say whether it holds."""
    page.require("auditor")
    with page.context.sessions() as session:
        result = verify_chain(session)
    with page.context.sessions.begin() as db:
        audit.record(db, page.actor, "audit.verified", detail={
            "events": result.events, "ok": result.ok, "broken_at": result.broken_at})
    return _audit_page(page, {}, "", check=result)


@router.get("/konsol/revision/eksport")
def export(page: StaffDep, fra: str = "", til: str = "") -> Response:
    """A period of the log as a ZIP: the events, their minisign signature, the key."""
    page.require("auditor")
    first, last, errors = _period(page, fra, til, 30)
    if errors:
        return _audit_page(page, {}, "", status=400, export_errors=errors,
                           export_values={"fra": fra[:10], "til": til[:10]})
    result = export_period(page.context, first, last)
    with page.context.sessions.begin() as db:
        audit.record(db, page.actor, "audit.exported", detail={
            "from": first.isoformat(), "to": last.isoformat(), "events": result.events})
    return StreamingResponse(result.chunks(), media_type="application/zip", headers={
        "Content-Disposition": f'attachment; filename="{result.name}"',
        "Content-Length": str(result.size), "Cache-Control": "no-store"})
