"""The service's own ids: UUIDs in their canonical text form.

Anything a caller sends as an id is checked with :func:`is_id` before it reaches the
database: a string that cannot be an id is simply not found, and never becomes a query
that fails (PostgreSQL refuses NUL bytes in text with an error, not an empty result).
"""

from __future__ import annotations

import re

__all__ = ["is_id"]

_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def is_id(value: object) -> bool:
    return isinstance(value, str) and _ID.fullmatch(value) is not None
