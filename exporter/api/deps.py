"""Shared route dependencies, as ``Annotated`` aliases."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
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


def _role(*roles: Role, refusal: str) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency that lets through a principal in one of ``roles``; 403 otherwise."""
    async def check(principal: PrincipalDep) -> Principal:
        if principal.role not in roles:
            raise Problem(403, refusal)
        return principal
    return check


CitizenDep = Annotated[Principal, Depends(_role(
    Role.CITIZEN, refusal="this endpoint is for citizens; caseworkers use /v1/caseworker"))]
CaseworkerDep = Annotated[Principal, Depends(_role(
    Role.CASEWORKER, Role.ADMIN, refusal="this endpoint is for caseworkers"))]
AdminDep = Annotated[Principal, Depends(_role(
    Role.ADMIN, refusal="this endpoint is for administrators"))]
RepresentativeDep = Annotated[Principal, Depends(_role(
    Role.REPRESENTATIVE,
    refusal="this endpoint is for representatives acting under a mandate"))]
