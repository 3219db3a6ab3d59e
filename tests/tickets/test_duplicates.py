"""The same report filed twice within LINLI_DUPLICATE_WINDOW_MINUTES (issue 17):
the first ticket comes back (200, `duplicate_of`), no second one is made."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select, update

from service.ratelimit.models import RateLimitWindow
from service.tickets.models import Ticket

BODY = {
    "category": "public.lighting",
    "description": "3号楼 2单元\n楼道灯不亮",
    "location": {"building": "3", "unit": "2", "area": "public"},
}
PERSON = {"name": "阿依古丽", "phone": "13900000001"}


def _file(client, actor, world, headers=None, **changes):
    body = {**BODY, "community_id": world.community_a, **changes}
    if actor.claims["role"] != "resident":
        body.setdefault("on_behalf_of", PERSON)
    return client.post("/v1/tickets", json=body, headers={**actor.headers, **(headers or {})})


def _count(db) -> int:
    return db.scalar(select(func.count()).select_from(Ticket))


def test_the_same_report_again_answers_the_first_ticket(client, world, db):
    first = _file(client, world.reporter, world, contact_phone="13900000001")
    assert first.status_code == 201, first.text
    before = _count(db)

    # Whitespace differs, and so does a field that is not part of the report.
    again = _file(
        client, world.reporter, world, description="  3号楼 2单元 楼道灯不亮 ", channel="phone"
    )

    assert again.status_code == 200, again.text
    body = again.json()
    assert body.pop("duplicate_of") == first.json()["id"]
    assert body == first.json()
    assert again.headers["Location"] == f"/v1/tickets/{first.json()['id']}"
    assert again.headers["ETag"] == first.headers["ETag"]
    assert _count(db) == before


def test_a_duplicate_does_not_use_up_the_hourly_quota(client, world, db):
    assert _file(client, world.reporter, world).status_code == 201
    assert _file(client, world.reporter, world).status_code == 200
    assert db.scalar(select(RateLimitWindow.count)) == 1


def test_grid_workers_duplicates_are_per_person_filed_for(client, world):
    first = _file(client, world.grid_worker, world)
    assert first.status_code == 201
    assert _file(client, world.grid_worker, world).status_code == 200
    other = _file(client, world.grid_worker, world, on_behalf_of={**PERSON, "phone": "13900000002"})
    assert other.status_code == 201


def test_anything_else_different_is_a_new_ticket(client, world):
    assert _file(client, world.reporter, world).status_code == 201
    for change in (
        {"description": "楼道灯一闪一闪"},
        {"category": "repair.elevator"},
        {"location": {**BODY["location"], "unit": "3"}},
        {"community_id": world.community_b},
    ):
        response = _file(client, world.reporter, world, **change)
        assert response.status_code in (201, 404), (change, response.text)  # b: not hers
    # Another resident reporting the same thing files their own.
    assert _file(client, world.neighbour, world).status_code == 201


def test_staff_filings_are_never_matched(client, world):
    assert _file(client, world.dispatcher, world).status_code == 201
    assert _file(client, world.dispatcher, world).status_code == 201


def test_outside_the_window_or_once_closed_it_is_a_new_ticket(client, world, db, settings):
    first = _file(client, world.reporter, world).json()
    old = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=settings.duplicate_window_minutes + 1)
    db.execute(update(Ticket).where(Ticket.id == first["id"]).values(created_at=old))
    db.flush()
    second = _file(client, world.reporter, world)
    assert second.status_code == 201, second.text

    cancel = client.post(
        f"/v1/tickets/{second.json()['id']}/cancel", headers=world.reporter.headers
    )
    assert cancel.status_code == 200
    assert _file(client, world.reporter, world).status_code == 201


def test_an_idempotency_key_replays_the_duplicate_answer(client, world, db):
    first = _file(client, world.reporter, world).json()
    key = {"Idempotency-Key": "dup-1"}
    again = _file(client, world.reporter, world, key)
    assert again.status_code == 200 and again.json()["duplicate_of"] == first["id"]

    replay = _file(client, world.reporter, world, key)

    assert replay.status_code == 200
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json() == again.json()


def test_with_the_window_at_zero_nothing_is_matched(client, world, settings):
    previous = client.app.state.settings.duplicate_window_minutes
    client.app.state.settings.duplicate_window_minutes = 0
    try:
        assert _file(client, world.reporter, world).status_code == 201
        assert _file(client, world.reporter, world).status_code == 201
    finally:
        client.app.state.settings.duplicate_window_minutes = previous
