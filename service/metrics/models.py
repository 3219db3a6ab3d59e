"""The three-year action's configuration: its start, targets and ranking rules."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Date, Float, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from service.db import Base, UTCDateTime, utcnow


class QualityAction(Base):
    """One row (id 1): the deployment's three-year action. Absent: the defaults."""

    __tablename__ = "quality_action"

    id: Mapped[int] = mapped_column(primary_key=True)
    start_on: Mapped[dt.date] = mapped_column(Date)
    years: Mapped[int] = mapped_column(Integer, default=3)
    # Ranking: indicator -> weight of the composite score.
    weights: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    red_list_min_score: Mapped[float] = mapped_column(Float)
    black_list_max_score: Mapped[float] = mapped_column(Float)
    min_tickets: Mapped[int] = mapped_column(Integer)
    complaints_ceiling: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))


class QualityTarget(Base):
    """The target of one indicator in one year of the action (1, 2, 3...)."""

    __tablename__ = "quality_target"
    __table_args__ = (UniqueConstraint("indicator", "year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    indicator: Mapped[str] = mapped_column(String(64))
    year: Mapped[int] = mapped_column(Integer)
    target: Mapped[float] = mapped_column(Float)
