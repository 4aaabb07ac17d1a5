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

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["DEV_TOKEN_SECRET", "Settings", "get_settings"]

DEV_TOKEN_SECRET = "development-only-token-secret-change-me"  # noqa: S105
_DATA = Path("egnedata-data")


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
        return self

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'egnedata.db'}"

    @property
    def effective_keys_dir(self) -> Path:
        return self.keys_dir or self.data_dir / "keys"

    @property
    def effective_blob_url(self) -> str:
        return self.blob_url or str(self.data_dir / "blobs")


@functools.cache
def get_settings() -> Settings:
    return Settings()
