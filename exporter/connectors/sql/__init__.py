"""``sql``: a parameterised query against any database SQLAlchemy reaches.

The subject is a bound parameter (``:cpr`` or ``:cpr_dashed``), never formatted into
the SQL. Pages are read with a server-side cursor (``stream_results``/``yield_per``) and
follow each other by the ``key`` column, so the connector keeps nothing between calls:

- ``keyset`` (default): ``WHERE key > :last ORDER BY key LIMIT n``. Each page costs the
  same with an index on the key, and rows added or removed meanwhile neither shift nor
  repeat the rest. The key must be unique and never NULL.
- ``offset``: ``ORDER BY key LIMIT n OFFSET m``. Works with a key that is not unique,
  but page k costs k pages of reading, and changes during the export can skip or repeat
  rows.

NULLs are left out of the raw records (absent, as in the record types); dates become ISO
text, decimals numbers. See ``docs/connectors.md``.
"""

from __future__ import annotations

import datetime
import decimal
import uuid
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Self

import orjson
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.pool import NullPool

from exporter.connectors._config import parse_settings, read_secret
from exporter.connectors.base import Page, Subject
from exporter.connectors.sql.settings import QueryOptions, SqlSettings
from exporter.errors import PermanentSourceError, RetryableSourceError, SourceError
from exporter.profile import DatasetSettings

__all__ = ["SqlConnector", "SqlSettings"]

_CONVERT: dict[type, Callable[[Any], Any]] = {
    datetime.date: lambda v: v.isoformat(),
    datetime.datetime: lambda v: v.isoformat(),
    datetime.time: lambda v: v.isoformat(),
    decimal.Decimal: float,
    uuid.UUID: str,
}


def _convert(value: Any) -> Any:
    convert = _CONVERT.get(value.__class__)
    if convert is not None:
        return convert(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return None  # binary columns are not record data
    return str(value)


def _error(exc: SQLAlchemyError) -> SourceError:
    # Only type names: SQLAlchemy's messages can quote the statement's parameters.
    orig = getattr(exc, "orig", None)
    kind = type(orig).__name__ if orig is not None else type(exc).__name__
    retry = isinstance(exc, OperationalError | InterfaceError | PoolTimeout) or (
        isinstance(exc, DBAPIError) and exc.connection_invalidated
    )
    cls = RetryableSourceError if retry else PermanentSourceError
    return cls(f"database error ({kind})")


class SqlConnector:
    """Pages through a query's rows; see the module docstring and ``docs/connectors.md``."""

    name: ClassVar[str] = "sql"
    settings_type: ClassVar[type[SqlSettings]] = SqlSettings

    __slots__ = ("_engine", "settings")

    def __init__(self, settings: SqlSettings, engine: Engine) -> None:
        self.settings = settings
        self._engine = engine

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> Self:
        parsed = parse_settings(SqlSettings, settings, "sql settings")
        url = make_url(parsed.url)
        if url.drivername == "postgresql":
            url = url.set(drivername="postgresql+psycopg")
        password = read_secret(parsed.password_env, parsed.password_file, "password")
        if password is not None:
            url = url.set(password=password)
        try:
            # No pool: each page opens and closes its connection, so nothing outlives a
            # call and an idle connector holds nothing open.
            engine = create_engine(url, poolclass=NullPool, hide_parameters=True)
        except (ImportError, SQLAlchemyError) as exc:
            raise ValueError(f"cannot use url ({type(exc).__name__})") from None
        return cls(parsed, engine)

    def fetch(self, subject: Subject, dataset: DatasetSettings, cursor: str | None) -> Page:
        try:
            options = self.settings.query_options(dataset.options)
        except ValueError as exc:
            raise PermanentSourceError(f"dataset {dataset.id!r}: {exc}") from None
        size = self.settings.page_size
        params: dict[str, Any] = {"cpr": subject.cpr.digits, "cpr_dashed": str(subject.cpr),
                                  "egnedata_limit": size}
        statement = self._statement(options, cursor, params)
        try:
            records = self._rows(statement, params, options.key)
        except SQLAlchemyError as exc:
            raise _error(exc) from None
        if len(records) < size:
            return Page(records, None)
        if self.settings.paging == "offset":
            return Page(records, str(params.get("egnedata_offset", 0) + len(records)))
        last = records[-1].get(options.key)
        if last is None:
            raise PermanentSourceError(f"dataset {dataset.id!r}: the key column is NULL")
        return Page(records, orjson.dumps(last).decode())

    def check(self) -> None:
        """Connect and run ``SELECT 1`` (``egnedata sources check``)."""
        try:
            with self._engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except SQLAlchemyError as exc:
            raise _error(exc) from None

    def _statement(self, options: QueryOptions, cursor: str | None,
                   params: dict[str, Any]) -> str:
        key = self._engine.dialect.identifier_preparer.quote(options.key)
        inner = f"SELECT * FROM ({options.query}) AS egnedata_q"  # noqa: S608 - no values
        order = f" ORDER BY egnedata_q.{key} LIMIT :egnedata_limit"
        if self.settings.paging == "offset":
            params["egnedata_offset"] = _int_cursor(cursor)
            return inner + order + " OFFSET :egnedata_offset"
        if cursor is None:
            return inner + order
        try:
            params["egnedata_after"] = orjson.loads(cursor)
        except orjson.JSONDecodeError:
            raise PermanentSourceError("invalid cursor") from None
        return inner + f" WHERE egnedata_q.{key} > :egnedata_after" + order

    def _rows(self, statement: str, params: dict[str, Any], key: str) -> list[dict[str, Any]]:
        size = self.settings.page_size
        records: list[dict[str, Any]] = []
        append = records.append
        with self._engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                ms = int(self.settings.statement_timeout_seconds * 1000)
                conn.exec_driver_sql(f"SET LOCAL statement_timeout = {ms}")
            result = conn.execution_options(stream_results=True, yield_per=size).execute(
                text(statement), params
            )
            names = tuple(result.keys())
            for row in result:
                record: dict[str, Any] = {}
                for name, value in zip(names, row, strict=True):
                    if value is None:
                        continue
                    cls = value.__class__
                    if cls is not str and cls is not int and cls is not float and cls is not bool:
                        value = _convert(value)
                        if value is None:
                            continue
                    record[name] = value
                append(record)
        return records


def _int_cursor(cursor: str | None) -> int:
    if cursor is None:
        return 0
    if not cursor.isdigit():
        raise PermanentSourceError("invalid cursor")
    return int(cursor)
