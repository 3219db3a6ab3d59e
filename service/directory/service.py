"""Reference data: the region tree, communities, organisations, who serves whom."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

# Up a floor (a room-level cycle kept on purpose): writes act for a caller.
from service.auth import Principal
from service.db import utcnow
from service.directory.changes import why_community_stays, zone_changed
from service.directory.models import Community, Organization, ProviderAssignment, Region
from service.directory.schemas import (
    CommunityCreate,
    CommunityUpdate,
    OrganizationCreate,
    OrganizationUpdate,
    ProviderAssign,
    RegionCreate,
    RegionUpdate,
)
from service.enums import ORGANIZATION_KIND_FOR, RegionLevel, ServiceKind
from service.errors import Conflict, NotFound, Unprocessable

# Up a floor (a room-level cycle kept on purpose): one scoping function.
from service.scope import visible

_PARENT_LEVEL = {
    RegionLevel.province: None,
    RegionLevel.prefecture: RegionLevel.province,
    RegionLevel.county: RegionLevel.prefecture,
}


def visible_one(session: Session, principal: Principal, model: type[Any], object_id: int) -> Any:
    row = session.scalar(select(model).where(model.id == object_id, visible(principal, model)))
    if row is None:
        raise NotFound(f"{model.__tablename__}.not_found", id=object_id)
    return row


def _visible_reference(
    session: Session, principal: Principal, model: type[Any], object_id: int, field: str
) -> Any:
    """A visible object named in a request body: out of scope reads as a bad value (422)."""
    try:
        return visible_one(session, principal, model, object_id)
    except NotFound as exc:
        raise Unprocessable.on(field, f"{model.__tablename__}.not_in_scope", id=object_id) from exc


def page(
    session: Session, principal: Principal, model: type[Any], *, after: int | None, limit: int
) -> tuple[Sequence[Any], int | None]:
    query: Any = select(model).where(visible(principal, model)).order_by(model.id)
    if after is not None:
        query = query.where(model.id > after)
    rows = session.scalars(query.limit(limit + 1)).all()
    return rows[:limit], (rows[limit - 1].id if len(rows) > limit else None)


def create_region(session: Session, principal: Principal, data: RegionCreate) -> Region:
    parent_path = ""
    expected_parent = _PARENT_LEVEL[data.level]
    if data.parent_id is None:
        if expected_parent is not None:
            raise Unprocessable.on(
                "parent_id", "region.parent_needed", level=data.level, parent=expected_parent
            )
        if principal.region_path is not None:
            raise Unprocessable.on("parent_id", "region.inside_own")
    else:
        parent = _visible_reference(session, principal, Region, data.parent_id, "parent_id")
        if parent.level != expected_parent:
            raise Unprocessable.on(
                "parent_id", "region.parent_level", level=data.level, parent=expected_parent
            )
        parent_path = parent.path
    region = Region(
        name=data.name,
        level=data.level,
        parent_id=data.parent_id,
        path=f"tmp:{uuid.uuid4().hex}",
        timezone=data.timezone,
    )
    session.add(region)
    session.flush()
    region.path = f"{parent_path or '/'}{region.id}/"
    session.flush()
    if data.timezone is not None:
        zone_changed(session)  # the SLA clocks read region time zones
    return region


def update_region(session: Session, region: Region, data: RegionUpdate) -> Region:
    changes = data.model_dump(exclude_unset=True)
    if "name" in changes:
        region.name = data.name
    if "timezone" in changes and data.timezone != region.timezone:
        region.timezone = data.timezone
        zone_changed(session)
    session.flush()
    return region


def _county(session: Session, principal: Principal, region_id: int) -> Region:
    region = _visible_reference(session, principal, Region, region_id, "region_id")
    if region.level != RegionLevel.county:
        raise Unprocessable.on("region_id", "community.county_only")
    return region


def create_community(session: Session, principal: Principal, data: CommunityCreate) -> Community:
    region = _county(session, principal, data.region_id)
    community = Community(**data.model_dump(), region_path=region.path)
    session.add(community)
    session.flush()
    return community


def update_community(
    session: Session, principal: Principal, community: Community, data: CommunityUpdate
) -> Community:
    changes = data.model_dump(exclude_unset=True)  # null was refused where not allowed
    region_id = changes.pop("region_id", community.region_id)
    if region_id != community.region_id:
        region = _county(session, principal, region_id)
        reason = why_community_stays(session, community.id)
        if reason is not None:
            raise Conflict(reason)
        community.region_id, community.region_path = region.id, region.path
    for field, value in changes.items():
        setattr(community, field, value)
    session.flush()
    return community


def _registering_region(session: Session, principal: Principal, region_id: int | None) -> Region:
    """The region an organisation is registered in: the one named, else the
    caller's own; a province-wide admin's is the province (the root of the tree)."""
    region_id = region_id or principal.region_id
    if region_id is not None:
        return _visible_reference(session, principal, Region, region_id, "region_id")
    provinces = session.scalars(select(Region).where(Region.parent_id.is_(None)).limit(2)).all()
    if not provinces:
        raise Unprocessable.on("region_id", "region.no_province")
    if len(provinces) > 1:
        raise Unprocessable.on("region_id", "region.several_provinces")
    return provinces[0]


def _unique_credit_code(session: Session, credit_code: str, organization_id: int = 0) -> None:
    if session.scalar(
        select(Organization.id).where(
            Organization.credit_code == credit_code, Organization.id != organization_id
        )
    ):
        raise Conflict("organization.credit_code_taken")


def create_organization(
    session: Session, principal: Principal, data: OrganizationCreate
) -> Organization:
    region = _registering_region(session, principal, data.region_id)
    _unique_credit_code(session, data.credit_code)
    organization = Organization(
        name=data.name,
        kind=data.kind,
        credit_code=data.credit_code,
        contact_phone=data.contact_phone,
        region_id=region.id,
        region_path=region.path,
    )
    session.add(organization)
    session.flush()
    return organization


def editable_organization(session: Session, principal: Principal, org_id: int) -> Organization:
    """Admins edit organisations registered in their region (serving there is not enough)."""
    organization = visible_one(session, principal, Organization, org_id)
    if principal.region_path is not None and not organization.region_path.startswith(
        principal.region_path
    ):
        raise NotFound("organization.not_found", id=org_id)
    return organization


def update_organization(
    session: Session, organization: Organization, data: OrganizationUpdate
) -> Organization:
    changes = data.model_dump(exclude_unset=True)  # null was refused where not allowed
    if "credit_code" in changes:
        _unique_credit_code(session, changes["credit_code"], organization.id)
    for field, value in changes.items():
        setattr(organization, field, value)
    session.flush()
    return organization


def assign_provider(
    session: Session,
    principal: Principal,
    community: Community,
    kind: ServiceKind,
    data: ProviderAssign,
    *,
    timezone: str,
) -> ProviderAssignment:
    organization = _visible_reference(
        session, principal, Organization, data.organization_id, "organization_id"
    )
    if organization.kind != ORGANIZATION_KIND_FOR[kind]:
        raise Unprocessable.on(
            "organization_id",
            "organization.wrong_kind",
            kind=kind,
            organization_kind=ORGANIZATION_KIND_FOR[kind],
        )
    since = data.since or today(timezone)
    current = session.scalar(
        select(ProviderAssignment)
        .where(
            ProviderAssignment.community_id == community.id,
            ProviderAssignment.kind == kind,
            ProviderAssignment.current.is_(True),
        )
        .with_for_update()
    )
    if current is not None:
        if current.organization_id == organization.id:
            return current
        if since < current.since_on:
            raise Unprocessable.on("since", "assignment.since_too_early", since=current.since_on)
        current.until_on = since
        current.current = None
        session.flush()
    assignment = ProviderAssignment(
        community_id=community.id,
        kind=kind,
        organization_id=organization.id,
        since_on=since,
        current=True,
        created_by_id=principal.user_id,
    )
    session.add(assignment)
    session.flush()
    return assignment


def provider_history(session: Session, community: Community) -> Sequence[ProviderAssignment]:
    return session.scalars(
        select(ProviderAssignment)
        .where(ProviderAssignment.community_id == community.id)
        .order_by(ProviderAssignment.kind, ProviderAssignment.since_on, ProviderAssignment.id)
    ).all()


def today(timezone: str) -> dt.date:
    return utcnow().astimezone(ZoneInfo(timezone)).date()
