"""Who sees an elder, in clear or masked, and the access log of every read in clear."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.care.masking import mask_phone
from service.care.models import ElderAccess
from service.directory.credit_code import check_character
from tests.care.helpers import CONTACT_PHONE, NOTES, PHONE, link_proxy, register
from tests.conftest import World, token_for

CLEAR = ("grid_worker", "care_dispatcher", "admin", "province_admin")
MASKED = ("reporter",)  # the elder's family proxy
NOBODY = (
    "neighbour",  # a resident of the same community, not a proxy
    "far_resident",
    "other_grid_worker",
    "dispatcher",  # the property company serving the community
    "technician",
    "other_dispatcher",
    "other_admin",
)


@pytest.fixture
def elder(client: TestClient, world: World) -> dict[str, Any]:
    elder = register(client, world.grid_worker, world.community_a)
    link_proxy(client, world.grid_worker, elder["id"], phone="13900000001")  # the reporter
    return elder


def _log(db: Session, elder_id: int) -> list[ElderAccess]:
    db.expire_all()
    return list(
        db.scalars(
            select(ElderAccess).where(ElderAccess.elder_id == elder_id).order_by(ElderAccess.id)
        )
    )


def test_masks() -> None:
    assert mask_phone("13900000001") == "139****0001"
    assert mask_phone("09915551234") == "099****1234"


@pytest.mark.parametrize("name", CLEAR)
def test_in_clear_to_admins_grid_workers_and_the_care_provider(
    name: str, client: TestClient, world: World, elder: dict[str, Any], db: Session
) -> None:
    actor = world.actors[name]
    before = len(_log(db, elder["id"]))
    response = client.get(f"/v1/elders/{elder['id']}", headers=actor.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["phone"] == PHONE and body["health_notes"] == NOTES
    assert body["location"] == {"building": "7", "unit": "1", "room": "102"}
    assert body["emergency_contacts"][0]["phone"] == CONTACT_PHONE
    assert body["masked"] == []
    log = _log(db, elder["id"])
    assert len(log) == before + 1
    assert (log[-1].reader_id, log[-1].route, log[-1].fields) == (
        client.get("/v1/me", headers=actor.headers).json()["user_id"],
        "GET /v1/elders/{elder_id}",
        ["phone", "location", "emergency_contacts", "health_notes"],
    )
    assert log[-1].role == actor.claims["role"]

    listed = client.get(f"/v1/elders?community_id={world.community_a}", headers=actor.headers)
    assert listed.status_code == 200
    (item,) = [i for i in listed.json()["items"] if i["id"] == elder["id"]]
    assert item == body | {"masked": []}
    assert _log(db, elder["id"])[-1].route == "GET /v1/elders"


def test_masked_to_the_family_proxy_and_not_recorded(
    client: TestClient, world: World, elder: dict[str, Any], db: Session
) -> None:
    before = len(_log(db, elder["id"]))
    for url in (f"/v1/elders/{elder['id']}", "/v1/elders"):
        response = client.get(url, headers=world.reporter.headers)
        assert response.status_code == 200, response.text
        body = response.json() if "items" not in response.json() else response.json()["items"][0]
        assert body["id"] == elder["id"] and body["name"] == elder["name"]
        assert body["phone"] == "139****0001"
        assert body["location"] == {"building": "7", "unit": None, "room": None}
        assert body["emergency_contacts"] == [
            {"name": "古丽娜尔", "relation": "女儿", "phone": "138****5678"}
        ]
        assert body["health_notes"] is None
        assert body["masked"] == ["phone", "location", "emergency_contacts", "health_notes"]
        for secret in (PHONE, CONTACT_PHONE, NOTES, "102"):
            assert secret not in response.text
    assert len(_log(db, elder["id"])) == before


@pytest.mark.parametrize("name", NOBODY)
def test_nobody_else_sees_the_elder(
    name: str, client: TestClient, world: World, elder: dict[str, Any], db: Session
) -> None:
    actor = world.actors[name]
    before = len(_log(db, elder["id"]))
    response = client.get(f"/v1/elders/{elder['id']}", headers=actor.headers)
    assert response.status_code == 404, response.text
    assert response.json()["code"] == "elder.not_found"
    listed = client.get("/v1/elders", headers=actor.headers).json()["items"]
    assert elder["id"] not in {item["id"] for item in listed}
    assert len(_log(db, elder["id"])) == before


def test_only_reads_in_clear_of_something_sensitive_are_recorded(
    client: TestClient, world: World, db: Session
) -> None:
    plain = register(
        client,
        world.grid_worker,
        world.community_a,
        phone=None,
        location=None,
        emergency_contacts=[],
        health_notes=None,
    )
    assert client.get(f"/v1/elders/{plain['id']}", headers=world.admin.headers).status_code == 200
    assert _log(db, plain["id"]) == []
    # Writes that answer in clear are reads too.
    phoned = register(client, world.care_dispatcher, world.community_a, location=None)
    patched = client.patch(
        f"/v1/elders/{phoned['id']}", json={"care_level": 4}, headers=world.care_dispatcher.headers
    )
    assert patched.status_code == 200
    assert [(a.route, a.fields) for a in _log(db, phoned["id"])] == [
        ("POST /v1/elders", ["phone", "emergency_contacts", "health_notes"]),
        ("PATCH /v1/elders/{elder_id}", ["phone", "emergency_contacts", "health_notes"]),
    ]


def test_the_access_log_names_readers_to_admins_and_roles_to_the_family(
    client: TestClient, world: World, elder: dict[str, Any]
) -> None:
    url = f"/v1/elders/{elder['id']}"
    for name in ("care_dispatcher", "grid_worker"):
        client.get(url, headers=world.actors[name].headers).raise_for_status()
    log = client.get(f"{url}/access-log?limit=2", headers=world.admin.headers)
    assert log.status_code == 200, log.text
    page = log.json()
    first, second = page["items"]
    assert first["reader"] == {
        "user_id": world.grid_worker.user_id,
        "name": "user-grid_worker",
        "role": "grid_worker",
        "organization_id": None,
        "api_key": False,
    }
    assert second["reader"]["organization_id"] == world.care and second["reader"]["name"]
    assert first["route"] == "GET /v1/elders/{elder_id}"
    assert first["fields"] == ["phone", "location", "emergency_contacts", "health_notes"]
    assert page["next_cursor"]  # the registration's own answer is further back
    rest = client.get(
        f"{url}/access-log", params={"cursor": page["next_cursor"]}, headers=world.admin.headers
    ).json()
    assert [item["route"] for item in rest["items"]] == ["POST /v1/elders"]
    assert rest["next_cursor"] is None

    family = client.get(f"{url}/access-log", headers=world.reporter.headers)
    assert family.status_code == 200, family.text
    for item in family.json()["items"]:
        assert item["reader"]["user_id"] is None and item["reader"]["name"] is None
    assert family.json()["items"][1]["reader"]["organization_id"] == world.care

    for name, status in (
        ("grid_worker", 403),
        ("care_dispatcher", 403),
        ("neighbour", 404),
        ("other_admin", 404),
    ):
        response = client.get(f"{url}/access-log", headers=world.actors[name].headers)
        assert response.status_code == status, (name, response.text)


def test_the_list_filters_by_community_and_pages(client: TestClient, world: World) -> None:
    ids = [register(client, world.admin, world.community_a)["id"] for _ in range(3)]
    in_b = register(client, world.admin, world.community_b)["id"]
    seen: list[int] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"community_id": world.community_a, "limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = client.get("/v1/elders", params=params, headers=world.admin.headers).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert set(ids) <= set(seen) and in_b not in seen
    both = client.get(
        f"/v1/elders?community_id={world.community_a},{world.community_b}&limit=200",
        headers=world.admin.headers,
    ).json()["items"]
    assert {in_b, *ids} <= {item["id"] for item in both}
    bad = client.get("/v1/elders?cursor=nonsense", headers=world.admin.headers)
    assert bad.status_code == 422


def test_a_new_care_provider_takes_over_and_the_old_one_loses_sight(
    client: TestClient, world: World, elder: dict[str, Any]
) -> None:
    code = "52650102MJ0000002" + check_character("52650102MJ0000002")
    new = client.post(
        "/v1/organizations",
        json={
            "name": "天山区居家养老服务中心",
            "kind": "care_provider",
            "credit_code": code,
            "region_id": world.tianshan,
        },
        headers=world.province_admin.headers,
    )
    assert new.status_code == 201, new.text
    client.put(
        f"/v1/communities/{world.community_a}/providers/elderly_care",
        json={"organization_id": new.json()["id"]},
        headers=world.admin.headers,
    ).raise_for_status()
    url = f"/v1/elders/{elder['id']}"
    assert client.get(url, headers=world.care_dispatcher.headers).status_code == 404
    settings = client.app.state.settings  # type: ignore[attr-defined]
    token = token_for(
        settings,
        "new-care-dispatcher",
        "provider_staff",
        organization_id=new.json()["id"],
        org_role="technician",
    )
    carer = client.get(url, headers={"Authorization": f"Bearer {token}"})
    assert carer.status_code == 200 and carer.json()["phone"] == PHONE  # a carer reads in clear
