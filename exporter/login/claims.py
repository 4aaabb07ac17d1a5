"""The claims profile: who a verified ID token says the person is.

Shaped like NemLog-in's OIOSAML 3 attributes carried over OpenID Connect: a CPR claim
and an NSIS assurance-level claim, both named in settings (``login_cpr_claim``,
``login_loa_claim``), the person's name, and optionally their privileges for others.
Below ``login_min_loa`` the login is refused; without a CPR number too.
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

__all__ = ["Identity", "read_identity"]


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
