"""JSON API of the identity domain (thin: parse, call the service, shape the answer).

Mounted under ``/api/v1``.  Every endpoint needs an API key (``ApiActor``); writing needs
the admin role.  Ids of another organization answer 404, exactly as ids that do not exist.

===========================  ======  ==========================================
path                         role    what
===========================  ======  ==========================================
GET    /me                   any     who the key acts as (kind, role, organization)
GET    /organization         any     the key's organization
GET    /users                any     staff of the organization
POST   /users                admin   add a staff user (201); no role above the caller's
GET    /users/{user_id}      any     one staff user
GET    /api-keys             any     the organization's keys (never the keys themselves)
POST   /api-keys             admin   a new key (201) — the key is in this answer only
GET    /api-keys/{key_id}    any     one key
DELETE /api-keys/{key_id}    admin   revoke a key (200, the revoked key)
===========================  ======  ==========================================
"""

from __future__ import annotations

import uuid
from typing import Literal

from fastapi import APIRouter, Request, status
from pydantic import BaseModel

from tsunagu.identity import service
from tsunagu.identity.dependencies import AdminActor, ApiActor, ApiPrincipal, DbSession
from tsunagu.identity.errors import RoleTooLow
from tsunagu.identity.models import Membership, StaffUser
from tsunagu.identity.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyOut,
    OrganizationOut,
    StaffRole,
    StaffUserCreate,
    StaffUserOut,
)

router = APIRouter(tags=["identity"])


class MeOut(BaseModel):
    """The caller as the API sees it."""

    kind: Literal["staff", "api_key", "person"]
    role: StaffRole | None
    api_key_id: uuid.UUID | None
    user_id: uuid.UUID | None
    organization: OrganizationOut


def _staff_out(user: StaffUser, membership: Membership) -> StaffUserOut:
    return StaffUserOut(
        id=user.id,
        email=user.email,
        display_name=user.display_name,
        role=membership.role,
        is_active=user.is_active,
        created_at=user.created_at,
        last_sign_in_at=user.last_sign_in_at,
    )


@router.get("/me", response_model=MeOut)
async def get_me(principal: ApiPrincipal) -> MeOut:
    # answered from the key's principal (checked within the last seconds): no database
    # round trip, no thread-pool trip — a client's "who am I" is the cheapest call there is
    actor = principal.actor
    return MeOut(
        kind=actor.kind,
        role=actor.role,
        api_key_id=actor.api_key_id,
        user_id=actor.user_id,
        organization=OrganizationOut.model_validate(principal.organization),
    )


@router.get("/organization", response_model=OrganizationOut)
def get_organization(actor: ApiActor, db: DbSession) -> OrganizationOut:
    return OrganizationOut.model_validate(service.access_organization(db, actor, actor.org_id))


@router.get("/users", response_model=list[StaffUserOut])
def list_users(actor: ApiActor, db: DbSession) -> list[StaffUserOut]:
    return [_staff_out(user, membership) for user, membership in service.list_staff(db, actor)]


@router.post("/users", response_model=StaffUserOut, status_code=status.HTTP_201_CREATED)
def create_user(body: StaffUserCreate, actor: AdminActor, db: DbSession) -> StaffUserOut:
    # nobody hands out more power than they hold
    if actor.role is None or service.ROLE_RANK[body.role] > service.ROLE_RANK[actor.role]:
        raise RoleTooLow(f"you cannot grant the {body.role} role")
    org = service.access_organization(db, actor, actor.org_id)
    user, membership = service.create_staff_user(
        db,
        organization=org,
        email=str(body.email),
        password=body.password,
        role=body.role,
        display_name=body.display_name,
    )
    return _staff_out(user, membership)


@router.get("/users/{user_id}", response_model=StaffUserOut)
def get_user(user_id: uuid.UUID, actor: ApiActor, db: DbSession) -> StaffUserOut:
    user, membership = service.access_staff_user(db, actor, user_id)
    return _staff_out(user, membership)


@router.get("/api-keys", response_model=list[ApiKeyOut])
def list_api_keys(actor: ApiActor, db: DbSession) -> list[ApiKeyOut]:
    return [ApiKeyOut.model_validate(key) for key in service.list_api_keys(db, actor)]


@router.post("/api-keys", response_model=ApiKeyCreated, status_code=status.HTTP_201_CREATED)
def create_api_key(body: ApiKeyCreate, actor: AdminActor, db: DbSession) -> ApiKeyCreated:
    if actor.role is None or service.ROLE_RANK[body.role] > service.ROLE_RANK[actor.role]:
        raise RoleTooLow(f"you cannot grant the {body.role} role")
    org = service.access_organization(db, actor, actor.org_id)
    key, plain = service.create_api_key(
        db, organization=org, name=body.name, role=body.role, created_by=actor.user_id
    )
    return ApiKeyCreated(**ApiKeyOut.model_validate(key).model_dump(), key=plain)


@router.get("/api-keys/{key_id}", response_model=ApiKeyOut)
def get_api_key(key_id: uuid.UUID, actor: ApiActor, db: DbSession) -> ApiKeyOut:
    return ApiKeyOut.model_validate(service.access_api_key(db, actor, key_id))


@router.delete("/api-keys/{key_id}", response_model=ApiKeyOut)
def revoke_api_key(
    request: Request, key_id: uuid.UUID, actor: AdminActor, db: DbSession
) -> ApiKeyOut:
    key = service.revoke_api_key(db, actor, key_id)
    request.app.state.api_key_cache.forget(key.id)  # refused from the next request on
    return ApiKeyOut.model_validate(key)
