"""The console's service functions run on the service tests' contexts (SQLite and
PostgreSQL)."""

from tests.exporter.service.conftest import database_url, make_context  # noqa: F401
