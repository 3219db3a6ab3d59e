"""Data-size benchmark: the same reads at 10 thousand and at 1 million tickets.

    python bench/datasize.py [--backends postgres,sqlite] [--sizes 10000,1000000]

For each backend and size: the provider's page of 50 and a resident reading one
ticket, driven by wrk against Linli (one uvicorn worker), and the query plans
of both statements exactly as the service sends them. A page of 50 must cost
the same at both sizes: the plans must walk an index, never scan the table.
"""

from __future__ import annotations

import argparse
import os
import sys
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
from service.tickets import queries  # noqa: E402


def captured_statements(url: str, world) -> list[tuple[str, str, object]]:  # type: ignore[no-untyped-def]
    """The SQL the service sends for the two reads, with their parameters."""
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
    finally:
        db.driver_execute = through_driver
    engine.dispose()
    return [("provider page of 50", *page), ("resident reads a ticket", *one)]


def explain(url: str, statement: str, parameters: object) -> str:
    engine = make_engine(Settings(database_url=url, jwt_secret=BENCH_SECRET))
    with engine.connect() as connection:
        raw = connection.connection.driver_connection
        if engine.dialect.name == "postgresql":
            with raw.cursor() as cursor:
                cursor.execute(
                    "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) " + statement, parameters
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
    parser.add_argument("--sizes", default="10000,1000000")
    parser.add_argument("--duration", type=int, default=8)
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
        url = fresh_database(backend, args.pg_url, "linli_bench_size")
        world = build_world(url)
        resident, dispatcher = tokens(world)
        loaded = 0
        for size in sizes:
            seconds = bulk_tickets(world, size - loaded, seed=size)
            print(f"[{backend}] {size - loaded:,} tickets loaded in {seconds:.1f}s", flush=True)
            loaded = size
            env = {"LINLI_DATABASE_URL": url, "LINLI_JWT_SECRET": BENCH_SECRET}
            server = Server(["--factory", "service.main:create_app"], env)
            try:
                page_lua = lua_get("/v1/tickets?limit=50", dispatcher)
                one_lua = lua_get("/v1/tickets/1", resident)
                wrk(server.url, page_lua, 2, 4, "warm")
                wrk(server.url, one_lua, 2, 4, "warm")
                page = wrk(
                    server.url, page_lua, args.duration, args.connections, "provider page of 50"
                )
                one = wrk(
                    server.url, one_lua, args.duration, args.connections, "resident reads a ticket"
                )
            finally:
                server.stop()
            table += [(backend, size, page), (backend, size, one)]
            for name, statement, parameters in captured_statements(url, world):
                plans.append(
                    f"[{backend}, {size:,} tickets] {name}:\n{explain(url, statement, parameters)}"
                )

    print()
    print("| backend | tickets | read | req/s | p50 ms | p99 ms | errors |")
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
