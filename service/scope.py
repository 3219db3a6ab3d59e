"""The one place that decides what a principal may see.

Every lookup, list and write filters on `visible(principal, Model)`; an object
outside it answers 404, never 403, so callers learn nothing of other tenants.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    String,
    and_,
    bindparam,
    cast,
    exists,
    false,
    or_,
    select,
    true,
)

# Up a floor (as the elders'): announcements are seen through their communities.
from service.announcements.models import Announcement, AnnouncementCommunity
from service.auth import Principal

# Up a floor (a room-level cycle kept on purpose, like the tickets'): it scopes the
# elders, whose sensitive fields must never be decided anywhere else.
from service.care.models import CarePlan, Elder, ElderProxy
from service.db import utcnow
from service.directory.models import Community, Organization, ProviderAssignment, Region
from service.enums import OrgRole, Role, ServiceKind

# Up a floor (as the elders'): integrations are scoped by region like communities.
from service.open311.models import Integration

# Up a floor (a room-level cycle kept on purpose): it scopes every table.
from service.tickets.models import Ticket

# Statements compiled once and kept (tickets: filing, the page) must not hold
# one person's ids: thousands of residents filing would each need their own and
# push the others out. `parametric(role, region_path)` stands for every
# principal of that role (and, for admins, that region: there are few), its
# ids bind parameters; `scope_values(principal)` fills them at execution.
SCOPE_PARAMS = ("scope_user_id", "scope_community_id", "scope_organization_id")


def parametric(role: Role, region_path: str | None) -> Principal:
    """A principal whose ids are the bind parameters SCOPE_PARAMS, for `visible`."""
    return Principal(
        user_id=_bound("scope_user_id"),
        role=role,
        community_id=_bound("scope_community_id"),
        organization_id=_bound("scope_organization_id"),
        region_path=region_path,
    )


def scope_values(principal: Principal) -> dict[str, Any]:
    """The values of SCOPE_PARAMS for `principal`."""
    return {
        "scope_user_id": principal.user_id,
        "scope_community_id": principal.community_id,
        "scope_organization_id": principal.organization_id,
    }


def _bound(name: str) -> Any:
    return bindparam(name, type_=Integer)


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


def _caring_for(organization_id: int | None) -> Any:
    return select(ProviderAssignment.community_id).where(
        ProviderAssignment.organization_id == organization_id,
        ProviderAssignment.kind == ServiceKind.elderly_care,
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
            # What they filed, and the care of the elders they keep: the visits
            # whose missing they are alerted to, and their follow-ons.
            return or_(
                Ticket.filed_by_id == principal.user_id,
                and_(Ticket.elder_id.is_not(None), Ticket.community_id == principal.community_id),
            )
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

    if model is Elder:
        if role == Role.resident:
            # A family proxy the grid worker registered: the elders they act for.
            return Elder.id.in_(
                select(ElderProxy.elder_id).where(ElderProxy.user_id == principal.user_id)
            )
        return Elder.community_id.in_(elder_communities(principal))

    if model is CarePlan:
        # As the elder's: the family proxy sees their elder's plans (to know when
        # the carer comes); the keepers of the community's elders see all of them.
        if role == Role.resident:
            return CarePlan.elder_id.in_(
                select(ElderProxy.elder_id).where(ElderProxy.user_id == principal.user_id)
            )
        return CarePlan.community_id.in_(elder_communities(principal))

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

    if model is Integration:
        # Registered and revoked by admins over their region; nobody else sees one.
        if role == Role.admin:
            return _under(Integration.region_path, principal)
        return false()

    if model is Announcement:
        # Through its communities: whoever sees one of them sees it (the community's
        # grid workers, the organisations serving it, the admins over it), and a
        # resident while it is shown in theirs (not once it ended or was withdrawn).
        if role == Role.resident:
            shown = select(AnnouncementCommunity.announcement_id).where(
                AnnouncementCommunity.community_id == principal.community_id,
                AnnouncementCommunity.shown_until > utcnow(),
            )
        else:
            shown = select(AnnouncementCommunity.announcement_id).where(
                AnnouncementCommunity.community_id.in_(
                    select(Community.id).where(visible(principal, Community))
                )
            )
        return Announcement.id.in_(shown)

    raise TypeError(f"no visibility rule for {model.__name__}")


def announce_communities(principal: Principal) -> Any:
    """The ids of the communities `principal` may post announcements to: an
    admin's region; for a dispatcher of a provider organisation (its API keys
    too), the communities it currently serves as their property company (a care
    provider, or the same company's technicians, none). Anyone else: none."""
    if principal.role == Role.admin:
        return select(Community.id).where(_under(Community.region_path, principal))
    if principal.is_dispatcher:
        return select(ProviderAssignment.community_id).where(
            ProviderAssignment.organization_id == principal.organization_id,
            ProviderAssignment.kind == ServiceKind.property,
            ProviderAssignment.current.is_(True),
        )
    return select(Community.id).where(false())


def elder_communities(principal: Principal) -> Any:
    """The ids of the communities whose elders `principal` keeps (sees, and may
    register elders in where their role may write): an admin's region, a grid
    worker's community, and for provider staff the communities their organisation
    currently serves for elderly care. A property company keeps none: a repair
    needs no register of who lives alone where. Residents keep none (a proxy sees
    the elders linked to them, see `visible`)."""
    role = principal.role
    if role == Role.grid_worker:
        return select(Community.id).where(Community.id == principal.community_id)
    if role == Role.provider_staff:
        return _caring_for(principal.organization_id)
    if role == Role.admin:
        return select(Community.id).where(_under(Community.region_path, principal))
    return select(Community.id).where(false())


def elders_to_file_for(principal: Principal) -> Any:
    """(id, community_id) of the elders `principal` may file a ticket for: a grid
    worker's or an admin's in scope, the care provider's dispatchers' (not its
    technicians, who carry visits out), and a family proxy's own; never an
    erased one. Anyone else: none."""
    rows = select(Elder.id, Elder.community_id).where(
        visible(principal, Elder), Elder.erased_at.is_(None)
    )
    if principal.role == Role.provider_staff and principal.org_role != OrgRole.dispatcher:
        return rows.where(false())
    return rows


def elder_in_clear(principal: Principal) -> bool:
    """Whether `principal` sees the sensitive fields (phones, address, emergency
    contacts' phones, health notes) of the elders visible to them in clear: the
    admins, grid workers and care provider's staff that `elder_communities` lets
    in (PRODUCT.md). Everyone else who sees an elder (a family proxy) sees them
    masked (service.care.masking)."""
    return principal.role in (Role.admin, Role.grid_worker, Role.provider_staff)


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
