"""Elders (care recipients, 服务对象), their family proxies, who read what of them,
and their care plans."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Date, ForeignKey, Index, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from service.db import Base, BigId, UTCDateTime, utcnow
from service.enums import ConsentBy, Gender, Role, str_enum

# The columns that hold sensitive personal information (PIPL art. 28: health,
# whereabouts; and phones). Stored only with consent: the database refuses a row
# that holds any of them without a consent time (ck_elder_sensitive_needs_consent).
SENSITIVE_COLUMNS = ("phone", "building", "unit", "room", "emergency_contacts", "health_notes")
_NEEDS_CONSENT = (
    "consent_given_at IS NOT NULL OR ("
    + " AND ".join(f"{column} IS NULL" for column in SENSITIVE_COLUMNS)
    + ")"
)


class Elder(Base):
    """An elder a community cares for. Erasure (DELETE) empties every personal
    column and keeps the row, anonymous, for the service history and metrics."""

    __tablename__ = "elder"
    __table_args__ = (
        CheckConstraint("care_level BETWEEN 0 AND 4", name="care_level"),
        CheckConstraint(_NEEDS_CONSENT, name="sensitive_needs_consent"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id"), index=True)
    # NULL once erased.
    name: Mapped[str | None] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(20))
    # Erasure keeps the decade only (1948 -> 1940).
    birth_year: Mapped[int | None] = mapped_column(SmallInteger)
    gender: Mapped[Gender | None] = mapped_column(str_enum(Gender, 16))
    lives_alone: Mapped[bool] = mapped_column(default=False)
    # GB/T 42195-2022: 0 能力完好, 1 轻度失能, 2 中度失能, 3 重度失能, 4 完全失能.
    care_level: Mapped[int | None] = mapped_column(SmallInteger)
    building: Mapped[str | None] = mapped_column(String(50))
    unit: Mapped[str | None] = mapped_column(String(50))
    room: Mapped[str | None] = mapped_column(String(50))
    # [{name, relation, phone}]; SQL NULL (not JSON null: the check above) when none.
    emergency_contacts: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON(none_as_null=True))
    health_notes: Mapped[str | None] = mapped_column(Text)
    consent_given_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    consent_by: Mapped[ConsentBy | None] = mapped_column(str_enum(ConsentBy, 16))
    consent_note: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    erased_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    erased_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))


class ElderProxy(Base):
    """A resident (a family member the grid worker registered) who may act for an elder."""

    __tablename__ = "elder_proxy"

    elder_id: Mapped[int] = mapped_column(ForeignKey("elder.id"), primary_key=True)
    # Indexed: a resident's scope is "the elders I am a proxy of".
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id"), primary_key=True, index=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))


class ElderAccess(Base):
    """One answer that showed an elder's sensitive fields in clear: who, as what,
    when, which fields, through which route. Append-only; kept after erasure
    (it holds no personal data of the elder, and it is what an audit asks for)."""

    __tablename__ = "elder_access"
    __table_args__ = (Index("ix_elder_access_elder_id_id", "elder_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    elder_id: Mapped[int] = mapped_column(ForeignKey("elder.id"))
    reader_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    role: Mapped[Role] = mapped_column(str_enum(Role, 16))
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organization.id"))
    api_key_id: Mapped[int | None] = mapped_column(ForeignKey("api_key.id"))
    route: Mapped[str] = mapped_column(String(100))
    fields: Mapped[list[str]] = mapped_column(JSON)
    read_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class CarePlan(Base):
    """A recurring service for an elder (服务计划): a daily meal, weekly bathing.
    The horizon job (service/care/horizon.py) makes each occurrence a visit
    ticket ahead of time, once: the ticket's (care_plan_id, plan_occurrence) is
    unique. `next_occurs_at` is the first occurrence not yet made (NULL: paused,
    ended or erased), so the job reads an index, not every plan."""

    __tablename__ = "care_plan"
    __table_args__ = (
        CheckConstraint(
            "government_share_percent BETWEEN 0 AND 100", name="government_share_percent"
        ),
        CheckConstraint("duration_minutes > 0", name="duration_minutes"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    elder_id: Mapped[int] = mapped_column(ForeignKey("elder.id"), index=True)
    # The elder's, copied: scope and the job read plans by community.
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id"), index=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("category.id"))
    # RFC 5545 RRULE value, validated (service/care/recurrence.py), e.g. FREQ=DAILY.
    rrule: Mapped[str] = mapped_column(String(500))
    # Local time of day (HH:MM) in the community's region's time zone.
    local_time: Mapped[str] = mapped_column(String(5))
    duration_minutes: Mapped[int] = mapped_column(SmallInteger)
    starts_on: Mapped[dt.date] = mapped_column(Date)
    ends_on: Mapped[dt.date | None] = mapped_column(Date)
    skip_holidays: Mapped[bool] = mapped_column(default=False)
    government_share_percent: Mapped[int] = mapped_column(SmallInteger, default=0)
    note: Mapped[str | None] = mapped_column(String(500))
    active: Mapped[bool] = mapped_column(default=True)
    next_occurs_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
