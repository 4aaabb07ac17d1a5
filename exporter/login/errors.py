"""Why a login was refused: one error with a reason code that pages and the audit log
name (never the token or a claim's value)."""

from __future__ import annotations

from exporter.errors import EgneDataError

__all__ = ["REASONS", "LoginRefused"]

REASONS = (
    "not_configured",      # no identity provider is set up
    "provider_unreachable",  # discovery, JWKS or the token endpoint did not answer
    "provider_error",      # the provider sent the user back with an error
    "state",               # unknown, used or expired state: a replay or a stale tab
    "browser",             # the callback came to another browser than the login began in
    "iss",                 # the callback's iss parameter (RFC 9207) is not our provider's
    "token",               # the token endpoint refused the code or answered nonsense
    "signature",           # the ID token's signature, algorithm or key is not acceptable
    "unknown_key",         # signed by a key the provider does not publish
    "claims",              # iss, aud, exp, iat or azp of the ID token are wrong
    "expired",             # the ID token has expired
    "nonce",               # the ID token's nonce is not the one this login sent
    "no_cpr",              # the login carries no CPR number (e.g. a login without one)
    "bad_cpr",             # the CPR claim is not a CPR number
    "low_assurance",       # below the configured NSIS level, or no level at all
    "no_role",             # a console login whose roles claim names no console role
    "no_unit",             # a caseworker limited to units, but to none of the profile's
)


class LoginRefused(EgneDataError):
    """A login that must not start a session; ``reason`` is one of :data:`REASONS`."""

    def __init__(self, reason: str, detail: str = "") -> None:
        assert reason in REASONS, reason
        super().__init__(detail or reason)
        self.reason = reason
        self.language: str | None = None
        """The language the login began in, where it is known (for the refusal page)."""
