"""HTTP routes of a person's inbox and notification preferences (/v1/me/...)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Path, Query
from fastapi.responses import Response

from service.auth import CurrentPrincipal
from service.config import SettingsDep
from service.db import CommitInRoute, SessionDep, WriteSessionDep
from service.errors import NotFound, responses
from service.i18n.http import AnswerLanguage
from service.notifications import inbox
from service.notifications.schemas import (
    NotificationPage,
    NotificationRead,
    PreferencesRead,
    PreferencesWrite,
)
from service.pagination import decode_cursor, encode_cursor
from service.tickets.schemas import EmptyBody
from service.tickets.serialize import json_response

router = APIRouter(prefix="/v1/me", tags=["notifications"], route_class=CommitInRoute)
NotificationId = Annotated[int, Path(gt=0, lt=2**63)]
CURSOR_KIND = "n"


@router.get("/notifications", response_model=NotificationPage, responses=responses())
def list_notifications(
    principal: CurrentPrincipal,
    session: SessionDep,
    language: AnswerLanguage,
    unread: Annotated[bool, Query(description="Only those not yet read")] = False,
    cursor: Annotated[str | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> Response:
    """The caller's inbox, newest first, in the caller's language (Accept-Language):
    what happened to their tickets; `unread_count` for a badge."""
    before = decode_cursor(CURSOR_KIND, cursor) if cursor else None
    items, last, unread_count = inbox.page(
        session, principal, language=language, unread=unread, before=before, limit=limit
    )
    # Made here, not validated again by FastAPI: a resident's app polls this
    # (its shape is NotificationPage's, which tests/notifications checks).
    page = {
        "items": items,
        "next_cursor": encode_cursor(CURSOR_KIND, last) if last is not None else None,
        "unread_count": unread_count,
    }
    return json_response(page, headers={"Content-Language": language, "Vary": "Accept-Language"})


@router.post(
    "/notifications/{notification_id}/read",
    response_model=NotificationRead,
    responses=responses(NotFound),
)
def mark_notification_read(
    notification_id: NotificationId,
    principal: CurrentPrincipal,
    session: WriteSessionDep,
    language: AnswerLanguage,
    _body: Annotated[EmptyBody | None, Body()] = None,
) -> NotificationRead:
    """Mark one of the caller's notifications read (again: no change)."""
    return inbox.mark_read(session, principal, notification_id, language=language)


@router.get(
    "/notification-preferences",
    response_model=PreferencesRead,
    responses=responses(validation=False),
)
def get_notification_preferences(
    principal: CurrentPrincipal, session: SessionDep, settings: SettingsDep
) -> PreferencesRead:
    """What the caller wants sent beyond the inbox, and which channels exist here."""
    return inbox.preferences(session, principal, settings)


@router.put("/notification-preferences", response_model=PreferencesRead, responses=responses())
def set_notification_preferences(
    data: PreferencesWrite,
    principal: CurrentPrincipal,
    session: WriteSessionDep,
    settings: SettingsDep,
) -> PreferencesRead:
    """Replace the caller's preferences (fields left out take their defaults)."""
    return inbox.set_preferences(session, principal, data, settings)
