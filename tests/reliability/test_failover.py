"""The failover drill (tests/reliability/failover.py): the primary killed under a
load of idempotent creations on two instances, the synchronous standby promoted;
the instances carry on without a restart, answering 503 with Retry-After (never
500) while no server takes writes, and every ticket acknowledged with 201 is on
the new primary exactly once, its retry replaying it."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import psycopg
import pytest

from service.feed.notify import APPLICATION_NAME
from tests.conftest import BACKEND
from tests.reliability.failover import Drill, run_drill, tickets_on_new_primary, two_instances
from tests.standby import unavailable_reason

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        BACKEND != "postgres" or unavailable_reason() is not None,
        reason="failover needs PostgreSQL and its server binaries: "
        + (unavailable_reason() or "LINLI_TEST_DB is not postgres"),
    ),
]


@pytest.fixture(scope="module")
def drill() -> Iterator[Drill]:
    with two_instances() as drill:
        # A second without a server that takes writes: connections to the old
        # primary refused, to the standby rejected as read-only (libpq's
        # target_session_attrs), and every attempt then answered 503.
        run_drill(drill, promote_after=1.0)
        yield drill


def test_the_instances_answer_retryable_503_never_500_through_the_switch(drill: Drill) -> None:
    assert drill.unexpected == []
    assert set(drill.statuses) <= {"201", "503", "409", "timeout", "transport"}, drill.statuses
    assert drill.first_201_after_kill is not None
    assert drill.statuses["503"] > 0  # the switch was seen, and answered so
    # The instances were not restarted: the same processes, still serving.
    for server in drill.servers:
        assert server.process is not None and server.process.poll() is None
        assert httpx.get(f"{server.url}/readyz", timeout=10).status_code == 200


def test_the_feeds_listen_follows_to_the_new_primary(drill: Drill) -> None:
    # Each instance's LISTEN (other instances' commits wake its long-polls)
    # reconnects by itself, through the same multi-host URL.
    def listening() -> int:
        with psycopg.connect(drill.pair.standby.conninfo(), autocommit=True) as connection:
            row = connection.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s",
                (APPLICATION_NAME,),
            ).fetchone()
        return int(row[0]) if row else 0

    deadline = time.monotonic() + 60
    while listening() < len(drill.servers):
        assert time.monotonic() < deadline, "the feed's LISTEN did not reconnect"
        time.sleep(0.1)


def test_every_acknowledged_ticket_is_on_the_new_primary_once(drill: Drill) -> None:
    on_primary = tickets_on_new_primary(drill)
    for key, (body, ticket_id) in drill.acknowledged.items():
        assert on_primary.get(ticket_id) == body["description"], key
    descriptions = list(on_primary.values())
    assert len(descriptions) == len(set(descriptions)), "a key filed twice"
    # Each key was retried until its 201: nothing on the new primary went unacknowledged.
    assert set(on_primary) == {ticket_id for _, ticket_id in drill.acknowledged.values()}
    assert drill.acknowledged_after_kill > 0


def test_every_retry_replays_its_ticket(drill: Drill) -> None:
    headers = drill.world.reporter.headers
    for i, (key, (body, ticket_id)) in enumerate(sorted(drill.acknowledged.items())):
        server = drill.servers[i % len(drill.servers)]
        again = httpx.post(
            f"{server.url}/v1/tickets",
            json=body,
            headers={**headers, "Idempotency-Key": key},
            timeout=30,
        )
        assert again.status_code == 201, (key, again.text)
        assert again.json()["id"] == ticket_id, key
    # And nothing new was filed by the replays.
    assert len(tickets_on_new_primary(drill)) == len(drill.acknowledged)
