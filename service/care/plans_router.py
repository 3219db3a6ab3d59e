"""HTTP routes of the care plans (服务计划). Their visits are tickets
(`GET /v1/tickets`, `care_plan_id` and `scheduled_for` on each)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from service.auth import CurrentPrincipal
from service.care import plans
from service.care.plan_schemas import (
    CarePlanCreate,
    CarePlanPage,
    CarePlanRead,
    CarePlanUpdate,
    Id,
)
from service.config import SettingsDep
from service.db import CommitInRoute, SessionDep, WriteSessionDep
from service.errors import Forbidden, NotFound, responses
from service.pagination import decode_cursor, encode_cursor
from service.validation import MULTI_VALUED, Several

router = APIRouter(prefix="/v1/care-plans", tags=["elderly care"], route_class=CommitInRoute)

PlanId = Annotated[int, Path(gt=0, lt=2**31)]


@router.post("", status_code=201, response_model=CarePlanRead, responses=responses(Forbidden))
def create_care_plan(
    data: CarePlanCreate,
    principal: CurrentPrincipal,
    session: WriteSessionDep,
    settings: SettingsDep,
    response: Response,
) -> CarePlanRead:
    """Plan a recurring service for an elder (admins in scope, the community's grid
    workers, its care provider's dispatchers). The horizon job makes each
    occurrence a visit ticket `LINLI_CARE_HORIZON_HOURS` ahead, once."""
    plan = plans.create_plan(session, principal, data, settings.timezone)
    response.headers["Location"] = f"/v1/care-plans/{plan.id}"
    return plans.read(session, [plan])[0]


@router.get("", response_model=CarePlanPage, responses=responses())
def list_care_plans(
    principal: CurrentPrincipal,
    session: SessionDep,
    elder_id: Annotated[Several[Id] | None, Query(description=MULTI_VALUED)] = None,
    community_id: Annotated[Several[Id] | None, Query(description=MULTI_VALUED)] = None,
    active: bool | None = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> CarePlanPage:
    """The plans of the elders the caller sees, by id."""
    after = decode_cursor("cp", cursor) if cursor else None
    rows, last = plans.list_plans(
        session,
        principal,
        elder_ids=elder_id,
        community_ids=community_id,
        active=active,
        after=after,
        limit=limit,
    )
    return CarePlanPage(
        items=plans.read(session, rows),
        next_cursor=None if last is None else encode_cursor("cp", last),
    )


@router.get("/{plan_id}", response_model=CarePlanRead, responses=responses(NotFound))
def get_care_plan(
    plan_id: PlanId, principal: CurrentPrincipal, session: SessionDep
) -> CarePlanRead:
    return plans.read(session, [plans.visible_plan(session, principal, plan_id)])[0]


@router.patch("/{plan_id}", response_model=CarePlanRead, responses=responses(Forbidden, NotFound))
def update_care_plan(
    plan_id: PlanId,
    data: CarePlanUpdate,
    principal: CurrentPrincipal,
    session: WriteSessionDep,
    settings: SettingsDep,
) -> CarePlanRead:
    plans.require_edit(principal)
    plan = plans.visible_plan(session, principal, plan_id, lock=True)
    plan = plans.update_plan(session, principal, plan, data, settings.timezone)
    return plans.read(session, [plan])[0]
