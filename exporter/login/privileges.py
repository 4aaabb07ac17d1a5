"""Powers of attorney that arrive with a login: NemLog-in's privileges.

NemLog-in sends the privileges a person holds for others as an OIO Basic Privilege
Profile list (base64 XML in the ``privilegesIntermediate`` attribute; a SAML-to-OIDC
bridge passes it on as a claim)::

    <bpp:PrivilegeList xmlns:bpp="http://digst.dk/oiosaml/basic_privilege_profile">
      <PrivilegeGroup Scope="urn:dk:gov:saml:cprNumberIdentifier:0101901234">
        <Privilege>urn:dk:egnedata:privilege:request</Privilege>
      </PrivilegeGroup>
    </bpp:PrivilegeList>

A broker may instead send JSON: ``[{"cpr": "0101901234", "privileges": ["urn:..."]}]``.
Groups scoped to a CPR number become rights by ``login_privilege_rights``; groups for a
company (CVR scope), unknown privileges and malformed entries are left out.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from defusedxml import ElementTree
from defusedxml.common import DefusedXmlException

from exporter.cpr import Cpr
from exporter.errors import InvalidCprError

__all__ = ["Privilege", "parse_privileges"]

CPR_SCOPE = "urn:dk:gov:saml:cprNumberIdentifier:"
_MAX_BYTES = 256 * 1024


@dataclass(frozen=True)
class Privilege:
    """Rights a login holds for another citizen (their CPR digits)."""

    cpr: str
    rights: tuple[str, ...]


def _groups_from_xml(text: bytes) -> list[tuple[str, list[str]]]:
    root = ElementTree.fromstring(text)
    groups = []
    for group in root.iter():
        if group.tag.rsplit("}", 1)[-1] != "PrivilegeGroup":
            continue
        names = [(p.text or "").strip() for p in group
                 if p.tag.rsplit("}", 1)[-1] == "Privilege"]
        groups.append((group.get("Scope", ""), names))
    return groups


def _groups_from_json(value: Any) -> list[tuple[str, list[str]]]:
    if not isinstance(value, list):
        return []
    groups = []
    for entry in value:
        if isinstance(entry, Mapping) and isinstance(entry.get("cpr"), str) \
                and isinstance(entry.get("privileges"), list):
            names = [p for p in entry["privileges"] if isinstance(p, str)]
            groups.append((CPR_SCOPE + entry["cpr"], names))
    return groups


def _groups(value: Any) -> list[tuple[str, list[str]]]:
    if isinstance(value, list):
        return _groups_from_json(value)
    if not isinstance(value, str) or len(value) > _MAX_BYTES:
        return []
    text = value.strip()
    if text.startswith("["):
        try:
            return _groups_from_json(json.loads(text))
        except ValueError:
            return []
    if not text.startswith("<"):
        try:
            text = base64.b64decode(text, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return []
    try:
        return _groups_from_xml(text.encode("utf-8"))
    except (ElementTree.ParseError, DefusedXmlException, ValueError):
        return []


def parse_privileges(value: Any, rights_of: Mapping[str, Sequence[str]],
                     *, own_cpr: str | None) -> tuple[Privilege, ...]:
    """The citizens ``value`` gives rights for, merged per citizen; never oneself."""
    merged: dict[str, set[str]] = {}
    for scope, names in _groups(value):
        if not scope.startswith(CPR_SCOPE):
            continue
        try:
            cpr = Cpr.parse(scope[len(CPR_SCOPE):]).digits
        except InvalidCprError:
            continue
        rights = {r for name in names for r in rights_of.get(name, ())}
        if rights and cpr != own_cpr:
            merged.setdefault(cpr, set()).update(rights)
    return tuple(Privilege(cpr, tuple(sorted(r))) for cpr, r in sorted(merged.items()))
