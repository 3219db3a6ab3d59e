"""Ticket operations. They take the session and the principal, flush, never commit."""

from __future__ import annotations

import datetime as dt
import enum
import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    JSON,
    BigInteger,
    Integer,
    bindparam,
    case,
    func,
    literal_column,
    or_,
    select,
    true,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from service.auth import Principal
from service.categories.models import Category
from service.db import (
    DriverQuery,
    driver_all,
    driver_execute,
    driver_one,
    driver_query,
    utcnow,
)
from service.directory.models import Community, Organization, ProviderAssignment
from service.enums import (
    ORGANIZATION_KIND_FOR,
    Priority,
    Role,
    ServiceKind,
    Status,
    TicketKind,
    service_kind_for,
)
from service.errors import (
    FieldError,
    Forbidden,
    InvalidTransition,
    NotFound,
    StaleWrite,
    TooManyRequests,
    Unprocessable,
)
from service.feed.notify import FEED_ORGANIZATIONS
from service.idempotency import service as idempotency
from service.pagination import decode_cursor, encode_cursor
from service.scope import visible
from service.sla import clock
from service.sla.models import SlaConfigVersion
from service.sla.policy import config_with_category, load_config
from service.tickets import lifecycle
from service.tickets.actors import Reader, actor_dict, with_actor
from service.tickets.models import EVENT_READ_COLUMNS, FollowUp, Ticket, TicketComment, TicketEvent
from service.tickets.schemas import (
    AssignBody,
    CommentCreate,
    ConfirmBody,
    FollowUpCreate,
    HoldBody,
    ReclassifyBody,
    RejectBody,
    ResolveBody,
    TicketCreate,
)
from service.tickets.serialize import ticket_json_sql
from service.users.models import User


class _TicketOrganization:
    """Marker: the event belongs to the ticket's current organisation."""


TICKET_ORGANIZATION = _TicketOrganization()


def record_event(
    session: Session,
    ticket: Ticket,
    type_: str,
    actor_id: int | None,
    *,
    from_status: Status | None = None,
    to_status: Status | None = None,
    organization_id: int | None | _TicketOrganization = TICKET_ORGANIZATION,
    internal: bool = False,
    data: dict[str, Any] | None = None,
    at: dt.datetime | None = None,
) -> TicketEvent:
    """Append to the timeline. `organization_id` defaults to the ticket's current
    organisation; pass None explicitly for an event no organisation may claim
    (an administrator's internal note)."""
    if isinstance(organization_id, _TicketOrganization):
        organization_id = ticket.organization_id
    event = TicketEvent(
        ticket_id=ticket.id,
        type=type_,
        actor_id=actor_id,
        from_status=from_status,
        to_status=to_status,
        organization_id=organization_id,
        internal=internal,
        data=data or {},
        created_at=at or utcnow(),
    )
    session.add(event)
    if organization_id is not None:
        # Wake this process's feed long-polls after commit (service/feed/notify.py);
        # other processes hear the trigger's NOTIFY. The webhook outbox row is
        # written by the same trigger, in this transaction, at no extra round trip.
        session.info.setdefault(FEED_ORGANIZATIONS, set()).add(organization_id)
    return event


def get_visible_ticket(session: Session, principal: Principal, ticket_id: int) -> Ticket:
    ticket = session.scalar(
        select(Ticket).where(Ticket.id == ticket_id, visible(principal, Ticket))
    )
    if ticket is None:
        raise NotFound(f"No ticket {ticket_id}.")
    return ticket


def _visible_community(session: Session, principal: Principal, community_id: int) -> Community:
    community = session.scalar(
        select(Community).where(Community.id == community_id, visible(principal, Community))
    )
    if community is None:
        raise NotFound(f"No community {community_id}.")
    return community


def _active_category(session: Session, code: str) -> Category:
    category = session.scalar(select(Category).where(Category.code == code, Category.active))
    if category is None:
        raise Unprocessable(
            "Unknown category.",
            errors=[FieldError(field="category", message=f"no active category {code!r}")],
        )
    return category


def _resident_by_phone(session: Session, community_id: int, phone: str) -> User | None:
    return session.scalar(
        select(User)
        .where(User.community_id == community_id, User.role == Role.resident, User.phone == phone)
        .limit(1)
    )


def ticket_number(ticket_id: int, created_at: dt.datetime, timezone: str) -> str:
    local = created_at.astimezone(ZoneInfo(timezone))
    return f"LL{local:%y%m%d}-{ticket_id:06d}"


@dataclass(frozen=True)
class _Filing:
    community_id: int
    region_path: str
    category_id: int
    category_code: str
    kind: TicketKind
    default_priority: Priority
    organization_id: int | None
    ticket_id: int
    sla_stamp: str


@functools.lru_cache(maxsize=512)
def _filing_statement(dialect: str, principal: Principal, with_claim: bool) -> Any:
    """The filing-context SELECT for this principal, the request's values left as
    bind parameters. Built once and kept: SQLAlchemy memoises a statement's
    cache key on the object, and building it and its key per request was a
    quarter of a creation's CPU (py-spy --gil). `visible()` still scopes it."""
    service_kind = case(
        (Category.kind == TicketKind.elderly_care, ServiceKind.elderly_care.value),
        else_=ServiceKind.property.value,
    )
    serving = (
        select(ProviderAssignment.organization_id)
        .where(
            ProviderAssignment.community_id == Community.id,
            ProviderAssignment.kind == service_kind,
            ProviderAssignment.current.is_(True),
        )
        .scalar_subquery()
    )
    if dialect == "postgresql":
        next_id: Any = literal_column("nextval(pg_get_serial_sequence('ticket', 'id'))")
    else:
        # One writer at a time (write requests hold BEGIN IMMEDIATE): max + 1 is safe.
        next_id = select(func.coalesce(func.max(Ticket.id), 0) + 1).scalar_subquery()
    claimed: list[Any] = []
    if with_claim:
        claimed, key_table, key_on = idempotency.claim_columns(dialect)
    query = (
        select(
            Community.id,
            Community.region_path,
            Category.id.label("category_id"),
            Category.code,
            Category.kind,
            Category.default_priority,
            serving.label("organization_id"),
            next_id.label("ticket_id"),
            # Tells whether this process's copy of the SLA configuration is current.
            select(SlaConfigVersion.stamp)
            .where(SlaConfigVersion.id == 1)
            .scalar_subquery()
            .label("sla_stamp"),
            *claimed,
        )
        # One community and one category: the cross join is meant.
        .select_from(Community)
        .join(Category, true())
        .where(
            Community.id == bindparam("filing_community_id"),
            visible(principal, Community),
            Category.code == bindparam("filing_category"),
            Category.active,
        )
    )
    if with_claim:
        query = query.outerjoin(key_table, key_on)
    return query


_FILING_PARAMS = ("filing_community_id", "filing_category", *idempotency.CLAIM_PARAMS)


@functools.lru_cache(maxsize=512)
def _filing_query(dialect: Dialect, principal: Principal, with_claim: bool) -> DriverQuery:
    statement = _filing_statement(dialect.name, principal, with_claim)
    return driver_query(dialect, statement, _FILING_PARAMS)


def _filing_context(
    session: Session, principal: Principal, data: TicketCreate, claim: idempotency.Claim | None
) -> _Filing | idempotency.Replay:
    """Everything a new ticket needs from the database, in one round trip: the
    community (if visible), the active category, who serves that community for
    that kind of work, and the new ticket's id; with an Idempotency-Key also the
    key's lock and stored response (idempotency.claim_columns), which win over
    everything else. Creation is the hot write path, and under load every round
    trip costs more than the Python around it."""
    query = _filing_query(session.get_bind().dialect, principal, claim is not None)
    params = {"filing_community_id": data.community_id, "filing_category": data.category}
    if claim is not None:
        params.update(idempotency.claim_params(claim))
    values = driver_one(session, query, params)
    row = None if values is None else SimpleNamespace(**values)
    if row is not None and claim is not None:
        replay = idempotency.resolve(session, claim, row)
        if replay is not None:
            return replay
    if row is None:
        if claim is not None:
            replay = idempotency.begin(
                session, owner=claim.owner, key=claim.key, request_hash=claim.request_hash
            )
            if replay is not None:
                return replay
        # Say which one was wrong; the error path may take another query or two.
        _visible_community(session, principal, data.community_id)
        _active_category(session, data.category)
        raise AssertionError("filing context missing without a reason")
    return _Filing(
        community_id=row.id,
        region_path=row.region_path,
        category_id=row.category_id,
        category_code=row.code,
        kind=row.kind,
        default_priority=row.default_priority,
        organization_id=row.organization_id,
        ticket_id=int(row.ticket_id),
        sla_stamp=row.sla_stamp or "",
    )


def create_ticket(
    session: Session,
    principal: Principal,
    data: TicketCreate,
    *,
    timezone: str,
    claim: idempotency.Claim | None = None,
) -> Ticket | idempotency.Replay:
    """File a ticket: the new ticket (written, not in the session's identity map:
    load it to change it), or the stored response to replay for `claim`.

    The INSERTs of the ticket and its first event go through the driver (no unit
    of work: ~40% of a creation's CPU went to it); inside db.pipelined they and
    whatever the caller adds reach PostgreSQL in one round trip."""
    if principal.role == Role.resident:
        if data.on_behalf_of is not None:
            raise Unprocessable(
                "Residents file for themselves.",
                errors=[FieldError(field="on_behalf_of", message="only staff and grid workers")],
            )
    elif data.on_behalf_of is None:
        raise Unprocessable(
            "Say whom the ticket is for.",
            errors=[FieldError(field="on_behalf_of", message="required when filing for someone")],
        )
    filing = _filing_context(session, principal, data, claim)
    if isinstance(filing, idempotency.Replay):
        return filing
    now = utcnow()
    priority = data.priority or filing.default_priority
    config = load_config(session, timezone, filing.sla_stamp)
    config = config_with_category(session, config, filing.category_id, timezone)

    reporter_id: int | None = principal.user_id
    reporter_name: str | None = principal.name
    if data.on_behalf_of is not None:
        resident = _resident_by_phone(session, filing.community_id, data.on_behalf_of.phone)
        reporter_id = resident.id if resident else None
        reporter_name = data.on_behalf_of.name

    organization_id = filing.organization_id
    location = data.location
    ticket_id = filing.ticket_id
    ticket = Ticket(
        id=ticket_id,
        number=ticket_number(ticket_id, now, timezone),
        kind=filing.kind,
        category_id=filing.category_id,
        priority=priority,
        status=Status.assigned if organization_id else Status.submitted,
        community_id=filing.community_id,
        region_path=filing.region_path,
        organization_id=organization_id,
        reporter_id=reporter_id,
        reporter_name=reporter_name,
        filed_by_id=principal.user_id,
        on_behalf_of_name=data.on_behalf_of.name if data.on_behalf_of else None,
        on_behalf_of_phone=data.on_behalf_of.phone if data.on_behalf_of else None,
        channel=data.channel,
        title=data.title,
        description=data.description,
        building=location.building if location else None,
        unit=location.unit if location else None,
        room=location.room if location else None,
        area=location.area if location else None,
        contact_phone=data.contact_phone,
        preferred_from=data.preferred_time.from_ if data.preferred_time else None,
        preferred_to=data.preferred_time.to if data.preferred_time else None,
        attachment_ids=list(data.attachment_ids),
        created_at=now,
        updated_at=now,
        paused_seconds=0,
        response_breached=False,
        resolution_breached=False,
        reopen_count=0,
        response_escalation_level=0,
        resolution_escalation_level=0,
        version=1,
    )
    policy = config.policy_for(filing.kind, filing.category_id, priority, filing.region_path)
    clock.start(ticket, policy, now)
    _insert_ticket(session, ticket)
    event_data = {
        "category": filing.category_code,
        "priority": str(priority),
        "channel": str(data.channel),
    }
    driver_execute(
        session,
        _INSERT_EVENT,
        {
            "ticket_id": ticket_id,
            "type": "ticket.created",
            "actor_id": principal.user_id,
            "to_status": str(ticket.status),
            "organization_id": organization_id,
            "internal": False,
            "data": json.dumps(event_data),
            "created_at": now,
        },
    )
    if organization_id is not None:
        # As record_event does: wake this process's feed long-polls after commit.
        session.info.setdefault(FEED_ORGANIZATIONS, set()).add(organization_id)
    return ticket


def _driver_sql(table: Any, columns: Sequence[str], casts: dict[str, str]) -> dict[str, str]:
    names = ", ".join(columns)
    pg = ", ".join(f"%({c})s{casts.get(c, '')}" for c in columns)
    lite = ", ".join(f":{c}" for c in columns)
    return {
        "postgresql": f"INSERT INTO {table.name} ({names}) VALUES ({pg})",
        "sqlite": f"INSERT INTO {table.name} ({names}) VALUES ({lite})",
    }


_TICKET_TABLE = Ticket.__table__
_JSON_COLUMNS = frozenset(c.name for c in _TICKET_TABLE.c if isinstance(c.type, JSON))
_INSERT_TICKET = _driver_sql(
    _TICKET_TABLE, [c.name for c in _TICKET_TABLE.c], {c: "::json" for c in _JSON_COLUMNS}
)
_INSERT_EVENT = _driver_sql(
    TicketEvent.__table__,
    ["ticket_id", "type", "actor_id", "to_status", "organization_id", "internal", "data"]
    + ["created_at"],
    {"data": "::json"},
)


def _insert_ticket(session: Session, ticket: Ticket) -> None:
    params: dict[str, Any] = {}
    for column in _TICKET_TABLE.c:
        value = getattr(ticket, column.key)
        if column.name in _JSON_COLUMNS:
            value = json.dumps(value)  # None too: the ORM stores a JSON null
        elif isinstance(value, enum.Enum):
            value = value.value
        params[column.name] = value
    driver_execute(session, _INSERT_TICKET, params)


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
        raise NotFound(f"No ticket {ticket_id}.")
    return row


@dataclass(frozen=True)
class TicketListPage:
    items: list[str]  # each ticket's TicketRead as JSON text
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
    after = decode_cursor("t", cursor) if cursor else None
    query = _page_query(
        session.get_bind().dialect, principal, filters, after is not None, feed_head
    )
    params: dict[str, Any] = {"page_limit": limit + 1}
    if after is not None:
        params["page_after"] = after
    rows = driver_all(session, query, params)
    page = rows[:limit]
    return TicketListPage(
        items=[row[1] for row in page],
        next_cursor=encode_cursor("t", page[-1][0]) if len(rows) > limit else None,
        feed_head=int(rows[0][2]) if feed_head and rows else None,
    )


@functools.lru_cache(maxsize=1024)
def _page_query(
    dialect: Dialect, principal: Principal, filters: TicketFilters, after: bool, feed_head: bool
) -> DriverQuery:
    """The page's SELECT for this caller and these filters, compiled once for the
    driver; the cursor and the limit are its parameters. A provider polls the same
    page all day: building the statement (visible(), the filters) and SQLAlchemy's
    execution of it were ~30% of a page's CPU."""
    columns = [Ticket.id, _ticket_json(dialect.name)]
    if feed_head:
        columns.append(_feed_head(dialect.name))
    query = (
        select(*columns)
        .join(Category, Category.id == Ticket.category_id)
        .where(visible(principal, Ticket))
    )
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
    if after:
        query = query.where(Ticket.id < bindparam("page_after", type_=BigInteger))
    query = query.order_by(Ticket.id.desc()).limit(bindparam("page_limit", type_=Integer))
    return driver_query(dialect, query, ("page_after", "page_limit"))


def category_code(session: Session, ticket: Ticket) -> str:
    category = session.get(Category, ticket.category_id)
    assert category is not None
    return category.code


# --- the lifecycle ---------------------------------------------------------


def _flush_or_conflict(session: Session) -> None:
    try:
        session.flush()
    except StaleDataError as exc:
        raise StaleWrite("Someone else changed this ticket; reload it and try again.") from exc


def _assign(session: Session, principal: Principal, ticket: Ticket, body: AssignBody) -> dict:
    if principal.role == Role.admin:
        if body.organization_id is None:
            raise Unprocessable(
                "Name the organisation.",
                errors=[FieldError(field="organization_id", message="required for admins")],
            )
        organization = session.scalar(
            select(Organization).where(
                Organization.id == body.organization_id, visible(principal, Organization)
            )
        )
        if organization is None:
            raise Unprocessable(
                "Unknown organisation.",
                errors=[FieldError(field="organization_id", message="no such organisation")],
            )
        expected = ORGANIZATION_KIND_FOR[service_kind_for(ticket.kind)]
        if organization.kind != expected:
            raise Unprocessable(
                f"A {ticket.kind} ticket goes to a {expected}.",
                errors=[FieldError(field="organization_id", message="wrong kind of organisation")],
            )
        target_org: int | None = organization.id
    else:
        if body.organization_id not in (None, principal.organization_id):
            raise Forbidden("Dispatchers assign within their own organisation.")
        target_org = principal.organization_id
    assignee_id = None
    if body.assignee_id is not None:
        assignee = session.get(User, body.assignee_id)
        if (
            assignee is None
            or assignee.role != Role.provider_staff
            or assignee.organization_id != target_org
        ):
            raise Unprocessable(
                "Unknown technician.",
                errors=[FieldError(field="assignee_id", message="not staff of that organisation")],
            )
        assignee_id = assignee.id
    previous_org = ticket.organization_id
    if previous_org is not None and previous_org != target_org:
        record_event(
            session,
            ticket,
            "ticket.unassigned",
            principal.user_id,
            from_status=ticket.status,
            to_status=Status.assigned,
            organization_id=previous_org,
            data={"organization_id": previous_org, "to_organization_id": target_org},
        )
    ticket.organization_id = target_org
    ticket.assignee_id = assignee_id
    if previous_org != target_org:
        # A new organisation's first response is still to come.
        ticket.responded_at = None
    return {"organization_id": target_org, "assignee_id": assignee_id}


def perform(
    session: Session,
    principal: Principal,
    ticket: Ticket,
    action: str,
    body: Any,
    *,
    reopen_window: dt.timedelta,
    timezone: str,
) -> Ticket:
    """Apply one lifecycle action, or raise and change nothing."""
    try:
        transition = lifecycle.find_transition(
            action, lifecycle.actors_of(principal, ticket), ticket.status
        )
    except lifecycle.NotPermitted as exc:
        raise InvalidTransition(f"Your role may not {action} this ticket.") from exc
    except lifecycle.WrongStatus as exc:
        raise InvalidTransition(
            f"A ticket in status {ticket.status} cannot be {action}ed."
        ) from exc

    now = utcnow()
    source = ticket.status
    data: dict[str, Any] = {}
    policy = None
    if ticket.sla_policy_id is not None:
        config = load_config(session, timezone)
        policy = config.policy_by_id(ticket.sla_policy_id, ticket.region_path)
    if action == "assign":
        data = _assign(session, principal, ticket, body)
    elif action == "accept":
        if ticket.responded_at is None:
            ticket.responded_at = now
            if ticket.respond_by is not None and now > ticket.respond_by:
                ticket.response_breached = True
        if ticket.assignee_id is None and principal.api_key_id is None:
            ticket.assignee_id = principal.user_id
    elif action == "hold":
        assert isinstance(body, HoldBody)
        ticket.hold_reason = body.reason
        ticket.on_hold_since = now
        clock.hold(ticket, policy, body.reason, now)
        data = {"reason": str(body.reason), "note": body.note}
    elif action == "resume":
        # Only a hold for a reason the policy pauses on stops the clock.
        clock.resume(ticket, policy, now)
        ticket.on_hold_since = None
        ticket.hold_reason = None
    elif action == "resolve":
        assert isinstance(body, ResolveBody)
        ticket.resolved_at = now
        # Paused working time has already moved resolve_by out.
        if ticket.resolve_by is not None and now > ticket.resolve_by:
            ticket.resolution_breached = True
        data = {"note": body.note, "attachment_ids": list(body.attachment_ids)}
    elif action == "confirm":
        assert isinstance(body, ConfirmBody)
        ticket.rating = body.rating
        ticket.rating_comment = body.comment
        ticket.rating_tags = list(body.tags)
        ticket.closed_at = now
        data = {"rating": body.rating, "comment": body.comment, "tags": list(body.tags)}
    elif action == "reopen":
        if source == Status.closed and (
            ticket.closed_at is None or now - ticket.closed_at > reopen_window
        ):
            raise InvalidTransition("The reopen window of this ticket has passed.")
        ticket.reopen_count += 1
        ticket.resolved_at = None
        ticket.closed_at = None
        ticket.rating = None
        ticket.rating_comment = None
        ticket.rating_tags = None
        clock.reopen(ticket, policy, now)
        data = {"reason": body.reason}
    elif action == "cancel":
        data = {"reason": body.reason}
    elif action == "return":
        data = {"reason": body.reason, "organization_id": ticket.organization_id}
    elif action == "reject":
        assert isinstance(body, RejectBody)
        if body.duplicate_of is not None:
            if body.duplicate_of == ticket.id:
                raise Unprocessable(
                    "A ticket cannot duplicate itself.",
                    errors=[FieldError(field="duplicate_of", message="same ticket")],
                )
            get_visible_ticket(session, principal, body.duplicate_of)
        data = {"reason": body.reason, "duplicate_of": body.duplicate_of}

    event_org = ticket.organization_id
    if action == "return":
        ticket.organization_id = None
        ticket.assignee_id = None
        ticket.responded_at = None
    if transition.target is not None:
        ticket.status = transition.target
    ticket.sla_next_check_at = clock.next_check(ticket, policy)
    ticket.updated_at = now
    record_event(
        session,
        ticket,
        transition.event,
        principal.user_id,
        from_status=source,
        to_status=ticket.status,
        organization_id=event_org if action == "return" else TICKET_ORGANIZATION,
        data={k: v for k, v in data.items() if v is not None},
        at=now,
    )
    _flush_or_conflict(session)
    return ticket


_RECLASSIFIABLE = frozenset(
    {
        Status.submitted,
        Status.assigned,
        Status.accepted,
        Status.in_progress,
        Status.on_hold,
    }
)


def reclassify(
    session: Session, principal: Principal, ticket: Ticket, body: ReclassifyBody, *, timezone: str
) -> Ticket:
    """Change priority and/or category; the SLA policy and deadlines are chosen
    again as if the ticket had been filed so, keeping the time already paused."""
    if not (
        principal.role == Role.admin
        or (principal.is_dispatcher and ticket.organization_id == principal.organization_id)
    ):
        raise InvalidTransition(
            "Only an administrator or the organisation's dispatcher may reclassify."
        )
    if ticket.status not in _RECLASSIFIABLE:
        raise InvalidTransition(f"A ticket in status {ticket.status} keeps its classification.")
    if body.priority is None and body.category is None:
        raise Unprocessable(
            "Say what changes.",
            errors=[FieldError(field="priority", message="give a priority or a category")],
        )
    before = {"priority": str(ticket.priority), "category": category_code(session, ticket)}
    if body.category is not None and body.category != before["category"]:
        category = _active_category(session, body.category)
        if category.kind != ticket.kind:
            raise Unprocessable(
                f"A {ticket.kind} ticket stays {ticket.kind}; file a new one for other work.",
                errors=[FieldError(field="category", message=f"not a {ticket.kind} category")],
            )
        ticket.category_id = category.id
    if body.priority is not None:
        ticket.priority = body.priority
    after = {"priority": str(ticket.priority), "category": body.category or before["category"]}
    if after == before:
        raise Unprocessable(
            "Nothing changes.",
            errors=[FieldError(field="priority", message="the ticket is classified so already")],
        )
    config = config_with_category(
        session, load_config(session, timezone), ticket.category_id, timezone
    )
    policy = config.policy_for(ticket.kind, ticket.category_id, ticket.priority, ticket.region_path)
    ticket.sla_policy_id = policy.id if policy else None
    clock.recompute(ticket, policy)
    now = utcnow()
    ticket.updated_at = now
    record_event(
        session,
        ticket,
        "ticket.reclassified",
        principal.user_id,
        data={"from": before, "to": after, "reason": body.reason},
        at=now,
    )
    _flush_or_conflict(session)
    return ticket


def auto_close_resolved(session: Session, *, older_than: dt.timedelta, now: dt.datetime) -> int:
    """Close resolved tickets nobody confirmed in time (no rating). Returns how many."""
    cutoff = now - older_than
    closed = 0
    tickets = session.scalars(
        select(Ticket)
        .where(Ticket.status == Status.resolved, Ticket.resolved_at < cutoff)
        .order_by(Ticket.id)
        .limit(1000)
    ).all()
    for ticket in tickets:
        ticket.status = Status.closed
        ticket.closed_at = now
        ticket.updated_at = now
        record_event(
            session,
            ticket,
            "ticket.closed",
            None,
            from_status=Status.resolved,
            to_status=Status.closed,
            data={"reason": "auto_close"},
            at=now,
        )
        closed += 1
    _flush_or_conflict(session)
    return closed


# --- comments, events, follow-ups -------------------------------------------


def _is_staff_side(principal: Principal) -> bool:
    return principal.role in (Role.provider_staff, Role.admin)


def add_comment(
    session: Session,
    principal: Principal,
    ticket: Ticket,
    data: CommentCreate,
    *,
    per_hour: int | None = None,
    retry_after: int = 60,
) -> TicketComment:
    if data.internal and not _is_staff_side(principal):
        raise Forbidden("Only staff and administrators write internal notes.")
    now = utcnow()
    # Each comment is an event in the provider's feed and webhooks: a quota per
    # author and ticket for the API (200 comments in 2 s were measured from
    # outside); None, for the demo data's own writing, is no quota.
    if per_hour is not None:
        recent = session.scalar(
            select(func.count())
            .select_from(TicketComment)
            .where(
                TicketComment.ticket_id == ticket.id,
                TicketComment.author_id == principal.user_id,
                TicketComment.created_at > now - dt.timedelta(hours=1),
            )
        )
        if (recent or 0) >= per_hour:
            raise TooManyRequests(
                f"At most {per_hour} comments an hour on one ticket; nothing was added.",
                retry_after=retry_after,
            )
    org = principal.organization_id if principal.role == Role.provider_staff else None
    comment = TicketComment(
        ticket_id=ticket.id,
        author_id=principal.user_id,
        organization_id=org,
        body=data.body,
        internal=data.internal,
        created_at=now,
    )
    session.add(comment)
    session.flush()
    record_event(
        session,
        ticket,
        "ticket.commented",
        principal.user_id,
        internal=data.internal,
        # An internal note stays with its author's side: the organisation, or
        # (org None) the department. A public comment belongs to the ticket's organisation.
        organization_id=org if data.internal else TICKET_ORGANIZATION,
        data={"comment_id": comment.id, "body": data.body},
        at=now,
    )
    session.flush()
    return comment


def _internal_visible(principal: Principal, internal_col: Any, org_col: Any) -> Any:
    """Residents never see internal notes; an organisation sees only its own."""
    if principal.role == Role.admin:
        return None
    if principal.role == Role.provider_staff:
        return or_(~internal_col, org_col == principal.organization_id)
    return ~internal_col


def list_events(
    session: Session, principal: Principal, ticket: Ticket, *, after: int = 0, limit: int = 100
) -> tuple[list[dict[str, Any]], int | None]:
    """The ticket's timeline as the caller may see it (EventRead), actors included,
    in one query: up to `limit` events after the id `after`, and the id to go on
    from (None on the last page)."""
    query = with_actor(select(*EVENT_READ_COLUMNS)).where(
        TicketEvent.ticket_id == ticket.id, TicketEvent.id > after
    )
    condition = _internal_visible(principal, TicketEvent.internal, TicketEvent.organization_id)
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
    condition = _internal_visible(principal, TicketComment.internal, TicketComment.organization_id)
    if condition is not None:
        query = query.where(condition)
    rows = session.scalars(query.order_by(TicketComment.id).limit(limit + 1)).all()
    return rows[:limit], (rows[limit - 1].id if len(rows) > limit else None)


def add_follow_up(
    session: Session, principal: Principal, ticket: Ticket, data: FollowUpCreate
) -> FollowUp:
    if not _is_staff_side(principal) or (
        principal.role == Role.provider_staff
        and ticket.organization_id != principal.organization_id
    ):
        raise InvalidTransition("Follow-up visits are recorded by the provider or the department.")
    if ticket.status not in (Status.resolved, Status.closed):
        raise InvalidTransition("Follow-up visits come after the ticket is resolved.")
    now = utcnow()
    follow_up = FollowUp(
        ticket_id=ticket.id,
        method=data.method,
        satisfied=data.satisfied,
        note=data.note,
        created_by_id=principal.user_id,
        organization_id=ticket.organization_id,
        created_at=now,
    )
    session.add(follow_up)
    session.flush()
    record_event(
        session,
        ticket,
        "ticket.followed_up",
        principal.user_id,
        data={
            "follow_up_id": follow_up.id,
            "method": str(data.method),
            "satisfied": data.satisfied,
        },
        at=now,
    )
    session.flush()
    return follow_up
