"""Reference data: the region tree, communities, organisations, provider assignments."""

from __future__ import annotations

import pytest

from service.directory.credit_code import check_character
from tests.conftest import file_ticket

PROBLEM = "application/problem+json"


def _code(first17: str) -> str:
    return first17 + check_character(first17)


def test_region_levels_must_nest(client, world):
    admin = world.province_admin.headers
    cases = [
        ({"name": "x", "level": "county"}, "parent_id"),
        ({"name": "x", "level": "prefecture", "parent_id": world.tianshan}, "parent_id"),
        ({"name": "x", "level": "county", "parent_id": world.province}, "parent_id"),
        ({"name": "x", "level": "county", "parent_id": 999999}, "parent_id"),
        ({"name": "", "level": "county", "parent_id": world.urumqi}, "name"),
        ({"name": "x", "level": "town", "parent_id": world.urumqi}, "level"),
    ]
    for body, field in cases:
        response = client.post("/v1/regions", json=body, headers=admin)
        assert response.status_code == 422, body
        assert response.headers["content-type"] == PROBLEM
        assert field in [e["field"] for e in response.json()["errors"]]


def test_a_county_admin_creates_only_inside_their_region(client, world):
    # The admin of 天山区 cannot add a county under 喀什地区 nor a new province.
    response = client.post(
        "/v1/regions",
        json={"name": "疏附县", "level": "county", "parent_id": world.kashgar},
        headers=world.admin.headers,
    )
    assert response.status_code == 422
    response = client.post(
        "/v1/regions", json={"name": "x", "level": "province"}, headers=world.admin.headers
    )
    assert response.status_code == 422


def test_communities_belong_to_counties_and_patch(client, world):
    bad = client.post(
        "/v1/communities",
        json={"name": "x", "region_id": world.urumqi},
        headers=world.province_admin.headers,
    )
    assert bad.status_code == 422
    patched = client.patch(
        f"/v1/communities/{world.community_a}",
        json={"households": 950, "latitude": 43.8, "longitude": 87.6},
        headers=world.admin.headers,
    )
    assert patched.status_code == 200
    assert patched.json()["households"] == 950
    assert patched.json()["latitude"] == pytest.approx(43.8)
    for body in (
        {"households": -1},
        {"latitude": 91},
        {"name": None},
        {"region_id": world.kashi_city},
    ):
        response = client.patch(
            f"/v1/communities/{world.community_a}", json=body, headers=world.admin.headers
        )
        assert response.status_code == 422, body


@pytest.mark.parametrize(
    "code",
    ["91650102MA77XKQ51E", "91650102MA77XKQ51", "91650102MA77XKQ51DD", "9165010IMA77XKQ51D", ""],
)
def test_credit_codes_are_checked(client, world, code):
    response = client.post(
        "/v1/organizations",
        json={
            "name": "某物业",
            "kind": "property_company",
            "credit_code": code,
            "region_id": world.tianshan,
        },
        headers=world.admin.headers,
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "credit_code"


def test_credit_codes_are_unique_and_normalised(client, world):
    response = client.post(
        "/v1/organizations",
        json={"name": "重复", "kind": "property_company", "credit_code": "91650102ma77xkq51d"},
        headers=world.admin.headers,
    )
    assert response.status_code == 409


def test_provider_assignments_keep_history_and_route_new_tickets(client, world):
    new_company = client.post(
        "/v1/organizations",
        json={
            "name": "红山物业",
            "kind": "property_company",
            "credit_code": _code("91650102MA77XKQ60"),
        },
        headers=world.admin.headers,
    )
    assert new_company.status_code == 201, new_company.text
    new_id = new_company.json()["id"]
    before = file_ticket(client, world.reporter, world.community_a)
    assert before["organization_id"] == world.company

    put = client.put(
        f"/v1/communities/{world.community_a}/providers/property",
        json={"organization_id": new_id, "since": "2099-01-01"},
        headers=world.admin.headers,
    )
    assert put.status_code == 200, put.text
    history = client.get(
        f"/v1/communities/{world.community_a}/providers", headers=world.admin.headers
    ).json()
    property_rows = [r for r in history["items"] if r["kind"] == "property"]
    assert [r["organization_id"] for r in property_rows] == [world.company, new_id]
    assert property_rows[0]["until"] == "2099-01-01" and property_rows[1]["until"] is None

    after = file_ticket(client, world.reporter, world.community_a)
    assert after["organization_id"] == new_id
    # The old ticket stays with the company that had it.
    assert (
        client.get(f"/v1/tickets/{before['id']}", headers=world.dispatcher.headers).status_code
        == 200
    )


def test_provider_kind_must_match_organisation_kind(client, world):
    response = client.put(
        f"/v1/communities/{world.community_b}/providers/elderly_care",
        json={"organization_id": world.company},
        headers=world.admin.headers,
    )
    assert response.status_code == 422


def test_tickets_without_a_provider_wait_as_submitted(client, world):
    ticket = file_ticket(client, world.reporter, world.community_a, category="elderly.meal")
    assert ticket["organization_id"] == world.care and ticket["status"] == "assigned"
    resident_b = world.grid_worker  # community_a has a care provider; community_b has none
    ticket_b = client.post(
        "/v1/tickets",
        json={
            "category": "elderly.meal",
            "community_id": world.community_b,
            "description": "送餐",
            "on_behalf_of": {"name": "老李", "phone": "13900000011"},
        },
        headers=world.province_admin.headers,
    )
    assert ticket_b.status_code == 201
    assert ticket_b.json()["status"] == "submitted" and ticket_b.json()["organization_id"] is None
    assert resident_b  # grid worker of community_a cannot file in community_b:
    response = client.post(
        "/v1/tickets",
        json={
            "category": "elderly.meal",
            "community_id": world.community_b,
            "description": "送餐",
            "on_behalf_of": {"name": "老李", "phone": "13900000011"},
        },
        headers=world.grid_worker.headers,
    )
    assert response.status_code == 404


def test_categories_are_localised(client, world):
    for header, language, plumbing in (
        (None, "zh-Hans", "给排水"),
        ("zh-CN,zh;q=0.9", "zh-Hans", "给排水"),
        ("ug", "ug", "سۇ تۇرۇبىسى"),
        ("en-US,en;q=0.8", "en", "Plumbing"),
        ("fr, ug;q=0.5", "ug", "سۇ تۇرۇبىسى"),
        ("fr", "zh-Hans", "给排水"),
    ):
        headers = {**world.reporter.headers, **({"Accept-Language": header} if header else {})}
        response = client.get("/v1/categories", headers=headers)
        assert response.status_code == 200
        body = response.json()
        assert body["language"] == language
        assert response.headers["content-language"] == language
        names = {c["code"]: c["name"] for c in body["items"]}
        assert names["repair.plumbing"] == plumbing


def test_the_reference_tree_is_complete(client, world):
    codes = {
        c["code"]
        for c in client.get("/v1/categories", headers=world.reporter.headers).json()["items"]
    }
    for code in (
        "repair.plumbing",
        "repair.electrical",
        "repair.elevator",
        "repair.roof_leak",
        "repair.doors_locks",
        "repair.heating",
        "public.cleaning",
        "public.greening",
        "public.lighting",
        "public.waste",
        "security.parking",
        "neighbour.noise",
        "neighbour.dispute",
        "complaint.property_service",
        "elderly.meal",
        "elderly.bathing",
        "elderly.cleaning",
        "elderly.emergency",
        "elderly.medical",
        "elderly.mobility",
        "elderly.visit",
    ):
        assert code in codes


def test_province_admin_edits_categories(client, world):
    body = {
        "code": "repair.gas",
        "kind": "property",
        "default_priority": "emergency",
        "names": {"zh-Hans": "燃气", "ug": "گاز", "en": "Gas"},
    }
    assert client.post("/v1/categories", json=body, headers=world.admin.headers).status_code == 403
    created = client.post("/v1/categories", json=body, headers=world.province_admin.headers)
    assert created.status_code == 201 and created.json()["parent"] == "repair"
    assert (
        client.post("/v1/categories", json=body, headers=world.province_admin.headers).status_code
        == 409
    )
    orphan = {**body, "code": "nothing.gas"}
    assert (
        client.post("/v1/categories", json=orphan, headers=world.province_admin.headers).status_code
        == 422
    )
    wrong_kind = {**body, "code": "repair.meal", "kind": "elderly_care"}
    assert (
        client.post(
            "/v1/categories", json=wrong_kind, headers=world.province_admin.headers
        ).status_code
        == 422
    )

    retired = client.patch(
        "/v1/categories/repair.gas", json={"active": False}, headers=world.province_admin.headers
    )
    assert retired.status_code == 200 and retired.json()["active"] is False
    filed = client.post(
        "/v1/tickets",
        json={"category": "repair.gas", "community_id": world.community_a, "description": "燃气味"},
        headers=world.reporter.headers,
    )
    assert filed.status_code == 422
