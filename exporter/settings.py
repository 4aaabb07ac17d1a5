"""The service's settings, read from the environment (``EGNEDATA_*``) or a ``.env`` file.

One :class:`Settings` object is built by :func:`get_settings` when first asked for,
never at import time. The defaults are the embedded setup: SQLite, a local blob folder
and an in-process queue under ``./egnedata-data``, so ``egnedata serve`` runs with
nothing else installed. Every field is documented in ``docs/settings.md`` (a test
checks). Outside development, the default token secret is refused.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Literal, Self
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["DEV_TOKEN_SECRET", "LEVELS_OF_ASSURANCE", "STAFF_ROLES", "Settings", "get_settings"]

DEV_TOKEN_SECRET = "development-only-token-secret-change-me"  # noqa: S105
_DATA = Path("egnedata-data")

LEVELS_OF_ASSURANCE = ("Low", "Substantial", "High")
"""NSIS assurance levels, weakest first (NemLog-in's ``.../nsis/loa`` values)."""
LevelOfAssurance = Literal["Low", "Substantial", "High"]

_PRIVILEGE_RIGHTS: dict[str, tuple[str, ...]] = {
    "urn:dk:egnedata:privilege:request": ("request",),
    "urn:dk:egnedata:privilege:push": ("push",),
}


STAFF_ROLES = ("caseworker", "dpo", "auditor")
"""The console's roles: a data-protection officer has everything a caseworker has, and
the services and the audit log; an auditor reads the audit log and the statistics."""
_STAFF_ROLES = {f"egnedata.{role}": role for role in STAFF_ROLES}


class Settings(BaseSettings):
    """Everything the service reads from its environment."""

    model_config = SettingsConfigDict(
        env_prefix="EGNEDATA_", env_file=".env", extra="ignore", frozen=True
    )

    environment: Literal["development", "production"] = "development"
    data_dir: Path = _DATA
    database_url: str = ""
    redis_url: str = ""
    blob_url: str = ""
    keys_dir: Path | None = None
    profile: Path | None = None
    token_secret: SecretStr = SecretStr(DEV_TOKEN_SECRET)
    token_issuer: str = "egnedata"  # noqa: S105 - a name, not a secret
    token_ttl_seconds: int = Field(default=3600, ge=60, le=86_400)
    package_retention_days: int = Field(default=30, ge=1, le=365)
    lease_seconds: float = Field(default=60.0, gt=0)
    reconcile_interval_seconds: float = Field(default=30.0, gt=0)
    audit_seal_interval_seconds: float = Field(default=1.0, gt=0)
    max_attempts: int = Field(default=5, ge=1, le=100)
    max_body_bytes: int = Field(default=64 * 1024, ge=1024)
    inprocess_workers: int = Field(default=2, ge=1, le=64)
    queue_name: str = "egnedata"
    delivery_max_attempts: int = Field(default=8, ge=1, le=100)
    delivery_retry_base_seconds: float = Field(default=30.0, gt=0)
    delivery_retry_max_seconds: float = Field(default=3600.0, gt=0)
    delivery_timeout_seconds: float = Field(default=60.0, gt=0)

    # The citizen's front door: its address, login (OpenID Connect) and sessions.
    public_url: str = "http://127.0.0.1:8000"
    login_issuer: str = ""
    login_client_id: str = ""
    login_client_auth: Literal["private_key_jwt", "client_secret_basic"] = "private_key_jwt"
    login_client_key: Path | None = None
    login_client_secret: SecretStr | None = None
    login_scopes: str = "openid profile"
    login_algorithms: tuple[str, ...] = ("RS256", "PS256", "ES256")
    login_cpr_claim: str = "dk.cpr"
    login_loa_claim: str = "https://data.gov.dk/concept/core/nsis/loa"
    login_min_loa: LevelOfAssurance = "Substantial"
    login_name_claim: str = "name"
    login_privileges_claim: str = ""
    login_privilege_rights: dict[str, tuple[str, ...]] = Field(
        default_factory=lambda: dict(_PRIVILEGE_RIGHTS))
    login_clock_skew_seconds: int = Field(default=60, ge=0, le=300)
    login_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    login_metadata_ttl_seconds: int = Field(default=3600, ge=10)
    login_jwks_refresh_seconds: int = Field(default=30, ge=1)
    session_idle_minutes: int = Field(default=15, ge=1, le=240)
    session_absolute_hours: int = Field(default=8, ge=1, le=24)
    session_warning_seconds: int = Field(default=120, ge=20, le=600)
    portal_post_limit: int = Field(default=30, ge=1, le=10_000)
    overview_cache_seconds: int = Field(default=300, ge=0, le=3600)
    overview_timeout_seconds: float = Field(default=15.0, gt=0, le=300)

    # Acting on your data: flags and contributions.
    evidence_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1024, le=100 * 1024 * 1024)

    # The municipality's console: staff log in at the municipality's own provider.
    staff_login_issuer: str = ""
    staff_login_client_id: str = ""
    staff_login_client_auth: Literal["private_key_jwt", "client_secret_basic"] = \
        "private_key_jwt"
    staff_login_client_key: Path | None = None
    staff_login_client_secret: SecretStr | None = None
    staff_login_scopes: str = "openid profile"
    staff_name_claim: str = "name"
    staff_roles_claim: str = "roles"
    staff_role_map: dict[str, str] = Field(default_factory=lambda: dict(_STAFF_ROLES))
    staff_unit_map: dict[str, tuple[str, ...]] = Field(default_factory=dict)

    @field_validator("public_url", "login_issuer", "staff_login_issuer")
    @classmethod
    def _absolute_url(cls, value: str, info: ValidationInfo) -> str:
        # An issuer is compared exactly (some end in "/"); our own address is joined to
        # paths, so it loses a trailing slash.
        if info.field_name == "public_url":
            value = value.rstrip("/")
        if value:
            parts = urlsplit(value)
            if parts.scheme not in ("http", "https") or not parts.hostname \
                    or parts.query or parts.fragment:
                raise ValueError("must be an absolute http(s) URL without query or fragment")
        return value

    @model_validator(mode="after")
    def _no_default_secret_in_production(self) -> Self:
        if (
            self.environment != "development"
            and self.token_secret.get_secret_value() == DEV_TOKEN_SECRET
        ):
            raise ValueError(
                "EGNEDATA_TOKEN_SECRET must be set to a secret of your own outside development"
            )
        if len(self.token_secret.get_secret_value()) < 32:
            raise ValueError("EGNEDATA_TOKEN_SECRET must be at least 32 characters")
        if self.environment != "development":
            for name in ("public_url", "login_issuer", "staff_login_issuer"):
                value = getattr(self, name)
                if value and not value.startswith("https://"):
                    raise ValueError(f"EGNEDATA_{name.upper()} must be https outside development")
        for prefix in ("login", "staff_login"):
            self._check_client(prefix)
        unknown_roles = set(self.staff_role_map.values()) - set(STAFF_ROLES)
        if unknown_roles:
            raise ValueError(f"staff_role_map maps to {', '.join(STAFF_ROLES)} only, "
                             f"not {', '.join(sorted(unknown_roles))}")
        unknown = [a for a in self.login_algorithms if a not in _SIGNING_ALGORITHMS]
        if unknown or not self.login_algorithms:
            raise ValueError(f"login_algorithms takes some of {', '.join(_SIGNING_ALGORITHMS)}")
        rights = {r for values in self.login_privilege_rights.values() for r in values}
        if rights - {"request", "push"}:
            raise ValueError("login_privilege_rights maps privileges to request and push")
        return self

    def _check_client(self, prefix: str) -> None:
        """A configured provider needs a client id, and a key or secret for its way of
        authenticating at the token endpoint."""
        if not getattr(self, f"{prefix}_issuer"):
            return
        env = f"EGNEDATA_{prefix.upper()}"
        if not getattr(self, f"{prefix}_client_id"):
            raise ValueError(f"{env}_CLIENT_ID must be set with {env}_ISSUER")
        auth = getattr(self, f"{prefix}_client_auth")
        if auth == "private_key_jwt" and getattr(self, f"{prefix}_client_key") is None:
            raise ValueError(f"private_key_jwt needs {env}_CLIENT_KEY (a JWK file; "
                             "egnedata login keygen makes one)")
        if auth == "client_secret_basic" and getattr(self, f"{prefix}_client_secret") is None:
            raise ValueError(f"client_secret_basic needs {env}_CLIENT_SECRET")

    @property
    def development(self) -> bool:
        return self.environment == "development"

    @property
    def login_configured(self) -> bool:
        return bool(self.login_issuer)

    @property
    def staff_login_configured(self) -> bool:
        return bool(self.staff_login_issuer)

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'egnedata.db'}"

    @property
    def effective_keys_dir(self) -> Path:
        return self.keys_dir or self.data_dir / "keys"

    @property
    def effective_blob_url(self) -> str:
        return self.blob_url or str(self.data_dir / "blobs")


_SIGNING_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384",
                       "ES512", "EdDSA")
"""Asymmetric JWS algorithms an ID token may use: never ``none``, never HMAC (whose key
would be the client secret, shared with the provider)."""


@functools.cache
def get_settings() -> Settings:
    return Settings()
