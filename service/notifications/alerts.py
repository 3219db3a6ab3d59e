"""Alerts: events that must reach the people who can act, not the reporter.

An event whose `data["alert"]` lists audiences is told to everyone in them, in
the event's transaction, each person once however many audiences hold them,
never the event's actor:

- `dispatchers`: the dispatchers of the ticket's organisation;
- `grid_workers`: the grid workers of the ticket's community;
- `region_admins`: the admins whose region holds the ticket's (an admin
  without a region is not alerted: the province sees it in the metrics);
- `emergency_contacts`: the elder's family — their registered proxies (account
  holders: the inbox and the channels they want) and the emergency contacts of
  the elder's record (a text message to each phone, when SMS is configured;
  an account holder whose phone is a contact's is sent it whatever their
  preference, as the elder asked). Nothing for an erased elder.

Staff read the ticket's number and category; the family's texts
(`notice.<type>.family.*`) name the elder, whose name is read when the text is
made (compose.render), never copied into the notification. Health notes are
never in a notification. Who is reached, and how, follows compose.py's rules.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import literal_column, select, union_all
from sqlalchemy.orm import Session

from service.care.models import Elder, ElderProxy
from service.config import Settings
from service.db import SETTINGS_INFO
from service.directory.models import Region
from service.enums import OrgRole, Role
from service.notifications.compose import (
    Recipient,
    Wants,
    local_time,
    params_of,
    tell,
    wants_of,
)
from service.notifications.models import NotificationPreference
from service.sla.policy import load_config
from service.tickets.events import on_event
from service.tickets.models import Ticket, TicketEvent
from service.users.models import User

AUDIENCES: tuple[str, ...] = ("dispatchers", "grid_workers", "region_admins", "emergency_contacts")
DEFAULT_ZONE = "Asia/Shanghai"


def _ancestors(region_path: str) -> list[str]:
    """The paths of the regions that hold a region: "/1/7/42/" -> ["/1/", "/1/7/", "/1/7/42/"]."""
    parts = [part for part in region_path.split("/") if part]
    return ["/" + "/".join(parts[: depth + 1]) + "/" for depth in range(len(parts))]


def _members(ticket: Ticket, audiences: set[str], elder_kept: bool) -> Any:
    """One SELECT of (user_id, family) for every account holder of `audiences`:
    a branch per audience, each on its own index."""
    staff: Any = literal_column("0").label("family")
    family: Any = literal_column("1").label("family")
    branches = []
    if "dispatchers" in audiences and ticket.organization_id is not None:
        branches.append(
            select(User.id.label("user_id"), staff).where(
                User.organization_id == ticket.organization_id,
                User.role == Role.provider_staff,
                User.org_role == OrgRole.dispatcher,
            )
        )
    if "grid_workers" in audiences:
        branches.append(
            select(User.id.label("user_id"), staff).where(
                User.community_id == ticket.community_id, User.role == Role.grid_worker
            )
        )
    if "region_admins" in audiences and ticket.region_path:
        regions = select(Region.id).where(Region.path.in_(_ancestors(ticket.region_path)))
        branches.append(
            select(User.id.label("user_id"), staff).where(
                User.region_id.in_(regions), User.role == Role.admin
            )
        )
    if "emergency_contacts" in audiences and elder_kept:
        branches.append(
            select(ElderProxy.user_id.label("user_id"), family).where(
                ElderProxy.elder_id == ticket.elder_id
            )
        )
    if not branches:
        return None
    return branches[0] if len(branches) == 1 else union_all(*branches)


def _contacts(session: Session, ticket: Ticket) -> tuple[bool, list[str]]:
    """(whether the elder is there to be helped, their emergency contacts' phones)."""
    if ticket.elder_id is None:
        return False, []
    row = session.execute(
        select(Elder.erased_at, Elder.emergency_contacts).where(Elder.id == ticket.elder_id)
    ).first()
    if row is None or row.erased_at is not None:
        return False, []
    phones = [str(c.get("phone") or "").strip() for c in row.emergency_contacts or ()]
    return True, list(dict.fromkeys(p for p in phones if p))


def _params(
    session: Session, ticket: Ticket, event: TicketEvent, settings: Settings | None
) -> dict[str, Any]:
    params = params_of(ticket, event)
    scheduled_for = (event.data or {}).get("scheduled_for")
    if scheduled_for:
        # Local to the ticket's region, made now: the inbox does not know the zone.
        at = dt.datetime.fromisoformat(str(scheduled_for).replace("Z", "+00:00"))
        config = load_config(session, settings.timezone if settings else DEFAULT_ZONE)
        params["time"] = local_time(at, ZoneInfo(config.zone_for(ticket.region_path)))
    return params


def alert(session: Session, ticket: Ticket, event: TicketEvent) -> None:
    """The `record_event` listener: an event's alerts, if it carries any."""
    wanted = (event.data or {}).get("alert")
    if not isinstance(wanted, list):
        return
    audiences = set(wanted) & set(AUDIENCES)
    if not audiences:
        return
    settings: Settings | None = session.info.get(SETTINGS_INFO)
    elder_kept, contact_phones = (
        _contacts(session, ticket) if "emergency_contacts" in audiences else (False, [])
    )
    recipients: dict[int, tuple[Recipient, bool]] = {}
    members = _members(ticket, audiences, elder_kept)
    if members is not None:
        who = members.subquery()
        query = (
            select(
                who.c.user_id,
                who.c.family,
                User.wechat_openid,
                User.phone,
                NotificationPreference,
            )
            .join(User, User.id == who.c.user_id)
            .outerjoin(NotificationPreference, NotificationPreference.user_id == User.id)
        )
        if event.actor_id is not None:
            query = query.where(who.c.user_id != event.actor_id)
        for row in session.execute(query):
            _, was_family = recipients.get(row.user_id, (None, False))
            recipient = Recipient(
                row.user_id, wants_of(row.NotificationPreference), row.wechat_openid, row.phone
            )
            recipients[row.user_id] = (recipient, was_family or bool(row.family))
    # A contact who is one of the people above is that person: one notification,
    # and the text message the elder's record asks for.
    by_phone = {r.phone: user_id for user_id, (r, _) in recipients.items() if r.phone}
    strangers = []
    for phone in contact_phones:
        user_id = by_phone.get(phone)
        if user_id is None:
            strangers.append(phone)
            continue
        recipient, _ = recipients[user_id]
        recipients[user_id] = (replace(recipient, wants=replace(recipient.wants, sms=True)), True)
    params = _params(session, ticket, event, settings)
    for recipient, family in recipients.values():
        tell(
            session,
            recipient,
            ticket,
            event,
            {**params, "family": True} if family else params,
            settings,
        )
    for phone in strangers:
        contact = Recipient(None, Wants(sms=True), phone=phone)
        tell(session, contact, ticket, event, {**params, "family": True}, settings)


on_event(alert)
