"""Filing a ticket, the hot write path: what the new ticket needs from the
database in one round trip (with an Idempotency-Key, the key's claim and stored
response), then the ticket and its first event written through the driver.
It takes the session and the principal and never commits."""

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

from sqlalchemy import JSON, bindparam, case, func, literal_column, select, true
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session

from service.announcements import current as current_announcements
from service.attachments import service as attachments
from service.auth import Principal
from service.categories.models import Category
from service.db import DriverQuery, driver_execute, driver_one, driver_query, utcnow
from service.directory.models import Community, ProviderAssignment
from service.dispatch import service as dispatch
from service.dispatch.models import DispatchMode
from service.enums import Priority, Role, ServiceKind, Status, TicketKind
from service.errors import Invalid, NotFound, Unprocessable
from service.idempotency import service as idempotency
from service.scope import (
    SCOPE_PARAMS,
    elders_to_file_for,
    parametric,
    scope_values,
    visible,
)
from service.sla import clock
from service.sla.models import SlaConfigVersion
from service.sla.policy import config_with_category, load_config
from service.telemetry import instruments
from service.tickets import duplicates
from service.tickets.duplicates import Duplicate
from service.tickets.models import NewTicket, Ticket, TicketEvent
from service.tickets.queries import active_category
from service.tickets.schemas import TicketCreate
from service.tickets.search import ticket_terms
from service.tickets.stream import FEED_ORGANIZATIONS
from service.users.models import User


def _visible_community(session: Session, principal: Principal, community_id: int) -> Community:
    community = session.scalar(
        select(Community).where(Community.id == community_id, visible(principal, Community))
    )
    if community is None:
        raise NotFound("community.not_found", id=community_id)
    return community


def _resident_by_phone(session: Session, community_id: int, phone: str) -> User | None:
    return session.scalar(
        select(User)
        .where(User.community_id == community_id, User.role == Role.resident, User.phone == phone)
        .limit(1)
    )


def _check_elder(session: Session, principal: Principal, data: TicketCreate) -> None:
    """The elder named must be one the caller may file for (scope.elders_to_file_for),
    living in the ticket's community: 422 on `elder_id` otherwise (an elder one
    cannot see is no different from one that does not exist)."""
    elders = elders_to_file_for(principal).subquery()
    community_id = session.scalar(select(elders.c.community_id).where(elders.c.id == data.elder_id))
    if community_id is None:
        raise Unprocessable(
            "ticket.elder_unfit",
            errors=[Invalid("elder_id", "ticket.elder_not_yours", id=data.elder_id)],
        )
    if community_id != data.community_id:
        raise Unprocessable(
            "ticket.elder_unfit",
            errors=[Invalid("elder_id", "ticket.elder_other_community", id=data.elder_id)],
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
    dispatch_mode: str | None
    announced: bool


@functools.lru_cache(maxsize=512)
def _filing_statement(
    dialect: str,
    role: Role,
    region_path: str | None,
    with_claim: bool,
    with_duplicates: bool,
    for_elder: bool = False,
) -> Any:
    """The filing-context SELECT for principals of this role (and region), the
    request's values and the principal's ids left as bind parameters. Built once
    and kept: SQLAlchemy memoises a statement's cache key on the object, and
    building it and its key per request was a quarter of a creation's CPU
    (py-spy --gil); built per person, thousands of residents filing each rebuilt
    it (half of a creation's CPU in bench/run.py's pool of residents).
    `visible()` still scopes it; `for_elder`: the community is the elder's, whom
    `_elder_community` found visible (a family proxy files for a parent who lives
    in another community than theirs)."""
    principal = parametric(role, region_path)
    service_kind = case(
        (Category.kind == TicketKind.elderly_care, ServiceKind.elderly_care.value),
        else_=ServiceKind.property.value,
    )
    serving_select = select(ProviderAssignment.organization_id).where(
        ProviderAssignment.community_id == Community.id,
        ProviderAssignment.kind == service_kind,
        ProviderAssignment.current.is_(True),
    )
    serving = serving_select.scalar_subquery()
    if dialect == "postgresql":
        next_id: Any = literal_column("nextval(pg_get_serial_sequence('ticket', 'id'))")
    else:
        # One writer at a time (write requests hold BEGIN IMMEDIATE): max + 1 is safe.
        next_id = select(func.coalesce(func.max(Ticket.id), 0) + 1).scalar_subquery()
    claimed: list[Any] = []
    if with_claim:
        claimed, key_table, key_on = idempotency.claim_columns(dialect)
    if with_duplicates:
        claimed.append(duplicates.earlier_column())
    query = (
        select(
            Community.id,
            Community.region_path,
            Category.id.label("category_id"),
            Category.code,
            Category.kind,
            Category.default_priority,
            serving.label("organization_id"),
            # The serving organisation's mode for this category (NULL: manual):
            # a primary-key probe in the same round trip.
            dispatch.mode_column(
                serving_select.correlate(Community, Category).scalar_subquery(), Category.code
            ).label("dispatch_mode"),
            next_id.label("ticket_id"),
            # Whether the community is being told something now (an index probe):
            # only then does the answer's list of announcements take a query.
            current_announcements.announced(Community.id, bindparam("filing_now")).label(
                "announced"
            ),
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
            true() if for_elder else visible(principal, Community),
            Category.code == bindparam("filing_category"),
            Category.active,
        )
    )
    if with_claim:
        query = query.outerjoin(key_table, key_on)
    return query


_FILING_PARAMS = (
    "filing_community_id",
    "filing_category",
    "filing_now",
    *SCOPE_PARAMS,
    *idempotency.CLAIM_PARAMS,
    *duplicates.PARAMS,
)


@functools.lru_cache(maxsize=512)
def _filing_query(
    dialect: Dialect,
    role: Role,
    region_path: str | None,
    with_claim: bool,
    with_duplicates: bool,
    for_elder: bool = False,
) -> DriverQuery:
    statement = _filing_statement(
        dialect.name, role, region_path, with_claim, with_duplicates, for_elder
    )
    return driver_query(dialect, statement, _FILING_PARAMS)


def _filing_context(
    session: Session,
    principal: Principal,
    data: TicketCreate,
    claim: idempotency.Claim | None,
    duplicate: dict[str, Any] | None,
    now: dt.datetime,
) -> _Filing | idempotency.Replay | Duplicate:
    """Everything a new ticket needs from the database, in one round trip: the
    community (if visible), the active category, who serves that community for
    that kind of work, and the new ticket's id; with an Idempotency-Key also the
    key's lock and stored response (idempotency.claim_columns), which win over
    everything else; with `duplicate` (duplicates.params) the same report filed
    moments ago. Creation is the hot write path, and under load every round
    trip costs more than the Python around it."""
    dialect = session.get_bind().dialect
    query = _filing_query(
        dialect,
        principal.role,
        principal.region_path,
        claim is not None,
        duplicate is not None,
        data.elder_id is not None,
    )
    params = {
        "filing_community_id": data.community_id,
        "filing_category": data.category,
        "filing_now": now,
        **scope_values(principal),
    }
    if claim is not None:
        params.update(idempotency.claim_params(claim))
    if duplicate is not None:
        params.update(duplicate)
    values = driver_one(session, query, params)
    row = None if values is None else SimpleNamespace(**values)
    if row is not None and claim is not None:
        replay = idempotency.resolve(session, claim, row)
        if replay is not None:
            return replay
    if row is not None and duplicate is not None and row.duplicate_id is not None:
        return Duplicate(int(row.duplicate_id))
    if row is None:
        if claim is not None:
            replay = idempotency.begin(
                session, owner=claim.owner, key=claim.key, request_hash=claim.request_hash
            )
            if replay is not None:
                return replay
        # Say which one was wrong; the error path may take another query or two.
        if data.elder_id is None:  # else the community is the elder's, checked
            _visible_community(session, principal, data.community_id)
        active_category(session, data.category)
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
        dispatch_mode=row.dispatch_mode,
        announced=bool(row.announced),
    )


@dataclass(frozen=True, slots=True)
class Filed:
    """A new ticket, and the announcements shown in its community as it was filed
    (the answer lists them: AnnouncementBrief dicts, usually none)."""

    ticket: NewTicket
    announcements: list[dict[str, Any]]


def create_ticket(
    session: Session,
    principal: Principal,
    data: TicketCreate,
    *,
    timezone: str,
    claim: idempotency.Claim | None = None,
    duplicate_window: dt.timedelta | None = None,
    language: str | None = None,
) -> Filed | idempotency.Replay | Duplicate:
    """File a ticket: the new ticket (written, not in the session's identity map:
    load it to change it) with its community's current announcements, the stored
    response to replay for `claim`, or, within `duplicate_window` of the same
    report by the same person, that ticket (duplicates.py).

    The INSERTs of the ticket and its first event go through the driver (no unit
    of work: ~40% of a creation's CPU went to it); inside db.pipelined they and
    whatever the caller adds reach PostgreSQL in one round trip."""
    if principal.role == Role.resident:
        if data.on_behalf_of is not None:
            raise Unprocessable(
                "ticket.residents_file_for_themselves",
                errors=[Invalid("on_behalf_of", "ticket.on_behalf_staff_only")],
            )
    elif data.on_behalf_of is None and data.elder_id is None:
        raise Unprocessable(
            "ticket.say_for_whom", errors=[Invalid("on_behalf_of", "ticket.on_behalf_required")]
        )
    now = utcnow()
    duplicate_key = None
    duplicate = None
    if duplicate_window and duplicates.matches(principal):
        duplicate_key = duplicates.fingerprint(principal, data)
        duplicate = duplicates.params(principal, duplicate_key, now, duplicate_window)
    if data.elder_id is not None:
        # Only with an elder: one more statement, before the filing context.
        _check_elder(session, principal, data)
    filing = _filing_context(session, principal, data, claim, duplicate, now)
    if isinstance(filing, idempotency.Replay | Duplicate):
        return filing
    # Only when there are some: one more query, before the writes.
    announcements = (
        current_announcements.current_in(session, filing.community_id, now)
        if filing.announced
        else []
    )
    if data.elder_id is not None and filing.kind != TicketKind.elderly_care:
        raise Unprocessable.on("elder_id", "ticket.elder_needs_care_category")
    priority = data.priority or filing.default_priority
    config = load_config(session, timezone, filing.sla_stamp)
    config = config_with_category(session, config, filing.category_id, timezone)

    reporter_id: int | None = principal.user_id
    reporter_name: str | None = principal.name
    if data.on_behalf_of is not None:
        resident = _resident_by_phone(session, filing.community_id, data.on_behalf_of.phone)
        reporter_id = resident.id if resident else None
        reporter_name = data.on_behalf_of.name

    # Only with photos: one more round trip, which claims (and locks) them.
    photos = attachments.claim(session, principal, data.attachment_ids)
    organization_id = filing.organization_id
    assignee_id = None
    if organization_id is not None and filing.dispatch_mode == DispatchMode.round_robin:
        # Only in round-robin: one more round trip, which takes the technician.
        assignee_id = dispatch.next_technician(session, organization_id, now)
    location = data.location
    ticket_id = filing.ticket_id
    ticket = NewTicket(
        id=ticket_id,
        number=ticket_number(ticket_id, now, timezone),
        kind=filing.kind,
        category_id=filing.category_id,
        priority=priority,
        status=Status.assigned if organization_id else Status.submitted,
        community_id=filing.community_id,
        region_path=filing.region_path,
        organization_id=organization_id,
        assignee_id=assignee_id,
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
        # Written with the ticket (the driver's INSERT skips the ORM's events).
        search_terms=ticket_terms(
            data.title,
            data.description,
            location.building if location else None,
            location.unit if location else None,
        ),
        contact_phone=data.contact_phone,
        preferred_from=data.preferred_time.from_ if data.preferred_time else None,
        preferred_to=data.preferred_time.to if data.preferred_time else None,
        attachments=[attachments.link_dict(a, "ticket") for a in photos],
        language=language,
        created_at=now,
        updated_at=now,
        paused_seconds=0,
        response_breached=False,
        resolution_breached=False,
        reopen_count=0,
        urge_count=0,
        last_urged_at=None,
        duplicate_key=duplicate_key,
        elder_id=data.elder_id,
        care_plan_id=None,
        scheduled_for=None,
        plan_occurrence=None,
        government_share_percent=None,
        response_escalation_level=0,
        resolution_escalation_level=0,
        version=1,
    )
    policy = config.policy_for(filing.kind, filing.category_id, priority, filing.region_path)
    clock.start(ticket, policy, now)
    _insert_ticket(session, ticket)
    for photo in photos:
        driver_execute(
            session,
            _LINK_ATTACHMENT,
            {"id": photo.id, "ticket_id": ticket_id, "linked_at": now},
        )
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
    if assignee_id is not None:
        driver_execute(
            session,
            _INSERT_EVENT,
            {
                "ticket_id": ticket_id,
                "type": "ticket.dispatched",
                "actor_id": None,
                "to_status": str(ticket.status),
                "organization_id": organization_id,
                "internal": False,
                "data": json.dumps(
                    {
                        "organization_id": organization_id,
                        "assignee_id": assignee_id,
                        "mode": str(DispatchMode.round_robin),
                    }
                ),
                "created_at": now,
            },
        )
    if organization_id is not None:
        # As record_event does: wake this process's feed long-polls after commit.
        session.info.setdefault(FEED_ORGANIZATIONS, set()).add(organization_id)
    instruments.ticket_created(session, filing.kind)  # counted on commit, no query
    return Filed(ticket, announcements)


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


_LINK_ATTACHMENT = {
    "postgresql": "UPDATE attachment SET ticket_id = %(ticket_id)s, linked_as = 'ticket', "
    "linked_at = %(linked_at)s WHERE id = %(id)s",
    "sqlite": "UPDATE attachment SET ticket_id = :ticket_id, linked_as = 'ticket', "
    "linked_at = :linked_at WHERE id = :id",
}


def _insert_ticket(session: Session, ticket: NewTicket) -> None:
    params = dict(vars(ticket))
    for name, value in params.items():
        if name in _JSON_COLUMNS:
            params[name] = json.dumps(value)  # None too: the ORM stores a JSON null
        elif isinstance(value, enum.Enum):
            params[name] = value.value
    driver_execute(session, _INSERT_TICKET, params)
