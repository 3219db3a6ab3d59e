"""405 Method Not Allowed names every method of the path (RFC 9110 15.5.6).

Each path of the app is probed with every method, without a token (so nothing
is written): the methods that do not answer 405 are the ones the path serves,
and every 405 on it must list exactly those in `Allow`. A route added later is
probed too."""

from __future__ import annotations

import re

import pytest
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import create_engine

from service.config import Settings
from service.main import create_app
from tests.conftest import TEST_SECRET

PROBLEM = "application/problem+json"
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def _paths() -> list[str]:
    settings = Settings(database_url="sqlite://", jwt_secret=TEST_SECRET)
    app = create_app(settings, create_engine("sqlite://"))  # no database is touched
    templates = {route.path for route in iter_route_contexts(app.routes) if route.methods}
    # Any segment routes a path parameter; what it holds is checked after routing.
    return sorted({re.sub(r"\{[^}]+\}", "1", template) for template in templates})


@pytest.mark.parametrize("path", _paths())
def test_405_lists_every_method_of_the_path(client: TestClient, path: str) -> None:
    answers = {method: client.request(method, path) for method in METHODS}
    served = {method for method, response in answers.items() if response.status_code != 405}
    refused = {method: r for method, r in answers.items() if r.status_code == 405}
    assert served, f"{path}: no method served"
    for method, response in refused.items():
        allow = {m.strip() for m in response.headers.get("allow", "").split(",") if m.strip()}
        assert allow == served, f"{method} {path}: Allow {sorted(allow)}, served {sorted(served)}"
        if method != "HEAD":
            assert response.headers["content-type"] == PROBLEM


def test_tickets_405_names_get_and_post(client: TestClient) -> None:
    response = client.delete("/v1/tickets")
    assert response.status_code == 405
    assert {m.strip() for m in response.headers["allow"].split(",")} == {"GET", "POST"}
