"""CORS (LINLI_CORS_ORIGINS): the exchange a browser performs for an H5 page on
another origin, and nothing granted to other origins or without the setting."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import sessionmaker

from service.config import Settings
from service.main import create_app

H5 = "https://h5.linli.example.cn"


def _client(settings: Settings, engine: Any, connection: Any, origins: str) -> TestClient:
    app = create_app(settings.model_copy(update={"cors_origins": origins}), engine)
    app.state.sessionmaker = sessionmaker(
        bind=connection, expire_on_commit=False, join_transaction_mode="create_savepoint"
    )
    return TestClient(app, raise_server_exceptions=False)


@pytest.fixture
def browser(settings, engine, connection) -> Iterator[TestClient]:
    with _client(settings, engine, connection, f"{H5}, https://wx.linli.example.cn/") as c:
        yield c


def _preflight(client: TestClient, origin: str, method: str = "POST") -> Any:
    return client.options(
        "/v1/tickets",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": "authorization, content-type, idempotency-key",
        },
    )


def test_a_browser_files_a_ticket_from_an_allowed_origin(browser: TestClient, world) -> None:
    preflight = _preflight(browser, H5)
    assert preflight.status_code == 204, preflight.text
    assert preflight.content == b""
    assert preflight.headers["access-control-allow-origin"] == H5
    assert preflight.headers["access-control-allow-credentials"] == "true"
    assert "POST" in preflight.headers["access-control-allow-methods"]
    allowed = {
        h.strip().lower() for h in preflight.headers["access-control-allow-headers"].split(",")
    }
    assert {
        "authorization",
        "content-type",
        "idempotency-key",
        "if-match",
        "if-none-match",
        "accept-language",
        "x-request-id",
    } <= allowed

    body = {"category": "repair.plumbing", "community_id": world.community_a, "description": "漏水"}
    created = browser.post(
        "/v1/tickets",
        json=body,
        headers={**world.reporter.headers, "Origin": H5, "Idempotency-Key": "cors-1"},
    )
    assert created.status_code == 201, created.text
    assert created.headers["access-control-allow-origin"] == H5
    assert created.headers["access-control-allow-credentials"] == "true"
    exposed = {h.strip() for h in created.headers["access-control-expose-headers"].split(",")}
    assert {"ETag", "Location", "Idempotent-Replayed", "X-Poll-Interval", "Retry-After"} <= exposed
    assert "Origin" in created.headers["vary"]
    # An error answer is granted too: the page can read the problem's code.
    problem = browser.get("/v1/tickets/999999", headers={**world.reporter.headers, "Origin": H5})
    assert problem.status_code == 404
    assert problem.headers["access-control-allow-origin"] == H5
    assert {"Accept-Language", "Origin"} <= {v.strip() for v in problem.headers["vary"].split(",")}


def test_the_second_origin_of_the_list_is_allowed_as_browsers_write_it(browser) -> None:
    response = _preflight(browser, "https://wx.linli.example.cn", "PATCH")
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == "https://wx.linli.example.cn"


def test_another_origin_is_granted_nothing(browser: TestClient, world) -> None:
    preflight = _preflight(browser, "https://evil.example")
    assert preflight.status_code == 405  # what the API answers without CORS
    assert not any(h.startswith("access-control-") for h in preflight.headers)
    read = browser.get(
        "/v1/me", headers={**world.reporter.headers, "Origin": "https://evil.example"}
    )
    assert read.status_code == 200
    assert not any(h.startswith("access-control-") for h in read.headers)


def test_without_origins_there_are_no_cors_headers(client: TestClient, world) -> None:
    preflight = _preflight(client, H5)
    assert preflight.status_code == 405
    read = client.get("/v1/me", headers={**world.reporter.headers, "Origin": H5})
    assert not any(h.startswith("access-control-") for h in read.headers)
    assert "origin" not in read.headers.get("vary", "").lower()


@pytest.mark.parametrize("origins", ["*", "h5.example.cn", "https://h5.example.cn/app", "ftp://x"])
def test_a_setting_that_is_not_a_list_of_origins_stops_the_start(origins: str) -> None:
    with pytest.raises(ValueError, match="LINLI_CORS_ORIGINS"):
        Settings(cors_origins=origins)
