"""List then follow, starting from an empty list: a provider just taken on lists
its tickets (none yet) and follows the feed from the cursor the list gave. A
ticket committed after the list's statement and before the feed's head was
read must be in the list or after the cursor, never in neither."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from service.main import create_app
from service.tickets import router as tickets_router
from tests.conftest import build_world
from tests.feed.helpers import drain, file
from tests.reliability.servers import reference_database, settings_for


def test_a_ticket_filed_while_an_empty_list_is_answered_is_listed_or_followed(
    monkeypatch: Any,
) -> None:
    with reference_database("linli_empty_list") as (db, engine):
        settings = settings_for(db)
        with TestClient(create_app(settings, engine)) as http:
            w = build_world(http, settings)
            head_cursor = tickets_router.head_cursor
            filed: list[dict[str, Any]] = []

            def filing_first(*args: Any, **kwargs: Any) -> str:
                # Another request, committed between the list and the head.
                if not filed:
                    filed.append(file(http, w.reporter, w.community_a))
                return head_cursor(*args, **kwargs)

            monkeypatch.setattr(tickets_router, "head_cursor", filing_first)
            listed = http.get("/v1/tickets", headers=w.dispatcher.headers)
            monkeypatch.undo()
            assert listed.status_code == 200, listed.text
            (ticket,) = filed
            events, _ = drain(http, w.dispatcher, listed.json()["feed_cursor"])
            in_list = [t["id"] for t in listed.json()["items"]]
            followed = [e["ticket_id"] for e in events if e["type"] == "ticket.created"]
            assert (ticket["id"] in in_list) != (ticket["id"] in followed), (in_list, followed)
