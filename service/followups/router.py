"""GET /v1/follow-ups/due: the follow-up visits (回访) a provider or department owes."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel

from service.auth import CurrentPrincipal
from service.config import SettingsDep
from service.db import CommitInRoute, SessionDep, utcnow
from service.enums import Status
from service.errors import Forbidden, responses
from service.followups import service

router = APIRouter(prefix="/v1/follow-ups", tags=["follow-ups"], route_class=CommitInRoute)


class FollowUpDue(BaseModel):
    ticket_id: int
    number: str
    organization_id: int | None
    community_id: int
    status: Status
    resolved_at: dt.datetime
    due_at: dt.datetime
    overdue: bool


class FollowUpDuePage(BaseModel):
    items: list[FollowUpDue]
    next_cursor: str | None


@router.get("/due", response_model=FollowUpDuePage, responses=responses(Forbidden))
def list_due(
    principal: CurrentPrincipal,
    session: SessionDep,
    settings: SettingsDep,
    state: Literal["overdue", "due"] = "overdue",
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> FollowUpDuePage:
    """Resolved tickets without a follow-up visit since their resolution: `overdue`
    (more than LINLI_FOLLOW_UP_DAYS ago, up to 90 days back) or `due` (still in time).
    Providers see their own organisation's; administrators their region's."""
    items, next_cursor = service.list_due(
        session,
        principal,
        state=state,
        now=utcnow(),
        days=settings.follow_up_days,
        cursor=cursor,
        limit=limit,
    )
    return FollowUpDuePage(
        items=[FollowUpDue.model_validate(item) for item in items], next_cursor=next_cursor
    )
