"""Posting, listing and withdrawing announcements. Takes the session and the
principal, never commits.

Who may post to which communities, and who sees what, is service/scope.py's
(`announce_communities`, `visible`). What residents are told (their inbox, and
WeChat or SMS) is the notifications' business: they listen here (`on_change`),
and this module knows none of them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any, Literal

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from service.announcements.models import Announcement, AnnouncementCommunity
from service.announcements.schemas import AnnouncementCreate, AnnouncementRead
from service.auth import Principal
from service.db import utcnow
from service.directory.models import Community, Organization
from service.enums import AnnouncementKind, Role
from service.errors import Forbidden, Invalid, NotFound, Unprocessable
from service.scope import announce_communities, visible

Change = Literal["posted", "withdrawn"]
# (session, announcement, its community ids, what happened) -> None, in the
# announcement's transaction (notifications tell the residents).
ChangeListener = Callable[[Session, Announcement, list[int], Change], None]
_LISTENERS: list[ChangeListener] = []


def on_change(listener: ChangeListener) -> ChangeListener:
    """Call `listener` for every announcement posted or withdrawn."""
    if listener not in _LISTENERS:
        _LISTENERS.append(listener)
    return listener


def _may_post(principal: Principal) -> None:
    """Admins and provider dispatchers (and their API keys); the rest 403, before
    anything is looked up."""
    if principal.role != Role.admin and not principal.is_dispatcher:
        raise Forbidden("announcement.not_allowed")


def _postable(session: Session, principal: Principal, community_ids: Sequence[int]) -> set[int]:
    """Those of `community_ids` that exist and `principal` may post to."""
    return set(
        session.scalars(
            select(Community.id).where(
                Community.id.in_(community_ids),
                Community.id.in_(announce_communities(principal)),
            )
        )
    )


def post(session: Session, principal: Principal, data: AnnouncementCreate) -> Announcement:
    """The announcement, shown in its communities from `starts_at`, and told to
    their residents now. A community the caller may not post to (or that does
    not exist: the same answer) is 422 naming it, and nothing is written."""
    _may_post(principal)
    now = utcnow()
    if data.ends_at <= now:
        raise Unprocessable.on("ends_at", "announcement.already_over")
    allowed = _postable(session, principal, data.community_ids)
    outside = [
        Invalid(f"community_ids.{i}", "announcement.community_not_yours", id=community_id)
        for i, community_id in enumerate(data.community_ids)
        if community_id not in allowed
    ]
    if outside:
        raise Unprocessable("announcement.communities_outside", errors=outside)
    announcement = Announcement(
        kind=data.kind,
        title=data.title,
        body=data.body,
        starts_at=data.starts_at,
        ends_at=data.ends_at,
        organization_id=principal.organization_id if principal.role != Role.admin else None,
        created_by_id=principal.user_id,
        created_at=now,
    )
    session.add(announcement)
    session.flush()
    session.execute(
        insert(AnnouncementCommunity),
        [
            {
                "announcement_id": announcement.id,
                "community_id": community_id,
                "shown_from": data.starts_at,
                "shown_until": data.ends_at,
            }
            for community_id in data.community_ids
        ],
    )
    for listener in _LISTENERS:
        listener(session, announcement, list(data.community_ids), "posted")
    return announcement


def visible_announcement(
    session: Session, principal: Principal, announcement_id: int
) -> Announcement:
    announcement = session.scalar(
        select(Announcement).where(
            Announcement.id == announcement_id, visible(principal, Announcement)
        )
    )
    if announcement is None:
        raise NotFound("announcement.not_found", id=announcement_id)
    return announcement


def withdraw(session: Session, principal: Principal, announcement: Announcement) -> Announcement:
    """Take it back (idempotent): residents see it no more, from now. For the
    dispatchers of the organisation that posted it, and for the admins whose
    region holds every one of its communities (who posted it, or above them);
    others who see it: 403."""
    community_ids = list(
        session.scalars(
            select(AnnouncementCommunity.community_id).where(
                AnnouncementCommunity.announcement_id == announcement.id
            )
        )
    )
    if principal.role == Role.admin:
        allowed = _postable(session, principal, community_ids) == set(community_ids)
    else:
        allowed = (
            principal.is_dispatcher
            and announcement.organization_id is not None
            and announcement.organization_id == principal.organization_id
        )
    if not allowed:
        raise Forbidden("announcement.not_yours")
    if announcement.withdrawn_at is not None:
        return announcement
    now = utcnow()
    announcement.withdrawn_at = now
    announcement.withdrawn_by_id = principal.user_id
    session.execute(
        update(AnnouncementCommunity)
        .where(
            AnnouncementCommunity.announcement_id == announcement.id,
            AnnouncementCommunity.shown_until > now,
        )
        .values(shown_until=now)
    )
    session.flush()
    for listener in _LISTENERS:
        listener(session, announcement, community_ids, "withdrawn")
    return announcement


def page(
    session: Session,
    principal: Principal,
    *,
    community_ids: Sequence[int] | None,
    kinds: Sequence[AnnouncementKind] | None,
    current: bool | None,
    before: int | None,
    limit: int,
) -> tuple[list[Announcement], int | None]:
    """The caller's visible announcements, newest first (keyset on id). `current`:
    only those shown now (true), or only those that are not (false)."""
    query = select(Announcement).where(visible(principal, Announcement))
    if community_ids:
        query = query.where(
            Announcement.id.in_(
                select(AnnouncementCommunity.announcement_id).where(
                    AnnouncementCommunity.community_id.in_(community_ids)
                )
            )
        )
    if kinds:
        query = query.where(Announcement.kind.in_(kinds))
    if current is not None:
        now = utcnow()
        shown = (
            (Announcement.starts_at <= now)
            & (Announcement.ends_at > now)
            & Announcement.withdrawn_at.is_(None)
        )
        query = query.where(shown if current else ~shown)
    if before is not None:
        query = query.where(Announcement.id < before)
    rows = list(session.scalars(query.order_by(Announcement.id.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1].id if more else None)


def reads(
    session: Session, principal: Principal, announcements: Sequence[Announcement]
) -> list[AnnouncementRead]:
    """AnnouncementRead of each, with the communities of it the caller may see and
    the name of the company that posted it: two queries for the whole page."""
    ids = [a.id for a in announcements]
    communities: dict[int, list[int]] = {}
    names: dict[int, str] = {}
    if ids:
        rows = session.execute(
            select(AnnouncementCommunity.announcement_id, AnnouncementCommunity.community_id)
            .where(
                AnnouncementCommunity.announcement_id.in_(ids),
                AnnouncementCommunity.community_id.in_(
                    select(Community.id).where(visible(principal, Community))
                ),
            )
            .order_by(AnnouncementCommunity.announcement_id, AnnouncementCommunity.community_id)
        )
        for announcement_id, community_id in rows:
            communities.setdefault(announcement_id, []).append(community_id)
        organization_ids = {a.organization_id for a in announcements if a.organization_id}
        if organization_ids:
            names = {
                organization_id: name
                for organization_id, name in session.execute(
                    select(Organization.id, Organization.name).where(
                        Organization.id.in_(organization_ids)
                    )
                )
            }
    now = utcnow()
    return [_read(a, communities.get(a.id, []), names, now) for a in announcements]


def _read(
    a: Announcement, community_ids: list[int], names: dict[int, str], now: dt.datetime
) -> AnnouncementRead:
    values: dict[str, Any] = {
        "id": a.id,
        "kind": a.kind,
        "title": a.title,
        "body": a.body,
        "starts_at": a.starts_at,
        "ends_at": a.ends_at,
        "community_ids": community_ids,
        "organization_id": a.organization_id,
        "organization_name": names.get(a.organization_id) if a.organization_id else None,
        "current": a.withdrawn_at is None and a.starts_at <= now < a.ends_at,
        "created_at": a.created_at,
        "withdrawn_at": a.withdrawn_at,
    }
    return AnnouncementRead.model_validate(values)
