"""Idempotency-Key on POST /v1/tickets: replay, reuse with another body, in-flight duplicates."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select, text, update

from service.db import utcnow
from service.idempotency.models import IdempotencyKey
from service.idempotency.service import _lock_id
from service.tickets.models import Ticket
from tests.conftest import BACKEND


def _body(world, **overrides):
    body = {
        "category": "repair.elevator",
        "community_id": world.community_a,
        "description": "3号楼电梯困人",
    }
    body.update(overrides)
    return body


def _ticket_count(db) -> int:
    return db.scalar(select(func.count()).select_from(Ticket))


def test_same_key_same_body_replays_the_first_response(client, world, db):
    headers = {**world.reporter.headers, "Idempotency-Key": "a1b2c3"}
    first = client.post("/v1/tickets", json=_body(world), headers=headers)
    assert first.status_code == 201
    before = _ticket_count(db)

    again = client.post("/v1/tickets", json=_body(world), headers=headers)
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.headers["Location"] == first.headers["Location"]
    assert again.headers["ETag"] == first.headers["ETag"]
    assert _ticket_count(db) == before


def test_whitespace_and_key_order_do_not_change_the_fingerprint(client, world):
    headers = {
        **world.reporter.headers,
        "Idempotency-Key": "k-order",
        "Content-Type": "application/json",
    }
    community = world.community_a
    compact = f'{{"category":"repair.elevator","community_id":{community},"description":"x"}}'
    spaced = (
        f'{{ "description": "x",  "community_id": {community}, "category": "repair.elevator" }}'
    )
    first = client.post("/v1/tickets", content=compact, headers=headers)
    second = client.post("/v1/tickets", content=spaced, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] == second.json()["id"]


def test_same_key_with_another_body_is_refused(client, world, db):
    headers = {**world.reporter.headers, "Idempotency-Key": "reused"}
    assert client.post("/v1/tickets", json=_body(world), headers=headers).status_code == 201
    before = _ticket_count(db)
    other = client.post("/v1/tickets", json=_body(world, description="另一件事"), headers=headers)
    assert other.status_code == 422
    assert other.headers["content-type"] == "application/problem+json"
    assert "idempotency" in other.json()["type"]
    assert _ticket_count(db) == before


def test_keys_belong_to_their_caller(client, world):
    key = {"Idempotency-Key": "shared-key"}
    mine = client.post("/v1/tickets", json=_body(world), headers={**world.reporter.headers, **key})
    theirs = client.post(
        "/v1/tickets", json=_body(world), headers={**world.neighbour.headers, **key}
    )
    assert mine.status_code == theirs.status_code == 201
    assert mine.json()["id"] != theirs.json()["id"]


@pytest.mark.skipif(
    BACKEND != "postgres",
    reason="SQLite runs one writer at a time: a duplicate waits and replays (test_races)",
)
def test_a_request_in_flight_answers_409(client, world, db, engine):
    """Another request holds the key's lock (it is still running): 409, nothing stored."""
    owner = f"user:{world.reporter.user_id}"
    before = _ticket_count(db)
    with engine.connect() as other:
        other.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _lock_id(owner, "in-flight")})
        try:
            response = client.post(
                "/v1/tickets",
                json=_body(world),
                headers={**world.reporter.headers, "Idempotency-Key": "in-flight"},
            )
        finally:
            other.execute(text("SELECT pg_advisory_unlock_all()"))
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"
    assert _ticket_count(db) == before


def test_a_failed_request_does_not_burn_the_key(client, world, db):
    headers = {**world.reporter.headers, "Idempotency-Key": "retry-me"}
    bad = client.post("/v1/tickets", json=_body(world, category="no.such"), headers=headers)
    assert bad.status_code == 422
    assert db.scalar(select(IdempotencyKey).where(IdempotencyKey.key == "retry-me")) is None
    good = client.post("/v1/tickets", json=_body(world), headers=headers)
    assert good.status_code == 201


def test_expired_keys_are_forgotten(client, world, db):
    headers = {**world.reporter.headers, "Idempotency-Key": "old"}
    first = client.post("/v1/tickets", json=_body(world), headers=headers)
    db.execute(
        update(IdempotencyKey)
        .where(IdempotencyKey.key == "old")
        .values(expires_at=utcnow() - dt.timedelta(seconds=1))
    )
    db.flush()
    second = client.post("/v1/tickets", json=_body(world, description="新的一件"), headers=headers)
    assert second.status_code == 201
    assert second.json()["id"] != first.json()["id"]


def test_bad_keys_are_rejected(client, world, db):
    before = _ticket_count(db)
    for key in ("", "x" * 256):
        response = client.post(
            "/v1/tickets",
            json=_body(world),
            headers={**world.reporter.headers, "Idempotency-Key": key},
        )
        assert response.status_code == 422, key
    assert _ticket_count(db) == before


def test_a_key_committed_after_the_lookup_but_before_the_lock_is_replayed(
    client, world, db, monkeypatch
):
    """Creation looks the key up in the statement that takes its lock, so a request
    with the same key that commits in between is missed by the lookup. Its row is
    then found by the INSERT of ours (nothing stored): the work is undone and the
    first response replayed, and no second ticket remains."""
    from service.idempotency import service as idempotency

    headers = {**world.reporter.headers, "Idempotency-Key": "late-commit"}
    first = client.post("/v1/tickets", json=_body(world), headers=headers)
    assert first.status_code == 201
    before = _ticket_count(db)

    real_resolve = idempotency.resolve
    calls = []

    def stale_first(session, claim, row):
        calls.append(claim.key)
        if len(calls) == 1:
            return None  # as if the statement's snapshot predated the first commit
        return real_resolve(session, claim, row)

    monkeypatch.setattr(idempotency, "resolve", stale_first)
    again = client.post("/v1/tickets", json=_body(world), headers=headers)
    assert len(calls) == 2
    assert again.status_code == 201, again.text
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert _ticket_count(db) == before
