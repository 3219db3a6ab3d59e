"""Erasure keeps an anonymous row and nothing of the person; family proxies are
linked by grid workers and admins, and see the elders they act for."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.care.models import Elder, ElderAccess, ElderProxy
from tests.care.helpers import link_proxy, register
from tests.conftest import World, token_for


@pytest.fixture
def elder(client: TestClient, world: World) -> dict[str, Any]:
    elder = register(client, world.grid_worker, world.community_a)
    link_proxy(client, world.grid_worker, elder["id"], phone="13900000001")  # the reporter
    return elder


# --- erasure ---------------------------------------------------------------------------


def test_erasure_keeps_an_anonymous_row_and_nothing_of_the_person(
    client: TestClient, world: World, elder: dict[str, Any], db: Session
) -> None:
    url = f"/v1/elders/{elder['id']}"
    client.get(url, headers=world.admin.headers).raise_for_status()  # a read to audit later
    response = client.delete(url, headers=world.grid_worker.headers)
    assert response.status_code == 204, response.text
    db.expire_all()
    row = db.get(Elder, elder["id"])
    assert row is not None and row.erased_at is not None
    assert row.erased_by_id == world.grid_worker.user_id
    kept = (row.community_id, row.birth_year, row.care_level, row.lives_alone)
    assert kept == (world.community_a, 1940, 2, True)
    personal = (
        row.name,
        row.phone,
        row.gender,
        row.building,
        row.unit,
        row.room,
        row.emergency_contacts,
        row.health_notes,
        row.consent_given_at,
        row.consent_by,
        row.consent_note,
    )
    assert personal == (None,) * len(personal)
    assert db.scalars(select(ElderProxy).where(ElderProxy.elder_id == elder["id"])).all() == []
    # The audit of who read them outlives them (it holds nothing of them).
    assert db.scalars(select(ElderAccess).where(ElderAccess.elder_id == elder["id"])).all()
    log = client.get(f"{url}/access-log", headers=world.admin.headers)
    assert log.status_code == 200 and log.json()["items"]


def test_an_erased_elder_answers_410_to_those_who_saw_them_and_404_to_others(
    client: TestClient, world: World, elder: dict[str, Any]
) -> None:
    url = f"/v1/elders/{elder['id']}"
    client.delete(url, headers=world.admin.headers).raise_for_status()
    for name in ("grid_worker", "care_dispatcher", "admin", "province_admin"):
        headers = world.actors[name].headers
        response = client.get(url, headers=headers)
        assert response.status_code == 410, (name, response.text)
        assert response.json()["code"] == "elder.erased"
        listed = client.get("/v1/elders?limit=200", headers=headers).json()["items"]
        assert elder["id"] not in {item["id"] for item in listed}, name
    for method, path, body in (
        ("PATCH", url, {"care_level": 1}),
        ("DELETE", url, None),
        ("GET", f"{url}/proxies", None),
        ("POST", f"{url}/proxies", {"phone": "13900000002"}),
    ):
        response = client.request(method, path, json=body, headers=world.grid_worker.headers)
        assert response.status_code == 410, (method, path, response.text)
    # The former proxy lost their link with the rest; others never saw the elder.
    for name in ("reporter", "neighbour", "dispatcher", "other_admin"):
        response = client.get(url, headers=world.actors[name].headers)
        assert response.status_code == 404, (name, response.text)


@pytest.mark.parametrize("name", ["care_dispatcher", "reporter", "technician", "dispatcher"])
def test_only_admins_and_grid_workers_erase(
    name: str, client: TestClient, world: World, elder: dict[str, Any], db: Session
) -> None:
    response = client.delete(f"/v1/elders/{elder['id']}", headers=world.actors[name].headers)
    assert response.status_code == 403, response.text
    assert response.json()["code"] == "elder.may_not_erase"
    db.expire_all()
    assert db.get(Elder, elder["id"]).name == elder["name"]


def test_a_birth_year_is_kept_as_its_decade_or_not_at_all(client: TestClient, world: World) -> None:
    unknown = register(client, world.grid_worker, world.community_a, birth_year=None)
    client.delete(f"/v1/elders/{unknown['id']}", headers=world.grid_worker.headers)
    assert client.get(f"/v1/elders/{unknown['id']}", headers=world.admin.headers).status_code == 410


# --- who may write -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, community, status",
    [
        ("grid_worker", "community_a", 201),
        ("care_dispatcher", "community_a", 201),
        ("admin", "community_b", 201),
        ("other_grid_worker", "community_a", 422),  # not their community
        ("care_dispatcher", "community_b", 422),  # care does not serve it
        ("dispatcher", "community_a", 422),  # a property company keeps no elders
        ("other_admin", "community_a", 422),
        ("technician", "community_a", 403),
        ("reporter", "community_a", 403),
    ],
)
def test_who_registers_elders_where(
    name: str, community: str, status: int, client: TestClient, world: World
) -> None:
    response = client.post(
        "/v1/elders",
        json={"community_id": world.ids[community], "name": "买买提"},
        headers=world.actors[name].headers,
    )
    assert response.status_code == status, response.text
    if status == 201:
        assert response.headers["location"] == f"/v1/elders/{response.json()['id']}"
    if status == 422:
        assert response.json()["errors"][0]["field"] == "community_id"


def test_a_proxy_reads_but_does_not_write(
    client: TestClient, world: World, elder: dict[str, Any]
) -> None:
    url = f"/v1/elders/{elder['id']}"
    assert client.get(url, headers=world.reporter.headers).status_code == 200
    response = client.patch(url, json={"care_level": 0}, headers=world.reporter.headers)
    assert response.status_code == 403
    assert response.json()["code"] == "elder.may_not_edit"
    response = client.post(
        f"{url}/proxies", json={"phone": "13900000002"}, headers=world.reporter.headers
    )
    assert response.status_code == 403


# --- proxies ---------------------------------------------------------------------------------


def test_proxies_are_linked_listed_and_removed(
    client: TestClient, world: World, elder: dict[str, Any]
) -> None:
    url = f"/v1/elders/{elder['id']}/proxies"
    headers = world.grid_worker.headers
    # By id, a resident of the grid worker's community; again: the same link.
    first = link_proxy(client, world.grid_worker, elder["id"], user_id=world.neighbour.user_id)
    again = link_proxy(client, world.grid_worker, elder["id"], user_id=world.neighbour.user_id)
    assert first == again
    assert first["name"] == "user-neighbour" and first["phone"] == "13900000002"
    # By phone, a daughter living in another prefecture.
    far = link_proxy(client, world.admin, elder["id"], phone="+86 139-0000-0003")
    assert far["user_id"] == world.far_resident.user_id
    listed = client.get(url, headers=headers).json()["items"]
    assert {p["user_id"] for p in listed} == {
        world.reporter.user_id,
        world.neighbour.user_id,
        world.far_resident.user_id,
    }
    seen = client.get(f"/v1/elders/{elder['id']}", headers=world.far_resident.headers)
    assert seen.status_code == 200 and seen.json()["masked"]

    assert client.delete(f"{url}/{world.far_resident.user_id}", headers=headers).status_code == 204
    gone = client.get(f"/v1/elders/{elder['id']}", headers=world.far_resident.headers)
    assert gone.status_code == 404
    again_gone = client.delete(f"{url}/{world.far_resident.user_id}", headers=headers)
    assert again_gone.status_code == 404
    assert again_gone.json()["code"] == "elder.proxy_not_found"


@pytest.mark.parametrize(
    "body, field, code",
    [
        ({}, "user_id", "elder.proxy_whom"),
        ({"user_id": 1, "phone": "13900000002"}, "user_id", "elder.proxy_whom"),
        ({"phone": "13700000000"}, "phone", "elder.proxy_unknown"),
        ("far_resident", "user_id", "elder.proxy_unknown"),  # by id: not of their community
        ("grid_worker", "user_id", "elder.proxy_unknown"),  # not a resident
    ],
)
def test_a_proxy_must_be_one_known_resident(
    body: Any,
    field: str,
    code: str,
    client: TestClient,
    world: World,
    elder: dict[str, Any],
    db: Session,
) -> None:
    if isinstance(body, str):
        body = {"user_id": world.actors[body].user_id}
    before = db.scalars(select(ElderProxy)).all()
    response = client.post(
        f"/v1/elders/{elder['id']}/proxies", json=body, headers=world.grid_worker.headers
    )
    assert response.status_code == 422, response.text
    assert [(e["field"], e["code"]) for e in response.json()["errors"]] == [(field, code)]
    assert db.scalars(select(ElderProxy)).all() == before


def test_a_phone_two_residents_share_is_refused(
    client: TestClient, world: World, elder: dict[str, Any]
) -> None:
    settings = client.app.state.settings  # type: ignore[attr-defined]
    token = token_for(
        settings, "twin", "resident", community_id=world.community_b, phone="13900000002"
    )
    client.get("/v1/me", headers={"Authorization": f"Bearer {token}"}).raise_for_status()
    response = client.post(
        f"/v1/elders/{elder['id']}/proxies",
        json={"phone": "13900000002"},
        headers=world.grid_worker.headers,
    )
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "elder.proxy_ambiguous"
