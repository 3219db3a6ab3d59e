"""Two server processes on one database, many writers, one poller: every event of
the organisation exactly once, in (xid, id) order, compared with the database;
and a long-poll on one instance woken by a commit on the other (LISTEN/NOTIFY)."""

from __future__ import annotations

import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy import select

from service.tickets.models import TicketEvent
from tests.conftest import BACKEND, build_world
from tests.feed.helpers import file
from tests.reliability.servers import reference_database, servers_registry, settings_for

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        BACKEND != "postgres",
        reason="concurrent writers and cross-instance wake-ups need PostgreSQL "
        "(SQLite has one writer; its long-polls wake in-process only)",
    ),
]


def test_many_writers_two_servers_one_poller_gets_everything_once_in_order() -> None:
    with reference_database("linli_feed2") as (db, engine), servers_registry() as start:
        a, b = start(db.url, "a"), start(db.url, "b")
        with (
            httpx.Client(base_url=a.url, timeout=60) as http_a,
            httpx.Client(base_url=b.url, timeout=60) as http_b,
        ):
            w = build_world(http_a, settings_for(db))
            cursor = http_a.get("/v1/tickets", headers=w.dispatcher.headers).json()["feed_cursor"]
            received: list[int] = []
            writing = threading.Event()
            writing.set()

            def poll() -> None:
                nonlocal cursor
                clients = (http_a, http_b)
                turn = 0
                while True:
                    still_writing = writing.is_set()
                    page = clients[turn % 2].get(
                        "/v1/feed",
                        params={"cursor": cursor, "limit": 37, "wait": 1 if still_writing else 0},
                        headers=w.dispatcher.headers,
                    )
                    assert page.status_code == 200, page.text
                    body = page.json()
                    received.extend(e["id"] for e in body["events"])
                    cursor = body["next_cursor"]
                    turn += 1
                    if not still_writing and not body["events"] and not body["has_more"]:
                        return

            def write(seed: int) -> None:
                rng = random.Random(seed)
                http = (http_a, http_b)[seed % 2]
                for _ in range(6):
                    ticket = file(http, w.reporter, w.community_a)
                    for action, actor, body in (
                        ("accept", w.technician, None),
                        ("comments", w.technician, {"body": "内部", "internal": True}),
                        ("assign", w.province_admin, {"organization_id": w.other_company}),
                        ("assign", w.province_admin, {"organization_id": w.company}),
                        ("start", w.technician, None),
                    ):
                        if rng.random() < 0.3:
                            continue
                        http.post(
                            f"/v1/tickets/{ticket['id']}/{action}", json=body, headers=actor.headers
                        )

            poller = threading.Thread(target=poll)
            poller.start()
            with ThreadPoolExecutor(12) as pool:
                list(pool.map(write, range(12)))
            # Let the poller finish whatever is still committing, then drain.
            time.sleep(1)
            writing.clear()
            poller.join(timeout=120)

        with engine.connect() as connection:
            expected = list(
                connection.scalars(
                    select(TicketEvent.id)
                    .where(TicketEvent.organization_id == w.company)
                    .order_by(TicketEvent.xid, TicketEvent.id)
                )
            )
    assert len(received) == len(set(received)), "an event was delivered twice"
    assert received == expected
    assert len(expected) > 12 * 6


def test_a_long_poll_on_one_instance_wakes_on_a_commit_on_the_other() -> None:
    with reference_database("linli_feed3") as (db, _engine), servers_registry() as start:
        a, b = start(db.url, "a"), start(db.url, "b")
        with (
            httpx.Client(base_url=a.url, timeout=60) as http_a,
            httpx.Client(base_url=b.url, timeout=60) as http_b,
        ):
            w = build_world(http_a, settings_for(db))
            cursor = http_a.get("/v1/tickets", headers=w.dispatcher.headers).json()["feed_cursor"]
            latencies = []
            for _ in range(3):
                answered: list[tuple[float, list]] = []

                def poll() -> None:
                    body = http_a.get(  # noqa: B023
                        "/v1/feed",
                        params={"cursor": cursor, "wait": 20},  # noqa: B023
                        headers=w.dispatcher.headers,
                    ).json()
                    answered.append((time.monotonic(), body["events"]))  # noqa: B023

                poller = threading.Thread(target=poll)
                poller.start()
                time.sleep(0.5)
                ticket = file(http_b, w.reporter, w.community_a)  # committed on the other one
                committed = time.monotonic()
                poller.join(timeout=30)
                at, events = answered[0]
                assert [e["ticket_id"] for e in events] == [ticket["id"]]
                latencies.append(at - committed)
                cursor = http_a.get(
                    "/v1/feed", params={"cursor": cursor}, headers=w.dispatcher.headers
                ).json()["next_cursor"]
            # Woken by the other instance's commit (its NOTIFY), not answered at the end
            # of the 20 s wait. How soon is the benchmark's question (bench/feed.py), not
            # this test's: a busy machine must not fail it.
            assert max(latencies) < 10.0, latencies
