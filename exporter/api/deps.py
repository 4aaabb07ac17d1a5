"""Shared route dependencies, as ``Annotated`` aliases."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated

import anyio.to_thread
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from exporter.api.auth import AuthError, Principal, Role, decode_token
from exporter.api.problems import Problem
from exporter.login.sessions import cookie_name, load_session
from exporter.service.context import ServiceContext

__all__ = [
    "AdminDep",
    "CaseworkerDep",
    "CitizenDep",
    "ContextDep",
    "PrincipalDep",
    "RepresentativeDep",
    "UnitCaseworkerDep",
]

_bearer = HTTPBearer(auto_error=False)

# These dependencies are coroutines: FastAPI runs a plain function dependency on its
# thread pool, a hop that costs more than checking a token. A session is looked up in
# the database, on the thread pool.


async def _context(request: Request) -> ServiceContext:
    context: ServiceContext = request.app.state.context
    return context


ContextDep = Annotated[ServiceContext, Depends(_context)]


_SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def _session_principal(request: Request, context: ServiceContext, token: str) -> Principal:
    session = load_session(context, token, now=datetime.now(UTC))
    if session is None or session.audience != "citizen" or session.cpr is None:
        raise AuthError("the session has ended; log in again")
    _check_csrf(request, session.csrf_token)
    return Principal(session.cpr, Role.CITIZEN, session.assurance_level)


_STAFF_ROLES = {"dpo": Role.DPO, "caseworker": Role.CASEWORKER, "auditor": Role.AUDITOR}
_STAFF_PATHS = ("/v1/caseworker/", "/v1/admin/")


def _check_csrf(request: Request, csrf_token: str) -> None:
    if request.method not in _SAFE_METHODS:
        sent = request.headers.get("x-csrf-token", "")
        if not hmac.compare_digest(sent.encode("utf-8", "replace"), csrf_token.encode()):
            raise AuthError("the X-CSRF-Token header must hold the session's CSRF token")


def _staff_principal(request: Request, context: ServiceContext, token: str) -> Principal:
    session = load_session(context, token, now=datetime.now(UTC))
    if session is None or session.audience != "staff" or not session.roles:
        raise AuthError("the console session has ended; log in again")
    _check_csrf(request, session.csrf_token)
    role = next(_STAFF_ROLES[r] for r in _STAFF_ROLES if r in session.roles)
    return Principal(session.subject, role, units=session.units)


async def _principal(
    request: Request,
    context: ContextDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is not None and credentials.scheme.lower() == "bearer":
        return decode_token(context.settings, credentials.credentials)
    if request.url.path.startswith(_STAFF_PATHS):
        staff = request.cookies.get(cookie_name(context.settings, "staff"))
        if staff:
            return await anyio.to_thread.run_sync(_staff_principal, request, context, staff)
    token = request.cookies.get(cookie_name(context.settings))
    if token:
        return await anyio.to_thread.run_sync(_session_principal, request, context, token)
    raise AuthError("log in, or send a bearer token (development only)")


PrincipalDep = Annotated[Principal, Depends(_principal)]


def _role(*roles: Role, refusal: str) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency that lets through a principal in one of ``roles``; 403 otherwise."""
    async def check(principal: PrincipalDep) -> Principal:
        if principal.role not in roles:
            raise Problem(403, refusal)
        return principal
    return check


CitizenDep = Annotated[Principal, Depends(_role(
    Role.CITIZEN, refusal="this endpoint is for citizens; caseworkers use /v1/caseworker"))]
_caseworker = _role(Role.CASEWORKER, Role.DPO, Role.ADMIN,
                    refusal="this endpoint is for caseworkers")


async def _caseworker_for_every_unit(principal: PrincipalDep) -> Principal:
    """A caseworker for the whole municipality: requests, deliveries and contributions
    cover a citizen's data across units, so one limited to units is refused."""
    principal = await _caseworker(principal)
    if principal.units is not None:
        raise Problem(403, "a caseworker limited to units handles only their units' flags")
    return principal


CaseworkerDep = Annotated[Principal, Depends(_caseworker_for_every_unit)]
UnitCaseworkerDep = Annotated[Principal, Depends(_caseworker)]
"""A caseworker who may be limited to units: the route itself keeps to them (the flag
routes, through :func:`exporter.flags.in_units`)."""
AdminDep = Annotated[Principal, Depends(_role(
    Role.ADMIN, Role.DPO, refusal="this endpoint is for administrators"))]
RepresentativeDep = Annotated[Principal, Depends(_role(
    Role.REPRESENTATIVE,
    refusal="this endpoint is for representatives acting under a mandate"))]
