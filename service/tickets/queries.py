"""Ticket reads: one ticket, a page of the list, the timeline and the comments.
They take the session and the principal and write nothing."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Integer,
    String,
    bindparam,
    cast,
    func,
    literal_column,
    or_,
    select,
    table,
    union,
)
from sqlalchemy import column as sql_column
from sqlalchemy.dialects.postgresql import TSQUERY
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session

from service.auth import Principal
from service.categories.models import Category
from service.db import DriverQuery, driver_all, driver_query
from service.directory.changes import keeps_community_in_region
from service.enums import Priority, Role, Status, TicketKind
from service.errors import Invalid, NotFound, Unprocessable
from service.pagination import decode_cursor, encode_cursor
from service.scope import SCOPE_PARAMS, internal_visible, parametric, scope_values, visible
from service.tickets import search
from service.tickets.actors import Reader, actor_dict, with_actor
from service.tickets.models import (
    EVENT_READ_COLUMNS,
    EVENT_TIME_MARGIN,
    Ticket,
    TicketComment,
    TicketEvent,
)
from service.tickets.serialize import ticket_json_sql


def get_visible_ticket(session: Session, principal: Principal, ticket_id: int) -> Ticket:
    ticket = session.scalar(
        select(Ticket).where(Ticket.id == ticket_id, visible(principal, Ticket))
    )
    if ticket is None:
        raise NotFound("ticket.not_found", id=ticket_id)
    return ticket


def active_category(session: Session, code: str) -> Category:
    category = session.scalar(select(Category).where(Category.code == code, Category.active))
    if category is None:
        raise Unprocessable(
            "category.unknown", errors=[Invalid("category", "category.not_active", code=repr(code))]
        )
    return category


@dataclass(frozen=True)
class TicketFilters:
    # Tuples (any of the values; empty: no filter): the filters are part of the
    # cache key of the page's statement.
    status: tuple[Status, ...] = ()
    kind: tuple[TicketKind, ...] = ()
    category: tuple[str, ...] = ()
    community_id: tuple[int, ...] = ()
    organization_id: tuple[int, ...] = ()
    assignee_id: tuple[int, ...] = ()
    priority: tuple[Priority, ...] = ()
    created_from: dt.datetime | None = None
    created_to: dt.datetime | None = None
    breached: bool | None = None
    # Exact ticket numbers (any of them), and a text search's terms (all of them;
    # search.query_terms): values of the execution, not of the cached statement.
    number: tuple[str, ...] = ()
    search: tuple[tuple[str, bool], ...] = ()


def _ticket_json(dialect: str) -> Any:
    """The ticket's TicketRead as JSON text, written by the database (serialize.py)."""
    return literal_column(ticket_json_sql(dialect)).label("body")


# The feed's horizon on PostgreSQL, as service/feed/service.py head_cursor reads it.
FEED_HORIZON_SQL = "pg_snapshot_xmin(pg_current_snapshot())::text::bigint"


def _feed_head(dialect: str) -> Any:
    """What service/feed head_cursor reads, as a column of the page's own statement:
    the horizon of the statement's snapshot (PostgreSQL) or the last event (SQLite).
    The list reflects every event below it, as head_cursor requires."""
    if dialect == "postgresql":
        return literal_column(FEED_HORIZON_SQL).label("feed_head")
    return select(func.coalesce(func.max(TicketEvent.id), 0)).scalar_subquery().label("feed_head")


def get_visible_ticket_json(session: Session, principal: Principal, ticket_id: int) -> Any:
    """The ticket as (id, version, body): its TicketRead as JSON text, in one query."""
    row = (
        session.connection()
        .execute(
            select(Ticket.id, Ticket.version, _ticket_json(session.get_bind().dialect.name))
            .join(Category, Category.id == Ticket.category_id)
            .where(Ticket.id == ticket_id, visible(principal, Ticket))
        )
        .one_or_none()
    )
    if row is None:
        raise NotFound("ticket.not_found", id=ticket_id)
    return row


@dataclass(frozen=True)
class TicketListPage:
    items: list[bytes]  # each ticket's TicketRead as JSON (UTF-8)
    next_cursor: str | None
    # With `feed_head`: the feed position as of the page's snapshot, None when
    # the page is empty (ask head_cursor then).
    feed_head: int | None = None


def list_tickets(
    session: Session,
    principal: Principal,
    filters: TicketFilters,
    *,
    cursor: str | None,
    limit: int,
    feed_head: bool = False,
) -> TicketListPage:
    """A page of visible tickets, newest first, as JSON text made by the database."""
    query, params = page_statement(
        session, principal, filters, cursor=cursor, limit=limit, feed_head=feed_head
    )
    rows = driver_all(session, query, params, text_as_bytes=True)
    page = rows[:limit]
    return TicketListPage(
        items=[row[1] for row in page],
        next_cursor=encode_cursor("t", page[-1][0]) if len(rows) > limit else None,
        feed_head=int(rows[0][2]) if feed_head and rows else None,
    )


def page_statement(
    session: Session,
    principal: Principal,
    filters: TicketFilters,
    *,
    cursor: str | None,
    limit: int,
    feed_head: bool = False,
) -> tuple[DriverQuery, dict[str, Any]]:
    """The statement of `list_tickets` and the parameters of this execution (with
    `query.values`, those bound when it was built); it asks one more row than
    `limit`, to know whether there is a next page. bench/search.py prints its plans."""
    after = decode_cursor("t", cursor) if cursor else None
    dialect = session.get_bind().dialect
    query = _page_query(
        dialect,
        principal.role,
        principal.region_path,
        # The statement is cached by its shape: how many numbers, whether a search.
        replace(filters, number=(), search=()),
        after is not None,
        feed_head,
        len(filters.number),
        bool(filters.search),
    )
    params: dict[str, Any] = {"page_limit": limit + 1, **scope_values(principal)}
    params.update({f"number_{i}": number for i, number in enumerate(filters.number)})
    if filters.search:
        terms = list(filters.search)
        pg = dialect.name == "postgresql"
        params["search_query"] = search.tsquery(terms) if pg else search.fts5_query(terms)
    if after is not None:
        params["page_after"] = after
    return query, params


@functools.lru_cache(maxsize=1024)
def _page_query(
    dialect: Dialect,
    role: Role,
    region_path: str | None,
    filters: TicketFilters,
    after: bool,
    feed_head: bool,
    numbers: int = 0,
    text_search: bool = False,
) -> DriverQuery:
    """The page's SELECT for callers of this role (and region) and these filters,
    compiled once for the driver; the cursor, the limit and the caller's ids are
    its parameters. A provider polls the same page all day: building the
    statement (visible(), the filters) and SQLAlchemy's execution of it were ~30%
    of a page's CPU; and one statement per role, not per person, serves
    thousands of residents."""
    principal = parametric(role, region_path)
    columns = [Ticket.id, _ticket_json(dialect.name)]
    if feed_head:
        columns.append(_feed_head(dialect.name))
    page = select(*columns).join(Category, Category.id == Ticket.category_id)
    number_params = tuple(f"number_{i}" for i in range(numbers))
    params = ("page_after", "page_limit", *number_params, *SCOPE_PARAMS)
    limit = bindparam("page_limit", type_=Integer)
    if text_search and dialect.name == "postgresql":
        ids = _searched_ids(principal, filters, after, number_params, limit)
        page = page.where(Ticket.id.in_(ids))
        params += ("search_query",)
    else:
        page = _narrowed(page, principal, filters, after, number_params)
        if text_search:
            page = page.where(matching(dialect.name))
            params += ("search_query",)
    # Newest first, with or without a search: the cursor stays the last id seen.
    page = page.order_by(Ticket.id.desc()).limit(limit)
    return driver_query(dialect, page, params)


def _narrowed(
    query: Any,
    principal: Principal,
    filters: TicketFilters,
    after: bool,
    number_params: tuple[str, ...],
) -> Any:
    """`query` (of tickets joined to their category) held to what the caller may
    see and the filters, below the cursor: everything but the text search."""
    query = query.where(visible(principal, Ticket))
    # Equalities, not IN: an expanding IN is rendered per execution.
    for column, values in (
        (Ticket.status, filters.status),
        (Ticket.kind, filters.kind),
        (Ticket.community_id, filters.community_id),
        (Ticket.organization_id, filters.organization_id),
        (Ticket.assignee_id, filters.assignee_id),
        (Ticket.priority, filters.priority),
    ):
        if values:
            query = query.where(or_(*(column == value for value in values)))
    if filters.category:
        query = query.where(
            or_(
                *(
                    or_(Category.code == code, Category.code.startswith(code + "."))
                    for code in filters.category
                )
            )
        )
    if filters.created_from:
        query = query.where(Ticket.created_at >= filters.created_from)
    if filters.created_to:
        query = query.where(Ticket.created_at < filters.created_to)
    if filters.breached is not None:
        either = or_(Ticket.response_breached, Ticket.resolution_breached)
        query = query.where(either if filters.breached else ~either)
    if number_params:
        query = query.where(
            or_(*(Ticket.number == bindparam(name, type_=String) for name in number_params))
        )
    if after:
        query = query.where(Ticket.id < bindparam("page_after", type_=BigInteger))
    return query


# How many of the newest tickets in scope a search on PostgreSQL tests one by
# one, at most, before it asks the GIN index (bench/README.md: ~1 µs a ticket
# when cached; 200,000 is ~200 ms, the most a search walks).
SEARCH_WALK = 200_000


def _searched_ids(
    principal: Principal,
    filters: TicketFilters,
    after: bool,
    number_params: tuple[str, ...],
    limit: Any,
) -> Any:
    """PostgreSQL: the ids of a search's page, in a plan that does not depend on
    the planner's guess of how common the words are.

    Left to itself, with ORDER BY id DESC LIMIT, the planner walks the list newest
    first testing each ticket when it expects the words to be common, and reads
    every match from the GIN index (then sorts) when it expects them rare. Each
    wrong guess cost seconds on 1M tickets (bench/README.md): a word in no ticket
    walked all of them (it never estimates a word rarer than half the rarest of
    its statistics); a common word read 250,000 matches to keep 20. So, in one
    statement: `hits` walks the newest SEARCH_WALK tickets in scope, stopping at
    a page of matches (common words stop early); only when it ends short of a
    page does `older` take every match from the GIN index (a one-time filter
    skips it otherwise), and they are then few."""

    def narrowed(*columns: Any) -> Any:
        query = select(*columns)
        if filters.category:  # the join only where a filter needs it
            query = query.join(Category, Category.id == Ticket.category_id)
        return _narrowed(query, principal, filters, after, number_params)

    walk = bindparam("search_walk", SEARCH_WALK, type_=Integer)
    # A subquery with a LIMIT: the planner neither pushes the test into it nor
    # reorders it, and the outer LIMIT stops the walk at a page.
    recent = narrowed(Ticket.id, Ticket.search_terms).order_by(Ticket.id.desc()).limit(walk)
    recent = recent.subquery("recent")
    hits = (
        select(recent.c.id)
        .where(_tsmatch(recent.c.search_terms))
        .order_by(recent.c.id.desc())
        .limit(limit)
        .cte("hits")
        .prefix_with("MATERIALIZED")
    )
    older = narrowed(Ticket.id).where(_tsmatch(Ticket.search_terms)).cte("older")
    older = older.prefix_with("MATERIALIZED")
    short = select(func.count()).select_from(hits).scalar_subquery() < limit
    # UNION: `older` holds the hits again.
    found = union(select(hits.c.id), select(older.c.id).where(short)).subquery("found")
    return select(found.c.id).order_by(found.c.id.desc()).limit(limit)


def _tsmatch(terms: Any) -> ColumnElement[bool]:
    # The column of the GIN index (migrations/versions/*_ticket_search.py).
    return terms.bool_op("@@")(cast(bindparam("search_query", type_=String), TSQUERY))


def matching(dialect: str) -> ColumnElement[bool]:
    """The tickets holding every term of the parameter `search_query` (tickets/search.py),
    through the index the search migration made: on PostgreSQL the GIN index of the
    column, on SQLite its FTS5 table."""
    if dialect == "postgresql":
        return _tsmatch(Ticket.search_terms)
    query = bindparam("search_query", type_=String)
    fts = table("ticket_search", sql_column("rowid"))
    return Ticket.id.in_(
        select(fts.c.rowid).where(literal_column("ticket_search").op("MATCH")(query))
    )


def category_code(session: Session, ticket: Ticket) -> str:
    category = session.get(Category, ticket.category_id)
    assert category is not None
    return category.code


# --- the timeline and the comments ------------------------------------------


def list_events(
    session: Session, principal: Principal, ticket: Ticket, *, after: int = 0, limit: int = 100
) -> tuple[list[dict[str, Any]], int | None]:
    """The ticket's timeline as the caller may see it (EventRead), actors included,
    in one query: up to `limit` events after the id `after`, and the id to go on
    from (None on the last page)."""
    query = with_actor(select(*EVENT_READ_COLUMNS)).where(
        TicketEvent.ticket_id == ticket.id,
        TicketEvent.id > after,
        # None is older than its ticket: months before it are not read.
        TicketEvent.created_at >= ticket.created_at - EVENT_TIME_MARGIN,
    )
    condition = internal_visible(principal, TicketEvent.internal, TicketEvent.organization_id)
    if condition is not None:
        query = query.where(condition)
    reader = Reader.of(principal)
    rows = session.execute(query.order_by(TicketEvent.id).limit(limit + 1)).all()
    events = [
        {
            **{column.key: getattr(row, column.key) for column in EVENT_READ_COLUMNS},
            "actor": actor_dict(reader, row),
        }
        for row in rows[:limit]
    ]
    return events, (rows[limit - 1].id if len(rows) > limit else None)


def list_comments(
    session: Session, principal: Principal, ticket: Ticket, *, after: int = 0, limit: int = 100
) -> tuple[Sequence[TicketComment], int | None]:
    query = select(TicketComment).where(
        TicketComment.ticket_id == ticket.id, TicketComment.id > after
    )
    condition = internal_visible(principal, TicketComment.internal, TicketComment.organization_id)
    if condition is not None:
        query = query.where(condition)
    rows = session.scalars(query.order_by(TicketComment.id).limit(limit + 1)).all()
    return rows[:limit], (rows[limit - 1].id if len(rows) > limit else None)


@keeps_community_in_region
def community_history_stays(session: Session, community_id: int) -> str | None:
    """Tickets, escalations and the metrics rollup carry the region they were
    filed in: moving those is a re-attribution of history, not a correction."""
    if session.scalar(select(Ticket.id).where(Ticket.community_id == community_id).limit(1)):
        return "community.has_history"
    return None
