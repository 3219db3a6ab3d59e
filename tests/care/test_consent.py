"""Sensitive personal information is stored only with consent (PIPL art. 28-29):
refused without it, with a catalogue code and nothing stored; withdrawn, it goes."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from service.care.models import Elder
from tests.care.helpers import CONSENT, PHONE, elder_body, register
from tests.conftest import World

SENSITIVE: dict[str, Any] = {
    "phone": PHONE,
    "location": {"room": "102"},
    "emergency_contacts": [{"name": "古丽娜尔", "relation": "女儿", "phone": "13800005678"}],
    "health_notes": "糖尿病",
}


def _elders(db: Session) -> int:
    return db.scalar(select(func.count()).select_from(Elder)) or 0


def _consent_problem(response: Any, fields: str) -> None:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["code"] == "elder.consent_required"
    assert [(e["field"], e["code"]) for e in problem["errors"]] == [
        ("consent", "elder.consent_required")
    ]
    assert fields in problem["detail"]


@pytest.mark.parametrize("field", sorted(SENSITIVE))
def test_a_sensitive_field_without_consent_is_refused_and_nothing_stored(
    field: str, client: TestClient, world: World, db: Session
) -> None:
    before = _elders(db)
    body = {"community_id": world.community_a, "name": "买买提", field: SENSITIVE[field]}
    response = client.post("/v1/elders", json=body, headers=world.grid_worker.headers)
    _consent_problem(response, field)
    assert _elders(db) == before


def test_the_refusal_names_every_sensitive_field_in_the_callers_language(
    client: TestClient, world: World
) -> None:
    body = elder_body(world.community_a, consent=None)
    response = client.post(
        "/v1/elders", json=body, headers={**world.grid_worker.headers, "Accept-Language": "ug"}
    )
    _consent_problem(response, "phone, location, emergency_contacts, health_notes")
    assert response.headers["content-language"] == "ug"


def test_no_sensitive_field_needs_no_consent(client: TestClient, world: World) -> None:
    elder = register(
        client,
        world.grid_worker,
        world.community_a,
        phone=None,
        location=None,
        emergency_contacts=[],
        health_notes=None,
        consent=None,
    )
    assert elder["consent"] is None and elder["phone"] is None and elder["masked"] == []
    # An empty location or blank notes hold nothing sensitive either, and are kept as none.
    empty = {
        "community_id": world.community_a,
        "name": "买买提",
        "location": {"building": "", "room": " "},
        "health_notes": "  ",
    }
    response = client.post("/v1/elders", json=empty, headers=world.grid_worker.headers)
    assert response.status_code == 201, response.text
    assert (response.json()["location"], response.json()["health_notes"]) == (None, None)


def test_adding_a_sensitive_field_later_needs_consent(
    client: TestClient, world: World, db: Session
) -> None:
    elder = register(
        client,
        world.grid_worker,
        world.community_a,
        phone=None,
        location=None,
        emergency_contacts=[],
        health_notes=None,
        consent=None,
    )
    url = f"/v1/elders/{elder['id']}"
    headers = world.grid_worker.headers
    _consent_problem(
        client.patch(url, json={"health_notes": "哮喘"}, headers=headers), "health_notes"
    )
    assert db.get(Elder, elder["id"]).health_notes is None
    # Plain fields need none.
    assert client.patch(url, json={"care_level": 3}, headers=headers).status_code == 200
    # With the consent in the same request, it is kept.
    both = client.patch(url, json={"health_notes": "哮喘", "consent": CONSENT}, headers=headers)
    assert both.status_code == 200, both.text
    assert both.json()["health_notes"] == "哮喘"
    assert both.json()["consent"]["by"] == "self"
    # And later additions rest on it.
    more = client.patch(url, json={"phone": "139 1234 0009"}, headers=headers)
    assert more.status_code == 200 and more.json()["phone"] == "13912340009"


def test_withdrawing_consent_erases_the_sensitive_fields(
    client: TestClient, world: World, db: Session
) -> None:
    elder = register(client, world.grid_worker, world.community_a)
    url = f"/v1/elders/{elder['id']}"
    headers = world.grid_worker.headers
    # Withdrawing while adding: refused, nothing changes.
    refused = client.patch(url, json={"consent": None, "phone": PHONE}, headers=headers)
    _consent_problem(refused, "phone")
    db.expire_all()
    assert db.get(Elder, elder["id"]).consent_given_at is not None

    withdrawn = client.patch(url, json={"consent": None}, headers=headers)
    assert withdrawn.status_code == 200, withdrawn.text
    body = withdrawn.json()
    assert body["consent"] is None
    assert (body["phone"], body["location"], body["emergency_contacts"], body["health_notes"]) == (
        None,
        None,
        [],
        None,
    )
    assert body["name"] == elder["name"] and body["care_level"] == elder["care_level"]
    db.expire_all()
    row = db.get(Elder, elder["id"])
    assert (row.phone, row.building, row.unit, row.room, row.emergency_contacts) == (
        None,
        None,
        None,
        None,
        None,
    )


@pytest.mark.parametrize(
    "consent, field",
    [
        ({**CONSENT, "given_at": "2099-01-01T00:00:00+08:00"}, "consent.given_at"),
        ({**CONSENT, "given_at": "2026-11-30T10:00:00"}, "consent.given_at"),
        ({**CONSENT, "by": "neighbour"}, "consent.by"),
        ({"by": "self"}, "consent.given_at"),
    ],
    ids=["future", "no offset", "by whom", "when"],
)
def test_a_consent_must_say_when_and_by_whom(
    consent: dict[str, Any], field: str, client: TestClient, world: World, db: Session
) -> None:
    before = _elders(db)
    response = client.post(
        "/v1/elders",
        json=elder_body(world.community_a, consent=consent),
        headers=world.grid_worker.headers,
    )
    assert response.status_code == 422, response.text
    assert field in [e["field"] for e in response.json()["errors"]]
    assert _elders(db) == before


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"care_level": 5}, "care_level"),
        ({"birth_year": 2999}, "birth_year"),
        ({"phone": "12345"}, "phone"),
        (
            {"emergency_contacts": [{"name": "女儿", "relation": "女儿"}]},
            "emergency_contacts.0.phone",
        ),
        ({"name": " "}, "name"),
        ({"gender": "x"}, "gender"),
    ],
)
def test_bad_input_is_a_clear_problem(
    overrides: dict[str, Any], field: str, client: TestClient, world: World
) -> None:
    response = client.post(
        "/v1/elders",
        json=elder_body(world.community_a, **overrides),
        headers=world.grid_worker.headers,
    )
    assert response.status_code == 422, response.text
    assert field in [e["field"] for e in response.json()["errors"]]


def test_the_database_itself_refuses_sensitive_data_without_consent(
    db: Session, world: World
) -> None:
    """The last line: a code path that forgot the rule cannot store it either."""
    with pytest.raises(IntegrityError), db.begin_nested():
        db.execute(
            insert(Elder).values(
                community_id=world.community_a, name="x", lives_alone=False, phone=PHONE
            )
        )


def test_a_location_is_changed_part_by_part_and_contacts_whole(
    client: TestClient, world: World
) -> None:
    elder = register(client, world.grid_worker, world.community_a)
    url = f"/v1/elders/{elder['id']}"
    headers = world.grid_worker.headers
    moved = client.patch(url, json={"location": {"room": "202"}}, headers=headers).json()
    assert moved["location"] == {"building": "7", "unit": "1", "room": "202"}
    assert moved["emergency_contacts"] == elder["emergency_contacts"]
    none = client.patch(url, json={"emergency_contacts": []}, headers=headers).json()
    assert none["emergency_contacts"] == []
    refused = client.patch(url, json={"emergency_contacts": None}, headers=headers)
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["code"] == "validation.not_null"
