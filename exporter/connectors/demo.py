"""``demo``: realistic, deterministic, fictional municipal data.

For a subject it yields a person, the municipality's contact units, cases with real
KLE subjects and progress states, document metadata, grants and monthly payments. The
same CPR number and settings always give the same records, and every record is made
from its index alone, so paging is stateless and the volume scales for benchmarks.

Only synthetic CPR numbers (day of month 61-91) are accepted, so demo data can never
be mistaken for, or mixed into, a real person's package.

Settings (``[sources.settings]``): ``cases`` (cases per subject, default 12),
``documents_per_case`` (default 3), ``payments_per_grant`` (default 12), ``page_size``
(default 500), ``as_of`` (the date the data is "as of", default 2026-10-31), and
``fail_with`` (``unreachable``, ``refused`` or ``slow``: make the source fail, to show
how a gap looks).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, ClassVar, Self

from exporter import reference
from exporter.connectors.base import Page, Subject
from exporter.errors import PermanentSourceError, RetryableSourceError
from exporter.profile import DatasetSettings

__all__ = ["DemoConnector"]

_GIVEN = ("Anna", "Mette", "Sofie", "Ida", "Karen", "Lars", "Jens", "Mads", "Peter", "Søren")
_MIDDLE = ("", "Marie", "Louise", "Emil", "Kristian", "")
_FAMILY = ("Nielsen", "Jensen", "Hansen", "Pedersen", "Andersen", "Christensen", "Larsen",
           "Sørensen", "Rasmussen", "Jørgensen", "Østergaard", "Bæk")
_STREETS = ("Åboulevarden", "Vestergade", "Søndergade", "Nørrebrogade", "Skovvejen",
            "Ringgaden", "Frederiks Allé", "Grønnegade")

# (KLE emne, handlingsfacet, case title, unit index, benefit or None, monthly amount, act)
# The KLE emner are from KL's emneplan (see exporter/reference/NOTES.md).
_SUBJECTS: tuple[tuple[str, str, str, int, str | None, float, str], ...] = (
    ("32.06.08", "G01", "Ansøgning om boligsikring", 1, "Boligsikring", 1850.0,
     "Lov om individuel boligstøtte"),
    ("32.03.16", "G01", "Ansøgning om førtidspension", 1, "Førtidspension", 19840.0,
     "Lov om social pension"),
    ("32.03.12", "G01", "Helbredstillæg til medicin", 1, "Helbredstillæg", 312.5,
     "Lov om social pension"),
    ("32.24.04", "G01", "Kontanthjælp", 2, "Kontanthjælp", 12504.0,
     "Lov om aktiv socialpolitik"),
    ("32.30.04", "G01", "Sygedagpenge under sygemelding", 2, "Sygedagpenge", 18415.0,
     "Lov om sygedagpenge"),
    ("17.20.01", "G01", "Skoleindskrivning", 3, None, 0.0, ""),
    ("28.09.40", "G01", "Plads i vuggestue", 3, None, 0.0, ""),
    ("27.60.08", "G01", "Hjælpemiddel: kørestol", 4, "Hjælpemiddel", 8900.0,
     "Lov om social service"),
    ("27.36.04", "G01", "Praktisk hjælp i hjemmet", 5, None, 0.0, ""),
    ("02.34.02", "G01", "Byggetilladelse til carport", 6, None, 0.0, ""),
    ("05.09.12", "G01", "Dispensation til parkering", 6, None, 0.0, ""),
    ("07.18.10", "G01", "Afhentning af storskrald", 7, None, 0.0, ""),
)

_UNITS = (
    ("Borgerservice", "borgerservice", "Mandag-fredag 10-15"),
    ("Ydelsesservice, Pension og Boligstøtte", "pension", "Mandag-torsdag 9-14"),
    ("Jobcenter", "jobcenter", "Mandag-fredag 8-15"),
    ("Børn og Unge, Pladsanvisningen", "pladsanvisning", "Mandag-fredag 9-13"),
    ("Hjælpemiddelcentret", "hjaelpemidler", "Mandag-fredag 8-12"),
    ("Sundhed og Omsorg, Visitationen", "visitation", "Mandag-fredag 8-14"),
    ("Teknik og Miljø, Byggeri", "byggeri", "Tirsdag og torsdag 10-14"),
    ("Affald og Genbrug", "affald", "Mandag-fredag 8-16"),
)

_DOCUMENTS = (
    ("Ansøgning", "Indgående", "Ansøgning modtaget"),
    ("Kvittering", "Udgående", "Kvittering for modtagelse"),
    ("Partshøring", "Udgående", "Partshøring før afgørelse"),
    ("Bemærkninger", "Indgående", "Dine bemærkninger til partshøringen"),
    ("Notat", "Internt", "Sagsnotat"),
    ("Afgørelse", "Udgående", "Afgørelse"),
)

# The progress states Sags- og Dokumentindeks v6 allows, and the Sagspart roles.
_STATES = ("Opstået", "Oplyst", "Afgjort", "Afsluttet")
_ROLES = ("Primær part", "Primær part", "Primær part", "Sekundær part", "Ydelsesmodtager")


_MASK = 0xFFFFFFFFFFFFFFFF
_GOLDEN = 0x9E3779B97F4A7C15


def _mix_step(h: int, v: int) -> int:
    h ^= v + _GOLDEN + ((h << 6) & _MASK) + (h >> 2)
    h = (h * 0xBF58476D1CE4E5B9) & _MASK
    return h ^ (h >> 31)


def _mix(*values: int) -> int:
    """A cheap, deterministic hash of integers (splitmix-style)."""
    h = _GOLDEN
    for v in values:
        h = _mix_step(h, v)
    return h


@functools.lru_cache(maxsize=64)
def _mixed(*values: int) -> int:
    """``_mix(*values)``, kept: ``_mix_step(_mixed(a, b), i) == _mix(a, b, i)``, so a
    hash per record costs one step, not three."""
    return _mix(*values)


@functools.cache
def _case_fields(subject_index: int) -> tuple[str, str, str, str, str, str]:
    """What a case takes from its subject: title, KLE emne and its title, handlingsfacet
    and its title (from the reference), and the responsible unit."""
    kle_code, facet, title, unit, _, _, _ = _SUBJECTS[subject_index]
    kle = reference.kle()
    return (title, kle_code, kle["emner"][kle_code]["title"], facet,
            kle["handlingsfacetter"][facet], f"U{unit + 1:02d}")


class _IsoDates(dict[int, str]):
    """ISO dates by day number: ``_ISO[day]``. The demo reuses a few thousand days, so
    they are kept; a lookup that hits is a plain dict lookup, with no call."""

    _LIMIT = 8192

    def __missing__(self, ordinal: int) -> str:
        text = date.fromordinal(ordinal).isoformat()
        if len(self) < self._LIMIT:
            self[ordinal] = text
        return text


_ISO = _IsoDates()


# Dates are handled as day numbers (date.toordinal()): plain integer arithmetic.
def _case_parts(seed: int, i: int, as_of: int) -> tuple[int, int, int]:
    """(its subject, the day it was opened, its progress state)."""
    h = _mix_step(_mixed(seed, 2), i)
    subject_index = h % len(_SUBJECTS)
    age = (h >> 8) % 3650
    state = age // 180 + ((h >> 20) % 2)
    return subject_index, as_of - age, state if state < len(_STATES) else len(_STATES) - 1


_BENEFIT_SUBJECTS = tuple(i for i, s in enumerate(_SUBJECTS) if s[4])


def _grant_parts(
    seed: int, g: int, cases: int, payments: int, as_of: int
) -> tuple[int | None, int, int]:
    """(the case it was granted in, or None; the day it starts; the subject it pays for)."""
    case: int | None = min(g * 4, cases - 1)
    subject_index, opened, _ = _case_parts(seed, case or 0, as_of)
    if not _SUBJECTS[subject_index][4]:  # that case grants nothing: a grant of its own
        case = None
        subject_index = _BENEFIT_SUBJECTS[_mix(seed, 4, g) % len(_BENEFIT_SUBJECTS)]
    # Every payment falls before the "as of" date.
    start = min(opened + 30, as_of - 30 * payments)
    return case, start, subject_index


@dataclass(frozen=True)
class DemoConnector:
    """Generates fictional records; see the module docstring for settings."""

    name: ClassVar[str] = "demo"

    cases: int = 12
    documents_per_case: int = 3
    payments_per_grant: int = 12
    page_size: int = 500
    as_of: date = date(2026, 10, 31)
    fail_with: str = ""

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> Self:
        allowed = {"cases", "documents_per_case", "payments_per_grant", "page_size",
                   "as_of", "fail_with"}
        unknown = set(settings) - allowed
        if unknown:
            raise ValueError(f"unknown demo settings: {', '.join(sorted(unknown))}")
        values: dict[str, Any] = {}
        for key in ("cases", "documents_per_case", "payments_per_grant", "page_size"):
            if key in settings:
                value = settings[key]
                if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                    raise ValueError(f"{key} must be a whole number >= 0")
                values[key] = value
        if values.get("page_size", 1) < 1:
            raise ValueError("page_size must be at least 1")
        if "as_of" in settings:
            as_of = settings["as_of"]
            values["as_of"] = as_of if isinstance(as_of, date) else date.fromisoformat(str(as_of))
        if "fail_with" in settings:
            if settings["fail_with"] not in ("", "unreachable", "refused", "slow"):
                raise ValueError("fail_with must be unreachable, refused or slow")
            values["fail_with"] = settings["fail_with"]
        return cls(**values)

    # -- counts ---------------------------------------------------------------------

    @property
    def grants(self) -> int:
        return (self.cases + 3) // 4

    def total(self, record_type: str) -> int:
        return {
            "Person": 1,
            "OrganisationUnit": len(_UNITS),
            "Case": self.cases,
            "Document": self.cases * self.documents_per_case,
            "Grant": self.grants,
            "Payment": self.grants * self.payments_per_grant,
        }.get(record_type, 0)

    # -- the protocol -----------------------------------------------------------------

    def fetch(self, subject: Subject, dataset: DatasetSettings, cursor: str | None) -> Page:
        if self.fail_with == "unreachable":
            raise RetryableSourceError("demo source configured to be unreachable")
        if self.fail_with == "refused":
            raise PermanentSourceError("demo source configured to refuse")
        if self.fail_with == "slow":
            time.sleep(0.2)
        if not subject.cpr.is_synthetic:
            raise PermanentSourceError(
                "the demo source only serves synthetic CPR numbers (day of month 61-91)"
            )
        try:
            start = int(cursor) if cursor else 0
        except ValueError:
            raise PermanentSourceError("invalid cursor") from None
        total = self.total(dataset.record_type)
        end = min(total, start + self.page_size)
        make = getattr(self, "_" + dataset.record_type.lower())
        seed = _mix(int(subject.cpr.digits))
        records: list[dict[str, Any]] = make(seed, subject, start, end)
        return Page(records, str(end) if end < total else None)

    # -- record makers: the records from ``start`` up to ``end`` ---------------------------
    # Records that share a case or grant are made together, so its parts are worked
    # out once, not once a record.

    def _person(self, seed: int, subject: Subject, start: int, end: int) -> list[dict[str, Any]]:
        if start >= end:
            return []
        h = _mix(seed, 1)
        given = _GIVEN[h % len(_GIVEN)]
        middle = _MIDDLE[(h >> 8) % len(_MIDDLE)]
        return [{
            "id": "person",
            "cprNumber": str(subject.cpr),
            "givenName": f"{given} {middle}".strip(),
            "familyName": _FAMILY[(h >> 16) % len(_FAMILY)],
            "birthDate": subject.cpr.birth_date.isoformat(),
            "address": {
                "streetAddress": f"{_STREETS[(h >> 24) % len(_STREETS)]} {(h >> 32) % 120 + 1}",
                "postalCode": "8000",
                "addressLocality": "Aarhus C",
            },
            "municipalityCode": "0751",
        }]

    def _organisationunit(
        self, seed: int, subject: Subject, start: int, end: int
    ) -> list[dict[str, Any]]:
        records = []
        for i in range(start, end):
            name, mailbox, hours = _UNITS[i]
            records.append({
                "id": f"U{i + 1:02d}",
                "name": name,
                "telephone": f"+45 89 40 {20 + i:02d} 00",
                "email": f"{mailbox}@demo-kommune.invalid",
                "openingHours": hours,
                "address": {
                    "streetAddress": "Rådhuspladsen 2",
                    "postalCode": "8000",
                    "addressLocality": "Aarhus C",
                },
            })
        return records

    def _case(self, seed: int, subject: Subject, start: int, end: int) -> list[dict[str, Any]]:
        as_of = self.as_of.toordinal()
        closed = len(_STATES) - 1
        roles = _mixed(seed, 3)
        records = []
        for i in range(start, end):
            subject_index, opened, state = _case_parts(seed, i, as_of)
            title, kle_code, kle_title, facet, facet_title, unit = _case_fields(subject_index)
            opened_on = _ISO[opened]
            changed = _ISO[min(as_of, opened + 15 + state * 40)]
            record = {
                "id": "S" + str(i + 1).zfill(6),
                # <KLE emne>-<facet>-<number>-<two-digit year opened>
                "caseNumber": f"{kle_code}-{facet}-" + str(i + 1).zfill(5) + "-" + opened_on[2:4],
                "title": title,
                "kleCode": kle_code,
                "kleTitle": kle_title,
                "actionFacet": facet,
                "actionFacetTitle": facet_title,
                "responsibleUnit": unit,
                "progressState": _STATES[state],
                "openedDate": opened_on,
                "changedDate": changed,
                "role": _ROLES[_mix_step(roles, i) % len(_ROLES)],
            }
            if state == closed:
                record["closedDate"] = changed
            records.append(record)
        return records

    def _document(self, seed: int, subject: Subject, start: int, end: int) -> list[dict[str, Any]]:
        as_of = self.as_of.toordinal()
        per_case = self.documents_per_case
        iso = _ISO
        records = []
        for case in range(start // per_case, -(-end // per_case)) if per_case else ():
            _, opened, _ = _case_parts(seed, case, as_of)
            case_id = f"S{case + 1:06d}"
            first = case * per_case
            for i in range(max(start, first), min(end, first + per_case)):
                n = i - first
                kind, direction, title = _DOCUMENTS[n % len(_DOCUMENTS)]
                day = opened + n * 9
                records.append({
                    "id": "D" + str(i + 1).zfill(7),
                    "case": case_id,
                    "title": title,
                    "documentKind": kind,
                    "documentDate": iso[day if day < as_of else as_of],
                    "direction": direction,
                })
        return records

    def _grant(self, seed: int, subject: Subject, start: int, end: int) -> list[dict[str, Any]]:
        as_of = self.as_of.toordinal()
        months = self.payments_per_grant
        records = []
        for g in range(start, end):
            case, first, subject_index = _grant_parts(seed, g, self.cases, months, as_of)
            _, _, _, _, benefit, amount, act = _SUBJECTS[subject_index]
            last = first + 30 * months
            record: dict[str, Any] = {
                "id": f"B{g + 1:06d}",
                "benefit": benefit,
                "status": "Ophørt" if last < as_of else "Bevilget",
                "decisionDate": _ISO[first],
                "periodStart": _ISO[first],
                "amount": amount,
                "amountPeriod": "Måned",
                "legalReference": act,
            }
            if case is not None:
                record["case"] = f"S{case + 1:06d}"
            if last < as_of:
                record["periodEnd"] = _ISO[last]
            records.append(record)
        return records

    def _payment(self, seed: int, subject: Subject, start: int, end: int) -> list[dict[str, Any]]:
        as_of = self.as_of.toordinal()
        months = self.payments_per_grant
        iso = _ISO
        records = []
        for g in range(start // months, -(-end // months)) if months else ():
            _, first_day, subject_index = _grant_parts(seed, g, self.cases, months, as_of)
            benefit = _SUBJECTS[subject_index][4] or ""
            amount = _SUBJECTS[subject_index][5]
            tax = round(amount * 0.37, 2)
            net = round(amount - tax, 2)
            grant_id = f"B{g + 1:06d}"
            first = g * months
            for k in range(max(start, first), min(end, first + months)):
                day = first_day + 30 * (k - first)
                records.append({
                    "id": "P" + str(k + 1).zfill(7),
                    "grant": grant_id,
                    "benefit": benefit,
                    "paymentDate": iso[day - 3],
                    "periodStart": iso[day],
                    "periodEnd": iso[day + 29],
                    "grossAmount": amount,
                    "taxWithheld": tax,
                    "netAmount": net,
                    "currency": "DKK",
                })
        return records
