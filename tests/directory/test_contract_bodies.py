"""PRODUCT.md's bodies for organisations and communities, as the contract writes
them: POST /v1/organizations {name, kind, credit_code} by a province-wide admin
(no region_id anywhere), PATCH /v1/organizations with credit_code, PATCH
/v1/communities with region_id, each inside the caller's region only."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from service.config import Settings
from service.directory.credit_code import check_character
from tests.conftest import Actor, World, file_ticket, token_for

PROBLEM = "application/problem+json"
OTHER_COMPANYS_CODE = "91653101MA78A1B2CN"


def _code(first17: str) -> str:
    return first17 + check_character(first17)


def _admin_of(settings: Settings, region_id: int, key: str) -> Actor:
    claims = {"role": "admin", "region_id": region_id}
    return Actor(key, token_for(settings, key, "admin", region_id=region_id), claims)


def _register(client: TestClient, actor: Actor, **body: Any) -> Any:
    return client.post(
        "/v1/organizations",
        json={"name": "昆仑居家养老服务中心", "kind": "care_provider", **body},
        headers=actor.headers,
    )


# --- registering an organisation ------------------------------------------------------


def test_a_province_admin_registers_with_the_contracts_body(
    client: TestClient, world: World
) -> None:
    response = _register(client, world.province_admin, credit_code=_code("52650000MJ0000001"))
    assert response.status_code == 201, response.text
    registered = response.json()
    assert registered["region_id"] == world.province  # the whole province's
    listed = client.get("/v1/organizations?limit=500", headers=world.province_admin.headers)
    assert registered["id"] in {o["id"] for o in listed.json()["items"]}
    # A county's admin sees it only once it serves there (as any organisation above them).
    for actor in (world.admin, world.other_admin):
        got = client.get(f"/v1/organizations/{registered['id']}", headers=actor.headers)
        assert got.status_code == 404


def test_a_province_admin_with_several_provinces_says_which(
    client: TestClient, world: World
) -> None:
    second = client.post(
        "/v1/regions",
        json={"name": "西藏自治区", "level": "province"},
        headers=world.province_admin.headers,
    )
    assert second.status_code == 201, second.text
    code = _code("52650000MJ0000002")
    response = _register(client, world.province_admin, credit_code=code)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["errors"][0]["field"] == "region_id"
    named = _register(client, world.province_admin, credit_code=code, region_id=second.json()["id"])
    assert named.status_code == 201, named.text


def test_a_county_admins_organisations_stay_in_their_county(
    client: TestClient, world: World
) -> None:
    response = _register(client, world.admin, credit_code=_code("52650102MJ0000003"))
    assert response.status_code == 201, response.text
    assert response.json()["region_id"] == world.tianshan
    for outside in (world.province, world.urumqi, world.shayibake, world.kashi_city):
        refused = _register(
            client, world.admin, credit_code=_code("52650102MJ0000004"), region_id=outside
        )
        assert refused.status_code == 422, (outside, refused.text)
        assert refused.json()["errors"][0]["field"] == "region_id"
    # What it registered is not the neighbouring county's to see.
    got = client.get(
        f"/v1/organizations/{response.json()['id']}", headers=world.other_admin.headers
    )
    assert got.status_code == 404


# --- PATCH /v1/organizations: credit_code -----------------------------------------------


def test_an_organisations_credit_code_is_corrected_checked_and_unique(
    client: TestClient, world: World
) -> None:
    url = f"/v1/organizations/{world.company}"
    admin = world.admin.headers
    corrected = _code("91650102MA77XKQ99")
    response = client.patch(url, json={"credit_code": corrected.lower()}, headers=admin)
    assert response.status_code == 200, response.text
    assert response.json()["credit_code"] == corrected  # normalised as on POST

    wrong_check = corrected[:-1] + ("0" if corrected[-1] != "0" else "1")
    for body, status, field in (
        ({"credit_code": wrong_check}, 422, "credit_code"),
        ({"credit_code": "91650102MA77XKQ"}, 422, "credit_code"),
        ({"credit_code": OTHER_COMPANYS_CODE}, 409, None),
    ):
        refused = client.patch(url, json=body, headers=admin)
        assert refused.status_code == status, (body, refused.text)
        assert refused.headers["content-type"] == PROBLEM
        if field:
            assert refused.json()["errors"][0]["field"] == field
        assert client.get(url, headers=admin).json()["credit_code"] == corrected


def test_a_county_admin_cannot_recode_another_countys_organisation(
    client: TestClient, world: World
) -> None:
    response = client.patch(
        f"/v1/organizations/{world.other_company}",
        json={"credit_code": _code("91653101MA78A1B99")},
        headers=world.admin.headers,
    )
    assert response.status_code == 404


# --- PATCH /v1/communities: region_id ---------------------------------------------------


def _new_community(client: TestClient, world: World) -> int:
    response = client.post(
        "/v1/communities",
        json={"name": "和平里小区", "region_id": world.tianshan},
        headers=world.province_admin.headers,
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def test_a_community_moves_to_another_county_of_the_admins_region(
    client: TestClient, world: World, settings: Settings
) -> None:
    community = _new_community(client, world)
    urumqi_admin = _admin_of(settings, world.urumqi, "urumqi-admin")
    shayibake_admin = _admin_of(settings, world.shayibake, "shayibake-admin")
    url = f"/v1/communities/{community}"

    moved = client.patch(url, json={"region_id": world.shayibake}, headers=urumqi_admin.headers)

    assert moved.status_code == 200, moved.text
    assert moved.json()["region_id"] == world.shayibake
    # Scope follows: the new county's admin has it, the old county's does not.
    assert client.get(url, headers=shayibake_admin.headers).status_code == 200
    assert client.get(url, headers=world.admin.headers).status_code == 404
    # And tickets filed there from now on are the new county's.
    ticket = file_ticket(client, shayibake_admin, community)
    tickets = client.get("/v1/tickets", headers=shayibake_admin.headers).json()["items"]
    assert ticket["id"] in {t["id"] for t in tickets}
    got = client.get(f"/v1/tickets/{ticket['id']}", headers=world.admin.headers)
    assert got.status_code == 404


def test_a_community_stays_inside_the_admins_region_and_at_county_level(
    client: TestClient, world: World, settings: Settings
) -> None:
    community = _new_community(client, world)
    urumqi_admin = _admin_of(settings, world.urumqi, "urumqi-admin")
    url = f"/v1/communities/{community}"
    for region, actor in (
        (world.kashi_city, urumqi_admin),  # another prefecture's county
        (world.shayibake, world.admin),  # a county admin has one county
        (world.urumqi, urumqi_admin),  # not a county
        (2**31 - 1, urumqi_admin),
    ):
        response = client.patch(url, json={"region_id": region}, headers=actor.headers)
        assert response.status_code == 422, (region, response.text)
        assert response.json()["errors"][0]["field"] == "region_id"
    assert client.get(url, headers=urumqi_admin.headers).json()["region_id"] == world.tianshan


def test_a_community_with_tickets_keeps_its_county(client: TestClient, world: World) -> None:
    file_ticket(client, world.reporter, world.community_a)
    url = f"/v1/communities/{world.community_a}"
    response = client.patch(
        url,
        json={"region_id": world.shayibake, "households": 1},
        headers=world.province_admin.headers,
    )
    assert response.status_code == 409, response.text
    assert response.headers["content-type"] == PROBLEM
    after = client.get(url, headers=world.province_admin.headers).json()
    assert (after["region_id"], after["households"]) == (world.tianshan, 800)
