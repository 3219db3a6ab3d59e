"""Posting announcements in tests."""

from __future__ import annotations

import datetime as dt
from typing import Any

from httpx import Response

from service.db import utcnow


def iso(at: dt.datetime) -> str:
    return at.isoformat()


def body(community_ids: list[int], **overrides: Any) -> dict[str, Any]:
    """A planned water cut that began an hour ago and ends in five."""
    now = utcnow()
    return {
        "community_ids": community_ids,
        "kind": "planned_outage",
        "title": "今日停水通知",
        "body": "因主管道维修，今日停水，请提前储水。",
        "starts_at": iso(now - dt.timedelta(hours=1)),
        "ends_at": iso(now + dt.timedelta(hours=5)),
    } | overrides


def post(client: Any, actor: Any, community_ids: list[int], **overrides: Any) -> Response:
    return client.post(
        "/v1/announcements", json=body(community_ids, **overrides), headers=actor.headers
    )


def posted(client: Any, actor: Any, community_ids: list[int], **overrides: Any) -> dict[str, Any]:
    response = post(client, actor, community_ids, **overrides)
    assert response.status_code == 201, response.text
    return dict(response.json())


def listed(client: Any, actor: Any, **params: Any) -> list[int]:
    response = client.get("/v1/announcements", params=params, headers=actor.headers)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]
