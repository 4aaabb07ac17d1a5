"""The registry of external services: who may receive packages, and where.

A service has a name, a description, its homepage and privacy policy, its own age
public key (packages are re-wrapped to it) and one target: a webhook URL or an S3
bucket. An S3 bucket's credentials are never stored in plain text: they are
age-encrypted to the vault key, or only the prefix of environment variables holding
them is stored (``<PREFIX>_ACCESS_KEY_ID``, ``<PREFIX>_SECRET_ACCESS_KEY``). A
suspended service receives nothing; its open deliveries are cancelled.
"""

from __future__ import annotations

import ipaddress
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

import orjson
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from exporter.db.models import ExternalService
from exporter.errors import EgneDataError
from exporter.ids import is_id
from exporter.keys import Keyring
from exporter.service import audit
from exporter.service.audit import Actor
from exporter.service.context import ServiceContext
from exporter.service.requests import Conflict, NotFound
from formats import age

__all__ = [
    "ACTIVE",
    "SUSPENDED",
    "InvalidService",
    "S3Credentials",
    "ServiceSpec",
    "get_service",
    "list_services",
    "register_service",
    "s3_credentials",
    "set_service_state",
]

ACTIVE, SUSPENDED = "active", "suspended"
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_ENV_PREFIX = re.compile(r"[A-Z][A-Z0-9_]{0,60}")


class InvalidService(EgneDataError, ValueError):
    """A service description that cannot be registered as given."""


@dataclass(frozen=True)
class S3Credentials:
    access_key_id: str
    secret_access_key: str
    session_token: str | None = None

    def __repr__(self) -> str:
        return "S3Credentials(…)"


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    description: str
    homepage: str
    privacy_policy: str
    age_recipient: str
    webhook_url: str | None = None
    s3_bucket: str | None = None
    s3_prefix: str = ""
    s3_endpoint_url: str | None = None
    s3_region: str | None = None
    s3_credentials: S3Credentials | None = None
    s3_credentials_env: str | None = None


def _loopback(host: str | None) -> bool:
    if host == "localhost":
        return True
    try:
        return host is not None and ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_url(url: str, what: str, *, production: bool) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise InvalidService(f"{what} must be an http(s) URL")
    if parts.username or parts.password:
        raise InvalidService(f"{what} must not carry credentials")
    if parts.scheme == "http" and production and not _loopback(parts.hostname):
        raise InvalidService(f"{what} must use https")


def _check(spec: ServiceSpec, production: bool) -> None:
    if not spec.name.strip() or len(spec.name) > 200:
        raise InvalidService("a service's name is 1 to 200 characters")
    try:
        age.X25519Recipient.parse(spec.age_recipient)
    except ValueError:
        raise InvalidService("age_recipient must be an age X25519 public key (age1…)") from None
    _check_url(spec.homepage, "homepage", production=False)
    _check_url(spec.privacy_policy, "privacy_policy", production=False)
    if (spec.webhook_url is None) == (spec.s3_bucket is None):
        raise InvalidService("give exactly one target: webhook_url or s3_bucket")
    if spec.webhook_url is not None:
        _check_url(spec.webhook_url, "webhook_url", production=production)
        return
    if spec.s3_bucket is None or not _BUCKET.fullmatch(spec.s3_bucket):
        raise InvalidService("s3_bucket is not an S3 bucket name")
    if spec.s3_endpoint_url is not None:
        _check_url(spec.s3_endpoint_url, "s3_endpoint_url", production=production)
    if spec.s3_credentials is not None and spec.s3_credentials_env is not None:
        raise InvalidService("give s3_credentials or s3_credentials_env, not both")
    if spec.s3_credentials_env is not None and not _ENV_PREFIX.fullmatch(spec.s3_credentials_env):
        raise InvalidService("s3_credentials_env is an environment variable prefix (A-Z 0-9 _)")


def _seal(credentials: S3Credentials, keyring: Keyring) -> bytes:
    plain = orjson.dumps({"access_key_id": credentials.access_key_id,
                          "secret_access_key": credentials.secret_access_key,
                          "session_token": credentials.session_token})
    return keyring.seal(plain)


def s3_credentials(service: ExternalService, keyring: Keyring,
                   environ: dict[str, str]) -> S3Credentials | None:
    """The service's bucket credentials, or None for the standard AWS chain."""
    if service.s3_credentials_age is not None:
        data = orjson.loads(keyring.unseal(service.s3_credentials_age))
        return S3Credentials(data["access_key_id"], data["secret_access_key"],
                             data.get("session_token"))
    if service.s3_credentials_env is not None:
        prefix = service.s3_credentials_env
        try:
            return S3Credentials(environ[f"{prefix}_ACCESS_KEY_ID"],
                                 environ[f"{prefix}_SECRET_ACCESS_KEY"],
                                 environ.get(f"{prefix}_SESSION_TOKEN"))
        except KeyError:
            raise EgneDataError(
                f"the credentials of service {service.name!r} are not in the environment "
                f"({prefix}_ACCESS_KEY_ID, {prefix}_SECRET_ACCESS_KEY)"
            ) from None
    return None


def register_service(context: ServiceContext, actor: Actor, spec: ServiceSpec,
                     *, now: datetime | None = None) -> ExternalService:
    now = now or datetime.now(UTC)
    _check(spec, production=context.settings.environment == "production")
    sealed = _seal(spec.s3_credentials, context.keyring) if spec.s3_credentials else None
    service = ExternalService(
        id=str(uuid.uuid4()), name=spec.name.strip(), description=spec.description,
        homepage=spec.homepage, privacy_policy=spec.privacy_policy,
        age_recipient=spec.age_recipient, target="webhook" if spec.webhook_url else "s3",
        webhook_url=spec.webhook_url, s3_bucket=spec.s3_bucket,
        s3_prefix=spec.s3_prefix.strip("/") if spec.s3_bucket else None,
        s3_endpoint_url=spec.s3_endpoint_url, s3_region=spec.s3_region,
        s3_credentials_age=sealed, s3_credentials_env=spec.s3_credentials_env,
        state=ACTIVE, created_at=now, updated_at=now,
    )
    try:
        with context.sessions.begin() as session:
            session.add(service)
            session.flush()
            audit.record(session, actor, "service.registered", at=now,
                         detail={"service": service.id, "name": service.name,
                                 "target": service.target})
    except IntegrityError:
        raise Conflict(f"a service named {spec.name!r} is already registered") from None
    return service


def set_service_state(context: ServiceContext, actor: Actor, service_id: str, state: str,
                      *, now: datetime | None = None) -> ExternalService:
    """Suspend or resume a service. Suspending cancels its open deliveries at their
    next attempt (the deliver job re-checks the service before sending)."""
    if state not in (ACTIVE, SUSPENDED):
        raise InvalidService(f"a service is {ACTIVE} or {SUSPENDED}")
    now = now or datetime.now(UTC)
    if not is_id(service_id):
        raise NotFound("no such service")
    with context.sessions.begin() as session:
        service = session.scalars(
            select(ExternalService).where(ExternalService.id == service_id).with_for_update()
        ).one_or_none()
        if service is None:
            raise NotFound("no such service")
        if service.state != state:
            service.state, service.updated_at = state, now
            action = "service.suspended" if state == SUSPENDED else "service.resumed"
            audit.record(session, actor, action, at=now, detail={"service": service.id})
    return service


def get_service(context: ServiceContext, service_id: str) -> ExternalService:
    if not is_id(service_id):
        raise NotFound("no such service")
    with context.sessions() as session:
        service = session.get(ExternalService, service_id)
    if service is None:
        raise NotFound("no such service")
    return service


def list_services(context: ServiceContext, *, active_only: bool = False) -> list[ExternalService]:
    query = select(ExternalService).order_by(ExternalService.name)
    if active_only:
        query = query.where(ExternalService.state == ACTIVE)
    with context.sessions() as session:
        return list(session.scalars(query).all())
