"""HTTP clients' request lines (which may carry a CPR number) stay out of the logs."""

from __future__ import annotations

import logging

import pytest

from exporter import logs


def test_request_lines_are_dropped_and_warnings_kept(caplog: pytest.LogCaptureFixture) -> None:
    logs.protect()
    logs.protect()  # a second call adds nothing
    logger = logging.getLogger("httpx")
    assert len([f for f in logger.filters if f is logs._FILTER]) == 1
    with caplog.at_level(logging.INFO, logger="httpx"):
        logger.info('HTTP Request: GET http://index/borgere/7101901234/sager "200 OK"')
        logger.warning("connection pool is full")
    assert [r.getMessage() for r in caplog.records] == ["connection pool is full"]
