"""The registry of external services: the public list, and its administration."""

from __future__ import annotations

from fastapi import APIRouter, status

from exporter.api.delivery_schemas import (
    ServiceAdmin,
    ServiceCreate,
    ServicePublic,
    service_admin,
    service_public,
)
from exporter.api.deps import AdminDep, ContextDep, PrincipalDep
from exporter.delivery.registry import (
    ACTIVE,
    SUSPENDED,
    S3Credentials,
    ServiceSpec,
    get_service,
    list_services,
    register_service,
    set_service_state,
)
from exporter.service.audit import Actor
from formats import webhooks

router = APIRouter(prefix="/v1", tags=["services"])


@router.get("/services", response_model=list[ServicePublic])
def list_public(_principal: PrincipalDep, context: ContextDep) -> list[ServicePublic]:
    """The services you can push your data to (active ones)."""
    return [service_public(s) for s in list_services(context, active_only=True)]


@router.get("/signing-key")
def signing_key(context: ContextDep) -> dict[str, str]:
    """The municipality's public Ed25519 key: packages, receipts and webhooks are signed
    with it (minisign format, and Standard Webhooks' ``whpk_`` form)."""
    key = context.keyring.public_key
    return {"key_id": key.key_id, "minisign": key.dumps(f"Egne Data signing key {key.key_id}"),
            "whpk": webhooks.whpk(key.key)}


@router.post("/admin/services", status_code=status.HTTP_201_CREATED,
             response_model=ServiceAdmin, tags=["admin"])
def create(body: ServiceCreate, principal: AdminDep, context: ContextDep) -> ServiceAdmin:
    """Register a service. S3 credentials are stored age-encrypted, never returned."""
    credentials = None
    if body.s3_credentials is not None:
        credentials = S3Credentials(body.s3_credentials.access_key_id,
                                    body.s3_credentials.secret_access_key,
                                    body.s3_credentials.session_token)
    spec = ServiceSpec(**body.model_dump(exclude={"s3_credentials"}), s3_credentials=credentials)
    row = register_service(context, Actor(principal.subject, principal.role.value), spec)
    return service_admin(row)


@router.get("/admin/services", response_model=list[ServiceAdmin], tags=["admin"])
def list_all(_principal: AdminDep, context: ContextDep) -> list[ServiceAdmin]:
    return [service_admin(s) for s in list_services(context)]


@router.get("/admin/services/{service_id}", response_model=ServiceAdmin, tags=["admin"])
def read(service_id: str, _principal: AdminDep, context: ContextDep) -> ServiceAdmin:
    return service_admin(get_service(context, service_id))


@router.post("/admin/services/{service_id}/suspend", response_model=ServiceAdmin,
             tags=["admin"])
def suspend(service_id: str, principal: AdminDep, context: ContextDep) -> ServiceAdmin:
    """Stop all pushes to the service; its open deliveries are cancelled."""
    row = set_service_state(context, Actor(principal.subject, principal.role.value),
                            service_id, SUSPENDED)
    return service_admin(row)


@router.post("/admin/services/{service_id}/resume", response_model=ServiceAdmin,
             tags=["admin"])
def resume(service_id: str, principal: AdminDep, context: ContextDep) -> ServiceAdmin:
    row = set_service_state(context, Actor(principal.subject, principal.role.value),
                            service_id, ACTIVE)
    return service_admin(row)
