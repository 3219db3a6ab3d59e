"""SLA policies, business calendars with per-date overrides, and escalations."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from service.db import Base, BigId, UTCDateTime, utcnow
from service.enums import Priority, TicketKind, str_enum


class Calendar(Base):
    __tablename__ = "calendar"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    # NULL: the deployment's LINLI_TIMEZONE.
    timezone: Mapped[str | None] = mapped_column(String(64))
    # {"mon": [["09:00", "18:00"]], ..., "sun": []}
    hours: Mapped[dict[str, Any]] = mapped_column(JSON)
    official_holidays: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class CalendarDay(Base):
    """An admin's word on one date: a day off, or a working day with its hours."""

    __tablename__ = "calendar_day"
    __table_args__ = (UniqueConstraint("calendar_id", "observed_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    calendar_id: Mapped[int] = mapped_column(ForeignKey("calendar.id", ondelete="CASCADE"))
    observed_on: Mapped[dt.date] = mapped_column(Date)
    working: Mapped[bool] = mapped_column(Boolean)
    # NULL on a working day: the hours of a Monday.
    hours: Mapped[list[list[str]] | None] = mapped_column(JSON)
    note: Mapped[str | None] = mapped_column(String(200))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class SlaPolicy(Base):
    """Targets for the tickets it matches (see `service.sla.policy.best_policy`)."""

    __tablename__ = "sla_policy"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    # NULL matches any. Category matches itself and everything below it in the tree.
    kind: Mapped[TicketKind | None] = mapped_column(str_enum(TicketKind, 16))
    category: Mapped[str | None] = mapped_column(String(64))
    priority: Mapped[Priority | None] = mapped_column(str_enum(Priority, 16))
    # Working minutes in the policy's calendar; NULL: no target for that clock.
    respond_minutes: Mapped[int | None] = mapped_column(Integer)
    resolve_minutes: Mapped[int | None] = mapped_column(Integer)
    # Elderly care booked for a time: resolve by the end of the resident's window.
    use_preferred_window: Mapped[bool] = mapped_column(Boolean, default=False)
    calendar_id: Mapped[int] = mapped_column(ForeignKey("calendar.id"))
    # Hold reasons during which the resolution clock stands still.
    pause_on: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Level 2 (the region's admins) this many working minutes after the deadline.
    escalate_after_minutes: Mapped[int] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class SlaConfigVersion(Base):
    """One row, given a new random stamp by every change to policies and
    calendars: each process keeps the configuration in memory per stamp."""

    __tablename__ = "sla_config_version"

    id: Mapped[int] = mapped_column(primary_key=True)
    stamp: Mapped[str] = mapped_column(String(32))


class SlaEscalation(Base):
    """A clock that ran out, escalated to one level — once, whatever runs the sweep."""

    __tablename__ = "sla_escalation"
    __table_args__ = (UniqueConstraint("ticket_id", "clock", "cycle", "level"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id"))
    clock: Mapped[str] = mapped_column(String(16))  # response | resolution
    # The resolution clock restarts when a ticket is reopened: one cycle per opening.
    cycle: Mapped[int] = mapped_column(Integer)
    level: Mapped[int] = mapped_column(Integer)  # 1: the organisation's dispatchers, 2: admins
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organization.id"), index=True)
    region_path: Mapped[str] = mapped_column(String(255))
    due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    escalated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
