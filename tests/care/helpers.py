"""An elder with every sensitive field, as the care tests register one."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.conftest import Actor

CONSENT = {"given_at": "2026-11-30T10:00:00+08:00", "by": "self", "note": "本人签署书面同意书"}
PHONE = "13912340001"
CONTACT_PHONE = "13800005678"
NOTES = "高血压，每日服药；左髋术后行走需拐杖"


def elder_body(community_id: int, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "community_id": community_id,
        "name": "阿依古丽·买买提",
        "phone": PHONE,
        "birth_year": 1946,
        "gender": "female",
        "lives_alone": True,
        "care_level": 2,
        "location": {"building": "7", "unit": "1", "room": "102"},
        "emergency_contacts": [{"name": "古丽娜尔", "relation": "女儿", "phone": CONTACT_PHONE}],
        "health_notes": NOTES,
        "consent": CONSENT,
    }
    body.update(overrides)
    return body


def register(
    client: TestClient, actor: Actor, community_id: int, **overrides: Any
) -> dict[str, Any]:
    response = client.post(
        "/v1/elders", json=elder_body(community_id, **overrides), headers=actor.headers
    )
    assert response.status_code == 201, response.text
    return response.json()


def link_proxy(client: TestClient, actor: Actor, elder_id: int, **whom: Any) -> dict[str, Any]:
    response = client.post(f"/v1/elders/{elder_id}/proxies", json=whom, headers=actor.headers)
    assert response.status_code == 201, response.text
    return response.json()
