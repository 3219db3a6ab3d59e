"""The raw-driver ceiling: the least a service can do for the same requests.

A FastAPI app with sync routes (like Linli's) that talks to the database through
the bare driver (psycopg 3 or sqlite3, with as many pooled connections as
Linli's defaults) and does only:

- POST /tickets: one single-row INSERT of a ticket-sized row, returning its id;
- GET /tickets?organization_id=N: the same 50-row indexed read Linli's provider
  listing does (organization_id = N ORDER BY id DESC LIMIT 50), as JSON;
- GET /feed?organization_id=N&xid=X&id=I: the same page of 50 feed events Linli's
  GET /v1/feed reads (bench/feed.py): the events after (X, I) in (xid, id) order
  with their ticket and category, below the commit-order horizon, as JSON.

Served by uvicorn with the same settings as Linli in bench/run.py.
Configure with CEILING_DATABASE_URL (postgresql://... or sqlite:///path).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import queue
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import Depends, FastAPI, Request, Response

URL = os.environ["CEILING_DATABASE_URL"]
app = FastAPI()

INSERT = (
    "INSERT INTO ceiling_ticket (community_id, category_id, organization_id, status, "
    "priority, kind, description, contact_phone, created_at, updated_at) "
    "VALUES ({p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}) RETURNING id"
)
READ = (
    "SELECT id, number, kind, priority, status, community_id, organization_id, description, "
    "created_at, updated_at FROM ticket WHERE organization_id = {p} ORDER BY id DESC LIMIT 50"
)
# The feed page (service/feed/service.py read_page): one indexed range on
# (organization_id, xid, id), the ticket while it is still the organisation's,
# and the horizon; 51 rows to tell whether there is more.
FEED_READ = (
    "SELECT e.id, e.ticket_id, e.type, e.actor_id, e.from_status, e.to_status, "
    "e.organization_id, e.internal, e.data, e.created_at, e.xid, t.*, "
    "c.code AS category_code, {horizon} AS horizon FROM ticket_event e "
    "LEFT JOIN ticket t ON t.id = e.ticket_id AND t.organization_id = {p} "
    "LEFT JOIN category c ON c.id = t.category_id "
    "WHERE e.organization_id = {p} AND {after} "
    "ORDER BY e.xid, e.id LIMIT 51"
)
# SQLite seeks an index on the first column of a row-value inequality only, so
# (xid, id) > (?, ?) walks the organisation's whole history there. xid is always
# 0 on SQLite (and in its cursors): this is the same condition, as a seek.
PG_AFTER = "(e.xid, e.id) > (%s, %s)"
SQLITE_AFTER = "e.xid = ? AND e.id > ?"
PG_HORIZON = "pg_snapshot_xmin(pg_current_snapshot())::text::bigint"


def _feed_page(names: list[str], rows: list) -> Response:
    """Cut at the horizon, nest the ticket, answer 50 events and whether there is more."""
    horizon = names.index("horizon")
    first_ticket = names.index("id", 1)
    servable = next((i for i, r in enumerate(rows) if r[10] >= r[horizon]), len(rows))
    events = []
    for row in rows[: min(servable, 50)]:
        event = dict(zip(names[:11], row[:11], strict=True))
        ticket = zip(names[first_ticket:horizon], row[first_ticket:horizon], strict=True)
        event["ticket"] = dict(ticket)
        events.append(event)
    body = {"events": events, "has_more": servable > 50}
    return Response(json.dumps(body, default=str), media_type="application/json")


def _feed_params(request: Request) -> tuple[int, int, int, int]:
    q = request.query_params
    org = int(q["organization_id"])
    return org, org, int(q["xid"]), int(q["id"])


CREATE = """CREATE TABLE IF NOT EXISTS ceiling_ticket (
    id {pk}, community_id INTEGER NOT NULL, category_id INTEGER NOT NULL,
    organization_id INTEGER, status VARCHAR(16) NOT NULL, priority VARCHAR(16) NOT NULL,
    kind VARCHAR(16) NOT NULL, description TEXT NOT NULL, contact_phone VARCHAR(20),
    created_at {ts} NOT NULL, updated_at {ts} NOT NULL)"""


def _row(body: dict) -> tuple:
    now = dt.datetime.now(dt.UTC)
    return (
        body["community_id"],
        1,
        1,
        "assigned",
        "normal",
        "property",
        body["description"],
        body.get("contact_phone"),
        now,
        now,
    )


if URL.startswith("postgresql"):
    from psycopg_pool import ConnectionPool

    # Up to as many connections as Linli (service/db.py POSTGRES_POOL + POSTGRES_LOOP_POOL).
    pool = ConnectionPool(URL.replace("+psycopg", ""), min_size=4, max_size=20, open=True)
    with pool.connection() as conn:
        conn.execute(CREATE.format(pk="BIGSERIAL PRIMARY KEY", ts="TIMESTAMPTZ"))

    @app.post("/tickets", status_code=201)
    def insert(body: dict) -> Response:
        with pool.connection() as conn:
            ticket_id = conn.execute(INSERT.format(p="%s"), _row(body)).fetchone()[0]
        return Response(json.dumps({"id": ticket_id}), 201, media_type="application/json")

    @app.get("/tickets")
    def read(request: Request) -> Response:
        with pool.connection() as conn:
            rows = conn.execute(
                READ.format(p="%s"), (int(request.query_params["organization_id"]),)
            ).fetchall()
        return Response(
            json.dumps({"items": [list(r) for r in rows]}, default=str),
            media_type="application/json",
        )

    @app.get("/feed")
    def feed(request: Request) -> Response:
        with pool.connection() as conn, conn.cursor() as cursor:
            read = FEED_READ.format(p="%s", after=PG_AFTER, horizon=PG_HORIZON)
            cursor.execute(read, _feed_params(request))
            rows = cursor.fetchall()
            names = [column.name for column in cursor.description or ()]
        return _feed_page(names, rows)

else:
    path = URL.removeprefix("sqlite:///")

    def _connect() -> sqlite3.Connection:
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA busy_timeout=30000")
        return conn

    # As many connections as Linli's SQLite pool (service/db.py SQLITE_POOL):
    # sqlite3 hands the GIL over on every row, so a connection per worker thread
    # (40) reading at once mostly waits, and the ceiling would not be one.
    connections: queue.Queue[sqlite3.Connection] = queue.Queue()
    for _ in range(2):
        connections.put(_connect())

    @contextmanager
    def _conn() -> Iterator[sqlite3.Connection]:
        conn = connections.get()
        try:
            yield conn
        finally:
            connections.put(conn)

    with _conn() as setup:
        setup.execute(CREATE.format(pk="INTEGER PRIMARY KEY", ts="DATETIME"))

    @app.post("/tickets", status_code=201)
    def insert(body: dict) -> Response:
        row = tuple(v.isoformat() if isinstance(v, dt.datetime) else v for v in _row(body))
        with _conn() as conn:
            conn.execute("BEGIN IMMEDIATE")
            ticket_id = conn.execute(INSERT.format(p="?"), row).fetchone()[0]
            conn.execute("COMMIT")
        return Response(json.dumps({"id": ticket_id}), 201, media_type="application/json")

    @app.get("/tickets")
    def read(request: Request) -> Response:
        with _conn() as conn:
            rows = conn.execute(
                READ.format(p="?"), (int(request.query_params["organization_id"]),)
            ).fetchall()
        return Response(
            json.dumps({"items": [list(r) for r in rows]}, default=str),
            media_type="application/json",
        )

    @app.get("/feed")
    def feed(request: Request) -> Response:
        read = FEED_READ.format(p="?", after=SQLITE_AFTER, horizon=2**62)
        with _conn() as conn:
            cursor = conn.execute(read, _feed_params(request))
            rows = cursor.fetchall()
        return _feed_page([column[0] for column in cursor.description], rows)


# --- the inbox (bench/inbox.py): the same three statements GET /v1/me/notifications
# runs (service/notifications/inbox.py): a keyset page of a person's notifications
# with their ticket's number and category names, the channels they went out on,
# and the unread count up to 100.
INBOX_PAGE = (
    "SELECT n.id, n.type, n.ticket_id, n.params, n.created_at, n.read_at, t.number, "
    "c.name_zh, c.name_ug, c.name_en FROM notification n "
    "JOIN ticket t ON t.id = n.ticket_id JOIN category c ON c.id = t.category_id "
    "WHERE n.user_id = {p} ORDER BY n.id DESC LIMIT 21"
)
INBOX_CHANNELS = (
    "SELECT notification_id, channel, status FROM notification_delivery "
    "WHERE notification_id IN ({ids}) ORDER BY id"
)
INBOX_UNREAD = (
    "SELECT count(*) FROM (SELECT id FROM notification "
    "WHERE user_id = {p} AND read_at IS NULL LIMIT 100) AS unread"
)


def _inbox(execute, p: str, user_id: int) -> Response:  # type: ignore[no-untyped-def]
    rows = execute(INBOX_PAGE.format(p=p), (user_id,))[:20]
    ids = [r[0] for r in rows]
    channels: dict[int, list] = {}
    if ids:
        sql = INBOX_CHANNELS.format(ids=", ".join(p for _ in ids))
        for notification_id, channel, status in execute(sql, tuple(ids)):
            channels.setdefault(notification_id, []).append([channel, status])
    unread = execute(INBOX_UNREAD.format(p=p), (user_id,))[0][0]
    items = [[*r, channels.get(r[0], [])] for r in rows]
    body = {"items": items, "unread_count": unread}
    return Response(json.dumps(body, default=str), media_type="application/json")


if URL.startswith("postgresql"):

    @app.get("/inbox")
    def inbox(request: Request) -> Response:
        with pool.connection() as conn:

            def execute(sql: str, params: tuple) -> list:
                return conn.execute(sql, params).fetchall()

            return _inbox(execute, "%s", int(request.query_params["user_id"]))

else:

    @app.get("/inbox")
    def inbox(request: Request) -> Response:
        with _conn() as conn:

            def execute(sql: str, params: tuple) -> list:
                return conn.execute(sql, params).fetchall()

            return _inbox(execute, "?", int(request.query_params["user_id"]))


# --- Open311 (bench/open311.py): GET requests.json's page (service/open311/public.py:
# the public tickets of a region filed in a window, newest first, at most 1,000,
# with their category, community and organisation, as the spec's JSON) and a
# form-encoded POST (the key's row looked up by its hash, one INSERT).
OPEN311_READ = (
    "SELECT t.id, t.status, t.created_at, t.updated_at, t.resolve_by, t.community_id, "
    "c.code, c.name_zh, m.name, m.latitude, m.longitude, o.name FROM ticket t "
    "JOIN category c ON c.id = t.category_id JOIN community m ON m.id = t.community_id "
    "LEFT JOIN organization o ON o.id = t.organization_id "
    "WHERE t.kind <> 'elderly_care' AND t.elder_id IS NULL AND t.region_path LIKE {p} "
    "AND t.created_at >= {p} AND t.created_at <= {p} ORDER BY t.id DESC LIMIT 1000"
)
OPEN311_KEY = "SELECT id, region_path FROM integration WHERE key_hash = {p} AND revoked_at IS NULL"
_CLOSED = {"resolved", "closed", "cancelled", "rejected"}


def _open311_page(rows: list) -> Response:
    body = [
        {
            "service_request_id": r[0],
            "status": "closed" if r[1] in _CLOSED else "open",
            "status_notes": r[1],
            "service_name": r[7],
            "service_code": r[6],
            "agency_responsible": r[11],
            "requested_datetime": r[2],
            "updated_datetime": r[3],
            "expected_datetime": r[4],
            "address": r[8],
            "address_id": r[5],
            "lat": r[9],
            "long": r[10],
        }
        for r in rows
    ]
    return Response(
        json.dumps(body, ensure_ascii=False, default=str), media_type="application/json"
    )


def _open311_params(request: Request) -> tuple[str, str, str]:
    q = request.query_params
    return q["region_path"] + "%", q["start_date"], q["end_date"]


async def _open311_form(request: Request) -> dict[str, str]:
    import hashlib
    import urllib.parse

    form = dict(urllib.parse.parse_qsl((await request.body()).decode()))
    form["key_hash"] = hashlib.sha256(form["api_key"].encode()).hexdigest()
    return form


if URL.startswith("postgresql"):

    @app.get("/open311/requests")
    def open311_requests(request: Request) -> Response:
        with pool.connection() as conn:
            rows = conn.execute(OPEN311_READ.format(p="%s"), _open311_params(request)).fetchall()
        return _open311_page(rows)

    @app.post("/open311/requests", status_code=201)
    def open311_post(form: dict = Depends(_open311_form)) -> Response:  # noqa: B008
        with pool.connection() as conn:
            conn.execute(OPEN311_KEY.format(p="%s"), (form["key_hash"],)).fetchone()
            body = {"community_id": int(form["address_id"]), **form}
            ticket_id = conn.execute(INSERT.format(p="%s"), _row(body)).fetchone()[0]
        return Response(
            json.dumps([{"service_request_id": ticket_id}]), 201, media_type="application/json"
        )

else:

    @app.get("/open311/requests")
    def open311_requests(request: Request) -> Response:
        start, end = _open311_params(request)[1:]
        # SQLite keeps Linli's timestamps as text in UTC ("YYYY-MM-DD HH:MM:SS").
        params = (
            request.query_params["region_path"] + "%",
            dt.datetime.fromisoformat(start).strftime("%Y-%m-%d %H:%M:%S"),
            dt.datetime.fromisoformat(end).strftime("%Y-%m-%d %H:%M:%S"),
        )
        with _conn() as conn:
            rows = conn.execute(OPEN311_READ.format(p="?"), params).fetchall()
        return _open311_page(rows)

    @app.post("/open311/requests", status_code=201)
    def open311_post(form: dict = Depends(_open311_form)) -> Response:  # noqa: B008
        body = {"community_id": int(form["address_id"]), **form}
        row = tuple(v.isoformat() if isinstance(v, dt.datetime) else v for v in _row(body))
        with _conn() as conn:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute(OPEN311_KEY.format(p="?"), (form["key_hash"],)).fetchone()
            ticket_id = conn.execute(INSERT.format(p="?"), row).fetchone()[0]
            conn.execute("COMMIT")
        return Response(
            json.dumps([{"service_request_id": ticket_id}]), 201, media_type="application/json"
        )
