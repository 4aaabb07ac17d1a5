"""The ``sql`` connector's settings (``[sources.settings]``) and per-dataset options."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field, field_validator
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from exporter.connectors._config import ConnectorSettings, dataset_options

__all__ = ["SUBJECT_PARAMS", "QueryOptions", "SqlSettings"]

SUBJECT_PARAMS = frozenset({"cpr", "cpr_dashed"})
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")


class QueryOptions(ConnectorSettings):
    """Settings a dataset's ``options`` may override: each record type has its own query."""

    query: str = Field(default="", max_length=100_000)
    key: str = ""

    @field_validator("query")
    @classmethod
    def _bound_subject(cls, value: str) -> str:
        value = value.strip().rstrip(";").strip()
        if not value:
            return value
        params = set(text(value).compile().params)
        if not params & SUBJECT_PARAMS:
            raise ValueError("the query must select by the subject: WHERE ... = :cpr "
                             "(or :cpr_dashed), a bound parameter")
        unknown = params - SUBJECT_PARAMS
        if unknown:
            raise ValueError(f"unknown query parameters: {', '.join(sorted(unknown))}; "
                             "only :cpr and :cpr_dashed are bound")
        return value

    @field_validator("key")
    @classmethod
    def _identifier(cls, value: str) -> str:
        if value and not _IDENTIFIER.fullmatch(value):
            raise ValueError("key must be a column name (letters, digits, _)")
        return value


class SqlSettings(QueryOptions):
    url: str = Field(min_length=1, max_length=2000)
    password_env: str = ""
    password_file: str = ""
    paging: Literal["keyset", "offset"] = "keyset"
    page_size: int = Field(default=5000, ge=1, le=1_000_000)
    statement_timeout_seconds: float = Field(default=120.0, gt=0, le=86400)

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        try:
            url = make_url(value)
        except ArgumentError:
            raise ValueError("url is not an SQLAlchemy database URL") from None
        if url.password:
            raise ValueError("url must not hold a password; use password_env or password_file")
        return value

    def query_options(self, overrides: dict[str, Any]) -> QueryOptions:
        options = dataset_options(QueryOptions, self, overrides, "sql")
        if not options.query:
            raise ValueError("no query: give query in settings or in the dataset's options")
        if not options.key:
            raise ValueError("no key: name the column to page by (unique, not null)")
        return options
