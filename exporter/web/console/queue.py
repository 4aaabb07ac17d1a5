"""The work queue: ``GET /konsol``, access requests and flags together by deadline."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter
from fastapi.responses import Response

from exporter.console.work import (
    COUNT_LIMIT,
    KINDS,
    OPEN_FLAG_STATES,
    OPEN_REQUEST_STATES,
    QueueFilter,
    parse_cursor,
    work_queue,
)
from exporter.flags import unseen_count
from exporter.web.console.deps import StaffDep

router = APIRouter(tags=["pages"])

STATES = tuple(s.value for s in OPEN_REQUEST_STATES) + OPEN_FLAG_STATES


def _unit(value: str) -> str | None:
    value = value.strip()[:100]
    return value if value and value.replace("-", "").replace("_", "").isalnum() else None


@router.get("/konsol")
def queue(page: StaffDep, type: str = "", state: str = "", enhed: str = "",
          efter: str = "") -> Response:
    """Open requests and flags, the overdue first, then by deadline. The console's
    front page: an employee without the caseworker role goes to their own."""
    if not page.has("caseworker"):
        return page.redirect("/konsol/revision" if page.has("auditor") else "/konsol/statistik")
    wanted = QueueFilter(type if type in KINDS else None,
                         state if state in STATES else None, _unit(enhed))
    today = page.today
    result = work_queue(page.context, units=page.units, today=today, wanted=wanted,
                        after=parse_cursor(efter))
    filters = [(k, v) for k, v in (("type", wanted.kind), ("state", wanted.state),
                                   ("enhed", wanted.unit)) if v]
    next_url = f"/konsol?{urlencode([*filters, ('efter', result.next_cursor)])}" \
        if result.next_cursor else ""
    unseen = unseen_count(page.context, cap=COUNT_LIMIT) if page.units is None else 0
    return page.render("console/queue.html.j2", unseen=unseen, result=result, wanted=wanted,
                       today=today,
                       kinds=KINDS, request_states=[s.value for s in OPEN_REQUEST_STATES],
                       flag_states=OPEN_FLAG_STATES, next_url=next_url,
                       first_page=not efter, units=page.units, count_limit=COUNT_LIMIT)
