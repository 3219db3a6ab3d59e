"""Webhook subscriptions and their deliveries (the outbox and the delivery log).

A row of `webhook_delivery` is written in the same transaction as the event it
carries, by the `ticket_event_published` trigger of the feed migration: one row
per active subscription of the event's organisation whose `event_types` match.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Boolean, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from service.db import Base, BigId, UTCDateTime, utcnow
from service.outbox.models import AttemptColumns, DeliveryStatus, OutboxColumns

__all__ = ["DeliveryStatus", "WebhookAttempt", "WebhookDelivery", "WebhookSubscription"]


class WebhookSubscription(Base):
    __tablename__ = "webhook_subscription"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id"), index=True)
    url: Mapped[str] = mapped_column(String(2000))
    # Needed in clear to sign each delivery (HMAC), so it is shown once and never listed.
    secret: Mapped[str] = mapped_column(String(128))
    # Event types to deliver ("ticket.created", ...); empty: all of them.
    event_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    description: Mapped[str | None] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Deleting keeps the row and its delivery log; the trigger skips inactive ones.
    deleted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class WebhookDelivery(OutboxColumns, Base):
    __tablename__ = "webhook_delivery"
    __table_args__ = (
        # With the partition key (migration c8bc1cf13f38): a delivery is written
        # with its event's instant, so this is one delivery per subscription and event.
        UniqueConstraint("subscription_id", "event_id", "created_at"),
        # The deliverer claims due rows: pending, oldest next attempt first.
        Index("ix_webhook_delivery_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("webhook_subscription.id"))
    # No foreign key: ticket_event is partitioned on PostgreSQL, and a key into
    # it would need the event's instant too (service/partitions).
    event_id: Mapped[int] = mapped_column(BigId)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id"))


class WebhookAttempt(AttemptColumns, Base):
    """One HTTP attempt of a delivery: the delivery log."""

    __tablename__ = "webhook_attempt"
    __table_args__ = (Index("ix_webhook_attempt_delivery_id_id", "delivery_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # No foreign key: webhook_delivery is partitioned (service/partitions).
    delivery_id: Mapped[int] = mapped_column(BigId)
