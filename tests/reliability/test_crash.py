"""Crash: kill -9 the server in the middle of a load of creations with Idempotency-Keys.

A real server process takes a load of POST /v1/tickets from many clients, each
request with an Idempotency-Key, and is killed with SIGKILL once enough of them
were acknowledged; a new process is started on the same database and the load
goes on, retrying the keys whose requests died; after the last kill a final
server answers a retry of every key. Throughout:

- every ticket acknowledged with 201 exists exactly once, as acknowledged;
- no two tickets were ever made for one key (each key's body has a marker);
- a ticket and its stored response were committed together (a ticket without its
  stored response, or a stored response without its ticket, is a lost write);
- a retry of an acknowledged key replays the same response, and a retry of a key
  whose request died returns the ticket that request committed, if it did, or
  else a new one.

A request that died must leave nothing behind that blocks its key. A retry may
still meet 409 ("still being processed") for a moment while PostgreSQL notices
that the dead server's connection is gone: the clients wait and retry, for at
most RETRY_SECONDS.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter, deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

from service.idempotency.models import IdempotencyKey
from service.tickets.models import Ticket, TicketEvent
from tests.conftest import World, build_world
from tests.reliability.servers import reference_database, servers_registry, settings_for

pytestmark = pytest.mark.slow

CLIENTS = 8
ROUNDS = 3  # servers killed
ACKS_BEFORE_KILL = 40  # per round: the kill comes a few milliseconds after this many
RETRY_SECONDS = 15
# Keys are scoped to their caller: the same key string is used by each of these,
# and must give each its own ticket.
ACTORS = ("reporter", "neighbour", "grid_worker", "dispatcher", "province_admin")
MARKER = "crash-test"


@dataclass
class Key:
    actor: str
    key: str
    body: dict[str, Any]
    ack: dict[str, Any] | None = None  # the body of the first 201
    not_before: float = 0.0

    @property
    def marker(self) -> str:
        return str(self.body["description"])


@dataclass
class Ledger:
    """What the clients sent and what they were told, shared by their threads."""

    world: World
    keys: list[Key] = field(default_factory=list)
    retry: deque[Key] = field(default_factory=deque)
    acks_this_round: int = 0
    # Set when the round has enough acknowledgements (or went wrong): time to kill.
    enough: threading.Event = field(default_factory=threading.Event)
    errors: list[str] = field(default_factory=list)
    stats: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def new_round(self) -> None:
        with self.lock:
            self.acks_this_round = 0
            self.enough.clear()
            self.retry = deque(k for k in self.keys if k.ack is None)

    def next(self) -> Key:
        """A key whose request died, an acknowledged key (a replay), or a new one."""
        with self.lock:
            now = time.monotonic()
            if self.retry and self.retry[0].not_before <= now and random.random() < 0.5:
                return self.retry.popleft()
            if self.acks_this_round and random.random() < 0.1:
                return random.choice([k for k in self.keys if k.ack is not None])
            return self._new_key()

    def _new_key(self) -> Key:
        n = len(self.keys)
        actor = ACTORS[n % len(ACTORS)]
        key = f"key-{n // len(ACTORS)}"
        body: dict[str, Any] = {
            "category": "repair.plumbing",
            "community_id": self.world.community_a,
            "description": f"{MARKER} {actor} {key}",
            "location": {"building": "3", "unit": "2", "room": str(500 + n), "area": "private"},
        }
        if actor not in ("reporter", "neighbour"):
            body["on_behalf_of"] = {"name": "阿依古丽", "phone": "13900000009"}
        entry = Key(actor, key, body)
        self.keys.append(entry)
        return entry

    def headers(self, entry: Key) -> dict[str, str]:
        return {**self.world.actors[entry.actor].headers, "Idempotency-Key": entry.key}

    def answer(self, entry: Key, response: httpx.Response) -> None:
        with self.lock:
            self.stats[f"answered {response.status_code}"] += 1
            if response.status_code == 201:
                if entry.ack is None:
                    entry.ack = response.json()
                    self.acks_this_round += 1
                    if self.acks_this_round >= ACKS_BEFORE_KILL:
                        self.enough.set()
                elif response.json() != entry.ack:
                    self.errors.append(f"{entry.marker}: replay {response.text} != {entry.ack}")
                    self.enough.set()
            elif response.status_code == 409:
                # Another request with this key still runs (or, on PostgreSQL, a dead
                # one's connection is not yet noticed gone): try it again later.
                entry.not_before = time.monotonic() + 0.2
                self.retry.append(entry)
            else:
                self.errors.append(f"{entry.marker}: {response.status_code} {response.text}")
                self.enough.set()

    def died(self, entry: Key) -> None:
        with self.lock:
            self.stats["died with the server"] += 1
            if entry.ack is None:
                self.retry.append(entry)


def _client(base_url: str, ledger: Ledger) -> None:
    with httpx.Client(base_url=base_url, timeout=30) as http:
        while True:
            entry = ledger.next()
            try:
                response = http.post("/v1/tickets", json=entry.body, headers=ledger.headers(entry))
            except httpx.TransportError:
                ledger.died(entry)
                return
            ledger.answer(entry, response)


def _load_until_killed(server: Any, ledger: Ledger) -> None:
    ledger.new_round()
    with ThreadPoolExecutor(CLIENTS) as pool:
        clients = [pool.submit(_client, server.url, ledger) for _ in range(CLIENTS)]
        try:
            enough = ledger.enough.wait(timeout=60)
            # Somewhere in the middle of the requests in flight: before, during or
            # after a claim, a ticket's INSERT, a commit or the answer.
            time.sleep(random.uniform(0, 0.03))
        finally:
            server.kill()
        for client in clients:
            client.result()
    assert ledger.errors == [], server.log_tail()
    assert enough, f"only {ledger.acks_this_round} acknowledged:\n{server.log_tail()}"


def _committed(engine: Engine, ledger: Ledger) -> dict[str, int]:
    """Check the database against the ledger; answer the committed tickets by marker."""
    # One snapshot for all three reads (on SQLite every transaction is one).
    options = {"isolation_level": "REPEATABLE READ"} if engine.dialect.name == "postgresql" else {}
    with engine.connect().execution_options(**options) as connection:
        tickets = connection.execute(
            select(Ticket.id, Ticket.description, Ticket.status).where(
                Ticket.description.startswith(MARKER)
            )
        ).all()
        events = connection.execute(
            select(TicketEvent.ticket_id, TicketEvent.type, TicketEvent.to_status)
        ).all()
        claims = connection.execute(
            select(
                IdempotencyKey.owner,
                IdempotencyKey.key,
                IdempotencyKey.response_status,
                IdempotencyKey.response_body,
            )
        ).all()

    counts = Counter(t.description for t in tickets)
    assert {m: n for m, n in counts.items() if n > 1} == {}, "one key made two tickets"
    by_marker = {t.description: t.id for t in tickets}
    by_id = {t.id: t for t in tickets}
    for entry in ledger.keys:
        if entry.ack is not None:
            assert by_marker.get(entry.marker) == entry.ack["id"], f"lost: {entry.marker}"

    # Each ticket has its creation event, and nothing else happened to it.
    events_of = {ticket_id: [] for ticket_id in by_id}
    for event in events:
        if event.ticket_id in events_of:
            events_of[event.ticket_id].append(event)
    for ticket_id, ticket_events in events_of.items():
        assert [(e.type, e.to_status) for e in ticket_events] == [
            ("ticket.created", by_id[ticket_id].status)
        ], ticket_id

    # A ticket and its stored response commit together.
    actor_of = {f"user:{ledger.world.actors[a].user_id}": a for a in ACTORS}
    stored = {(actor_of[c.owner], c.key): c for c in claims if c.owner in actor_of}
    marker_of = {(k.actor, k.key): k.marker for k in ledger.keys}
    for (actor, key), claim in stored.items():
        marker = marker_of[(actor, key)]
        assert claim.response_status == 201, claim
        assert by_marker.get(marker) == claim.response_body["id"], f"{marker}: {claim}"
    for marker in by_marker:
        actor, key = next((k.actor, k.key) for k in ledger.keys if k.marker == marker)
        assert (actor, key) in stored, f"{marker}: ticket without its key"
    return by_marker


def _retry_until_answered(http: httpx.Client, ledger: Ledger, entry: Key) -> httpx.Response:
    deadline = time.monotonic() + RETRY_SECONDS
    while True:
        response = http.post("/v1/tickets", json=entry.body, headers=ledger.headers(entry))
        if response.status_code != 409 or time.monotonic() > deadline:
            return response
        with ledger.lock:
            ledger.stats["409 after restart"] += 1
        time.sleep(0.25)


def test_acknowledged_tickets_survive_kill_9_exactly_once() -> None:
    with reference_database("linli_crash") as (db, engine), servers_registry() as start:
        settings = settings_for(db)
        ledger: Ledger | None = None
        for round_ in range(ROUNDS):
            server = start(db.url, f"crash-{round_}")
            if ledger is None:
                with httpx.Client(base_url=server.url, timeout=30) as http:
                    world = build_world(http, settings)
                    admin = world.province_admin
                    admin.user_id = http.get("/v1/me", headers=admin.headers).json()["user_id"]
                ledger = Ledger(world)
            _load_until_killed(server, ledger)
            _committed(engine, ledger)
        assert ledger is not None

        server = start(db.url, "crash-final")
        before = _committed(engine, ledger)
        unacknowledged = [k for k in ledger.keys if k.ack is None]
        assert unacknowledged, "the kills came after the load, not in the middle of it"
        with (
            httpx.Client(base_url=server.url, timeout=30) as http,
            ThreadPoolExecutor(CLIENTS) as pool,
        ):
            answers = list(pool.map(lambda k: _retry_until_answered(http, ledger, k), ledger.keys))
        for entry, response in zip(ledger.keys, answers, strict=True):
            assert response.status_code == 201, (entry.marker, response.text)
            replayed = response.headers.get("Idempotent-Replayed") == "true"
            if entry.ack is not None:
                assert response.json() == entry.ack and replayed, entry.marker
            elif entry.marker in before:
                # Committed just before the kill, never acknowledged: that same ticket.
                assert response.json()["id"] == before[entry.marker] and replayed, entry.marker
            else:
                assert not replayed, entry.marker
        ledger.stats["committed, never acknowledged"] = sum(
            1 for k in unacknowledged if k.marker in before
        )
        for entry, response in zip(ledger.keys, answers, strict=True):
            entry.ack = response.json()
        after = _committed(engine, ledger)
        assert set(after) == {k.marker for k in ledger.keys}
        server.stop()
        # What the kills hit (shown with -s): pytest -s tests/reliability/test_crash.py
        print(f"\n{ROUNDS} kills, {len(ledger.keys)} keys, {len(unacknowledged)} unacknowledged;")
        print("  " + ", ".join(f"{k}: {v}" for k, v in sorted(ledger.stats.items())))
