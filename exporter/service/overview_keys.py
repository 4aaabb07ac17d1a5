"""The key of a citizen's cached overview, and forgetting it when their own records
change (a new flag, a contribution added or withdrawn), so "Mine data" shows the change
at once rather than when the cache expires. Apart from :mod:`exporter.service.overview`
so the flags domain can use it without importing the survey."""

from __future__ import annotations

import hashlib
import hmac

from sqlalchemy import delete
from sqlalchemy.orm import Session

from exporter.db.models import OverviewCache
from exporter.service.context import ServiceContext

__all__ = ["forget_overview", "subject_key"]


def subject_key(context: ServiceContext, cpr_digits: str) -> str:
    """A keyed hash of a CPR number: a lookup key that cannot be reversed by trying
    the few million possible numbers without the service's secret."""
    secret = context.settings.token_secret.get_secret_value().encode()
    return hmac.new(secret, b"overview:" + cpr_digits.encode(), hashlib.sha256).hexdigest()


def forget_overview(session: Session, context: ServiceContext, cpr_digits: str) -> None:
    """Drop the citizen's cached overview, in ``session``'s transaction."""
    session.execute(delete(OverviewCache).where(
        OverviewCache.subject_key == subject_key(context, cpr_digits)))
