"""Registering webhooks: who may, where to, and what is shown."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from service.main import create_app
from tests.conftest import World

HOOK = "https://hooks.example.com/linli"


def _create(client: TestClient, actor: Any, **body: Any) -> Any:
    return client.post("/v1/webhooks", json={"url": HOOK, **body}, headers=actor.headers)


def test_a_dispatcher_registers_a_webhook_and_sees_the_secret_once(
    client: TestClient, world: World
) -> None:
    created = _create(client, world.dispatcher, event_types=["ticket.created", "ticket.created"])
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["secret"].startswith("whsec_") and body["event_types"] == ["ticket.created"]
    assert body["organization_id"] == world.company
    listed = client.get("/v1/webhooks", headers=world.dispatcher.headers).json()["items"]
    assert [h["id"] for h in listed] == [body["id"]]
    assert "secret" not in listed[0]
    one = client.get(f"/v1/webhooks/{body['id']}", headers=world.dispatcher.headers).json()
    assert "secret" not in one
    # Another organisation cannot see it or learn it exists.
    assert (
        client.get(f"/v1/webhooks/{body['id']}", headers=world.other_dispatcher.headers).status_code
        == 404
    )
    assert client.get("/v1/webhooks", headers=world.other_dispatcher.headers).json()["items"] == []


def test_a_secret_of_ones_own_is_kept(client: TestClient, world: World) -> None:
    body = _create(client, world.dispatcher, secret="my-own-secret-of-enough-length").json()
    assert body["secret"] == "my-own-secret-of-enough-length"


@pytest.mark.parametrize(
    "who", ["technician", "reporter", "admin", "province_admin", "grid_worker"]
)
def test_only_dispatchers_manage_webhooks(client: TestClient, world: World, who: str) -> None:
    response = _create(client, world.actors[who])
    assert response.status_code == 403
    assert client.get("/v1/webhooks", headers=world.actors[who].headers).status_code == 403


@pytest.mark.parametrize(
    "body",
    [
        {"url": "http://127.0.0.1:9000/hook"},
        {"url": "http://localhost/hook"},
        {"url": "http://10.0.0.5/hook"},
        {"url": "http://169.254.169.254/latest/meta-data/"},
        {"url": "ftp://hooks.example.com/"},
        {"url": HOOK, "event_types": ["created"]},
        {"url": HOOK, "secret": "short"},
        {"url": HOOK, "unexpected": 1},
        # A NUL answered 500 on PostgreSQL.
        {"url": HOOK, "secret": "a-secret-of-twenty-four-\u0000-characters"},
        {"url": HOOK + "\u0000"},
        {"url": HOOK, "secret": "a secret with spaces in it, 24+"},
        # An event type no event has: the subscription would never fire.
        {"url": HOOK, "event_types": ["ticket.creatd"]},
        {"url": "https://127.1/hook"},
        {"url": "http://hooks.example.com/linli"},
    ],
)
def test_bad_registrations_answer_422_and_store_nothing(
    client: TestClient, world: World, body: dict
) -> None:
    response = client.post("/v1/webhooks", json=body, headers=world.dispatcher.headers)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert client.get("/v1/webhooks", headers=world.dispatcher.headers).json()["items"] == []


def test_loopback_is_allowed_when_configured(
    settings: Any, engine: Any, app: Any, world: World
) -> None:
    allowed = create_app(
        settings.model_copy(update={"webhook_allow_targets": "127.0.0.0/8"}), engine
    )
    allowed.state.sessionmaker = app.state.sessionmaker
    with TestClient(allowed) as client:
        response = client.post(
            "/v1/webhooks",
            json={"url": "http://127.0.0.1:9000/hook"},
            headers=world.dispatcher.headers,
        )
    assert response.status_code == 201, response.text


def test_the_outbox_row_is_written_with_the_event(
    client: TestClient, world: World, db: Any
) -> None:
    """Same transaction: the trigger writes one delivery per matching subscription."""
    from sqlalchemy import select

    from service.webhooks.models import WebhookDelivery

    all_events = _create(client, world.dispatcher).json()
    accepted_only = _create(client, world.dispatcher, event_types=["ticket.accepted"]).json()
    _create(client, world.other_dispatcher)  # another organisation's: never this ticket's
    ticket = client.post(
        "/v1/tickets",
        json={
            "category": "repair.plumbing",
            "community_id": world.community_a,
            "description": "漏水",
        },
        headers=world.reporter.headers,
    ).json()
    client.post(f"/v1/tickets/{ticket['id']}/accept", headers=world.technician.headers)
    rows = db.execute(
        select(WebhookDelivery.subscription_id, WebhookDelivery.status).order_by(WebhookDelivery.id)
    ).all()
    assert [(r.subscription_id, r.status) for r in rows] == [
        (all_events["id"], "pending"),
        (all_events["id"], "pending"),
        (accepted_only["id"], "pending"),
    ]


def test_every_event_type_the_service_writes_can_be_subscribed_to() -> None:
    """A scan of the service's code for the event types it writes."""
    import re
    from pathlib import Path

    from service.i18n import CATALOGUE
    from service.webhooks.schemas import EVENT_TYPES

    root = Path(__file__).resolve().parents[2] / "service"
    written = (
        {
            match
            for path in root.rglob("*.py")
            for match in re.findall(r"\"(ticket\.[a-z_]+)\"", path.read_text())
        }
        - {"ticket.id"}
        - set(CATALOGUE)
    )  # a foreign key and problem codes, not events
    assert written, "the scan found nothing"
    assert written <= set(EVENT_TYPES), written - set(EVENT_TYPES)
