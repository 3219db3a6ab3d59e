"""Integrations: outside systems (a city's 12345 hotline, a street office's app)
an admin registers for a region, filing through Open311 with an `lk_` key.
Only the key's hash is stored, as for organisations' keys (service.apikeys)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from service.db import Base, UTCDateTime, utcnow


class Integration(Base):
    __tablename__ = "integration"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    # The jurisdiction it files into: this region and the regions under it.
    region_id: Mapped[int] = mapped_column(ForeignKey("region.id"), index=True)
    region_path: Mapped[str] = mapped_column(String(255))
    # The first characters after `lk_`, shown so that people can tell keys apart.
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The machine user its tickets are filed by (an admin of the region).
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
