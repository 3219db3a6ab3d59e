"""null sent to a field of every PATCH body: cleared where the schema says the
field is nullable, else 422 problem+json naming the field, and nothing changed.

The cases come from the app's routes: every PATCH route, every field of its body
(and of the objects inside it). A new PATCH route fails here until it has a
target below. Before this, `{"use_preferred_window": null}` on an SLA policy
reached a NOT NULL column (500), and nulls for calendar flags were dropped.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from pydantic import BaseModel
from sqlalchemy import create_engine

from service.config import Settings
from service.main import create_app
from tests.care.helpers import register
from tests.conftest import TEST_SECRET, Actor, World, file_ticket

PROBLEM = "application/problem+json"


def _allows_none(annotation: Any) -> bool:
    return typing.get_origin(annotation) in (typing.Union, types.UnionType) and type(
        None
    ) in typing.get_args(annotation)


def _model(annotation: Any) -> type[BaseModel] | None:
    candidates = typing.get_args(annotation) if _allows_none(annotation) else (annotation,)
    for candidate in candidates:
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def _null_bodies(model: type[BaseModel], prefix: tuple[str, ...] = ()) -> Iterator[Any]:
    """(path of the field, body with null there, whether the schema allows null)."""
    for name, field in model.model_fields.items():
        path = (*prefix, field.alias or name)
        body: Any = None
        for key in reversed(path):
            body = {key: body}
        yield path, body, _allows_none(field.annotation)
        inner = _model(field.annotation)
        if inner is not None:
            yield from _null_bodies(inner, path)


def _cases() -> list[Any]:
    settings = Settings(database_url="sqlite://", jwt_secret=TEST_SECRET)
    app = create_app(settings, create_engine("sqlite://"))  # no database is touched
    cases = []
    for route in iter_route_contexts(app.routes):  # through included routers
        endpoint = route.original_route
        if not isinstance(endpoint, APIRoute) or "PATCH" not in endpoint.methods:
            continue
        (param,) = endpoint.dependant.body_params
        model = _model(param.field_info.annotation)
        assert model is not None, route.path
        for path, body, nullable in _null_bodies(model):
            name = ".".join(path)
            cases.append(pytest.param(route.path, body, path, nullable, id=f"{route.path} {name}"))
    return cases


def _at(representation: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        representation = representation[key]
    return representation


Target = tuple[str, Actor, Callable[[], Any]]


def _target(client: TestClient, world: World, template: str) -> Target:
    """The object a PATCH route changes in the world, who may change it, and how
    to read it back."""
    w = world

    def get(url: str, actor: Actor) -> Callable[[], Any]:
        return lambda: client.get(url, headers=actor.headers).json()

    if template == "/v1/regions/{region_id}":
        url = f"/v1/regions/{w.tianshan}"
        return url, w.province_admin, get(url, w.province_admin)
    if template == "/v1/communities/{community_id}":
        url = f"/v1/communities/{w.community_a}"
        return url, w.admin, get(url, w.admin)
    if template == "/v1/organizations/{organization_id}":
        url = f"/v1/organizations/{w.company}"
        return url, w.admin, get(url, w.admin)
    if template == "/v1/categories/{code}":

        def category() -> Any:
            items = client.get("/v1/categories", headers=w.province_admin.headers).json()["items"]
            return next(c for c in items if c["code"] == "repair.plumbing")

        return "/v1/categories/repair.plumbing", w.province_admin, category
    if template == "/v1/tickets/{ticket_id}":
        url = f"/v1/tickets/{file_ticket(client, w.reporter, w.community_a)['id']}"
        return url, w.admin, get(url, w.admin)
    if template == "/v1/elders/{elder_id}":
        url = f"/v1/elders/{register(client, w.grid_worker, w.community_a)['id']}"
        return url, w.grid_worker, get(url, w.admin)
    if template == "/v1/care-plans/{plan_id}":
        elder = register(client, w.grid_worker, w.community_a)
        plan = client.post(
            "/v1/care-plans",
            json={
                "elder_id": elder["id"],
                "category": "elderly.meal",
                "rrule": "FREQ=DAILY",
                "time": "11:30",
                "duration_minutes": 30,
                "starts_on": "2026-12-07",
                "ends_on": "2027-12-31",
                "note": "少盐",
            },
            headers=w.grid_worker.headers,
        )
        assert plan.status_code == 201, plan.text
        url = f"/v1/care-plans/{plan.json()['id']}"
        return url, w.grid_worker, get(url, w.admin)
    for listed, item in (
        ("/v1/sla-policies", "/v1/sla-policies/{policy_id}"),
        ("/v1/calendars", "/v1/calendars/{calendar_id}"),
    ):
        if template == item:
            items = client.get(listed, headers=w.province_admin.headers).json()["items"]
            url = f"{listed}/{items[0]['id']}"
            return url, w.province_admin, get(url, w.province_admin)
    if template == "/v1/organizations/{organization_id}/staff/{staff_id}":
        url = f"/v1/organizations/{w.company}/staff/{w.technician.user_id}"

        def staff() -> Any:
            listed = f"/v1/organizations/{w.company}/staff"
            items = client.get(listed, headers=w.dispatcher.headers).json()["items"]
            return next(p for p in items if p["id"] == w.technician.user_id)

        return url, w.dispatcher, staff
    pytest.fail(f"PATCH {template} has no target in tests/test_patch_nulls.py: add one")


@pytest.mark.parametrize("template, body, path, nullable", _cases())
def test_patch_with_null(
    client: TestClient,
    world: World,
    template: str,
    body: Any,
    path: tuple[str, ...],
    nullable: bool,
) -> None:
    url, actor, read = _target(client, world, template)
    before = read()

    response = client.patch(url, json=body, headers=actor.headers)

    if nullable and response.status_code == 200:
        assert _at(response.json(), path) is None, response.text  # cleared, not ignored
        assert _at(read(), path) is None
        return
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM
    if not nullable:  # the schema refuses it, naming the field
        errors = {e["field"]: e["code"] for e in response.json()["errors"]}
        assert errors.get(".".join(path)) == "validation.not_null", response.text
    # else a rule of the object's refused it (a policy keeps one target, say)
    assert read() == before
