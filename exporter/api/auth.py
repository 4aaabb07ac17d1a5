"""Who calls the API: a logged-in citizen's session, an employee's console session (for
``/v1/caseworker`` and ``/v1/admin``), or (in development only) a bearer token.

Citizens log in with MitID on the pages (:mod:`exporter.login`); their browser's
session cookie also works for ``/v1``, with the session's CSRF token in an
``X-CSRF-Token`` header on anything but GET. Development tokens (``egnedata token``)
are signed JWTs with a subject and a role: HS256 with the service's secret, our issuer,
an expiry. They are refused unless the service runs in development. A citizen's subject
is their CPR number, so a token is personal data: it is never logged.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from enum import StrEnum

import jwt

from exporter.cpr import Cpr
from exporter.errors import EgneDataError, InvalidCprError
from exporter.settings import Settings

__all__ = ["AuthError", "Principal", "Role", "decode_token", "issue_token"]

_ALGORITHM = "HS256"


class Role(StrEnum):
    CITIZEN = "citizen"
    CASEWORKER = "caseworker"
    ADMIN = "admin"
    REPRESENTATIVE = "representative"
    """Acts for citizens under their mandates (fuldmagt); says whom per call."""
    DPO = "dpo"
    """The data-protection officer: a caseworker's rights, and the services registry."""
    AUDITOR = "auditor"
    """Reads the audit log and the statistics (on the console); changes nothing."""


class AuthError(EgneDataError):
    """No token, or one that is expired, forged or malformed."""


@dataclass(frozen=True)
class Principal:
    subject: str
    role: Role
    assurance_level: str | None = None
    """The NSIS level of the login behind a session; None for a development token."""
    units: tuple[str, ...] | None = None
    """The units an employee's console session is limited to; None: every unit."""

    @property
    def cpr(self) -> Cpr:
        """A citizen's own CPR number (their subject)."""
        return Cpr.parse(self.subject)


def issue_token(settings: Settings, subject: str, role: Role, *, ttl: int | None = None) -> str:
    if role is Role.CITIZEN:
        subject = Cpr.parse(subject).digits
    elif not subject or len(subject) > 200:
        raise ValueError("a subject is 1 to 200 characters")
    now = int(time.time())
    claims = {
        "sub": subject,
        "role": role.value,
        "iss": settings.token_issuer,
        "iat": now,
        "exp": now + (ttl if ttl is not None else settings.token_ttl_seconds),
    }
    return jwt.encode(claims, settings.token_secret.get_secret_value(), algorithm=_ALGORITHM)


def decode_token(settings: Settings, token: str) -> Principal:
    if not settings.development:
        raise AuthError("development tokens are refused outside development; log in instead")
    try:
        claims = jwt.decode(
            token,
            settings.token_secret.get_secret_value(),
            algorithms=[_ALGORITHM],
            issuer=settings.token_issuer,
            options={"require": ["sub", "role", "exp", "iat", "iss"]},
        )
    except jwt.ExpiredSignatureError:
        raise AuthError("the token has expired") from None
    except jwt.PyJWTError:
        raise AuthError("the token is not valid") from None
    try:
        role = Role(claims["role"])
    except ValueError:
        raise AuthError("the token has an unknown role") from None
    subject = claims["sub"]
    if not isinstance(subject, str) or not subject:
        raise AuthError("the token has no subject")
    if role is Role.CITIZEN:
        try:
            Cpr.parse(subject)
        except InvalidCprError:
            raise AuthError("a citizen token's subject must be a CPR number") from None
    return Principal(subject, role)
