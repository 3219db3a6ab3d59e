"""The three-year action's configuration: its start, targets and ranking rules."""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from service.db import Base, BigId, UTCDateTime, utcnow
from service.enums import TicketKind, str_enum
from service.metrics.indicators import CARE_COUNTS
from service.tickets.models import Ticket


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


# --- the rollup (service/metrics/rollup.py) ---------------------------------------

# Histogram buckets of the durations, in seconds: below 60 s, then [60 s x 1.25^(i-1),
# 60 s x 1.25^i) for i = 1..55, then everything from 60 s x 1.25^55 (149 days) on.
# See histogram.EDGES.
HISTOGRAM_BUCKETS = 57
ROLLUP_COUNTS = (
    "created",
    "cancelled_or_rejected",
    "active",
    "completed",
    "response_due_or_done",
    "response_on_time",
    "resolution_due_or_done",
    "resolution_on_time",
    "rated",
    "rated_good",
    "rating_sum",
    "closed",
    "closed_followed_up",
    "ever_resolved",
    "reopened",
    "complaints",
    "complaints_handled",
)


class MetricsRollup(Base):
    """The tickets created in one local month, per (region, organisation,
    category, kind): every additive count, and histograms of the response and
    resolution times (`hresp_i`, `hres_i`: tickets in bucket i)."""

    __tablename__ = "metrics_rollup"
    __table_args__ = (Index("ix_metrics_rollup_month_region_path", "month", "region_path"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    month: Mapped[dt.date] = mapped_column(Date)
    region_path: Mapped[str] = mapped_column(String(255))
    organization_id: Mapped[int | None] = mapped_column(Integer)
    category_id: Mapped[int] = mapped_column(Integer)
    kind: Mapped[TicketKind] = mapped_column(str_enum(TicketKind, 16))


class MetricsRollupByOrganization(Base):
    """metrics_rollup without the category: what most summaries read (5x fewer rows)."""

    __tablename__ = "metrics_rollup_org"
    __table_args__ = (Index("ix_metrics_rollup_org_month_region_path", "month", "region_path"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    month: Mapped[dt.date] = mapped_column(Date)
    region_path: Mapped[str] = mapped_column(String(255))
    organization_id: Mapped[int | None] = mapped_column(Integer)
    kind: Mapped[TicketKind] = mapped_column(str_enum(TicketKind, 16))


class MetricsRollupByCategory(Base):
    """metrics_rollup without the organisation: for the summaries by category."""

    __tablename__ = "metrics_rollup_category"
    __table_args__ = (
        Index("ix_metrics_rollup_category_month_region_path", "month", "region_path"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    month: Mapped[dt.date] = mapped_column(Date)
    region_path: Mapped[str] = mapped_column(String(255))
    category_id: Mapped[int] = mapped_column(Integer)
    kind: Mapped[TicketKind] = mapped_column(str_enum(TicketKind, 16))


class MetricsRollupByOrganizationQuarter(Base):
    """metrics_rollup_org summed by local quarter (`month` is the quarter's first):
    what summaries by quarter, or by none of month and quarter, read for the
    quarters a period covers whole (half the rows to add up)."""

    __tablename__ = "metrics_rollup_org_quarter"
    __table_args__ = (
        Index("ix_metrics_rollup_org_quarter_month_region_path", "month", "region_path"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    month: Mapped[dt.date] = mapped_column(Date)
    region_path: Mapped[str] = mapped_column(String(255))
    organization_id: Mapped[int | None] = mapped_column(Integer)
    kind: Mapped[TicketKind] = mapped_column(str_enum(TicketKind, 16))
    # Of the quarter's tickets, those still open at its end and those overdue
    # then: the backlog of a summary by quarter, once the quarter has ended.
    backlog_at_end: Mapped[int] = mapped_column(Integer)
    overdue_at_end: Mapped[int] = mapped_column(Integer)


for _model in (
    MetricsRollup,
    MetricsRollupByOrganization,
    MetricsRollupByCategory,
    MetricsRollupByOrganizationQuarter,
):
    for _name in ROLLUP_COUNTS:
        cast(Table, _model.__table__).append_column(Column(_name, Integer, nullable=False))
    for _i in range(HISTOGRAM_BUCKETS):
        cast(Table, _model.__table__).append_column(Column(f"hresp_{_i}", Integer, nullable=False))
    for _i in range(HISTOGRAM_BUCKETS):
        cast(Table, _model.__table__).append_column(Column(f"hres_{_i}", Integer, nullable=False))


# The care rollup: the additive care counts (indicators.CARE_COUNTS) and the 助急
# response-time histogram, by the month of each figure's own instant.


class MetricsCare(Base):
    """Visits (by the local month they were scheduled for) and 助急 tickets (by
    that of their creation) per (region, organisation, category, kind): the care
    counts and a histogram of the 助急 response times (`hemg_i`). `slice_month` is
    the month the tickets were created in: the rollup's slice they are rolled
    with. Only visits due when rolled up are here; the rest are read live."""

    __tablename__ = "metrics_care"
    __table_args__ = (
        Index("ix_metrics_care_month_region_path", "month", "region_path"),
        Index("ix_metrics_care_slice_month_region_path", "slice_month", "region_path"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    month: Mapped[dt.date] = mapped_column(Date)
    slice_month: Mapped[dt.date] = mapped_column(Date)
    region_path: Mapped[str] = mapped_column(String(255))
    organization_id: Mapped[int | None] = mapped_column(Integer)
    category_id: Mapped[int] = mapped_column(Integer)
    kind: Mapped[TicketKind] = mapped_column(str_enum(TicketKind, 16))


for _name in CARE_COUNTS:
    cast(Table, MetricsCare.__table__).append_column(Column(_name, Integer, nullable=False))
for _i in range(HISTOGRAM_BUCKETS):
    cast(Table, MetricsCare.__table__).append_column(Column(f"hemg_{_i}", Integer, nullable=False))


class MetricsCareElder(Base):
    """Each elder served (an elderly-care ticket naming them resolved) in a local
    month, once per (region, organisation, category, kind) and creation month
    (`slice_month`): distinct elders do not add up across groups, so the summary
    counts them distinct over these rows, far fewer than the tickets."""

    __tablename__ = "metrics_care_elder"
    __table_args__ = (
        Index("ix_metrics_care_elder_month_region_path", "month", "region_path"),
        Index("ix_metrics_care_elder_slice_month_region_path", "slice_month", "region_path"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    month: Mapped[dt.date] = mapped_column(Date)
    slice_month: Mapped[dt.date] = mapped_column(Date)
    region_path: Mapped[str] = mapped_column(String(255))
    organization_id: Mapped[int | None] = mapped_column(Integer)
    category_id: Mapped[int] = mapped_column(Integer)
    kind: Mapped[TicketKind] = mapped_column(str_enum(TicketKind, 16))
    elder_id: Mapped[int] = mapped_column(Integer)


# The visits by when they are due, for the summary from the rollup: it reads the
# visits not yet due at the rollup's last run live, and they are few (the care
# plans' horizon ahead).
Index(
    "ix_ticket_scheduled_for",
    Ticket.scheduled_for,
    postgresql_where=Ticket.scheduled_for.is_not(None),
    sqlite_where=Ticket.scheduled_for.is_not(None),
)


class MetricsSpan(Base):
    """A ticket still open when rolled up (`ended` NULL), or one that ended after
    the end of the month it was created in: it is in the backlog at some month's
    end, so it keeps what backlog and overdue need (instants as seconds since 1970)."""

    __tablename__ = "metrics_span"
    __table_args__ = (Index("ix_metrics_span_month_region_path", "month", "region_path"),)

    ticket_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    month: Mapped[dt.date] = mapped_column(Date)
    region_path: Mapped[str] = mapped_column(String(255))
    organization_id: Mapped[int | None] = mapped_column(Integer)
    category_id: Mapped[int] = mapped_column(Integer)
    kind: Mapped[TicketKind] = mapped_column(str_enum(TicketKind, 16))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    ended: Mapped[float | None] = mapped_column(Float)
    respond_by: Mapped[float | None] = mapped_column(Float)
    responded: Mapped[float | None] = mapped_column(Float)
    resolve_deadline: Mapped[float | None] = mapped_column(Float)


class MetricsPending(Base):
    """A ticket not settled when its slice was last rolled up (open, or with a
    deadline still ahead): the job re-rolls its slice when it settles or passes
    a deadline."""

    __tablename__ = "metrics_pending"
    __table_args__ = (Index("ix_metrics_pending_month_region_path", "month", "region_path"),)

    ticket_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    month: Mapped[dt.date] = mapped_column(Date)
    region_path: Mapped[str] = mapped_column(String(255))


class MetricsRollupState(Base):
    """One row (id 1): how far the rollup has read, and in which time zone."""

    __tablename__ = "metrics_rollup_state"

    id: Mapped[int] = mapped_column(primary_key=True)
    timezone: Mapped[str] = mapped_column(String(64))
    refreshed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    # The last ticket_event and ticket ids read; later tickets are read live.
    event_id: Mapped[int] = mapped_column(BigInteger)
    ticket_id: Mapped[int] = mapped_column(BigInteger)
    # The grace the visits' on-time counts were rolled up with: another rebuilds.
    visit_grace_minutes: Mapped[int] = mapped_column(Integer, server_default="30")


# The rollup's tables, for Core statements.
ROLLUP = cast(Table, MetricsRollup.__table__)
BY_ORGANIZATION = cast(Table, MetricsRollupByOrganization.__table__)
BY_CATEGORY = cast(Table, MetricsRollupByCategory.__table__)
BY_ORGANIZATION_QUARTER = cast(Table, MetricsRollupByOrganizationQuarter.__table__)
SPAN = cast(Table, MetricsSpan.__table__)
PENDING = cast(Table, MetricsPending.__table__)
CARE = cast(Table, MetricsCare.__table__)
CARE_ELDER = cast(Table, MetricsCareElder.__table__)
TABLES = (ROLLUP, BY_ORGANIZATION, BY_CATEGORY, BY_ORGANIZATION_QUARTER, SPAN, PENDING)
CARE_TABLES = (CARE, CARE_ELDER)  # their slices are by `slice_month`
CARE_HISTOGRAM = [f"hemg_{i}" for i in range(HISTOGRAM_BUCKETS)]
HISTOGRAMS = [f"hresp_{i}" for i in range(HISTOGRAM_BUCKETS)] + [
    f"hres_{i}" for i in range(HISTOGRAM_BUCKETS)
]
