"""Managing an organisation's webhook subscriptions and reading their delivery log.

Subscriptions belong to a provider organisation and are managed by its
dispatchers (people or API keys); anything of another organisation answers 404.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import CursorResult, func, select, update
from sqlalchemy.orm import Session

from service.auth import Principal
from service.db import utcnow
from service.directory.models import Organization
from service.errors import Conflict, Forbidden, Invalid, NotFound, Unprocessable
from service.feed.notify import announce
from service.webhooks import signing
from service.webhooks.models import (
    DeliveryStatus,
    WebhookAttempt,
    WebhookDelivery,
    WebhookSubscription,
)
from service.webhooks.schemas import WebhookCreate
from service.webhooks.targets import AllowList, TargetRefused, check_registration


def require_dispatcher(principal: Principal) -> int:
    if not principal.is_dispatcher or principal.organization_id is None:
        raise Forbidden("webhook.forbidden")
    return principal.organization_id


def create(
    session: Session, principal: Principal, data: WebhookCreate, allow: AllowList, most: int
) -> WebhookSubscription:
    """Register a subscription; an organisation has at most `most` (each one is
    deliveries to make for every event: a bound on what one tenant can queue)."""
    organization_id = require_dispatcher(principal)
    try:
        check_registration(data.url, allow)
    except TargetRefused as exc:
        raise Unprocessable(
            "webhook.url_refused", errors=[Invalid("url", exc.code, **exc.params)]
        ) from exc
    # Registrations of one organisation queue on its row (PostgreSQL; SQLite's
    # writers take turns anyway): two at once cannot both take the last place.
    session.execute(
        select(Organization.id).where(Organization.id == organization_id).with_for_update()
    )
    registered = session.scalar(
        select(func.count())
        .select_from(WebhookSubscription)
        .where(
            WebhookSubscription.organization_id == organization_id,
            WebhookSubscription.deleted_at.is_(None),
        )
    )
    if (registered or 0) >= most:
        raise Conflict("webhook.too_many", count=registered)
    subscription = WebhookSubscription(
        organization_id=organization_id,
        url=data.url,
        secret=data.secret or signing.new_secret(),
        event_types=sorted(set(data.event_types)),
        description=data.description,
        active=True,
        created_by_id=principal.user_id,
        created_at=utcnow(),
    )
    session.add(subscription)
    session.flush()
    return subscription


def listed(session: Session, principal: Principal) -> Sequence[WebhookSubscription]:
    organization_id = require_dispatcher(principal)
    return session.scalars(
        select(WebhookSubscription)
        .where(
            WebhookSubscription.organization_id == organization_id,
            WebhookSubscription.deleted_at.is_(None),
        )
        .order_by(WebhookSubscription.id)
    ).all()


def get(session: Session, principal: Principal, webhook_id: int) -> WebhookSubscription:
    organization_id = require_dispatcher(principal)
    subscription = session.scalar(
        select(WebhookSubscription).where(
            WebhookSubscription.id == webhook_id,
            WebhookSubscription.organization_id == organization_id,
            WebhookSubscription.deleted_at.is_(None),
        )
    )
    if subscription is None:
        raise NotFound("webhook.not_found", id=webhook_id)
    return subscription


def delete(session: Session, principal: Principal, webhook_id: int) -> None:
    """Stops new deliveries at once (the trigger skips inactive subscriptions);
    the delivery log stays."""
    subscription = get(session, principal, webhook_id)
    subscription.active = False
    subscription.deleted_at = utcnow()
    session.flush()


def deliveries(
    session: Session,
    principal: Principal,
    webhook_id: int,
    *,
    status: DeliveryStatus | None,
    before: int | None,
    limit: int,
) -> tuple[Sequence[WebhookDelivery], int | None]:
    """Newest first, keyset on id."""
    subscription = get(session, principal, webhook_id)
    query = select(WebhookDelivery).where(WebhookDelivery.subscription_id == subscription.id)
    if status is not None:
        query = query.where(WebhookDelivery.status == status)
    if before is not None:
        query = query.where(WebhookDelivery.id < before)
    rows = session.scalars(query.order_by(WebhookDelivery.id.desc()).limit(limit + 1)).all()
    return rows[:limit], (rows[limit - 1].id if len(rows) > limit else None)


def delivery(
    session: Session, principal: Principal, webhook_id: int, delivery_id: int
) -> tuple[WebhookDelivery, Sequence[WebhookAttempt]]:
    subscription = get(session, principal, webhook_id)
    row = session.scalar(
        select(WebhookDelivery).where(
            WebhookDelivery.id == delivery_id, WebhookDelivery.subscription_id == subscription.id
        )
    )
    if row is None:
        raise NotFound("delivery.not_found", id=delivery_id)
    log = session.scalars(
        select(WebhookAttempt)
        .where(WebhookAttempt.delivery_id == row.id)
        .order_by(WebhookAttempt.id)
    ).all()
    return row, log


def redeliver(
    session: Session, principal: Principal, webhook_id: int, delivery_id: int
) -> WebhookDelivery:
    """Queue a delivered or dead-lettered delivery again, with a fresh set of attempts."""
    row, _log = delivery(session, principal, webhook_id, delivery_id)
    if row.status == DeliveryStatus.pending:
        raise Conflict("delivery.still_queued")
    # Conditional on the status: a concurrent redelivery cannot queue it twice.
    changed = cast(
        CursorResult[Any],
        session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id == row.id, WebhookDelivery.status == row.status)
            .values(
                status=DeliveryStatus.pending,
                attempts=0,
                next_attempt_at=utcnow(),
                lease_until=None,
                delivered_at=None,
            )
            .execution_options(synchronize_session="fetch")
        ),
    ).rowcount
    if not changed:
        raise Conflict("delivery.race")
    announce(session, row.organization_id)  # the deliverer starts on it at commit
    session.refresh(row)
    return row
