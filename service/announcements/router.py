"""HTTP routes of /v1/announcements (停水停电通知): admins and the communities'
property companies post them; the communities' residents see them while they
are shown, and are told in their inbox (and by WeChat or SMS, as they wish)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response
from pydantic import Field

from service.announcements import service
from service.announcements.schemas import AnnouncementCreate, AnnouncementPage, AnnouncementRead
from service.auth import CurrentPrincipal
from service.db import CommitInRoute, SessionDep, WriteSessionDep
from service.enums import AnnouncementKind
from service.errors import Forbidden, NotFound, responses
from service.pagination import decode_cursor, encode_cursor
from service.validation import MULTI_VALUED, Several

router = APIRouter(prefix="/v1/announcements", tags=["announcements"], route_class=CommitInRoute)

AnnouncementId = Annotated[int, Path(gt=0, lt=2**31)]
CommunityId = Annotated[int, Field(gt=0, lt=2**31)]
CURSOR_KIND = "an"


@router.post("", status_code=201, response_model=AnnouncementRead, responses=responses(Forbidden))
def create_announcement(
    data: AnnouncementCreate,
    principal: CurrentPrincipal,
    session: WriteSessionDep,
    response: Response,
) -> AnnouncementRead:
    """Post an announcement (admins in their region; a property company's
    dispatchers in the communities it serves; others 403). Every resident and
    grid worker of its communities finds it in their inbox at once, and is sent
    it by WeChat or SMS as their preferences say."""
    announcement = service.post(session, principal, data)
    response.headers["Location"] = f"/v1/announcements/{announcement.id}"
    return service.reads(session, principal, [announcement])[0]


@router.get("", response_model=AnnouncementPage, responses=responses())
def list_announcements(
    principal: CurrentPrincipal,
    session: SessionDep,
    community_id: Annotated[Several[CommunityId] | None, Query(description=MULTI_VALUED)] = None,
    kind: Annotated[Several[AnnouncementKind] | None, Query(description=MULTI_VALUED)] = None,
    current: Annotated[
        bool | None, Query(description="true: only those shown now; false: only the others")
    ] = None,
    cursor: Annotated[str | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> AnnouncementPage:
    """The announcements the caller sees, newest first: a resident, those of their
    community that are shown now or are still to come; staff and admins, all of
    the communities in their scope (ended and withdrawn ones too)."""
    before = decode_cursor(CURSOR_KIND, cursor) if cursor else None
    rows, last = service.page(
        session,
        principal,
        community_ids=community_id,
        kinds=kind,
        current=current,
        before=before,
        limit=limit,
    )
    return AnnouncementPage(
        items=service.reads(session, principal, rows),
        next_cursor=encode_cursor(CURSOR_KIND, last) if last is not None else None,
    )


@router.get("/{announcement_id}", response_model=AnnouncementRead, responses=responses(NotFound))
def get_announcement(
    announcement_id: AnnouncementId, principal: CurrentPrincipal, session: SessionDep
) -> AnnouncementRead:
    announcement = service.visible_announcement(session, principal, announcement_id)
    return service.reads(session, principal, [announcement])[0]


@router.delete(
    "/{announcement_id}",
    response_model=AnnouncementRead,
    responses=responses(Forbidden, NotFound),
)
def withdraw_announcement(
    announcement_id: AnnouncementId, principal: CurrentPrincipal, session: WriteSessionDep
) -> AnnouncementRead:
    """Withdraw it (again: no change): residents no longer see it, and its WeChat
    and SMS messages not yet sent are dropped. For the dispatchers of the company
    that posted it and the admins over all its communities; others 403."""
    announcement = service.visible_announcement(session, principal, announcement_id)
    announcement = service.withdraw(session, principal, announcement)
    return service.reads(session, principal, [announcement])[0]
