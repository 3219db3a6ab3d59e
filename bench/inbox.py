"""The residents' inbox: GET /v1/me/notifications against its raw-driver ceiling.

    python bench/inbox.py [--backends sqlite,postgres] [--tickets 50000]
                          [--residents 5000] [--duration 10] [--connections 16]
                          [--page-calls 0] [--database linli_bench_inbox]

Loads `--tickets` tickets (bench/setup_data.py), three events each (accepted,
started, resolved) and a notification for each event, spread over
`--residents` residents (~30 each), a third of them also sent by SMS, three in
four already read. Then, on one uvicorn worker as in bench/run.py, wrk asks
for one resident's first page (20, newest first, with its channels and the
unread count), and then the ceiling (bench/ceiling.py GET /inbox: the same
three statements through the bare driver, rows as JSON) the same.

`--page-calls N` also times the page's own work in this process, without HTTP:
`inbox.page` (its statements and the texts) N times in each of 10 rounds, in
CPU time (`time.process_time`), which a machine shared with other work
disturbs far less than a throughput; the median and the minimum of the rounds.
`--database` names the database (another worktree's benchmark may be using the
default one).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from bench.run import Server, lua_get, speed_probe, wrk  # noqa: E402
from bench.setup_data import BENCH_SECRET, build_world, bulk_tickets, fresh_database  # noqa: E402
from service.auth import Principal, mint_token  # noqa: E402
from service.config import Settings  # noqa: E402
from service.db import make_engine  # noqa: E402
from service.enums import Role  # noqa: E402
from service.notifications import inbox  # noqa: E402

TYPES = ("ticket.accepted", "ticket.started", "ticket.resolved")


def load_inbox(url: str, world, residents: int) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    """Residents, events and notifications; the benchmarked resident's id and sub."""
    engine = create_engine(url)
    postgres = engine.dialect.name == "postgresql"
    params = (
        "json_build_object('number', t.number, 'category_id', t.category_id)"
        if postgres
        else "json_object('number', t.number, 'category_id', t.category_id)"
    )
    with engine.begin() as connection:
        first = connection.scalar(text("SELECT coalesce(max(id), 0) + 1 FROM user_account"))
        connection.execute(
            text(
                "INSERT INTO user_account (sub, role, name, community_id, created_at, "
                "updated_at) VALUES (:sub, 'resident', '', :community, :now, :now)"
            ),
            [
                {"sub": f"inbox-{i}", "community": world.community_id, "now": "2026-01-01"}
                for i in range(residents)
            ],
        )
        for type_ in TYPES:
            connection.execute(
                text(
                    "INSERT INTO ticket_event (ticket_id, type, to_status, organization_id, "
                    "internal, data, created_at) SELECT id, :type, status, organization_id, "
                    "false, '{}', created_at FROM ticket"
                ),
                {"type": type_},
            )
        connection.execute(
            text(
                "INSERT INTO notification (user_id, ticket_id, event_id, type, params, "
                f"created_at) SELECT :first + (e.ticket_id % :residents), e.ticket_id, e.id, "
                f"e.type, {params}, e.created_at FROM ticket_event e "
                "JOIN ticket t ON t.id = e.ticket_id ORDER BY e.id"
            ),
            {"first": first, "residents": residents},
        )
        connection.execute(text("UPDATE notification SET read_at = created_at WHERE id % 4 <> 0"))
        connection.execute(
            text(
                "INSERT INTO notification_delivery (notification_id, channel, address, "
                "language, status, attempts, next_attempt_at, created_at) SELECT id, 'sms', "
                "'13900000000', 'zh-Hans', 'delivered', 1, created_at, created_at "
                "FROM notification WHERE id % 3 = 0"
            )
        )
        count = connection.scalar(text("SELECT count(*) FROM notification"))
        user_id = first + 7
        mine = connection.scalar(
            text("SELECT count(*) FROM notification WHERE user_id = :u"), {"u": user_id}
        )
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE" if postgres else "ANALYZE"))
    engine.dispose()
    print(f"notifications: {count:,}; the benchmarked resident's: {mine}", flush=True)
    return int(user_id), "inbox-7"


def page_cost(settings: Settings, user_id: int, calls: int) -> tuple[float, float]:
    """(median, minimum) µs of CPU for one page of `inbox.page`, over 10 rounds."""
    engine = make_engine(settings)
    principal = Principal(user_id=user_id, role=Role.resident)
    rounds = []
    try:
        with Session(engine) as session:
            for round_ in range(11):
                started = time.process_time()
                for _ in range(calls):
                    inbox.page(
                        session, principal, language="zh-Hans", unread=False, before=None, limit=20
                    )
                if round_:  # the first warms the statements' caches
                    rounds.append((time.process_time() - started) / calls * 1e6)
                session.rollback()
    finally:
        engine.dispose()
    return statistics.median(rounds), min(rounds)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--pg-url", default="postgresql+psycopg://root@127.0.0.1:5432/postgres")
    parser.add_argument("--tickets", type=int, default=50_000)
    parser.add_argument("--residents", type=int, default=5_000)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--page-calls", type=int, default=0)
    parser.add_argument("--database", default="linli_bench_inbox")
    args = parser.parse_args()
    rows = []
    for backend in args.backends.split(","):
        url = fresh_database(backend, args.pg_url, args.database)
        world = build_world(url)
        bulk_tickets(world, args.tickets)
        user_id, sub = load_inbox(url, world, args.residents)
        settings = Settings(database_url=url, jwt_secret=BENCH_SECRET)
        token = mint_token(
            settings, sub=sub, role="resident", name="", community_id=world.community_id
        )
        path = "/v1/me/notifications?limit=20"
        env = {"LINLI_DATABASE_URL": url, "LINLI_JWT_SECRET": BENCH_SECRET, "LINLI_ENV": "dev"}
        page = page_cost(settings, user_id, args.page_calls) if args.page_calls else None
        probe = speed_probe()
        linli = Server(["--factory", "service.main:create_app"], env)
        try:
            wrk(linli.url, lua_get(path, token), 2, 4, "warm")
            mine = wrk(linli.url, lua_get(path, token), args.duration, args.connections, "inbox")
        finally:
            linli.stop()
        ceiling = Server(["bench.ceiling:app"], {"CEILING_DATABASE_URL": url})
        try:
            inbox = f"/inbox?user_id={user_id}"
            wrk(ceiling.url, lua_get(inbox, ""), 2, 4, "warm")
            raw = wrk(ceiling.url, lua_get(inbox, ""), args.duration, args.connections, "raw")
        finally:
            ceiling.stop()
        rows.append((backend, mine, raw, probe, speed_probe(), page))
    print(
        "| backend | Linli req/s | p50 ms | p99 ms | errors | ceiling req/s | ratio "
        "| inbox.page µs CPU (min) |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for backend, mine, raw, before, after, page in rows:
        cost = f"{page[0]:.0f} ({page[1]:.0f})" if page else "—"
        print(
            f"| {backend} | {mine.rps:.0f} | {mine.p50_ms:.1f} | {mine.p99_ms:.1f} | {mine.errors} "
            f"| {raw.rps:.0f} | {mine.rps / raw.rps:.0%} | {cost} |"
        )
        print(f"speed probe {backend}: {before:.2f} s before, {after:.2f} s after", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
