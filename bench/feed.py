"""Feed benchmark: a page of 50 events against its raw-driver ceiling, and 2,000 long-polls.

    python bench/feed.py [--backends postgres,sqlite] [--sizes 10000,1000000]
                         [--waiters 2000] [--duration 8] [--connections 32]
                         [--instances 1] [--no-pages] [--code DIR]

1. For each backend and size: events bulk-loaded (COPY on PostgreSQL,
   executemany on SQLite; five per ticket, a fifth of them another company's),
   then GET /v1/feed?limit=50 from a cursor in the middle of the company's
   history, driven by wrk against Linli (one uvicorn worker), and the same read
   through the bare driver (bench/ceiling.py GET /feed) with the same uvicorn
   settings. The query plan of the statement Linli sends is printed at every
   size: it must walk the (organization_id, xid, id) index, never scan a table.
2. `--waiters` long-polls (`wait=30`) from the head of the feed on one uvicorn
   worker (PostgreSQL: at the largest size; SQLite: at the smallest, since its
   feed query walks the organisation's history there): the server's resident
   memory and CPU while they idle (/proc over 5 s), then one commit of an event
   for the company (on PostgreSQL from another connection, as another instance
   would; on SQLite through the API, the only writer that can wake them), the
   time until the PostgreSQL horizon passes it, and the time until every waiter
   has it. A waiter whose 30 s run out polls again, as a client would. The
   waiters are bare asyncio streams (an HTTP client library's CPU per answer
   would be measured as the server's latency); `--instances N` splits them
   between N uvicorn processes on the same database (PostgreSQL: its NOTIFY
   wakes them all), and `--code DIR` runs another checkout's service (A/B).

The benchmark databases are dropped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from sqlalchemy import create_engine, event, text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from bench.result import Result, ms  # noqa: E402
from bench.run import Server, lua_get  # noqa: E402
from bench.setup_data import (  # noqa: E402
    BENCH_SECRET,
    BenchWorld,
    build_world,
    bulk_tickets,
    fresh_database,
    tokens,
)
from service.config import Settings  # noqa: E402
from service.db import make_engine  # noqa: E402
from service.feed import service as feed_service  # noqa: E402
from service.tickets import stream as cursors  # noqa: E402

# LINLI_BENCH_FEED_DB: another name, for runs beside others' on a shared server.
DB_NAME = os.environ.get("LINLI_BENCH_FEED_DB", "linli_bench_feed")
EVENTS_PER_TICKET = 5
EVENT_COLUMNS = (
    "id",
    "ticket_id",
    "type",
    "actor_id",
    "from_status",
    "to_status",
    "organization_id",
    "internal",
    "data",
    "created_at",
    "xid",
)
# The life of a ticket as its company's feed sees it.
LIFE = (
    ("ticket.created", None, "assigned"),
    ("ticket.accepted", "assigned", "accepted"),
    ("ticket.started", "accepted", "in_progress"),
    ("ticket.commented", None, None),
    ("ticket.resolved", "in_progress", "resolved"),
)
HORIZON = "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint"
SHARD = 100  # connections per httpx client in the long-poll test
HISTORY = dt.timedelta(days=10)  # inside the feed's 30-day window: no 410


# --------------------------------------------------------------------------- data


@dataclass
class Plan:
    """Where the k-th event of the whole run goes, so that loading 10 thousand
    and then 990 thousand more gives the same history as 1 million at once."""

    total: int
    max_xid: int  # 0 on SQLite
    end: dt.datetime

    def xid(self, k: int) -> int:
        # Increasing, many events per transaction id, all far below the horizon.
        return 3 + k * (self.max_xid - 3) // self.total if self.max_xid else 0

    def at(self, k: int) -> dt.datetime:
        return self.end - HISTORY + HISTORY * (k / self.total)


def _event_rows(  # type: ignore[no-untyped-def]
    plan: Plan, start: int, count: int, first_id: int, orgs: dict[int, int], reporter_id: int
):
    for k in range(start, start + count):
        ticket_id = k // EVENTS_PER_TICKET + 1
        type_, from_status, to_status = LIFE[k % EVENTS_PER_TICKET]
        data: dict[str, Any]
        if type_ == "ticket.created":
            data = {"category": "repair.plumbing", "priority": "normal", "channel": "app"}
        elif type_ == "ticket.commented":
            data = {"comment_id": k, "body": "师傅下午两点上门，请家里留人。"}
        else:
            data = {}
        yield (
            first_id + k - start,
            ticket_id,
            type_,
            reporter_id,
            from_status,
            to_status,
            orgs[ticket_id],
            False,
            json.dumps(data, ensure_ascii=False),
            plan.at(k),
            plan.xid(k),
        )


def bulk_events(world: BenchWorld, plan: Plan, start: int, count: int) -> float:
    """Append events start..start+count-1 (and the tickets they need); seconds taken."""
    started = time.perf_counter()
    engine = create_engine(world.url)
    with engine.connect() as connection:
        have = connection.scalar(text("SELECT count(*) FROM ticket")) or 0
    need = -(-(start + count) // EVENTS_PER_TICKET)
    if need > have:
        bulk_tickets(world, need - have, seed=need)
    first_ticket = start // EVENTS_PER_TICKET + 1
    with engine.begin() as connection:
        orgs: dict[int, int] = dict(
            connection.execute(  # type: ignore[arg-type]
                text("SELECT id, organization_id FROM ticket WHERE id BETWEEN :a AND :b"),
                {"a": first_ticket, "b": need},
            ).all()
        )
        # After the long-poll test's own events, if it ran in between.
        first_id = (connection.scalar(text("SELECT max(id) FROM ticket_event")) or 0) + 1
        rows = _event_rows(plan, start, count, first_id, orgs, world.reporter_id)
        raw: Any = connection.connection.driver_connection
        columns = ", ".join(EVENT_COLUMNS)
        if engine.dialect.name == "postgresql":
            # The webhook/NOTIFY trigger is the service's business, not a bulk load's.
            connection.execute(text("ALTER TABLE ticket_event DISABLE TRIGGER USER"))
            with (
                raw.cursor() as cursor,
                cursor.copy(f"COPY ticket_event ({columns}) FROM STDIN") as copy,
            ):
                for row in rows:
                    copy.write_row(row)
            connection.execute(text("ALTER TABLE ticket_event ENABLE TRIGGER USER"))
            connection.execute(
                text(
                    "SELECT setval(pg_get_serial_sequence('ticket_event', 'id'), max(id)) "
                    "FROM ticket_event"
                )
            )
        else:
            trigger = raw.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
                "AND tbl_name = 'ticket_event'"
            ).fetchall()
            for name, _sql in trigger:
                raw.execute(f'DROP TRIGGER "{name}"')
            placeholders = ", ".join("?" for _ in EVENT_COLUMNS)
            raw.executemany(
                f"INSERT INTO ticket_event ({columns}) VALUES ({placeholders})",
                (
                    (*r[:9], r[9].replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f"), r[10])
                    for r in rows
                ),
            )
            for _name, sql in trigger:
                raw.execute(sql)
    with engine.connect() as connection:
        connection.execute(text("ANALYZE"))
        connection.commit()
    engine.dispose()
    return time.perf_counter() - started


def middle_cursor(url: str, organization_id: int) -> tuple[str, int, int]:
    """A cursor at the middle of the company's history: (cursor, xid, id)."""
    engine = create_engine(url)
    with engine.connect() as connection:
        count = connection.scalar(
            text("SELECT count(*) FROM ticket_event WHERE organization_id = :o"),
            {"o": organization_id},
        )
        xid, event_id, created_at = connection.execute(
            text(
                "SELECT xid, id, created_at FROM ticket_event WHERE organization_id = :o "
                "ORDER BY xid, id LIMIT 1 OFFSET :n"
            ),
            {"o": organization_id, "n": (count or 0) // 2},
        ).one()
    engine.dispose()
    if isinstance(created_at, str):  # SQLite through plain text()
        created_at = dt.datetime.fromisoformat(created_at).replace(tzinfo=dt.UTC)
    at = int(created_at.timestamp())
    return cursors.encode(cursors.FeedPosition(xid, event_id, at)), xid, event_id


def feed_statement(url: str, organization_id: int, cursor: str) -> tuple[str, object]:
    """The SQL Linli sends for the page, with its parameters."""
    engine = make_engine(Settings(database_url=url, jwt_secret=BENCH_SECRET))
    seen: list[tuple[str, object]] = []

    @event.listens_for(engine, "before_cursor_execute")
    def _capture(_conn, _cursor, statement, parameters, _context, _many):  # type: ignore[no-untyped-def]
        seen.append((statement, parameters))

    with Session(engine) as session:
        page = feed_service.read_page(
            session, organization_id, cursor, limit=50, retention=dt.timedelta(days=30)
        )
    engine.dispose()
    assert len(page.events) == 50 and page.has_more, "the middle page must be full"
    return seen[-1]


def explain(url: str, statement: str, parameters: object) -> list[str]:
    engine = create_engine(url)
    with engine.connect() as connection:
        raw: Any = connection.connection.driver_connection
        if engine.dialect.name == "postgresql":
            with raw.cursor() as cursor:
                cursor.execute(
                    "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF) " + statement, parameters
                )
                lines = [row[0] for row in cursor.fetchall()]
        else:
            lines = [r[-1] for r in raw.execute("EXPLAIN QUERY PLAN " + statement, parameters)]
        connection.rollback()
    engine.dispose()
    return lines


# --------------------------------------------------------------------- page of 50


def wrk(base_url: str, script: str, duration: int, connections: int, name: str) -> Result:
    """bench/run.py's wrk run with a 30 s timeout instead of wrk's 2 s: a page
    that takes seconds counts with its latency instead of as a socket error."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as handle:
        handle.write(script)
        handle.flush()
        out = subprocess.run(
            ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--timeout", "30s"]
            + ["--latency", "-s", handle.name, base_url],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    number = r"([\d.]+\w+)"
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = ms(re.search(r"\s50%\s+" + number, out).group(1))  # type: ignore[union-attr]
    p99 = ms(re.search(r"\s99%\s+" + number, out).group(1))  # type: ignore[union-attr]
    errors = sum(
        int(n)
        for line in re.findall(r"(?:Non-2xx or 3xx responses|Socket errors):.*", out)
        for n in re.findall(r"\d+", line.split(":", 1)[1])
    )
    return Result(name, rps, p50, p99, errors)


def check_page(base_url: str, path: str, token: str | None) -> int:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = httpx.get(base_url + path, headers=headers, timeout=30)
    response.raise_for_status()
    body = response.json()
    assert len(body["events"]) == 50 and body["has_more"], body
    return len(response.content)


def bench_pages(
    url: str, world: BenchWorld, dispatcher: str, args: argparse.Namespace
) -> tuple[Result, Result, int, int, list[str]]:
    cursor, xid, event_id = middle_cursor(url, world.organization_id)
    path = f"/v1/feed?cursor={cursor}&limit=50"
    env = {
        "LINLI_DATABASE_URL": url,
        "LINLI_JWT_SECRET": BENCH_SECRET,
        "LINLI_ENV": "dev",
    }
    d, c = args.duration, args.connections
    linli = Server(["--factory", "service.main:create_app"], env)
    try:
        linli_bytes = check_page(linli.url, path, dispatcher)
        wrk(linli.url, lua_get(path, dispatcher), 2, 4, "warm")
        page = wrk(linli.url, lua_get(path, dispatcher), d, c, "feed page of 50")
        page.peak_rss_mb = linli.peak_rss_mb()
    finally:
        linli.stop()
    ceiling_path = f"/feed?organization_id={world.organization_id}&xid={xid}&id={event_id}"
    ceiling = Server(["bench.ceiling:app"], {"CEILING_DATABASE_URL": url})
    try:
        ceiling_bytes = check_page(ceiling.url, ceiling_path, None)
        wrk(ceiling.url, lua_get(ceiling_path, ""), 2, 4, "warm")
        read = wrk(ceiling.url, lua_get(ceiling_path, ""), d, c, "ceiling feed read")
        read.peak_rss_mb = ceiling.peak_rss_mb()
    finally:
        ceiling.stop()
    plan = explain(url, *feed_statement(url, world.organization_id, cursor))
    return page, read, linli_bytes, ceiling_bytes, plan


# ---------------------------------------------------------------------- long-poll


@dataclass
class ProcSample:
    ticks: int
    rss_kb: int
    threads: int
    sockets: int
    at: float = field(default_factory=time.monotonic)


def sample(pid: int) -> ProcSample:
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    status = Path(f"/proc/{pid}/status").read_text()
    rss = int(re.search(r"VmRSS:\s+(\d+)", status).group(1))  # type: ignore[union-attr]
    threads = int(re.search(r"Threads:\s+(\d+)", status).group(1))  # type: ignore[union-attr]
    sockets = 0
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):  # closed meanwhile
            sockets += os.readlink(fd).startswith("socket:")
    # utime and stime are fields 14 and 15 of /proc/<pid>/stat (1-based).
    return ProcSample(int(fields[11]) + int(fields[12]), rss, threads, sockets)


def cpu_percent(a: ProcSample, b: ProcSample) -> float:
    return 100 * (b.ticks - a.ticks) / os.sysconf("SC_CLK_TCK") / (b.at - a.at)


def total(samples: list[ProcSample]) -> ProcSample:
    """Several servers as one: ticks, memory and sockets summed."""
    return ProcSample(
        sum(s.ticks for s in samples),
        sum(s.rss_kb for s in samples),
        sum(s.threads for s in samples),
        sum(s.sockets for s in samples),
        at=samples[0].at,
    )


def sample_all(pids: list[int]) -> ProcSample:
    return total([sample(pid) for pid in pids])


@dataclass
class WaitResult:
    backend: str
    waiters: int
    instances: int
    rss_before_mb: float
    rss_idle_mb: float
    park_cpu_s: float  # the servers' CPU from the first request to all parked
    idle_cpu_percent: float
    threads: int
    parked_after_s: float
    idle_s: float
    early: int  # long-polls that timed out before the commit (and polled again)
    late: int  # ... and after it, before the event could be served
    refused: int  # 503/429 while connecting (polled again after a second)
    parked: bool  # all connected and the server quiet before the idle window
    horizon_ms: float
    first_ms: float
    p50_ms: float
    p99_ms: float
    all_ms: float
    woken: int
    errors: int
    wake_cpu_s: float
    commit: str
    load: str  # /proc/loadavg when the commit was made
    events: int = 0


class _HttpError(Exception):
    pass


async def _get(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> tuple[int, bytes]:
    """One HTTP/1.1 request on a kept-alive connection: (status, body)."""
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    match = re.search(rb"(?i)\r\ncontent-length: *(\d+)", head)
    if match is None:
        raise _HttpError(head[:200].decode(errors="replace"))
    body = await reader.readexactly(int(match.group(1)))
    return status, body


async def _long_polls(
    servers: list[Server], url: str, world: BenchWorld, resident: str, dispatcher: str, n: int
) -> WaitResult:
    """`n` long-polls split between `servers`, then one commit; when each has it.

    The client is bare asyncio streams (one connection and one coroutine per
    waiter, the request's bytes written once): an HTTP client library's own
    CPU per response (httpx: ~1 ms) on the two cores the servers need was most
    of what the earlier runs measured. Each answer is timed when its last byte
    is read and checked only after all have come."""
    backend = "postgres" if url.startswith("postgresql") else "sqlite"
    pids = [server.process.pid for server in servers]
    auth = {"Authorization": f"Bearer {dispatcher}"}
    async with httpx.AsyncClient(base_url=servers[0].url, timeout=60) as client:
        listing = await client.get("/v1/tickets?limit=1", headers=auth)
        head = listing.json()["feed_cursor"]
        # Warm the route on every server (and check that the head really is the head).
        for server in servers:
            for _ in range(20):
                warm = await client.get(
                    f"{server.url}/v1/feed?cursor={head}&limit=50", headers=auth
                )
                assert warm.status_code == 200 and warm.json()["events"] == [], warm.text
    before = sample_all(pids)
    request = (
        f"GET /v1/feed?cursor={head}&limit=50&wait=30 HTTP/1.1\r\n"
        f"Host: 127.0.0.1\r\nAuthorization: Bearer {dispatcher}\r\n\r\n"
    ).encode()

    done: list[float] = []
    bodies: list[tuple[int, bytes]] = []
    committed_at: float | None = None
    timeouts = [0, 0]  # empty answers (wait ran out) before / after the commit
    refused = [0]
    connecting = asyncio.Semaphore(200)  # the listen backlog: no SYN retries

    async def poll(port: int) -> None:
        async with connecting:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while True:
                try:
                    status, body = await _get(reader, writer, request)
                except (OSError, asyncio.IncompleteReadError, _HttpError) as exc:
                    done.append(time.perf_counter())
                    bodies.append((0, repr(exc).encode()))
                    return
                if status in (429, 503) and committed_at is None:
                    refused[0] += 1  # a burst of 5,000 arrivals: back off, as a client would
                    await asyncio.sleep(1)
                    continue
                if status == 200 and body.startswith(b'{"events":[]'):
                    # Its 30 s ran out, before the commit (a slow start) or after it
                    # (the horizon held the event back): poll again, as a client would.
                    timeouts[committed_at is not None] += 1
                    if committed_at is None or time.perf_counter() - committed_at < 90:
                        continue
                done.append(time.perf_counter())
                bodies.append((status, body))
                return
        finally:
            writer.close()

    started = time.monotonic()
    tasks = [asyncio.create_task(poll(servers[i % len(servers)].port)) for i in range(n)]
    # Parked: every connection accepted and the servers' CPU quiet again. The
    # commit must come before the first waiter's 30 s run out.
    quiet = 0
    last = sample_all(pids)
    # (10,000 arrivals on a loaded 2-core machine take ~20 s: up to 25.)
    while time.monotonic() - started < 25:
        await asyncio.sleep(0.25)
        now = sample_all(pids)
        quiet = quiet + 1 if now.sockets >= n and cpu_percent(last, now) < 5 else 0
        last = now
        if quiet >= 4:
            break
    parked_after = time.monotonic() - started - 0.25 * quiet
    idle_from = sample_all(pids)
    await asyncio.sleep(max(2.0, min(5.0, 27 - (time.monotonic() - started))))
    idle_to = sample_all(pids)
    parked = quiet >= 4
    load = Path("/proc/loadavg").read_text().split(" ")[:3]

    horizon_ms = float("nan")
    if backend == "postgres":
        import psycopg

        conninfo = url.replace("+psycopg", "")
        conn = await psycopg.AsyncConnection.connect(conninfo)
        watcher = await psycopg.AsyncConnection.connect(conninfo, autocommit=True)
        row = await (
            await conn.execute(
                "INSERT INTO ticket_event (ticket_id, type, actor_id, organization_id, "
                "internal, data, created_at) VALUES (%s, 'ticket.commented', %s, %s, "
                "false, '{}', now()) RETURNING xid, id",
                (1, world.reporter_id, world.organization_id),
            )
        ).fetchone()
        assert row is not None
        event_id = row[1]
        t0 = committed_at = time.perf_counter()
        await conn.commit()
        await conn.close()
        # The feed serves the event once the horizon (the oldest transaction
        # still running anywhere in the cluster) has passed its xid.
        horizon_ms = float("inf")  # unless it passes within 90 s
        while time.perf_counter() - t0 < 90:
            horizon = await (await watcher.execute(HORIZON)).fetchone()
            if horizon is not None and horizon[0] > row[0]:
                horizon_ms = (time.perf_counter() - t0) * 1000
                break
            await asyncio.sleep(0.002)
        await watcher.close()
        commit = "INSERT on another connection (NOTIFY)"
    else:
        filing = {
            "category": "repair.plumbing",
            "community_id": world.community_id,
            "description": "厨房水管漏水，请尽快处理。3号楼2单元501",
            "contact_phone": "13900000001",
            "location": {"building": "3", "unit": "2", "room": "501", "area": "private"},
        }
        async with httpx.AsyncClient(base_url=servers[0].url, timeout=60) as client:
            t0 = committed_at = time.perf_counter()
            created = await client.post(
                "/v1/tickets", json=filing, headers={"Authorization": f"Bearer {resident}"}
            )
        assert created.status_code == 201, created.text
        event_id = None  # the creation's: checked by type below
        commit = "POST /v1/tickets (in-process wake)"
    await asyncio.gather(*tasks)
    after = sample_all(pids)

    wake = sorted((t - t0) * 1000 for t in done)
    woken = 0
    for status, answer in bodies:
        if status != 200:
            continue
        events = json.loads(answer)["events"]
        if events and (
            events[0]["id"] == event_id
            if event_id is not None
            else events[0]["type"] == "ticket.created"
        ):
            woken += 1
    return WaitResult(
        backend=backend,
        waiters=n,
        instances=len(servers),
        rss_before_mb=before.rss_kb / 1024,
        rss_idle_mb=idle_to.rss_kb / 1024,
        park_cpu_s=(idle_from.ticks - before.ticks) / os.sysconf("SC_CLK_TCK"),
        idle_cpu_percent=cpu_percent(idle_from, idle_to),
        threads=idle_to.threads,
        parked_after_s=parked_after,
        idle_s=idle_to.at - idle_from.at,
        early=timeouts[0],
        late=timeouts[1],
        refused=refused[0],
        parked=parked,
        horizon_ms=horizon_ms,
        first_ms=wake[0],
        p50_ms=statistics.median(wake),
        p99_ms=wake[max(int(len(wake) * 0.99) - 1, 0)],
        all_ms=wake[-1],
        woken=woken,
        errors=sum(1 for status, _ in bodies if status != 200),
        wake_cpu_s=(after.ticks - idle_to.ticks) / os.sysconf("SC_CLK_TCK"),
        commit=commit,
        load=" ".join(load),
    )


def bench_long_polls(
    url: str,
    world: BenchWorld,
    resident: str,
    dispatcher: str,
    n: int,
    instances: int = 1,
    code: Path = ROOT,
) -> WaitResult:
    env = {
        "LINLI_DATABASE_URL": url,
        "LINLI_JWT_SECRET": BENCH_SECRET,
        "LINLI_ENV": "dev",
    }
    servers: list[Server] = []
    try:
        for _ in range(instances):
            servers.append(Server(["--factory", "service.main:create_app"], env, cwd=code))
        import uvloop  # uvicorn's loop too: the client's own CPU stays small

        return uvloop.run(_long_polls(servers, url, world, resident, dispatcher, n))
    finally:
        for server in servers:
            server.stop()


# --------------------------------------------------------------------------- main


def drop(backend: str, pg_url: str) -> None:
    if backend == "postgres":
        admin = create_engine(pg_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)'))
        admin.dispose()
    else:
        for suffix in ("", "-wal", "-shm"):
            Path(f"/tmp/linli-bench/{DB_NAME}.db{suffix}").unlink(missing_ok=True)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--backends", default="postgres,sqlite")
    parser.add_argument("--sizes", default="10000,1000000")
    parser.add_argument("--waiters", type=int, default=2000)
    parser.add_argument("--duration", type=int, default=8)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument(
        "--instances",
        type=int,
        default=1,
        help="uvicorn processes (one worker each) the waiters are split between; "
        "more than one on PostgreSQL only (its NOTIFY wakes them all)",
    )
    parser.add_argument(
        "--pages",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="the page of 50 against its ceiling (--no-pages: the long-polls only)",
    )
    parser.add_argument(
        "--code",
        type=Path,
        default=ROOT,
        help="the checkout whose `service` the long-poll servers run (A/B against "
        "e.g. `git worktree add --detach /tmp/base main`)",
    )
    parser.add_argument(
        "--pg-url",
        default=os.environ.get(
            "LINLI_BENCH_POSTGRES_URL", "postgresql+psycopg://root@127.0.0.1:5432/postgres"
        ),
    )
    args = parser.parse_args()
    if args.instances > 1 and "sqlite" in args.backends.split(","):
        print("--instances > 1 needs --backends postgres (SQLite has no NOTIFY)", file=sys.stderr)
        return 2
    if args.pages and not shutil.which("wrk"):
        print("wrk is missing: apt-get install wrk (make bench-feed does this)", file=sys.stderr)
        return 2
    # Each waiter is a socket in the client and one in a server (which inherits this).
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = args.waiters + 1024
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))

    sizes = sorted(int(s) for s in args.sizes.split(","))
    pages: list[tuple[str, int, Result, Result, int, int]] = []
    plans: list[str] = []
    waits: list[WaitResult] = []
    for backend in args.backends.split(","):
        try:
            url = fresh_database(backend, args.pg_url, DB_NAME)
            world = build_world(url)
            resident, dispatcher = tokens(world)
            max_xid = 0
            if backend == "postgres":
                engine = create_engine(url)
                with engine.connect() as connection:
                    current = connection.scalar(text("SELECT pg_current_xact_id()::text::bigint"))
                engine.dispose()
                # Below any transaction that could still be running: all final.
                max_xid = int(current or 0) // 2
            plan = Plan(total=sizes[-1], max_xid=max_xid, end=dt.datetime.now(dt.UTC))
            loaded = 0
            for size in sizes:
                seconds = bulk_events(world, plan, loaded, size - loaded)
                print(f"[{backend}] {size - loaded:,} events loaded in {seconds:.1f}s", flush=True)
                loaded = size
                if args.pages:
                    page, read, linli_bytes, ceiling_bytes, lines = bench_pages(
                        url, world, dispatcher, args
                    )
                    pages.append((backend, size, page, read, linli_bytes, ceiling_bytes))
                    plans.append(
                        f"[{backend}, {size:,} events] feed page of 50:\n"
                        + "\n".join("    " + line for line in lines)
                    )
                    print(
                        f"[{backend}] {size:,}: Linli {page.rps:,.0f} req/s, "
                        f"ceiling {read.rps:,.0f} req/s",
                        flush=True,
                    )
                # The waiters on PostgreSQL with the most events; on SQLite with the
                # fewest: its feed query scans the organisation's history there
                # (see the README), which 2,000 head polls at 1 million cannot afford.
                if args.waiters and size == (sizes[-1] if backend == "postgres" else sizes[0]):
                    result = bench_long_polls(
                        url, world, resident, dispatcher, args.waiters, args.instances, args.code
                    )
                    result.events = size
                    waits.append(result)
                    print(f"[{backend}] long-polls: {result}", flush=True)
        finally:
            drop(backend, args.pg_url)

    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    print()
    print(
        f"machine: {os.cpu_count()} cores, {cpu}; Python {platform.python_version()}; "
        f"one uvicorn worker; wrk -t2 -c{args.connections} -d{args.duration}s"
    )
    print()
    print(
        "| backend | events | Linli req/s | p50 ms | p99 ms | errors | ceiling req/s "
        "| ceiling p50 ms | ceiling p99 ms | ratio | body bytes Linli / ceiling |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for backend, size, page, read, linli_bytes, ceiling_bytes in pages:
        print(
            f"| {backend} | {size:,} | {page.rps:,.0f} | {page.p50_ms:.1f} | {page.p99_ms:.1f} "
            f"| {page.errors} | {read.rps:,.0f} | {read.p50_ms:.1f} | {read.p99_ms:.1f} "
            f"| {page.rps / read.rps:.0%} | {linli_bytes:,} / {ceiling_bytes:,} |"
        )
    if waits:
        print()
        rows: list[tuple[str, Callable[[WaitResult], str]]] = [
            ("events in the table", lambda w: f"{w.events:,}"),
            ("long-polls (wait=30)", lambda w: f"{w.waiters:,}"),
            ("uvicorn processes (one worker each)", lambda w: str(w.instances)),
            (
                "all parked after",
                lambda w: f"{w.parked_after_s:.1f} s" + ("" if w.parked else " (still busy)"),
            ),
            (
                "server RSS before / with all waiting",
                lambda w: f"{w.rss_before_mb:.0f} MB / {w.rss_idle_mb:.0f} MB",
            ),
            ("server CPU to take them all in", lambda w: f"{w.park_cpu_s:.2f} s"),
            (
                "server CPU while they wait",
                lambda w: f"{w.idle_cpu_percent:.1f} % (over {w.idle_s:.1f} s)",
            ),
            ("server threads", lambda w: str(w.threads)),
            ("the commit", lambda w: w.commit),
            (
                "horizon past the event after",
                lambda w: (
                    "—"
                    if w.horizon_ms != w.horizon_ms
                    else "> 90 s (held back elsewhere in the cluster)"
                    if w.horizon_ms == float("inf")
                    else f"{w.horizon_ms:.0f} ms"
                ),
            ),
            (
                "answered after the commit: first / p50 / p99 / all",
                lambda w: f"{w.first_ms:.0f} / {w.p50_ms:.0f} / {w.p99_ms:.0f} / {w.all_ms:.0f} ms",
            ),
            (
                "... after the horizon passed: p50 / all",
                lambda w: (
                    "—"
                    if not 0 <= w.horizon_ms < float("inf")
                    else f"{w.p50_ms - w.horizon_ms:.0f} / {w.all_ms - w.horizon_ms:.0f} ms"
                ),
            ),
            (
                "answered with the event / errors",
                lambda w: f"{w.woken:,} / {w.errors}",
            ),
            (
                "empty answers (30 s ran out) before / after the commit",
                lambda w: f"{w.early:,} / {w.late:,}",
            ),
            ("503/429 while connecting (polled again)", lambda w: f"{w.refused:,}"),
            ("server CPU to answer them all", lambda w: f"{w.wake_cpu_s:.2f} s"),
            ("load average at the commit", lambda w: w.load),
        ]
        print("| long-poll | " + " | ".join(w.backend for w in waits) + " |")
        print("|---|" + "---:|" * len(waits))
        for label, value in rows:
            print(f"| {label} | " + " | ".join(value(w) for w in waits) + " |")
    print()
    for plan_text in plans:
        print(plan_text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
