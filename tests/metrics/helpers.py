"""Ticket histories written straight into the tables, for the metrics tests."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from service.auth import Principal
from service.care.models import Elder
from service.categories.models import Category
from service.directory.models import Community, ProviderAssignment, Region
from service.enums import Role
from service.tickets.models import FollowUp, Ticket

CATEGORIES = (
    "repair.plumbing",
    "repair.heating",
    "elderly.meal",
    "elderly.visit",
    "elderly.emergency",
    "complaint.fees",
)
ELDERS = 3


def category_ids(session: Session) -> dict[str, tuple[int, str]]:
    rows = session.execute(
        select(Category.code, Category.id, Category.kind).where(Category.code.in_(CATEGORIES))
    )
    return {code: (cid, str(kind)) for code, cid, kind in rows}


def insert_tickets(
    session: Session, tickets: list[dict[str, Any]], followed_up: set[int], filed_by: int
) -> None:
    """`tickets` carry every column the metrics read; ids are assigned here, and an
    `elder` (0 to ELDERS - 1) becomes the `elder_id` of one of ELDERS elders."""
    if not tickets:
        return
    paths = dict(session.execute(select(Community.id, Community.region_path)).all())
    elders = elder_ids(session)
    for t in tickets:
        t["elder_id"] = None if t.get("elder") is None else elders[t["elder"]]
    start = (session.scalar(select(Ticket.id).order_by(Ticket.id.desc()).limit(1)) or 0) + 1
    rows = []
    for offset, t in enumerate(tickets):
        t["id"] = start + offset
        rows.append(
            {
                "id": t["id"],
                "kind": t["kind"],
                "category_id": t["category_id"],
                "priority": "normal",
                "status": t["status"],
                "community_id": t["community_id"],
                "region_path": paths[t["community_id"]],
                "organization_id": t["organization_id"],
                "filed_by_id": filed_by,
                "reporter_id": filed_by,
                "channel": "app",
                "description": "metrics test",
                "attachments": [],
                "respond_by": t["respond_by"],
                "resolve_by": t["resolve_by"],
                "responded_at": t["responded_at"],
                "resolved_at": t["resolved_at"],
                "closed_at": t.get("closed_at"),
                "paused_seconds": t["paused_seconds"],
                "rating": t["rating"],
                "reopen_count": t["reopen_count"],
                "scheduled_for": t.get("scheduled_for"),
                "checked_in_at": t.get("checked_in_at"),
                "visit_missed_at": t.get("visit_missed_at"),
                "government_share_percent": t.get("government_share_percent"),
                "elder_id": t["elder_id"],
                "created_at": t["created_at"],
                "updated_at": t["updated_at"],
                "version": 1,
            }
        )
    session.execute(insert(Ticket), rows)
    follow_ups = [
        {
            "ticket_id": t["id"],
            "method": "phone",
            "satisfied": True,
            "created_by_id": filed_by,
            "organization_id": t["organization_id"],
            "created_at": t["updated_at"],
        }
        for t in tickets
        if t.get("followed_up")
    ]
    if follow_ups:
        session.execute(insert(FollowUp), follow_ups)
    followed_up.update(t["id"] for t in tickets if t.get("followed_up"))


def elder_ids(session: Session) -> list[int]:
    """ELDERS elders (made the first time, in the first community)."""
    found = list(
        session.scalars(
            select(Elder.id).where(Elder.name.startswith("metrics elder ")).order_by(Elder.id)
        )
    )
    if len(found) >= ELDERS:
        return found[:ELDERS]
    community = session.scalar(select(Community.id).order_by(Community.id).limit(1))
    made = [
        session.scalar(
            insert(Elder)
            .values(community_id=community, name=f"metrics elder {i}", lives_alone=i == 0)
            .returning(Elder.id)
        )
        for i in range(len(found), ELDERS)
    ]
    return found + [m for m in made if m is not None]


def admin(region_path: str | None = None, region_id: int | None = None) -> Principal:
    return Principal(user_id=0, role=Role.admin, region_id=region_id, region_path=region_path)


def region_groups(session: Session, level: str) -> dict[int, int | None]:
    """community id -> the id of its region at `level` (plain Python over the tree)."""
    regions = {r.id: r for r in session.scalars(select(Region))}
    out = {}
    for community in session.scalars(select(Community)):
        region = regions[community.region_id]
        found = None
        while region is not None:
            if str(region.level) == level:
                found = region.id
                break
            region = regions.get(region.parent_id) if region.parent_id else None
        out[community.id] = found
    return out


def households_function(
    session: Session, start: dt.datetime, end: dt.datetime, communities: set[int]
):  # type: ignore[no-untyped-def]
    """The households of a group's (region, community, organization) parts, from
    the definition: communities in scope; for an organisation, those it served at
    some time in the period."""
    households = dict(session.execute(select(Community.id, Community.households)).all())
    served: dict[int, set[int]] = {}
    for pa in session.scalars(select(ProviderAssignment)):
        if pa.since_on <= end.date() and (pa.until_on is None or pa.until_on > start.date()):
            served.setdefault(pa.organization_id, set()).add(pa.community_id)
    regions: dict[str, dict[int, int | None]] = {}

    def of(parts: dict[str, Any], level: str = "prefecture") -> int:
        chosen = set(communities)
        if "organization" in parts:
            chosen &= served.get(parts["organization"], set())
        if "community" in parts:
            chosen &= {parts["community"]}
        if "region" in parts:
            if level not in regions:
                regions[level] = region_groups(session, level)
            chosen = {c for c in chosen if regions[level][c] == parts["region"]}
        return sum(households[c] for c in chosen)

    return of
