"""Logging in and out: the steps around the provider, each refusal audited.

:func:`begin_login` stores what the callback must find (the hash of ``state``, the
nonce, the PKCE verifier, where to go next) bound to a fresh random browser token that
goes into the cookie. :func:`finish_login` takes that row once (a replayed ``state``
finds nothing), checks the browser, the ``iss`` response parameter, exchanges the code,
verifies the ID token, reads the claims profile, and only then makes a new session.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import urlsplit

from sqlalchemy import delete

from exporter.db.models import LoginAttempt
from exporter.delivery.mandates import sync_login_mandates
from exporter.login.claims import (
    Identity,
    StaffIdentity,
    read_identity,
    read_staff_identity,
)
from exporter.login.errors import LoginRefused
from exporter.login.oidc import OpenIdClient
from exporter.login.sessions import (
    SessionView,
    create_session,
    create_staff_session,
    end_session,
    new_token,
    token_hash,
)
from exporter.service import audit
from exporter.service.audit import Actor
from exporter.service.context import ServiceContext
from exporter.settings import Settings

__all__ = [
    "CALLBACK_PATH",
    "STAFF_CALLBACK_PATH",
    "LoggedIn",
    "StaffLoggedIn",
    "begin_login",
    "finish_login",
    "finish_staff_login",
    "logout",
    "safe_next",
]

_Who = TypeVar("_Who", Identity, StaffIdentity)
CALLBACK_PATH = "/log-ind/retur"
STAFF_CALLBACK_PATH = "/konsol/log-ind/retur"
LOGIN_TTL = timedelta(minutes=10)
_ANONYMOUS = Actor("anonymous", "anonymous")


def safe_next(target: str | None, default: str = "/mine-data") -> str:
    """``target`` if it is a path on this site; ``default`` for anything else (another
    host, a scheme, ``//host``, backslashes or control characters)."""
    if not target or len(target) > 500 or not target.startswith("/") \
            or target.startswith("//") or "\\" in target \
            or any(ord(c) < 0x20 or ord(c) == 0x7F for c in target):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    return target


def redirect_uri(context: ServiceContext, audience: str = "citizen") -> str:
    return context.settings.public_url + (STAFF_CALLBACK_PATH if audience == "staff"
                                          else CALLBACK_PATH)


@dataclass(frozen=True)
class LoggedIn:
    token: str
    session: SessionView
    identity: Identity
    next_path: str


def begin_login(context: ServiceContext, client: OpenIdClient, *, next_path: str | None,
                language: str, now: datetime, audience: str = "citizen") -> tuple[str, str]:
    """The provider URL to send the browser to, and the browser token for the cookie."""
    request = client.begin(redirect_uri(context, audience), language=language)
    browser = new_token()
    default = "/konsol" if audience == "staff" else "/mine-data"
    with context.sessions.begin() as session:
        session.add(LoginAttempt(
            state_hash=token_hash(request.state), browser=token_hash(browser),
            audience=audience, nonce=request.nonce, code_verifier=request.code_verifier,
            next_path=safe_next(next_path, default), language=language, created_at=now,
            expires_at=now + LOGIN_TTL,
        ))
    return request.url, browser


def _take_attempt(context: ServiceContext, state: str) -> LoginAttempt | None:
    """The login begun with ``state``, removed so it can be used once only."""
    key = token_hash(state)
    with context.sessions.begin() as session:
        attempt = session.get(LoginAttempt, key, with_for_update=True)
        if attempt is None:
            return None
        gone = session.execute(delete(LoginAttempt).where(LoginAttempt.state_hash == key))
    # Two callbacks racing with one state: only the one whose delete took the row wins.
    return attempt if getattr(gone, "rowcount", 0) == 1 else None


def _refused(context: ServiceContext, refusal: LoginRefused, now: datetime) -> LoginRefused:
    with context.sessions.begin() as session:
        audit.record(session, _ANONYMOUS, "login.refused", at=now,
                     detail={"reason": refusal.reason})
    return refusal


def finish_login(context: ServiceContext, client: OpenIdClient, params: Mapping[str, str],
                 browser_token: str | None, *, now: datetime) -> LoggedIn:
    """Complete the citizen's login the provider sent back (``params``: the callback's
    query). Raises :class:`LoginRefused`, audited, for anything that does not hold."""
    attempt, identity = _checked(context, client, params, browser_token, "citizen",
                                 read_identity, now)
    token, session = create_session(context, identity, audience="citizen",
                                    language=attempt.language, now=now)
    sync_login_mandates(context, identity.cpr, identity.name,
                        [(p.cpr, p.rights) for p in identity.privileges],
                        session.expires_at, now=now)
    with context.sessions.begin() as db:
        audit.record(db, Actor(identity.cpr, "citizen"), "login.succeeded", at=now,
                     detail={"assurance_level": identity.assurance_level,
                             "privileges": len(identity.privileges)})
    return LoggedIn(token, session, identity, attempt.next_path)


@dataclass(frozen=True)
class StaffLoggedIn:
    token: str
    session: SessionView
    identity: StaffIdentity
    next_path: str


def finish_staff_login(context: ServiceContext, client: OpenIdClient,
                       params: Mapping[str, str], browser_token: str | None, *,
                       now: datetime) -> StaffLoggedIn:
    """:func:`finish_login` for an employee at the console, through the staff provider."""
    attempt, identity = _checked(context, client, params, browser_token, "staff",
                                 read_staff_identity, now)
    token, session = create_staff_session(context, identity, language=attempt.language,
                                          now=now)
    with context.sessions.begin() as db:
        audit.record(db, Actor(identity.subject, "staff"), "staff.login.succeeded", at=now,
                     detail={"roles": list(identity.roles),
                             "units": list(identity.units) if identity.units is not None
                             else None})
    return StaffLoggedIn(token, session, identity, attempt.next_path)


def _checked(context: ServiceContext, client: OpenIdClient, params: Mapping[str, str],
             browser_token: str | None, audience: str,
             read: Callable[[Mapping[str, Any], Settings], _Who], now: datetime
             ) -> tuple[LoginAttempt, _Who]:
    """The login's attempt and who its verified claims say the person is (``read``);
    :class:`LoginRefused`, audited, for anything that does not hold."""
    try:
        attempt, claims = _verified(context, client, params, browser_token, audience, now)
        try:
            return attempt, read(claims, context.settings)
        except LoginRefused as refusal:
            refusal.language = attempt.language
            raise
    except LoginRefused as refusal:
        raise _refused(context, refusal, now) from None


def _verified(context: ServiceContext, client: OpenIdClient, params: Mapping[str, str],
              browser_token: str | None, audience: str, now: datetime
              ) -> tuple[LoginAttempt, dict[str, Any]]:
    """The login begun with the callback's ``state`` for ``audience``, and the claims of
    its verified ID token."""
    state = params.get("state")
    attempt = _take_attempt(context, state) if state else None
    if attempt is None or now >= attempt.expires_at or attempt.audience != audience:
        raise LoginRefused("state", "unknown, used or expired state")
    try:
        return attempt, _claims(context, client, params, browser_token, attempt)
    except LoginRefused as refusal:
        refusal.language = attempt.language
        raise


def _claims(context: ServiceContext, client: OpenIdClient, params: Mapping[str, str],
            browser_token: str | None, attempt: LoginAttempt) -> dict[str, Any]:
    if not browser_token or token_hash(browser_token) != attempt.browser:
        raise LoginRefused("browser", "the login was begun in another browser")
    metadata = client.metadata()
    issuer = params.get("iss")
    if (issuer is not None and issuer != metadata.issuer) or \
            (issuer is None and metadata.iss_parameter_supported):
        raise LoginRefused("iss", "the response's iss is not our provider")
    if params.get("error"):
        raise LoginRefused("provider_error", "the provider ended the login")
    code = params.get("code")
    if not code or len(code) > 2048:
        raise LoginRefused("token", "the response has no code")
    id_token = client.exchange(code, attempt.code_verifier,
                               redirect_uri(context, attempt.audience))
    return client.verify_id_token(id_token, attempt.nonce)


def logout(context: ServiceContext, session: SessionView, *, now: datetime) -> None:
    end_session(context, session.id)
    with context.sessions.begin() as db:
        if session.audience == "staff":
            audit.record(db, Actor(session.subject, "staff"), "staff.logout", at=now,
                         detail={})
        else:
            audit.record(db, Actor(session.cpr or session.subject, session.audience),
                         "logout", at=now, detail={})
