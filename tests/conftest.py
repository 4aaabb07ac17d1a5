"""Shared fixtures: keys, profiles, building packages the way the CLI does, and the
real servers of tests/servers.py (Redis, PostgreSQL, an S3 endpoint)."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from exporter.cli.package import DEMO_CPR, run_export
from exporter.cpr import Cpr
from exporter.keys import Keyring, generate_keys
from exporter.pipeline import PackageResult
from exporter.profile import Profile, demo_profile_path, load_profile, parse_profile

FIXED_TIME = "2026-11-01T12:00:00Z"
FIXED_ID = "00000000-0000-4000-8000-000000000001"


@pytest.fixture(scope="session")
def keys_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("keys") / "keys"
    generate_keys(directory)
    return directory


@pytest.fixture(scope="session")
def keyring(keys_dir: Path) -> Keyring:
    return Keyring.load(keys_dir)


@pytest.fixture(scope="session")
def demo_profile() -> Profile:
    return load_profile(demo_profile_path())


def demo_profile_with(**settings: Any) -> Profile:
    """The demo profile with extra settings for every demo source."""
    profile = load_profile(demo_profile_path())
    sources = tuple(
        s.model_copy(update={"settings": {**s.settings, **settings}}) for s in profile.sources
    )
    return profile.model_copy(update={"sources": sources})


class Built:
    """A package built into a folder, opened for inspection."""

    def __init__(self, result: PackageResult, zip_path: Path, encrypted_path: Path) -> None:
        self.result = result
        self.zip_path = zip_path
        self.encrypted_path = encrypted_path
        self.zip = zipfile.ZipFile(zip_path)

    def text(self, name: str) -> str:
        return self.zip.read(name).decode("utf-8")

    def read(self, name: str) -> bytes:
        return self.zip.read(name)

    def extract(self, directory: Path) -> Path:
        self.zip.extractall(directory)
        return directory

    def csv_rows(self, name: str) -> list[list[str]]:
        import csv

        text = self.read(name).decode("utf-8-sig")
        return list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))


Builder = Callable[..., Built]


@pytest.fixture
def build(tmp_path: Path, keyring: Keyring) -> Iterator[Builder]:
    counter = iter(range(1_000_000))

    def _build(profile: Profile | None = None, cpr: str = DEMO_CPR, **kwargs: Any) -> Built:
        out = tmp_path / f"out{next(counter)}"
        result, encrypted, plain = run_export(
            profile or load_profile(demo_profile_path()),
            Cpr.parse(cpr),
            out,
            keyring,
            plaintext=True,
            package_id=kwargs.pop("package_id", FIXED_ID),
            generated_at=kwargs.pop("generated_at", FIXED_TIME),
            show_progress=False,
        )
        assert plain is not None
        return Built(result, plain, encrypted)

    yield _build


def case_record(**fields: object) -> dict[str, object]:
    """A valid Case record as a source gives it (``static`` connector), with ``fields``
    changed."""
    return {
        "id": "K1", "caseNumber": "1", "title": "t", "kleCode": "32.06.08", "kleTitle": "x",
        "progressState": "Oplyst", "openedDate": "2024-01-02", "responsibleUnit": "U1",
        "role": "Primær part", **fields,
    }


def static_profile(records: Mapping[str, list[Any]], **source: Any) -> Profile:
    """A profile with one `static` test source serving the given raw records per type."""
    base = load_profile(demo_profile_path()).model_dump(exclude={"path"})
    datasets = []
    for ds in (d for s in base["sources"] for d in s["datasets"]):
        if ds["record_type"] in records:
            datasets.append({**ds, "references": {}})
    base["sources"] = [
        {
            "id": "static",
            "connector": "static",
            "name": {"da": "Testkilde", "en": "Test source"},
            "settings": {"records": records},
            "datasets": datasets,
            **source,
        }
    ]
    return parse_profile(base, origin="test")


@pytest.fixture(autouse=True)
def _static_connector(monkeypatch: pytest.MonkeyPatch) -> None:
    import exporter.connectors as connectors

    targets = {
        **connectors.available_connectors(),
        "static": "tests.static_connector:StaticConnector",
    }
    monkeypatch.setattr(connectors, "available_connectors", lambda: targets)


from tests.browser import browser  # noqa: E402, F401  (fixture)
from tests.portal import portal  # noqa: E402, F401  (fixture)
from tests.servers import (  # noqa: E402, F401  (fixtures)
    postgres_schema_url,
    postgres_url,
    redis_url,
    s3_endpoint,
)
