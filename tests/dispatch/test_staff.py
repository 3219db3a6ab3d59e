"""The staff list, deactivation, on duty (PRODUCT.md, Dispatch)."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from service.auth import PrincipalCache
from service.main import create_app
from tests.conftest import Actor, World, file_ticket, token_for


def staff_path(world: World, organization: str = "company") -> str:
    return f"/v1/organizations/{world.ids[organization]}/staff"


def new_technician(client: TestClient, settings: Any, world: World, sub: str) -> Actor:
    scope = {"organization_id": world.company, "org_role": "technician"}
    actor = Actor(sub, token_for(settings, sub, "provider_staff", **scope), scope)
    me = client.get("/v1/me", headers=actor.headers)
    assert me.status_code == 200, me.text
    actor.user_id = me.json()["user_id"]
    return actor


def test_dispatcher_lists_the_people_of_their_organisation(client, world):
    response = client.get(staff_path(world), headers=world.dispatcher.headers)
    assert response.status_code == 200, response.text
    items = {item["id"]: item for item in response.json()["items"]}
    assert set(items) == {world.dispatcher.user_id, world.technician.user_id}
    technician = items[world.technician.user_id]
    assert technician["org_role"] == "technician"
    assert technician["active"] is True and technician["on_duty"] is False
    # Provisioned just now by their first token: seen.
    assert technician["last_seen_at"] is not None


def test_api_keys_are_not_staff(client, world):
    created = client.post(
        f"/v1/organizations/{world.company}/api-keys",
        json={"name": "派单系统"},
        headers=world.dispatcher.headers,
    )
    assert created.status_code == 201
    response = client.get(staff_path(world), headers=world.admin.headers)
    assert response.status_code == 200
    assert len(response.json()["items"]) == 2


def test_the_staff_list_is_for_its_dispatchers_and_admins_in_scope(client, world):
    path = staff_path(world)
    assert client.get(path, headers=world.admin.headers).status_code == 200
    # Another organisation's dispatcher and an admin elsewhere: as if it did not exist.
    for outsider in (world.other_dispatcher, world.other_admin, world.far_resident):
        response = client.get(path, headers=outsider.headers)
        assert response.status_code == 404, (outsider.name, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
    # Its own technician, and a resident it serves, see the organisation: 403.
    for refused in (world.technician, world.reporter):
        response = client.get(path, headers=refused.headers)
        assert response.status_code == 403, (refused.name, response.text)
        assert response.json()["code"] == "staff.forbidden"


def test_a_deactivated_technician_is_refused_at_once(client, world, settings):
    technician = new_technician(client, settings, world, "tech-deactivated")
    assert client.get("/v1/me", headers=technician.headers).status_code == 200  # cached now
    response = client.patch(
        f"{staff_path(world)}/{technician.user_id}",
        json={"active": False},
        headers=world.dispatcher.headers,
    )
    assert response.status_code == 200, response.text
    assert response.json()["active"] is False
    refused = client.get("/v1/tickets", headers=technician.headers)
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["code"] == "auth.deactivated"
    # A new token of theirs (other claims: a new cache key) is refused too.
    again = token_for(
        settings,
        "tech-deactivated",
        "provider_staff",
        organization_id=world.company,
        org_role="technician",
        phone="13900000077",
    )
    assert client.get("/v1/me", headers={"Authorization": f"Bearer {again}"}).status_code == 403
    # Reactivated by an admin over the organisation: let in again.
    response = client.patch(
        f"{staff_path(world)}/{technician.user_id}",
        json={"active": True},
        headers=world.admin.headers,
    )
    assert response.status_code == 200
    assert client.get("/v1/me", headers=technician.headers).status_code == 200


def test_another_instance_refuses_them_once_its_cache_entry_is_stale(
    client, world, settings, engine
):
    technician = new_technician(client, settings, world, "tech-elsewhere")
    other = create_app(settings, engine)
    other.state.sessionmaker = client.app.state.sessionmaker  # the test's transaction
    other.state.principals = PrincipalCache(ttl=0)  # its minute, gone by
    with TestClient(other) as other_client:
        assert other_client.get("/v1/me", headers=technician.headers).status_code == 200
        client.patch(
            f"{staff_path(world)}/{technician.user_id}",
            json={"active": False},
            headers=world.dispatcher.headers,
        ).raise_for_status()
        response = other_client.get("/v1/me", headers=technician.headers)
        assert response.status_code == 403
        assert response.json()["code"] == "auth.deactivated"


def test_deactivation_refused_to_oneself_and_to_machines(client, world):
    response = client.patch(
        f"{staff_path(world)}/{world.dispatcher.user_id}",
        json={"active": False},
        headers=world.dispatcher.headers,
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["code"] == "staff.not_yourself"
    raw = client.post(
        f"/v1/organizations/{world.company}/api-keys",
        json={"name": "派单系统"},
        headers=world.dispatcher.headers,
    ).json()["key"]
    response = client.patch(
        f"{staff_path(world)}/{world.technician.user_id}",
        json={"active": False},
        headers={"Authorization": f"Bearer {raw}"},
    )
    assert response.status_code == 403
    assert client.get("/v1/me", headers=world.technician.headers).status_code == 200


def test_someone_of_another_organisation_is_not_staff_here(client, world):
    response = client.patch(
        f"{staff_path(world)}/{world.other_dispatcher.user_id}",
        json={"active": False},
        headers=world.dispatcher.headers,
    )
    assert response.status_code == 404
    assert response.json()["code"] == "staff.not_found"
    assert client.get("/v1/me", headers=world.other_dispatcher.headers).status_code == 200


def test_on_duty_by_the_technician_or_their_dispatcher(client, world):
    response = client.put(
        "/v1/me/on-duty", json={"on_duty": True}, headers=world.technician.headers
    )
    assert response.status_code == 200, response.text
    assert response.json()["on_duty"] is True
    response = client.patch(
        f"{staff_path(world)}/{world.technician.user_id}",
        json={"on_duty": False},
        headers=world.dispatcher.headers,
    )
    assert response.json()["on_duty"] is False
    # Dispatchers and residents have no duty to go on.
    for other in (world.dispatcher, world.reporter):
        response = client.put("/v1/me/on-duty", json={"on_duty": True}, headers=other.headers)
        assert response.status_code == 403
        assert response.json()["code"] == "staff.technicians_only"
    response = client.patch(
        f"{staff_path(world)}/{world.dispatcher.user_id}",
        json={"on_duty": True},
        headers=world.admin.headers,
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "on_duty"


def test_nobody_assigns_a_ticket_to_a_deactivated_technician(client, world, settings):
    technician = new_technician(client, settings, world, "tech-gone")
    client.patch(
        f"{staff_path(world)}/{technician.user_id}",
        json={"active": False},
        headers=world.dispatcher.headers,
    ).raise_for_status()
    ticket = file_ticket(client, world.reporter, world.community_a)
    response = client.post(
        f"/v1/tickets/{ticket['id']}/assign",
        json={"assignee_id": technician.user_id},
        headers=world.dispatcher.headers,
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "assignee_id"
