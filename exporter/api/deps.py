"""Shared route dependencies, as ``Annotated`` aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from exporter.api.auth import AuthError, Principal, Role, decode_token
from exporter.api.problems import Problem
from exporter.service.context import ServiceContext

__all__ = [
    "AdminDep",
    "CaseworkerDep",
    "CitizenDep",
    "ContextDep",
    "PrincipalDep",
    "RepresentativeDep",
]

_bearer = HTTPBearer(auto_error=False)

# These dependencies do no I/O, so they are coroutines: FastAPI runs a plain function
# dependency on its thread pool, a hop that costs more than the work itself.


async def _context(request: Request) -> ServiceContext:
    context: ServiceContext = request.app.state.context
    return context


ContextDep = Annotated[ServiceContext, Depends(_context)]


async def _principal(
    context: ContextDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise AuthError("a bearer token is required")
    return decode_token(context.settings, credentials.credentials)


PrincipalDep = Annotated[Principal, Depends(_principal)]


async def _citizen(principal: PrincipalDep) -> Principal:
    if principal.role is not Role.CITIZEN:
        raise Problem(403, "this endpoint is for citizens; caseworkers use /v1/caseworker")
    return principal


async def _caseworker(principal: PrincipalDep) -> Principal:
    if principal.role not in (Role.CASEWORKER, Role.ADMIN):
        raise Problem(403, "this endpoint is for caseworkers")
    return principal


CitizenDep = Annotated[Principal, Depends(_citizen)]
CaseworkerDep = Annotated[Principal, Depends(_caseworker)]


async def _admin(principal: PrincipalDep) -> Principal:
    if principal.role is not Role.ADMIN:
        raise Problem(403, "this endpoint is for administrators")
    return principal


async def _representative(principal: PrincipalDep) -> Principal:
    if principal.role is not Role.REPRESENTATIVE:
        raise Problem(403, "this endpoint is for representatives acting under a mandate")
    return principal


AdminDep = Annotated[Principal, Depends(_admin)]
RepresentativeDep = Annotated[Principal, Depends(_representative)]
