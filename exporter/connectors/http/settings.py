"""The ``http`` connector's settings (``[sources.settings]``) and per-dataset options."""

from __future__ import annotations

from typing import Any, Literal, Self
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator

from exporter.connectors._config import ConnectorSettings, template_problem

__all__ = ["REQUEST_KEYS", "HttpSettings", "RequestOptions"]

REQUEST_KEYS = ("path", "method", "query", "body", "records")
"""Settings a dataset's ``options`` may override: each record type has its own endpoint."""


def _check_templates(value: Any) -> Any:
    if isinstance(value, str):
        problem = template_problem(value)
        if problem:
            raise ValueError(problem)
    elif isinstance(value, dict):
        for item in value.values():
            _check_templates(item)
    elif isinstance(value, list):
        for item in value:
            _check_templates(item)
    return value


class RequestOptions(ConnectorSettings):
    """Where a dataset's records are: the request and where the list is in the answer."""

    path: str = Field(default="", max_length=2000)
    method: Literal["GET", "POST"] = "GET"
    query: dict[str, str] = Field(default_factory=dict)
    body: dict[str, Any] | None = None
    records: str = Field(default="", max_length=200)

    @field_validator("path", "query", "body")
    @classmethod
    def _templates(cls, value: Any) -> Any:
        return _check_templates(value)

    @field_validator("path")
    @classmethod
    def _relative(cls, value: str) -> str:
        if "://" in value or value.startswith("//"):
            raise ValueError("path is relative to base_url; give the host in base_url")
        return value

    @model_validator(mode="after")
    def _body_needs_post(self) -> Self:
        if self.body is not None and self.method != "POST":
            raise ValueError("body needs method = \"POST\"")
        return self


class HttpSettings(RequestOptions):
    base_url: str = Field(max_length=2000)
    headers: dict[str, str] = Field(default_factory=dict)
    auth: Literal["none", "bearer", "basic", "certificate"] = "none"
    token_env: str = ""
    token_file: str = ""
    username: str = ""
    password_env: str = ""
    password_file: str = ""
    client_cert: str = ""
    client_key: str = ""
    client_key_password_env: str = ""
    ca_file: str = ""
    timeout_seconds: float = Field(default=30.0, gt=0, le=600)
    paging: Literal["none", "page", "offset", "cursor", "link"] = "none"
    page_size: int = Field(default=500, ge=1, le=100_000)
    size_param: str = "page_size"
    page_param: str = "page"
    first_page: int = Field(default=1, ge=0)
    offset_param: str = "offset"
    cursor_param: str = "cursor"
    next_cursor: str = "next_cursor"
    not_found_is_empty: bool = False
    max_response_bytes: int = Field(default=64 * 1024 * 1024, ge=1024)
    check_path: str = ""

    @field_validator("base_url")
    @classmethod
    def _url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("base_url must be an http:// or https:// URL with a host")
        if parts.query or parts.fragment or parts.username or parts.password:
            raise ValueError("base_url takes no query, fragment or credentials")
        return value.rstrip("/")

    @field_validator("headers")
    @classmethod
    def _no_secret_headers(cls, value: dict[str, str]) -> dict[str, str]:
        for name in value:
            if name.lower() in ("authorization", "proxy-authorization", "cookie"):
                raise ValueError(f"{name} must not be written in the profile; use auth")
        return value

    @model_validator(mode="after")
    def _auth_complete(self) -> Self:
        if self.auth == "bearer" and not (self.token_env or self.token_file):
            raise ValueError("auth = \"bearer\" needs token_env or token_file")
        if self.auth == "basic" and not (
            self.username and (self.password_env or self.password_file)
        ):
            raise ValueError("auth = \"basic\" needs username and password_env or password_file")
        if self.auth == "certificate" and not self.client_cert:
            raise ValueError("auth = \"certificate\" needs client_cert (and client_key)")
        if (self.client_cert or self.ca_file) and not self.base_url.startswith("https:"):
            raise ValueError("client_cert and ca_file need an https:// base_url")
        return self

    def request_options(self, overrides: dict[str, Any]) -> RequestOptions:
        """The source's request settings with a dataset's ``options`` over them."""
        unknown = set(overrides) - set(REQUEST_KEYS)
        if unknown:
            raise ValueError(
                f"unknown http dataset options: {', '.join(sorted(unknown))}; "
                f"expected {', '.join(REQUEST_KEYS)}"
            )
        base = {key: getattr(self, key) for key in REQUEST_KEYS}
        return RequestOptions.model_validate({**base, **overrides})
