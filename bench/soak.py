"""Soak: one Linli worker under a realistic mixed load with many long-pollers.

    python bench/soak.py [--backend postgres|sqlite] (--rate N | --fraction F)
                         [--capacity N] [--minutes 12] [--seconds-per-row 60]
                         [--organizations 300] [--webhook-organizations 30]

"Under load Linli must degrade, never wedge." The method:

* A fresh database (PostgreSQL from LINLI_BENCH_POSTGRES_URL, dropped at the end;
  or a temporary SQLite file) with N property companies, each serving one of N
  communities, written straight through the ORM (seconds, not minutes of POSTs).
* One `python -m service serve` worker, with its periodic jobs (webhook delivery
  as events commit), webhooks allowed to 127.0.0.0/8 and a 1 s backoff base so that
  retries finish within the run.
* Every company's dispatcher long-polls `GET /v1/feed?wait=25` on a connection of
  its own, following `next_cursor` and recording each event id it receives.
* A sample of the companies has a webhook to a receiver in a thread of this
  process, which answers 500 to ~5% of deliveries (so retries happen) and
  records the event ids it acknowledged.
* An open-loop mixed load at a fixed rate: 30% creations by a random community's
  resident (with an Idempotency-Key), 50% pages of 50 by a random dispatcher, 20%
  reads of a ticket created earlier by its company's dispatcher. Requests leave on
  schedule whatever the server does and latency counts from the scheduled time
  (no coordinated omission); a request unanswered 10 s after that time is a
  timeout. The rate is `--rate`, or `--fraction` of a capacity measured first by
  a closed loop of the same mix (32 connections, 10 s) unless `--capacity` says.
* A row per `--seconds-per-row`: the server's RSS and CPU, PostgreSQL connections
  by state, p50/p99 per kind, answers by class, and the lags from a creation's
  201 to its `ticket.created` event at the company's poller and at the receiver.
* After the load: how soon a plain GET /v1/tickets answers 200; then, waiting a
  bounded time for stragglers, every event in the database of each company must
  have reached its poller exactly once, and every event of a subscribed company
  the receiver at least once.

The generator shares the two cores with the server, so it is lean: raw HTTP/1.1
on keep-alive asyncio connections (as bench/rate.py), its collector paused
during the load; its own CPU time is printed.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import datetime as dt
import gc
import json
import os
import platform
import random
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from bench.run import free_port  # noqa: E402
from bench.setup_data import BENCH_SECRET, fresh_database  # noqa: E402

TIMEOUT = 10.0  # seconds from the scheduled send time
FEED_WAIT = 25
IDLE_REUSE_SECONDS = 4.0  # uvicorn closes keep-alive connections idle for 5 s
MIXED_CONNECTIONS = 256
KINDS = ("create", "page", "read")
SHED = ("429", "503")
DB_NAME = "linli_soak"
PG_URL = os.environ.get(
    "LINLI_BENCH_POSTGRES_URL", "postgresql+psycopg://root@127.0.0.1:5432/postgres"
)
DESCRIPTION = "厨房水管漏水，请尽快处理。3号楼2单元501"
Out = Callable[[str], None]


# --------------------------------------------------------------------------- world


@dataclass
class World:
    url: str
    organizations: list[int]  # index i: the company serving communities[i]
    communities: list[int]
    residents: list[str]  # tokens, one per community
    dispatchers: list[str]  # tokens, one per company


def build_world(url: str, secret: str, n: int) -> World:
    """N communities, each served by a company of its own, straight through the ORM."""
    from service.auth import mint_token
    from service.categories.service import load_reference_tree
    from service.config import Settings
    from service.db import make_engine
    from service.directory.credit_code import check_character
    from service.directory.models import Community, Organization, ProviderAssignment, Region
    from service.enums import OrganizationKind, RegionLevel, ServiceKind

    settings = Settings(database_url=url, jwt_secret=secret, env="dev")
    engine = make_engine(settings)
    with Session(engine) as session, session.begin():
        load_reference_tree(session)
        parent: Region | None = None
        for name, level in (
            ("新疆维吾尔自治区", RegionLevel.province),
            ("乌鲁木齐市", RegionLevel.prefecture),
            ("天山区", RegionLevel.county),
        ):
            region = Region(
                name=name, level=level, parent_id=parent and parent.id, path=f"tmp:{name}"
            )
            session.add(region)
            session.flush()
            region.path = f"{parent.path if parent else '/'}{region.id}/"
            parent = region
        assert parent is not None
        communities = [
            Community(name=f"小区{i}", region_id=parent.id, region_path=parent.path, households=500)
            for i in range(n)
        ]
        codes = [f"91650100MA{i:07d}" for i in range(n)]  # 17 characters, then the check
        organizations = [
            Organization(
                name=f"物业公司{i}",
                kind=OrganizationKind.property_company,
                credit_code=code + check_character(code),
                region_id=parent.id,
                region_path=parent.path,
            )
            for i, code in enumerate(codes)
        ]
        session.add_all([*communities, *organizations])
        session.flush()
        since = dt.date.today() - dt.timedelta(days=30)
        session.add_all(
            ProviderAssignment(
                community_id=c.id,
                kind=ServiceKind.property,
                organization_id=o.id,
                since_on=since,
                current=True,
            )
            for c, o in zip(communities, organizations, strict=True)
        )
        community_ids = [c.id for c in communities]
        organization_ids = [o.id for o in organizations]
    engine.dispose()
    residents = [
        mint_token(settings, sub=f"soak-resident-{i}", role="resident", community_id=c)
        for i, c in enumerate(community_ids)
    ]
    dispatchers = [
        mint_token(
            settings,
            sub=f"soak-dispatcher-{i}",
            role="provider_staff",
            organization_id=o,
            org_role="dispatcher",
        )
        for i, o in enumerate(organization_ids)
    ]
    return World(url, organization_ids, community_ids, residents, dispatchers)


# --------------------------------------------------------------------------- HTTP


class Reply(NamedTuple):
    status: int
    headers: dict[bytes, bytes]
    body: bytes


def parse_headers(head: bytes) -> dict[bytes, bytes]:
    headers = {}
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        headers[name.strip().lower()] = value.strip()
    return headers


async def roundtrip(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, raw: bytes
) -> Reply:
    writer.write(raw)
    head = await reader.readuntil(b"\r\n\r\n")
    headers = parse_headers(head)
    body = b""
    if b"content-length" in headers:
        body = await reader.readexactly(int(headers[b"content-length"]))
    elif headers.get(b"transfer-encoding") == b"chunked":
        while size := int((await reader.readuntil(b"\r\n"))[:-2], 16):
            body += (await reader.readexactly(size + 2))[:-2]
        await reader.readuntil(b"\r\n")
    return Reply(int(head[9:12]), headers, body)


class Pool:
    """Up to `size` keep-alive connections; a request waits for a free one."""

    def __init__(self, port: int, size: int) -> None:
        self.port = port
        self.free = asyncio.Semaphore(size)
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter, float]] = []

    async def exchange(self, raw: bytes) -> Reply:
        await self.free.acquire()
        try:
            while self.idle:
                reader, writer, since = self.idle.pop()
                if time.monotonic() - since < IDLE_REUSE_SECONDS:
                    break
                writer.close()
            else:
                reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        except BaseException:
            self.free.release()
            raise
        reusable = False
        try:  # a timeout cancels this mid-request: that connection is not reused
            reply = await roundtrip(reader, writer, raw)
            reusable = reply.headers.get(b"connection", b"").lower() != b"close"
            return reply
        finally:
            if reusable:
                self.idle.append((reader, writer, time.monotonic()))
            else:
                writer.close()
            self.free.release()

    def close(self) -> None:
        for _reader, writer, _since in self.idle:
            writer.close()


def get(path: str, token: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: linli\r\nAuthorization: Bearer {token}\r\n\r\n".encode()


# --------------------------------------------------------------------------- receiver


class Receiver:
    """The webhook receiver: its own thread and event loop, so that the generator's
    load does not delay its answers. 500 to `failure_rate` of deliveries."""

    def __init__(self, failure_rate: float = 0.05, seed: int = 11) -> None:
        self.failure_rate = failure_rate
        self.rng = random.Random(seed)
        # (monotonic time, event id, ticket id, type) of each acknowledged delivery
        self.acknowledged: list[tuple[float, int, int, str]] = []
        self.failed = 0
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        server = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._handle, "127.0.0.1", 0), self.loop
        ).result()
        self.port = int(server.sockets[0].getsockname()[1])

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                headers = parse_headers(await reader.readuntil(b"\r\n\r\n"))
                body = await reader.readexactly(int(headers.get(b"content-length", b"0")))
                if self.rng.random() < self.failure_rate:
                    self.failed += 1
                    writer.write(b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n")
                    continue
                event = json.loads(body)
                event_id = int(headers[b"linli-event-id"])
                self.acknowledged.append(
                    (time.monotonic(), event_id, event["ticket_id"], event["type"])
                )
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


# --------------------------------------------------------------------------- server


class Linli:
    """`python -m service serve`: one worker, in a directory of its own (no .env)."""

    def __init__(self, url: str, secret: str, extra: dict[str, str]) -> None:
        self.port = free_port()
        self.directory = Path(tempfile.mkdtemp(prefix="linli-soak-"))
        self.log = self.directory / "server.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("LINLI_")}
        env.update(
            LINLI_DATABASE_URL=url,
            LINLI_JWT_SECRET=secret,
            LINLI_ENV="dev",
            # Each community's one resident files the same report over and over, ~90
            # an hour at half of capacity: beyond the quota, and duplicates. The soak
            # is about degrading and delivery, not the creation path (bench/run.py
            # measures that with both on).
            LINLI_TICKETS_PER_HOUR="0",
            LINLI_DUPLICATE_WINDOW_MINUTES="0",
            LINLI_WEBHOOK_ALLOW_TARGETS="127.0.0.0/8",
            LINLI_WEBHOOK_BACKOFF_BASE_SECONDS="1",
            PYTHONPATH=str(ROOT),
            **extra,
        )
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "service", "serve", "--host", "127.0.0.1"]
                + ["--port", str(self.port), "--log-level", "warning"],
                cwd=self.directory,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        tail = self.log_tail()
        self.stop()
        raise RuntimeError(f"the server did not start:\n{tail}")

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.directory, ignore_errors=True)


# --------------------------------------------------------------------------- figures


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, int(len(ordered) * q + 0.999999) - 1))]


def pair(values: list[float]) -> str:
    """'p50 / p99' in ms of durations in seconds."""
    if not values:
        return "—"
    return f"{pct(values, 0.5) * 1000:.0f} / {pct(values, 0.99) * 1000:.0f}"


@dataclass
class Row:
    latency: dict[str, list[float]] = field(default_factory=lambda: {k: [] for k in KINDS})
    shed: list[float] = field(default_factory=list)  # latency of 503/429 answers
    answers: collections.Counter[str] = field(default_factory=collections.Counter)
    no_retry_after: int = 0  # 503/429 answers without the header
    feed_polls: int = 0
    feed_shed: int = 0  # of which answered 503/429
    feed_lag: list[float] = field(default_factory=list)
    webhook_lag: list[float] = field(default_factory=list)
    rss_mb: float = 0.0
    cpu_percent: float = 0.0
    connections: str = "—"

    def count(self, status: int | str) -> None:
        key = status if isinstance(status, str) else f"{status}"
        if key not in SHED and key != "timeout":
            key = "2xx" if key.startswith("2") else "other"
        self.answers[key] += 1

    def merge(self, other: Row) -> None:
        for kind in KINDS:
            self.latency[kind] += other.latency[kind]
        self.shed += other.shed
        self.answers.update(other.answers)
        self.no_retry_after += other.no_retry_after
        self.feed_polls += other.feed_polls
        self.feed_shed += other.feed_shed
        self.feed_lag += other.feed_lag
        self.webhook_lag += other.webhook_lag


ROW_HEADER = (
    "| row | RSS MB | server CPU | PG connections | create p50 / p99 ms | page p50 / p99 ms "
    "| read p50 / p99 ms | 2xx | 429 | 503 | other | timeouts | 503/429 p99 ms "
    "| feed polls (503/429) | feed lag p50 / p99 ms | webhook lag p50 / p99 ms |\n"
    "|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
)


def row_line(seconds: float | str, row: Row) -> str:
    """A table row; `seconds`: when it ended, from the start of the load."""
    label = seconds if isinstance(seconds, str) else f"{seconds:g} s"
    if isinstance(seconds, float | int) and seconds % 60 == 0:
        label = f"{seconds / 60:g} min"
    a = row.answers
    shed_p99 = f"{pct(row.shed, 0.99) * 1000:.0f}" if row.shed else "—"
    return (
        f"| {label} | {row.rss_mb:.0f} | {row.cpu_percent:.0f}% | {row.connections} "
        + "".join(f"| {pair(row.latency[k])} " for k in KINDS)
        + f"| {a['2xx']} | {a['429']} | {a['503']} | {a['other']} | {a['timeout']} | {shed_p99} "
        f"| {row.feed_polls} ({row.feed_shed}) | {pair(row.feed_lag)} | {pair(row.webhook_lag)} |"
    )


@dataclass
class SoakReport:
    backend: str
    rate: float
    capacity: float | None
    seconds: float
    rows: list[Row]
    total: Row
    created: int = 0
    recovery_seconds: float | None = None  # None: no 200 within the window
    feed_events: int = 0
    feed_missing: int = 0
    feed_duplicates: int = 0
    feed_foreign: int = 0  # received by a company it does not belong to, or unknown
    created_not_fed_once: int = 0
    webhook_events: int = 0
    webhook_missing: int = 0
    webhook_failed_answers: int = 0
    generator_cpu_seconds: float = 0.0
    after: Row | None = None  # from the end of the load to the end of the verification
    criteria: list[tuple[str, bool, str]] = field(default_factory=list)

    @property
    def overload(self) -> bool:
        return self.capacity is not None and self.rate > self.capacity

    @property
    def passed(self) -> bool:
        return all(ok for _name, ok, _detail in self.criteria)


# --------------------------------------------------------------------------- the soak


class Soak:
    def __init__(
        self, world: World, server: Linli, receiver: Receiver, subscribed: set[int]
    ) -> None:
        self.world, self.server, self.receiver = world, server, receiver
        self.subscribed = subscribed  # organisation ids with a webhook
        self.index = {org: i for i, org in enumerate(world.organizations)}
        self.rng = random.Random(7)
        self.row = Row()
        self.created: dict[int, tuple[int, float]] = {}  # ticket id -> (org id, 201 at)
        self.readable: list[tuple[int, int]] = []  # (ticket id, org index)
        self.fed: list[collections.Counter[int]] = [
            collections.Counter() for _ in world.organizations
        ]
        self.fed_created: collections.Counter[int] = collections.Counter()  # ticket id -> times
        self.fed_at: dict[int, float] = {}  # ticket id -> its ticket.created at the poller
        self.hooked: int = 0  # receiver entries already turned into lags
        self.pending_hooks: list[tuple[float, int]] = []
        self.pg = make_url(world.url) if world.url.startswith("postgresql") else None
        self.renders = [
            self._create_head(c, r) for c, r in zip(world.communities, world.residents, strict=True)
        ]
        self.pages = [get("/v1/tickets?limit=50", t) for t in world.dispatchers]

    @staticmethod
    def _create_head(community_id: int, token: str) -> tuple[bytes, bytes]:
        body = json.dumps(
            {
                "category": "repair.plumbing",
                "community_id": community_id,
                "description": DESCRIPTION,
            },
            ensure_ascii=False,
        ).encode()
        head = (
            "POST /v1/tickets HTTP/1.1\r\nHost: linli\r\nContent-Type: application/json\r\n"
            f"Authorization: Bearer {token}\r\nContent-Length: {len(body)}\r\n"
        ).encode()
        return head, body

    def pick(self) -> tuple[str, bytes]:
        r = self.rng.random()
        if r < 0.30:
            head, body = self.renders[self.rng.randrange(len(self.renders))]
            return "create", head + f"Idempotency-Key: {uuid.uuid4()}\r\n\r\n".encode() + body
        if r < 0.80 or not self.readable:
            return "page", self.pages[self.rng.randrange(len(self.pages))]
        ticket_id, i = self.readable[self.rng.randrange(len(self.readable))]
        return "read", get(f"/v1/tickets/{ticket_id}", self.world.dispatchers[i])

    async def issue(self, pool: Pool, kind: str, raw: bytes, scheduled: float) -> Reply | None:
        """One request of the mixed load, timed from `scheduled`, counted in the row."""
        try:
            async with asyncio.timeout_at(scheduled + TIMEOUT):
                reply = await pool.exchange(raw)
        except TimeoutError:
            self.row.count("timeout")
            return None
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
            self.row.count("error")
            return None
        now = time.monotonic()
        self.row.count(reply.status)
        if reply.status in (429, 503):
            self.row.shed.append(now - scheduled)
            self.row.no_retry_after += b"retry-after" not in reply.headers
        elif 200 <= reply.status < 300:
            self.row.latency[kind].append(now - scheduled)
            if kind == "create":
                ticket = json.loads(reply.body)
                org = ticket["organization_id"]
                self.created[ticket["id"]] = (org, now)
                if org in self.index:  # (always: every community has its company)
                    self.readable.append((ticket["id"], self.index[org]))
                if ticket["id"] in self.fed_at:  # the feed was quicker than our parsing
                    self.row.feed_lag.append(0.0)
        return reply

    async def poll(self, i: int, ready: asyncio.Event) -> None:
        """Company i's dispatcher: long-polls the feed for ever, following next_cursor."""
        token, cursor, conn = self.world.dispatchers[i], "", None
        wait = 0  # the first poll takes the head at once
        try:
            while True:
                query = f"?wait={wait}&limit=50" + (f"&cursor={cursor}" if cursor else "")
                try:
                    async with asyncio.timeout(wait + TIMEOUT):
                        if conn is None:
                            conn = await asyncio.open_connection("127.0.0.1", self.server.port)
                        reply = await roundtrip(*conn, get(f"/v1/feed{query}", token))
                except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError) as exc:
                    self.row.count("timeout" if isinstance(exc, TimeoutError) else "error")
                    if conn is not None:
                        conn[1].close()
                    conn = None
                    await asyncio.sleep(1)
                    continue
                now = time.monotonic()
                self.row.count(reply.status)
                self.row.feed_polls += 1
                if reply.headers.get(b"connection", b"").lower() == b"close":
                    conn[1].close()
                    conn = None
                if reply.status in (429, 503):
                    self.row.feed_shed += 1
                    self.row.no_retry_after += b"retry-after" not in reply.headers
                    await asyncio.sleep(float(reply.headers.get(b"retry-after", b"1")))
                    continue
                if reply.status != 200:
                    await asyncio.sleep(1)
                    continue
                page = json.loads(reply.body)
                cursor, wait = page["next_cursor"], FEED_WAIT
                ready.set()
                for event in page["events"]:
                    self.fed[i][event["id"]] += 1
                    if event["type"] == "ticket.created":
                        ticket_id = event["ticket_id"]
                        self.fed_created[ticket_id] += 1
                        self.fed_at.setdefault(ticket_id, now)
                        if ticket_id in self.created and self.fed_created[ticket_id] == 1:
                            self.row.feed_lag.append(now - self.created[ticket_id][1])
        finally:  # cancelled at the end: hang up, as a client going away does
            if conn is not None:
                conn[1].close()

    def collect_hooks(self) -> None:
        """Turn the receiver's new acknowledgements into webhook lags."""
        entries = self.receiver.acknowledged
        fresh, self.hooked = entries[self.hooked : len(entries)], len(entries)
        seen = self.pending_hooks + [
            (at, t) for at, _e, t, kind in fresh if kind == "ticket.created"
        ]
        self.pending_hooks = []
        for at, ticket_id in seen:
            if ticket_id in self.created:
                self.row.webhook_lag.append(max(0.0, at - self.created[ticket_id][1]))
            else:
                self.pending_hooks.append((at, ticket_id))

    def connections(self) -> str:
        if self.pg is None:
            return "—"
        admin = create_engine(self.pg.set(database="postgres"))
        try:
            with admin.connect() as connection:
                states = connection.execute(
                    text(
                        "SELECT coalesce(state, '?'), count(*) FROM pg_stat_activity "
                        "WHERE datname = :d GROUP BY 1 ORDER BY 2 DESC"
                    ),
                    {"d": self.pg.database},
                ).all()
        finally:
            admin.dispose()
        return ", ".join(f"{n} {state}" for state, n in states) or "0"

    def open_row(self) -> None:
        self.row, self.row_cpu, self.row_since = Row(), self.server.cpu_seconds(), time.monotonic()

    async def close_row(self) -> Row:
        self.collect_hooks()
        row, cpu, since = self.row, self.row_cpu, self.row_since
        self.open_row()
        row.cpu_percent = 100 * (self.row_cpu - cpu) / max(1e-6, self.row_since - since)
        row.rss_mb = self.server.rss_mb()
        row.connections = await asyncio.to_thread(self.connections)
        return row

    async def capacity(self, seconds: float = 10, concurrency: int = 32) -> tuple[float, Row]:
        """A closed loop of the mix: 2xx answers per second."""
        pool, end = Pool(self.server.port, concurrency), time.monotonic() + seconds

        async def worker() -> None:
            while time.monotonic() < end:
                kind, raw = self.pick()
                await self.issue(pool, kind, raw, time.monotonic())

        saved, self.row = self.row, Row()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        pool.close()
        measured, self.row = self.row, saved  # (the pollers' answers counted there too)
        return sum(len(measured.latency[k]) for k in KINDS) / seconds, measured

    async def load(self, rate: float, plan: Plan, out: Out) -> tuple[list[Row], float | None]:
        pool = Pool(self.server.port, MIXED_CONNECTIONS)
        start = time.monotonic() + 0.05
        in_flight: set[asyncio.Task[Any]] = set()
        rows: list[Row] = []
        self.open_row()
        out(ROW_HEADER)
        boundary = start + plan.row_seconds
        for n in range(int(rate * plan.seconds)):
            scheduled = start + n / rate
            while scheduled >= boundary:  # a row is over: its figures, while sending on
                rows.append(await self.close_row())
                boundary += plan.row_seconds
                out(row_line(len(rows) * plan.row_seconds, rows[-1]))
            delay = scheduled - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            kind, raw = self.pick()
            task = asyncio.create_task(self.issue(pool, kind, raw, scheduled))
            in_flight.add(task)
            task.add_done_callback(in_flight.discard)
        # The load has stopped: how soon does a plain request answer again?
        recovered = await self.recovery(time.monotonic(), plan.recovery_window)
        await asyncio.gather(*in_flight)
        rows.append(await self.close_row())
        out(row_line(plan.seconds, rows[-1]))
        pool.close()
        return rows, recovered

    async def recovery(self, stopped: float, window: float) -> float | None:
        """Seconds from the end of the load to a 200 for a plain GET /v1/tickets."""
        while time.monotonic() - stopped < window:
            try:
                async with asyncio.timeout_at(stopped + window):
                    conn = await asyncio.open_connection("127.0.0.1", self.server.port)
                    reply = await roundtrip(*conn, get("/v1/tickets", self.world.dispatchers[0]))
                    conn[1].close()
                if reply.status == 200:
                    return time.monotonic() - stopped
            except (TimeoutError, OSError, asyncio.IncompleteReadError):
                pass
            await asyncio.sleep(0.05)
        return None

    def database_events(self) -> list[tuple[int, int, int, str]]:
        engine = create_engine(self.world.url)
        try:
            with engine.connect() as connection:
                return [
                    tuple(r)  # type: ignore[misc]
                    for r in connection.execute(
                        text(
                            "SELECT id, organization_id, ticket_id, type FROM ticket_event "
                            "WHERE organization_id IS NOT NULL"
                        )
                    )
                ]
        finally:
            engine.dispose()

    async def verify(self, report: SoakReport, feed_wait: float, webhook_wait: float) -> None:
        """Wait (bounded) for stragglers, then compare what arrived with the database."""
        started = time.monotonic()
        while True:
            events = await asyncio.to_thread(self.database_events)
            acknowledged = {e for _at, e, _t, _k in self.receiver.acknowledged}
            missing = [e for e, org, _t, _k in events if not self.fed[self.index.get(org, 0)][e]]
            hooks = {e for e, org, _t, _k in events if org in self.subscribed}
            elapsed = time.monotonic() - started
            feed_done = not missing or elapsed > feed_wait
            if feed_done and (hooks <= acknowledged or elapsed > webhook_wait):
                break
            await asyncio.sleep(1)
        owner = {e: self.index[org] for e, org, _t, _k in events}
        report.feed_events, report.feed_missing = len(events), len(missing)
        report.feed_duplicates = sum(n - 1 for counts in self.fed for n in counts.values() if n > 1)
        report.feed_foreign = sum(
            1 for i, counts in enumerate(self.fed) for e in counts if owner.get(e) != i
        )
        report.created = len(self.created)
        report.created_not_fed_once = sum(1 for t in self.created if self.fed_created[t] != 1)
        report.webhook_events, report.webhook_missing = len(hooks), len(hooks - acknowledged)
        report.webhook_failed_answers = self.receiver.failed

    async def run(self, backend: str, plan: Plan, out: Out) -> SoakReport:
        n = len(self.world.organizations)
        readies = [asyncio.Event() for _ in range(n)]
        pollers = [asyncio.create_task(self.poll(i, readies[i])) for i in range(n)]
        async with asyncio.timeout(60):  # each has its first cursor (and is provisioned)
            await asyncio.gather(*(ready.wait() for ready in readies))
        out(f"{n} long-pollers parked; {len(self.subscribed)} companies with a webhook")
        capacity = plan.capacity
        if plan.rate is None and capacity is None:
            capacity, closed = await self.capacity()
            out(
                f"capacity (closed loop of the mix, 32 connections, 10 s): {capacity:.0f} req/s, "
                f"p50 / p99 {pair([x for k in KINDS for x in closed.latency[k]])} ms, "
                f"{closed.answers['other'] + closed.answers['timeout']} errors"
            )
        rate = plan.rate if plan.rate is not None else plan.fraction * (capacity or 0)
        out(f"\nopen-loop mixed load at {rate:.0f} req/s for {plan.seconds:g} s\n")
        gc.collect()
        gc.freeze()
        gc.disable()  # a collection in the generator would count as the server's latency
        cpu = time.process_time()
        try:
            rows, recovered = await self.load(rate, plan, out)
        finally:
            gc.enable()
            gc.unfreeze()
        total = Row()
        for row in rows:
            total.merge(row)
        report = SoakReport(backend, rate, capacity, plan.seconds, rows, total)
        report.recovery_seconds = recovered
        report.generator_cpu_seconds = time.process_time() - cpu
        await self.verify(report, plan.feed_wait, plan.webhook_wait)
        # What arrived while waiting for stragglers (late events: long lags) counts too.
        report.after = await self.close_row()
        out(row_line("after the load", report.after))
        total.merge(report.after)
        for poller in pollers:
            poller.cancel()
        await asyncio.gather(*pollers, return_exceptions=True)
        judge(report, plan.recovery_window)
        summarise(report, out)
        return report


def judge(report: SoakReport, recovery_window: float) -> None:
    total = report.total
    a = total.answers
    admitted = [x for kind in KINDS for x in total.latency[kind]]
    p99 = pct(admitted, 0.99) * 1000
    checks: list[tuple[str, bool, str]] = [
        ("no timeouts", a["timeout"] == 0, f"{a['timeout']} timeouts"),
    ]
    if report.overload:
        shed_p99 = pct(total.shed, 0.99) * 1000
        checks += [
            ("no errors but 503/429", a["other"] == 0, f"{a['other']} other answers or errors"),
            (
                "excess answered 503/429 with Retry-After, quickly (p99 < 100 ms)",
                bool(total.shed) and total.no_retry_after == 0 and shed_p99 < 100,
                f"{a['503']} × 503, {a['429']} × 429, p50 {pct(total.shed, 0.5) * 1000:.0f} ms, "
                f"p99 {shed_p99:.0f} ms, "
                f"{total.no_retry_after} without Retry-After",
            ),
            ("admitted requests p99 < 500 ms", p99 < 500, f"p99 {p99:.0f} ms"),
        ]
    else:
        errors = a["other"] + a["503"] + a["429"]
        checks += [
            ("no errors (nor 503/429)", errors == 0, f"{errors} errors"),
            ("p99 < 100 ms", p99 < 100, f"p99 {p99:.0f} ms"),
        ]
    half = max(1, len(report.rows) // 2)
    early = max(r.rss_mb for r in report.rows[:half])
    late = max(r.rss_mb for r in report.rows[half:] or report.rows[-1:])
    checks += [
        (
            "RSS bounded (2nd half peak ≤ 1.2 × 1st half peak + 20 MB)",
            late <= early * 1.2 + 20,
            f"{early:.0f} MB → {late:.0f} MB",
        ),
        (
            f"recovery: GET /v1/tickets 200 within {recovery_window:g} s",
            report.recovery_seconds is not None,
            "none"
            if report.recovery_seconds is None
            else f"{report.recovery_seconds * 1000:.0f} ms",
        ),
        (
            "feed: every event exactly once, to its company",
            report.feed_missing == report.feed_duplicates == report.feed_foreign == 0
            and report.created_not_fed_once == 0,
            f"{report.feed_events} events, {report.feed_missing} missing, "
            f"{report.feed_duplicates} duplicates, {report.feed_foreign} foreign; "
            f"{report.created} created, {report.created_not_fed_once} not fed exactly once",
        ),
        (
            "webhooks: every event of subscribed companies at least once",
            report.webhook_missing == 0,
            f"{report.webhook_events} events, {report.webhook_missing} missing, "
            f"{report.webhook_failed_answers} answered 500 by the receiver",
        ),
    ]
    report.criteria = checks


# --------------------------------------------------------------------------- running


@dataclass
class Plan:
    rate: float | None = None  # requests/s; None: fraction × capacity
    fraction: float = 0.5
    capacity: float | None = None  # None (and no rate): measured first
    seconds: float = 720
    row_seconds: float = 60
    feed_wait: float = 30  # bounded waits for stragglers after the load
    webhook_wait: float = 60
    recovery_window: float = 5.0


def run_soak(
    backend: str = "postgres",
    rate: float | None = None,
    seconds: float = 720,
    organizations: int = 300,
    *,
    webhook_organizations: int | None = None,
    database_url: str | None = None,
    secret: str = BENCH_SECRET,
    server_env: dict[str, str] | None = None,
    out: Out = print,
    **plan: float,
) -> SoakReport:
    """The soak. `database_url`: a migrated database to use (and keep), else a fresh
    one, dropped at the end. `plan`: the other fields of Plan (fraction, capacity...)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 8192)), hard))
    url = database_url or fresh_database(backend, PG_URL, DB_NAME)
    receiver, server = Receiver(), None
    try:
        world = build_world(url, secret, organizations)
        server = Linli(url, secret, server_env or {})
        hooks = organizations // 10 if webhook_organizations is None else webhook_organizations
        sample = list(range(0, organizations, max(1, organizations // max(1, hooks))))[:hooks]
        with httpx.Client(base_url=server.url, timeout=30) as client:
            for i in sample:
                response = client.post(
                    "/v1/webhooks",
                    json={"url": f"http://127.0.0.1:{receiver.port}/hooks/{i}"},
                    headers={"Authorization": f"Bearer {world.dispatchers[i]}"},
                )
                assert response.status_code == 201, response.text
            for token in world.residents:  # provision the residents before the clock runs
                client.get("/v1/tickets?limit=1", headers={"Authorization": f"Bearer {token}"})
        soak = Soak(world, server, receiver, {world.organizations[i] for i in sample})
        return asyncio.run(soak.run(backend, Plan(rate=rate, seconds=seconds, **plan), out))
    finally:
        if server is not None:
            if server.process.poll() is not None:  # it died: say why
                out(f"the server exited with {server.process.returncode}:\n{server.log_tail()}")
            server.stop()
        receiver.stop()
        if database_url is None:
            drop(backend)


def summarise(report: SoakReport, out: Out) -> None:
    total = report.total
    out("")
    out(
        f"generator CPU: {report.generator_cpu_seconds:.1f} s over {report.seconds:g} s "
        f"({100 * report.generator_cpu_seconds / report.seconds:.0f}% of one core)"
    )
    out("")
    out("| kind | answered 2xx | p50 ms | p99 ms | max ms |")
    out("|---|---:|---:|---:|---:|")
    for kind in KINDS:
        values = total.latency[kind]
        out(
            f"| {kind} | {len(values)} | {pct(values, 0.5) * 1000:.1f} "
            f"| {pct(values, 0.99) * 1000:.1f} | {max(values, default=0) * 1000:.1f} |"
        )
    for name, lags in (("feed lag", total.feed_lag), ("webhook lag", total.webhook_lag)):
        out(f"| {name} | {len(lags)} | {pair(lags).replace(' / ', ' | ')} | |")
    out("")
    regime = "overload" if report.overload else "at or below capacity"
    capacity = f"{report.capacity:.0f} req/s" if report.capacity else "not measured"
    out(f"{report.backend}, {report.rate:.0f} req/s, capacity {capacity}: criteria for {regime}")
    out("")
    out("| criterion | result | detail |")
    out("|---|---|---|")
    for name, ok, detail in report.criteria:
        out(f"| {name} | {'PASS' if ok else 'FAIL'} | {detail} |")


def drop(backend: str) -> None:
    if backend == "postgres":
        admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
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
    parser.add_argument("--backend", choices=("postgres", "sqlite"), default="postgres")
    load = parser.add_mutually_exclusive_group()
    load.add_argument("--rate", type=float, help="requests/s of the mixed load")
    load.add_argument("--fraction", type=float, help="of the capacity (default 0.5)")
    parser.add_argument("--capacity", type=float, help="req/s; skips measuring it")
    parser.add_argument("--minutes", type=float, default=12)
    parser.add_argument("--seconds-per-row", type=float, default=60)
    parser.add_argument("--organizations", type=int, default=300)
    parser.add_argument("--webhook-organizations", type=int, default=30)
    parser.add_argument(
        "--server-env",
        action="append",
        default=[],
        metavar="LINLI_NAME=VALUE",
        help="a setting for the server (repeatable), e.g. LINLI_MAX_REQUESTS_IN_FLIGHT=16",
    )
    args = parser.parse_args()
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    print(
        f"machine: {os.cpu_count()} cores, {cpu}; Python {platform.python_version()}; "
        f"one Linli worker on {args.backend}; {args.organizations} companies",
        flush=True,
    )
    report = run_soak(
        args.backend,
        args.rate,
        args.minutes * 60,
        args.organizations,
        webhook_organizations=args.webhook_organizations,
        out=lambda line: print(line, flush=True),
        row_seconds=args.seconds_per_row,
        server_env=dict(item.split("=", 1) for item in args.server_env),
        **{k: v for k, v in (("fraction", args.fraction), ("capacity", args.capacity)) if v},
    )
    return 0 if report.passed else 1


if __name__ == "__main__":
    sys.exit(main())
