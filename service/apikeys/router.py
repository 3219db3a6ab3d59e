"""HTTP routes of /v1/organizations/{id}/api-keys (admins, and the organisation's dispatchers)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.apikeys import service
from service.apikeys.models import ApiKey
from service.auth import CurrentPrincipal, Principal
from service.db import CommitInRoute, SessionDep, WriteSessionDep
from service.directory.models import Organization
from service.directory.service import editable_organization
from service.enums import Role
from service.errors import Forbidden, NotFound, responses
from service.scope import visible
from service.validation import Name, StrictModel

router = APIRouter(
    prefix="/v1/organizations/{organization_id}/api-keys",
    tags=["api keys"],
    route_class=CommitInRoute,
)
OrgId = Annotated[int, Path(gt=0, lt=2**31)]
KeyId = Annotated[int, Path(gt=0, lt=2**31)]


class ApiKeyCreate(StrictModel):
    name: Name  # type: ignore[valid-type]


class ApiKeyRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    organization_id: int
    name: str
    prefix: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None


class ApiKeyCreated(ApiKeyRead):
    key: str


class ApiKeyPage(BaseModel):
    items: list[ApiKeyRead]


def _organization(session: Session, principal: Principal, organization_id: int) -> Organization:
    """Keys are managed by the organisation's (human) dispatchers and by admins above it."""
    if principal.role == Role.admin:
        # Serving a community in the admin's region is not enough: a key acts as the
        # organisation everywhere, so only admins above its registering region manage keys.
        editable: Organization = editable_organization(session, principal, organization_id)
        return editable
    organization = session.scalar(
        select(Organization).where(
            Organization.id == organization_id, visible(principal, Organization)
        )
    )
    if organization is None:
        raise NotFound("organization.not_found", id=organization_id)
    if not (principal.is_dispatcher and principal.api_key_id is None):
        raise Forbidden("api_key.forbidden")
    return organization


@router.post(
    "", status_code=201, response_model=ApiKeyCreated, responses=responses(NotFound, Forbidden)
)
def create_api_key(
    organization_id: OrgId,
    data: ApiKeyCreate,
    principal: CurrentPrincipal,
    session: WriteSessionDep,
) -> ApiKeyCreated:
    organization = _organization(session, principal, organization_id)
    api_key, raw = service.create_api_key(session, organization, data.name)
    return ApiKeyCreated(**ApiKeyRead.model_validate(api_key).model_dump(), key=raw)


@router.get("", response_model=ApiKeyPage, responses=responses(NotFound, Forbidden))
def list_api_keys(
    organization_id: OrgId, principal: CurrentPrincipal, session: SessionDep
) -> ApiKeyPage:
    organization = _organization(session, principal, organization_id)
    return ApiKeyPage(
        items=[
            ApiKeyRead.model_validate(k) for k in service.list_api_keys(session, organization.id)
        ]
    )


@router.delete("/{key_id}", response_model=ApiKeyRead, responses=responses(NotFound, Forbidden))
def revoke_api_key(
    organization_id: OrgId, key_id: KeyId, principal: CurrentPrincipal, session: WriteSessionDep
) -> ApiKeyRead:
    organization = _organization(session, principal, organization_id)
    api_key = session.scalar(
        select(ApiKey).where(ApiKey.id == key_id, ApiKey.organization_id == organization.id)
    )
    if api_key is None:
        raise NotFound("api_key.not_found", id=key_id)
    return ApiKeyRead.model_validate(service.revoke_api_key(session, api_key))
