"""``package.jsonld``: the DCAT catalogue of a package, with the GDPR Art. 15(1)
information for every dataset expressed in W3C DPV terms.

Art. 15(1): (a) purposes -> ``hasPurpose``; (b) categories -> ``hasPersonalData``;
(c) recipients -> ``hasRecipient``; (d) storage period -> ``hasStorageCondition``;
(e) and (f) rights, including the right to complain -> ``hasRight``; (g) source ->
``hasDataSource``; (h) automated decision-making -> ``automatedDecisionMaking``.
The legal basis (``hasLegalBasis``) and the controller and DPO contacts come along.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from exporter import reference
from exporter.pipeline.collect import GAP_REASONS, DatasetResult
from exporter.profile import Contact, DatasetSettings, Profile
from formats.records import record_type

__all__ = ["RIGHTS", "catalogue"]

# GDPR rights in the DPV GDPR extension: access, rectification, erasure, restriction,
# objection, and the right to lodge a complaint with a supervisory authority.
RIGHTS = ("eu-gdpr:A15", "eu-gdpr:A16", "eu-gdpr:A17", "eu-gdpr:A18", "eu-gdpr:A21", "eu-gdpr:A77")


def _contact(contact: Contact, kind: str) -> dict[str, Any]:
    out: dict[str, Any] = {"type": kind, "name": contact.name, "email": contact.email}
    if contact.phone:
        out["telephone"] = contact.phone
    if contact.address:
        out["address"] = contact.address
    if contact.url:
        out["url"] = contact.url
    return out


def _dataset(
    profile: Profile, source_name: dict[str, str], ds: DatasetSettings, result: DatasetResult
) -> dict[str, Any]:
    rt = record_type(ds.record_type)
    entry: dict[str, Any] = {
        "id": f"urn:egnedata:{profile.municipality.code}:dataset:{ds.id}",
        "type": "Dataset",
        "label": ds.title.as_dict(),
        "summary": ds.description.as_dict(),
        "sourceName": source_name,
        "conformsTo": f"schemas/{rt.schema_file}",
        "recordCount": result.accepted,
        "rejectedCount": result.rejected,
        "completeness": "complete" if result.complete else "gap",
        "hasPurpose": {"type": "dpv:Purpose", "summary": ds.purpose.as_dict()},
        "hasLegalBasis": [f"eu-gdpr:{basis}" for basis in ds.legal_basis_gdpr],
        "legalBasisText": ds.legal_basis.as_dict(),
        "hasPersonalData": [f"pd:{category}" for category in ds.categories],
        "hasRecipient": {"type": "dpv:Recipient", "summary": ds.recipients.as_dict()},
        "hasStorageCondition": {
            "type": "dpv:StorageDuration",
            "summary": ds.storage_period.as_dict(),
            **({"hasDuration": ds.storage_duration} if ds.storage_duration else {}),
        },
        "hasDataSource": {"type": "dpv:DataSource", "summary": ds.origin.as_dict()},
        "automatedDecisionMaking": ds.automated_decisions,
    }
    if result.complete:
        entry["distribution"] = [
            {
                "type": "Distribution",
                "downloadURL": f"data/{ds.id}.jsonld",
                "mediaType": "application/ld+json",
            },
            {"type": "Distribution", "downloadURL": f"data/{ds.id}.csv", "mediaType": "text/csv"},
        ]
    else:
        entry["gapReason"] = dict(GAP_REASONS[result.gap or "error"])
    return entry


def catalogue(
    profile: Profile,
    results: Sequence[DatasetResult],
    *,
    package_id: str,
    issued: str,
    period: tuple[str | None, str | None] | None = None,
) -> dict[str, Any]:
    by_id = {r.dataset_id: r for r in results}
    datasets = []
    for source in profile.sources:
        for ds in source.datasets:
            datasets.append(_dataset(profile, source.name.as_dict(), ds, by_id[ds.id]))
    datasets.sort(key=lambda d: str(d["id"]))
    name = profile.municipality.display_name
    return {
        "@context": "context.jsonld",
        "id": f"urn:egnedata:package:{package_id}",
        "type": "Catalog",
        "label": {"da": f"Dine data fra {name}", "en": f"Your data from {name}"},
        "issued": issued,
        "language": ["da", "en"],
        "publisher": _contact(profile.controller, "dpv:DataController"),
        "hasDataController": _contact(profile.controller, "dpv:DataController"),
        "hasDataProtectionOfficer": _contact(profile.dpo, "dpv:DataProtectionOfficer"),
        "hasRight": list(RIGHTS),
        "dataset": datasets,
    } | _temporal(period)


def _temporal(period: tuple[str | None, str | None] | None) -> dict[str, Any]:
    """The period a request was limited to, as dct:temporal (nothing if unlimited)."""
    if period is None:
        return {}
    span: dict[str, Any] = {"type": "dct:PeriodOfTime"}
    if period[0]:
        span["periodStart"] = period[0]
    if period[1]:
        span["periodEnd"] = period[1]
    return {"temporal": span}


def category_labels(ds: DatasetSettings) -> list[dict[str, str]]:
    """Danish and English labels of a dataset's personal-data categories."""
    known = reference.dpv()["categories"]
    return [dict(known[c]) for c in ds.categories]


def legal_basis_labels(ds: DatasetSettings) -> dict[str, str]:
    known = reference.dpv()["legal_bases"]
    return {
        lang: "; ".join(
            [ds.legal_basis.as_dict()[lang]] + [known[b][lang] for b in ds.legal_basis_gdpr]
        )
        for lang in ("da", "en")
    }
