"""HTTP routes of /v1/integrations: admins register the outside systems that file
tickets through Open311 into their region, and revoke their keys."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field

from service.auth import AdminPrincipal
from service.db import CommitInRoute, SessionDep, WriteSessionDep
from service.errors import Forbidden, NotFound, responses
from service.open311 import integrations
from service.validation import Name, StrictModel

router = APIRouter(prefix="/v1/integrations", tags=["integrations"], route_class=CommitInRoute)
IntegrationId = Annotated[int, Path(gt=0, lt=2**31)]


class IntegrationCreate(StrictModel):
    name: Name  # type: ignore[valid-type]
    region_id: int = Field(
        gt=0, lt=2**31, description="The jurisdiction: this region and the regions under it."
    )


class IntegrationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    name: str
    region_id: int
    prefix: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None


class IntegrationCreated(IntegrationRead):
    key: str = Field(description="The `lk_` key Open311 POSTs send as `api_key`; shown once.")


class IntegrationPage(BaseModel):
    items: list[IntegrationRead]


@router.post(
    "",
    status_code=201,
    response_model=IntegrationCreated,
    responses=responses(Forbidden),
)
def create_integration(
    data: IntegrationCreate, principal: AdminPrincipal, session: WriteSessionDep
) -> IntegrationCreated:
    integration, raw = integrations.create_integration(
        session, principal, data.name, data.region_id
    )
    return IntegrationCreated(**IntegrationRead.model_validate(integration).model_dump(), key=raw)


@router.get("", response_model=IntegrationPage, responses=responses(Forbidden, validation=False))
def list_integrations(principal: AdminPrincipal, session: SessionDep) -> IntegrationPage:
    return IntegrationPage(
        items=[
            IntegrationRead.model_validate(i)
            for i in integrations.list_integrations(session, principal)
        ]
    )


@router.get(
    "/{integration_id}", response_model=IntegrationRead, responses=responses(Forbidden, NotFound)
)
def get_integration(
    integration_id: IntegrationId, principal: AdminPrincipal, session: SessionDep
) -> IntegrationRead:
    return IntegrationRead.model_validate(
        integrations.visible_integration(session, principal, integration_id)
    )


@router.delete(
    "/{integration_id}", response_model=IntegrationRead, responses=responses(Forbidden, NotFound)
)
def revoke_integration(
    integration_id: IntegrationId, principal: AdminPrincipal, session: WriteSessionDep
) -> IntegrationRead:
    integration = integrations.visible_integration(session, principal, integration_id)
    return IntegrationRead.model_validate(integrations.revoke_integration(session, integration))
