"""HTTP routes of /v1/webhooks (a provider organisation's dispatchers and API keys)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Path, Query, Response

from service.auth import CurrentPrincipal
from service.config import SettingsDep
from service.db import CommitInRoute, SessionDep, WriteSessionDep
from service.errors import Conflict, Forbidden, NotFound, responses
from service.tickets.schemas import EmptyBody
from service.webhooks import service
from service.webhooks.models import DeliveryStatus
from service.webhooks.schemas import (
    AttemptRead,
    DeliveryDetail,
    DeliveryPage,
    DeliveryRead,
    WebhookCreate,
    WebhookCreated,
    WebhookPage,
    WebhookRead,
)
from service.webhooks.targets import AllowList

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"], route_class=CommitInRoute)
WebhookId = Annotated[int, Path(gt=0, lt=2**31)]
DeliveryId = Annotated[int, Path(gt=0, lt=2**63)]


@router.post(
    "", status_code=201, response_model=WebhookCreated, responses=responses(Forbidden, Conflict)
)
def create_webhook(
    data: WebhookCreate,
    principal: CurrentPrincipal,
    session: WriteSessionDep,
    settings: SettingsDep,
) -> WebhookCreated:
    """Register a URL for the organisation's events. The secret is shown only here.
    An organisation has at most LINLI_WEBHOOKS_PER_ORGANIZATION (10): 409 beyond."""
    subscription = service.create(
        session,
        principal,
        data,
        AllowList.parse(settings.webhook_allow_targets),
        settings.webhooks_per_organization,
    )
    return WebhookCreated.model_validate(subscription, from_attributes=True)


@router.get("", response_model=WebhookPage, responses=responses(Forbidden, validation=False))
def list_webhooks(principal: CurrentPrincipal, session: SessionDep) -> WebhookPage:
    return WebhookPage(
        items=[WebhookRead.model_validate(s) for s in service.listed(session, principal)]
    )


@router.get("/{webhook_id}", response_model=WebhookRead, responses=responses(Forbidden, NotFound))
def get_webhook(
    webhook_id: WebhookId, principal: CurrentPrincipal, session: SessionDep
) -> WebhookRead:
    return WebhookRead.model_validate(service.get(session, principal, webhook_id))


@router.delete("/{webhook_id}", status_code=204, responses=responses(Forbidden, NotFound))
def delete_webhook(
    webhook_id: WebhookId, principal: CurrentPrincipal, session: WriteSessionDep
) -> Response:
    service.delete(session, principal, webhook_id)
    return Response(status_code=204)


@router.get(
    "/{webhook_id}/deliveries",
    response_model=DeliveryPage,
    responses=responses(Forbidden, NotFound),
)
def list_deliveries(
    webhook_id: WebhookId,
    principal: CurrentPrincipal,
    session: SessionDep,
    status: DeliveryStatus | None = None,
    cursor: Annotated[int | None, Query(gt=0, lt=2**63, description="next_cursor")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> DeliveryPage:
    """The delivery log, newest first (`status=dead`: the dead letters)."""
    rows, next_cursor = service.deliveries(
        session, principal, webhook_id, status=status, before=cursor, limit=limit
    )
    return DeliveryPage(
        items=[DeliveryRead.model_validate(r) for r in rows],
        next_cursor=str(next_cursor) if next_cursor else None,
    )


@router.get(
    "/{webhook_id}/deliveries/{delivery_id}",
    response_model=DeliveryDetail,
    responses=responses(Forbidden, NotFound),
)
def get_delivery(
    webhook_id: WebhookId,
    delivery_id: DeliveryId,
    principal: CurrentPrincipal,
    session: SessionDep,
) -> DeliveryDetail:
    row, log = service.delivery(session, principal, webhook_id, delivery_id)
    return DeliveryDetail(
        **DeliveryRead.model_validate(row).model_dump(),
        log=[AttemptRead.model_validate(a) for a in log],
    )


@router.post(
    "/{webhook_id}/deliveries/{delivery_id}/redeliver",
    status_code=202,
    response_model=DeliveryRead,
    responses=responses(Forbidden, NotFound, Conflict),
)
def redeliver(
    webhook_id: WebhookId,
    delivery_id: DeliveryId,
    principal: CurrentPrincipal,
    session: WriteSessionDep,
    _body: Annotated[EmptyBody | None, Body()] = None,
) -> DeliveryRead:
    """Queue a delivered or dead-lettered delivery again (409 while it is still queued)."""
    return DeliveryRead.model_validate(
        service.redeliver(session, principal, webhook_id, delivery_id)
    )
