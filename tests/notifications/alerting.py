"""Alerts as the tests arrange them: an elder with a proxy and a contact, a
助急 ticket for them, people near those alerted who must not be, and what
each was told."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.config import Settings
from service.db import SETTINGS_INFO
from service.notifications.models import Notification, NotificationDelivery
from service.tickets.events import record_event
from service.tickets.models import Ticket, TicketEvent
from tests.care.helpers import link_proxy, register
from tests.conftest import Actor, World, file_ticket, token_for

EVERYONE = ["dispatchers", "grid_workers", "region_admins", "emergency_contacts"]
ELDER_NAME = "阿依古丽·买买提"


def person(client: Any, settings: Settings, key: str, role: str, **scope: Any) -> Actor:
    actor = Actor(key, token_for(settings, f"user-{key}", role, **scope), {"role": role, **scope})
    me = client.get("/v1/me", headers=actor.headers)
    assert me.status_code == 200, me.text
    actor.user_id = me.json()["user_id"]
    return actor


def near_people(client: Any, world: World, settings: Settings) -> dict[str, Actor]:
    """Near neighbours of the alerted, who must not be: a grid worker of another
    community in the same county, an admin of a sibling county; and an admin of
    the prefecture above, who must be."""
    return {
        "grid_worker_b": person(
            client, settings, "grid-b", "grid_worker", community_id=world.community_b
        ),
        "prefecture_admin": person(client, settings, "pref-admin", "admin", region_id=world.urumqi),
        "sibling_admin": person(client, settings, "sib-admin", "admin", region_id=world.shayibake),
        "care_dispatcher_2": person(
            client,
            settings,
            "care-dispatcher-2",
            "provider_staff",
            organization_id=world.care,
            org_role="dispatcher",
        ),
        "care_technician": person(
            client,
            settings,
            "care-tech",
            "provider_staff",
            organization_id=world.care,
            org_role="technician",
        ),
    }


def with_sms(db: Session, settings: Settings, on: bool = True) -> None:
    update = {"sms_url": "http://127.0.0.1:9/send" if on else ""}
    db.info[SETTINGS_INFO] = settings.model_copy(update=update)


def elder_ticket(client: Any, world: World, **overrides: Any) -> tuple[dict, dict]:
    elder = register(client, world.grid_worker, world.community_a, **overrides)
    link_proxy(client, world.grid_worker, elder["id"], user_id=world.reporter.user_id)
    ticket = file_ticket(
        client,
        world.grid_worker,
        world.community_a,
        category="elderly.emergency",
        elder_id=elder["id"],
    )
    return elder, ticket


def alert(db: Session, ticket_id: int, audiences: list[str], **data: Any) -> TicketEvent:
    ticket = db.get(Ticket, ticket_id)
    assert ticket is not None
    actor = data.pop("actor_id", None)
    event = record_event(
        db,
        ticket,
        data.pop("type", "visit.not_home_twice"),
        actor,
        data={"alert": audiences, **data},
    )
    db.flush()
    return event


def told_about(db: Session, ticket_id: int, type_: str | None = None) -> list[Notification]:
    query = select(Notification).where(Notification.ticket_id == ticket_id)
    if type_:
        query = query.where(Notification.type == type_)
    return list(db.scalars(query.order_by(Notification.id)))


def deliveries(db: Session, notification: Notification) -> dict[str, str]:
    rows = db.scalars(
        select(NotificationDelivery).where(NotificationDelivery.notification_id == notification.id)
    )
    return {d.channel: d.address for d in rows}
