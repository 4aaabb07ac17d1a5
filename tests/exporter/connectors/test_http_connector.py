"""The ``http`` connector against a real HTTP server playing a case index."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from exporter.connectors.http import HttpConnector
from exporter.errors import PermanentSourceError, RetryableSourceError
from exporter.pipeline.collect import DatasetResult, collect_source
from exporter.pipeline.stage import EphemeralStage
from tests.exporter.connectors.case_index import (
    CPR_EMPTY,
    CPR_MANY,
    PASSWORD,
    TOKEN,
    CaseIndex,
    case_index,
)
from tests.exporter.connectors.support import case_dataset, collect_one, dataset, source, subject


@pytest.fixture(scope="module")
def index() -> Iterator[CaseIndex]:
    with case_index(count=23) as served:
        yield served


def _collect(settings: dict[str, Any], tmp_path: Path, cpr: str = CPR_MANY,
             options: dict[str, Any] | None = None, **source_extra: Any,
             ) -> tuple[DatasetResult, list[Any]]:
    src = source("http", settings, case_dataset(options=options), **source_extra)
    return collect_one(src, tmp_path, cpr)


PAGING = {
    "page": ({"paging": "page", "page_size": 5, "records": "data"}, "/page/{cpr}/sager"),
    "offset": ({"paging": "offset", "page_size": 5, "size_param": "limit",
                "records": "data"}, "/offset/{cpr}/sager"),
    "cursor": ({"paging": "cursor", "page_size": 5, "next_cursor": "meta.next",
                "records": "data", "query": {"cpr": "{cpr}"}}, "/cursor/sager"),
    "link": ({"paging": "link"}, "/link/{cpr_dashed}/sager"),
    "none": ({"records": "data", "method": "POST",
              "body": {"borger": {"cpr": "{cpr}"}}}, "/search"),
}


@pytest.mark.parametrize("style", sorted(PAGING))
def test_every_paging_style_reads_every_record(
    index: CaseIndex, tmp_path: Path, style: str
) -> None:
    settings, path = PAGING[style]
    result, records = _collect({"base_url": index.url, "path": path, **settings}, tmp_path)
    assert (result.fetched, result.accepted, result.rejected) == (23, 23, 0), result.reasons
    ids = [r["id"].rsplit(":", 1)[1] for r in records]
    assert ids == [f"S{i:06d}" for i in range(1, 24)]
    first = records[0]
    assert first["kleTitle"] == "Boligsikring, ikke førtidspensionister"
    assert first["openedDate"] == "02-02-2024"[6:] + "-02-02"
    assert first["caseNumber"] == "1" and first["progressState"] == "Oplyst"


def test_a_person_without_records_gives_an_empty_dataset(index: CaseIndex,
                                                          tmp_path: Path) -> None:
    settings, path = PAGING["page"]
    result, records = _collect({"base_url": index.url, "path": path, **settings}, tmp_path,
                               cpr=CPR_EMPTY)
    assert result.complete and records == [] and result.fetched == 0


def test_not_found_is_empty_only_when_asked(index: CaseIndex, tmp_path: Path) -> None:
    base = {"base_url": index.url, "path": "/missing/{cpr}"}
    result, _ = _collect({**base, "not_found_is_empty": True}, tmp_path)
    assert result.complete and result.fetched == 0
    result, _ = _collect(base, tmp_path)
    assert result.gap == "refused"


def test_bearer_and_basic_auth_take_secrets_from_the_environment(
    index: CaseIndex, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CASE_INDEX_TOKEN", TOKEN)
    password_file = tmp_path / "password"
    password_file.write_text(PASSWORD + "\n")
    bearer = {"base_url": index.url, "path": "/bearer/link/{cpr}", "auth": "bearer",
              "token_env": "CASE_INDEX_TOKEN", "paging": "link"}
    assert _collect(bearer, tmp_path)[0].accepted == 23
    basic = {"base_url": index.url, "path": "/basic/search", "auth": "basic",
             "username": "egnedata", "password_file": str(password_file),
             "method": "POST", "body": {"borger": {"cpr": "{cpr}"}}, "records": "data"}
    assert _collect(basic, tmp_path)[0].accepted == 23
    monkeypatch.setenv("CASE_INDEX_TOKEN", "wrong")
    result, _ = _collect(bearer, tmp_path)
    assert result.gap == "refused"


def test_a_missing_secret_names_the_source_and_the_variable(
    index: CaseIndex, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.delenv("NOT_SET_TOKEN", raising=False)
    settings = {"base_url": index.url, "auth": "bearer", "token_env": "NOT_SET_TOKEN"}
    with pytest.raises(ValueError, match="NOT_SET_TOKEN"):
        HttpConnector.from_settings(settings)
    with caplog.at_level(logging.ERROR):
        result, _ = _collect(settings, tmp_path)
    assert result.gap == "refused"
    assert "source 'kilde' is misconfigured" in caplog.text
    assert "NOT_SET_TOKEN" in caplog.text


def test_429_then_success_waits_as_the_source_asks(index: CaseIndex, tmp_path: Path) -> None:
    waits: list[float] = []
    src = source("http", {"base_url": index.url, "path": "/busy/{cpr}"}, case_dataset())
    with EphemeralStage(tmp_path) as stage:
        [result] = collect_source(src, subject(CPR_MANY), "0751", stage, sleep=waits.append)
    assert result.complete and result.accepted == 23
    assert waits == [1.0]


def test_500_forever_is_a_retryable_error_and_then_a_gap(
    index: CaseIndex, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    connector = HttpConnector.from_settings({"base_url": index.url, "path": "/down/{cpr}"})
    with pytest.raises(RetryableSourceError, match="HTTP 500"):
        connector.fetch(subject(CPR_MANY), dataset(), None)
    with caplog.at_level(logging.INFO):
        result, _ = _collect({"base_url": index.url, "path": "/down/{cpr}"}, tmp_path,
                             retries=2)
    assert result.gap == "unreachable" and result.accepted == 0
    assert CPR_MANY not in caplog.text and CPR_MANY[:6] not in caplog.text


def test_slow_pages_time_out_as_retryable(index: CaseIndex) -> None:
    connector = HttpConnector.from_settings(
        {"base_url": index.url, "path": "/slow/{cpr}", "query": {"delay": "1"},
         "timeout_seconds": 0.2})
    with pytest.raises(RetryableSourceError, match="did not answer in time"):
        connector.fetch(subject(CPR_MANY), dataset(), None)


def test_a_server_that_is_not_there_is_retryable() -> None:
    from tests.servers import free_port

    connector = HttpConnector.from_settings({"base_url": f"http://127.0.0.1:{free_port()}"})
    with pytest.raises(RetryableSourceError, match="cannot reach"):
        connector.fetch(subject(CPR_MANY), dataset(), None)


def test_permanent_answers(index: CaseIndex) -> None:
    for path, message in [("/notjson", "did not answer with JSON"),
                          ("/cursor/sager", "no list of records")]:
        connector = HttpConnector.from_settings(
            {"base_url": index.url, "path": path, "records": "meta",
             "query": {"cpr": "{cpr}", "page_size": "2"}})
        with pytest.raises(PermanentSourceError, match=message):
            connector.fetch(subject(CPR_MANY), dataset(), None)
    connector = HttpConnector.from_settings(
        {"base_url": index.url, "path": "/cursor/sager", "max_response_bytes": 1024,
         "query": {"cpr": "{cpr}", "page_size": "23"}})
    with pytest.raises(PermanentSourceError, match="larger than max_response_bytes"):
        connector.fetch(subject(CPR_MANY), dataset(), None)


def test_a_next_link_to_another_host_is_refused(index: CaseIndex) -> None:
    connector = HttpConnector.from_settings(
        {"base_url": index.url, "path": "/offhost/{cpr}", "paging": "link"})
    with pytest.raises(PermanentSourceError, match="another host"):
        connector.fetch(subject(CPR_MANY), dataset(), None)


def test_hostile_records_are_rejected_one_by_one(index: CaseIndex, tmp_path: Path) -> None:
    result, records = _collect(
        {"base_url": index.url, "path": "/hostile/{cpr}", "records": "data"}, tmp_path)
    assert result.fetched == 10
    assert result.accepted == 4, result.reasons  # 1, markup, formula, 9
    assert result.rejected == 6
    assert result.reasons == {
        "openedDate: date dd-mm-yyyy": 1,
        "title: maxLength": 1,
        "title: required (source field titel is missing)": 1,
        "title: type": 1,
        "(record): not an object": 1,
        "progressState: codes (unknown code)": 1,
    }
    assert all("x" * 100 not in reason for reason in result.reasons)
    # Markup is kept as text in the data; the package's pages escape it (tested there).
    assert any("<script>" in r["title"] for r in records)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"base_url": "ftp://x"}, "base_url must be an http"),
        ({"base_url": "http://x", "path": "/{navn}"}, "only placeholders"),
        ({"base_url": "http://x", "auth": "bearer"}, "needs token_env or token_file"),
        ({"base_url": "http://x", "headers": {"Authorization": "x"}}, "must not be written"),
        ({"base_url": "http://x", "body": {"a": "b"}}, "body needs method"),
        ({"base_url": "http://x", "tokn": "x"}, "tokn: Extra inputs"),
    ],
)
def test_wrong_settings_are_named(settings: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        HttpConnector.from_settings(settings)
