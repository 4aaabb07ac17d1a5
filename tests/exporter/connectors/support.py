"""Building profiles, datasets and sources for the connector tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from exporter.connectors import Subject
from exporter.cpr import Cpr
from exporter.pipeline.collect import DatasetResult, collect_source
from exporter.pipeline.stage import EphemeralStage, read_records
from exporter.profile import DatasetSettings, Profile, SourceSettings, parse_profile

__all__ = ["CASE_MAPPING", "case_dataset", "dataset", "profile_with", "source", "subject"]

_TEXT = {"da": "tekst", "en": "text"}

CASE_MAPPING: dict[str, Any] = {
    "id": "sagsid",
    "caseNumber": "sagsnr",
    "title": "titel",
    "kleCode": "kle",
    "kleTitle": {"from": "kle", "lookup": "kle"},
    "progressState": {"from": "status", "codes": {"1": "Opstået", "2": "Oplyst"}},
    "openedDate": {"from": "oprettet", "date": "dd-mm-yyyy"},
    "responsibleUnit": "enhed",
    "role": {"value": "Primær part"},
}


def case_dataset(options: dict[str, Any] | None = None,
                 mapping: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "id": "sager", "record_type": "Case", "title": _TEXT, "description": _TEXT,
        "purpose": _TEXT, "legal_basis": _TEXT, "legal_basis_gdpr": ["A6-1-e"],
        "categories": ["Name"], "recipients": _TEXT, "storage_period": _TEXT,
        "origin": _TEXT, "options": options or {},
        "mapping": CASE_MAPPING if mapping is None else mapping, **extra,
    }


def profile_with(*sources: dict[str, Any]) -> Profile:
    return parse_profile({
        "municipality": {"code": "0751"},
        "controller": {"name": "Kommunen", "email": "dpo@kommune.example"},
        "dpo": {"name": "DPO", "email": "dpo@kommune.example"},
        "sources": list(sources),
    }, origin="test")


def source(connector: str, settings: dict[str, Any], *datasets: dict[str, Any],
           source_id: str = "kilde", **extra: Any) -> SourceSettings:
    data = {"id": source_id, "connector": connector, "name": _TEXT, "settings": settings,
            "datasets": list(datasets) or [case_dataset()], **extra}
    return profile_with(data).sources[0]


def dataset(**kwargs: Any) -> DatasetSettings:
    return source("demo", {}, case_dataset(**kwargs)).datasets[0]


def subject(digits: str) -> Subject:
    return Subject(Cpr.parse(digits))


def collect_one(src: SourceSettings, tmp_path: Path, cpr: str) -> tuple[DatasetResult, list[Any]]:
    """Collect a one-dataset source (``sager``) through the pipeline: its result and,
    when it completed, the staged records."""
    with EphemeralStage(tmp_path) as stage:
        [result] = collect_source(src, subject(cpr), "0751", stage, sleep=lambda s: None)
        records: list[Any] = []
        if result.complete:
            records = list(read_records(stage, "sager"))
    return result, records
