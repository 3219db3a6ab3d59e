"""The same-work ceiling: Linli's own statements through the bare async driver.

bench/ceiling.py is the least a service can do for a request: one narrow INSERT,
one 50-row read. This one does exactly the database work Linli does for the two
requests the benchmark compares most (issue 20), and nothing else:

- POST /v1/tickets (a resident's JWT, an Idempotency-Key, a JSON body): the
  token verified with PyJWT as service/auth.py does (same secret, algorithm and
  required claims; on every request, ~50 us, where Linli checks only `exp` of a
  token it has seen); the principal looked up by Linli's user SELECT on first
  sight of its `sub` and kept for the life of the process; then in one
  transaction: BEGIN, the filing-context SELECT (tickets/filing.py, with the
  key's advisory lock and stored response and the duplicate lookup), INSERT
  ticket (all its columns), INSERT ticket_event, the hourly quota's UPSERT
  (ratelimit), INSERT idempotency_key with the 201's body and headers, COMMIT;
  answered 201 with the ticket's JSON;
- GET /v1/tickets?limit=N: BEGIN, the page's SELECT (tickets/queries.py: each
  ticket's JSON written by PostgreSQL, json_build_object; the feed's head for
  provider staff), COMMIT; answered as Linli's TicketPage.

The SQL text is Linli's, taken from its modules at import time (the compiled
filing and page statements, with the values bound when they were built, and
the driver INSERTs), so it cannot drift from what Linli sends; only psycopg's
%(name)s becomes asyncpg's $n, once (service.db.numbered, as Linli's own
filing on asyncpg does). asyncpg has no pipeline across statements: the
writes go one after another, in the same transaction and order, 7 round
trips, as Linli's filing on the event loop sends them (through psycopg, with
LINLI_DB_PREPARED_STATEMENTS=false, it sends 4).

What it leaves out, as the least a service can do: request validation beyond
the fields it reads; SLA deadlines in working time (Linli's business calendar:
here the chosen policy's minutes on the wall clock, the policy picked by Linli's
rule, so the row has the same columns filled); round-robin dispatch, photos,
filing on someone's behalf and for an elder, admins; a duplicate answers 200
with only its id, an expired stored response is not deleted; the feed's
wake-up, metrics, request logging. None of these occur in bench/run.py's load.

A plain ASGI callable (no framework), served by uvicorn with the same settings
as Linli in bench/run.py. PostgreSQL only. Configured like Linli, from its
environment (service.config.Settings: LINLI_DATABASE_URL, LINLI_JWT_SECRET, the
quota, the duplicate window, the time zone); the pool holds up to as many
connections as Linli's (service/db.py POSTGRES_POOL and POSTGRES_LOOP_POOL).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo

import asyncpg
import jwt
from sqlalchemy import bindparam, select
from sqlalchemy.dialects.postgresql.psycopg import dialect as psycopg_dialect

from service.config import Settings
from service.db import POSTGRES_LOOP_POOL, POSTGRES_POOL, driver_query, numbered
from service.enums import Role
from service.i18n import DEFAULT as LANGUAGE
from service.idempotency.service import _INSERT as _INSERT_KEY
from service.ratelimit import _UPSERT
from service.sla.policy import best_policy
from service.tickets.filing import _INSERT_EVENT, _INSERT_TICKET, _filing_query
from service.tickets.queries import TicketFilters, _page_query
from service.tickets.search import ticket_terms
from service.users.models import User

SETTINGS = Settings()
if not SETTINGS.database_url.startswith("postgresql"):
    raise SystemExit("the same-work ceiling runs on PostgreSQL only")
DSN = SETTINGS.database_url.replace("+psycopg", "")
DIALECT = psycopg_dialect()
ZONE = ZoneInfo(SETTINGS.timezone)
HOUR = 3600.0
DUPLICATE_WINDOW = dt.timedelta(minutes=SETTINGS.duplicate_window_minutes)
KEY_TTL = dt.timedelta(hours=SETTINGS.idempotency_ttl_hours)


# --- Linli's statements, numbered for asyncpg ----------------------------------


@dataclass(frozen=True)
class Statement:
    """A statement of Linli's in asyncpg's terms: `sql` with $n, the name of each
    $n's value, and the values Linli bound when it built the statement."""

    sql: str
    names: tuple[str, ...]
    values: dict[str, Any]

    def args(self, params: dict[str, Any]) -> list[Any]:
        given = {**self.values, **params}
        return [given[name] for name in self.names]


def statement(sql: str, values: dict[str, Any] | None = None) -> Statement:
    """psycopg's %(name)s as $1, $2 ... as Linli's own asyncpg connections take
    them (service.db.numbered)."""
    numbered_sql, names = numbered(sql)
    return Statement(numbered_sql, names, values or {})


def _driver(query: Any) -> Statement:
    return statement(query.sql["postgresql"], query.values)


def filled(statement: Statement, *given: str) -> Statement:
    """`statement`, once sure that the values below fill every parameter it takes:
    should Linli's statement take another, the ceiling refuses to start rather
    than answer 500s in the middle of a measurement."""
    missing = set(statement.names) - set(statement.values) - set(given)
    if missing:
        raise SystemExit(f"bench/ceiling_same.py does not fill {sorted(missing)}: {statement.sql}")
    return statement


SCOPE = ("scope_user_id", "scope_community_id", "scope_organization_id")
# The filing context of a resident's creation, with and without an
# Idempotency-Key, as Linli builds it (with the duplicate lookup when the
# window is on); the page of tickets of a resident and of provider staff.
FILING = {
    claim: filled(
        _driver(_filing_query(DIALECT, Role.resident, None, claim, bool(DUPLICATE_WINDOW))),
        *("filing_community_id", "filing_category", "filing_now", *SCOPE),
        *("idem_lock", "idem_owner", "idem_key", "dup_key", "dup_filer", "dup_since"),
    )
    for claim in (True, False)
}
PAGE = {
    role: filled(
        _driver(_page_query(DIALECT, role, None, TicketFilters(), False, feed)),
        *("page_limit", *SCOPE),
    )
    for role, feed in ((Role.resident, False), (Role.provider_staff, True))
}
INSERT_TICKET = statement(_INSERT_TICKET["postgresql"])  # filled by column name
INSERT_EVENT = filled(
    statement(_INSERT_EVENT["postgresql"]),
    *("ticket_id", "type", "actor_id", "to_status", "organization_id", "internal", "data"),
    "created_at",
)
UPSERT_QUOTA = filled(statement(_UPSERT["postgresql"]), "key", "end")
INSERT_KEY = filled(
    statement(_INSERT_KEY["postgresql"]),
    *("owner", "key", "request_hash", "status", "body", "headers", "now", "expires_at"),
)
# service/auth.py authenticate(): the user of a token's `sub`.
USER = _driver(driver_query(DIALECT, select(User).where(User.sub == bindparam("sub")), ("sub",)))
USER_NAMES = tuple(column.key for column in User.__table__.c)
TICKET_COLUMNS = INSERT_TICKET.names


# --- answers ------------------------------------------------------------------

Headers = list[tuple[bytes, bytes]]
JSON_TYPE = (b"content-type", b"application/json")


class Refused(Exception):
    """An answer other than success: status and code, as problem JSON."""

    def __init__(self, status: int, code: str, **headers: str) -> None:
        self.status, self.code, self.headers = status, code, headers


def _dumps(content: Any) -> bytes:
    return json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode()


def _instant(value: dt.datetime | None) -> str | None:
    """As pydantic-core writes an aware UTC datetime (Linli's responses)."""
    if value is None:
        return None
    if value.microsecond:
        return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


# --- who is calling -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Principal:
    user_id: int
    role: str
    community_id: int | None
    organization_id: int | None
    name: str


PRINCIPALS: dict[str, Principal] = {}
_JWT_OPTIONS: Any = {"require": ["sub", "role", "exp"]}
_JWT_CHECKS: dict[str, Any] = {}
if SETTINGS.jwt_audience:
    _JWT_CHECKS["audience"] = SETTINGS.jwt_audience
else:
    _JWT_OPTIONS["verify_aud"] = False
if SETTINGS.jwt_issuer:
    _JWT_CHECKS["issuer"] = SETTINGS.jwt_issuer


async def principal(pool: asyncpg.Pool, headers: dict[bytes, bytes]) -> Principal:
    scheme, _, token = headers.get(b"authorization", b"").decode().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Refused(401, "auth.missing")
    try:
        claims = jwt.decode(
            token.strip(),
            SETTINGS.jwt_secret or "",
            algorithms=["HS256"],
            options=_JWT_OPTIONS,
            **_JWT_CHECKS,
        )
    except jwt.PyJWTError as exc:
        raise Refused(401, "auth.token_invalid") from exc
    sub = claims["sub"]
    known = PRINCIPALS.get(sub)
    if known is not None:
        return known
    async with pool.acquire() as conn, conn.transaction():
        row = await conn.fetchrow(USER.sql, *USER.args({"sub": sub}))
    user = None if row is None else dict(zip(USER_NAMES, row, strict=True))
    # Linli provisions or updates a user whose claims differ: not in the ceiling.
    if (
        user is None
        or not user["active"]
        or user["role"] != claims["role"]
        or user["community_id"] != claims.get("community_id")
        or user["organization_id"] != claims.get("organization_id")
    ):
        raise Refused(401, "auth.unknown_to_the_ceiling")
    known = Principal(
        user["id"], user["role"], user["community_id"], user["organization_id"], user["name"]
    )
    PRINCIPALS[sub] = known
    return known


# --- SLA targets: Linli's choice of policy, the minutes on the wall clock ----------


@dataclass(frozen=True)
class Policy:
    id: int
    kind: str | None
    category: str | None
    priority: str | None
    respond_minutes: int | None
    resolve_minutes: int | None


POLICIES: list[Policy] = []
_chosen: dict[tuple[str, str, str], Policy | None] = {}


def policy_for(kind: str, code: str, priority: str) -> Policy | None:
    """Linli's own choice (service/sla/policy.py best_policy) over the policies'
    rows, once per (kind, category, priority)."""
    key = (kind, code, priority)
    if key not in _chosen:
        parts = code.split(".")
        chain = tuple(".".join(parts[:n]) for n in range(len(parts), 0, -1))
        # Policy has the fields best_policy reads; the enums are str enums.
        chosen = best_policy(POLICIES, kind, chain, priority)  # type: ignore[arg-type]
        _chosen[key] = chosen  # type: ignore[assignment]
    return _chosen[key]


# --- POST /v1/tickets -------------------------------------------------------------


def _norm(value: str | None) -> str | None:
    return None if value is None else " ".join(value.split())


def _signed64(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big", signed=True)


def _ticket_row(
    row: Any, data: dict[str, Any], who: Principal, now: dt.datetime, duplicate_key: int | None
) -> dict[str, Any]:
    """Every column of the new ticket, as create_ticket (tickets/filing.py) fills
    them for a resident's filing; the SLA targets on the wall clock."""
    ticket_id, organization_id = row["ticket_id"], row["organization_id"]
    priority = data.get("priority") or row["default_priority"]
    status = "assigned" if organization_id else "submitted"
    policy = policy_for(row["kind"], row["code"], priority)
    respond_by = resolve_by = None
    if policy is not None and policy.respond_minutes is not None:
        respond_by = now + dt.timedelta(minutes=policy.respond_minutes)
    if policy is not None and policy.resolve_minutes is not None:
        resolve_by = now + dt.timedelta(minutes=policy.resolve_minutes)
    deadlines = [d for d in (respond_by, resolve_by) if d is not None]
    location = data.get("location") or {}
    ticket = dict.fromkeys(TICKET_COLUMNS)
    ticket.update(
        id=ticket_id,
        number=f"LL{now.astimezone(ZONE):%y%m%d}-{ticket_id:06d}",
        kind=row["kind"],
        category_id=row["category_id"],
        priority=priority,
        status=status,
        community_id=row["id"],
        region_path=row["region_path"],
        organization_id=organization_id,
        reporter_id=who.user_id,
        reporter_name=who.name,
        filed_by_id=who.user_id,
        channel=data.get("channel") or "app",
        title=data.get("title"),
        description=data["description"],
        building=location.get("building"),
        unit=location.get("unit"),
        room=location.get("room"),
        area=location.get("area"),
        # As filing.py does: the search terms written with the ticket.
        search_terms=ticket_terms(
            data.get("title"), data["description"], location.get("building"), location.get("unit")
        ),
        contact_phone=data.get("contact_phone"),
        attachments="[]",
        language=LANGUAGE,  # Linli's without Accept-Language (the load sends none)
        respond_by=respond_by,
        resolve_by=resolve_by,
        paused_seconds=0,
        response_breached=False,
        resolution_breached=False,
        sla_policy_id=policy.id if policy else None,
        sla_clock_started_at=now,
        paused_business_seconds=0,
        response_escalation_level=0,
        resolution_escalation_level=0,
        sla_next_check_at=min(deadlines) if deadlines else None,
        rating_tags="null",
        reopen_count=0,
        urge_count=0,
        duplicate_key=duplicate_key,
        created_at=now,
        updated_at=now,
        version=1,
    )
    return ticket


async def create(pool: asyncpg.Pool, headers: dict[bytes, bytes], raw: bytes) -> Any:
    who = await principal(pool, headers)
    if who.role != Role.resident:
        raise Refused(501, "ceiling.residents_only")
    try:
        data = json.loads(raw)
        community_id, code, description = (
            data["community_id"],
            data["category"],
            data["description"],
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise Refused(422, "validation.failed") from exc
    location = data.get("location") or {}
    now = dt.datetime.now(dt.UTC)
    owner = f"user:{who.user_id}"
    params: dict[str, Any] = {
        "filing_community_id": community_id,
        "filing_category": code,
        "filing_now": now,
        "scope_user_id": who.user_id,
        "scope_community_id": who.community_id,
        "scope_organization_id": who.organization_id,
    }
    key = headers.get(b"idempotency-key", b"").decode().strip().strip('"') or None
    if key is not None:
        if len(key) > 255 or not key.isprintable():
            raise Refused(422, "idempotency.bad_key")
        # service/idempotency/service.py _lock_id and claim_params.
        params["idem_lock"] = _signed64(f"{owner}\0{key}")
        params["idem_owner"] = owner
        params["idem_key"] = key
    duplicate_key = None
    if DUPLICATE_WINDOW:
        # service/tickets/duplicates.py fingerprint and params.
        parts = [who.user_id, None, None, community_id, code]
        parts += [_norm(location.get(f)) for f in ("building", "unit", "room")]
        parts += [location.get("area"), _norm(description)]
        duplicate_key = _signed64(json.dumps(parts, ensure_ascii=False))
        params.update(
            dup_key=duplicate_key, dup_filer=who.user_id, dup_since=now - DUPLICATE_WINDOW
        )
    filing = FILING[key is not None]

    async with pool.acquire() as conn, conn.transaction():
        row = await conn.fetchrow(filing.sql, *filing.args(params))
        if row is None:
            raise Refused(422, "ticket.community_or_category")
        if key is not None:
            if not row["idem_locked"]:
                raise Refused(409, "idempotency.in_progress")
            if row["idem_request_hash"] is not None:
                if row["idem_request_hash"] != hashlib.sha256(raw).hexdigest():
                    raise Refused(422, "idempotency.key_reused")
                replayed = json.loads(row["idem_headers"] or "{}")
                replayed["Idempotent-Replayed"] = "true"
                return row["idem_status"], replayed, row["idem_body"].encode()
        if DUPLICATE_WINDOW and row["duplicate_id"] is not None:
            return 200, {}, _dumps({"duplicate_of": row["duplicate_id"]})

        ticket = _ticket_row(row, data, who, now, duplicate_key)
        ticket_id, organization_id = ticket["id"], ticket["organization_id"]
        status, priority = ticket["status"], ticket["priority"]
        await conn.execute(INSERT_TICKET.sql, *INSERT_TICKET.args(ticket))
        event_data = {"category": row["code"], "priority": priority, "channel": ticket["channel"]}
        event = {
            "ticket_id": ticket_id,
            "type": "ticket.created",
            "actor_id": who.user_id,
            "to_status": status,
            "organization_id": organization_id,
            "internal": False,
            "data": json.dumps(event_data),
            "created_at": now,
        }
        await conn.execute(INSERT_EVENT.sql, *INSERT_EVENT.args(event))
        # TicketCreated: the ticket and its community's current announcements (the
        # filing context's `announced` says there are none in the benchmark's world).
        body = _dumps({**_ticket_json(ticket, row["code"]), "announcements": []})
        answer = {
            "ETag": f'"{ticket_id}.1"',
            "Cache-Control": "private, no-cache",
            "Location": f"/v1/tickets/{ticket_id}",
        }
        if SETTINGS.tickets_per_hour > 0:
            # service/ratelimit window_end: the end of the hour holding `now`.
            end = dt.datetime.fromtimestamp((math.floor(now.timestamp() / HOUR) + 1) * HOUR, dt.UTC)
            quota = {"key": f"tickets:{owner}", "end": end}
            count = await conn.fetchval(UPSERT_QUOTA.sql, *UPSERT_QUOTA.args(quota))
            if count > SETTINGS.tickets_per_hour:
                retry = max(1, math.ceil((end - now).total_seconds()))
                raise Refused(429, "ratelimit.tickets", **{"Retry-After": str(retry)})
        if key is not None:
            stored = {
                "owner": owner,
                "key": key,
                "request_hash": hashlib.sha256(raw).hexdigest(),
                "status": 201,
                "body": body.decode(),
                "headers": json.dumps(answer),
                "now": now,
                "expires_at": now + KEY_TTL,
            }
            if await conn.execute(INSERT_KEY.sql, *INSERT_KEY.args(stored)) != "INSERT 0 1":
                # The same key committed since the filing SELECT (Linli replays it).
                raise Refused(409, "idempotency.in_progress")
    return 201, answer, body


def _ticket_json(t: dict[str, Any], code: str) -> dict[str, Any]:
    """service/tickets/serialize.py ticket_dict, for a ticket just filed."""
    return {
        "id": t["id"],
        "number": t["number"],
        "kind": t["kind"],
        "category": code,
        "priority": t["priority"],
        "status": t["status"],
        "community_id": t["community_id"],
        "location": {k: t[k] for k in ("building", "unit", "room", "area")},
        "title": t["title"],
        "description": t["description"],
        "reporter": {"id": t["reporter_id"], "name": t["reporter_name"]},
        "filed_by": {"id": t["filed_by_id"], "name": None},
        "on_behalf_of": None,
        "contact_phone": t["contact_phone"],
        "preferred_time": None,
        "attachments": [],
        "channel": t["channel"],
        "organization_id": t["organization_id"],
        "assignee_id": None,
        "hold_reason": None,
        "sla": {
            "respond_by": _instant(t["respond_by"]),
            "resolve_by": _instant(t["resolve_by"]),
            "responded_at": None,
            "resolved_at": None,
            "paused_seconds": 0,
            "response_breached": False,
            "resolution_breached": False,
            "policy_id": t["sla_policy_id"],
            "paused_since": None,
            "response_escalation_level": 0,
            "resolution_escalation_level": 0,
        },
        "rating": None,
        "reopen_count": 0,
        "urge_count": 0,
        "last_urged_at": None,
        "elder_id": None,
        "care_plan_id": None,
        "scheduled_for": None,
        "government_share_percent": None,
        "visit": None,
        "follows_ticket_id": None,
        "closed_at": None,
        "created_at": _instant(t["created_at"]),
        "updated_at": _instant(t["updated_at"]),
        "version": 1,
    }


# --- GET /v1/tickets ----------------------------------------------------------------


def _cursor(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


async def page(pool: asyncpg.Pool, headers: dict[bytes, bytes], query: bytes) -> Any:
    who = await principal(pool, headers)
    args = dict(parse_qsl(query.decode()))
    if set(args) - {"limit"}:
        raise Refused(501, "ceiling.limit_only")
    try:
        limit = int(args.get("limit", 20))
    except ValueError as exc:
        raise Refused(422, "validation.failed") from exc
    if not 1 <= limit <= 200:
        raise Refused(422, "validation.failed")
    statement = PAGE.get(Role(who.role))
    if statement is None:
        raise Refused(501, "ceiling.role")
    params = {
        "page_limit": limit + 1,
        "scope_user_id": who.user_id,
        "scope_community_id": who.community_id,
        "scope_organization_id": who.organization_id,
    }
    async with pool.acquire() as conn, conn.transaction():
        rows = await conn.fetch(statement.sql, *statement.args(params))
    items = rows[:limit]
    # service/pagination.py encode_cursor; service/tickets/stream.py encode.
    next_cursor = _cursor(f"t:{items[-1][0]}") if len(rows) > limit else None
    tail = f'],"next_cursor":{json.dumps(next_cursor)}'
    if who.role == Role.provider_staff and rows:
        tail += f',"feed_cursor":"{_cursor(f"f1:{rows[0][2]}:0:{int(time.time())}")}"'
    return 200, {}, ('{"items":[' + ",".join(r[1] for r in items) + tail + "}").encode()


# --- the ASGI app -----------------------------------------------------------------

STATE: dict[str, asyncpg.Pool] = {}


async def _as_it_is(_conn: asyncpg.Connection) -> None:
    """No reset on release. asyncpg's default sends one more statement per request
    (pg_advisory_unlock_all(), CLOSE ALL ...) that Linli's pool does not: its
    advisory locks end with their transaction, and it leaves no other state."""


async def _start() -> None:
    size = POSTGRES_POOL[0] + POSTGRES_LOOP_POOL
    pool = await asyncpg.create_pool(DSN, min_size=4, max_size=size, reset=_as_it_is)
    rows = await pool.fetch(
        "SELECT id, kind, category, priority, respond_minutes, resolve_minutes "
        "FROM sla_policy WHERE active"
    )
    POLICIES[:] = [Policy(*r) for r in rows]
    STATE["pool"] = pool


async def _lifespan(receive: Callable[[], Awaitable[Any]], send: Any) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await _start()
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await STATE.pop("pool").close()
            await send({"type": "lifespan.shutdown.complete"})
            return


async def _body(receive: Callable[[], Awaitable[Any]]) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        await _lifespan(receive, send)
        return
    if scope["type"] != "http":
        return
    headers = dict(scope["headers"])
    method, path = scope["method"], scope["path"]
    try:
        if path != "/v1/tickets":
            raise Refused(404, "not_found")
        if method == "POST":
            status, extra, body = await create(STATE["pool"], headers, await _body(receive))
        elif method == "GET":
            status, extra, body = await page(STATE["pool"], headers, scope["query_string"])
        else:
            raise Refused(405, "method_not_allowed")
    except Refused as refused:
        status, extra = refused.status, refused.headers
        body = _dumps({"status": refused.status, "code": refused.code})
    answer: Headers = [JSON_TYPE, (b"content-length", str(len(body)).encode())]
    answer += [(k.encode(), v.encode()) for k, v in extra.items()]
    await send({"type": "http.response.start", "status": status, "headers": answer})
    await send({"type": "http.response.body", "body": body})
