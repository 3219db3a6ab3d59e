"""HTTP routes of /v1/tickets."""

import datetime as dt
import functools
import json
from dataclasses import dataclass
from typing import Annotated, Any

import pydantic_core
from fastapi import APIRouter, Body, Depends, Header, Path, Query, Request, Response
from pydantic import Field, StringConstraints, ValidationError
from sqlalchemy.orm import Session

from service.announcements import current as current_announcements
from service.auth import CurrentPrincipal, Principal, get_principal, principal_without_session
from service.config import Settings, SettingsDep
from service.db import (
    CommitInRoute,
    SessionDep,
    WriteSessionDep,
    begin_with_first_statement,
    begin_write,
    committing_in_thread,
    get_write_session,
    loop_sessions,
    on_loop,
    pipelined,
    read_statement_by_statement,
    request_session,
    utcnow,
)
from service.enums import Priority, Role, Status, TicketKind
from service.errors import (
    Conflict,
    Forbidden,
    IdempotencyKeyReused,
    Invalid,
    InvalidTransition,
    NotFound,
    PreconditionFailed,
    TooManyRequests,
    Unprocessable,
    responses,
)
from service.hotroute import HotRoute
from service.i18n import negotiate
from service.idempotency import service as idempotency
from service.pagination import decode_cursor, encode_cursor
from service.query import QueryModel, query_model
from service.ratelimit import hit as rate_limit_hit
from service.tickets import actions, filing, queries, search
from service.tickets import stream as feed_cursors
from service.tickets.duplicates import Duplicate
from service.tickets.models import Ticket
from service.tickets.schemas import (
    AssignBody,
    CheckInBody,
    CheckOutBody,
    CommentCreate,
    CommentPage,
    CommentRead,
    ConfirmBody,
    EmptyBody,
    EventPage,
    EventRead,
    FollowUpCreate,
    FollowUpRead,
    HoldBody,
    OptionalReasonBody,
    ReasonBody,
    ReclassifyBody,
    RejectBody,
    ResolveBody,
    TicketCreate,
    TicketCreated,
    TicketDuplicate,
    TicketPage,
    TicketRead,
)
from service.tickets.serialize import etag, json_response, page_response, ticket_dict
from service.tickets.stream import FeedPosition, head_cursor
from service.validation import MULTI_VALUED, Several

router = APIRouter(prefix="/v1/tickets", tags=["tickets"], route_class=CommitInRoute)

TicketId = Annotated[int, Path(gt=0, lt=2**63)]
ObjectId = Annotated[int, Field(gt=0, lt=2**31)]
CategoryCode = Annotated[str, StringConstraints(max_length=64, pattern=r"^[a-z_]+(\.[a-z_]+)*$")]
# A ticket's `number` as TicketRead shows it (LL261203-000123); case does not matter.
TicketNumber = Annotated[
    str, StringConstraints(max_length=32, pattern=r"^[A-Za-z0-9-]+$", to_upper=True)
]
# Characters of a search, surrounding spaces left out.
SEARCH_MAX_CHARS = 100
SEARCH_DESCRIPTION = (
    "Text search: the tickets whose title, description, building or unit hold every "
    "word of it. Chinese matches as written (`漏水`, `电梯困人`: two characters or "
    "more match where they stand together; one character, at the start of a word); "
    "other words (Uyghur, English, digits) match by their beginning, case aside "
    "(`سۇ` finds `سۇنى`, `led` finds `LED`). Not the room, names, phones nor "
    f"comments. 1-{SEARCH_MAX_CHARS} characters with at least one letter or digit. "
    "Combines with the other filters; newest first as always."
)
SEARCH_EXAMPLES = {
    "two characters": {"summary": "a two-character word", "value": "漏水"},
    "phrase": {"summary": "a longer phrase", "value": "电梯困人"},
    "uyghur": {"summary": "a Uyghur word", "value": "لىفت"},
    "words": {"summary": "several words, all of them", "value": "暖气 3号楼"},
}


def _check_if_match(ticket: Ticket, if_match: str | None) -> None:
    """412 when the client's copy is stale (RFC 9110 strong comparison)."""
    if if_match is None:
        return
    candidates = {tag.strip() for tag in if_match.split(",")}
    if "*" in candidates or etag(ticket) in candidates:
        return
    raise PreconditionFailed("ticket.version_conflict", etag=etag(ticket))


@dataclass(frozen=True, slots=True)
class TicketToWrite:
    """The ticket a write names, loaded by the endpoint (`load()`) in its own
    thread. Not by a sync dependency: that runs in a thread of its own and
    would keep the ticket's connection while the endpoint waits for another."""

    session: Session
    principal: Principal
    ticket_id: int
    if_match: str | None

    def load(self) -> Ticket:
        """The visible ticket (404 otherwise), current as the client says (412 otherwise)."""
        ticket = queries.get_visible_ticket(self.session, self.principal, self.ticket_id)
        _check_if_match(ticket, self.if_match)
        return ticket


async def writable_ticket(
    ticket_id: TicketId,
    principal: CurrentPrincipal,
    session: WriteSessionDep,
    if_match: Annotated[str | None, Header(alias="If-Match")] = None,
) -> TicketToWrite:
    return TicketToWrite(session, principal, ticket_id, if_match)


WritableTicket = Annotated[TicketToWrite, Depends(writable_ticket)]


def _headers(ticket: Any, **extra: str) -> dict[str, str]:
    return {"ETag": etag(ticket), "Cache-Control": "private, no-cache", **extra}


_HOUR = dt.timedelta(hours=1)
ACCEPT_LANGUAGE_MAX = 200


def _creation_limit(principal: Principal, settings: Settings) -> int:
    """Tickets per hour for this caller: an API key files for a whole
    organisation's call centre, a person for themselves or their rounds."""
    if principal.api_key_id is not None:
        return settings.tickets_per_hour_api_key
    return settings.tickets_per_hour


def _duplicate_response(session: Session, principal: Principal, duplicate: Duplicate) -> Any:
    """(body, headers) of the answer naming the ticket filed before."""
    row = queries.get_visible_ticket_json(session, principal, duplicate.ticket_id)
    content = json.loads(row.body)
    announcements = current_announcements.current_in(session, content["community_id"], utcnow())
    content |= {"announcements": announcements, "duplicate_of": duplicate.ticket_id}
    headers = _headers(row, Location=f"/v1/tickets/{duplicate.ticket_id}")
    return pydantic_core.to_json(content), headers


@router.post(
    "",
    status_code=201,
    response_model=TicketCreated,
    responses={
        **responses(NotFound, Conflict, IdempotencyKeyReused, TooManyRequests),
        200: {
            "model": TicketDuplicate,
            "description": "The same report filed minutes ago by the same person: that "
            "ticket, with `duplicate_of`; nothing was created",
        },
    },
)
def create_ticket(
    data: TicketCreate,
    principal: CurrentPrincipal,
    session: WriteSessionDep,
    settings: SettingsDep,
    idempotency_key: Annotated[
        str | None,
        Header(alias="Idempotency-Key", description="Retry-safe: same key, same ticket"),
    ] = None,
    accept_language: Annotated[
        str | None, Header(alias="Accept-Language", max_length=ACCEPT_LANGUAGE_MAX)
    ] = None,
) -> Any:
    claim = None
    if idempotency_key is not None:
        claim = idempotency.Claim(
            owner=principal.owner_key,
            key=idempotency.validate_key(idempotency_key),
            request_hash=idempotency.fingerprint(data.model_dump_json().encode()),
        )
    window = dt.timedelta(minutes=settings.duplicate_window_minutes)
    # The filing context's SELECT goes with the BEGIN: one round trip fewer.
    begin_with_first_statement(session)
    for _attempt in range(2):
        over_limit = None
        with pipelined(session):
            filed = filing.create_ticket(
                session,
                principal,
                data,
                timezone=settings.timezone,
                claim=claim,
                duplicate_window=window,
                language=negotiate(accept_language),
            )
            if isinstance(filed, idempotency.Replay):
                return json_response(
                    filed.body,
                    filed.status,
                    {**filed.headers, "Idempotent-Replayed": "true"},
                )
            if isinstance(filed, Duplicate):
                # Nothing new: 200, and no hit on the caller's hourly quota.
                status = 200
                body, headers = _duplicate_response(session, principal, filed)
            else:
                status = 201
                ticket = filed.ticket
                body = pydantic_core.to_json(
                    {
                        **ticket_dict(ticket, data.category),
                        "announcements": filed.announcements,
                    }
                )
                headers = _headers(ticket, Location=f"/v1/tickets/{ticket.id}")
                # Counted with the INSERTs, in the same round trip (ratelimit).
                over_limit = rate_limit_hit(
                    session,
                    f"tickets:{principal.owner_key}",
                    _creation_limit(principal, settings),
                    _HOUR,
                    code="ratelimit.tickets",
                )
            stored = None
            if claim is not None:
                stored = idempotency.store(
                    session,
                    claim,
                    status=status,
                    body=body,
                    headers=headers,
                    ttl=dt.timedelta(hours=settings.idempotency_ttl_hours),
                )
        if over_limit is not None:
            over_limit()  # 429: raised before the commit, so nothing stays
        if stored is None or stored():
            return Response(body, status, headers, media_type="application/json")
        # A request with the same key committed while this one took its lock
        # (idempotency/service.py): undo, and find its response.
        session.rollback()
        begin_write(session)
    raise AssertionError("the key's stored response vanished")


def list_tickets(
    principal: CurrentPrincipal,
    session: SessionDep,
    status: Annotated[Several[Status] | None, Query(description=MULTI_VALUED)] = None,
    kind: Annotated[Several[TicketKind] | None, Query(description=MULTI_VALUED)] = None,
    category: Annotated[
        Several[CategoryCode] | None,
        Query(description="a code matches itself and the codes below it; " + MULTI_VALUED),
    ] = None,
    community_id: Annotated[Several[ObjectId] | None, Query(description=MULTI_VALUED)] = None,
    organization_id: Annotated[Several[ObjectId] | None, Query(description=MULTI_VALUED)] = None,
    assignee_id: Annotated[Several[ObjectId] | None, Query(description=MULTI_VALUED)] = None,
    priority: Annotated[Several[Priority] | None, Query(description=MULTI_VALUED)] = None,
    created_from: dt.datetime | None = None,
    created_to: dt.datetime | None = None,
    breached: bool | None = None,
    number: Annotated[
        Several[TicketNumber] | None,
        Query(
            description="The tickets of these numbers (`LL261203-000123`), exactly; "
            + MULTI_VALUED,
            openapi_examples={"number": {"summary": "one ticket", "value": "LL261203-000123"}},
        ),
    ] = None,
    q: Annotated[
        str | None, Query(description=SEARCH_DESCRIPTION, openapi_examples=SEARCH_EXAMPLES)
    ] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
) -> Any:
    for name, value in (("created_from", created_from), ("created_to", created_to)):
        if value is not None and value.tzinfo is None:
            raise Unprocessable(
                "validation.time_zone_needed", errors=[Invalid(name, "validation.give_offset")]
            )
        if value is not None and not 2000 < value.year < 2100:
            raise Unprocessable(
                "ticket.times_out_of_range", errors=[Invalid(name, "ticket.never_filed_then")]
            )
    filters = queries.TicketFilters(
        status=_values(status),
        kind=_values(kind),
        category=_values(category),
        community_id=_values(community_id),
        organization_id=_values(organization_id),
        assignee_id=_values(assignee_id),
        priority=_values(priority),
        created_from=created_from,
        created_to=created_to,
        breached=breached,
        number=_values(number),
        search=_search_terms(q),
    )
    # Providers get the feed's cursor as of the list's own snapshot: following the
    # feed from it after processing the list misses nothing (service/feed).
    provider = principal.role == Role.provider_staff
    look = functools.partial(
        queries.list_tickets, session, principal, filters, cursor=cursor, limit=limit
    )
    page = look(feed_head=provider)
    feed_cursor = None
    if provider and page.feed_head is None:
        # Nothing listed, so no horizon from the list's own statement. The head
        # first, then a second look: a ticket committed after the first look is
        # in the second, or after the head (stream.head_cursor); a head read
        # after an empty list alone would skip it.
        feed_cursor = head_cursor(session)
        page = look(feed_head=True)
    if provider and page.feed_head is not None:
        feed_cursor = _feed_cursor(session, page.feed_head)
    return page_response(page.items, page.next_cursor, feed_cursor)


# The list's query parameters in one validation (service/query.py: ~220 µs of
# FastAPI's per-parameter handling a page, ~16% of its CPU). list_tickets stays
# the declared, documented route; serve_list_tickets, ahead of it and out of the
# document, takes the requests (Starlette serves the first route that matches).
ListQuery = query_model(list_tickets, skip=("principal", "session"))


def serve_list_tickets(
    principal: CurrentPrincipal,
    session: SessionDep,
    query: Annotated[QueryModel, Depends(ListQuery.parse)],
) -> Any:
    return list_tickets(principal, session, **dict(query))


router.add_api_route(
    "",
    serve_list_tickets,
    methods=["GET"],
    response_model=TicketPage,
    responses=responses(),
    include_in_schema=False,
)
router.add_api_route(
    "", list_tickets, methods=["GET"], response_model=TicketPage, responses=responses()
)


# The two hottest requests without FastAPI's dependency solving (service/hotroute.py):
# the same dependencies and endpoints, called directly; service.main puts the
# route first. Whatever a handler declines goes on to the declared route.
_create_endpoint = committing_in_thread(create_ticket)
_list_endpoint = committing_in_thread(serve_list_tickets)


async def _hot_create(request: Request) -> Response | None:
    data = await _ticket_body(request)
    language = request.headers.get("accept-language")
    if data is None or (language is not None and len(language) > ACCEPT_LANGUAGE_MAX):
        return None
    settings = request.app.state.settings
    arguments = {
        "data": data,
        "settings": settings,
        "idempotency_key": request.headers.get("idempotency-key"),
        "accept_language": language,
    }
    sessions = loop_sessions(request)
    if sessions is not None:
        # PostgreSQL: on the event loop, no worker thread (service.db.on_loop).
        principal = await principal_without_session(request, settings)
        filed: Response = await on_loop(
            sessions, request, create_ticket, principal=principal, **arguments
        )
        return filed
    async with request_session(request) as session:
        principal = await get_principal(request, session, settings)
        response: Response = await _create_endpoint(
            principal=principal, session=await get_write_session(session), **arguments
        )
    return response


async def _ticket_body(request: Request) -> TicketCreate | None:
    """The body as FastAPI reads a JSON one (json.loads, then the model), when it
    is JSON and valid; None otherwise, for FastAPI to say what is wrong."""
    content_type = request.headers.get("content-type", "application/json")
    if content_type.partition(";")[0].strip().lower() != "application/json":
        return None
    body = await request.body()
    try:
        return TicketCreate.model_validate(json.loads(body))
    except (ValueError, ValidationError):  # JSONDecodeError and UnicodeDecodeError too
        return None


async def _hot_list(request: Request) -> Response:
    async with request_session(request) as session:
        principal = await get_principal(request, session, request.app.state.settings)
        read_statement_by_statement(session)
        response: Response = await _list_endpoint(
            principal=principal, session=session, query=await ListQuery.parse(request)
        )
    return response


hot_route = HotRoute("/v1/tickets", {"POST": _hot_create, "GET": _hot_list})


def _search_terms(q: str | None) -> tuple[tuple[str, bool], ...]:
    """The terms of `q` (tickets/search.py); 422 when there is nothing to search."""
    if q is None:
        return ()
    q = q.strip()
    if len(q) > SEARCH_MAX_CHARS:
        raise Unprocessable(
            "ticket.search_unusable",
            errors=[Invalid("q", "ticket.search_too_long", max=SEARCH_MAX_CHARS)],
        )
    terms = search.query_terms(q)
    if not terms:
        raise Unprocessable(
            "ticket.search_unusable", errors=[Invalid("q", "ticket.search_no_words")]
        )
    return tuple(terms)


def _values(values: list[Any] | None) -> tuple[Any, ...]:
    # Sorted and without repeats: the filters are the key of a cached statement.
    return tuple(sorted(set(values or ())))


def _feed_cursor(session: Session, head: int) -> str:
    """head_cursor's cursor, from the horizon the page's statement read."""
    at = int(utcnow().timestamp())
    if session.get_bind().dialect.name == "postgresql":
        return feed_cursors.encode(FeedPosition(head, 0, at))
    return feed_cursors.encode(FeedPosition(0, head, at))


@router.get(
    "/{ticket_id}",
    response_model=TicketRead,
    responses={
        **responses(NotFound),
        304: {"description": "Not Modified: If-None-Match names the current ETag"},
    },
)
def get_ticket(
    ticket_id: TicketId,
    principal: CurrentPrincipal,
    session: SessionDep,
    if_none_match: Annotated[str | None, Header(alias="If-None-Match")] = None,
) -> Any:
    row = queries.get_visible_ticket_json(session, principal, ticket_id)
    if if_none_match is not None and etag(row) in {t.strip() for t in if_none_match.split(",")}:
        return Response(status_code=304, headers={"ETag": etag(row)})
    return Response(row.body.encode(), headers=_headers(row), media_type="application/json")


def _act(
    session: Session,
    principal: Principal,
    ticket: Ticket,
    action: str,
    body: Any,
    settings: Settings,
) -> Response:
    actions.perform(
        session,
        principal,
        ticket,
        action,
        body,
        reopen_window=dt.timedelta(days=settings.reopen_window_days),
        timezone=settings.timezone,
        urge_interval=dt.timedelta(minutes=settings.urge_interval_minutes),
    )
    return json_response(
        ticket_dict(ticket, queries.category_code(session, ticket)), headers=_headers(ticket)
    )


_ACTION_ERRORS = responses(NotFound, InvalidTransition, PreconditionFailed)
# Only assign can be forbidden: a dispatcher naming another organisation.
_ASSIGN_ERRORS = responses(NotFound, InvalidTransition, PreconditionFailed, Forbidden)
# Urging again within LINLI_URGE_INTERVAL_MINUTES: 429 with Retry-After.
_URGE_ERRORS = responses(NotFound, InvalidTransition, PreconditionFailed, TooManyRequests)
_ACTION_BODIES: dict[str, tuple[type, bool]] = {
    # action: (body schema, body required)
    "assign": (AssignBody, True),
    "accept": (EmptyBody, False),
    "start": (EmptyBody, False),
    "hold": (HoldBody, True),
    "resume": (EmptyBody, False),
    "resolve": (ResolveBody, False),
    "confirm": (ConfirmBody, True),
    "reopen": (ReasonBody, True),
    "cancel": (OptionalReasonBody, False),
    "return": (ReasonBody, True),
    "reject": (RejectBody, True),
    "urge": (EmptyBody, False),
    # Visits (care plans' tickets): POST /v1/tickets/{id}/check-in, /check-out.
    "check_in": (CheckInBody, False),
    "check_out": (CheckOutBody, False),
}
_ACTION_ERROR_SETS = {"assign": _ASSIGN_ERRORS, "urge": _URGE_ERRORS}
_SUMMARIES = {
    "check_in": "Check in to a visit (the carer has arrived)",
    "check_out": "Check out of a visit (done; photos as proof; a 探访's outcome)",
}


def _make_action_route(action: str, schema: type, required: bool) -> None:
    if required:

        def endpoint(
            ticket: WritableTicket,
            principal: CurrentPrincipal,
            session: WriteSessionDep,
            settings: SettingsDep,
            body: Annotated[schema, Body()],  # type: ignore[valid-type]
        ) -> Response:
            return _act(session, principal, ticket.load(), action, body, settings)

    else:

        def endpoint(  # type: ignore[misc]
            ticket: WritableTicket,
            principal: CurrentPrincipal,
            session: WriteSessionDep,
            settings: SettingsDep,
            body: Annotated[schema | None, Body()] = None,  # type: ignore[valid-type]
        ) -> Response:
            return _act(session, principal, ticket.load(), action, body or schema(), settings)

    endpoint.__name__ = f"{action}_ticket" if not action.startswith("check") else f"{action}_visit"
    router.add_api_route(
        f"/{{ticket_id}}/{action.replace('_', '-')}",
        endpoint,
        methods=["POST"],
        response_model=TicketRead,
        responses=_ACTION_ERROR_SETS.get(action, _ACTION_ERRORS),
        summary=_SUMMARIES.get(action, f"{action.capitalize()} a ticket"),
    )


for _action, (_schema, _required) in _ACTION_BODIES.items():
    _make_action_route(_action, _schema, _required)


@router.patch(
    "/{ticket_id}",
    response_model=TicketRead,
    responses=responses(NotFound, InvalidTransition, PreconditionFailed),
)
def reclassify_ticket(
    body: ReclassifyBody,
    ticket: WritableTicket,
    principal: CurrentPrincipal,
    session: WriteSessionDep,
    settings: SettingsDep,
) -> Response:
    """Change priority or category (admins; the assigned organisation's dispatchers).
    The SLA policy is chosen again and `respond_by` / `resolve_by` recomputed."""
    loaded = ticket.load()
    actions.reclassify(session, principal, loaded, body, timezone=settings.timezone)
    return json_response(
        ticket_dict(loaded, queries.category_code(session, loaded)), headers=_headers(loaded)
    )


@router.post(
    "/{ticket_id}/comments",
    status_code=201,
    response_model=CommentRead,
    responses=responses(NotFound, Forbidden, PreconditionFailed, TooManyRequests),
)
def add_comment(
    data: CommentCreate,
    ticket: WritableTicket,
    principal: CurrentPrincipal,
    session: WriteSessionDep,
    settings: SettingsDep,
) -> CommentRead:
    comment = actions.add_comment(
        session, principal, ticket.load(), data, per_hour=settings.comments_per_hour
    )
    return CommentRead.model_validate(comment, from_attributes=True)


PageLimit = Annotated[int, Query(ge=1, le=200)]


@router.get("/{ticket_id}/comments", response_model=CommentPage, responses=responses(NotFound))
def list_comments(
    ticket_id: TicketId,
    principal: CurrentPrincipal,
    session: SessionDep,
    cursor: str | None = None,
    limit: PageLimit = 100,
) -> CommentPage:
    """Oldest first, `limit` at a time: pass `next_cursor` back as `cursor`."""
    ticket = queries.get_visible_ticket(session, principal, ticket_id)
    after = decode_cursor("c", cursor) if cursor else 0
    comments, last = queries.list_comments(session, principal, ticket, after=after, limit=limit)
    return CommentPage(
        items=[CommentRead.model_validate(c, from_attributes=True) for c in comments],
        next_cursor=None if last is None else encode_cursor("c", last),
    )


@router.get("/{ticket_id}/events", response_model=EventPage, responses=responses(NotFound))
def list_events(
    ticket_id: TicketId,
    principal: CurrentPrincipal,
    session: SessionDep,
    cursor: str | None = None,
    limit: PageLimit = 100,
) -> EventPage:
    """The timeline, oldest first, `limit` at a time: pass `next_cursor` back as `cursor`."""
    ticket = queries.get_visible_ticket(session, principal, ticket_id)
    after = decode_cursor("e", cursor) if cursor else 0
    events, last = queries.list_events(session, principal, ticket, after=after, limit=limit)
    return EventPage(
        items=[EventRead.model_validate(e) for e in events],
        next_cursor=None if last is None else encode_cursor("e", last),
    )


@router.post(
    "/{ticket_id}/follow-ups",
    status_code=201,
    response_model=FollowUpRead,
    responses=responses(NotFound, InvalidTransition, PreconditionFailed),
)
def add_follow_up(
    data: FollowUpCreate,
    ticket: WritableTicket,
    principal: CurrentPrincipal,
    session: WriteSessionDep,
) -> FollowUpRead:
    follow_up = actions.add_follow_up(session, principal, ticket.load(), data)
    return FollowUpRead.model_validate(follow_up, from_attributes=True)
