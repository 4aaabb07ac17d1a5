"""The relational database: the source of truth for requests, tasks, packages and audit."""

from __future__ import annotations

from exporter.db.engine import make_engine, make_sessionmaker
from exporter.db.migrate import upgrade

__all__ = ["make_engine", "make_sessionmaker", "upgrade"]
