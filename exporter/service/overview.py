"""A citizen's overview ("Mine data"): what the municipality holds, before any package.

A dry run of every source (:func:`exporter.pipeline.survey.survey_source`, in
parallel, each within ``overview_timeout_seconds``) gives each dataset's record count
and period, and the cases with the unit to contact about each. Nothing is built or
queued. The result is kept for ``overview_cache_seconds`` in the database,
age-encrypted to the vault key and keyed by a keyed hash of the CPR number, so every
server process shares it and the table alone reveals nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError

from exporter.connectors import Subject
from exporter.cpr import Cpr
from exporter.db.models import OverviewCache
from exporter.flags.package import with_own_records
from exporter.pipeline.survey import DatasetSurvey, survey_source
from exporter.service.context import ServiceContext
from exporter.service.overview_keys import subject_key
from formats.errors import FormatError

__all__ = ["CaseContact", "DatasetOverview", "Overview", "get_overview", "subject_key"]

log = logging.getLogger(__name__)
_MAX_CONTACTS = 50


@dataclass(frozen=True)
class DatasetOverview:
    id: str
    source_id: str
    count: int
    rejected: int
    first: str | None
    last: str | None
    gap: str | None


@dataclass(frozen=True)
class CaseContact:
    """A case, and the unit that handles it (empty texts where the source has none)."""

    case_number: str
    title: str
    progress: str
    opened: str
    unit: str
    telephone: str
    email: str
    opening_hours: str


@dataclass(frozen=True)
class Overview:
    made_at: datetime
    datasets: tuple[DatasetOverview, ...]
    contacts: tuple[CaseContact, ...]

    def to_json(self) -> bytes:
        return orjson.dumps({"made_at": self.made_at.isoformat(),
                             "datasets": [asdict(d) for d in self.datasets],
                             "contacts": [asdict(c) for c in self.contacts]})

    @classmethod
    def from_json(cls, data: bytes) -> Overview:
        raw = orjson.loads(data)
        return cls(datetime.fromisoformat(raw["made_at"]),
                   tuple(DatasetOverview(**d) for d in raw["datasets"]),
                   tuple(CaseContact(**c) for c in raw["contacts"]))


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _contacts(surveys: Sequence[DatasetSurvey]) -> tuple[CaseContact, ...]:
    units: dict[str, Mapping[str, Any]] = {}
    for survey in surveys:
        if survey.summary.record_type.name == "OrganisationUnit":
            for unit in survey.summary.kept:
                units[str(unit.get("id"))] = unit
    contacts = []
    for survey in surveys:
        if survey.summary.record_type.name != "Case":
            continue
        for case in survey.summary.latest:
            unit = units.get(str(case.get("responsibleUnit")), {})
            contacts.append(CaseContact(
                case_number=_text(case.get("caseNumber")), title=_text(case.get("title")),
                progress=_text(case.get("progressState")), opened=_text(case.get("openedDate")),
                unit=_text(unit.get("name")), telephone=_text(unit.get("telephone")),
                email=_text(unit.get("email")), opening_hours=_text(unit.get("openingHours")),
            ))
    return tuple(contacts[:_MAX_CONTACTS])


def _survey(context: ServiceContext, cpr: Cpr, now: datetime) -> Overview:
    profile = context.profile
    subject = Subject(cpr=cpr)
    limit = context.settings.overview_timeout_seconds
    sources = [with_own_records(context, s, cpr.digits) for s in profile.sources]
    with ThreadPoolExecutor(max_workers=min(8, len(sources))) as pool:
        results = list(pool.map(
            lambda source: survey_source(source, subject, profile.municipality.code,
                                         time_limit=limit),
            sources))
    surveys = [s for per_source in results for s in per_source]
    datasets = tuple(
        DatasetOverview(
            id=s.result.dataset_id, source_id=s.result.source_id,
            count=s.result.accepted, rejected=s.result.rejected,
            first=s.summary.first, last=s.summary.last, gap=s.result.gap,
        )
        for s in surveys
    )
    return Overview(now, datasets, _contacts(surveys))


def get_overview(context: ServiceContext, cpr: Cpr, *, now: datetime | None = None,
                 fresh: bool = False) -> Overview:
    """The overview for ``cpr``: from the cache while it is young, else a new dry run
    (``fresh`` skips the cache)."""
    now = now or datetime.now(UTC)
    key = subject_key(context, cpr.digits)
    keyring = context.keyring  # no key, no overview: nothing is kept unencrypted
    if not fresh and context.settings.overview_cache_seconds:
        with context.sessions() as session:
            row = session.get(OverviewCache, key)
        if row is not None and row.expires_at > now:
            try:
                return Overview.from_json(keyring.unseal(row.payload))
            except (FormatError, ValueError, KeyError, TypeError):
                log.warning("an overview in the cache could not be read; making it again")
    overview = _survey(context, cpr, now)
    ttl = context.settings.overview_cache_seconds
    if ttl:
        sealed = keyring.seal(overview.to_json())
        try:
            with context.sessions.begin() as session:
                # Others' expired overviews are the reconciler's (forget_expired).
                session.execute(delete(OverviewCache).where(OverviewCache.subject_key == key))
                session.add(OverviewCache(subject_key=key, created_at=now,
                                          expires_at=now + timedelta(seconds=ttl),
                                          payload=sealed))
        except IntegrityError:
            pass  # another process stored one for this citizen at the same moment
    return overview
