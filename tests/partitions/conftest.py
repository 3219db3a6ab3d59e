"""A database of its own for each test here: the partition job commits, and
makes and drops tables."""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import sessionmaker

from service.categories.service import load_reference_tree
from service.config import Settings
from service.db import make_engine
from service.main import create_app
from service.partitions import months
from service.tickets.models import TicketEvent
from tests.conftest import BACKEND, TEST_SECRET, World, build_world, file_ticket, new_database

HOOK = "https://hooks.example.com/linli"


@dataclass
class Own:
    settings: Settings
    engine: Engine
    world: World
    client: TestClient
    ticket_id: int

    def events(self, *instants: dt.datetime, ticket_id: int | None = None) -> list[int]:
        """Events of the company at these instants (each a webhook delivery per
        active subscription, by the trigger); their ids."""
        ids = []
        with self.engine.begin() as connection:
            for at in instants:
                ids.append(
                    connection.execute(
                        insert(TicketEvent)
                        .values(
                            ticket_id=ticket_id or self.ticket_id,
                            type="ticket.commented",
                            organization_id=self.world.company,
                            internal=False,
                            data={},
                            created_at=at,
                        )
                        .returning(TicketEvent.id)
                    ).scalar_one()
                )
        return ids

    def months(self, first: dt.date, last: dt.date) -> None:
        """PostgreSQL: the partitions of these months (SQLite: nothing to make)."""
        if BACKEND == "postgres":
            with self.engine.connect() as connection:
                months.make_months(connection, first, last)

    def scalar(self, sql: str, **params: Any) -> Any:
        with self.engine.connect() as connection:
            return connection.execute(text(sql), params).scalar()

    def subscribe(self) -> None:
        response = self.client.post(
            "/v1/webhooks", json={"url": HOOK}, headers=self.world.dispatcher.headers
        )
        assert response.status_code == 201, response.text


@pytest.fixture
def own() -> Iterator[Own]:
    database = new_database("linli_parts")
    settings = Settings(
        database_url=database.url,
        jwt_secret=TEST_SECRET,
        env="dev",
        storage_dir=tempfile.mkdtemp(prefix="linli-test-storage-"),
    )
    engine = make_engine(settings)
    with sessionmaker(engine).begin() as session:
        load_reference_tree(session)
    with TestClient(create_app(settings, engine)) as client:
        world = build_world(client, settings)
        ticket = file_ticket(client, world.reporter, world.community_a)
        yield Own(settings, engine, world, client, ticket["id"])
    engine.dispose()
    if database.cleanup:
        database.cleanup()
