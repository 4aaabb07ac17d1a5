"""The docs keep up: every setting, connector, record type and command is documented."""

from __future__ import annotations

import dataclasses
import importlib
import re
from pathlib import Path

import pytest
from pydantic import BaseModel

from exporter.connectors import BUILTIN_CONNECTORS, connector_class
from exporter.profile import Contact, DatasetSettings, Municipality, Profile, SourceSettings
from formats.records import record_types

ROOT = Path(__file__).resolve().parents[1]


def _doc(name: str) -> str:
    return (ROOT / name).read_text("utf-8")


def _keys(model: type[BaseModel]) -> list[str]:
    return [k for k, f in model.model_fields.items() if not f.exclude]


@pytest.mark.parametrize("model", [Municipality, Contact, SourceSettings, DatasetSettings, Profile])
def test_every_profile_key_is_documented(model: type[BaseModel]) -> None:
    doc = _doc("docs/profile.md")
    missing = [
        k
        for k in _keys(model)
        if f"`{k}`" not in doc
        and f"[{k}]" not in doc
        and f"[[{k}]]" not in doc
        and f"[[sources.{k}]]" not in doc
    ]
    assert missing == [], f"undocumented profile keys of {model.__name__}: {missing}"


@pytest.mark.parametrize("name", sorted(BUILTIN_CONNECTORS))
def test_every_connector_and_setting_is_documented(name: str) -> None:
    doc = _doc("docs/connectors.md")
    assert f"## `{name}`" in doc
    section = doc.split(f"## `{name}`", 1)[1].split("\n## ", 1)[0]
    cls = connector_class(name)
    model = getattr(cls, "settings_type", None)
    if isinstance(model, type) and issubclass(model, BaseModel):
        settings = [f.alias or k for k, f in model.model_fields.items()]
    else:
        settings = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
    missing = [s for s in settings if f"`{s}`" not in section]
    assert missing == [], f"undocumented settings of {name}: {missing}"


def test_every_mapping_rule_is_documented() -> None:
    from exporter.mapping import LOOKUPS, NUMBER_STYLES, FieldRule

    doc = _doc("docs/mapping.md")
    keys = [f.alias or k for k, f in FieldRule.model_fields.items()]
    missing = [k for k in [*keys, *LOOKUPS, *NUMBER_STYLES] if f"`{k}`" not in doc]
    assert missing == [], f"undocumented mapping rules: {missing}"
    assert "docs/mapping.md" in _doc("README.md")


@pytest.mark.parametrize("name", sorted(record_types()))
def test_every_record_type_and_field_is_documented(name: str) -> None:
    doc = _doc("docs/record-types.md")
    assert f"## `{name}`" in doc
    section = doc.split(f"## `{name}`", 1)[1].split("\n## ", 1)[0]
    missing = [f.name for f in record_types()[name].fields if f"`{f.name}`" not in section]
    assert missing == [], f"undocumented fields of {name}: {missing}"


def test_every_command_is_in_the_readme() -> None:
    from exporter.cli import _register, app

    _register()
    readme = _doc("README.md")
    names = [c.name or c.callback.__name__ for c in app.registered_commands if c.callback]
    names += [g.name for g in app.registered_groups if g.name]
    assert names, "no commands registered"
    missing = [n for n in names if not re.search(rf"egnedata {n}\b", readme)]
    assert missing == [], f"commands missing from README: {missing}"


def test_readme_opens_with_the_two_commands() -> None:
    readme = _doc("README.md")
    first_block = readme.split("```", 2)[1]
    assert "./scripts/demo" in first_block and "./scripts/test" in first_block
    assert "scripts/test" in _doc(".ci/run")


def test_every_service_setting_is_documented() -> None:
    from exporter.settings import Settings

    doc = _doc("docs/settings.md")
    missing = [name for name in Settings.model_fields if f"| `{name}` |" not in doc]
    assert missing == [], f"undocumented settings: {missing}"


def _page_route(path: str) -> str:
    return re.sub(r"{\w+_id}", "{id}", path).replace("{name:path}", "{file}")


@pytest.mark.parametrize(("package", "doc_path", "least"),
                         [("portal", "docs/pages.md", 30), ("console", "docs/console.md", 20)])
def test_every_page_is_documented(package: str, doc_path: str, least: int) -> None:
    """Every route of the citizen's pages and of the console, in its document."""
    routers = importlib.import_module(f"exporter.web.{package}").ROUTERS
    doc = _doc(doc_path)
    routes = [f"{method} {_page_route(route.path)}"
              for router in routers for route in router.routes
              for method in sorted(getattr(route, "methods", ()))]
    assert len(routes) > least
    missing = [r for r in routes if f"`{r}`" not in doc]
    assert missing == [], f"pages missing from {doc_path}: {missing}"
    assert doc_path in _doc("README.md")


def test_every_login_refusal_is_documented_and_worded_in_both_languages() -> None:
    from exporter.login import REASONS
    from exporter.web.render import texts

    doc = _doc("docs/login.md")
    assert [r for r in REASONS if f"`{r}`" not in doc] == []
    for language in ("da", "en"):
        refused = texts(language)["refused"]
        assert [r for r in REASONS if r not in refused] == [], language


def _text_keys(tree: object, prefix: str = "") -> set[str]:
    if isinstance(tree, dict):
        return {k for key, value in tree.items() for k in _text_keys(value, f"{prefix}{key}.")}
    if isinstance(tree, list) and tree and isinstance(tree[0], dict):
        return {k for i, item in enumerate(tree) for k in _text_keys(item, f"{prefix}{i}.")}
    return {prefix.rstrip(".")}


def test_the_pages_say_the_same_in_danish_and_english() -> None:
    from exporter.web.render import texts

    danish, english = _text_keys(texts("da")), _text_keys(texts("en"))
    assert sorted(danish - english) == [] and sorted(english - danish) == []


def test_every_audit_action_is_documented_and_states_have_theirs() -> None:
    from exporter.delivery.states import DeliveryState
    from exporter.service.audit import ACTIONS
    from exporter.service.lifecycle import RequestState

    doc = _doc("docs/service.md")
    assert [a for a in sorted(ACTIONS) if f"`{a}`" not in doc] == []
    assert {f"request.{s.value}" for s in RequestState} <= ACTIONS
    assert {f"delivery.{s.value}" for s in DeliveryState} <= ACTIONS
