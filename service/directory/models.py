"""Regions, communities, organisations and who serves which community."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, ForeignKey, Index, Integer, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from service.db import Base, UTCDateTime, utcnow
from service.enums import OrganizationKind, RegionLevel, ServiceKind, str_enum


class Region(Base):
    __tablename__ = "region"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    level: Mapped[RegionLevel] = mapped_column(str_enum(RegionLevel, 16))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("region.id"), index=True)
    # Materialised path "/1/7/42/": a subtree is a prefix match, usable by an index.
    path: Mapped[str] = mapped_column(String(255), unique=True)
    # The local time of the region's SLA calendars (e.g. Asia/Urumqi), inherited
    # down the tree; NULL: the parent's, and at the top LINLI_TIMEZONE.
    timezone: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


def _path_index(table: str) -> Index:
    # PostgreSQL uses a b-tree for `LIKE 'prefix%'` only with the pattern operators.
    return Index(
        f"ix_{table}_region_path", "region_path", postgresql_ops={"region_path": "text_pattern_ops"}
    )


class Community(Base):
    __tablename__ = "community"
    __table_args__ = (_path_index("community"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    region_id: Mapped[int] = mapped_column(ForeignKey("region.id"), index=True)
    region_path: Mapped[str] = mapped_column(String(255))
    address: Mapped[str | None] = mapped_column(String(300))
    households: Mapped[int] = mapped_column(Integer, default=0)
    residents: Mapped[int] = mapped_column(Integer, default=0)
    renovation_year: Mapped[int | None] = mapped_column(Integer)
    renovation_batch: Mapped[str | None] = mapped_column(String(50))
    latitude: Mapped[float | None] = mapped_column(Numeric(9, 6, asdecimal=False))
    longitude: Mapped[float | None] = mapped_column(Numeric(9, 6, asdecimal=False))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class Organization(Base):
    __tablename__ = "organization"
    __table_args__ = (_path_index("organization"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[OrganizationKind] = mapped_column(str_enum(OrganizationKind, 32))
    credit_code: Mapped[str] = mapped_column(String(18), unique=True)
    contact_phone: Mapped[str | None] = mapped_column(String(20))
    # The region whose housing department registered it; admins above it manage it.
    region_id: Mapped[int] = mapped_column(ForeignKey("region.id"), index=True)
    region_path: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class ProviderAssignment(Base):
    """Which organisation serves a community for a kind of work, and since when.

    Rows are never overwritten: a change closes the current row (`until_on`) and
    opens a new one, so metrics can credit the organisation that served then.
    """

    __tablename__ = "provider_assignment"
    # `current` is TRUE on the serving row and NULL on history; NULLs never
    # collide in a unique constraint, so this allows one current row per kind
    # on both databases without a partial index.
    __table_args__ = (UniqueConstraint("community_id", "kind", "current"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id"))
    kind: Mapped[ServiceKind] = mapped_column(str_enum(ServiceKind, 16))
    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id"), index=True)
    since_on: Mapped[dt.date] = mapped_column(Date)
    until_on: Mapped[dt.date | None] = mapped_column(Date)
    current: Mapped[bool | None] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
