"""The columns every outbox keeps: a delivery's state and lease, and one row
per attempt (the delivery log). Each queue has its own tables with these
columns (and its own foreign keys), so that its rows, indexes and retention are
its own."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import Boolean, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from service.db import UTCDateTime, utcnow
from service.enums import str_enum


class DeliveryStatus(StrEnum):
    pending = "pending"  # waiting for its next attempt (or being attempted under a lease)
    delivered = "delivered"  # the receiver took it
    dead = "dead"  # out of attempts, or refused for good: the dead letter


class OutboxColumns:
    """Mixed into a queue's delivery table (which adds `id` and its references)."""

    status: Mapped[DeliveryStatus] = mapped_column(str_enum(DeliveryStatus, 16))
    # Attempts started so far; the claim increments it, so it also fences a late
    # outcome of an attempt whose lease expired and was claimed again.
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    # While an attempt runs: nobody else claims the row until then.
    lease_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(500))
    delivered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class AttemptColumns:
    """Mixed into a queue's attempt table (which adds `id` and `delivery_id`)."""

    attempt: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    duration_ms: Mapped[int] = mapped_column(Integer)
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(500))
    delivered: Mapped[bool] = mapped_column(Boolean)
