"""Data-size benchmark: the same reads at 10 thousand, 1 million and 10 million events.

    python bench/datasize.py [--backends postgres,sqlite] [--sizes 10000,1000000,10000000]

Sizes count timeline events (ticket_event, four a ticket: filed, accepted,
resolved, closed; on PostgreSQL in month partitions, January to July 2026 at
10 million), so a size of 10 million holds 2.5 million tickets. For each
backend and size: the provider's page of 50, a resident reading one ticket, the
provider's feed page of 50 after a cursor 5,000 events back (read from the
database: the in-process window holds the newest 100 only) and the newest
ticket's timeline, driven by wrk against Linli (one uvicorn worker), and the
query plans of the statements exactly as the service sends them. Each read
must cost the same at every size: the plans must walk an index, never scan a
table, and read only the months that can hold their rows.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import event, text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from bench.run import Server, lua_get, wrk  # noqa: E402
from bench.setup_data import BENCH_SECRET, build_world, bulk_tickets, fresh_database, tokens  # noqa: E402
from service import db  # noqa: E402
from service.auth import Principal  # noqa: E402
from service.config import Settings  # noqa: E402
from service.db import make_engine  # noqa: E402
from service.enums import OrgRole, Role  # noqa: E402
from service.feed.service import read_page  # noqa: E402
from service.sample.timeline import fill_timeline  # noqa: E402
from service.tickets import queries, stream  # noqa: E402
from service.tickets.models import Ticket  # noqa: E402

EVENTS_PER_TICKET = 4
FEED_BACK = 5000  # the feed's cursor: this many events before the newest
RETENTION_DAYS = 3650  # the bench's events are of early 2026: keep them in the feed


def _steps(postgres: bool) -> tuple[tuple[str, str | None, str, str], ...]:
    def later(span: str) -> str:
        return f"created_at + interval '{span}'" if postgres else f"datetime(created_at, '+{span}')"

    return (
        ("ticket.created", None, "assigned", "created_at"),
        ("ticket.accepted", "assigned", "accepted", later("20 minutes")),
        ("ticket.resolved", "in_progress", "resolved", later("3 hours")),
        ("ticket.closed", "resolved", "closed", later("1 day")),
    )


def load_events(url: str, first_ticket_id: int) -> tuple[int, float]:
    """The timeline of the tickets from `first_ticket_id` on, then VACUUM ANALYZE."""
    started = time.perf_counter()
    engine = make_engine(Settings(database_url=url, jwt_secret=BENCH_SECRET))
    with engine.connect() as connection:
        made = fill_timeline(
            connection, first_ticket_id, _steps(engine.dialect.name == "postgresql")
        )
        connection.commit()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(
            text("VACUUM ANALYZE" if engine.dialect.name == "postgresql" else "ANALYZE")
        )
    engine.dispose()
    return made, time.perf_counter() - started


def reads_at(url: str, world) -> tuple[str, int]:  # type: ignore[no-untyped-def]
    """The feed cursor FEED_BACK events before the company's newest, and its
    newest ticket (whose timeline is read)."""
    engine = make_engine(Settings(database_url=url, jwt_secret=BENCH_SECRET))
    with engine.connect() as connection:
        row = connection.execute(
            text(
                "SELECT xid, id, created_at FROM ticket_event WHERE organization_id = :org"
                " ORDER BY xid DESC, id DESC LIMIT 1 OFFSET :back"
            ),
            {"org": world.organization_id, "back": FEED_BACK},
        ).one()
        newest = connection.execute(
            text("SELECT max(id) FROM ticket WHERE organization_id = :org"),
            {"org": world.organization_id},
        ).scalar_one()
    engine.dispose()
    at = row.created_at if not isinstance(row.created_at, str) else None
    seconds = int(at.timestamp()) if at else int(_sqlite_instant(row.created_at))
    return stream.encode(stream.FeedPosition(row.xid, row.id, seconds)), newest


def _sqlite_instant(value: str) -> float:
    import datetime as dt

    return dt.datetime.fromisoformat(value).replace(tzinfo=dt.UTC).timestamp()


def captured_statements(
    url: str, world, cursor: str, newest: int
) -> list[tuple[str, str, object, list[str]]]:  # type: ignore[no-untyped-def]
    """The SQL the service sends for the four reads, with their parameters."""
    engine = make_engine(Settings(database_url=url, jwt_secret=BENCH_SECRET))
    seen: list[tuple[str, object]] = []

    @event.listens_for(engine, "before_cursor_execute")
    def _capture(_conn, _cursor, statement, parameters, _context, _many):  # type: ignore[no-untyped-def]
        seen.append((statement, parameters))

    # The page goes through the driver (db.driver_all), past SQLAlchemy's events.
    through_driver = db.driver_execute

    def _capture_driver(session, sql, params, **options):  # type: ignore[no-untyped-def]
        cursor = through_driver(session, sql, params, **options)  # after its BEGIN, if any
        seen.append((sql[session.get_bind().dialect.name], params))
        return cursor

    dispatcher = Principal(
        user_id=0,
        role=Role.provider_staff,
        organization_id=world.organization_id,
        org_role=OrgRole.dispatcher,
    )
    resident = Principal(
        user_id=world.reporter_id, role=Role.resident, community_id=world.community_id
    )
    db.driver_execute = _capture_driver
    try:
        with Session(engine) as session:
            # As the route asks for a provider: with the feed's head.
            queries.list_tickets(
                session, dispatcher, queries.TicketFilters(), cursor=None, limit=50, feed_head=True
            )
            page = seen[-1]
            queries.get_visible_ticket_json(session, resident, 1)
            one = seen[-1]
            read_page(
                session,
                world.organization_id,
                cursor,
                limit=50,
                retention=dt.timedelta(days=RETENTION_DAYS),
            )
            feed = next(s for s in reversed(seen) if "FROM ticket_event" in s[0])
            # The settings the feed's transaction plans it with (SET LOCAL ...).
            feed_settings = [s for s, _ in seen if s.startswith("SET LOCAL")]
            ticket = session.get(Ticket, newest)
            assert ticket is not None
            queries.list_events(session, dispatcher, ticket, limit=100)
            timeline = seen[-1]
    finally:
        db.driver_execute = through_driver
    engine.dispose()
    return [
        ("provider page of 50", *page, []),
        ("resident reads a ticket", *one, []),
        ("provider feed page of 50", *feed, feed_settings),
        ("newest ticket's timeline", *timeline, []),
    ]


def explain(url: str, statement: str, parameters: object, settings: list[str]) -> str:
    engine = make_engine(Settings(database_url=url, jwt_secret=BENCH_SECRET))
    with engine.begin() as connection:
        raw = connection.connection.driver_connection
        if engine.dialect.name == "postgresql":
            with raw.cursor() as cursor:
                for setting in settings:
                    cursor.execute(setting)
                cursor.execute(
                    "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF, SUMMARY OFF) " + statement,
                    parameters,
                )
                lines = [row[0] for row in cursor.fetchall()]
        else:
            cursor = raw.execute("EXPLAIN QUERY PLAN " + statement, parameters)
            lines = [row[-1] for row in cursor.fetchall()]
        connection.execute(text("SELECT 1"))
    engine.dispose()
    return "\n".join("    " + line for line in lines)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--backends", default="postgres,sqlite")
    parser.add_argument("--sizes", default="10000,1000000", help="events (four a ticket)")
    parser.add_argument("--duration", type=int, default=8)
    parser.add_argument("--database", default="linli_bench_size", help="its name (dropped first)")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument(
        "--pg-url",
        default=os.environ.get(
            "LINLI_BENCH_POSTGRES_URL", "postgresql+psycopg://root@127.0.0.1:5432/postgres"
        ),
    )
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    table = []
    plans = []
    for backend in args.backends.split(","):
        url = fresh_database(backend, args.pg_url, args.database)
        world = build_world(url)
        resident, dispatcher = tokens(world)
        loaded = 0
        for size in sizes:
            tickets = size // EVENTS_PER_TICKET - loaded
            seconds = bulk_tickets(world, tickets, seed=size)
            print(f"[{backend}] {tickets:,} tickets loaded in {seconds:.1f}s", flush=True)
            events, seconds = load_events(url, loaded + 1)
            print(f"[{backend}] {events:,} events loaded in {seconds:.1f}s", flush=True)
            loaded += tickets
            cursor, newest = reads_at(url, world)
            env = {
                "LINLI_DATABASE_URL": url,
                "LINLI_JWT_SECRET": BENCH_SECRET,
                "LINLI_FEED_RETENTION_DAYS": str(RETENTION_DAYS),
            }
            server = Server(["--factory", "service.main:create_app"], env)
            reads = [
                ("provider page of 50", "/v1/tickets?limit=50", dispatcher),
                ("resident reads a ticket", "/v1/tickets/1", resident),
                ("provider feed page of 50", f"/v1/feed?cursor={cursor}&limit=50", dispatcher),
                ("newest ticket's timeline", f"/v1/tickets/{newest}/events", dispatcher),
            ]
            try:
                for _, path, token in reads:
                    wrk(server.url, lua_get(path, token), 2, 4, "warm")
                for name, path, token in reads:
                    result = wrk(
                        server.url, lua_get(path, token), args.duration, args.connections, name
                    )
                    table.append((backend, size, result))
            finally:
                server.stop()
            captured = captured_statements(url, world, cursor, newest)
            for name, statement, parameters, settings in captured:
                plan = explain(url, statement, parameters, settings)
                plans.append(f"[{backend}, {size:,} events] {name}:\n{plan}")

    print()
    print("| backend | events | read | req/s | p50 ms | p99 ms | errors |")
    print("|---|---:|---|---:|---:|---:|---:|")
    for backend, size, r in table:
        print(
            f"| {backend} | {size:,} | {r.name} | {r.rps:,.0f} | {r.p50_ms:.1f} "
            f"| {r.p99_ms:.1f} | {r.errors} |"
        )
    print()
    for plan in plans:
        print(plan)
    return 0


if __name__ == "__main__":
    sys.exit(main())
