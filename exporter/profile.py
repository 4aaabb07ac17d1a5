"""Municipality profiles: one TOML file per municipality.

A profile names the municipality (one of the 98 kommunekoder), its data controller and
data protection officer, and its sources. Each source has a connector, the connector's
settings, and one or more datasets; each dataset declares its record type and the
GDPR Art. 15(1) information the package must carry (purpose, legal basis, categories,
recipients, storage period, origin). See ``docs/profile.md`` for every key.

A wrong profile raises :class:`~exporter.errors.ProfileError` naming the file, the key
and what was expected.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from exporter import reference
from exporter.cpr import Cpr
from exporter.errors import InvalidCprError, ProfileError
from exporter.mapping import RuleSpec, check_mapping
from formats.records import record_types

__all__ = [
    "Contact",
    "DatasetSettings",
    "Localized",
    "Municipality",
    "Profile",
    "SourceSettings",
    "demo_profile_path",
    "load_profile",
]

_SLUG = r"^[a-z][a-z0-9-]{0,39}$"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Localized(_Model):
    """A text in Danish and English."""

    da: str = Field(min_length=1, max_length=4000)
    en: str = Field(min_length=1, max_length=4000)

    def as_dict(self) -> dict[str, str]:
        return {"da": self.da, "en": self.en}


class Municipality(_Model):
    code: str = Field(pattern=r"^0[0-9]{3}$", description="kommunekode, 4 digits")
    name: str = ""

    @field_validator("code")
    @classmethod
    def _known_code(cls, value: str) -> str:
        if value not in reference.kommuner():
            raise ValueError(f"{value!r} is not one of the 98 kommunekoder")
        return value

    @model_validator(mode="after")
    def _known(self) -> Self:
        known = reference.kommuner()
        if self.name and self.name != known[self.code] and self.name != (
            known[self.code] + " Kommune"
        ):
            raise ValueError(
                f"kommunekode {self.code} is {known[self.code]!r}, not {self.name!r}"
            )
        return self

    @property
    def display_name(self) -> str:
        return self.name or reference.kommuner()[self.code] + " Kommune"


class Contact(_Model):
    name: str = Field(min_length=1, max_length=200)
    address: str = Field(default="", max_length=300)
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$", max_length=254)
    phone: str = Field(default="", max_length=40)
    url: str = Field(default="", max_length=500, pattern=r"^(https://\S+)?$")


class DatasetSettings(_Model):
    id: str = Field(pattern=_SLUG)
    record_type: str
    title: Localized
    description: Localized
    purpose: Localized
    legal_basis: Localized
    legal_basis_gdpr: tuple[str, ...] = Field(min_length=1)
    categories: tuple[str, ...] = Field(min_length=1)
    recipients: Localized
    storage_period: Localized
    storage_duration: str = Field(default="", pattern=r"^(P(\d+Y)?(\d+M)?(\d+D)?)?$")
    origin: Localized
    automated_decisions: bool = False
    references: dict[str, str] = Field(default_factory=dict)
    options: dict[str, Any] = Field(default_factory=dict)
    mapping: dict[str, RuleSpec] = Field(default_factory=dict)

    @field_validator("record_type")
    @classmethod
    def _known_type(cls, value: str) -> str:
        if value not in record_types():
            raise ValueError(f"expected one of {', '.join(sorted(record_types()))}")
        return value

    @field_validator("categories")
    @classmethod
    def _known_categories(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        known = reference.dpv()["categories"]
        for item in value:
            if item not in known:
                raise ValueError(
                    f"unknown personal-data category {item!r}; expected DPV-PD terms: "
                    + ", ".join(sorted(known))
                )
        return value

    @field_validator("legal_basis_gdpr")
    @classmethod
    def _known_bases(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        known = reference.dpv()["legal_bases"]
        for item in value:
            if item not in known:
                raise ValueError(
                    f"unknown GDPR legal basis {item!r}; expected one of "
                    + ", ".join(sorted(known))
                )
        return value

    @model_validator(mode="after")
    def _mapping_fits(self) -> Self:
        if self.mapping:
            problems = check_mapping(self.record_type, self.mapping)
            if problems:
                raise ValueError("mapping:\n    " + "\n    ".join(problems))
        return self


class SourceSettings(_Model):
    id: str = Field(pattern=_SLUG)
    connector: str = Field(min_length=1)
    name: Localized
    settings: dict[str, Any] = Field(default_factory=dict)
    timeout_seconds: float = Field(default=300.0, gt=0, le=86400)
    retries: int = Field(default=3, ge=0, le=20)
    check_cpr: str = ""
    datasets: tuple[DatasetSettings, ...] = Field(min_length=1)

    @field_validator("check_cpr")
    @classmethod
    def _test_person(cls, value: str) -> str:
        if value:
            try:
                Cpr.parse(value)
            except InvalidCprError as exc:
                raise ValueError(str(exc)) from None
        return value

    @model_validator(mode="after")
    def _unique(self) -> Self:
        seen_types: set[str] = set()
        for ds in self.datasets:
            if ds.record_type in seen_types:
                raise ValueError(
                    f"source {self.id!r} has two datasets of record type {ds.record_type}; "
                    "a source may have one dataset per record type"
                )
            seen_types.add(ds.record_type)
        return self


class Profile(_Model):
    municipality: Municipality
    controller: Contact
    dpo: Contact
    sources: tuple[SourceSettings, ...] = Field(min_length=1)
    path: Path | None = Field(default=None, exclude=True)

    @model_validator(mode="after")
    def _unique_ids(self) -> Self:
        seen: set[str] = set()
        for source in self.sources:
            if source.id in seen:
                raise ValueError(f"two sources have the id {source.id!r}")
            seen.add(source.id)
        datasets: set[str] = set()
        for source in self.sources:
            for ds in source.datasets:
                if ds.id in datasets:
                    raise ValueError(f"two datasets have the id {ds.id!r}")
                datasets.add(ds.id)
        types_by_source = {s.id: {d.record_type for d in s.datasets} for s in self.sources}
        for source in self.sources:
            for ds in source.datasets:
                for type_name, source_id in ds.references.items():
                    if type_name not in types_by_source.get(source_id, set()):
                        raise ValueError(
                            f"dataset {ds.id!r} refers to {type_name} records in source "
                            f"{source_id!r}, which has no {type_name} dataset"
                        )
        return self

    def source(self, source_id: str) -> SourceSettings:
        for source in self.sources:
            if source.id == source_id:
                return source
        raise KeyError(source_id)


def _location(loc: tuple[int | str, ...], data: Mapping[str, Any]) -> str:
    """``('sources', 0, 'datasets', 1, 'title')`` -> ``sources[0] (id "x").datasets[1]...``"""
    parts: list[str] = []
    node: Any = data
    for item in loc:
        if isinstance(item, int):
            label = f"[{item}]"
            try:
                node = node[item]
                if isinstance(node, Mapping) and "id" in node:
                    label += f" (id {node['id']!r})"
            except (IndexError, KeyError, TypeError):
                node = None
            parts.append(label)
        else:
            parts.append(("." if parts else "") + item)
            node = node.get(item) if isinstance(node, Mapping) else None
    return "".join(parts) or "(top level)"


def parse_profile(data: Mapping[str, Any], *, origin: str) -> Profile:
    try:
        profile = Profile.model_validate(data)
    except ValidationError as exc:
        lines = []
        for error in exc.errors(include_url=False):
            where = _location(tuple(error["loc"]), data)
            message = error["msg"].removeprefix("Value error, ")
            lines.append(f"  {where}: {message}")
        raise ProfileError(f"{origin}: the profile is not valid:\n" + "\n".join(lines)) from None
    return profile


def load_profile(path: Path) -> Profile:
    """Load and check a profile; every problem is reported with file and key."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ProfileError(f"{path}: cannot read the profile: {exc.strerror}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ProfileError(f"{path}: the profile must be UTF-8 encoded TOML") from None
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"{path}: not valid TOML: {exc}") from None
    profile = parse_profile(data, origin=str(path))
    return profile.model_copy(update={"path": path})


def demo_profile_path() -> Path:
    """The demo municipality's profile, shipped with the package."""
    return Path(str(resources.files("exporter.profiles") / "demo.toml"))
