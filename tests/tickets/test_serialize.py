"""The hand-built ticket JSON is exactly the documented TicketRead."""

from __future__ import annotations

import json

from service.tickets.schemas import TicketPage, TicketRead
from tests.conftest import file_ticket


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
        attachment_ids=["photo-1"],
    )
    url = f"/v1/tickets/{full['id']}"
    for action, body in (("accept", None), ("start", None), ("hold", {"reason": "other"})):
        client.post(f"{url}/{action}", json=body, headers=world.dispatcher.headers)
    for ticket in (plain, full):
        response = client.get(f"/v1/tickets/{ticket['id']}", headers=world.dispatcher.headers)
        _same_as_schema(response.content, TicketRead)
    page = client.get("/v1/tickets", headers=world.dispatcher.headers)
    _same_as_schema(page.content, TicketPage)
    held = client.get(url, headers=world.dispatcher.headers).json()
    assert held["preferred_time"] == {"from": "2026-12-01T01:00:00Z", "to": "2026-12-01T03:00:00Z"}
    assert held["hold_reason"] == "other" and held["on_behalf_of"]["name"] == "阿依古丽"
