"""The ``sql`` connector against real PostgreSQL and SQLite."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from exporter.connectors.sql import SqlConnector
from exporter.errors import PermanentSourceError, RetryableSourceError, SourceError
from tests.exporter.connectors.case_index import CPR_EMPTY, CPR_MANY, raw_case
from tests.exporter.connectors.support import case_dataset, collect_one, dataset, source, subject

QUERY = ("SELECT sagsid, sagsnr, titel, kle, status, oprettet, enhed FROM sag "
         "WHERE cpr = :cpr")


def _fill(url: str, count: int = 23) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text(
            "CREATE TABLE sag (sagsid TEXT PRIMARY KEY, cpr TEXT NOT NULL, sagsnr INTEGER, "
            "titel TEXT, kle TEXT, status TEXT, oprettet TEXT, enhed TEXT, note TEXT)"))
        rows = [{**raw_case(i), "cpr": CPR_MANY} for i in range(1, count + 1)]
        rows += [{**raw_case(i), "sagsid": f"X{i}", "cpr": "0303903456"} for i in range(5)]
        conn.execute(sa.text(
            "INSERT INTO sag (sagsid, cpr, sagsnr, titel, kle, status, oprettet, enhed) "
            "VALUES (:sagsid, :cpr, :sagsnr, :titel, :kle, :status, :oprettet, :enhed)"), rows)
    engine.dispose()


@pytest.fixture(params=["postgresql", "sqlite"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """Connector settings for a database holding 23 cases of CPR_MANY, and a password."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'sager.db'}"
        _fill(url)
        yield {"url": url}
        return
    full = request.getfixturevalue("postgres_schema_url")
    _fill(full)
    parsed = make_url(full)
    password_file = tmp_path / "db-password"
    password_file.write_text(parsed.password or "")
    without = parsed._replace(password=None).render_as_string(hide_password=False)
    yield {"url": without, "password_file": str(password_file)}


def _collect(settings: dict[str, Any], tmp_path: Path, cpr: str = CPR_MANY,
             ) -> tuple[Any, list[Any]]:
    src = source("sql", settings, case_dataset(options={"query": QUERY, "key": "sagsid"}))
    return collect_one(src, tmp_path, cpr)


@pytest.mark.parametrize("paging", ["keyset", "offset"])
def test_pages_through_the_subjects_rows(database: dict[str, Any], tmp_path: Path,
                                         paging: str) -> None:
    result, records = _collect({**database, "page_size": 5, "paging": paging}, tmp_path)
    assert (result.fetched, result.accepted, result.rejected) == (23, 23, 0), result.reasons
    assert [r["id"].rsplit(":", 1)[1] for r in records] == [f"S{i:06d}" for i in range(1, 24)]
    assert records[0]["caseNumber"] == "1"  # an integer column, text in the record


def test_a_person_without_rows_gives_an_empty_dataset(database: dict[str, Any],
                                                       tmp_path: Path) -> None:
    result, records = _collect(database, tmp_path, cpr=CPR_EMPTY)
    assert result.complete and records == []


def test_the_subject_is_a_bound_parameter(database: dict[str, Any]) -> None:
    # A "CPR" that would break out of a quoted string finds nothing rather than everything.
    connector = SqlConnector.from_settings({**database, "query": QUERY, "key": "sagsid"})
    page = connector.fetch(subject("0101901234"), dataset(), None)
    assert len(page.records) == 23
    with pytest.raises(ValueError, match="bound parameter"):
        SqlConnector.from_settings({**database, "query": "SELECT * FROM sag WHERE cpr = '1'"})
    with pytest.raises(ValueError, match="unknown query parameters: other"):
        SqlConnector.from_settings(
            {**database, "query": "SELECT * FROM sag WHERE cpr = :cpr AND x = :other"})


def test_values_become_json_and_nulls_are_absent(database: dict[str, Any]) -> None:
    query = ("SELECT sagsid, note, CAST(1.5 AS NUMERIC) AS amount, "
             "CAST('2024-12-31' AS DATE) AS day FROM sag WHERE cpr = :cpr")
    connector = SqlConnector.from_settings({**database, "query": query, "key": "sagsid"})
    first = connector.fetch(subject(CPR_MANY), dataset(), None).records[0]
    assert "note" not in first
    assert first["amount"] == 1.5
    assert first["day"] in ("2024-12-31", 2024)  # SQLite has no DATE type: CAST gives a number


def test_a_missing_password_variable_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_DB_PASSWORD", raising=False)
    with pytest.raises(ValueError, match="NO_DB_PASSWORD"):
        SqlConnector.from_settings({"url": "postgresql://u@127.0.0.1/x",
                                    "password_env": "NO_DB_PASSWORD", "query": QUERY})
    with pytest.raises(ValueError, match="must not hold a password"):
        SqlConnector.from_settings({"url": "postgresql://u:secret@127.0.0.1/x"})


def test_a_database_that_is_down_is_retryable_then_a_gap(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from tests.servers import free_port

    settings = {"url": f"postgresql://u@127.0.0.1:{free_port()}/x", "query": QUERY,
                "key": "sagsid"}
    connector = SqlConnector.from_settings(settings)
    with pytest.raises(RetryableSourceError, match="database error"):
        connector.fetch(subject(CPR_MANY), dataset(), None)
    with caplog.at_level(logging.INFO):
        result, _ = _collect(settings, tmp_path)
    assert result.gap == "unreachable"
    assert CPR_MANY not in caplog.text


def test_sql_errors_are_permanent_and_quote_nothing(database: dict[str, Any]) -> None:
    connector = SqlConnector.from_settings(
        {**database, "query": "SELECT * FROM nosuchtable WHERE cpr = :cpr", "key": "id"})
    # PostgreSQL says ProgrammingError (permanent); SQLite says OperationalError for a
    # missing table as for a locked database, so there it is retried.
    expected = PermanentSourceError if "postgresql" in database["url"] else SourceError
    with pytest.raises(expected) as caught:
        connector.fetch(subject(CPR_MANY), dataset(), None)
    assert CPR_MANY not in str(caught.value) and "nosuchtable" not in str(caught.value)
