"""The claims profiles: who a verified ID token says the person is.

Shaped like NemLog-in's OIOSAML 3 attributes carried over OpenID Connect: a CPR claim
and an NSIS assurance-level claim, both named in settings (``login_cpr_claim``,
``login_loa_claim``), the person's name, and optionally their privileges for others.
Below ``login_min_loa`` the login is refused; without a CPR number too.

Staff log in at the municipality's own provider (Entra ID, AD FS, a NemLog-in employee
login): their roles come from ``staff_roles_claim`` (a list of strings, or one string),
mapped by ``staff_role_map``; the same values name the units a caseworker is limited to
through ``staff_unit_map`` (``*``: every unit). No console role, no session.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from exporter.cpr import Cpr
from exporter.errors import InvalidCprError
from exporter.login.errors import LoginRefused
from exporter.login.privileges import Privilege, parse_privileges
from exporter.settings import LEVELS_OF_ASSURANCE, Settings
from formats.text import clean_text, shorten

__all__ = ["Identity", "StaffIdentity", "read_identity", "read_staff_identity"]


@dataclass(frozen=True)
class Identity:
    """A person as their login presents them. ``cpr`` stays on the server."""

    issuer: str
    subject: str
    cpr: str
    name: str
    assurance_level: str
    privileges: tuple[Privilege, ...] = ()


def _assurance(claims: Mapping[str, Any], settings: Settings) -> str:
    level = claims.get(settings.login_loa_claim)
    if not isinstance(level, str) or level not in LEVELS_OF_ASSURANCE:
        raise LoginRefused("low_assurance", "the login carries no NSIS assurance level")
    if LEVELS_OF_ASSURANCE.index(level) < LEVELS_OF_ASSURANCE.index(settings.login_min_loa):
        raise LoginRefused("low_assurance", f"assurance level {level} is below "
                                            f"{settings.login_min_loa}")
    return level


def read_identity(claims: Mapping[str, Any], settings: Settings) -> Identity:
    """The citizen in verified ``claims``, or :class:`LoginRefused`."""
    subject = claims.get("sub")
    if not isinstance(subject, str) or not 0 < len(subject) <= 255:
        raise LoginRefused("claims", "the ID token has no usable sub")
    level = _assurance(claims, settings)
    raw_cpr = claims.get(settings.login_cpr_claim)
    if raw_cpr is None or raw_cpr == "":
        raise LoginRefused("no_cpr", "the login carries no CPR number")
    try:
        cpr = Cpr.parse(raw_cpr).digits
    except InvalidCprError:
        raise LoginRefused("bad_cpr", "the CPR claim is not a CPR number") from None
    name = claims.get(settings.login_name_claim)
    name = shorten(clean_text(name), 200) if isinstance(name, str) else ""
    privileges: tuple[Privilege, ...] = ()
    if settings.login_privileges_claim:
        privileges = parse_privileges(claims.get(settings.login_privileges_claim),
                                      settings.login_privilege_rights, own_cpr=cpr)
    return Identity(str(claims.get("iss", "")), subject, cpr, name, level, privileges)


@dataclass(frozen=True)
class StaffIdentity:
    """An employee as the municipality's provider presents them."""

    issuer: str
    subject: str
    name: str
    roles: tuple[str, ...]
    units: tuple[str, ...] | None
    """The units a caseworker is limited to; None: every unit."""


def _values(claim: Any) -> list[str]:
    if isinstance(claim, str):
        claim = claim.split()
    if not isinstance(claim, list):
        return []
    return [v for v in claim[:500] if isinstance(v, str) and 0 < len(v) <= 500]


def read_staff_identity(claims: Mapping[str, Any], settings: Settings) -> StaffIdentity:
    """The employee in verified ``claims``, or :class:`LoginRefused`."""
    subject = claims.get("sub")
    if not isinstance(subject, str) or not 0 < len(subject) <= 255:
        raise LoginRefused("claims", "the ID token has no usable sub")
    values = _values(claims.get(settings.staff_roles_claim))
    roles = tuple(sorted({settings.staff_role_map[v] for v in values
                          if v in settings.staff_role_map}))
    if not roles:
        raise LoginRefused("no_role", "the login names no console role")
    units: tuple[str, ...] | None = None
    # Units limit a caseworker; a data-protection officer sees every unit's work.
    if settings.staff_unit_map and "caseworker" in roles and "dpo" not in roles:
        mapped = {u for v in values for u in settings.staff_unit_map.get(v, ())}
        if "*" not in mapped:
            if not mapped:
                raise LoginRefused("no_unit", "the caseworker is limited to no unit")
            units = tuple(sorted(mapped))
    name = claims.get(settings.staff_name_claim)
    name = shorten(clean_text(name), 200) if isinstance(name, str) else subject[:200]
    return StaffIdentity(str(claims.get("iss", "")), subject, name, roles, units)
