"""The failover drill (tests/reliability/test_failover.py, bench/failover.py): two
Linli instances on a primary with a synchronous standby (tests/standby.py), a
load of ticket creations each with its own Idempotency-Key, retried with the
same key on any error, timeout or 503 as a client should; the primary killed
(`pg_ctl stop -m immediate`) mid-load and the standby promoted.

The instances are told both servers in one libpq multi-host URL with
target_session_attrs=read-write: a new connection tries each in turn and keeps
the one that takes writes, so once the standby is promoted they reconnect to it
without a restart (SQLAlchemy drops a pool's connections when one of them turns
out broken). The synchronous standby has every commit that was acknowledged, so
every 201 must be there afterwards, once, and a retry with its key replays it.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import psycopg

from service.config import Settings
from tests.conftest import TEST_SECRET, World, build_world
from tests.reliability.servers import ServerProcess
from tests.standby import USER, Pair, prepare, running_pair

# A client's pause before retrying, at most (Linli says Retry-After: 1; a client
# that waited less measures the switch more finely).
RETRY_PAUSE = 0.2
REQUEST_TIMEOUT = 10.0
DEADLINE_SECONDS = 180.0


def multi_host_url(pair: Pair) -> str:
    """Both servers, the one that takes writes chosen at each connection."""
    hosts = "&".join(f"host=127.0.0.1:{s.port}" for s in (pair.primary, pair.standby))
    return f"postgresql+psycopg://{USER}@/linli?{hosts}&target_session_attrs=read-write"


@dataclass
class Drill:
    pair: Pair
    servers: list[ServerProcess]
    world: World
    # Idempotency-Key -> (the body sent, the ticket id of its 201)
    acknowledged: dict[str, tuple[dict[str, Any], int]] = field(default_factory=dict)
    statuses: Counter[str] = field(default_factory=Counter)  # "201", "503", "timeout"...
    retried_keys: int = 0  # keys that took more than one attempt
    unexpected: list[str] = field(default_factory=list)  # answers no retry would fix
    killed_at: float | None = None  # `pg_ctl stop -m immediate` run
    down_at: float | None = None  # ... and returned: the primary is gone
    promoted_at: float | None = None  # `pg_ctl promote -w` returned
    # The first 201 to an attempt sent once the primary was gone.
    first_201_after_kill: float | None = None
    acknowledged_after_kill: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


@contextmanager
def two_instances() -> Iterator[Drill]:
    """The pair, migrated, and two `serve` processes on its multi-host URL."""
    with ExitStack() as stack:
        pair = stack.enter_context(running_pair(synchronous=True, prepare=prepare))
        url = multi_host_url(pair)
        servers: list[ServerProcess] = []
        for name in ("failover-a", "failover-b"):
            server = ServerProcess(url, name)
            stack.callback(server.close)
            servers.append(server.start())
        settings = Settings(database_url=url, jwt_secret=TEST_SECRET, env="dev")
        with httpx.Client(base_url=servers[0].url, timeout=30) as client:
            world = build_world(client, settings)
        yield Drill(pair, servers, world)


_serial = itertools.count(1)


def ticket_body(community_id: int, key: str) -> dict[str, Any]:
    """A report of its own for `key` (the same report twice would be a duplicate)."""
    return {
        "category": "repair.plumbing",
        "community_id": community_id,
        "description": f"failover drill {key}: 楼道水管漏水",
        "location": {"building": "1", "unit": "1", "room": "101", "area": "private"},
        "contact_phone": "13900000001",
    }


def _create(drill: Drill, clients: list[httpx.Client], worker: int, key: str) -> None:
    """File one ticket with `key`, retrying with the same key until a 201."""
    body = ticket_body(drill.world.community_a, key)
    headers = {**drill.world.reporter.headers, "Idempotency-Key": key}
    deadline = time.monotonic() + DEADLINE_SECONDS
    for attempt in itertools.count():
        if time.monotonic() > deadline:
            with drill.lock:
                drill.unexpected.append(f"{key}: no 201 within {DEADLINE_SECONDS} s")
            return
        # Each retry to the other instance, as a load balancer would.
        client = clients[(worker + attempt) % len(clients)]
        sent = time.monotonic()
        try:
            answer = client.post("/v1/tickets", json=body, headers=headers)
            outcome = str(answer.status_code)
        except httpx.TimeoutException:
            answer, outcome = None, "timeout"
        except httpx.TransportError:
            answer, outcome = None, "transport"
        with drill.lock:
            drill.statuses[outcome] += 1
        if answer is not None and answer.status_code == 201:
            now = time.monotonic()
            with drill.lock:
                drill.acknowledged[key] = (body, answer.json()["id"])
                if attempt:
                    drill.retried_keys += 1
                if drill.down_at is not None and sent >= drill.down_at:
                    drill.acknowledged_after_kill += 1
                    if drill.first_201_after_kill is None:
                        drill.first_201_after_kill = now
            return
        if answer is not None:
            if answer.status_code == 503 and "Retry-After" not in answer.headers:
                with drill.lock:
                    drill.unexpected.append(f"{key}: 503 without Retry-After")
            # 409: the same key still in progress (an attempt that timed out here).
            if answer.status_code not in (503, 409):
                with drill.lock:
                    drill.unexpected.append(f"{key}: {answer.status_code} {answer.text[:300]}")
                return
        time.sleep(RETRY_PAUSE)


def run_drill(
    drill: Drill,
    *,
    workers: int = 4,
    before: int = 40,
    after: int = 40,
    promote_after: float = 0.0,
) -> None:
    """The load; the primary killed after `before` acknowledged creations and the
    standby promoted `promote_after` seconds later (meanwhile no server takes
    writes: what a failover manager's detection looks like); the load goes on
    until `after` more were acknowledged."""
    stop = threading.Event()
    clients = [
        httpx.Client(base_url=server.url, timeout=REQUEST_TIMEOUT) for server in drill.servers
    ]

    def load(worker: int) -> None:
        while not stop.is_set():
            _create(drill, clients, worker, f"drill-{worker}-{next(_serial)}")

    threads = [threading.Thread(target=load, args=(w,), daemon=True) for w in range(workers)]
    try:
        for thread in threads:
            thread.start()
        _wait(lambda: len(drill.acknowledged) >= before or bool(drill.unexpected), "load")
        drill.killed_at = time.monotonic()
        drill.pair.kill_primary()
        drill.down_at = time.monotonic()
        time.sleep(promote_after)
        drill.pair.promote()
        drill.promoted_at = time.monotonic()
        _wait(
            lambda: drill.acknowledged_after_kill >= after or bool(drill.unexpected), "load after"
        )
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=DEADLINE_SECONDS + REQUEST_TIMEOUT)
        for client in clients:
            client.close()


def _wait(condition: Any, what: str) -> None:
    deadline = time.monotonic() + DEADLINE_SECONDS
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"the drill's {what} made no progress in {DEADLINE_SECONDS} s")
        time.sleep(0.05)


def tickets_on_new_primary(drill: Drill) -> dict[int, str]:
    """Every drill ticket on the promoted standby: id -> description."""
    with psycopg.connect(drill.pair.standby.conninfo(), autocommit=True) as connection:
        rows = connection.execute(
            "SELECT id, description FROM ticket WHERE description LIKE 'failover drill %'"
        ).fetchall()
    return {int(row[0]): str(row[1]) for row in rows}
