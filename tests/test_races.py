"""Races between real connections: duplicates, If-Match, conflicting actions.

These run against a live server on the test database (SQLite or PostgreSQL),
with many threads released at once.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
from sqlalchemy import func, select

from service.tickets.models import Ticket, TicketEvent

THREADS = 8


def _all_at_once(
    base_url: str, calls: list[tuple[str, str, dict, dict | None]]
) -> list[httpx.Response]:
    barrier = threading.Barrier(len(calls))

    def run(call: tuple[str, str, dict, dict | None]) -> httpx.Response:
        method, path, headers, body = call
        with httpx.Client(base_url=base_url, timeout=60) as http:
            barrier.wait()
            return http.request(method, path, headers=headers, json=body)

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


def _file(http: httpx.Client, world: Any, description: str) -> dict:
    response = http.post(
        "/v1/tickets",
        json={
            "category": "repair.plumbing",
            "community_id": world.community_a,
            "description": description,
        },
        headers=world.reporter.headers,
    )
    assert response.status_code == 201, response.text
    return response.json()


def _events(engine, ticket_id: int) -> list[TicketEvent]:
    with engine.connect() as connection:
        return list(
            connection.execute(
                select(TicketEvent)
                .where(TicketEvent.ticket_id == ticket_id)
                .order_by(TicketEvent.id)
            )
        )


def test_concurrent_duplicates_create_one_ticket(live, live_engine):
    http, world = live
    body = {
        "category": "repair.elevator",
        "community_id": world.community_a,
        "description": "电梯困人 race",
    }
    headers = {**world.reporter.headers, "Idempotency-Key": "race-key-1"}
    responses = _all_at_once(str(http.base_url), [("POST", "/v1/tickets", headers, body)] * THREADS)

    statuses = sorted(r.status_code for r in responses)
    assert set(statuses) <= {201, 409}, [r.text for r in responses]
    created = {r.json()["id"] for r in responses if r.status_code == 201}
    assert len(created) == 1
    with live_engine.connect() as connection:
        count = connection.scalar(
            select(func.count()).select_from(Ticket).where(Ticket.description == "电梯困人 race")
        )
    assert count == 1
    # Every client that got 409 retries and receives the same ticket.
    retry = http.post("/v1/tickets", json=body, headers=headers)
    assert retry.status_code == 201 and retry.json()["id"] in created


def test_if_match_lets_exactly_one_writer_win(live, live_engine):
    http, world = live
    ticket = _file(http, world, "If-Match race")
    etag = http.get(f"/v1/tickets/{ticket['id']}", headers=world.dispatcher.headers).headers["ETag"]
    actors = [world.dispatcher, world.technician] * (THREADS // 2)
    calls = [
        ("POST", f"/v1/tickets/{ticket['id']}/accept", {**a.headers, "If-Match": etag}, None)
        for a in actors
    ]
    responses = _all_at_once(str(http.base_url), calls)
    statuses = [r.status_code for r in responses]
    assert statuses.count(200) == 1, [r.text for r in responses]
    assert set(statuses) <= {200, 409, 412}
    accepted = [e for e in _events(live_engine, ticket["id"]) if e.type == "ticket.accepted"]
    assert len(accepted) == 1


def test_conflicting_actions_never_lose_an_update(live, live_engine):
    """Without If-Match, resolve and hold race from in_progress: one wins, the
    other is refused, and the timeline agrees with the final state."""
    http, world = live
    ticket = _file(http, world, "conflicting actions")
    for action in ("accept", "start"):
        assert (
            http.post(
                f"/v1/tickets/{ticket['id']}/{action}", headers=world.technician.headers
            ).status_code
            == 200
        )
    calls = []
    for i in range(THREADS):
        if i % 2:
            calls.append(
                (
                    "POST",
                    f"/v1/tickets/{ticket['id']}/resolve",
                    world.technician.headers,
                    {"note": "done"},
                )
            )
        else:
            calls.append(
                (
                    "POST",
                    f"/v1/tickets/{ticket['id']}/hold",
                    world.dispatcher.headers,
                    {"reason": "awaiting_parts"},
                )
            )
    responses = _all_at_once(str(http.base_url), calls)
    statuses = [r.status_code for r in responses]
    assert set(statuses) <= {200, 409}, [r.text for r in responses]
    # From in_progress, the first hold or resolve leaves a status neither can follow.
    assert statuses.count(200) == 1

    final = http.get(f"/v1/tickets/{ticket['id']}", headers=world.admin.headers).json()
    events = _events(live_engine, ticket["id"])
    winners = [r.json() for r in responses if r.status_code == 200]
    # Each success moved the ticket on from where the previous one left it.
    assert len(events) == 3 + len(winners)
    assert events[-1].to_status == final["status"]
    for earlier, later in zip(events, events[1:], strict=False):
        if later.from_status is not None:
            assert later.from_status == earlier.to_status
    assert final["version"] == ticket["version"] + 2 + len(winners)


def test_first_requests_of_a_new_user_racing_provision_one_user(live, live_engine, settings):
    from service.auth import mint_token
    from service.users.models import User

    http, world = live
    token = mint_token(settings, sub="brand-new", role="resident", community_id=world.community_a)
    headers = {"Authorization": f"Bearer {token}"}
    responses = _all_at_once(str(http.base_url), [("GET", "/v1/me", headers, None)] * THREADS)
    assert [r.status_code for r in responses] == [200] * THREADS
    assert len({r.json()["user_id"] for r in responses}) == 1
    with live_engine.connect() as connection:
        assert (
            connection.scalar(select(func.count()).select_from(User).where(User.sub == "brand-new"))
            == 1
        )


def test_more_concurrent_writers_than_worker_threads(live):
    """60 actions at once (AnyIO lends 40 threads, the guard admits 48): none may
    wait on a writer that holds the SQLite write lock while it waits for a thread.
    Those over the limit are answered 503 at once, and succeed when retried."""
    http, world = live
    tickets = [_file(http, world, f"many writers {i}") for i in range(60)]
    calls = [
        ("POST", f"/v1/tickets/{t['id']}/accept", world.dispatcher.headers, None) for t in tickets
    ]
    responses = _all_at_once(str(http.base_url), calls)
    assert {r.status_code for r in responses} <= {200, 503}
    assert sum(r.status_code == 200 for r in responses) > 40  # more writers than threads
    for call, response in zip(calls, responses, strict=True):
        if response.status_code == 503:
            assert response.headers["Retry-After"] == "1"
            retried = http.post(call[1], headers=call[2])
            assert retried.status_code == 200, retried.text
