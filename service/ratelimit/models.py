"""Counters of the shared rate limiter: one row per key and fixed window."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Integer, PrimaryKeyConstraint, String
from sqlalchemy.orm import Mapped, mapped_column

from service.db import Base, UTCDateTime


class RateLimitWindow(Base):
    __tablename__ = "rate_limit_window"
    # Every instance counts in the same row: the UPSERT on this key serialises them.
    __table_args__ = (PrimaryKeyConstraint("key", "window_end"),)

    # What is limited and for whom, e.g. "tickets:user:42".
    key: Mapped[str] = mapped_column(String(96))
    # When the window ends: its counts stop mattering then (ratelimit.jobs purges them).
    window_end: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)
    count: Mapped[int] = mapped_column(Integer)
