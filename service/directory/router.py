"""HTTP routes of the reference data: regions, communities, organisations."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

# Up a floor (a room-level cycle kept on purpose): routes act for a caller.
from service.auth import AdminPrincipal, CurrentPrincipal
from service.config import SettingsDep
from service.db import CommitInRoute, SessionDep, WriteSessionDep
from service.directory import service
from service.directory.models import Community, Organization, Region
from service.directory.schemas import (
    CommunityCreate,
    CommunityPage,
    CommunityRead,
    CommunityUpdate,
    OrganizationCreate,
    OrganizationPage,
    OrganizationRead,
    OrganizationUpdate,
    ProviderAssign,
    ProviderAssignmentPage,
    ProviderAssignmentRead,
    RegionCreate,
    RegionPage,
    RegionRead,
    RegionUpdate,
)
from service.enums import ServiceKind
from service.errors import Conflict, Forbidden, NotFound, responses

router = APIRouter(prefix="/v1", tags=["reference data"], route_class=CommitInRoute)

ObjectId = Annotated[int, Path(gt=0, lt=2**31)]
After = Annotated[int | None, Query(alias="cursor", ge=0, lt=2**31)]
Limit = Annotated[int, Query(ge=1, le=500)]


def _cursor(value: int | None) -> str | None:
    return None if value is None else str(value)


@router.get("/regions", response_model=RegionPage, responses=responses(validation=False))
def list_regions(principal: CurrentPrincipal, session: SessionDep) -> RegionPage:
    rows, _ = service.page(session, principal, Region, after=None, limit=10_000)
    return RegionPage(items=[RegionRead.model_validate(r) for r in rows])


@router.post("/regions", status_code=201, response_model=RegionRead, responses=responses(Forbidden))
def create_region(
    data: RegionCreate, principal: AdminPrincipal, session: WriteSessionDep
) -> RegionRead:
    return RegionRead.model_validate(service.create_region(session, principal, data))


@router.get("/regions/{region_id}", response_model=RegionRead, responses=responses(NotFound))
def get_region(region_id: ObjectId, principal: CurrentPrincipal, session: SessionDep) -> RegionRead:
    return RegionRead.model_validate(service.visible_one(session, principal, Region, region_id))


@router.patch(
    "/regions/{region_id}", response_model=RegionRead, responses=responses(Forbidden, NotFound)
)
def update_region(
    region_id: ObjectId, data: RegionUpdate, principal: AdminPrincipal, session: WriteSessionDep
) -> RegionRead:
    """Rename a region or set the local time of its SLA clocks (inherited below it)."""
    region = service.visible_one(session, principal, Region, region_id)
    return RegionRead.model_validate(service.update_region(session, region, data))


@router.get("/communities", response_model=CommunityPage, responses=responses())
def list_communities(
    principal: CurrentPrincipal, session: SessionDep, cursor: After = None, limit: Limit = 100
) -> CommunityPage:
    rows, after = service.page(session, principal, Community, after=cursor, limit=limit)
    return CommunityPage(
        items=[CommunityRead.model_validate(r) for r in rows], next_cursor=_cursor(after)
    )


@router.post(
    "/communities", status_code=201, response_model=CommunityRead, responses=responses(Forbidden)
)
def create_community(
    data: CommunityCreate, principal: AdminPrincipal, session: WriteSessionDep
) -> CommunityRead:
    return CommunityRead.model_validate(service.create_community(session, principal, data))


@router.get(
    "/communities/{community_id}", response_model=CommunityRead, responses=responses(NotFound)
)
def get_community(
    community_id: ObjectId, principal: CurrentPrincipal, session: SessionDep
) -> CommunityRead:
    return CommunityRead.model_validate(
        service.visible_one(session, principal, Community, community_id)
    )


@router.patch(
    "/communities/{community_id}",
    response_model=CommunityRead,
    responses=responses(NotFound, Forbidden, Conflict),
)
def update_community(
    community_id: ObjectId,
    data: CommunityUpdate,
    principal: AdminPrincipal,
    session: WriteSessionDep,
) -> CommunityRead:
    community = service.visible_one(session, principal, Community, community_id)
    return CommunityRead.model_validate(
        service.update_community(session, principal, community, data)
    )


def _assignment_read(row) -> ProviderAssignmentRead:  # type: ignore[no-untyped-def]
    return ProviderAssignmentRead(
        community_id=row.community_id,
        kind=row.kind,
        organization_id=row.organization_id,
        since=row.since_on,
        until=row.until_on,
    )


@router.put(
    "/communities/{community_id}/providers/{kind}",
    response_model=ProviderAssignmentRead,
    responses=responses(NotFound, Forbidden),
)
def assign_provider(
    community_id: ObjectId,
    kind: ServiceKind,
    data: ProviderAssign,
    principal: AdminPrincipal,
    session: WriteSessionDep,
    settings: SettingsDep,
) -> ProviderAssignmentRead:
    community = service.visible_one(session, principal, Community, community_id)
    assignment = service.assign_provider(
        session, principal, community, kind, data, timezone=settings.timezone
    )
    return _assignment_read(assignment)


@router.get(
    "/communities/{community_id}/providers",
    response_model=ProviderAssignmentPage,
    responses=responses(NotFound),
)
def list_providers(
    community_id: ObjectId, principal: CurrentPrincipal, session: SessionDep
) -> ProviderAssignmentPage:
    community = service.visible_one(session, principal, Community, community_id)
    return ProviderAssignmentPage(
        items=[_assignment_read(r) for r in service.provider_history(session, community)]
    )


@router.get("/organizations", response_model=OrganizationPage, responses=responses())
def list_organizations(
    principal: CurrentPrincipal, session: SessionDep, cursor: After = None, limit: Limit = 100
) -> OrganizationPage:
    rows, after = service.page(session, principal, Organization, after=cursor, limit=limit)
    return OrganizationPage(
        items=[OrganizationRead.model_validate(r) for r in rows], next_cursor=_cursor(after)
    )


@router.post(
    "/organizations",
    status_code=201,
    response_model=OrganizationRead,
    responses=responses(Forbidden, Conflict),
)
def create_organization(
    data: OrganizationCreate, principal: AdminPrincipal, session: WriteSessionDep
) -> OrganizationRead:
    return OrganizationRead.model_validate(service.create_organization(session, principal, data))


@router.get(
    "/organizations/{organization_id}",
    response_model=OrganizationRead,
    responses=responses(NotFound),
)
def get_organization(
    organization_id: ObjectId, principal: CurrentPrincipal, session: SessionDep
) -> OrganizationRead:
    return OrganizationRead.model_validate(
        service.visible_one(session, principal, Organization, organization_id)
    )


@router.patch(
    "/organizations/{organization_id}",
    response_model=OrganizationRead,
    responses=responses(NotFound, Forbidden, Conflict),
)
def update_organization(
    organization_id: ObjectId,
    data: OrganizationUpdate,
    principal: AdminPrincipal,
    session: WriteSessionDep,
) -> OrganizationRead:
    organization = service.editable_organization(session, principal, organization_id)
    return OrganizationRead.model_validate(service.update_organization(session, organization, data))
