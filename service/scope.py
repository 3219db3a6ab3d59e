"""The one place that decides what a principal may see.

Every lookup, list and write filters on `visible(principal, Model)`; an object
outside it answers 404, never 403, so callers learn nothing of other tenants.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, String, cast, exists, or_, select, true

from service.auth import Principal
from service.directory.models import Community, Organization, ProviderAssignment, Region
from service.enums import Role

# Up a floor (a room-level cycle kept on purpose): it scopes every table.
from service.tickets.models import Ticket


def _served_by(organization_id: int | None) -> Any:
    return select(ProviderAssignment.community_id).where(
        ProviderAssignment.organization_id == organization_id,
        ProviderAssignment.current.is_(True),
    )


def _serving(community_id: int | None) -> Any:
    return select(ProviderAssignment.organization_id).where(
        ProviderAssignment.community_id == community_id,
        ProviderAssignment.current.is_(True),
    )


def _under(path_column: Any, principal: Principal) -> ColumnElement[bool]:
    if principal.region_path is None:
        return true()
    return path_column.startswith(principal.region_path, autoescape=True)


def visible(principal: Principal, model: type[Any]) -> ColumnElement[bool]:
    """The WHERE clause selecting the rows of `model` that `principal` may see."""
    role = principal.role
    if model is Ticket:
        if role == Role.resident:
            return or_(
                Ticket.reporter_id == principal.user_id, Ticket.filed_by_id == principal.user_id
            )
        if role == Role.grid_worker:
            return Ticket.filed_by_id == principal.user_id
        if role == Role.provider_staff:
            return Ticket.organization_id == principal.organization_id
        return _under(Ticket.region_path, principal)

    if model is Community:
        if role in (Role.resident, Role.grid_worker):
            return Community.id == principal.community_id
        if role == Role.provider_staff:
            return Community.id.in_(_served_by(principal.organization_id))
        return _under(Community.region_path, principal)

    if model is Organization:
        if role in (Role.resident, Role.grid_worker):
            return Organization.id.in_(_serving(principal.community_id))
        if role == Role.provider_staff:
            return Organization.id == principal.organization_id
        if principal.region_path is None:
            return true()
        serves_here = (
            select(ProviderAssignment.organization_id)
            .join(Community, Community.id == ProviderAssignment.community_id)
            .where(ProviderAssignment.current.is_(True), _under(Community.region_path, principal))
        )
        return or_(_under(Organization.region_path, principal), Organization.id.in_(serves_here))

    if model is Region:
        if role == Role.admin:
            return _under(Region.path, principal)
        # Others see the chain of regions above the communities they may see.
        marker = "%/" + cast(Region.id, String) + "/%"
        return exists(
            select(Community.id).where(
                visible(principal, Community), Community.region_path.like(marker)
            )
        )

    raise TypeError(f"no visibility rule for {model.__name__}")


def visible_ticket_ids(principal: Principal) -> Any:
    """The ids of the tickets `principal` may see, as a subquery: for the features
    below the tickets (attachments) that name a ticket without importing it."""
    return select(Ticket.id).where(visible(principal, Ticket))


def internal_visible(principal: Principal, internal_col: Any, org_col: Any) -> Any:
    """Of a visible ticket's notes (events, comments, their photos): residents and
    grid workers never see internal ones; an organisation sees only its own; an
    admin all (None: no condition)."""
    if principal.role == Role.admin:
        return None
    if principal.role == Role.provider_staff:
        return or_(~internal_col, org_col == principal.organization_id)
    return ~internal_col
