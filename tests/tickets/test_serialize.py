"""The hand-built ticket JSON is exactly the documented TicketRead."""

from __future__ import annotations

import json

from service.tickets.schemas import TicketPage, TicketRead
from tests.conftest import file_ticket, upload_photo


def _same_as_schema(raw: bytes, model) -> None:
    parsed = model.model_validate_json(raw)
    assert json.loads(parsed.model_dump_json(by_alias=True)) == json.loads(raw)


def test_ticket_json_matches_the_schema_in_every_shape(client, world):
    plain = file_ticket(client, world.reporter, world.community_a)
    full = file_ticket(
        client,
        world.grid_worker,
        world.community_a,
        title="<b>漏水</b>",
        priority="emergency",
        preferred_time={"from": "2026-12-01T09:00:00+08:00", "to": "2026-12-01T11:00:00+08:00"},
        attachment_ids=[upload_photo(client, world.grid_worker)["id"]],
    )
    url = f"/v1/tickets/{full['id']}"
    for action, body in (("accept", None), ("start", None), ("hold", {"reason": "other"})):
        client.post(f"{url}/{action}", json=body, headers=world.dispatcher.headers)
    for ticket in (plain, full):
        response = client.get(f"/v1/tickets/{ticket['id']}", headers=world.dispatcher.headers)
        _same_as_schema(response.content, TicketRead)
    page = client.get("/v1/tickets", headers=world.dispatcher.headers)
    _same_as_schema(page.content, TicketPage)
    # The page is the database's UTF-8 as it came (queries.list_tickets): not re-encoded.
    assert "<b>漏水</b>" in [item["title"] for item in page.json()["items"]]
    held = client.get(url, headers=world.dispatcher.headers).json()
    assert held["preferred_time"] == {"from": "2026-12-01T01:00:00Z", "to": "2026-12-01T03:00:00Z"}
    assert held["hold_reason"] == "other" and held["on_behalf_of"]["name"] == "阿依古丽"


def test_the_database_writes_what_ticket_dict_writes(client, world, db):
    """Reads take the JSON the database writes (serialize.ticket_json_sql); it must
    be ticket_dict's to the byte once parsed, in every shape a ticket takes."""
    import datetime as dt

    import pydantic_core
    from sqlalchemy import literal_column, select, update

    from service.categories.models import Category
    from service.tickets.models import Ticket
    from service.tickets.serialize import ticket_dict, ticket_json_sql

    plain = file_ticket(client, world.reporter, world.community_a)
    full = file_ticket(
        client,
        world.grid_worker,
        world.community_a,
        title='<script>"漏水"</script>\\',
        priority="emergency",
        preferred_time={"from": "2026-12-01T09:00:00+08:00", "to": "2026-12-01T11:00:00+08:00"},
        attachment_ids=[upload_photo(client, world.grid_worker)["id"] for _ in range(2)],
    )
    url = f"/v1/tickets/{full['id']}"
    for action, body in (
        ("accept", None),
        ("start", None),
        ("hold", {"reason": "awaiting_parts"}),
        ("resume", None),
        ("resolve", {"note": "fixed"}),
    ):
        response = client.post(f"{url}/{action}", json=body, headers=world.dispatcher.headers)
        assert response.status_code == 200, response.text
    rated = client.post(
        f"{url}/confirm", json={"rating": 4, "tags": ["快"]}, headers=world.grid_worker.headers
    )
    assert rated.status_code == 200, rated.text
    reopened = file_ticket(client, world.reporter, world.community_a)
    r_url = f"/v1/tickets/{reopened['id']}"
    for action, body, actor in (
        ("accept", None, world.dispatcher),
        ("start", None, world.dispatcher),
        ("resolve", {}, world.dispatcher),
        ("confirm", {"rating": 2}, world.reporter),
        ("reopen", {"reason": "leaks again"}, world.reporter),
    ):
        response = client.post(f"{r_url}/{action}", json=body, headers=actor.headers)
        assert response.status_code == 200, response.text
    # Whole seconds (no microseconds) and an SQL NULL list.
    db.execute(
        update(Ticket)
        .where(Ticket.id == plain["id"])
        .values(created_at=dt.datetime(2026, 5, 1, 8, 0, 0, tzinfo=dt.UTC), attachments=None)
    )
    db.flush()

    ids = [plain["id"], full["id"], reopened["id"]]
    sql = ticket_json_sql(db.get_bind().dialect.name)
    rows = db.execute(
        select(Ticket, Category.code, literal_column(sql))
        .join(Category, Category.id == Ticket.category_id)
        .where(Ticket.id.in_(ids))
    ).all()
    assert len(rows) == 3
    for ticket, code, written in rows:
        expected = json.loads(pydantic_core.to_json(ticket_dict(ticket, code)))
        assert json.loads(written) == expected
        _same_as_schema(written.encode(), TicketRead)
    shapes = {ticket.id: json.loads(written) for ticket, _, written in rows}
    assert shapes[plain["id"]]["created_at"] == "2026-05-01T08:00:00Z"
    assert shapes[plain["id"]]["attachments"] == []
    assert shapes[full["id"]]["rating"] == {"score": 4, "comment": None, "tags": ["快"]}
    assert shapes[reopened["id"]]["rating"] is None and shapes[reopened["id"]]["reopen_count"] == 1
    # And what the API answers is that JSON.
    page = client.get("/v1/tickets?limit=200", headers=world.admin.headers).json()["items"]
    listed = {item["id"]: item for item in page if item["id"] in shapes}
    one = client.get(f"/v1/tickets/{plain['id']}", headers=world.admin.headers).json()
    assert listed == shapes and one == shapes[plain["id"]]
