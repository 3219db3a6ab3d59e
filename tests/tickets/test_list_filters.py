"""Multi-valued list filters (PRODUCT.md: a filter may repeat or take a
comma-separated list): `status=assigned,accepted`, `status=assigned&status=accepted`
and a mix of both select the same tickets, those of either value; a bad value
is 422 naming it."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from service.validation import MAX_FILTER_VALUES
from tests.conftest import World, file_ticket

PROBLEM = "application/problem+json"


@pytest.fixture
def tickets(client: TestClient, world: World) -> dict[str, Any]:
    """Tickets that differ in every filter: two values of each select different ones."""
    w = world
    plumbing = file_ticket(client, w.reporter, w.community_a, priority="low")
    elevator = file_ticket(
        client, w.admin, w.community_b, category="repair.elevator", priority="emergency"
    )
    meal = file_ticket(client, w.reporter, w.community_a, category="elderly.meal")
    for ticket, actor in ((plumbing, w.technician), (meal, w.care_dispatcher)):
        accepted = client.post(f"/v1/tickets/{ticket['id']}/accept", headers=actor.headers)
        assert accepted.status_code == 200, accepted.text
    return {"plumbing": plumbing["id"], "elevator": elevator["id"], "meal": meal["id"]}


def _pairs(world: World) -> dict[str, tuple[Any, Any]]:
    return {
        "status": ("assigned", "accepted"),
        "kind": ("property", "elderly_care"),
        "category": ("repair.elevator", "elderly"),
        "community_id": (world.community_a, world.community_b),
        "organization_id": (world.care, world.company),
        "assignee_id": (world.technician.user_id, world.care_dispatcher.user_id),
        "priority": ("emergency", "low"),
    }


@pytest.mark.parametrize(
    "name",
    ["status", "kind", "category", "community_id", "organization_id", "assignee_id", "priority"],
)
def test_a_filter_repeats_or_lists_values(
    client: TestClient, world: World, tickets: dict[str, Any], name: str
) -> None:
    first, second = _pairs(world)[name]

    def ids(values: Any) -> set[int]:
        response = client.get(
            "/v1/tickets",
            params={name: values, "limit": 200},
            headers=world.province_admin.headers,
        )
        assert response.status_code == 200, response.text
        return {t["id"] for t in response.json()["items"]} & set(tickets.values())

    either = ids(first) | ids(second)
    assert ids(first) and ids(second) and ids(first) != ids(second)
    assert ids(f"{first},{second}") == either
    assert ids([first, second]) == either
    assert ids([f"{second}", f"{first},{second}"]) == either  # both ways at once
    assert ids(f" {first} , {second} ") == either


@pytest.mark.parametrize(
    "query, value",
    [
        ("status=assigned,bogus", "bogus"),
        ("status=assigned&status=open", "open"),
        ("kind=property,garden", "garden"),
        ("priority=low,whenever", "whenever"),
        ("category=repair,Repair", "Repair"),
        ("community_id=1,x", "x"),
        ("organization_id=1,0", "0"),
        ("assignee_id=99999999999999,1", "99999999999999"),
    ],
)
def test_a_bad_value_in_a_list_is_named(
    client: TestClient, world: World, query: str, value: str
) -> None:
    response = client.get(f"/v1/tickets?{query}", headers=world.province_admin.headers)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM
    field = query.split("=")[0]
    messages = [e["message"] for e in response.json()["errors"] if e["field"] == field]
    assert any(repr(value) in message for message in messages), response.text


def test_a_list_has_a_bound(client: TestClient, world: World) -> None:
    values = ",".join(str(n) for n in range(1, MAX_FILTER_VALUES + 2))
    response = client.get(
        f"/v1/tickets?community_id={values}", headers=world.province_admin.headers
    )
    assert response.status_code == 422, response.text
    at_bound = ",".join(str(n) for n in range(1, MAX_FILTER_VALUES + 1))
    response = client.get(
        f"/v1/tickets?community_id={at_bound}", headers=world.province_admin.headers
    )
    assert response.status_code == 200, response.text


def test_escalation_filters_take_lists_too(client: TestClient, world: World) -> None:
    headers = world.province_admin.headers
    for query in ("level=1,2", "level=1&level=2", "clock=response,resolution&level=2"):
        response = client.get(f"/v1/sla-escalations?{query}", headers=headers)
        assert response.status_code == 200, (query, response.text)
    response = client.get("/v1/sla-escalations?level=1,3", headers=headers)
    assert response.status_code == 422
    assert "'3'" in response.json()["errors"][0]["message"]
