"""HTTP routes of dispatch: an organisation's staff and dispatch modes, and a
technician's own on-duty flag (service/dispatch/service.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request

from service.auth import CurrentPrincipal, PrincipalCache
from service.db import CommitInRoute, SessionDep, WriteSessionDep
from service.dispatch import service
from service.dispatch.models import DispatchRule
from service.dispatch.schemas import (
    DispatchRuleRead,
    DispatchRules,
    DispatchRulesRead,
    OnDuty,
    StaffPage,
    StaffRead,
    StaffUpdate,
)
from service.errors import Forbidden, NotFound, responses

router = APIRouter(prefix="/v1", tags=["dispatch"], route_class=CommitInRoute)
OrgId = Annotated[int, Path(gt=0, lt=2**31)]
StaffId = Annotated[int, Path(gt=0, lt=2**31)]
STAFF = "/organizations/{organization_id}/staff"
MODES = "/organizations/{organization_id}/dispatch-modes"


def _rules_read(rules: list[DispatchRule]) -> DispatchRulesRead:
    return DispatchRulesRead(
        rules=[
            DispatchRuleRead(category=rule.category_prefix or None, mode=rule.mode)
            for rule in rules
        ]
    )


@router.get(STAFF, response_model=StaffPage, responses=responses(NotFound, Forbidden))
def list_staff(
    organization_id: OrgId, principal: CurrentPrincipal, session: SessionDep
) -> StaffPage:
    """The organisation's people (not its API keys), for its dispatchers and the admins over it."""
    organization = service.staff_organization(session, principal, organization_id)
    return StaffPage(
        items=[StaffRead.model_validate(u) for u in service.list_staff(session, organization.id)]
    )


@router.patch(
    STAFF + "/{staff_id}", response_model=StaffRead, responses=responses(NotFound, Forbidden)
)
def update_staff(
    organization_id: OrgId,
    staff_id: StaffId,
    data: StaffUpdate,
    request: Request,
    principal: CurrentPrincipal,
    session: WriteSessionDep,
) -> StaffRead:
    """Deactivate or reactivate a staff member (their tokens are refused at once
    here, within the principal cache's minute on other instances), or put a
    technician on or off duty."""
    organization = service.staff_organization(session, principal, organization_id)
    user = service.update_staff(session, principal, organization.id, staff_id, data)
    if not user.active:
        cache: PrincipalCache | None = getattr(request.app.state, "principals", None)
        if cache is not None:
            cache.forget_user(user.id)
    return StaffRead.model_validate(user)


@router.put("/me/on-duty", response_model=StaffRead, responses=responses(Forbidden))
def set_on_duty(data: OnDuty, principal: CurrentPrincipal, session: WriteSessionDep) -> StaffRead:
    """A technician goes on duty (round-robin tickets come to them) or off."""
    return StaffRead.model_validate(service.set_own_duty(session, principal, data.on_duty))


@router.get(MODES, response_model=DispatchRulesRead, responses=responses(NotFound, Forbidden))
def get_dispatch_modes(
    organization_id: OrgId, principal: CurrentPrincipal, session: SessionDep
) -> DispatchRulesRead:
    """The organisation's dispatch rules: a category prefix and its mode; what
    no rule covers is manual."""
    organization = service.staff_organization(session, principal, organization_id, staff_read=True)
    return _rules_read(list(service.list_rules(session, organization.id)))


@router.put(MODES, response_model=DispatchRulesRead, responses=responses(NotFound, Forbidden))
def put_dispatch_modes(
    organization_id: OrgId,
    data: DispatchRules,
    principal: CurrentPrincipal,
    session: WriteSessionDep,
) -> DispatchRulesRead:
    """Replace the organisation's dispatch rules (the most specific prefix wins)."""
    organization = service.staff_organization(session, principal, organization_id)
    return _rules_read(list(service.replace_rules(session, organization.id, data.rules)))
