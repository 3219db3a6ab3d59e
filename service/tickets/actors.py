"""Who did it: an event's `actor` as its reader may see it.

An event records only `actor_id`. Timelines, the feed and webhooks show
`actor` {id, name, role, organization_id}, loaded with the events in the same
query (`with_actor` joins the acting user and their organisation), and cut to
what the reader may know:

- a job's action (no actor: auto-close, SLA breaches, reminders), to anyone:
  {null, null, "system", null};
- the reader's own action, and anyone's to an admin: {id, name, role,
  organization_id};
- provider staff's action, to their own organisation's staff (and its feed and
  webhooks): in full; to another organisation's, or to a resident or grid
  worker: the organisation, {null, its name, "provider_staff", its id};
- anyone else's, to provider staff: in full;
- anyone else's, to a resident or grid worker: the role only,
  {null, null, role, null}.

So residents never learn a staff member's or another resident's name, and no
actor carries a phone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select
from sqlalchemy.orm import aliased

from service.auth import Principal
from service.directory.models import Organization
from service.enums import Role
from service.tickets.models import TicketEvent
from service.users.models import User

SYSTEM = "system"

_ActorUser = aliased(User, name="actor_user")
_ActorOrganization = aliased(Organization, name="actor_organization")

ACTOR_COLUMNS = (
    _ActorUser.name.label("actor_name"),
    _ActorUser.role.label("actor_role"),
    _ActorUser.organization_id.label("actor_organization_id"),
    _ActorOrganization.name.label("actor_organization_name"),
)


def with_actor(query: Select[Any]) -> Select[Any]:
    """`query` (which selects from ticket_event) with ACTOR_COLUMNS: two outer
    joins on primary keys, so a page of events costs no query per actor."""
    return (
        query.outerjoin(_ActorUser, _ActorUser.id == TicketEvent.actor_id)
        .outerjoin(_ActorOrganization, _ActorOrganization.id == _ActorUser.organization_id)
        .add_columns(*ACTOR_COLUMNS)
    )


@dataclass(frozen=True, slots=True)
class Reader:
    """Whoever an event is shown to."""

    role: Role
    user_id: int | None = None
    organization_id: int | None = None

    @classmethod
    def of(cls, principal: Principal) -> Reader:
        return cls(principal.role, principal.user_id, principal.organization_id)

    @classmethod
    def organization(cls, organization_id: int) -> Reader:
        """A provider organisation as a whole: its feed and its webhooks."""
        return cls(Role.provider_staff, None, organization_id)


def actor_dict(reader: Reader, row: Any) -> dict[str, Any]:
    """`row` has `actor_id` and ACTOR_COLUMNS."""
    actor_id = row.actor_id
    if actor_id is None:
        return {"id": None, "name": None, "role": SYSTEM, "organization_id": None}
    role = Role(row.actor_role)
    organization_id = row.actor_organization_id
    full = {
        "id": actor_id,
        "name": row.actor_name,
        "role": role.value,
        "organization_id": organization_id,
    }
    if actor_id == reader.user_id or reader.role == Role.admin:
        return full
    if role == Role.provider_staff:
        if reader.role == Role.provider_staff and organization_id == reader.organization_id:
            return full
        return {
            "id": None,
            "name": row.actor_organization_name,
            "role": role.value,
            "organization_id": organization_id,
        }
    if reader.role == Role.provider_staff:
        return full
    return {"id": None, "name": None, "role": role.value, "organization_id": None}
