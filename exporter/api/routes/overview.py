"""A citizen's overview: what the municipality holds, before any package."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel

from exporter.api.deps import CitizenDep, ContextDep
from exporter.service.overview import get_overview

router = APIRouter(prefix="/v1/overview", tags=["citizen"])


class DatasetCount(BaseModel):
    id: str
    source_id: str
    title: dict[str, str]
    records: int
    first: str | None
    last: str | None
    gap: str | None


class CaseContactPublic(BaseModel):
    case_number: str
    title: str
    progress: str
    unit: str
    telephone: str
    email: str


class OverviewPublic(BaseModel):
    made_at: datetime
    datasets: list[DatasetCount]
    contacts: list[CaseContactPublic]


@router.get("", response_model=OverviewPublic)
def read(principal: CitizenDep, context: ContextDep) -> OverviewPublic:
    """Each dataset with its record count and period, and whom to contact about each
    case: a dry run of the sources that builds nothing, kept for a few minutes."""
    found = get_overview(context, principal.cpr)
    titles = {d.id: d.title.as_dict() for s in context.profile.sources for d in s.datasets}
    return OverviewPublic(
        made_at=found.made_at,
        datasets=[DatasetCount(id=d.id, source_id=d.source_id, title=titles.get(d.id, {}),
                               records=d.count, first=d.first, last=d.last, gap=d.gap)
                  for d in found.datasets],
        contacts=[CaseContactPublic(case_number=c.case_number, title=c.title,
                                    progress=c.progress, unit=c.unit,
                                    telephone=c.telephone, email=c.email)
                  for c in found.contacts])
