"""What fuzzing the API found, pinned down as plain requests: each was a 500
or a wrong answer before its fix."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from fastapi.testclient import TestClient

from service.auth import mint_token
from service.config import Settings
from tests.conftest import BACKEND, World, file_ticket

ON_POSTGRES = BACKEND == "postgres"
NUL = "水\x00管"


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# --- fixed ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "where",
    ["ticket description", "comment", "community name", "api key name", "category name"],
)
def test_text_with_nul_is_refused_on_both_databases(
    client: TestClient, world: World, where: str
) -> None:
    """PostgreSQL cannot store NUL in text (it answered 500); SQLite kept it. Now 422."""
    w = world
    requests: dict[str, tuple[str, dict[str, Any], Any]] = {
        "ticket description": (
            "/v1/tickets",
            {"category": "repair.plumbing", "community_id": w.community_a, "description": NUL},
            w.reporter,
        ),
        "community name": ("/v1/communities", {"name": NUL, "region_id": w.tianshan}, w.admin),
        "api key name": (f"/v1/organizations/{w.company}/api-keys", {"name": NUL}, w.dispatcher),
        "category name": (
            "/v1/categories",
            {
                "code": "repair.nul",
                "kind": "property",
                "names": {"zh-Hans": NUL, "ug": "x", "en": "x"},
            },
            w.province_admin,
        ),
    }
    if where == "comment":
        ticket = file_ticket(client, w.reporter, w.community_a)
        requests[where] = (f"/v1/tickets/{ticket['id']}/comments", {"body": NUL}, w.reporter)
    path, body, actor = requests[where]
    response = client.post(path, json=body, headers=actor.headers)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["code"] == "validation.nul"


@pytest.mark.parametrize("header", ["en;q=5, ug;q=0.9", "en;q=nan, ug;q=0.9", "en;q=inf, ug"])
def test_quality_values_outside_0_to_1_do_not_win(
    client: TestClient, world: World, header: str
) -> None:
    response = client.get(
        "/v1/categories", headers={**world.reporter.headers, "Accept-Language": header}
    )
    assert response.status_code == 200
    assert response.json()["language"] == "ug"


# --- ticket list filters and cursors (service/tickets) ---


def test_category_filter_with_nul_is_refused(client: TestClient, world: World) -> None:
    response = client.get("/v1/tickets?category=repair%00", headers=world.reporter.headers)
    assert response.status_code == 422, response.text


@pytest.mark.parametrize(
    "query", ["created_from=0001-01-01T00:00:00%2B01:00", "created_to=9999-12-31T23:59:59-01:00"]
)
def test_extreme_created_filters_are_refused(client: TestClient, world: World, query: str) -> None:
    response = client.get(f"/v1/tickets?{query}", headers=world.reporter.headers)
    assert response.status_code == 422, response.text


@pytest.mark.parametrize("raw", ["t:9223372036854775808", "t:99999999999999999999"])
def test_cursor_beyond_64_bits_is_refused(client: TestClient, world: World, raw: str) -> None:
    cursor = base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")
    response = client.get(f"/v1/tickets?cursor={cursor}", headers=world.reporter.headers)
    assert response.status_code == 422, response.text


# --- token claims (service/auth.py) ---


@pytest.mark.parametrize("claim", ["name", "sub"])
def test_token_claims_with_nul_do_not_break_provisioning(
    client: TestClient, world: World, settings: Settings, claim: str
) -> None:
    claims = {"sub": f"nul-{claim}", "name": "阿依古丽", claim: f"nul{NUL}"}
    token = mint_token(settings, role="resident", community_id=world.community_a, **claims)
    response = client.get("/v1/me", headers=_bearer(token))
    assert response.status_code in (200, 401), response.text


@pytest.mark.parametrize("role, claim", [("resident", "community_id"), ("admin", "region_id")])
def test_token_ids_beyond_32_bits_are_refused(
    client: TestClient, settings: Settings, role: str, claim: str
) -> None:
    token = mint_token(settings, sub=f"huge-{claim}", role=role, **{claim: 2**40})
    response = client.get("/v1/me", headers=_bearer(token))
    assert response.status_code == 401, response.text


@pytest.mark.parametrize("value", [1.5, True])
def test_token_ids_must_be_integers(
    client: TestClient, world: World, settings: Settings, value: Any
) -> None:
    token = mint_token(settings, sub=f"odd-id-{value!r}", role="resident", community_id=value)
    response = client.get("/v1/me", headers=_bearer(token))
    assert response.status_code == 401, response.text
