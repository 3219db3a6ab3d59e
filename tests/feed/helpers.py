"""Talking to a live Linli as a provider's dispatch system would."""

from __future__ import annotations

import itertools
import time
from typing import Any

import httpx

from tests.conftest import Actor

_reports = itertools.count(1)


def file(http: httpx.Client, actor: Actor, community_id: int, **overrides: Any) -> dict[str, Any]:
    # Numbered: the same report filed twice within minutes answers the first ticket.
    body: dict[str, Any] = {
        "category": "repair.plumbing",
        "community_id": community_id,
        "description": f"厨房水管爆裂，水流不止（{next(_reports)}）",
    }
    if actor.claims["role"] != "resident":
        body["on_behalf_of"] = {"name": "阿依古丽", "phone": "13900000001"}
    body.update(overrides)
    response = http.post("/v1/tickets", json=body, headers=actor.headers)
    assert response.status_code == 201, response.text
    return response.json()


def act(
    http: httpx.Client, actor: Actor, ticket_id: int, action: str, body: Any = None
) -> dict[str, Any]:
    response = http.post(f"/v1/tickets/{ticket_id}/{action}", json=body, headers=actor.headers)
    assert response.status_code in (200, 201), (action, response.text)
    return response.json()


def comment(
    http: httpx.Client, actor: Actor, ticket_id: int, text: str, internal: bool = False
) -> dict[str, Any]:
    return act(http, actor, ticket_id, "comments", {"body": text, "internal": internal})


def feed(
    http: httpx.Client, actor: Actor, cursor: str | None = None, **params: Any
) -> httpx.Response:
    if cursor is not None:
        params["cursor"] = cursor
    return http.get("/v1/feed", params=params, headers=actor.headers)


def head(http: httpx.Client, actor: Actor) -> str:
    """The feed cursor GET /v1/tickets hands out alongside the list."""
    response = http.get("/v1/tickets", params={"limit": 1}, headers=actor.headers)
    assert response.status_code == 200, response.text
    return str(response.json()["feed_cursor"])


def drain(
    http: httpx.Client, actor: Actor, cursor: str | None, limit: int = 200
) -> tuple[list[dict[str, Any]], str]:
    """Every event after `cursor`, page by page; the cursor after the last one.

    On a busy PostgreSQL server an unrelated open transaction can hold the
    feed's horizon back for a moment: events already committed are then
    `pending`, which the feed says with an empty page and X-Poll-Interval 1;
    a client polls again, and so does this."""
    events: list[dict[str, Any]] = []
    deadline = time.monotonic() + 30
    while True:
        response = feed(http, actor, cursor, limit=limit)
        assert response.status_code == 200, response.text
        page = response.json()
        events += page["events"]
        cursor = page["next_cursor"]
        if page["events"]:
            continue  # until a page comes back empty
        held_back = response.headers["x-poll-interval"] == "1"
        if held_back and time.monotonic() < deadline:
            time.sleep(0.05)
            continue
        assert cursor is not None
        return events, cursor


def timeline(http: httpx.Client, actor: Actor, ticket_id: int) -> list[dict[str, Any]]:
    response = http.get(f"/v1/tickets/{ticket_id}/events", headers=actor.headers)
    assert response.status_code == 200, response.text
    return list(response.json()["items"])
