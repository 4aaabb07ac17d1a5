"""What the exporter's logs must never contain: personal data.

HTTP client libraries log each request's URL at INFO, and a source's URL may carry a
CPR number (``/borgere/{cpr}/sager``). :func:`protect` keeps those lines out: it is
called where logging is set up (the command line) and by the ``http`` connector
before its first request, so library use is covered too. Calling it again does nothing.
"""

from __future__ import annotations

import logging

__all__ = ["protect"]

_LOGGERS = ("httpx", "httpcore")


class _WarningsOnly(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING


_FILTER = _WarningsOnly()


def protect() -> None:
    """Drop the HTTP clients' request lines (below WARNING) in this process."""
    for name in _LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
