"""Login sessions in the database, behind an opaque cookie.

The cookie holds 256 random bits; the database keeps only their SHA-256, so reading the
table lets no one in. A session ends after ``session_idle_minutes`` without activity or
``session_absolute_hours`` after login, whichever comes first; logging in always makes
a new id (a cookie set before login is never promoted). In production the cookie is
``__Host-egnedata`` (Secure, HttpOnly, SameSite=Lax, Path=/, no Domain); over plain
http in development it is ``egnedata`` without Secure.
"""

from __future__ import annotations

import dataclasses
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update

from exporter.db.models import WebSession
from exporter.login.claims import Identity, StaffIdentity
from exporter.service.context import ServiceContext
from exporter.settings import Settings

__all__ = [
    "TOUCH_EVERY",
    "SessionView",
    "cookie_name",
    "cookie_secure",
    "count_post",
    "create_session",
    "create_staff_session",
    "end_session",
    "load_session",
    "new_token",
    "set_acting",
    "set_language",
    "token_hash",
]

TOUCH_EVERY = timedelta(seconds=30)
"""A page view moves the idle clock only if the last move is older than this: a write
per page would cost more than the precision is worth."""


def cookie_secure(settings: Settings) -> bool:
    return settings.public_url.startswith("https://")


def cookie_name(settings: Settings, audience: str = "citizen") -> str:
    """The citizen's and the employee's sessions have cookies of their own, so one
    browser may hold both and neither replaces the other."""
    name = "egnedata-konsol" if audience == "staff" else "egnedata"
    return f"__Host-{name}" if cookie_secure(settings) else name


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


@dataclass(frozen=True)
class SessionView:
    """A session as one page request sees it."""

    id: str
    audience: str
    subject: str
    cpr: str | None
    name: str
    assurance_level: str
    language: str
    csrf_token: str
    acting_for: str | None
    acting_name: str | None
    roles: tuple[str, ...]
    """An employee's console roles (none for a citizen)."""
    units: tuple[str, ...] | None
    """The units a caseworker is limited to; None: every unit."""
    created_at: datetime
    expires_at: datetime
    idle_expires_at: datetime

    @property
    def ends_at(self) -> datetime:
        return min(self.expires_at, self.idle_expires_at)


def _view(row: WebSession, settings: Settings) -> SessionView:
    idle = row.last_seen_at + timedelta(minutes=settings.session_idle_minutes)
    return SessionView(
        id=row.id, audience=row.audience, subject=row.subject, cpr=row.cpr, name=row.name,
        assurance_level=row.assurance_level, language=row.language,
        csrf_token=row.csrf_token, acting_for=row.acting_for, acting_name=row.acting_name,
        roles=tuple(row.roles or ()),
        units=tuple(row.units) if row.units is not None else None,
        created_at=row.created_at, expires_at=row.expires_at, idle_expires_at=idle,
    )


def create_session(context: ServiceContext, identity: Identity, *, audience: str,
                   language: str, now: datetime) -> tuple[str, SessionView]:
    """A new session for ``identity``: the cookie value and the session."""
    return _create(context, WebSession(
        audience=audience, issuer=identity.issuer, subject=identity.subject,
        cpr=identity.cpr, name=identity.name, assurance_level=identity.assurance_level,
        language=language, roles=None, units=None), now)


def create_staff_session(context: ServiceContext, identity: StaffIdentity, *,
                         language: str, now: datetime) -> tuple[str, SessionView]:
    """A new console session for an employee: no CPR number, their roles and units."""
    return _create(context, WebSession(
        audience="staff", issuer=identity.issuer, subject=identity.subject, cpr=None,
        name=identity.name, assurance_level="", language=language,
        roles=list(identity.roles),
        units=list(identity.units) if identity.units is not None else None), now)


def _create(context: ServiceContext, row: WebSession, now: datetime
            ) -> tuple[str, SessionView]:
    settings = context.settings
    token = new_token()
    row.id = token_hash(token)
    row.csrf_token = secrets.token_urlsafe(32)
    row.acting_for = row.acting_name = None
    row.created_at = row.last_seen_at = row.posts_since = now
    row.expires_at = now + timedelta(hours=settings.session_absolute_hours)
    row.posts = 0
    with context.sessions.begin() as session:
        session.add(row)
    return token, _view(row, settings)


def load_session(context: ServiceContext, token: str | None, *, now: datetime,
                 touch: bool = True) -> SessionView | None:
    """The live session behind a cookie value, or None. ``touch`` counts the request
    as activity (a page view does; a page's own progress polling does not)."""
    if not token or len(token) > 100:
        return None
    settings = context.settings
    key = token_hash(token)
    with context.sessions() as session:
        row = session.get(WebSession, key)
        if row is None:
            return None
        view = _view(row, settings)
    if now >= view.ends_at:
        with context.sessions.begin() as session:
            session.execute(delete(WebSession).where(WebSession.id == key))
        return None
    if touch and now - row.last_seen_at >= TOUCH_EVERY:
        with context.sessions.begin() as session:
            session.execute(update(WebSession).where(WebSession.id == key)
                            .values(last_seen_at=now))
        view = dataclasses.replace(
            view, idle_expires_at=now + timedelta(minutes=settings.session_idle_minutes))
    return view


def end_session(context: ServiceContext, session_id: str) -> None:
    with context.sessions.begin() as session:
        session.execute(delete(WebSession).where(WebSession.id == session_id))


def set_language(context: ServiceContext, session_id: str, language: str) -> None:
    with context.sessions.begin() as session:
        session.execute(update(WebSession).where(WebSession.id == session_id)
                        .values(language=language))


def set_acting(context: ServiceContext, session_id: str, cpr: str | None,
               name: str | None) -> None:
    """Act for the citizen ``cpr`` (checked against a mandate by the caller), or for
    oneself again (None)."""
    with context.sessions.begin() as session:
        session.execute(update(WebSession).where(WebSession.id == session_id)
                        .values(acting_for=cpr, acting_name=name))


def count_post(context: ServiceContext, session_id: str, limit: int, now: datetime) -> bool:
    """Count one form sent in this session; False once more than ``limit`` came within
    a minute."""
    window = timedelta(minutes=1)
    with context.sessions.begin() as session:
        row = session.scalars(select(WebSession).where(WebSession.id == session_id)
                              .with_for_update()).one_or_none()
        if row is None:
            return False
        if now - row.posts_since >= window:
            row.posts_since, row.posts = now, 1
            return True
        row.posts += 1
        return row.posts <= limit
