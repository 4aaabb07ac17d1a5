"""Flags run on the service contexts of the service tests (SQLite and PostgreSQL), and
deliver through the delivery tests' real receivers."""

from tests.exporter.delivery.conftest import (  # noqa: F401 - fixtures
    scripted,
    service_identity,
)
from tests.exporter.service.conftest import database_url, make_context  # noqa: F401
