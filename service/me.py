"""GET /v1/me: who the token says you are, as Linli resolved it."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from service.auth import CurrentPrincipal
from service.db import CommitInRoute
from service.enums import OrgRole, Role
from service.errors import responses

router = APIRouter(prefix="/v1", tags=["me"], route_class=CommitInRoute)


class MeRead(BaseModel):
    user_id: int
    role: Role
    name: str
    community_id: int | None
    organization_id: int | None
    org_role: OrgRole | None
    region_id: int | None


@router.get("/me", response_model=MeRead, responses=responses(validation=False))
def me(principal: CurrentPrincipal) -> MeRead:
    return MeRead(
        user_id=principal.user_id,
        role=principal.role,
        name=principal.name,
        community_id=principal.community_id,
        organization_id=principal.organization_id,
        org_role=principal.org_role,
        region_id=principal.region_id,
    )
