"""The provider change feed: an organisation's events, each exactly once, in order.

Why not a cursor on `id` or `updated_at`: ids come from a sequence when a row
is inserted, but rows become visible when their transaction commits, and
transactions commit in any order. A poller that has read up to id 120 while
the transaction holding id 118 is still open never sees 118.

PostgreSQL: every event carries the id of the transaction that wrote it
(`xid`, pg_current_xact_id()). The feed is ordered by (xid, id) and serves only
events whose xid is below `pg_snapshot_xmin(pg_current_snapshot())`, the oldest
transaction still running when the query's snapshot was taken. Every
transaction below that horizon has finished, so the set of events below it is
final: nothing can commit into the part of the order already served, and a
cursor (xid, id) never skips anything. The horizon only moves forward.

SQLite has one writer at a time (writes hold the database's write lock from
their first write to their commit), so ids are handed out in commit order;
xid is 0 there and the horizon is unbounded.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, literal, literal_column, select, text, tuple_
from sqlalchemy.orm import Session

from service.auth import Principal
from service.categories.models import Category
from service.db import utcnow
from service.enums import Role
from service.errors import AppError, Forbidden
from service.tickets import stream as cursors
from service.tickets.actors import Reader, actor_dict, with_actor
from service.tickets.models import EVENT_READ_COLUMNS, EVENT_TIME_MARGIN, Ticket, TicketEvent
from service.tickets.serialize import ticket_dict
from service.tickets.stream import FeedPosition, head_cursor, is_postgres

NO_HORIZON = 2**62  # SQLite: every committed event is final


class FeedCursorExpired(AppError):
    status, slug = 410, "feed-cursor-expired"


@dataclass(frozen=True)
class FeedPage:
    # Event dicts; or, cut from a window (service.feed.window), each already JSON.
    events: list[dict[str, Any]] | list[bytes]
    next_cursor: str
    has_more: bool
    # Events have committed after the cursor but an older transaction still
    # runs, so they cannot be served yet: query again shortly.
    pending: bool


def require_provider(principal: Principal) -> int:
    if principal.role != Role.provider_staff or principal.organization_id is None:
        raise Forbidden("feed.forbidden")
    return principal.organization_id


def horizon_column(session: Session) -> Any:
    """The feed's horizon as a scalar subquery: events at or above it may still
    have older transactions committing below them, so they wait."""
    if is_postgres(session):
        return select(
            literal_column("pg_snapshot_xmin(pg_current_snapshot())::text::bigint")
        ).scalar_subquery()
    return literal(NO_HORIZON)


EVENT_COLUMNS = (*EVENT_READ_COLUMNS, TicketEvent.xid)
TICKET_PREFIX = "t_"
# Not the search terms: no representation shows them.
TICKET_COLUMNS = tuple(
    c.label(TICKET_PREFIX + c.name) for c in Ticket.__table__.c if c.name != "search_terms"
)


class _TicketView:
    """A row's `t_*` columns as the attributes ticket_dict reads."""

    __slots__ = ("_row",)

    def __init__(self, row: Any) -> None:
        self._row = row

    def __getattr__(self, name: str) -> Any:
        return getattr(self._row, TICKET_PREFIX + name)


def _event_data(row: Any) -> dict[str, Any]:
    data = dict(row.data or {})
    if row.type == "ticket.unassigned":
        # Where the ticket went is the other organisation's business.
        data.pop("to_organization_id", None)
    return data


def event_dict(row: Any, organization_id: int) -> dict[str, Any]:
    """A feed event (also a webhook's body): the timeline event, its actor and the
    ticket as the organisation sees it now (null once the ticket is no longer theirs)."""
    return {
        "id": row.id,
        "type": row.type,
        "ticket_id": row.ticket_id,
        "created_at": row.created_at,
        "actor_id": row.actor_id,
        "actor": actor_dict(Reader.organization(organization_id), row),
        "from_status": row.from_status,
        "to_status": row.to_status,
        "organization_id": row.organization_id,
        "internal": row.internal,
        "data": _event_data(row),
        "ticket": (
            ticket_dict(_TicketView(row), row.category_code) if row.t_id is not None else None
        ),
    }


def events_query(organization_id: int) -> Any:
    """Events of one organisation with the ticket, joined only while it is still theirs."""
    return with_actor(
        select(*EVENT_COLUMNS, *TICKET_COLUMNS, Category.code.label("category_code"))
        .select_from(TicketEvent)
        .outerjoin(
            Ticket,
            and_(Ticket.id == TicketEvent.ticket_id, Ticket.organization_id == organization_id),
        )
        .outerjoin(Category, Category.id == Ticket.category_id)
    ).where(TicketEvent.organization_id == organization_id)


@dataclass(frozen=True)
class FeedRows:
    """A page as the query's rows (with their `xid`), before serialisation."""

    rows: list[Any]
    next_cursor: str
    has_more: bool
    pending: bool


def read_page(
    session: Session,
    organization_id: int,
    cursor: str | None,
    *,
    limit: int,
    retention: dt.timedelta,
    now: dt.datetime | None = None,
) -> FeedPage:
    """One page of the organisation's feed after `cursor` (from the start of the
    retention window without one), in one query."""
    page = read_rows(session, organization_id, cursor, limit=limit, retention=retention, now=now)
    return FeedPage(
        events=[event_dict(row, organization_id) for row in page.rows],
        next_cursor=page.next_cursor,
        has_more=page.has_more,
        pending=page.pending,
    )


def read_rows(
    session: Session,
    organization_id: int,
    cursor: str | None,
    *,
    limit: int,
    retention: dt.timedelta,
    now: dt.datetime | None = None,
) -> FeedRows:
    """`read_page`'s query and cut, its rows left as they are."""
    now = now or utcnow()
    cutoff = now - retention
    position = cursors.decode(cursor) if cursor else None
    # Without a cursor, an empty page answers the head as of a snapshot taken
    # before the page's own (see head_cursor), so nothing committing meanwhile is skipped.
    head = head_cursor(session, now) if position is None else None
    query = events_query(organization_id).add_columns(horizon_column(session).label("horizon"))
    if position is not None:
        # What follows the cursor in (xid, id) order is not older than the
        # cursor's event by more than EVENT_TIME_MARGIN: months before are not read.
        since = position.time - EVENT_TIME_MARGIN
        query = query.where(TicketEvent.created_at >= since)
    if position is not None and is_postgres(session):
        query = query.where(
            tuple_(TicketEvent.xid, TicketEvent.id) > tuple_(position.xid, position.event_id)
        )
    elif position is not None:
        # SQLite seeks an index only on the first column of a row-value comparison;
        # xid is always 0 there, so say so and the (organization_id, xid, id) index
        # is walked from the cursor (a page at 1M events: 0.05 ms instead of 160 ms).
        query = query.where(TicketEvent.xid == position.xid, TicketEvent.id > position.event_id)
    else:
        query = query.where(TicketEvent.created_at >= cutoff)
    if is_postgres(session):
        # Each month's partition walks its (organization_id, xid, id) index in the
        # feed's order, merged (Merge Append), and stops after the page. Left to
        # its estimate of the rows after the cursor, which is low whenever the
        # cursor is past the last ANALYZE's statistics, the planner would rather
        # read every row after the cursor and sort them: a poller far behind would
        # read all it missed for one page. For this transaction only (PgBouncer).
        session.execute(text("SET LOCAL enable_sort = off"))
    rows: Sequence[Any] = session.execute(
        query.order_by(TicketEvent.xid, TicketEvent.id).limit(limit + 1)
    ).all()

    if position is not None and position.time < cutoff and rows and rows[0].created_at < cutoff:
        raise FeedCursorExpired("feed.cursor_expired", days=retention.days)
    # Cut at the first event at or above the horizon: it and all after it wait.
    servable = next((i for i, row in enumerate(rows) if row.xid >= row.horizon), len(rows))
    served = rows[: min(servable, limit)]
    if served:
        last = served[-1]
        next_cursor = cursors.encode(
            FeedPosition(last.xid, last.id, int(last.created_at.timestamp()))
        )
    elif cursor is not None:
        next_cursor = cursor
    else:
        assert head is not None
        next_cursor = head
    return FeedRows(
        rows=list(served),
        next_cursor=next_cursor,
        has_more=servable > limit,
        pending=servable < len(rows),
    )
