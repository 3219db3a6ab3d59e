"""Ticket text search over 1M tickets: p50/p99 by query and caller, with plans.

    python bench/search.py --backend postgres|sqlite [--url URL] [--runs 100]
                           [--migration] [--trigram] [--plans]

A database of its own (PostgreSQL `linli_search_1m` on the test server,
SQLite /tmp/linli-search-bench/search_1m.db; `--url` for another), filled the
first time by `python -m service generate` (1M tickets whose texts come from
the demo's reports, some in Uyghur: service/sample/generate.py) and reused after.

Each query runs the list's own statement (`service.tickets.queries.list_tickets`,
a page of 20, newest first) `--runs` times after a warm-up, as a province-wide
admin and as the dispatcher of the company with the most tickets; printed: the
tickets matching in all, p50 / p99 ms, and with `--plans` the plan of each
(PostgreSQL EXPLAIN ANALYZE, SQLite EXPLAIN QUERY PLAN).

`--migration` first steps the search migration down and up again, timed: the
backfill of every ticket's terms and the index build. `--trigram` (PostgreSQL)
then times the same searches as `description LIKE '%...%'` over a pg_trgm GIN
index built for the comparison and dropped after.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, func, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from service.auth import Principal  # noqa: E402
from service.config import Settings  # noqa: E402
from service.db import make_engine  # noqa: E402
from service.directory.models import Organization  # noqa: E402
from service.enums import OrganizationKind, OrgRole, Role  # noqa: E402
from service.migrate import downgrade, upgrade  # noqa: E402
from service.tickets import queries, search  # noqa: E402
from service.tickets.models import Ticket  # noqa: E402

POSTGRES_SERVER = os.environ.get(
    "LINLI_TEST_POSTGRES_URL", "postgresql+psycopg://root@127.0.0.1:5432/test"
)
SQLITE_FILE = Path("/tmp/linli-search-bench/search_1m.db")  # --url for another
SEARCH_REVISION_DOWN = "-1"  # the search migration is the head it measures
# (label, q): what residents and dispatchers type.
SEARCHES = (
    ("2 chars, common", "漏水"),
    ("2 chars, seasonal", "暖气"),
    ("2 chars, rare", "焦糊"),
    ("2 chars, absent", "煤气"),
    ("1 char", "水"),
    ("4 chars", "电梯困人"),
    ("7 chars", "卫生间水管漏水"),
    ("Uyghur word", "سۇ"),
    ("Latin word", "led"),
    ("two words", "暖气 3号楼"),
)


def _default_url(backend: str) -> str:
    if backend == "postgres":
        return make_url(POSTGRES_SERVER).set(database="linli_search_1m").render_as_string(False)
    return f"sqlite:///{SQLITE_FILE}"


def _ensure_data(url: str, tickets: int) -> None:
    """Create and fill the database the first time."""
    if url.startswith("postgresql"):
        server = create_engine(POSTGRES_SERVER, isolation_level="AUTOCOMMIT")
        name = make_url(url).database
        with server.connect() as connection:
            found = text("SELECT 1 FROM pg_database WHERE datname = :n")
            exists = connection.scalar(found, {"n": name})
            if not exists:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
        server.dispose()
    else:
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    upgrade(url)
    engine = create_engine(url)
    with engine.connect() as connection:
        count = connection.scalar(text("SELECT count(*) FROM ticket"))
    engine.dispose()
    if count:
        print(f"using {count:,} tickets at {make_url(url).render_as_string()}")
        return
    print(f"generating {tickets:,} tickets (minutes) ...", flush=True)
    env = {**os.environ, "LINLI_DATABASE_URL": url}
    subprocess.run(
        [sys.executable, "-m", "service", "generate", "--tickets", str(tickets)],
        cwd=ROOT,
        env=env,
        check=True,
    )


def _migration(url: str) -> None:
    """Step the search migration down and up again on the full database, timed."""
    started = time.perf_counter()
    downgrade(url, SEARCH_REVISION_DOWN)
    down = time.perf_counter() - started
    started = time.perf_counter()
    upgrade(url)
    up = time.perf_counter() - started
    print(f"migration: down {down:.1f}s, up (backfill and index) {up:.1f}s")
    if url.startswith("postgresql"):
        # The backfill rewrote every row: what autovacuum would do, before timing reads.
        engine = create_engine(url, isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            started = time.perf_counter()
            connection.execute(text("VACUUM ANALYZE ticket"))
            print(f"VACUUM ANALYZE ticket after it: {time.perf_counter() - started:.1f}s")
        engine.dispose()


def _callers(session: Session) -> dict[str, Principal]:
    organization_id, count = session.execute(
        select(Ticket.organization_id, func.count())
        .join(Organization, Organization.id == Ticket.organization_id)
        .where(Organization.kind == OrganizationKind.property_company)
        .group_by(Ticket.organization_id)
        .order_by(func.count().desc())
        .limit(1)
    ).one()
    admin = session.scalar(text("SELECT id FROM user_account ORDER BY id LIMIT 1"))
    print(f"dispatcher of property company {organization_id}: {count:,} tickets")
    return {
        "province admin": Principal(user_id=admin, role=Role.admin),
        "dispatcher": Principal(
            user_id=admin,
            role=Role.provider_staff,
            organization_id=organization_id,
            org_role=OrgRole.dispatcher,
        ),
    }


def _filters(q: str | None, number: str | None = None) -> queries.TicketFilters:
    return queries.TicketFilters(
        search=tuple(search.query_terms(q)) if q else (), number=(number,) if number else ()
    )


def _time(session: Session, principal: Principal, filters: queries.TicketFilters, runs: int):  # type: ignore[no-untyped-def]
    for _ in range(3):
        queries.list_tickets(session, principal, filters, cursor=None, limit=20)
        session.rollback()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        page = queries.list_tickets(session, principal, filters, cursor=None, limit=20)
        times.append((time.perf_counter() - started) * 1000)
        session.rollback()
    return len(page.items), times


def _matches(session: Session, principal: Principal, filters: queries.TicketFilters) -> int:
    """How many tickets the caller may see match, in all (not only the page)."""
    query, params = queries.page_statement(
        session, principal, filters, cursor=None, limit=10_000_000
    )
    sql = query.sql[session.get_bind().dialect.name]
    sql = sql[: sql.rindex("ORDER BY")]
    counted = f"SELECT count(*) FROM ({sql}) AS page"
    cursor = session.connection().connection.driver_connection.cursor()  # type: ignore[union-attr]
    cursor.execute(counted, {**query.values, **params})
    return int(cursor.fetchone()[0])


def _plan(session: Session, principal: Principal, filters: queries.TicketFilters) -> str:
    query, params = queries.page_statement(session, principal, filters, cursor=None, limit=20)
    dialect = session.get_bind().dialect.name
    cursor = session.connection().connection.driver_connection.cursor()  # type: ignore[union-attr]
    if dialect == "postgresql":
        cursor.execute(
            "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + query.sql[dialect],
            {**query.values, **params},
        )
        lines = [row[0] for row in cursor.fetchall()]
    else:
        cursor.execute("EXPLAIN QUERY PLAN " + query.sql[dialect], {**query.values, **params})
        lines = [f"{'  ' * 0}{row[3]}" for row in cursor.fetchall()]
    session.rollback()
    # The JSON of each row is long and says nothing of the plan.
    return "\n".join("    " + line for line in lines if "json_build_object" not in line)


def _row(label: str, caller: str, matches: int, found: int, times: list[float]) -> str:
    p50 = statistics.median(times)
    p99 = statistics.quantiles(times, n=100)[98] if len(times) >= 2 else times[0]
    return f"| {label} | {caller} | {matches:,} | {found} | {p50:.1f} | {p99:.1f} |"


def _trigram(url: str, callers: dict[str, Principal], runs: int, plans: bool) -> None:
    """The same searches as LIKE '%q%' on the description over a pg_trgm index."""
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
        connection.execute(text("SET maintenance_work_mem = '256MB'"))
        started = time.perf_counter()
        connection.execute(
            text(
                "CREATE INDEX IF NOT EXISTS bench_ticket_description_trgm ON ticket "
                "USING gin (description gin_trgm_ops)"
            )
        )
        connection.execute(text("ANALYZE ticket"))
        print(f"\npg_trgm index on description built in {time.perf_counter() - started:.1f}s")
        size = connection.scalar(
            text("SELECT pg_size_pretty(pg_relation_size('bench_ticket_description_trgm'))")
        )
        print(f"its size: {size}")
        print("\n| search (trigram, LIKE) | caller | page | p50 ms | p99 ms |")
        print("|---|---|---:|---:|---:|")
        for label, q in SEARCHES:
            for caller, principal in callers.items():
                scope = (
                    "true"
                    if principal.role == Role.admin
                    else f"organization_id = {principal.organization_id}"
                )
                sql = (
                    "SELECT id FROM ticket WHERE description LIKE :pattern AND "
                    f"{scope} ORDER BY id DESC LIMIT 21"
                )
                pattern = {"pattern": f"%{q}%"}
                for _ in range(2):
                    connection.execute(text(sql), pattern).all()
                times = []
                for _ in range(runs):
                    started = time.perf_counter()
                    found = len(connection.execute(text(sql), pattern).all())
                    times.append((time.perf_counter() - started) * 1000)
                p50 = statistics.median(times)
                p99 = statistics.quantiles(times, n=100)[98]
                print(f"| {label} `{q}` | {caller} | {found} | {p50:.1f} | {p99:.1f} |")
                if plans and caller == "province admin":
                    plan = connection.execute(text("EXPLAIN (ANALYZE, COSTS OFF) " + sql), pattern)
                    print("\n".join("    " + row[0] for row in plan))
        connection.execute(text("DROP INDEX bench_ticket_description_trgm"))
    engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("postgres", "sqlite"), default="postgres")
    parser.add_argument("--url", help="another database (filled if empty)")
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--migration", action="store_true", help="time the migration on it first")
    parser.add_argument("--trigram", action="store_true", help="compare with pg_trgm (PostgreSQL)")
    parser.add_argument("--plans", action="store_true", help="print each query's plan")
    args = parser.parse_args()
    url = args.url or _default_url(args.backend)
    cpu = platform.processor() or platform.machine()
    print(f"{platform.node()} {cpu}, Python {platform.python_version()}, {os.cpu_count()} cores")
    _ensure_data(url, args.tickets)
    if args.migration:
        _migration(url)
    engine = make_engine(Settings(database_url=url))
    with Session(engine) as session:
        callers = _callers(session)
        session.rollback()
        number = session.scalar(
            select(Ticket.number)
            .where(Ticket.organization_id == callers["dispatcher"].organization_id)
            .order_by(Ticket.id)
            .offset(1000)
            .limit(1)
        )
        session.rollback()
        cases = [("no search (the plain list)", None, None)]
        cases += [(f"{label} `{q}`", q, None) for label, q in SEARCHES]
        cases.append((f"number `{number}`", None, number))
        print(f"\n{args.runs} runs each, a page of 20\n")
        print("| search | caller | matching in all | page | p50 ms | p99 ms |")
        print("|---|---|---:|---:|---:|---:|")
        plans = []
        for label, q, num in cases:
            for caller, principal in callers.items():
                filters = _filters(q, num)
                matches = _matches(session, principal, filters)
                session.rollback()
                found, times = _time(session, principal, filters, args.runs)
                print(_row(label, caller, matches, found, times), flush=True)
                if args.plans:
                    plans.append(f"\n{label}, {caller}:\n{_plan(session, principal, filters)}")
        print("".join(plans))
        if engine.dialect.name == "postgresql":
            sizes = session.execute(
                text(
                    "SELECT pg_size_pretty(pg_relation_size('ix_ticket_search_terms')), "
                    "pg_size_pretty(sum(pg_column_size(search_terms))) FROM ticket"
                )
            ).one()
            print(f"\nGIN index {sizes[0]}; the terms column {sizes[1]}")
        else:
            size = session.scalar(text("SELECT sum(length(block)) FROM ticket_search_data"))
            terms = session.scalar(text("SELECT sum(length(search_terms)) FROM ticket"))
            print(f"\nFTS5 index {size / 2**20:.0f} MB; the terms column {terms / 2**20:.0f} MB")
    engine.dispose()
    if args.trigram and url.startswith("postgresql"):
        _trigram(url, callers, args.runs, args.plans)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
