"""Many pollers of one organisation cost memory, not queries (service.feed.window)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlalchemy.engine import Engine

from service.config import Settings
from service.feed import window as windows
from service.main import create_app
from tests.conftest import TEST_SECRET, World, build_world, file_ticket


@pytest.fixture
def live_app(live_engine: Engine) -> Iterator[tuple[Any, World, list[str]]]:
    """An app on a database of its own, and the feed queries it sends."""
    settings = Settings(
        database_url=live_engine.url.render_as_string(hide_password=False),
        jwt_secret=TEST_SECRET,
        env="dev",
    )
    app = create_app(settings, live_engine)
    with TestClient(app) as http:
        world = build_world(http, settings)
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "FROM ticket_event" in statement:
            statements.append(statement)

    # The feed's reads go through SQLAlchemy (not the driver-level hot paths).
    event.listen(live_engine, "before_cursor_execute", seen)
    yield app, world, statements
    event.remove(live_engine, "before_cursor_execute", seen)


def _client(app: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://linli", timeout=20
    )


def test_pollers_with_different_cursors_share_one_window(
    live_app: tuple[Any, World, list[str]],
) -> None:
    app, world, statements = live_app
    with TestClient(app) as http:
        for n in range(6):
            file_ticket(http, world.reporter, world.community_a, description=f"漏水 {n}")
        # Cursors at every event of the company's feed so far.
        cursors = []
        cursor = None
        while True:
            # Until the six creations are in, a page may come back empty while another
            # transaction on the server holds the feed's horizon: wait for them.
            wait = {"wait": 10} if len(cursors) < 6 else {}
            params = {"limit": 1} | wait | ({"cursor": cursor} if cursor else {})
            page = http.get("/v1/feed", params=params, headers=world.dispatcher.headers).json()
            if not page["events"]:
                break
            cursor = page["next_cursor"]
            cursors.append(cursor)
    assert len(cursors) >= 6
    head = cursors[-1]

    async def main() -> tuple[list[dict[str, Any]], list[dict[str, Any]], int, int]:
        async with _client(app) as client:
            statements.clear()
            catching_up = await asyncio.gather(
                *[
                    client.get("/v1/feed", params={"cursor": c}, headers=world.dispatcher.headers)
                    for c in cursors[:-1] * 5
                ]
            )
            served_from_window = len(statements)

            statements.clear()
            waiting = [
                asyncio.create_task(
                    client.get(
                        "/v1/feed",
                        params={"cursor": head, "wait": 10},
                        headers=world.dispatcher.headers,
                    )
                )
                for _ in range(30)
            ]
            await asyncio.sleep(0.3)
            created = await client.post(
                "/v1/tickets",
                json={
                    "category": "repair.plumbing",
                    "community_id": world.community_a,
                    "description": "新的报修",
                },
                headers=world.reporter.headers,
            )
            assert created.status_code == 201, created.text
            woken = await asyncio.gather(*waiting)
            return (
                [r.json() for r in catching_up],
                [r.json() for r in woken],
                served_from_window,
                len(statements),
            )

    caught_up, woken, first_queries, wake_queries = asyncio.run(main())
    # Each poller got exactly what follows its own cursor ...
    for position, page in zip(cursors[:-1] * 5, caught_up, strict=True):
        expected = len(cursors) - 1 - cursors.index(position)
        assert len(page["events"]) == expected
        assert page["next_cursor"] == head
    # ... and 25 pollers at 5 different cursors cost one load of the window.
    assert first_queries <= 1
    # One commit woke 30 pollers: one refresh (on SQLite, one more: the creation's
    # own statements that name ticket_event are not reads of the feed).
    assert all(page["events"][0]["type"] == "ticket.created" for page in woken)
    assert len({page["next_cursor"] for page in woken}) == 1
    assert wake_queries <= 3, wake_queries


def test_a_cursor_before_the_window_is_read_from_the_database(
    live_app: tuple[Any, World, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    app, world, _statements = live_app
    monkeypatch.setattr(windows, "WINDOW_EVENTS", 3)
    with TestClient(app) as http:
        first = http.get("/v1/feed", headers=world.dispatcher.headers).json()
        for n in range(8):
            file_ticket(http, world.reporter, world.community_a, description=f"停电 {n}")
        # Load the window (the newest 3 events) with a poller at the head.
        head = first["next_cursor"]
        everything = []
        cursor = head
        while True:
            page = http.get(
                "/v1/feed", params={"cursor": cursor, "limit": 2}, headers=world.dispatcher.headers
            ).json()
            everything += page["events"]
            if not page["has_more"]:
                break
            cursor = page["next_cursor"]
    ids = [e["id"] for e in everything]
    assert len(ids) == 8
    assert ids == sorted(ids)  # in order, each once, across window and database
